"""`from_torch(module, input_shape)`: a PyTorch nn.Module as a checkerlab Network.

The module's forward pass is recorded by `torch_recording` (torch.fx, or forward hooks when fx cannot trace
it): the torch calls that depend on the input, with their module paths; calls on constants only are folded
into constants with their computed values. The recorded shapes are the traced ones, so the network is bound
to `input_shape`'s (C, H, W).

Conversion. Each recorded call maps to a layer (`analytics.layers`: convolutions, resampling, padding,
pooling, norms, activations) or a tensor op (`analytics.ops`), with its weights and buffers as NumPy arrays.
A convolution weight that is a trainable parameter (or derived from one) is learned; a buffer or a frozen
parameter is fixed, and a fixed filter enters the exact pattern with its real taps. Anything else raises
one CheckerlabError naming the module path, its type and the call, and listing what is supported; nothing
is returned half-imported. Cost: O(1) per recorded call plus copying its weights.
"""

from __future__ import annotations

import numpy as np

from .errors import CheckerlabError
from .fusion import fuse
from .layers import Conv2d, ConvTranspose2d, LeakyReLU, PixelShuffle, ReLU, Sigmoid, Tanh
from .layers.activation import (
    ELU,
    GELU,
    Dropout,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    Mish,
    PReLU,
    SiLU,
)
from .layers.norm import BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .layers.pad import CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from .layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .layers.resample import PixelUnshuffle, Upsample
from .network import Network, Node, prune
from .ops import (
    Attention,
    Baddbmm,
    Binary,
    Cat,
    Constant,
    Expand,
    Input,
    Linear,
    MatMul,
    PadND,
    Permute,
    Reduce,
    Reshape,
    Slice,
    Softmax,
    Unary,
)
from .torch_recording import Call, Recorder, Ref, record

SUPPORTED = (
    "Conv2d, ConvTranspose2d (any groups, dilation, bias, padding_mode), Upsample / F.interpolate (nearest, "
    "nearest-exact, bilinear, bicubic, area; size or scale_factor; align_corners), PixelShuffle, "
    "PixelUnshuffle, ZeroPad2d / ConstantPad2d / ReflectionPad2d / ReplicationPad2d / F.pad, AvgPool2d, "
    "MaxPool2d, AdaptiveAvgPool2d, BatchNorm2d, InstanceNorm2d, GroupNorm, LayerNorm, Dropout, Identity, "
    "ReLU, LeakyReLU, PReLU, ELU, SiLU, GELU, Tanh, Sigmoid, Hardtanh, Hardswish, Hardsigmoid, Mish, clamp, "
    "Linear, matmul/bmm/baddbmm, softmax, scaled_dot_product_attention, + - * / ** and unary math, "
    "view/reshape/permute/transpose/flatten/squeeze/unsqueeze/expand, cat/stack/chunk/split/indexing, "
    "sum/mean/amax"
)


#: The supported families, short enough for a one-line error (the full list is SUPPORTED).
SUPPORTED_SHORT = ("convolutions, resampling, pixel (un)shuffle, padding, pooling, norms, activations, dropout, "
                   "Linear, attention, elementwise math, reshapes, cat/split/indexing, sum/mean")


class _Converter:
    """Turns recorded calls into network nodes."""

    def __init__(self, torch, recorder: Recorder, input_shape):
        self.torch = torch
        self.rec = recorder
        self.nodes: list[Node] = [Node("input", Input(), shape=tuple(input_shape))]
        self.shapes: dict[str, tuple[int, ...]] = {"input": tuple(input_shape)}
        self.const_count = 0

    # --------------------------------------------------------------------------------------- helpers
    def fail(self, call: Call, what: str) -> CheckerlabError:
        path = call.module if len(call.module) <= 60 else "..." + call.module[-57:]
        where = f"module {path!r} ({call.module_type[:40]})" if call.module else "the top-level forward"
        fn = {"method": f"Tensor.{call.name}", "F": f"F.{call.name}"}.get(call.kind, f"torch.{call.name}")
        listed = f"; supported: {SUPPORTED_SHORT}" if "not supported" in what else ""
        return CheckerlabError(f"{where}: {fn} {what[:100]}{listed}")

    def array(self, t) -> np.ndarray:
        return t.detach().cpu().numpy().copy()

    def constant(self, value, call: Call) -> str:
        """A Constant node for a tensor or Python number."""
        if isinstance(value, self.torch.Tensor):
            arr = self.array(value)
        else:
            arr = np.asarray(value, dtype=np.float64 if isinstance(value, float) else None)
        self.const_count += 1
        name = f"{call.module or 'const'}/const_{self.const_count}"
        self.add(Node(name, Constant(), (), {"value": arr}, call.module, call.module_type, tuple(arr.shape)))
        return name

    def operand(self, value, call: Call) -> str:
        return value.name if isinstance(value, Ref) else self.constant(value, call)

    def add(self, node: Node) -> None:
        self.nodes.append(node)
        self.shapes[node.name] = tuple(node.shape)

    def emit(self, call: Call, op, inputs, params=None, fixed=False, name=None) -> None:
        """One node for the call's (first) output."""
        out = call.outputs[0] if name is None else name
        shape = tuple(self._out_tensors(call)[0].shape) if name is None else None
        self.add(Node(out, op, tuple(inputs), params or {}, call.module, call.module_type,
                      shape if shape is not None else (), fixed))

    def _out_tensors(self, call: Call):
        return list(self.rec.tensors(call.out))

    def tmp(self, call: Call, suffix: str) -> str:
        base = f"{call.outputs[0]}~{suffix}"
        name, k = base, 2
        while name in self.shapes:
            name, k = f"{base}{k}", k + 1
        return name

    def chain(self, call: Call, steps) -> None:
        """Several nodes for one call: [(op, inputs, shape)] where "$" is the previous step's output; the last
        node is named after the call."""
        prev = None
        for i, (op, inputs, shape) in enumerate(steps):
            name = call.outputs[0] if i == len(steps) - 1 else self.tmp(call, str(i))
            inputs = [prev if v == "$" else v for v in inputs]
            self.add(Node(name, op, tuple(inputs), {}, call.module, call.module_type, tuple(shape)))
            prev = name

    @staticmethod
    def bind(names, call: Call, defaults: dict | None = None) -> dict:
        """Arguments by name from the call's positional and keyword arguments."""
        out = dict(defaults or {})
        out.update(zip(names, call.args, strict=False))
        out.update(call.kwargs)
        return out

    def params(self, **tensors) -> tuple[dict, bool]:
        """NumPy parameters and whether the weights are fixed (no trainable parameter among them)."""
        out, learned = {}, False
        for k, t in tensors.items():
            if t is None:
                continue
            if isinstance(t, Ref):
                raise CheckerlabError(f"the {k} depends on the input")
            out[k] = self.array(t)
            learned |= self.rec.is_learned(t)
        return out, not learned

    # ------------------------------------------------------------------------------------------ convert
    def convert(self, call: Call) -> None:
        name, reverse = call.name, False
        if name.startswith("__") and name.endswith("__"):
            name = name[2:-2]
            if name[:1] in ("r", "i") and name[1:] in _ALIASES and name not in _ALIASES:
                reverse, name = name[0] == "r", name[1:]
        elif name.endswith("_") and name.rstrip("_") in _ALIASES:
            name = name.rstrip("_")  # in place: the same value, a new node
        self.base = name
        simple = _SIMPLE.get(_ALIASES.get(name, "?"))
        if simple is not None:  # a pointwise layer without arguments
            self.layer(call, simple())
            return
        handler = getattr(self, f"on_{_ALIASES.get(name, '?')}", None)
        if handler is None:
            raise self.fail(call, "is not supported")
        try:
            handler(call, reverse) if _ALIASES[name] in _BINARIES else handler(call)
        except CheckerlabError as exc:
            raise self.fail(call, f"cannot be imported: {exc}") from None

    # --------------------------------------------------------------------------------------- arithmetic
    def on_binary(self, call: Call, reverse: bool, fn: str) -> None:
        a = self.bind(("input", "other"), call)
        x, y = a["input"], a["other"]
        if reverse:
            x, y = y, x
        alpha = a.get("alpha", 1)
        inputs = [self.operand(x, call), self.operand(y, call)]
        if alpha != 1:
            scaled = self.tmp(call, "alpha")
            self.add(Node(scaled, Binary("mul"), (inputs[1], self.constant(float(alpha), call)), {}, call.module,
                          call.module_type, self.shapes[inputs[1]]))
            inputs[1] = scaled
        self.emit(call, Binary(fn), inputs)

    def on_add(self, call, reverse):
        self.on_binary(call, reverse, "add")

    def on_sub(self, call, reverse):
        self.on_binary(call, reverse, "sub")

    def on_mul(self, call, reverse):
        self.on_binary(call, reverse, "mul")

    def on_div(self, call, reverse):
        mode = call.kwargs.get("rounding_mode")
        if mode not in (None,):
            raise CheckerlabError(f"rounding_mode={mode!r} is not supported")
        self.on_binary(call, reverse, "div")

    def on_pow(self, call, reverse):
        self.on_binary(call, reverse, "pow")

    def on_maximum(self, call, reverse):
        self.on_binary(call, reverse, "maximum")

    def on_minimum(self, call, reverse):
        self.on_binary(call, reverse, "minimum")

    def on_unary(self, call: Call) -> None:
        self.emit(call, Unary(_UNARY_NAMES[self.base]), [self.operand(call.args[0], call)])

    # --------------------------------------------------------------------------------------- activations
    def layer(self, call: Call, layer, params=None, fixed=False) -> None:
        self.emit(call, layer, [self.operand(call.args[0] if call.args else call.kwargs["input"], call)],
                  params, fixed)

    def on_relu6(self, call):
        self.layer(call, Hardtanh(0.0, 6.0))

    def on_leaky_relu(self, call):
        self.layer(call, LeakyReLU(self.bind(("input", "negative_slope"), call, {"negative_slope": 0.01})
                                   ["negative_slope"]))

    def on_gelu(self, call):
        self.layer(call, GELU(self.bind(("input", "approximate"), call, {"approximate": "none"})["approximate"]))

    def on_elu(self, call):
        self.layer(call, ELU(self.bind(("input", "alpha"), call, {"alpha": 1.0})["alpha"]))

    def on_hardtanh(self, call):
        a = self.bind(("input", "min_val", "max_val"), call, {"min_val": -1.0, "max_val": 1.0})
        self.layer(call, Hardtanh(a["min_val"], a["max_val"]))

    def on_clamp(self, call):
        a = self.bind(("input", "min", "max"), call, {"min": None, "max": None})
        if isinstance(a["min"], (Ref, self.torch.Tensor)) or isinstance(a["max"], (Ref, self.torch.Tensor)):
            raise CheckerlabError("tensor bounds are not supported, only numbers")
        lo = -float("inf") if a["min"] is None else a["min"]
        hi = float("inf") if a["max"] is None else a["max"]
        self.layer(call, Hardtanh(lo, hi))

    def on_clamp_min(self, call):
        self.layer(call, Hardtanh(call.args[1], float("inf")))

    def on_clamp_max(self, call):
        self.layer(call, Hardtanh(-float("inf"), call.args[1]))

    def on_prelu(self, call):
        w = self.bind(("input", "weight"), call)["weight"]
        p, _ = self.params(weight=w)
        self.layer(call, PReLU(int(p["weight"].size)), p)

    def on_to(self, call):
        for v in list(call.args[1:]) + list(call.kwargs.values()):
            if isinstance(v, self.torch.dtype) and not v.is_floating_point:
                raise CheckerlabError(f"a cast to {v} is not supported")
        self.layer(call, Identity())

    # -------------------------------------------------------------------------------------- convolutions
    def on_conv2d(self, call):
        a = self.bind(("input", "weight", "bias", "stride", "padding", "dilation", "groups"), call,
                      {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
        p, fixed = self.params(weight=a["weight"], bias=a["bias"])
        w = p["weight"]
        if w.ndim != 4:
            raise CheckerlabError(f"weight of shape {w.shape} is not a 2D convolution's")
        layer = Conv2d(tuple(w.shape[2:]), a["stride"], a["padding"], a["dilation"], out_channels=w.shape[0],
                       groups=a["groups"], bias="bias" in p)
        self.layer(call, layer, p, fixed)

    def on_conv_transpose2d(self, call):
        a = self.bind(("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
                      call, {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                             "dilation": 1})
        p, fixed = self.params(weight=a["weight"], bias=a["bias"])
        w = p["weight"]
        layer = ConvTranspose2d(tuple(w.shape[2:]), a["stride"], a["padding"], a["output_padding"], a["dilation"],
                                out_channels=w.shape[1] * a["groups"], groups=a["groups"], bias="bias" in p)
        self.layer(call, layer, p, fixed)

    def on_linear(self, call):
        a = self.bind(("input", "weight", "bias"), call, {"bias": None})
        p, _ = self.params(weight=a["weight"], bias=a["bias"])
        self.emit(call, Linear(), [self.operand(a["input"], call)], p)

    # ---------------------------------------------------------------------------------------- resampling
    def on_interpolate(self, call):
        a = self.bind(("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                       "antialias"), call, {"size": None, "scale_factor": None, "mode": "nearest",
                                             "align_corners": None, "recompute_scale_factor": None,
                                             "antialias": False})
        if a["antialias"]:
            raise CheckerlabError("antialias=True is not supported")
        x = a["input"]
        if self.shapes[x.name].__len__() != 4:
            raise CheckerlabError(f"only 4D (N, C, H, W) inputs are supported, got {self.shapes[x.name]}")
        size = a["size"]
        if size is not None:
            size = tuple(int(v) for v in size) if isinstance(size, (tuple, list)) else int(size)
        scale = a["scale_factor"]
        if scale is not None:
            scale = tuple(float(v) for v in scale) if isinstance(scale, (tuple, list)) else float(scale)
        self.layer(call, Upsample(scale, a["mode"], a["align_corners"], size=size,
                                  recompute_scale_factor=a["recompute_scale_factor"]))

    def on_pixel_shuffle(self, call):
        self.layer(call, PixelShuffle(int(self.bind(("input", "upscale_factor"), call)["upscale_factor"])))

    def on_pixel_unshuffle(self, call):
        self.layer(call, PixelUnshuffle(int(self.bind(("input", "downscale_factor"), call)["downscale_factor"])))

    def on_pad(self, call):
        a = self.bind(("input", "pad", "mode", "value"), call, {"mode": "constant", "value": None})
        pad = tuple(int(v) for v in a["pad"])
        x = a["input"]
        shape = self.shapes[x.name]
        value = 0.0 if a["value"] is None else float(a["value"])
        mode = a["mode"]
        if len(shape) == 4 and len(pad) in (2, 4):
            pad4 = pad + (0,) * (4 - len(pad))
            layer = {"reflect": ReflectionPad2d, "replicate": ReplicationPad2d, "circular": CircularPad2d}.get(mode)
            if layer is not None:
                self.layer(call, layer(pad4))
            elif mode == "constant":
                self.layer(call, ZeroPad2d(pad4) if value == 0 else ConstantPad2d(pad4, value))
            else:
                raise CheckerlabError(f"mode={mode!r} is not supported")
            return
        if mode != "constant":
            raise CheckerlabError(f"{mode} padding of a {len(shape)}-D tensor is not supported")
        self.emit(call, PadND(pad, value), [self.operand(x, call)])

    # ------------------------------------------------------------------------------------------- pooling
    def on_avg_pool2d(self, call):
        a = self.bind(("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                       "divisor_override"), call, {"stride": None, "padding": 0, "ceil_mode": False,
                                                   "count_include_pad": True, "divisor_override": None})
        stride = a["stride"] if a["stride"] not in (None, [], ()) else None
        self.layer(call, AvgPool2d(a["kernel_size"], stride, a["padding"], a["ceil_mode"], a["count_include_pad"],
                                   a["divisor_override"]))

    def on_max_pool2d(self, call):
        a = self.bind(("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
                      call, {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                             "return_indices": False})
        if a["return_indices"]:
            raise CheckerlabError("return_indices=True is not supported")
        stride = a["stride"] if a["stride"] not in (None, [], ()) else None
        self.layer(call, MaxPool2d(a["kernel_size"], stride, a["padding"], a["dilation"], a["ceil_mode"]))

    def on_adaptive_avg_pool2d(self, call):
        size = self.bind(("input", "output_size"), call)["output_size"]
        self.layer(call, AdaptiveAvgPool2d(tuple(size) if isinstance(size, (tuple, list)) else size))

    # --------------------------------------------------------------------------------------------- norms
    def on_batch_norm(self, call):
        a = self.bind(("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
                      call, {"weight": None, "bias": None, "training": False, "eps": 1e-5})
        if a["training"]:
            raise CheckerlabError("training-mode batch norm: call module.eval() first")
        p, _ = self.params(running_mean=a["running_mean"], running_var=a["running_var"], weight=a["weight"],
                           bias=a["bias"])
        self.layer(call, BatchNorm2d(eps=a["eps"], affine="weight" in p, track_running_stats="running_mean" in p),
                   p)

    def on_instance_norm(self, call):
        a = self.bind(("input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum",
                       "eps"), call, {"running_mean": None, "running_var": None, "weight": None, "bias": None,
                                      "use_input_stats": True, "eps": 1e-5})
        p, _ = self.params(running_mean=a["running_mean"], running_var=a["running_var"], weight=a["weight"],
                           bias=a["bias"])
        track = not a["use_input_stats"] and "running_mean" in p
        if not track:
            p.pop("running_mean", None)
            p.pop("running_var", None)
        self.layer(call, InstanceNorm2d(eps=a["eps"], affine="weight" in p, track_running_stats=track), p)

    def on_group_norm(self, call):
        a = self.bind(("input", "num_groups", "weight", "bias", "eps"), call, {"weight": None, "bias": None,
                                                                               "eps": 1e-5})
        p, _ = self.params(weight=a["weight"], bias=a["bias"])
        self.layer(call, GroupNorm(a["num_groups"], eps=a["eps"], affine="weight" in p), p)

    def on_layer_norm(self, call):
        a = self.bind(("input", "normalized_shape", "weight", "bias", "eps"), call, {"weight": None, "bias": None,
                                                                                     "eps": 1e-5})
        p, _ = self.params(weight=a["weight"], bias=a["bias"])
        self.layer(call, LayerNorm(tuple(a["normalized_shape"]), a["eps"], "weight" in p, "bias" in p), p)

    # -------------------------------------------------------------------------------------------- shapes
    def on_reshape(self, call):
        self.emit(call, Reshape(tuple(self._out_tensors(call)[0].shape)), [self.operand(call.args[0], call)])

    def on_permute(self, call):
        x = call.args[0]
        nd = len(self.shapes[x.name])
        dims = call.args[1:] if len(call.args) > 1 else (call.kwargs.get("dims"),)
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        self.emit(call, Permute(tuple(int(d) % nd for d in dims)), [x.name])

    def on_transpose(self, call):
        x = call.args[0]
        nd = len(self.shapes[x.name])
        a = self.bind(("input", "dim0", "dim1"), call)
        perm = list(range(nd))
        d0, d1 = a["dim0"] % nd, a["dim1"] % nd
        perm[d0], perm[d1] = perm[d1], perm[d0]
        self.emit(call, Permute(tuple(perm)), [x.name])

    def on_t(self, call):
        x = call.args[0]
        nd = len(self.shapes[x.name])
        self.emit(call, Permute(tuple(range(nd))[::-1]), [x.name])

    def on_movedim(self, call):
        x = call.args[0]
        nd = len(self.shapes[x.name])
        a = self.bind(("input", "source", "destination"), call)
        perm = tuple(int(v) for v in np.moveaxis(np.arange(nd), a["source"], a["destination"]).tolist())
        self.emit(call, Permute(perm), [x.name])

    def on_expand(self, call):
        self.emit(call, Expand(tuple(self._out_tensors(call)[0].shape)), [self.operand(call.args[0], call)])

    def on_repeat(self, call):
        x = call.args[0]
        reps = call.args[1:] if len(call.args) > 1 else (call.kwargs.get("repeats"),)
        if len(reps) == 1 and isinstance(reps[0], (tuple, list)):
            reps = reps[0]
        reps = [int(r) for r in reps]
        shape = self.shapes[x.name]
        steps = []
        cur = (1,) * (len(reps) - len(shape)) + tuple(shape)
        if len(cur) != len(shape):
            steps.append((Reshape(cur), [x.name], cur))
        for d, r in enumerate(reps):
            if r > 1:
                new = cur[:d] + (cur[d] * r,) + cur[d + 1:]
                steps.append((Cat(d), ["$" if steps else x.name] * r, new))
                cur = new
        if not steps:
            steps.append((Identity(), [x.name], cur))
        self.chain(call, steps)

    def on_cat(self, call):
        a = self.bind(("tensors", "dim"), call, {"dim": 0})
        self.emit(call, Cat(int(a["dim"])), [self.operand(t, call) for t in a["tensors"]])

    def on_stack(self, call):
        a = self.bind(("tensors", "dim"), call, {"dim": 0})
        out_shape = tuple(self._out_tensors(call)[0].shape)
        d = int(a["dim"]) % len(out_shape)
        parts = []
        for i, t in enumerate(a["tensors"]):
            src = self.operand(t, call)
            shape = self.shapes[src]
            new = shape[:d] + (1,) + shape[d:]
            name = self.tmp(call, f"unsqueeze{i}")
            self.add(Node(name, Reshape(new), (src,), {}, call.module, call.module_type, new))
            parts.append(name)
        self.emit(call, Cat(d), parts)

    def _slices(self, call, x: Ref, dim: int, bounds) -> None:
        """One Slice node per output of a chunk/split/unbind."""
        outs = self._out_tensors(call)
        for (start, stop), name, t in zip(bounds, call.outputs, outs, strict=True):
            self.add(Node(name, Slice(dim, start, stop), (x.name,), {}, call.module, call.module_type,
                          tuple(t.shape)))

    def on_chunk(self, call):
        a = self.bind(("input", "chunks", "dim"), call, {"dim": 0})
        x = a["input"]
        d = int(a["dim"]) % len(self.shapes[x.name])
        sizes = [t.shape[d] for t in self._out_tensors(call)]
        self._slices(call, x, d, _bounds(sizes))

    def on_split(self, call):
        a = self.bind(("tensor", "split_size_or_sections", "dim"), call, {"dim": 0})
        x = a.get("tensor", a.get("input"))
        d = int(a["dim"]) % len(self.shapes[x.name])
        sizes = [t.shape[d] for t in self._out_tensors(call)]
        self._slices(call, x, d, _bounds(sizes))

    def on_unbind(self, call):
        a = self.bind(("input", "dim"), call, {"dim": 0})
        x = a["input"]
        shape = self.shapes[x.name]
        d = int(a["dim"]) % len(shape)
        for i, (name, t) in enumerate(zip(call.outputs, self._out_tensors(call), strict=True)):
            tmp = self.tmp(call, f"slice{i}")
            self.add(Node(tmp, Slice(d, i, i + 1), (x.name,), {}, call.module, call.module_type,
                          shape[:d] + (1,) + shape[d + 1:]))
            self.add(Node(name, Reshape(tuple(t.shape)), (tmp,), {}, call.module, call.module_type, tuple(t.shape)))

    def on_narrow(self, call):
        a = self.bind(("input", "dim", "start", "length"), call)
        x = a["input"]
        d = int(a["dim"]) % len(self.shapes[x.name])
        start = int(a["start"]) % self.shapes[x.name][d]
        self.emit(call, Slice(d, start, start + int(a["length"])), [x.name])

    def on_getitem(self, call):
        x, index = call.args[0], call.args[1]
        if not isinstance(x, Ref):
            raise CheckerlabError("indexing a constant with an input-dependent index is not supported")
        steps = _index_steps(index, self.shapes[x.name])
        out_shape = tuple(self._out_tensors(call)[0].shape)
        ops = []
        src = x.name
        for op, shape in steps:
            ops.append((op, [src if not ops else "$"], shape))
        if not ops or ops[-1][2] != out_shape:
            ops.append((Reshape(out_shape), [src if not ops else "$"], out_shape))
        self.chain(call, ops)

    # ------------------------------------------------------------------------------------------- reduce
    def _reduce(self, call, fn):
        a = self.bind(("input", "dim", "keepdim"), call, {"dim": None, "keepdim": False})
        dim = a["dim"]
        dims = None if dim is None else (tuple(int(d) for d in dim) if isinstance(dim, (tuple, list))
                                         else (int(dim),))
        if a.get("dtype") is not None:
            raise CheckerlabError("dtype= is not supported")
        self.emit(call, Reduce(fn, dims, bool(a["keepdim"])), [self.operand(a["input"], call)])

    def on_sum(self, call):
        self._reduce(call, "sum")

    def on_mean(self, call):
        self._reduce(call, "mean")

    def on_amax(self, call):
        self._reduce(call, "amax")

    def on_amin(self, call):
        self._reduce(call, "amin")

    # ------------------------------------------------------------------------------------------- mixing
    def on_matmul(self, call):
        a = self.bind(("input", "other"), call)
        self.emit(call, MatMul(), [self.operand(a["input"], call), self.operand(a["other"], call)])

    def on_baddbmm(self, call):
        a = self.bind(("input", "batch1", "batch2"), call, {"beta": 1, "alpha": 1})
        self.emit(call, Baddbmm(float(a["beta"]), float(a["alpha"])),
                  [self.operand(a[k], call) for k in ("input", "batch1", "batch2")])

    def on_softmax(self, call):
        a = self.bind(("input", "dim"), call)
        self.emit(call, Softmax(int(a["dim"])), [self.operand(a["input"], call)])

    def on_scaled_dot_product_attention(self, call):
        a = self.bind(("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"), call,
                      {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None})
        if a.get("enable_gqa"):
            raise CheckerlabError("enable_gqa=True is not supported")
        inputs = [self.operand(a[k], call) for k in ("query", "key", "value")]
        if a["attn_mask"] is not None:
            inputs.append(self.operand(a["attn_mask"], call))
        self.emit(call, Attention(a["scale"], bool(a["is_causal"])), inputs)


def _bounds(sizes):
    out, start = [], 0
    for s in sizes:
        out.append((start, start + s))
        start += s
    return out


def _index_steps(index, shape):
    """Basic indexing (ints, slices, None, Ellipsis) as [(Slice or Reshape, resulting shape)]."""
    index = index if isinstance(index, tuple) else (index,)
    if any(not (isinstance(i, (int, slice)) or i is None or i is Ellipsis) for i in index):
        raise CheckerlabError("only basic indexing (ints, slices, None, ...) is supported")
    explicit = sum(1 for i in index if i is not None and i is not Ellipsis)
    if index.count(Ellipsis) > 1:
        raise CheckerlabError("an index with two Ellipses")
    if Ellipsis in index:
        k = index.index(Ellipsis)
        index = index[:k] + (slice(None),) * (len(shape) - explicit) + index[k + 1:]
    index = index + (slice(None),) * (len(shape) - sum(1 for i in index if i is not None))
    steps, cur, dim = [], tuple(shape), 0
    for i in index:
        if i is None:
            continue
        if isinstance(i, int):
            i = i % cur[dim]
            new = cur[:dim] + (1,) + cur[dim + 1:]
            steps.append((Slice(dim, i, i + 1), new))
        elif i != slice(None):
            start, stop, step = i.indices(cur[dim])
            if step < 1:
                raise CheckerlabError("negative slice steps are not supported")
            new = cur[:dim] + (len(range(start, stop, step)),) + cur[dim + 1:]
            steps.append((Slice(dim, start, stop, step), new))
        else:
            new = cur
        cur = new
        dim += 1
    return steps


_BINARIES = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"}
#: Pointwise layers without arguments, by their canonical name.
_SIMPLE = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "silu": SiLU, "hardswish": Hardswish,
           "hardsigmoid": Hardsigmoid, "mish": Mish, "identity": Identity, "dropout": Dropout}
_UNARY_NAMES = {"neg": "neg", "negative": "neg", "exp": "exp", "log": "log", "sin": "sin", "cos": "cos",
                "sqrt": "sqrt", "rsqrt": "rsqrt", "abs": "abs", "reciprocal": "reciprocal", "square": "square",
                "floor": "floor", "ceil": "ceil", "round": "round", "sign": "sign", "log1p": "log1p",
                "expm1": "expm1", "exp2": "exp2", "log2": "log2", "tan": "tan", "atan": "atan"}
_ALIASES = {
    **{k: "unary" for k in _UNARY_NAMES},
    "add": "add", "sub": "sub", "subtract": "sub", "mul": "mul", "multiply": "mul", "div": "div",
    "true_divide": "div", "truediv": "div", "divide": "div", "pow": "pow", "maximum": "maximum",
    "minimum": "minimum",
    "relu": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu", "sigmoid": "sigmoid", "tanh": "tanh",
    "silu": "silu", "gelu": "gelu", "elu": "elu", "hardtanh": "hardtanh", "clamp": "clamp", "clip": "clamp",
    "clamp_min": "clamp_min", "clamp_max": "clamp_max", "hardswish": "hardswish", "hardsigmoid": "hardsigmoid",
    "mish": "mish", "prelu": "prelu",
    "dropout": "dropout", "dropout2d": "dropout", "alpha_dropout": "dropout", "feature_alpha_dropout": "dropout",
    "clone": "identity", "contiguous": "identity", "detach": "identity", "float": "to", "to": "to",
    "type_as": "identity", "type": "to",
    "conv2d": "conv2d", "conv_transpose2d": "conv_transpose2d", "linear": "linear",
    "interpolate": "interpolate", "upsample": "interpolate", "pixel_shuffle": "pixel_shuffle",
    "pixel_unshuffle": "pixel_unshuffle", "pad": "pad",
    "avg_pool2d": "avg_pool2d", "max_pool2d": "max_pool2d", "max_pool2d_with_indices": "max_pool2d",
    "adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "batch_norm": "batch_norm", "instance_norm": "instance_norm", "group_norm": "group_norm",
    "layer_norm": "layer_norm",
    "view": "reshape", "reshape": "reshape", "flatten": "reshape", "unflatten": "reshape", "squeeze": "reshape",
    "unsqueeze": "reshape", "view_as": "reshape", "reshape_as": "reshape",
    "permute": "permute", "transpose": "transpose", "swapaxes": "transpose", "swapdims": "transpose", "t": "t",
    "movedim": "movedim", "moveaxis": "movedim",
    "expand": "expand", "expand_as": "expand", "broadcast_to": "expand", "repeat": "repeat",
    "cat": "cat", "concat": "cat", "concatenate": "cat", "stack": "stack", "chunk": "chunk", "split": "split",
    "tensor_split": "split", "unbind": "unbind", "narrow": "narrow", "getitem": "getitem",
    "sum": "sum", "mean": "mean", "amax": "amax", "amin": "amin",
    "matmul": "matmul", "bmm": "matmul", "mm": "matmul", "baddbmm": "baddbmm",
    "softmax": "softmax", "scaled_dot_product_attention": "scaled_dot_product_attention",
}


def from_torch(module, input_shape, *, seed: int = 0, trace: str = "auto", **forward_kwargs) -> Network:
    """The network of a PyTorch module for inputs of `input_shape` (N, C, H, W): its layers, weights and
    buffers, skips and module paths (see the module docstring). `trace` is 'auto' (fx, falling back to
    forward hooks), 'fx' or 'hooks'; `forward_kwargs` are extra forward arguments held constant (e.g. a
    diffusion UNet's timestep). The module is put in eval mode."""
    recorder, shape, out_name = record(module, input_shape, seed=seed, trace=trace,
                                       forward_kwargs=forward_kwargs)
    conv = _Converter(recorder.torch, recorder, shape)
    for call in recorder.calls:
        conv.convert(call)
    return fuse(Network(prune(conv.nodes, out_name), out_name))
