"""Exact overlap counts: the stack's output on an all-ones single-channel input with all-ones kernels,
zero bias and activations ignored (DESIGN.md §4).

All layers act per axis, so the 2D map is the outer product of two 1D profiles, and everything here is
computed in 1D. Values are exact: int64 while they provably fit, Python ints beyond, and integer numerators
over one common denominator once bilinear weights enter (`RationalArray` in 2D). Internally a 1D signal is a
pair (numerators, denominator).

Every layer is a window sum: k taps spaced d apart, after zero insertion for a transposed conv. With prefix
sums along the residue classes mod d, one layer costs O(input + output) whatever its kernel size.

The interior pattern is propagated as one period of a periodic sequence through the polyphase form of each
layer: an upsampler by s turns period P into P*s, a conv of stride s into P / gcd(P, s). Its borders are
measured on one set of profiles long enough that the two ends cannot interact, found from per-layer bounds
on how far each end reaches (`_reach`).

Costs (P: the period, L: the measuring profile's length, Q: the product of conv strides, all per axis):
`overlap_pattern` O(layers * (P + Q * L)) plus O((P + K) log P) to list K artifacts; `overlap_map` O(H*W).
Each is checked against `analytics.budget` before anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any

import numpy as np

from .budget import MAX_BYTES, MAX_COUNT_BITS, MAX_LISTED, MAX_PERIOD, MAX_WORK, array_bytes, check
from .errors import LayerError
from .exact import INT64_SAFE, as_exact, growth_bits, period_step, profile_step, reach_step, room
from .layers import AxisOp
from .rational import RationalArray
from .spectrum import count_artifacts, relative_amplitudes, strongest_artifacts
from .stack import Stack, _size_pair, as_stack

#: The JSON export lists the 2D tile cell by cell up to this many cells (beyond, it is profiles[0] x profiles[1]).
MAX_TILE_LISTED = 1 << 16


# ---------------------------------------------------------------- budgets: what each axis will cost


def _axis_ops(stack: Stack, axis: int, spatial: bool = True) -> list[AxisOp]:
    """The layers' size-free per-axis ops (activations left out if `spatial`); errors name the layer."""
    ops = []
    for i, layer in enumerate(stack):
        if spatial and layer.is_activation:
            continue
        try:
            ops.append(layer.axis_op(axis))
        except LayerError as exc:
            raise exc.at(i) from None
    return ops


def _cost(length: int, bits: int) -> int:
    """Work units of one pass over `length` exact values: 1 per int64, more for Python integers."""
    return length * (1 if bits < 62 else 32 + bits // 32)


def _step_lengths(op: AxisOp, n: int) -> int:
    """Samples one profile step allocates (input, zero-inserted signal and output)."""
    out = op.output_length(n)
    return n + out + ((n - 1) * op.stride + 1 if op.kind == "transposed" else 0)


def _check_axis(ops: list[AxisOp], axis: int) -> list[tuple[int, int]]:
    """Budget the tile propagation of one axis before it runs; returns (period, bits) after each layer."""
    period, bits, work, out = 1, 0, 0, []
    name = "HW"[axis]
    for op in ops:
        if op.kind in ("transposed", "repeat", "linear"):
            period *= op.stride
        elif op.kind == "conv":
            period //= gcd(period, op.stride)
        for m in op.maps:
            period = m.step_out * period // gcd(period, m.step_in)
        bits += growth_bits(op)
        check(period, MAX_PERIOD, f"the pattern's period along {name}", "use fewer or smaller upsampling strides")
        check(bits, MAX_COUNT_BITS, f"the bits of the exact counts along {name}",
              "use fewer layers or smaller kernels")
        work += 3 * _cost(period * max(op.stride, 1), bits)
        out.append((period, bits))
    check(work, MAX_WORK, f"the work of the exact pattern along {name}", "use fewer layers or smaller strides")
    return out


def _profile(stack: Stack, n: int, axis: int) -> tuple[np.ndarray, int]:
    stack.lengths(n, axis)  # refuses an empty output, naming the layer
    x, den = np.ones(n, dtype=np.int64), 1
    for op in _axis_ops(stack, axis):
        x, den = profile_step(op, x, den)
    return x, den


def _profile_cost(ops: list[AxisOp], n: int) -> int:
    cost, bits = 0, 0
    for op in ops:
        bits += growth_bits(op)
        cost += _cost(_step_lengths(op, n), bits)
        n = op.output_length(n)
    return cost


_SMALLER_INPUT = "use a smaller input_size or fewer layers"


def _check_profiles(stack: Stack, sizes: tuple[int, ...], axis: int, what: str, reduce: str) -> None:
    ops = _axis_ops(stack, axis)
    work = sum(_profile_cost(ops, n) for n in sizes)
    check(work, MAX_WORK, f"the work of {what} along {'HW'[axis]}", reduce)


# ---------------------------------------------------------------- maps and profiles


def overlap_profiles(stack, input_size) -> tuple[np.ndarray, np.ndarray]:
    """The exact 1D overlap profiles (rows, columns): the map is their outer product. O(H + W) per layer."""
    stack = as_stack(stack)
    size = stack.sizes(input_size)[0]
    for axis in range(2):
        _check_profiles(stack, (size[axis],), axis, "the overlap profile", _SMALLER_INPUT)
    return as_exact(*_profile(stack, size[0], 0)), as_exact(*_profile(stack, size[1], 1))


def _reduced(num: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """num/den with the common factor of den and every numerator divided out. O(len)."""
    if den == 1:
        return num, den
    g = gcd(den, *map(int, np.unique(num)))
    return num // g, den // g


def check_map(stack, input_size) -> tuple[int, int]:
    """Raise what `overlap_map(stack, input_size)` would refuse (empty output, pixel, work and memory
    budgets) without computing it; returns the validated (H, W). O(layers)."""
    stack = as_stack(stack)
    sizes = stack.sizes(input_size)  # validates: non-empty and within the pixel budget
    (h, w), (oh, ow) = sizes[0], sizes[-1]
    bits = 0
    for axis, n in enumerate((h, w)):
        _check_profiles(stack, (n,), axis, "the overlap map", _SMALLER_INPUT)
        bits += sum(growth_bits(op) for op in _axis_ops(stack, axis))
    check(array_bytes(oh * ow, bits), MAX_BYTES, f"the bytes of the exact {oh}x{ow} map",
          "use a smaller input_size")
    return h, w


def overlap_map(stack, input_size) -> np.ndarray | RationalArray:
    """Exact overlap counts of `stack` on an (H, W) input: outer product of the two 1D profiles.

    An int64 array while the counts fit (an object array of Python ints beyond); a `RationalArray` (integer
    numerators over one common denominator, never a Fraction per pixel) when bilinear weights make them
    rational. O(H*W) time and memory, within the budget of `MAX_BYTES`; measured 72 ms for a 4096 x 4096
    rational map (a 6-deep bilinear chain, docs/performance.md)."""
    stack = as_stack(stack)
    h, w = check_map(stack, input_size)
    (rows, rden), (cols, cden) = (_reduced(*_profile(stack, n, axis)) for axis, n in enumerate((h, w)))
    if rows.dtype == cols.dtype == np.int64 and int(rows.max()) * int(cols.max()) < INT64_SAFE:
        num = np.multiply.outer(rows, cols)
    else:
        num = np.multiply.outer(rows.astype(object), cols.astype(object))
    return num if rden == cden == 1 else RationalArray(num, rden * cden)


# ---------------------------------------------------------------- the interior pattern


def _minimal_period(c: np.ndarray) -> np.ndarray:
    """The shortest prefix q (q | P) with c[n] == c[n % q] for all n. O(P * divisors(P))."""
    p = len(c)
    for q in range(1, p + 1):
        if p % q == 0 and np.array_equal(c[q:], c[:-q]):
            return c[:q]
    return c


def _long_enough(ops: list[AxisOp], needs: list[int], n: int) -> bool:
    """Whether an input of length n gives every prefix an output of at least its need. O(layers)."""
    for op, need in zip(ops, needs, strict=True):
        n = op.output_length(n)
        if n < max(need, 1):
            return False
    return True


def _sweep(stack: Stack, axis: int, every: bool) -> list[AxisPattern]:
    """The AxisPattern of stack[:i+1] along `axis` for every prefix i (`every`), or of the whole stack only.

    One period is propagated through the layers (`period_step`), and the borders are measured exactly on
    profiles of one input length n long enough that, for every measured prefix, the two ends cannot interact
    (output >= a + b + one period, `reach_step`). The start then does not depend on n; the end depends on n
    modulo the product Q of the conv strides, so `after` is the maximum over Q consecutive lengths: the
    interior bounds hold for every input size that has an interior. All prefixes share the profiles, so
    the whole sweep costs O(layers * (P + Q * L)) for period P and output length L, budgeted first."""
    ops = _axis_ops(stack, axis, spatial=False)
    _check_axis(ops, axis)
    measured = range(len(ops)) if every else range(len(ops) - 1, len(ops))
    tiles, c, den = [], np.ones(1, dtype=np.int64), 1
    reach, a, b = [], 0, 0
    for op in ops:
        c, den = period_step(op, c, den)
        a, b = reach_step(op, a, b)
        tiles.append((c, den))
        reach.append((a, b))
    if not ops:
        return [AxisPattern(1, np.ones(1, dtype=np.int64), (0, 0))]
    needs = [reach[i][0] + reach[i][1] + len(tiles[i][0]) if i in measured else 0 for i in range(len(ops))]
    hi = 1
    while not _long_enough(ops, needs, hi):
        hi *= 2
    lo = max(hi // 2, 1)
    while lo < hi:  # the smallest n that is long enough (output lengths are non-decreasing in n)
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if not _long_enough(ops, needs, mid) else (lo, mid)
    q = 1
    for op in ops:
        if op.kind == "conv":
            q *= op.stride
        q *= op.steps[0]  # a 'map' that reads every p-th sample: the end depends on n mod p
    check(q, MAX_PERIOD, f"the product of conv strides along {'HW'[axis]}", "use fewer strided convolutions")
    _check_profiles(stack, tuple(range(lo, lo + q)), axis, "measuring the pattern's borders",
                    "use smaller kernel_size x dilation, smaller strides or fewer layers")
    edges = {i: (0, 0) for i in measured}
    for m in range(lo, lo + q):
        x, xden = np.ones(m, dtype=np.int64), 1
        for i, op in enumerate(ops):
            x, xden = profile_step(op, x, xden)
            if i in edges:
                edges[i] = _measure((x, xden), tiles[i], reach[i], edges[i])
    out = []
    for i in measured:
        c, den = tiles[i]
        g = gcd(den, *map(int, c)) if den > 1 else 1
        tile = _minimal_period(as_exact(c // g, den // g))
        out.append(AxisPattern(len(tile), tile, edges[i], den // g))
    return out


def _measure(profile: tuple[np.ndarray, int], tile: tuple[np.ndarray, int], reach: tuple[int, int],
             edge: tuple[int, int]) -> tuple[int, int]:
    """`edge` widened to the borders of one long profile: where it differs from the periodic interior, within
    its reach bound at each end; both are (numerators, denominator) and compared exactly. O(len(profile))."""
    (pnum, pden), (tnum, tden) = profile, tile
    length, (a, b) = len(pnum), reach
    periodic = tnum[np.arange(length) % len(tnum)]
    if pden == tden:
        bad = np.flatnonzero(pnum != periodic)
    else:  # an average pool's border divisors put the profile over another denominator
        bad = np.flatnonzero(room(pnum, tden) * tden != room(periodic, pden) * pden)
    head, tail = bad[bad < a], bad[bad >= length - b]
    if len(head) + len(tail) != len(bad):
        raise AssertionError("overlap: a border reaches past its bound")  # a bug, never bad input
    return (max(edge[0], int(head.max()) + 1 if head.size else 0),
            max(edge[1], length - int(tail.min()) if tail.size else 0))


def _py(v: Any) -> int | Fraction:
    """A NumPy integer as a Python int (exact arithmetic from there on); Fractions and ints unchanged."""
    return int(v) if isinstance(v, np.integer) else v


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

    @property
    def bits(self) -> int:
        """Bits of the largest |numerator| in the tile."""
        return max(abs(Fraction(_py(v)).numerator) for v in (self.tile.max(), self.tile.min())).bit_length()

    def moments(self) -> tuple[Fraction, Fraction]:
        """(mean(tile), mean(tile^2)), exactly. O(period)."""
        values = [_py(v) for v in self.tile]
        return (Fraction(sum(values)) / len(values), Fraction(sum(v * v for v in values)) / len(values))


@dataclass(frozen=True)
class OverlapPattern:
    """The interior periodic pattern of a stack: map[i, j] == tile[i % ph, j % pw] in the interior.

    With `input_size` (H, W) it also knows that input's output: `interior` is the number of interior rows
    and columns (output length minus both borders, at least 0), and a stack whose output is all border
    (DCGAN or pix2pix from 1x1, ...) has `has_interior` False and is never `is_even`."""

    stack: Stack
    axes: tuple[AxisPattern, AxisPattern]
    input_size: tuple[int, int] | None = None

    @property
    def period(self) -> tuple[int, int]:
        """Minimal period (ph, pw)."""
        return (self.axes[0].period, self.axes[1].period)

    @property
    def tile(self) -> np.ndarray:
        """One period, the outer product of the per-axis tiles, indexed by output coordinate mod period.

        int64 while the products fit, exact Python ints or Fractions (object) beyond. O(ph * pw), within
        the budget of `MAX_BYTES`."""
        r, c = (a.tile for a in self.axes)
        bits = sum(a.bits for a in self.axes)
        check(array_bytes(r.size * c.size, bits), MAX_BYTES, f"the bytes of the {r.size}x{c.size} tile",
              "use pattern.axes[0].tile and .axes[1].tile (the tile is their outer product)")
        if r.dtype == c.dtype == np.int64 and bits < 62:
            return np.multiply.outer(r, c)
        return np.multiply.outer(r.astype(object), c.astype(object))

    @property
    def edge(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)): border widths outside the periodic interior."""
        return (self.axes[0].edge, self.axes[1].edge)

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(H_out, W_out) for `input_size` (the output is not allocated: no pixel budget); None without one."""
        if self.input_size is None:
            return None
        return tuple(self.stack.lengths(n, axis)[-1] for axis, n in enumerate(self.input_size))

    @property
    def interior(self) -> tuple[int, int] | None:
        """Interior rows and columns of the output for `input_size` (0 when every pixel is border)."""
        if self.input_size is None:
            return None
        return tuple(max(0, n - sum(e)) for n, e in zip(self.output_size, self.edge, strict=True))

    @property
    def has_interior(self) -> bool:
        """False when the output for `input_size` is all border; True without an input size."""
        return self.interior is None or min(self.interior) > 0

    @property
    def is_even(self) -> bool:
        """Every interior pixel gets the same count (period 1 x 1), it is not zero, and there is an interior."""
        return self.period == (1, 1) and not self.has_holes and self.has_interior

    @property
    def has_holes(self) -> bool:
        """Some interior pixels receive no kernel tap at all."""
        return bool(min(self.axes[0].tile.min(), self.axes[1].tile.min()) == 0)

    @property
    def contrast(self) -> Fraction | float:
        """max/min of the tile, exactly; inf with holes. O(ph + pw)."""
        if self.has_holes:
            return float("inf")
        (r, c) = (a.tile for a in self.axes)
        return Fraction(_py(r.max())) * Fraction(_py(c.max())) / (Fraction(_py(r.min())) * Fraction(_py(c.min())))

    @property
    def spectrum(self) -> np.ndarray:
        """|DFT(tile)| / |DC| on the (ph, pw) frequency grid: separable, the outer product per axis."""
        ph, pw = self.period
        check(array_bytes(ph * pw, 0), MAX_BYTES, f"the bytes of the {ph}x{pw} spectrum",
              "use pattern.axes[i].spectrum (the spectrum is their outer product)")
        return np.multiply.outer(self.axes[0].spectrum, self.axes[1].spectrum)

    @property
    def artifact_count(self) -> int:
        """How many artifact frequencies carry energy (one per conjugate pair). O(ph + pw)."""
        return count_artifacts(self.axes[0].spectrum, self.axes[1].spectrum)

    def strongest_artifacts(self, limit: int | None = MAX_LISTED) -> list[tuple[Fraction, Fraction, float]]:
        """(fy, fx, amplitude relative to DC) in cycles/pixel, strongest first, at most `limit` of them.

        From the two 1D spectra by a k-way merge: O((P + limit) log P), never the ph x pw plane."""
        return strongest_artifacts(self.axes[0].spectrum, self.axes[1].spectrum, limit)

    @property
    def artifact_frequencies(self) -> list[tuple[Fraction, Fraction, float]]:
        """(fy, fx, amplitude relative to DC) in cycles/pixel for every non-DC frequency that carries energy,
        strongest first; the strongest `MAX_LISTED` when there are more (see `artifact_count`)."""
        return self.strongest_artifacts(MAX_LISTED)


def _input(stack: Stack, input_size) -> tuple[int, int] | None:
    if input_size is None:
        return None
    size = _size_pair(input_size)
    for axis, n in enumerate(size):
        stack.lengths(n, axis)  # refuses an empty output, naming the layer
    return size


def overlap_pattern(stack, input_size=None) -> OverlapPattern:
    """The exact interior pattern: per axis, one period propagated layer by layer (polyphase form).

    With `input_size`, the pattern also reports that input's interior (`OverlapPattern.has_interior`).
    O(layers * (P + Q * L)) per axis (see `_sweep`), budgeted before it runs; measured 18 ms with its JSON
    export for `ConvTranspose2d(3, stride=2) * 12` (P = 4096, docs/performance.md).

    A `Network` (a DAG, e.g. from `from_torch`) gets its `NetworkPattern` (`analytics.network_pattern`)."""
    from .network import Network

    if isinstance(stack, Network):
        from .network_pattern import network_pattern

        return network_pattern(stack)
    stack = as_stack(stack)
    size = _input(stack, input_size)
    (rows,), (cols,) = _sweep(stack, 0, every=False), _sweep(stack, 1, every=False)
    return OverlapPattern(stack, (rows, cols), size)


def prefix_patterns(stack, input_size=None) -> list[OverlapPattern]:
    """`overlap_pattern(stack[:i+1], input_size)` for every layer i, in one sweep that shares the measuring
    profiles: O(layers * (P + Q * L)) per axis instead of O(layers^2 ...) for one call per prefix. An
    activation does not change the geometry: its entry is the previous layer's pattern object."""
    stack = as_stack(stack)
    size = _input(stack, input_size)
    rows, cols = _sweep(stack, 0, every=True), _sweep(stack, 1, every=True)
    out: list[OverlapPattern] = []
    for i, axes in enumerate(zip(rows, cols, strict=True)):
        if i and stack[i].is_activation:  # same geometry: the previous prefix's pattern, the same object
            out.append(out[-1])
        else:
            out.append(OverlapPattern(stack[: i + 1], axes, size))
    return out
