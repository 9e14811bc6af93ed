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
from .layers import AxisOp
from .rational import RationalArray
from .spectrum import count_artifacts, relative_amplitudes, strongest_artifacts
from .stack import Stack, _size_pair, as_stack

_INT64_SAFE = 1 << 62
#: The JSON export lists the 2D tile cell by cell up to this many cells (beyond, it is profiles[0] x profiles[1]).
MAX_TILE_LISTED = 1 << 16


# ---------------------------------------------------------------- exact 1D window sums


def _room(num: np.ndarray, factor: int) -> np.ndarray:
    """Switch to Python ints (object dtype) before an operation that may grow values by `factor`."""
    if num.dtype != object and num.size and int(np.abs(num).max()) * factor >= _INT64_SAFE:
        return num.astype(object)
    return num


def _window(x: np.ndarray, d: int, k: int, ends: np.ndarray) -> np.ndarray:
    """sum_{t<k} x[e - t*d] for every e in `ends`, with x zero outside [0, n).

    Prefix sums along the residue classes mod d: F(i) = sum_{j>=0} x[i - j*d], and the window is
    F(e) - F(e - k*d). O(n + len(ends)), independent of k."""
    n = len(x)
    x = _room(x, n + 1)
    rows = -(-n // d)
    padded = np.zeros(rows * d, dtype=x.dtype)
    padded[:n] = x
    prefix = np.cumsum(padded.reshape(rows, d), axis=0).ravel()[:n]

    def at(i: np.ndarray) -> np.ndarray:
        i = np.where(i >= n, i - d * ((i - n + d) // d), i)  # the class's last sample at or before n - 1
        out = np.zeros(len(i), dtype=prefix.dtype)
        ok = i >= 0
        out[ok] = prefix[i[ok]]
        return out

    return at(ends) - at(ends - k * d)


def _periodic_window(z: np.ndarray, d: int, k: int) -> np.ndarray:
    """y[u] = sum_{t<k} z[(u - t*d) mod M] for a period z of length M.

    The taps of u walk the orbit of u under -d (mod M), of length L = M / gcd(M, d): k taps are k // L whole
    orbits plus a run of k mod L, read from prefix sums along each orbit. O(M), independent of k and d."""
    m = len(z)
    d %= m
    g = gcd(m, d)
    length = m // g
    q, r = divmod(k, length)
    z = _room(z, 2 * m + k)
    j = np.arange(length)
    pos = (np.arange(g)[:, None] - j[None, :] * d) % m  # pos[c, j]: the j-th sample of orbit c
    zo = z[pos]
    y = np.empty(m, dtype=z.dtype)
    value = q * zo.sum(axis=1)[:, None] + np.zeros_like(zo)
    if r:
        ext = np.concatenate([np.zeros((g, 1), dtype=z.dtype), zo, zo[:, :r]], axis=1)
        prefix = np.cumsum(ext, axis=1)
        value = value + (prefix[:, j + r] - prefix[:, j])
    y[pos] = value
    return y


def _zero_insert(x: np.ndarray, s: int, length: int) -> np.ndarray:
    z = np.zeros(length, dtype=x.dtype)
    z[::s] = x[: -(-length // s)]
    return z


def _maps(op: AxisOp, signal: tuple[np.ndarray, int], periodic: bool) -> tuple[np.ndarray, int]:
    """A 'map' AxisOp: its tap tables (`analytics.axis`) applied in order, to a finite or a periodic signal."""
    for m in op.maps:
        signal = m.tile(signal) if periodic else m.profile(signal)
    return signal


def _profile_step(op: AxisOp, x: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Apply one layer to a finite 1D signal x/den (zero outside), with PyTorch's boundary rules."""
    if op.kind == "map":
        return _maps(op, (x, den), periodic=False)
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    n, out = len(x), op.output_length(len(x))
    if op.kind == "transposed":  # y[i*s + t*d - pb] += x[i]
        z = _zero_insert(x, s, (n - 1) * s + 1)
        return _window(z, d, k, np.arange(pb, pb + out)), den
    if op.kind == "conv":  # y[o] = sum_t x[o*s + t*d - pb]
        return _window(x, d, k, np.arange(out) * s + (k - 1) * d - pb), den
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
    if op.kind == "map":
        return _maps(op, (c, den), periodic=True)
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    p = len(c)
    if op.kind == "transposed":  # period P*s; y[n] = sum_t z[n + pb - t*d], z = c zero-inserted
        w = _periodic_window(_zero_insert(c, s, p * s), d, k)
        return np.roll(w, -pb), den
    if op.kind == "conv":  # period P / gcd(P, s); y[o] = sum_t c[(o*s + t*d - pb) mod P]
        w = _periodic_window(c, d, k)
        return w[(np.arange(p // gcd(p, s)) * s + (k - 1) * d - pb) % p], den
    if op.kind == "repeat":
        return np.repeat(c, s), den
    if op.kind == "linear":  # interior: no clamping
        c = _room(c, 2 * s)
        src = 2 * np.arange(p * s) + 1 - s
        i0 = src // (2 * s)
        frac = src - i0 * 2 * s
        return (2 * s - frac) * c[i0 % p] + frac * c[(i0 + 1) % p], den * 2 * s
    return c, den


def _exact(num: np.ndarray, den: int) -> np.ndarray:
    """num/den as int64 when every value is an integer that fits, Python ints beyond, else as Fractions
    (1D only: profiles and tiles, O(len))."""
    if den == 1 or not np.any(num % den):
        out = num // den
        return out.astype(np.int64) if all(abs(int(v)) < _INT64_SAFE for v in (out.min(), out.max())) else out
    return np.array([Fraction(int(v), den) for v in num.ravel()], dtype=object).reshape(num.shape)


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


def _bits(op: AxisOp) -> int:
    """Bits a layer may add to the largest exact numerator: sums of k taps, or (2s) for bilinear weights; for a
    'map', its tap numerators' largest sum and its denominator."""
    if op.kind == "map":
        return sum(m.gain.bit_length() + m.denominator.bit_length() for m in op.maps)
    if op.kind in ("transposed", "conv"):
        return max(int(op.kernel) - 1, 0).bit_length()
    return (2 * op.stride).bit_length() if op.kind == "linear" else 0


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
        bits += _bits(op)
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
        x, den = _profile_step(op, x, den)
    return x, den


def _profile_cost(ops: list[AxisOp], n: int) -> int:
    cost, bits = 0, 0
    for op in ops:
        bits += _bits(op)
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
    return _exact(*_profile(stack, size[0], 0)), _exact(*_profile(stack, size[1], 1))


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
        bits += sum(_bits(op) for op in _axis_ops(stack, axis))
    check(array_bytes(oh * ow, bits), MAX_BYTES, f"the bytes of the exact {oh}x{ow} map",
          "use a smaller input_size")
    return h, w


def overlap_map(stack, input_size) -> np.ndarray | RationalArray:
    """Exact overlap counts of `stack` on an (H, W) input: outer product of the two 1D profiles.

    An int64 array while the counts fit (an object array of Python ints beyond); a `RationalArray` (integer
    numerators over one common denominator, never a Fraction per pixel) when bilinear weights make them
    rational. O(H*W) time and memory, within the budget of `MAX_BYTES`."""
    stack = as_stack(stack)
    h, w = check_map(stack, input_size)
    (rows, rden), (cols, cden) = (_reduced(*_profile(stack, n, axis)) for axis, n in enumerate((h, w)))
    if rows.dtype == cols.dtype == np.int64 and int(rows.max()) * int(cols.max()) < _INT64_SAFE:
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


def _reach_step(op: AxisOp, a: int, b: int) -> tuple[int, int]:
    """(a, b) after one layer: how many output samples at the start / end of a long profile may differ from
    the periodic interior, given (a, b) of its input.

    A sample is clean when every tap it reads is clean and inside the input: transposed
    a' = a*s + (k-1)*d - pad_before, conv a' = ceil((a + pad_before) / s), nearest a' = a*s, bilinear
    a' = a*s + s//2 (its clamp), and the mirror image at the end (bilinear: b' = b*s + s). An upper bound:
    the measured borders (`_sweep`) are at most this."""
    k, s, pb, pa, d = op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation
    if op.kind == "map":
        for m in op.maps:
            a, b = m.reach(a, b)
        return a, b
    if op.kind == "transposed":
        return max(0, a * s + (k - 1) * d - pb), max(0, b * s + (k - 1) * d - pa)
    if op.kind == "conv":
        return -(-(a + pb) // s), -(-(b + pa) // s)
    if op.kind == "repeat":
        return a * s, b * s
    if op.kind == "linear":
        return a * s + s // 2, b * s + s
    return a, b


def _long_enough(ops: list[AxisOp], needs: list[int], n: int) -> bool:
    """Whether an input of length n gives every prefix an output of at least its need. O(layers)."""
    for op, need in zip(ops, needs, strict=True):
        n = op.output_length(n)
        if n < max(need, 1):
            return False
    return True


def _sweep(stack: Stack, axis: int, every: bool) -> list[AxisPattern]:
    """The AxisPattern of stack[:i+1] along `axis` for every prefix i (`every`), or of the whole stack only.

    One period is propagated through the layers (`_tile_step`), and the borders are measured exactly on
    profiles of one input length n long enough that, for every measured prefix, the two ends cannot interact
    (output >= a + b + one period, `_reach_step`). The start then does not depend on n; the end depends on n
    modulo the product Q of the conv strides, so `after` is the maximum over Q consecutive lengths: the
    interior bounds hold for every input size that has an interior. All prefixes share the profiles, so
    the whole sweep costs O(layers * (P + Q * L)) for period P and output length L, budgeted first."""
    ops = _axis_ops(stack, axis, spatial=False)
    _check_axis(ops, axis)
    measured = range(len(ops)) if every else range(len(ops) - 1, len(ops))
    tiles, c, den = [], np.ones(1, dtype=np.int64), 1
    reach, a, b = [], 0, 0
    for op in ops:
        c, den = _tile_step(op, c, den)
        a, b = _reach_step(op, a, b)
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
            x, xden = _profile_step(op, x, xden)
            if i in edges:
                edges[i] = _measure((x, xden), tiles[i], reach[i], edges[i])
    out = []
    for i in measured:
        c, den = tiles[i]
        g = gcd(den, *map(int, c)) if den > 1 else 1
        tile = _minimal_period(_exact(c // g, den // g))
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
        bad = np.flatnonzero(_room(pnum, tden) * tden != _room(periodic, pden) * pden)
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
