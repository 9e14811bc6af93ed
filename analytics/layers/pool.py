"""Pooling layers: AvgPool2d, MaxPool2d, AdaptiveAvgPool2d, with PyTorch's arguments and shape rules.

Exact rules, per axis:
- AvgPool2d: a convolution with k taps of weight 1/k and stride s (the divisor at the border follows
  count_include_pad, PyTorch's window clipping and `divisor_override`); a periodic input of period P gives
  period P / gcd(P, s).
- MaxPool2d: the maximum over the same window; on counts (never negative) the 2D maximum over a rectangle is
  exact per axis.
- AdaptiveAvgPool2d(m): the mean of x[floor(o n/m) .. ceil((o + 1) n/m) - 1]; to one sample (global
  pooling, as in squeeze-excitation and ASPP's image pooling) it mixes the whole axis, and the network
  treats its output as flat: a constant that later multiplies (a gain) or adds (a bias).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from ..axis import Convolution, GlobalAxis, MaxAxis
from ..errors import LayerError
from .base import _compact, _integer, _pair
from .kind import Kind, flag
from .resample import resample_maps


def _kernels():
    from ... import kernels

    return kernels


class _Pool(Kind):
    """kernel_size, stride (default: kernel_size), padding (at most half the kernel), ceil_mode."""

    pointwise: ClassVar = False
    positional: ClassVar = ("kernel_size",)

    def _validate(self):
        name = self.type
        k = _pair(name, "kernel_size", self.kernel_size, 1)
        s = k if self.stride is None else _pair(name, "stride", self.stride, 1)
        p = _pair(name, "padding", self.padding, 0)
        d = _pair(name, "dilation", getattr(self, "dilation", 1), 1)
        for a in range(2):
            if p[a] > (d[a] * (k[a] - 1) + 1) // 2:
                raise LayerError(name, "padding", f"padding={_compact(p)} must be at most half the kernel "
                                 f"size {_compact(k)}, as in PyTorch")
        object.__setattr__(self, "kernel_size", k)
        object.__setattr__(self, "stride", s)
        object.__setattr__(self, "padding", p)
        if hasattr(self, "dilation"):
            object.__setattr__(self, "dilation", d)
        flag(name, "ceil_mode", self.ceil_mode)


@dataclass(frozen=True, repr=False)
class AvgPool2d(_Pool):
    """Mean over kernel_size windows every stride samples, zero padding counted when count_include_pad."""

    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    def __post_init__(self):
        self._validate()
        flag(self.type, "count_include_pad", self.count_include_pad)
        if self.divisor_override is not None:
            object.__setattr__(self, "divisor_override",
                               _integer(self.type, "divisor_override", self.divisor_override, 1))

    def axis_maps(self, axis, n):
        k, s, p = self.kernel_size[axis], self.stride[axis], self.padding[axis]
        if self.divisor_override is not None:  # sum / divisor: the divisor goes on the first axis
            weights = [Fraction(1, self.divisor_override) if axis == 0 else 1] * k
            return (Convolution.make(k, s, p, p, weights=weights, ceil_mode=self.ceil_mode),)
        mode = "include_pad" if self.count_include_pad else "exclude_pad"
        return (Convolution.make(k, s, p, p, ceil_mode=self.ceil_mode, average=mode),)

    def forward(self, x, params):
        return _kernels().avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                     self.count_include_pad, self.divisor_override)


@dataclass(frozen=True, repr=False)
class MaxPool2d(_Pool):
    """Maximum over kernel_size windows (dilated) every stride samples; padding never wins (-inf)."""

    torch_order: ClassVar = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")

    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False

    def __post_init__(self):
        self._validate()

    def axis_maps(self, axis, n):
        p = self.padding[axis]
        return (MaxAxis.make(self.kernel_size[axis], self.stride[axis], p, p, self.dilation[axis],
                             self.ceil_mode),)

    def forward(self, x, params):
        return _kernels().max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                     self.ceil_mode)


@dataclass(frozen=True, repr=False)
class AdaptiveAvgPool2d(Kind):
    """Mean over PyTorch's adaptive windows to output_size (an int, a pair, None keeps an axis)."""

    pointwise: ClassVar = False
    positional: ClassVar = ("output_size",)
    output_size: Any

    def __post_init__(self):
        size = self.output_size
        pair = size if isinstance(size, (tuple, list)) else (size, size)
        if len(pair) != 2:
            raise LayerError(self.type, "output_size", f"output_size={size!r} must be an int or an (h, w) pair")
        object.__setattr__(self, "output_size", tuple(
            None if v is None else _integer(self.type, "output_size", v, 1) for v in pair))

    def axis_maps(self, axis, n):
        m = self.output_size[axis]
        if m is None or m == n:
            return ()
        if m == 1:
            return (GlobalAxis(1),)
        if n is None:
            raise self.size_dependent(f"output_size={m} averages windows of length in / {m}")
        return resample_maps(self.type, "output_size", "area", Fraction(n, m), size=m)

    def forward(self, x, params):
        size = tuple(x.shape[2 + a] if m is None else m for a, m in enumerate(self.output_size))
        return _kernels().adaptive_avg_pool2d(x, size)


KINDS = (AvgPool2d, MaxPool2d, AdaptiveAvgPool2d)
