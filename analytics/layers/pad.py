"""Padding layers: ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d.

`padding` is an int or PyTorch's 4-tuple (left, right, top, bottom); zero and constant padding may be
negative (a crop). Exact rule, per axis: y[o] = x[o - before] with the mode's boundary, i.e. the shift of the
phase by `before` and a border whose samples are reflected, replicated or wrapped copies - or zeros: in
the count model a constant value is a bias and counts nothing. The interior pattern is the input's, shifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..axis import Convolution
from ..errors import LayerError
from .base import _integer
from .kind import Kind, real


def pads4(layer: str, value: Any, minimum: int | None) -> tuple[int, int, int, int]:
    """PyTorch's padding argument: an int or (left, right, top, bottom)."""
    low = -(1 << 62) if minimum is None else minimum
    if isinstance(value, (tuple, list)):
        if len(value) != 4:
            raise LayerError(layer, "padding", f"padding={tuple(value)!r} must be an int or "
                             "(left, right, top, bottom)")
        return tuple(_integer(layer, "padding", v, low) for v in value)
    v = _integer(layer, "padding", value, low)
    return (v, v, v, v)


class _Pad(Kind):
    """padding = (left, right, top, bottom); `mode` is F.pad's mode."""

    pointwise: ClassVar = False
    positional: ClassVar = ("padding",)
    mode: ClassVar[str] = "constant"
    negative: ClassVar[bool] = False

    @property
    def boundary(self) -> str:
        """What a tap outside the input reads, in `analytics.axis` terms (a constant counts as zeros)."""
        return "zeros" if self.mode == "constant" else self.mode

    def __post_init__(self):
        object.__setattr__(self, "padding", pads4(self.type, self.padding, None if self.negative else 0))

    @property
    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right))."""
        left, right, top, bottom = self.padding
        return ((top, bottom), (left, right))

    def spec(self) -> str:
        p = self.padding
        shown = p[0] if len(set(p)) == 1 else p
        extra = f", {self.value!r}" if hasattr(self, "value") else ""
        return f"{self.type}({shown!r}{extra})"

    __repr__ = spec

    def axis_maps(self, axis, n):
        before, after = self.pads[axis]
        if n is None:  # the rule itself does not depend on n; its limits are checked with the size
            return (Convolution.make(1, 1, before, after, boundary=self.boundary),)
        if self.boundary == "reflect" and max(before, after) >= n:
            raise LayerError(self.type, "padding", f"reflection padding {max(before, after)} must be smaller "
                             f"than the input length {n} along {'HW'[axis]}")
        if self.boundary == "circular" and max(before, after) > n:
            raise LayerError(self.type, "padding", f"circular padding {max(before, after)} must be at most the "
                             f"input length {n} along {'HW'[axis]}")
        return (Convolution.make(1, 1, before, after, boundary=self.boundary),)

    def forward(self, x, params):
        from ... import kernels

        return kernels.pad(x, self.padding, mode=self.mode, value=getattr(self, "value", 0.0))


@dataclass(frozen=True, repr=False)
class ZeroPad2d(_Pad):
    """Pads with zeros (negative values crop)."""

    negative = True
    padding: Any


@dataclass(frozen=True, repr=False)
class ConstantPad2d(_Pad):
    """Pads with `value` (negative values crop)."""

    positional = ("padding", "value")
    negative = True
    padding: Any
    value: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "value", real(self.type, "value", self.value))


@dataclass(frozen=True, repr=False)
class ReflectionPad2d(_Pad):
    """Mirrors without repeating the edge: x[-i] = x[i]; padding must be smaller than the input."""

    mode = "reflect"
    padding: Any


@dataclass(frozen=True, repr=False)
class ReplicationPad2d(_Pad):
    """Repeats the edge sample."""

    mode = "replicate"
    padding: Any


@dataclass(frozen=True, repr=False)
class CircularPad2d(_Pad):
    """Wraps around: x[-i] = x[n - i]; padding must be at most the input."""

    mode = "circular"
    padding: Any


KINDS = (ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d)
