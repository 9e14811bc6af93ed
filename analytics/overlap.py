"""Exact overlap counts: the stack's output on an all-ones single-channel input with all-ones kernels,
zero bias and activations ignored (DESIGN.md §4).

All layers act per axis, so the 2D map is the outer product of two 1D profiles, and everything here is
computed in 1D. Values are exact: int64 integers, or Fractions once bilinear weights enter. Internally a
1D signal is a pair (numerators, denominator) so that bilinear layers stay in integer arithmetic.

The interior pattern is propagated as one period of a periodic sequence through the polyphase form of each
layer: an upsampler by s turns period P into P*s, a conv of stride s into P / gcd(P, s).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd

import numpy as np

from .errors import CheckerlabError
from .layers import AxisOp
from .spectrum import artifact_frequencies, relative_amplitudes
from .stack import Stack, as_stack

_INT64_SAFE = 1 << 62


def _room(num: np.ndarray, factor: int) -> np.ndarray:
    """Switch to Python ints (object dtype) before an operation that may grow values by `factor`."""
    if num.dtype != object and num.size and int(np.abs(num).max()) * factor >= _INT64_SAFE:
        return num.astype(object)
    return num


def _profile_step(op: AxisOp, x: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Apply one layer to a finite 1D signal x/den (zero outside), with PyTorch's boundary rules."""
    k, s, pb, pa, d = op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation
    n, out = len(x), op.output_length(len(x))
    if op.kind == "transposed":  # y[i*s + t*d - pb] += x[i]
        x = _room(x, k)
        full = np.zeros(max((n - 1) * s + d * (k - 1) + 1, pb + out), dtype=x.dtype)
        for t in range(k):
            full[t * d: t * d + (n - 1) * s + 1: s] += x
        return full[pb: pb + out], den
    if op.kind == "conv":  # y[o] = sum_t x[o*s + t*d - pb]
        x = _room(x, k)
        xp = np.concatenate([np.zeros(pb, x.dtype), x, np.zeros(pa, x.dtype)])
        y = np.zeros(out, dtype=x.dtype)
        for t in range(k):
            y += xp[t * d: t * d + (out - 1) * s + 1: s]
        return y, den
    if op.kind == "repeat":  # y[o] = x[o // s]
        return np.repeat(x, s), den
    if op.kind == "linear":  # align_corners=False: src = (2o + 1 - s) / 2s, clamped to [0, n-1]
        x = _room(x, 2 * s)
        src = np.maximum(2 * np.arange(out) + 1 - s, 0)
        i0 = src // (2 * s)
        frac = src - i0 * 2 * s
        return (2 * s - frac) * x[i0] + frac * x[np.minimum(i0 + 1, n - 1)], den * 2 * s
    return x, den


def _tile_step(op: AxisOp, c: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Apply one layer to an infinite periodic signal given by one period c (c[n % P]/den)."""
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    p = len(c)
    if op.kind == "transposed":  # period P*s; y[n] = sum_t [s | n+pb-t*d] c[(n+pb-t*d)/s]
        c = _room(c, k)
        n = np.arange(p * s)
        y = np.zeros(p * s, dtype=c.dtype)
        for t in range(k):
            q = n + pb - t * d
            hit = q % s == 0
            y[hit] += c[(q[hit] // s) % p]
        return y, den
    if op.kind == "conv":  # period P / gcd(P, s); y[o] = sum_t c[(o*s + t*d - pb) mod P]
        c = _room(c, k)
        o = np.arange(p // gcd(p, s))
        return sum(c[(o * s + t * d - pb) % p] for t in range(k)), den
    if op.kind == "repeat":
        return c[(np.arange(p * s) // s) % p], den
    if op.kind == "linear":  # interior: no clamping
        c = _room(c, 2 * s)
        src = 2 * np.arange(p * s) + 1 - s
        i0 = src // (2 * s)
        frac = src - i0 * 2 * s
        return (2 * s - frac) * c[i0 % p] + frac * c[(i0 + 1) % p], den * 2 * s
    return c, den


def _exact(num: np.ndarray, den: int) -> np.ndarray:
    """num/den as int64 when every value is an integer, else as an object array of Fractions."""
    if den == 1 or not np.any(num % den):
        out = num // den
        return out.astype(np.int64) if all(abs(int(v)) < _INT64_SAFE for v in (out.min(), out.max())) else out
    return np.array([Fraction(int(v), den) for v in num.ravel()], dtype=object).reshape(num.shape)


def _axis_ops(stack: Stack, axis: int) -> list[AxisOp]:
    return [layer.axis_op(axis) for _, layer in stack.spatial_layers]


def _profile(stack: Stack, n: int, axis: int) -> tuple[np.ndarray, int]:
    stack.lengths(n, axis)  # refuses an empty output, naming the layer
    x, den = np.ones(n, dtype=np.int64), 1
    for op in _axis_ops(stack, axis):
        x, den = _profile_step(op, x, den)
    return x, den


def overlap_profiles(stack, input_size) -> tuple[np.ndarray, np.ndarray]:
    """The exact 1D overlap profiles (rows, columns): the map is their outer product."""
    stack = as_stack(stack)
    h, w = stack.sizes(input_size)[0]
    return _exact(*_profile(stack, h, 0)), _exact(*_profile(stack, w, 1))


def overlap_map(stack, input_size) -> np.ndarray:
    """Exact overlap counts of `stack` on an (H, W) input: outer product of the two 1D profiles.

    int64 for integer counts; an object array of Fractions when bilinear weights make them rational.
    """
    stack = as_stack(stack)
    h, w = stack.sizes(input_size)[0]  # validates: non-empty and within the memory budget
    (rows, rden), (cols, cden) = _profile(stack, h, 0), _profile(stack, w, 1)
    if rden == cden == 1 and rows.dtype == cols.dtype == np.int64 \
            and int(rows.max()) * int(cols.max()) < _INT64_SAFE:  # the common case: one int64 outer product
        return np.multiply.outer(rows, cols)
    return _exact(np.multiply.outer(rows.astype(object), cols.astype(object)), rden * cden)


def _minimal_period(c: np.ndarray) -> np.ndarray:
    """The shortest prefix q (q | P) with c[n] == c[n % q] for all n."""
    p = len(c)
    for q in range(1, p + 1):
        if p % q == 0 and np.array_equal(c, np.tile(c[:q], p // q)):
            return c[:q]
    return c


@dataclass(frozen=True)
class AxisPattern:
    """The interior pattern along one axis: count(n) = tile[n % period] for edge[0] <= n < length - edge[1]."""

    period: int
    tile: np.ndarray
    edge: tuple[int, int]
    denominator: int = 1

    @property
    def spectrum(self) -> np.ndarray:
        """|DFT(tile)[m]| / |DFT(tile)[0]|, m = 0..period-1: the artifact at frequency m/period."""
        return relative_amplitudes(self.tile)


def _edges(stack: Stack, axis: int, tile_num: np.ndarray, den: int) -> tuple[int, int]:
    """(before, after): how many output samples at each end may differ from the periodic interior.

    Measured on 1D profiles of growing input length until stable. The end of the output depends on the input
    length modulo the product Q of the downsampling strides, so `after` is the maximum over Q consecutive
    lengths: the interior bounds hold for every input size that has an interior."""
    p, last, n = len(tile_num), None, 4
    q = int(np.prod([op.stride for op in _axis_ops(stack, axis) if op.kind == "conv"], dtype=object))
    while n <= 1 << 16:
        edges = []
        for m in range(n, n + q):
            try:
                prof, pden = _profile(stack, m, axis)
            except CheckerlabError:  # too short: empty output
                break
            length = len(prof)
            bad = np.flatnonzero(prof != tile_num[np.arange(length) % p])
            before = int(bad[bad < length // 2].max()) + 1 if np.any(bad < length // 2) else 0
            after = length - int(bad[bad >= length // 2].min()) if np.any(bad >= length // 2) else 0
            if before + after >= length // 2:  # no clear interior yet
                break
            edges.append((before, after))
        if len(edges) == q:
            edge = (max(e[0] for e in edges), max(e[1] for e in edges))
            if last == edge:
                return edge
            last = edge
        n *= 2
    raise CheckerlabError("this stack has no periodic interior within input length 65536")


def _axis_pattern(stack: Stack, axis: int) -> AxisPattern:
    c, den = np.ones(1, dtype=np.int64), 1
    for op in _axis_ops(stack, axis):
        c, den = _tile_step(op, c, den)
    edge = _edges(stack, axis, c, den)
    g = gcd(den, *map(int, c)) if den > 1 else 1
    tile = _minimal_period(_exact(c // g, den // g))
    return AxisPattern(len(tile), tile, edge, den // g)


@dataclass(frozen=True)
class OverlapPattern:
    """The interior periodic pattern of a stack: map[i, j] == tile[i % ph, j % pw] in the interior."""

    stack: Stack
    axes: tuple[AxisPattern, AxisPattern]

    @property
    def period(self) -> tuple[int, int]:
        """Minimal period (ph, pw)."""
        return (self.axes[0].period, self.axes[1].period)

    @property
    def tile(self) -> np.ndarray:
        """One period, the outer product of the per-axis tiles, indexed by output coordinate mod period."""
        return np.multiply.outer(self.axes[0].tile, self.axes[1].tile)

    @property
    def edge(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)): border widths outside the periodic interior."""
        return (self.axes[0].edge, self.axes[1].edge)

    @property
    def is_even(self) -> bool:
        """Every interior pixel gets the same count (period 1 x 1) and it is not zero."""
        return self.period == (1, 1) and not self.has_holes

    @property
    def has_holes(self) -> bool:
        """Some interior pixels receive no kernel tap at all."""
        return bool(min(self.axes[0].tile.min(), self.axes[1].tile.min()) == 0)

    @property
    def contrast(self) -> Fraction | float:
        """max/min of the tile, exactly; inf with holes."""
        if self.has_holes:
            return float("inf")
        (r, c) = (a.tile for a in self.axes)
        return Fraction(r.max()) * Fraction(c.max()) / (Fraction(r.min()) * Fraction(c.min()))

    @property
    def spectrum(self) -> np.ndarray:
        """|DFT(tile)| / |DC| on the (ph, pw) frequency grid: separable, the outer product per axis."""
        return np.multiply.outer(self.axes[0].spectrum, self.axes[1].spectrum)

    @property
    def artifact_frequencies(self) -> list[tuple[Fraction, Fraction, float]]:
        """(fy, fx, amplitude relative to DC) in cycles/pixel for every non-DC frequency that carries energy."""
        return artifact_frequencies(self.spectrum)


def overlap_pattern(stack) -> OverlapPattern:
    """The exact interior pattern: per axis, one period propagated layer by layer (polyphase form)."""
    stack = as_stack(stack)
    return OverlapPattern(stack, (_axis_pattern(stack, 0), _axis_pattern(stack, 1)))
