"""Pointwise activations, Dropout and Identity, with PyTorch's names and defaults.

Exact rule: pointwise, so the geometry is unchanged (the overlap counts ignore activations); the simulation
applies them with `kernels`' activation functions. Dropout is the identity in eval mode, which is how a
trained model is analysed.

The kernels are imported on first use (`act()`), so the layer model stays importable without Numba.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

from ..errors import LayerError, excerpt
from .base import _integer
from .kind import Kind, real


def act():
    """The kernels' activation module, imported on first use."""
    from ...kernels import activations

    return activations


class _Activation(Kind):
    is_activation: ClassVar = True


@dataclass(frozen=True, repr=False)
class ReLU(_Activation):
    """max(x, 0)."""

    def forward(self, x, params):
        return act().relu(x)


@dataclass(frozen=True, repr=False)
class LeakyReLU(_Activation):
    """max(x, 0) + negative_slope * min(x, 0)."""

    aliases: ClassVar = ("lrelu",)

    negative_slope: float = 0.01

    def __post_init__(self):
        v = self.negative_slope
        try:
            ok = not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(float(v))
        except OverflowError:  # an integer beyond float range
            ok = False
        if not ok:
            raise LayerError(self.type, "negative_slope", f"negative_slope={excerpt(v)} must be a finite real "
                             "number")
        object.__setattr__(self, "negative_slope", float(v))

    def forward(self, x, params):
        return act().leaky_relu(x, self.negative_slope)


@dataclass(frozen=True, repr=False)
class Tanh(_Activation):
    """tanh(x)."""

    def forward(self, x, params):
        return act().tanh(x)


@dataclass(frozen=True, repr=False)
class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""

    def forward(self, x, params):
        return act().sigmoid(x)


@dataclass(frozen=True, repr=False)
class PReLU(_Activation):
    """max(x, 0) + a_c * min(x, 0) with a learned slope per channel (or one shared slope)."""

    num_parameters: int = 1
    init: float = 0.25

    def __post_init__(self):
        object.__setattr__(self, "num_parameters", _integer(self.type, "num_parameters", self.num_parameters, 1))
        object.__setattr__(self, "init", real(self.type, "init", self.init))

    def param_shapes(self, c_in):
        if self.num_parameters not in (1, c_in):
            raise LayerError(self.type, "num_parameters", f"num_parameters={self.num_parameters} must be 1 or "
                             f"the {c_in} input channels")
        return {"weight": ((self.num_parameters,), False)}

    def forward(self, x, params):
        import numpy as np

        w = params.get("weight")
        return act().prelu(x, np.full(self.num_parameters, self.init, x.dtype) if w is None else w)


@dataclass(frozen=True, repr=False)
class ELU(_Activation):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    alpha: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "alpha", real(self.type, "alpha", self.alpha))

    def forward(self, x, params):
        return act().elu(x, self.alpha)


@dataclass(frozen=True, repr=False)
class SiLU(_Activation):
    """x * sigmoid(x) (Swish)."""

    aliases: ClassVar = ("swish",)

    def forward(self, x, params):
        return act().silu(x)


@dataclass(frozen=True, repr=False)
class GELU(_Activation):
    """x * Phi(x) with the exact erf ('none') or PyTorch's tanh approximation ('tanh')."""

    approximate: str = "none"

    def __post_init__(self):
        if self.approximate not in ("none", "tanh"):
            raise LayerError(self.type, "approximate", f"approximate={self.approximate!r} must be 'none' or 'tanh'")

    def forward(self, x, params):
        return act().gelu(x, self.approximate)


@dataclass(frozen=True, repr=False)
class Hardtanh(_Activation):
    """min(max(x, min_val), max_val); also torch.clamp (either bound may be infinite there)."""

    min_val: float = -1.0
    max_val: float = 1.0

    def __post_init__(self):
        for name in ("min_val", "max_val"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise LayerError(self.type, name, f"{name}={v!r} must be a real number")
            object.__setattr__(self, name, float(v))
        if self.min_val > self.max_val:
            raise LayerError(self.type, "max_val", f"max_val={self.max_val} must be >= min_val={self.min_val}")

    def forward(self, x, params):
        return act().hardtanh(x, self.min_val, self.max_val)


@dataclass(frozen=True, repr=False)
class Hardswish(_Activation):
    """x * relu6(x + 3) / 6."""

    def forward(self, x, params):
        return act().hardswish(x)


@dataclass(frozen=True, repr=False)
class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""

    def forward(self, x, params):
        return act().hardsigmoid(x)


@dataclass(frozen=True, repr=False)
class Mish(_Activation):
    """x * tanh(softplus(x))."""

    def forward(self, x, params):
        return act().mish(x)


@dataclass(frozen=True, repr=False)
class Dropout(_Activation):
    """Identity in eval mode (the mode a trained model is analysed in); p is kept for the spec."""

    p: float = 0.5

    def __post_init__(self):
        p = real(self.type, "p", self.p, 0.0)
        if p > 1:
            raise LayerError(self.type, "p", f"p={p} is out of range: must be in [0, 1]")
        object.__setattr__(self, "p", p)

    def forward(self, x, params):
        return x


@dataclass(frozen=True, repr=False)
class Identity(_Activation):
    """The identity (nn.Identity)."""

    def forward(self, x, params):
        return x


KINDS = (ReLU, LeakyReLU, Tanh, Sigmoid, PReLU, ELU, SiLU, GELU, Hardtanh, Hardswish, Hardsigmoid, Mish, Dropout,
         Identity)
