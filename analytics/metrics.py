"""Artifact metrics of a simulated output: phase-mean tile, checkerboard contrast, energy at the artifact
frequencies. They are measured on the *interior* (boundary effects excluded) over whole *generic periods*.

Generic period. With arbitrary (random) weights each output phase gets its own sum of weights, so the
output of a constant input is periodic with the stack's generic period (per axis: multiplied by s at every
upsampler, divided by gcd(P, s) at every conv of stride s). The analytic `OverlapPattern.period` is the
minimal period of the all-ones case and divides it: an even pattern has period 1 x 1, yet random weights
on the same stack do paint a checkerboard. Metrics therefore use the generic period; for all-ones weights
their tile is the analytic tile repeated, and contrast and energy equal the analytic ones.

Interior. An output pixel is interior when no zero padding, cropping, missing tap or edge clamping
influences it, for any weights (`interiors`): it then equals the response to an infinite input. The
interior is trimmed at its bottom and right to whole periods, so every phase is averaged over the same
number of pixels and the artifact frequencies m/P fall exactly on DFT bins.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..kernels.phases import phase_moments
from .errors import CheckerlabError
from .layers import AxisOp
from .layers.kind import Kind
from .overlap import OverlapPattern, overlap_pattern, prefix_patterns
from .stack import Stack, _size_pair, as_stack

Edge = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Interior:
    """Where an output is periodic: its generic period (ph, pw) and ((top, bottom), (left, right)) borders."""

    period: tuple[int, int]
    edge: Edge


def _dirty_step(op: AxisOp, dirty: np.ndarray) -> np.ndarray:
    """One layer along one axis: which output samples can differ from the infinite-input response.

    A sample is dirty if a dirty input reaches it or if one of its taps falls on padding, outside the
    input, or on a clamped (bilinear edge) index."""
    if op.kind == "map":
        for m in op.maps:
            dirty = m.dirty(dirty)
        return dirty
    k, s, pb, pa, d = op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation
    n, out = len(dirty), op.output_length(len(dirty))
    if op.kind == "transposed":  # y[i*s + t*d - pb] += x[i]
        full = max((n - 1) * s + d * (k - 1) + 1, pb + out)
        hits = np.zeros(full, np.int64)
        bad = np.zeros(full, bool)
        expected = np.zeros(full, np.int64)
        pos = np.arange(full)
        for t in range(k):
            hits[t * d: t * d + (n - 1) * s + 1: s] += 1
            bad[t * d: t * d + (n - 1) * s + 1: s] |= dirty
            expected += (pos - t * d) % s == 0
        return (bad | (hits < expected))[pb: pb + out]
    if op.kind == "conv":  # y[o] = sum_t x[o*s + t*d - pb], zero padding is dirty
        xp = np.concatenate([np.ones(pb, bool), dirty, np.ones(pa, bool)])
        y = np.zeros(out, bool)
        for t in range(k):
            y |= xp[t * d: t * d + (out - 1) * s + 1: s]
        return y
    if op.kind == "repeat":
        return np.repeat(dirty, s)
    if op.kind == "linear":  # src = (2o + 1 - s) / 2s; PyTorch clamps below 0 and at n - 1
        src = 2 * np.arange(out) + 1 - s
        i0 = src // (2 * s)
        clamped = (src < 0) | (i0 + 1 > n - 1)
        i0c = np.clip(i0, 0, n - 1)
        return clamped | dirty[i0c] | dirty[np.minimum(i0c + 1, n - 1)]
    return dirty


def _edge(dirty: np.ndarray) -> tuple[int, int]:
    """(before, after): dirty samples in the first half / second half, counted to the farthest one."""
    n = len(dirty)
    bad = np.flatnonzero(dirty)
    first, second = bad[bad < n // 2], bad[bad >= n // 2]
    return (int(first.max()) + 1 if first.size else 0, n - int(second.min()) if second.size else 0)


@functools.lru_cache(maxsize=64)
def _interiors(stack: Stack, size: tuple[int, int]) -> tuple[Interior, ...]:
    per_axis = []
    for axis, n in enumerate(size):
        dirty, period, rows = np.zeros(n, bool), 1, []
        for layer in stack:
            if isinstance(layer, Kind):  # its tap tables for this very length (size-dependent kinds too)
                maps = layer.axis_maps(axis, len(dirty))
                op = AxisOp("map", maps=maps) if maps else AxisOp("identity")
            else:
                op = layer.axis_op(axis)
            dirty = _dirty_step(op, dirty)
            if op.kind in ("transposed", "repeat", "linear"):
                period *= op.stride
            elif op.kind == "conv":
                period //= math.gcd(period, op.stride)
            for m in op.maps:
                period = m.step_out * period // math.gcd(period, m.step_in)
            rows.append((period, _edge(dirty)))
        per_axis.append(rows)
    return tuple(Interior((ph, pw), (eh, ew)) for (ph, eh), (pw, ew) in zip(*per_axis, strict=True))


def interiors(stack, input_size) -> list[Interior]:
    """Generic period and interior borders of the output of every layer, for an (H, W) input (cached)."""
    stack = as_stack(stack)
    size = _size_pair(input_size)
    stack.sizes(size)  # validates: non-empty outputs within the memory budget
    return list(_interiors(stack, size))


@functools.lru_cache(maxsize=64)
def _prefix_patterns(stack: Stack) -> tuple[OverlapPattern, ...]:
    return tuple(prefix_patterns(stack))


def layer_patterns(stack) -> list[OverlapPattern]:
    """`overlap_pattern(stack[:i+1])` for every layer i, in one sweep (`prefix_patterns`), cached per stack."""
    return list(_prefix_patterns(as_stack(stack)))


def _window(x: np.ndarray, period: tuple[int, int], edge: Edge) -> np.ndarray:
    """The interior of x trimmed at the bottom/right to whole periods (a view)."""
    (top, bottom), (left, right) = edge
    ph, pw = period
    h, w = x.shape[-2:]
    hi, wi = (h - top - bottom) // ph * ph, (w - left - right) // pw * pw
    if hi < ph or wi < pw:
        raise CheckerlabError(f"the interior of this {h}x{w} output (edges {edge}) holds no whole {ph}x{pw} "
                              "period; use a larger input")
    return x[..., top: top + hi, left: left + wi]


def _moments(x: np.ndarray, period: tuple[int, int], edge: Edge):
    """(phase sums, sum of squares per channel, pixels per phase) of x's interior (`_window`), float64; the
    sums indexed by (i mod ph, j mod pw) of the full output: one pass (`kernels.phases.phase_moments`)."""
    hi, wi = _window(x, period, edge).shape[-2:]
    top, left = edge[0][0], edge[1][0]
    sums, squares = phase_moments(x.reshape(-1, *x.shape[-2:]), top, left, hi, wi, period)
    sums = np.roll(sums, (top % period[0], left % period[1]), axis=(-2, -1)).reshape(*x.shape[:-2], *period)
    return sums, squares, hi * wi // (period[0] * period[1])


def phase_mean_tile(x: np.ndarray, period: tuple[int, int], edge: Edge = ((0, 0), (0, 0))) -> np.ndarray:
    """tile[a, b] = mean of x[..., i, j] over interior pixels with i mod ph = a and j mod pw = b.

    x is (H, W) -> (ph, pw), or (C, H, W) -> (C, ph, pw) per channel; float64. The interior is x without
    `edge` = ((top, bottom), (left, right)), trimmed at its bottom/right to whole periods."""
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise CheckerlabError(f"phase_mean_tile needs an (H, W) or (C, H, W) array, got shape {x.shape}")
    sums, _, count = _moments(x, (int(period[0]), int(period[1])), edge)
    return sums / count


@dataclass(frozen=True, eq=False)
class ArtifactMetrics:
    """Checkerboard metrics of one output.

    tile: phase means over the generic period, (C, ph, pw) (or (ph, pw) for a 2D output), float64.
    contrast: of the channel-mean tile T: max/min if T > 0 everywhere (the analytic `.contrast` for all-ones
        weights); min/max if T < 0 everywhere; 1 if T == 0; inf if T touches or crosses zero (a phase that
        gets nothing, like an analytic hole).
    modulation: (max T - min T) / mean |T|, finite for signed outputs (0 when flat or all zero).
    artifact_energy: energy of the interior's 2D DFT at the artifact frequencies (m/ph, n/pw), (m, n) != 0,
        over its total energy including DC, summed over channels; 0 for an all-zero output. For a periodic
        interior it is var(tile) / mean(tile^2) (Parseval), the analytic `analytic_energy(pattern)`.
    """

    tile: np.ndarray
    period: tuple[int, int]
    edge: Edge
    contrast: float
    modulation: float
    artifact_energy: float

    def to_dict(self) -> dict:
        """JSON-ready (inf becomes None)."""
        def num(v):
            return None if not math.isfinite(v) else float(v)
        return {"period": list(self.period), "edge": [list(e) for e in self.edge],
                "contrast": num(self.contrast), "modulation": num(self.modulation),
                "artifact_energy": num(self.artifact_energy),
                "tile": np.asarray(self.tile).tolist()}


def tile_contrast(tile: np.ndarray) -> float:
    """max/min of a positive tile, min/max of a negative one, 1 for all zeros, inf if it touches/crosses 0."""
    lo, hi = float(np.min(tile)), float(np.max(tile))
    if lo == hi == 0:
        return 1.0
    if lo > 0:
        return hi / lo
    if hi < 0:
        return lo / hi
    return math.inf


def tile_modulation(tile: np.ndarray) -> float:
    """(max - min) / mean |tile|; 0 for an all-zero tile."""
    scale = float(np.mean(np.abs(tile)))
    return 0.0 if scale == 0 else (float(np.max(tile)) - float(np.min(tile))) / scale


def measure(x: np.ndarray, period: tuple[int, int], edge: Edge) -> ArtifactMetrics:
    """`ArtifactMetrics` of x ((H, W) or (C, H, W)) for a given period and interior border."""
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise CheckerlabError(f"artifact metrics need an (H, W) or (C, H, W) array, got shape {x.shape}")
    period = (int(period[0]), int(period[1]))
    sums, squares, count = _moments(x, period, edge)
    tile = sums / count
    total = float(squares.sum())
    t3 = tile.reshape(-1, *period)
    artifact = float(np.sum((t3 - t3.mean(axis=(-2, -1), keepdims=True)) ** 2)) * count
    energy = 0.0 if total == 0 else min(1.0, artifact / total)
    mean_tile = t3.mean(axis=0)
    return ArtifactMetrics(tile, period, edge, tile_contrast(mean_tile), tile_modulation(mean_tile), energy)


def _infer_input_size(stack: Stack, out_hw: tuple[int, int]) -> list[list[int]]:
    """Per axis, every input length whose output length is the observed one."""
    found = []
    for axis, target in enumerate(out_hw):
        def out(n, axis=axis):
            try:
                return stack.lengths(n, axis)[-1]
            except CheckerlabError:
                return 0
        hi = 1
        while out(hi) < target and hi < 1 << 24:
            hi *= 2
        lo = 1
        while lo < hi:  # smallest n with out(n) >= target (output length is non-decreasing in n)
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if out(mid) < target else (lo, mid)
        ns = []
        while out(lo) == target:
            ns.append(lo)
            lo += 1
        if not ns:
            raise CheckerlabError(f"no input size gives an output of length {target} along {'HW'[axis]} "
                                  "for this stack")
        found.append(ns)
    return found


def artifact_metrics(x: np.ndarray, pattern: OverlapPattern | Stack | str, *,
                     input_size=None) -> ArtifactMetrics:
    """Phase-mean tile, contrast and artifact energy of an output x of `pattern.stack` (`ArtifactMetrics`).

    The interior comes from `interiors` for `input_size`, inferred from x's shape if not given, and is never
    smaller than the pattern's own interior."""
    if not isinstance(pattern, OverlapPattern):
        pattern = overlap_pattern(pattern)
    stack = pattern.stack
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise CheckerlabError(f"artifact metrics need an (H, W) or (C, H, W) array, got shape {x.shape}")
    if len(stack) == 0:
        return measure(x, (1, 1), ((0, 0), (0, 0)))
    if input_size is None:
        hs, ws = _infer_input_size(stack, x.shape[-2:])
        sizes = [(h, w) for h in hs for w in ws]
    else:
        sizes = [_size_pair(input_size)]
        if stack.output_size(sizes[0]) != x.shape[-2:]:
            raise CheckerlabError(f"input_size {sizes[0]} gives a {stack.output_size(sizes[0])} output, "
                                  f"not {x.shape[-2:]}")
    found = [interiors(stack, size)[-1] for size in sizes]
    edge = tuple(tuple(max([pattern.edge[a][e]] + [f.edge[a][e] for f in found]) for e in range(2))
                 for a in range(2))
    return measure(x, found[0].period, edge)


def analytic_energy(pattern: OverlapPattern) -> float:
    """Artifact energy fraction of the analytic tile: sum_{m != 0} |C(m)|^2 / sum_m |C(m)|^2
    = 1 - mean(tile)^2 / mean(tile^2), computed exactly then rounded.

    The tile is the outer product r x c of the axis tiles, so mean(tile) = mean(r) mean(c) and
    mean(tile^2) = mean(r^2) mean(c^2): exact Python-integer arithmetic in O(ph + pw)."""
    (mr, sr), (mc, sc) = (axis.moments() for axis in pattern.axes)
    mean, mean_sq = mr * mc, sr * sc
    return 0.0 if mean_sq == 0 else float(1 - mean * mean / mean_sq)
