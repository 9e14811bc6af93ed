"""Brute-force overlap counts of a PyTorch module: the module itself, run in float64 on an all-ones input with
every trainable weight 1 and every bias 0, under a TorchFunctionMode that applies the count model's rules
literally (written from the rules' text, independently of analytics.graph_overlap):

- pointwise ops (norms, activations, dropout, casts) are the identity;
- global mixing (attention, adaptive pooling to 1x1, reductions over H or W) gives a flat value;
- a flat value or a constant counts 0 in a sum and 1 in a product; concatenated it is zeros;
- everything else (convolutions, resampling, padding, pooling, slicing, reshapes) runs as PyTorch runs it.

Buffers and frozen weights (fixed filters) keep their values; every bias, frozen or not, is 0.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

POINTWISE = {
    "batch_norm", "instance_norm", "group_norm", "layer_norm", "relu", "relu_", "leaky_relu", "leaky_relu_",
    "sigmoid", "tanh", "silu", "gelu", "elu", "hardtanh", "clamp", "clamp_", "clip", "hardswish", "hardsigmoid",
    "mish", "prelu", "dropout", "dropout2d", "relu6", "float", "to", "contiguous", "clone", "detach", "sigmoid_",
    "tanh_",
}
SUMS = {"add", "add_", "sub", "sub_", "__radd__", "__rsub__", "__iadd__", "__isub__"}
PRODUCTS = {"mul", "mul_", "div", "div_", "__rmul__", "__imul__", "__itruediv__", "true_divide", "__truediv__"}


class _Count(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.spatial: dict[int, torch.Tensor] = {}  # id -> tensor: depends on the input position
        self.flat: dict[int, torch.Tensor] = {}

    def kind(self, t):
        if isinstance(t, torch.Tensor):
            if self.spatial.get(id(t)) is t:
                return "spatial"
            if self.flat.get(id(t)) is t:
                return "flat"
        return "constant"

    def mark(self, out, kind):
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                (self.spatial if kind == "spatial" else self.flat)[id(t)] = t
        return out

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
        tensors += [t for a in args if isinstance(a, (list, tuple)) for t in a if isinstance(t, torch.Tensor)]
        kinds = {self.kind(t) for t in tensors}
        if "spatial" not in kinds:
            out = func(*args, **kwargs)
            return self.mark(out, "flat") if "flat" in kinds else out
        x = args[0]
        if name in POINTWISE:
            return x
        if name in SUMS or name in PRODUCTS:
            a, b = args[0], args[1]
            ka, kb = self.kind(a), self.kind(b)
            if ka == "spatial" and kb == "spatial":
                out = func(a, b)
                return self.mark(out, "spatial")
            return a if ka == "spatial" else b
        if name == "scaled_dot_product_attention":
            return self.mark(func(*args, **kwargs), "flat")
        if name == "adaptive_avg_pool2d":
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            out = func(*args, **kwargs)
            return self.mark(out, "flat" if size in (1, (1, 1), [1, 1]) else "spatial")
        if name in ("mean", "sum") and self.kind(x) == "spatial":
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            dims = (dims,) if isinstance(dims, int) else dims
            out = func(*args, **kwargs)
            spatial_dims = {x.ndim - 1, x.ndim - 2}
            return self.mark(out, "flat" if dims is None or {d % x.ndim for d in dims} & spatial_dims
                             else "spatial")
        if name == "cat":
            parts = [t if self.kind(t) == "spatial" else torch.zeros_like(t) for t in args[0]]
            return self.mark(func(parts, *args[1:], **kwargs), "spatial")
        return self.mark(func(*args, **kwargs), "spatial")


def count_map(module: torch.nn.Module, input_shape) -> torch.Tensor:
    """The count model's output (float64) of `module` on an all-ones input of `input_shape`."""
    m = copy.deepcopy(module).double().eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("bias"):
                p.fill_(0.0)
            elif p.requires_grad:
                p.fill_(1.0)
    x = torch.ones(tuple(input_shape), dtype=torch.float64)
    mode = _Count()
    mode.mark(x, "spatial")
    with torch.no_grad(), mode:
        out = m(x)
    return out


__all__ = ["F", "count_map"]
