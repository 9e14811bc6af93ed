"""Which input pixels and kernel taps feed one output pixel, through the whole stack, and where each input
pixel's kernel lands: the mathematics behind the explanation tab and the footprint overlay. Qt-free.

All-ones kernels (the overlap count): every layer is a 0/1 linear map per axis, A_l, and the 2D map is the
outer product of the two axes. The output pixel n = (i, j) receives from input pixel q exactly
w(q) = (A_1^T ... A_L^T e_n)[q] paths per axis, the product over the two axes in 2D, and the sum over q of
these path counts is the overlap count at n. Bilinear layers have rational weights; they are kept exact as
integers over a common denominator. Every step is O(k n) for a layer with k taps on an axis of n pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...analytics import CheckerlabError, Stack
from ...analytics.layers import AxisOp

#: Largest number of input pixels whose footprints are drawn at once.
MAX_FOOTPRINTS = 64


def _bilinear_source(n_in: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output o of a bilinear x s (align_corners=False): neighbours i0, i1 and the weight of i1 in 2s-ths."""
    out = np.arange(n_in * s)
    src = np.maximum(2 * out + 1 - s, 0)  # 2s * (source coordinate), clamped below at 0
    i0 = src // (2 * s)
    frac = src - i0 * 2 * s
    return np.minimum(i0, n_in - 1), np.minimum(i0 + 1, n_in - 1), frac


def backward(op: AxisOp, w: np.ndarray, n_in: int) -> tuple[np.ndarray, int]:
    """Path counts over the n_in input positions of one layer, given those over its outputs (w = A^T w_out):
    (integer weights, the factor by which this step scaled them: 2s for bilinear, else 1)."""
    k, s, pb, pa, d = op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation
    w = np.asarray(w, dtype=object)
    x = np.zeros(n_in, dtype=object)
    if op.kind == "transposed":  # y[i*s + t*d - pb] += x[i]
        i = np.arange(n_in)
        for t in range(k):
            target = i * s + t * d - pb
            valid = (target >= 0) & (target < len(w))
            x[valid] += w[target[valid]]
        return x, 1
    if op.kind == "conv":  # y[o] = sum_t xpad[o*s + t*d]
        padded = np.zeros(pb + n_in + pa, dtype=object)
        o = np.arange(len(w))
        for t in range(k):
            np.add.at(padded, o * s + t * d, w)
        return padded[pb: pb + n_in], 1
    if op.kind == "repeat":  # y[o] = x[o // s]
        return w.reshape(n_in, s).sum(axis=1), 1
    if op.kind == "linear":  # y[o] = ((2s - f) x[i0] + f x[i1]) / 2s
        i0, i1, frac = _bilinear_source(n_in, s)
        np.add.at(x, i0, (2 * s - frac) * w)
        np.add.at(x, i1, frac * w)
        return x, 2 * s
    return w.copy(), 1


def span(op: AxisOp, lo: int, hi: int, n_in: int) -> tuple[int, int] | None:
    """The output positions [lo', hi'] that input positions lo..hi reach through one layer (None: none)."""
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    n_out = op.output_length(n_in)
    if op.kind == "transposed":
        a, b = lo * s - pb, hi * s + d * (k - 1) - pb
    elif op.kind == "conv":  # outputs o with o*s + t*d - pb in [lo, hi] for some tap t
        a, b = -(-(lo + pb - d * (k - 1)) // s), (hi + pb) // s
    elif op.kind == "repeat":
        a, b = lo * s, hi * s + s - 1
    elif op.kind == "linear":
        i0, i1, frac = _bilinear_source(n_in, s)
        hit = np.flatnonzero(((i0 >= lo) & (i0 <= hi) & (frac < 2 * s)) | ((i1 >= lo) & (i1 <= hi) & (frac > 0)))
        if hit.size == 0:
            return None
        a, b = int(hit[0]), int(hit[-1])
    else:
        a, b = lo, hi
    a, b = max(a, 0), min(b, n_out - 1)
    return (a, b) if a <= b else None


@dataclass(frozen=True, eq=False)
class Level:
    """The path counts per axis over one level of the stack (0 = the input), exact: weights / denominator."""

    label: str
    rows: np.ndarray  # object array of ints
    cols: np.ndarray
    denominator: int = 1

    def weights(self) -> np.ndarray:
        """The 2D path counts (rows ⊗ columns) as exact values (ints, or Fractions with bilinear layers)."""
        w = np.multiply.outer(self.rows, self.cols)
        return w if self.denominator == 1 else np.vectorize(lambda v: Fraction(int(v), self.denominator))(w)


@dataclass(frozen=True, eq=False)
class Taps:
    """The kernel taps of one layer that lie on a path to the pixel: per axis the tap indices used."""

    index: int
    kind: str
    kernel: tuple[int, int]
    rows: tuple[int, ...]
    cols: tuple[int, ...]


def _axis_ops(stack: Stack, axis: int) -> list[tuple[int, AxisOp]]:
    return [(i, layer.axis_op(axis)) for i, layer in stack.spatial_layers]


def explain(stack: Stack, input_size: tuple[int, int], pixel: tuple[int, int]) -> tuple[list[Level], list[Taps]]:
    """For output pixel (i, j) of `stack` on an (H, W) input: the path counts over every level, from the
    output back to the input (levels[0] is the input), and the taps of each spatial layer on those paths."""
    sizes = stack.sizes(input_size)  # validates
    spatial = [i for i, _ in stack.spatial_layers]
    bounds = [sizes[0]] + [sizes[i + 1] for i in spatial]  # per spatial level: (H, W)
    per_axis = []
    for axis in (0, 1):
        ops = _axis_ops(stack, axis)
        n = bounds[-1][axis]
        if not 0 <= pixel[axis] < n:
            raise CheckerlabError(f"pixel {pixel} is outside the {bounds[-1][0]}x{bounds[-1][1]} output")
        w = np.zeros(n, dtype=object)
        w[pixel[axis]] = 1
        levels, dens = [w], [1]
        for (_, op), lengths in zip(reversed(ops), reversed(bounds[:-1]), strict=True):
            w, den = backward(op, w, lengths[axis])
            levels.append(w)
            dens.append(dens[-1] * den)
        per_axis.append((levels[::-1], dens[::-1]))
    (rows, rden), (cols, cden) = per_axis
    labels = ["input"] + [f"after layer {i} ({stack[i].type})" for i in spatial]
    levels = [Level(label, r, c, rd * cd) for label, r, c, rd, cd in zip(labels, rows, cols, rden, cden, strict=True)]
    taps = []
    for level, (index, layer) in enumerate(stack.spatial_layers):
        if layer.type not in ("ConvTranspose2d", "Conv2d"):
            continue
        used = []
        for axis, (ws, _) in enumerate(per_axis):
            op = layer.axis_op(axis)
            used.append(_taps_on_path(op, ws[level], ws[level + 1]))
        taps.append(Taps(index, layer.type, tuple(layer.kernel_size), *used))
    return levels, taps


def _taps_on_path(op: AxisOp, w_in: np.ndarray, w_out: np.ndarray) -> tuple[int, ...]:
    """Taps t joining an input position and an output position that both carry paths."""
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    ins = set(np.flatnonzero(w_in != 0).tolist())
    outs = set(np.flatnonzero(w_out != 0).tolist())
    if op.kind == "transposed":  # input i writes output i*s + t*d - pb
        return tuple(t for t in range(k) if any(i * s + t * d - pb in outs for i in ins))
    return tuple(t for t in range(k) if any(o * s + t * d - pb in ins for o in outs))  # conv: o reads o*s + t*d - pb


def footprints(stack: Stack, input_size: tuple[int, int], sources: list[tuple[int, int]],
               limit: int = MAX_FOOTPRINTS) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) output rectangle reached by each input pixel of `sources` (the first
    `limit`): where its kernel lands through the whole stack, so that overlapping footprints show where the
    counts accumulate."""
    sizes = stack.sizes(input_size)
    rects = []
    for qi, qj in sources[:limit]:
        rect = []
        for axis, q in ((0, qi), (1, qj)):
            lo = hi = q
            for (index, op) in _axis_ops(stack, axis):
                reached = span(op, lo, hi, sizes[index][axis])
                if reached is None:
                    break
                lo, hi = reached
            else:
                rect += [lo, hi]
                continue
            break
        if len(rect) == 4:
            rects.append(tuple(rect))
    return rects


def stamps(op_rows: AxisOp, op_cols: AxisOp, in_shape: tuple[int, int]) -> tuple[list, list]:
    """For a transposed convolution: per input row (column) the output rows (columns) its all-ones kernel
    writes, cropped to the output. The scatter animation adds value x[a, b] at rows[a] x cols[b]."""
    out = []
    for op, n in ((op_rows, in_shape[0]), (op_cols, in_shape[1])):
        if op.kind != "transposed":
            raise CheckerlabError("the scatter animation stamps the kernels of a ConvTranspose2d")
        n_out = op.output_length(n)
        hits = []
        for i in range(n):
            pos = np.array([i * op.stride + t * op.dilation - op.pad_before for t in range(op.kernel)])
            hits.append(pos[(pos >= 0) & (pos < n_out)])
        out.append(hits)
    return out[0], out[1]
