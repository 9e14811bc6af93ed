"""Resampling layers with PyTorch's semantics: Upsample (= F.interpolate) and PixelUnshuffle.

Upsample takes `size` or `scale_factor` (ints, or rationals such as 1.5), modes 'nearest', 'nearest-exact',
'bilinear', 'bicubic' and 'area', and `align_corners`. Exact rule, per axis, from `axis.Resample`: output o
samples the input at src(o) = (o + 1/2) r - 1/2 (align_corners=False) or o r (True), where r is the input
step per output sample - 1/scale_factor when a scale factor is given, in/out for a size, (in - 1)/(out - 1)
with align_corners=True - and the mode's taps (linear, Keys' cubic with A = -3/4, or the nearest sample)
weight the neighbours exactly. With r = a/b in lowest terms the sampling repeats every b outputs, so a
periodic input of period P gives period b P / gcd(P, a): for align_corners=True or a size that is not a
multiple of the input, that period depends on the input size - there is no fixed pattern, and the result
says so through its period.

PixelUnshuffle(r) moves each r x r block into r^2 channels: the next channel-mixing layer sums them, so its
count rule is the r x r box sum with stride r (exact whenever such a layer follows, as in every real
network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from typing import Any, ClassVar

from ..axis import Convolution, Resample
from ..errors import LayerError, excerpt
from .base import AxisOp, Layer, _integer, is_symbolic
from .kind import Kind

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
_METHOD = {"nearest": "nearest", "nearest-exact": "nearest-exact", "bilinear": "linear", "bicubic": "cubic",
           "area": "area"}
#: Largest denominator of a rational scale factor: the phase table of one axis has that many rows.
MAX_SCALE_DENOMINATOR = 1024
#: Most phases of one axis's resampling table (the denominator of its step, in / out samples).
MAX_PHASES = 1 << 16


def resample_maps(layer: str, name: str, method: str, ratio: Fraction, align_corners: bool = False,
                  size: int | None = None) -> tuple:
    """The exact rule of a resampling along one axis: a table of one row per phase, the denominator of the
    step `ratio`; more than MAX_PHASES rows (a scale of 10^6, a resize to 10^6 pixels) is a LayerError on
    parameter `name` before the table is built. O(phases)."""
    ratio = Fraction(ratio)
    if ratio.denominator > MAX_PHASES:
        raise LayerError(layer, name, f"{name}: the sampling repeats every {ratio.denominator:,} output pixels, "
                         f"more than the budget of {MAX_PHASES:,} phases of the exact engine")
    return (Resample.make(method, ratio, align_corners, size=size),)


def _factor(layer: str, name: str, value: Any) -> Fraction | int:
    """A positive scale factor, exact: an int, or the exact rational of a float (2.0 -> 2, 1.5 -> 3/2); a
    SymPy integer symbol passes (closed forms)."""
    if is_symbolic(value) or getattr(value, "is_Integer", False):
        return _integer(layer, name, value, 1)
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise LayerError(layer, name, f"{name}={excerpt(value)} must be a positive number")
    if value != value or value in (float("inf"), float("-inf")) or value <= 0:
        raise LayerError(layer, name, f"{name}={excerpt(value)} is out of range: must be a positive finite number")
    f = Fraction(value)
    if f.denominator > MAX_SCALE_DENOMINATOR:
        raise LayerError(layer, name, f"{name}={value!r} is not a ratio of small integers (denominator "
                         f"{f.denominator} > {MAX_SCALE_DENOMINATOR}): its sampling has no short period")
    return int(f) if f.denominator == 1 else f


@dataclass(frozen=True, repr=False)
class Upsample(Kind):
    """torch.nn.Upsample / F.interpolate: to `size` or by `scale_factor`, with `mode` and `align_corners`."""

    aliases: ClassVar = ("up",)
    torch_order: ClassVar = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")

    pointwise: ClassVar = False
    positional: ClassVar = ()
    scale_factor: Any = None
    mode: str = "nearest"
    align_corners: bool | None = None
    size: Any = field(default=None, kw_only=True)
    recompute_scale_factor: bool | None = field(default=None, kw_only=True)

    def __post_init__(self):
        name = self.type
        if (self.size is None) == (self.scale_factor is None):
            raise LayerError(name, "size", "give exactly one of size and scale_factor")
        if self.size is not None:
            pair = self.size if isinstance(self.size, (tuple, list)) else (self.size, self.size)
            if len(pair) != 2:
                raise LayerError(name, "size", f"size={excerpt(self.size)} must be an int or an (h, w) pair")
            object.__setattr__(self, "size", tuple(_integer(name, "size", v, 1) for v in pair))
        else:
            pair = self.scale_factor if isinstance(self.scale_factor, (tuple, list)) else (self.scale_factor,) * 2
            if len(pair) != 2:
                raise LayerError(name, "scale_factor", f"scale_factor={excerpt(self.scale_factor)} must be a "
                                 "number or an (h, w) pair")
            object.__setattr__(self, "scale_factor", tuple(_factor(name, "scale_factor", v) for v in pair))
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise LayerError(name, "mode", f"mode={excerpt(self.mode)} is not supported: use one of "
                             f"{', '.join(repr(m) for m in MODES)}")
        if self.align_corners is not None:
            if not isinstance(self.align_corners, bool):
                raise LayerError(name, "align_corners", f"align_corners={excerpt(self.align_corners)} must be "
                                 "None, True or False")
            if self.mode not in ("bilinear", "bicubic"):
                raise LayerError(name, "align_corners", "align_corners only applies to mode='bilinear' or "
                                 "'bicubic' (as in PyTorch); leave it unset")
        if self.recompute_scale_factor not in (None, True, False):
            raise LayerError(name, "recompute_scale_factor", "recompute_scale_factor must be True, False or None")

    def spec(self) -> str:
        args = []
        if self.size is not None:
            args.append(f"size={self.size[0] if self.size[0] == self.size[1] else self.size!r}")
        else:
            s = self.scale_factor
            shown = s[0] if s[0] == s[1] else s
            args.append(repr(float(shown) if isinstance(shown, Fraction) else shown)
                        if not isinstance(shown, tuple) else repr(tuple(float(v) for v in shown)))
        if self.mode != "nearest":
            args.append(f"mode={self.mode!r}")
        for key in ("align_corners", "recompute_scale_factor"):
            if getattr(self, key) is not None:
                args.append(f"{key}={getattr(self, key)!r}")
        return f"Upsample({', '.join(args)})"

    __repr__ = spec

    def output_length(self, axis: int, n: int) -> int:
        """PyTorch's output length: size, or floor(n * scale_factor)."""
        return self.size[axis] if self.size is not None else floor(n * self.scale_factor[axis])

    def axis_op(self, axis: int) -> AxisOp:
        """The size-free rule for the stack engine; the PyTorch-equivalent old kinds where they exist."""
        s = self.scale_factor[axis] if self.scale_factor is not None else None
        if self.size_free and (isinstance(s, int) or is_symbolic(s)):
            if self.mode == "nearest":
                return AxisOp("repeat", stride=s)
            if self.mode == "bilinear":
                return AxisOp("linear", stride=s)
        return super().axis_op(axis)

    @property
    def size_free(self) -> bool:
        """Whether the sampling does not depend on the input size: a scale factor, half-pixel centres."""
        return self.size is None and not self.align_corners and self.mode != "area" \
            and not self.recompute_scale_factor

    def ratio(self, axis: int, n: int) -> Fraction:
        """Input samples per output sample, as PyTorch computes the source index."""
        if n is None:
            return 1 / Fraction(self.scale_factor[axis])
        m = self.output_length(axis, n)
        if self.align_corners:
            return Fraction(n - 1, m - 1) if m > 1 else Fraction(0)
        if self.scale_factor is not None and not self.recompute_scale_factor and self.mode != "area":
            return 1 / Fraction(self.scale_factor[axis])
        return Fraction(n, m)

    def axis_maps(self, axis, n):
        if n is None:
            if not self.size_free:
                raise self.size_dependent("size=, align_corners=True, mode='area' or recompute_scale_factor tie "
                                          "the sampling step to the input size")
            return resample_maps(self.type, "scale_factor", _METHOD[self.mode], self.ratio(axis, None))
        m = self.output_length(axis, n)
        if m < 1:
            raise LayerError(self.type, "scale_factor", f"output would be empty along {'HW'[axis]}: {n} -> {m}")
        return resample_maps(self.type, "size" if self.size is not None else "scale_factor", _METHOD[self.mode],
                             self.ratio(axis, n), bool(self.align_corners), size=m)

    def forward(self, x, params):
        from ... import kernels

        if self.size is not None:
            return kernels.interpolate(x, size=self.size, mode=self.mode, align_corners=self.align_corners)
        return kernels.interpolate(x, scale_factor=tuple(float(s) for s in self.scale_factor), mode=self.mode,
                                   align_corners=self.align_corners,
                                   recompute_scale_factor=self.recompute_scale_factor)


@dataclass(frozen=True, repr=False)
class PixelShuffle(Layer):
    """torch.nn.PixelShuffle(r): (C*r^2, H, W) -> (C, rH, rW); out[c, r*h + i, r*w + j] = in[c*r^2 + r*i + j, h, w]."""

    aliases: ClassVar = ("ps", "subpixel")

    positional: ClassVar = ("upscale_factor",)
    upscale_factor: int

    def __post_init__(self):
        object.__setattr__(self, "upscale_factor", _integer(self.type, "upscale_factor", self.upscale_factor, 1))

    def axis_op(self, axis: int) -> AxisOp:
        return AxisOp("repeat", stride=self.upscale_factor)

    def out_channels_for(self, in_channels: int) -> int:
        r2 = self.upscale_factor ** 2
        if in_channels % r2:
            raise LayerError(self.type, "upscale_factor", f"needs input channels divisible by "
                             f"upscale_factor^2 = {r2}, got {in_channels} channels")
        return in_channels // r2


@dataclass(frozen=True, repr=False)
class PixelUnshuffle(Kind):
    """(C, rH, rW) -> (C r^2, H, W): out[c r^2 + i r + j, h, w] = in[c, h r + i, w r + j]."""

    pointwise: ClassVar = False
    positional: ClassVar = ("downscale_factor",)
    downscale_factor: int

    def __post_init__(self):
        object.__setattr__(self, "downscale_factor",
                           _integer(self.type, "downscale_factor", self.downscale_factor, 1))

    def out_channels_for(self, in_channels):
        return in_channels * self.downscale_factor ** 2

    def axis_maps(self, axis, n):
        r = self.downscale_factor
        if n is not None and n % r:
            raise LayerError(self.type, "downscale_factor", f"the input length {n} along {'HW'[axis]} must be "
                             f"divisible by downscale_factor={r}")
        return (Convolution.make(r, r),)

    def forward(self, x, params):
        from ... import kernels

        return kernels.pixel_unshuffle(x, self.downscale_factor)


KINDS = (Upsample, PixelShuffle, PixelUnshuffle)
