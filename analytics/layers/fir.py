"""Fixed FIR filtering as StyleGAN2's upfirdn2d: upsample by zero insertion, pad, filter, downsample.

`Upfirdn2d(kernel, up=1, down=1, padding=0, gain=1, normalize=False)` follows NVlabs' upfirdn2d: `kernel` is
1D taps (applied to both axes, i.e. the outer product) or a 2D filter that factors exactly into two 1D ones;
`padding` is an int, (x, y) or (x0, x1, y0, y1) with respect to the upsampled image (negative crops);
`normalize=True` divides the filter by its sum first, as `setup_filter` does. The filter is convolved, not
correlated (flip_filter=False), and multiplied by `gain` overall.

Exact rule, per axis: zero insertion is a transposed convolution with one tap and stride `up` (n -> n up),
then a convolution with the filter's real taps - a weighted overlap, not counts - padding and stride `down`.
The [1, 3, 3, 1] binomial after a stride-2 upsampling contains the zero-order hold 1 + z, which is why
StyleGAN2's blur cancels the period-2 pattern of the upsampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from ..axis import Convolution, Transposed
from ..errors import LayerError
from .base import _integer
from .kind import Kind, flag, real


def separable_taps(layer: str, kernel: Any) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """(rows, cols) with kernel[i, j] == rows[i] * cols[j] exactly (1D taps: both the taps), else a LayerError."""
    k = np.asarray(kernel, dtype=object)
    if k.ndim == 1:
        taps = tuple(Fraction(v) for v in k)
        return taps, taps
    if k.ndim != 2 or not k.size:
        raise LayerError(layer, "kernel", "kernel must be 1D taps or a 2D filter")
    f = [[Fraction(v) for v in row] for row in k]
    i0, j0 = max(((i, j) for i in range(len(f)) for j in range(len(f[0]))), key=lambda ij: abs(f[ij[0]][ij[1]]))
    pivot = f[i0][j0]
    if pivot == 0:
        raise LayerError(layer, "kernel", "kernel is all zeros")
    rows = tuple(f[i][j0] for i in range(len(f)))
    cols = tuple(f[i0][j] / pivot for j in range(len(f[0])))
    if any(f[i][j] != rows[i] * cols[j] for i in range(len(f)) for j in range(len(f[0]))):
        raise LayerError(layer, "kernel", "the 2D filter does not factor into row and column taps (not "
                         "separable); the per-axis exact analysis needs a separable filter")
    return rows, cols


def _scaling(layer, name, value) -> tuple[int, int]:
    """NVlabs' _parse_scaling: an int or [x, y]; returned as (y, x) = (H, W)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise LayerError(layer, name, f"{name}={tuple(value)!r} must be an int or [x, y]")
        return (_integer(layer, name, value[1], 1), _integer(layer, name, value[0], 1))
    v = _integer(layer, name, value, 1)
    return (v, v)


def _padding(layer, value) -> tuple[tuple[int, int], tuple[int, int]]:
    """NVlabs' _parse_padding: an int, [x, y] or [x0, x1, y0, y1]; returned as ((y0, y1), (x0, x1))."""
    low = -(1 << 62)
    if isinstance(value, (tuple, list)):
        v = [_integer(layer, "padding", p, low) for p in value]
        if len(v) == 2:
            v = [v[0], v[0], v[1], v[1]]
        if len(v) != 4:
            raise LayerError(layer, "padding", "padding must be an int, [x, y] or [x0, x1, y0, y1]")
    else:
        v = [_integer(layer, "padding", value, low)] * 4
    return ((v[2], v[3]), (v[0], v[1]))


@dataclass(frozen=True, repr=False)
class Upfirdn2d(Kind):
    """StyleGAN2's upfirdn2d with a fixed filter (see the module docstring)."""

    pointwise: ClassVar = False
    positional: ClassVar = ("kernel",)
    kernel: Any
    up: Any = 1
    down: Any = 1
    padding: Any = 0
    gain: float = 1.0
    normalize: bool = False

    def __post_init__(self):
        name = self.type
        k = np.asarray(self.kernel, dtype=object)
        if k.ndim not in (1, 2) or not k.size or k.size > 4096:
            raise LayerError(name, "kernel", "kernel must be 1D taps or a 2D filter with at most 4096 taps")
        for v in k.ravel():
            real(name, "kernel", v)
        object.__setattr__(self, "kernel", tuple(float(v) for v in k) if k.ndim == 1
                           else tuple(tuple(float(v) for v in row) for row in k))
        separable_taps(name, self.kernel)
        _scaling(name, "up", self.up)
        _scaling(name, "down", self.down)
        _padding(name, self.padding)
        object.__setattr__(self, "gain", real(name, "gain", self.gain))
        flag(name, "normalize", self.normalize)

    def taps(self, axis: int) -> tuple[Fraction, ...]:
        """The exact taps along `axis` (convolution order), with normalisation and, on axis 0, the gain."""
        rows, cols = separable_taps(self.type, self.kernel)
        taps = rows if axis == 0 else cols
        if self.normalize:
            total = sum(taps) if np.ndim(self.kernel) == 1 else None
            if total is None:  # a 2D filter: divide by its sum, split as (row sum) * (col sum)
                total = sum(rows) if axis == 0 else sum(cols)
            if total == 0:
                raise LayerError(self.type, "kernel", "cannot normalise a filter whose taps sum to 0")
            taps = tuple(t / total for t in taps)
        if axis == 0:
            taps = tuple(t * Fraction(self.gain) for t in taps)
        return taps

    def axis_maps(self, axis, n):
        up, down = _scaling(self.type, "up", self.up)[axis], _scaling(self.type, "down", self.down)[axis]
        p0, p1 = _padding(self.type, self.padding)[axis]
        taps = self.taps(axis)
        maps = (Transposed.make(1, up, 0, -(up - 1)),) if up > 1 else ()
        return maps + (Convolution.make(len(taps), down, p0, p1, weights=taps[::-1]),)

    def filter2d(self) -> np.ndarray:
        """The 2D filter the simulation applies (outer product of the exact per-axis taps)."""
        return np.multiply.outer(np.array(self.taps(0), float), np.array(self.taps(1), float))

    def forward(self, x, params):
        from ... import kernels

        (uy, ux), (dy, dx) = _scaling(self.type, "up", self.up), _scaling(self.type, "down", self.down)
        (py0, py1), (px0, px1) = _padding(self.type, self.padding)
        return kernels.upfirdn2d(x, self.filter2d().astype(x.dtype), up=(ux, uy), down=(dx, dy),
                                 padding=(px0, px1, py0, py1))


KINDS = (Upfirdn2d,)
