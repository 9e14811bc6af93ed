"""Separable operators: ``y = A_H · x · A_Wᵀ`` per image plane, with sparse per-axis matrices ``A``.

Padding, nearest/linear/cubic/antialiased interpolation, average and adaptive pooling and StyleGAN2's
separable upfirdn2d all act on each spatial axis independently: output index ``o`` of an axis reads the input
indices ``idx[o, a]`` with weights ``w[o, a]`` for ``a < cnt[o]`` (a sparse matrix stored row by row, ELL
format). Max pooling is the same with ``max`` in place of the weighted sum. An :class:`Axis` holds one such
table; three kernels apply them to a stack of planes ``x[b, h, w]`` (``b`` runs over N*C):

- :func:`gather2d`: one-hot tables (``cnt = 1``, weight 1), a pure copy ``y[b, i, j] = x[b, r[i], c[j]]``;
- :func:`resample2d`: the W pass ``t[b, h, o] = Σ_a w[o, a] x[b, h, idx[o, a]]``, then the H pass over rows
  of ``t``; W first, as PyTorch's interpolation kernels nest their sums (so the rounding matches);
- the same with ``reduce='max'``: ``max_a`` with NaN propagating as in PyTorch's max pooling.

Tables whose rows are windows of consecutive inputs (pooling, antialiasing) take a unit-stride W loop;
general rows gather.

Every tap of a table is applied, including zero weights: PyTorch multiplies them too, so ``0 * inf = NaN``
appears exactly where it does in PyTorch. Cost O(B·H_in·W_out·T_w + B·H_out·W_out·T_h), T = taps per row.
The kernels are compiled lazily per dtype on first use and cached on disk; they release the GIL and run
parallel over rows of all planes.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from .jit import FASTMATH, U
from .threads import num_threads, parallel_for

SERIAL_WORK = 1 << 16  # elements below which a call runs on the calling thread alone
MIN_RUN = 32  # consecutive source columns that gather2d copies as one slice


def launch(kernel, n_jobs, work, *args):
    """``kernel(first, last, *args)`` over ``n_jobs`` jobs touching ``work`` elements, on the kernels' threads
    (`threads.parallel_for`: the caller's thread count, work stealing), and on the calling thread alone below
    ``SERIAL_WORK``: waking a helper then costs more than it saves. No Numba threading layer is involved, so
    no OpenMP workers spin beside the kernels' threads and BLAS products."""
    parallel_for(kernel, n_jobs, 1 if work < SERIAL_WORK else num_threads(), *args)


class Axis(NamedTuple):
    """One axis of a separable operator: ``out[o] = Σ_{a < cnt[o]} w[o, a] * in[idx[o, a]]``.

    ``idx`` (int64) and ``w`` (the data dtype) are ``(n_out, T)``, ``cnt`` is ``(n_out,)``; ``n_in`` is the
    input length the indices refer to. ``identity`` marks the table ``idx[o, 0] = o``, ``w = 1``, ``cnt = 1``,
    whose pass is skipped (a copy, exact for every value).
    """

    idx: np.ndarray
    w: np.ndarray
    cnt: np.ndarray
    n_in: int

    @property
    def n_out(self):
        return self.cnt.shape[0]

    @property
    def contiguous(self):
        """Every row reads consecutive inputs ``idx[o, 0] + a`` (windows, not gathers)."""
        a = np.arange(self.idx.shape[1])
        used = a < self.cnt[:, None]
        return bool(np.all((self.idx == self.idx[:, :1] + a) | ~used)) and bool(
            np.all(self.idx[:, 0] + self.cnt <= self.n_in))

    @property
    def identity(self):
        n = self.n_out
        return (n == self.n_in and self.idx.shape[1] == 1 and bool(np.all(self.cnt == 1))
                and bool(np.array_equal(self.idx[:, 0], np.arange(n))) and bool(np.all(self.w[:, 0] == 1)))


@njit(nogil=True, cache=True)
def _gather(first, last, x, rows, cols, run, y):
    # run = (j0, j1): cols[j] = cols[j0] + (j - j0) on [j0, j1), copied as one slice (a padding's interior)
    nb, nh, _ = y.shape
    j0, j1 = run[0], run[1]
    for r in range(first, last):
        b = r // nh
        xr = x[b, rows[r - b * nh]]
        yr = y[b, r - b * nh]
        for j in range(j0):
            yr[j] = xr[cols[j]]
        c0 = cols[j0] - j0 if j1 > j0 else 0  # a contiguous run: an index loop (a slice assignment compiles
        for j in range(j0, j1):  # Numba's shape-mismatch message, a second of the first compile)
            yr[U(j)] = xr[U(c0 + j)]
        ys, cs = yr[j1:], cols[j1:]  # loops from 0: no negative-index checks
        for j in range(ys.shape[0]):
            ys[j] = xr[cs[j]]


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _pass_w(first, last, x, idx, w, cnt, take_max, contiguous, y):
    nb, nh, _ = x.shape
    no = y.shape[2]
    for r in range(first, last):
        b = r // nh
        xr = x[b, r - b * nh]
        yr = y[b, r - b * nh]
        for o in range(no):
            c = cnt[o]
            if take_max:
                m = -np.inf
                for a in range(c):
                    v = xr[idx[o, a]]
                    if v > m or np.isnan(v):
                        m = v
                yr[o] = m
            elif contiguous:  # idx[o, a] = idx[o, 0] + a: unit-stride loads
                s = 0.0  # float64 accumulator: exact enough for any window length
                base = idx[o, 0]
                if c >= 16:  # long windows: slices from 0 let the loop vectorise
                    xs, ws = xr[base : base + c], w[o, :c]
                    for a in range(xs.shape[0]):
                        s += ws[a] * xs[a]
                else:
                    for a in range(c):
                        s += w[o, a] * xr[base + a]
                yr[o] = s
            else:
                s = 0.0
                for a in range(c):
                    s += w[o, a] * xr[idx[o, a]]
                yr[o] = s


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _pass_h(first, last, x, idx, w, cnt, take_max, y):
    nb, _, nw = x.shape
    no = y.shape[1]
    for r in range(first, last):
        b = r // no
        o = r - b * no
        yr = y[b, o]
        if take_max:
            for j in range(nw):
                yr[j] = -np.inf
            for a in range(cnt[o]):
                xr = x[b, idx[o, a]]
                for j in range(nw):
                    v = xr[j]
                    if v > yr[j] or np.isnan(v):
                        yr[j] = v
        else:
            for j in range(nw):
                yr[j] = 0
            for a in range(cnt[o]):
                wa = w[o, a]
                xr = x[b, idx[o, a]]
                for j in range(nw):
                    yr[j] += wa * xr[j]


def gather2d(x3, rows, cols):
    """``y[b, i, j] = x3[b, rows[i], cols[j]]`` for C-contiguous ``x3`` (B, H, W); an exact copy.

    ``rows``/``cols`` are int64 source indices (every one valid). O(B·H_out·W_out).
    """
    y = np.empty((x3.shape[0], rows.shape[0], cols.shape[0]), x3.dtype)
    if y.size:
        cols = np.ascontiguousarray(cols, np.int64)
        launch(_gather, y.shape[0] * y.shape[1], y.size, x3, np.ascontiguousarray(rows, np.int64), cols,
               _longest_run(cols), y)
    return y


def _longest_run(cols):
    """``[j0, j1)``, the longest stretch with ``cols[j + 1] = cols[j] + 1``, if it is worth a slice copy
    (at least ``MIN_RUN`` long), else empty."""
    step = np.flatnonzero(np.diff(cols) != 1)  # ends of the runs
    starts = np.concatenate([[0], step + 1])
    ends = np.concatenate([step + 1, [cols.size]])
    k = int(np.argmax(ends - starts))
    return np.array([starts[k], ends[k]] if ends[k] - starts[k] >= MIN_RUN else [0, 0], np.int64)


def resample2d(x3, ax_h, ax_w, reduce="sum"):
    """``y = A_H · x · A_Wᵀ`` per plane of the C-contiguous ``x3`` (B, H, W) (``reduce='sum'``), or the
    separable max ``y[b, i, j] = max_{a, c} x[b, idx_h[i, a], idx_w[j, c]]`` (``reduce='max'``, NaN wins,
    ``-inf`` for an empty window). The W pass runs first; identity axes are skipped."""
    take_max = reduce == "max"
    dtype, x_in = x3.dtype, x3
    if not ax_w.identity:
        t = np.empty((x3.shape[0], x3.shape[1], ax_w.n_out), dtype)
        if t.size:
            launch(_pass_w, t.shape[0] * t.shape[1], t.size * ax_w.idx.shape[1], x3, ax_w.idx,
                   ax_w.w.astype(dtype, copy=False), ax_w.cnt, take_max, ax_w.contiguous, t)
        x3 = t
    if not ax_h.identity:
        y = np.empty((x3.shape[0], ax_h.n_out, x3.shape[2]), dtype)
        if y.size:
            launch(_pass_h, y.shape[0] * y.shape[1], y.size * ax_h.idx.shape[1], x3, ax_h.idx,
                   ax_h.w.astype(dtype, copy=False), ax_h.cnt, take_max, y)
        x3 = y
    return x3.copy() if x3 is x_in else x3
