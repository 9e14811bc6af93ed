"""Convolutions as matrix products (BLAS through ``numpy.matmul``), for many channels.

`Lowering` (below) runs any dense conv2d / conv_transpose2d as im2col blocks and products, as jobs of the
kernels' threads. `pointwise` is the case with nothing to unroll, as one product per image on BLAS's own threads.

Two convolutions have no taps to unroll: a 1x1 `conv2d` (stride 1, no padding) and a `conv_transpose2d` whose
kernel equals its stride (``k == s``, no padding, dilation 1: every output pixel gets exactly one tap, as in
U-Net's 2x2 "up-convolutions"). Per image n and group g (C_ig input, C_og output channels, X = x[n, g] as a
(C_ig, H*W) matrix, a view):

    conv2d 1x1:        Y = W (C_og, C_ig) @ X,          y[n, g] = act(Y + bias)            (Y written into y)
    transposed k == s: Y = W^T (C_og*kH*kW, C_ig) @ X,  y[n, o, i*s_h + t_h, j*s_w + t_w] = act(Y[(o, t_h, t_w),
                       (i, j)] + bias[o])                                                  (W^T is a view)

so the whole work is one sgemm/dgemm per image and group at BLAS speed (70-90 % of the machine's sgemm peak
for 32+ channels), plus one pass over the output for bias, activation and (transposed) the pixel-shuffle
scatter. No input or weight is copied. Cost: O(C_out/groups * C_in * H * W * kH * kW) multiply-adds, as the
direct formula. BLAS runs on its own threads, so `conv.py` uses this only when it cannot hold numpy's BLAS to
one thread per job (not a bundled OpenBLAS) and the caller allows every core; otherwise `Lowering` runs these
ops too, its columns read from x itself: OpenBLAS's static two-thread split waits for a descheduled worker
(measured on this 2-core machine under load: a 1x1 conv of 4x128x8x8 took 20 ms instead of 0.1 ms).
"""

import math
import threading

import numpy as np
from numba import njit

from .activations import IDENTITY, activate, activate_in_place
from .jit import FASTMATH
from .threads import blas_serial, num_threads, parallel_for, serial_blas


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _epilogue(lo, hi, prod, y, pre, n, o0, b, code, table, kh, kw):
    """Jobs lo..hi-1 = output channels o0 + job. ``prod`` is (C_og*kh*kw, H*W) in rows (o, t_h, t_w):
    ``y[n, o, i*kh + t_h, j*kw + t_w] = act(prod[(q, t_h, t_w), i*W + j] + b[o])``; for kh = kw = 1 ``prod`` is
    y[n, o0:] itself (the product was written in place). ``pre`` (unless empty) receives the value before the
    activation."""
    h_in, w_in = y.shape[2] // kh, y.shape[3] // kw
    plane = h_in * w_in
    keep_pre = pre.shape[0] > 0
    for q in range(lo, hi):
        o = o0 + q
        bo = b[o]
        for th in range(kh):
            for tw in range(kw):
                src = prod[(q * kh + th) * kw + tw]
                for k in range(plane):
                    src[k] += bo
                if kh == 1 and kw == 1:
                    if keep_pre:
                        dst = pre[n, o].reshape(plane)
                        for k in range(plane):
                            dst[k] = src[k]
                    if code != IDENTITY:
                        out = y[n, o].reshape(plane)
                        activate(code, table[o, 0], table[o, 1], src, 0, out, 0, plane)
                    continue
                for i in range(h_in):
                    row = src[i * w_in : (i + 1) * w_in]  # slices: indices from 0 vectorise
                    if keep_pre:
                        dst = pre[n, o, i * kh + th, tw:]
                        for j in range(w_in):
                            dst[kw * j] = row[j]
                    if code != IDENTITY:
                        activate_in_place(code, table[o, 0], table[o, 1], row, 0, w_in)
                    dst = y[n, o, i * kh + th, tw:]
                    for j in range(w_in):
                        dst[kw * j] = row[j]


def pointwise(x, w, b, y, pre, code, table, groups, transposed, zeros):
    """``y`` (and ``pre``) of a 1x1 conv2d (``transposed`` False, w: (C_out, C_ig, 1, 1)) or of a transposed
    convolution with kernel == stride (w: (C_in, C_og, kH, kW)), see the module docstring. ``b`` None: no
    bias (``zeros`` where one is needed); a 1x1 conv without bias or activation is then the product alone,
    with no pass over the output."""
    n_batch, c_in, h_in, w_in = x.shape
    c_ig = c_in // groups
    c_og = y.shape[1] // groups
    kh, kw = (w.shape[2], w.shape[3]) if transposed else (1, 1)
    prod = np.empty((c_og * kh * kw, h_in * w_in), x.dtype) if kh * kw > 1 else None
    for n in range(n_batch):
        for g in range(groups):
            xg = x[n, g * c_ig : (g + 1) * c_ig].reshape(c_ig, h_in * w_in)
            if transposed:  # W^T: rows (o, t_h, t_w), a view
                wg = w[g * c_ig : (g + 1) * c_ig].reshape(c_ig, c_og * kh * kw).T
            else:
                wg = w[g * c_og : (g + 1) * c_og].reshape(c_og, c_ig)
            out = prod if prod is not None else y[n, g * c_og : (g + 1) * c_og].reshape(c_og, h_in * w_in)
            np.matmul(wg, xg, out=out)
            if b is None and code == IDENTITY and pre.shape[0] == 0 and prod is None:
                continue  # the product is the output
            # one thread: BLAS's own workers spin for a while after the product and would slow a helper
            parallel_for(_epilogue, c_og, 1, out, y, pre, n, g * c_og, zeros if b is None else b, code, table,
                         kh, kw)


# ------------------------------------------------------------------ dense convolutions: im2col + matrix product
COL_BYTES = 1 << 21  # the column block of one job at most (and its product): stays in L2; fixed, see `Lowering`
SPLIT_COLS = 512  # a job is cut into fewer plane rows, down to this many columns, to give every thread work ...
SPLIT_ROWS = 32  # ... then into output-channel blocks of at least this many rows


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _columns(xs, plane, c_ig, offs, start, length, col):
    """The im2col block of one plane from the staged input (`gather._stage`, ``plane`` elements per channel):
    ``col[c*T + a, l] = xs[c*plane + offs[a] + start + l]`` for ``l < length``: one contiguous copy per row
    (the plane's pixels at the staging pitch, see `Lowering`). O(C_ig * T * length)."""
    nt = offs.shape[0]
    for c in range(c_ig):
        for a in range(nt):
            first = c * plane + offs[a] + start
            src = xs[first : first + length]  # slices: indices from 0 vectorise
            dst = col[c * nt + a]
            for i in range(length):
                dst[i] = src[i]


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _scatter(prod, y, pre, b, code, table, n, o0, m0, m_rows, j0, m_w, pitch, r_h, r_w, so_h, so_w):
    """The epilogue of a lowered block: ``y[n, o0 + q, r_h + so_h*(m0 + i), r_w + so_w*(j0 + j)] = act(prod[q,
    i*pitch + j] + b[o0 + q])`` for ``i < m_rows``, ``j < m_w`` (the columns between are dropped); ``pre``,
    unless empty, receives the value before the activation. ``prod`` is overwritten. O(rows of prod * m_rows *
    m_w)."""
    keep_pre = pre.shape[0] > 0
    for q in range(prod.shape[0]):
        o = o0 + q
        bo = b[o]
        for i in range(m_rows):
            src = prod[q, i * pitch : i * pitch + m_w]
            for k in range(m_w):
                src[k] += bo
            row = r_h + so_h * (m0 + i)
            for out in range(1 - keep_pre, 2):  # 0: the pre-activation copy, 1: the output
                if out == 1 and code != IDENTITY:
                    activate_in_place(code, table[o, 0], table[o, 1], src, 0, m_w)
                dst = (y if out == 1 else pre)[n, o, row, r_w + so_w * j0 :]
                if so_w == 1:
                    for k in range(m_w):
                        dst[k] = src[k]
                else:
                    for k in range(m_w):
                        dst[so_w * k] = src[k]


_local = threading.local()
SCRATCH_KEPT = 8 * COL_BYTES  # a thread keeps its scratch buffer up to this size between calls


def _scratch(dtype, *sizes):
    """Arrays of ``sizes`` elements of ``dtype`` carved (64-byte aligned) from this thread's scratch buffer,
    which is kept between calls (up to SCRATCH_KEPT bytes: fresh pages cost a fault each, as much as the
    copies themselves). A thread runs one job at a time, so its buffer is never shared."""
    itemsize = np.dtype(dtype).itemsize
    spans = [-(-n * itemsize // 64) * 64 for n in sizes]
    need = sum(spans)
    buf = getattr(_local, "buf", None)
    if buf is None or buf.size < need:
        buf = np.empty(need + 64, np.uint8)
        if need <= SCRATCH_KEPT:
            _local.buf = buf
    start = -buf.ctypes.data % 64
    out = []
    for n, span in zip(sizes, spans, strict=True):
        out.append(buf[start : start + n * itemsize].view(dtype))
        start += span
    return out


class Lowering:
    """A convolution as matrix products (im2col + GEMM): the plan of one shape.

    The output *planes* and the staged input are those of `kernels.gather` (a conv2d has one plane, a
    transposed convolution with stride s has s_h * s_w: its polyphase components, no multiply on inserted
    zeros). A job owns one image, group, block of plane rows and block of output channels: it stages the
    input rows (`gather._stage`: zero padding, stride phases, row pitch P), so that tap ``a`` of a plane
    reads the staged channel at a fixed offset; the im2col block is then one contiguous copy per
    (channel, tap), and with X that (C_ig*T, L) block, L = (rows - 1)*P + M_w pixels at the pitch,

        Y (C_og, L) = W_p (C_og, C_ig*T) @ X,    y = act(Y + bias)   (`_columns`, np.matmul, `_scatter`),

    the P - M_w columns between rows computed and dropped (a 3x3 conv on 32 columns: 6 % more products).
    ``W_p`` is a view of the conv2d weight, a gathered copy (C_out * C_ig * T values) of the transposed one.
    `threads.parallel_for` shares the jobs, each thread running its products on one BLAS thread
    (`threads.serial_blas`). Memory: each thread keeps one column block and one product block of at most
    ``COL_BYTES`` each whatever the image size (a plane row wider than that is cut into column windows), and
    one staged block of at most ``COL_BYTES`` or, for very wide rows, the input rows one output row reads.
    Cost: the direct formula's multiply-adds (times P / M_w) at the BLAS product's speed, plus one copy of the
    input per tap (at memory-copy speed, in L2) and one pass over the output. Measured (one thread, 3x3 conv,
    4x128x32x32): the product takes 85 % of the time, the staging, columns and epilogue the rest."""

    __slots__ = ("transposed", "groups", "c_og", "c_ig", "geo", "planes", "offsets", "n_batch", "rows", "windows",
                 "serial", "parallel", "col_size", "prod_size", "stage_size", "pointwise")

    def __init__(self, transposed, groups, c_og, c_ig, planes, n_batch, geo, halo, itemsize, min_jobs,
                 pointwise=False):
        """``planes`` and ``geo`` (PITCH, SI_H, SI_W, STAGE_TOP, PAD_T, PAD_L, SO_H, SO_W) as `conv._plan`
        gives them to the direct kernel; ``halo``: staged rows beyond a block's own. ``pointwise``: a 1x1
        conv2d or a transposed conv with kernel == stride (no padding, one tap per plane reading x[i, j]):
        the column block is then a view of x itself, nothing staged or copied."""
        self.pointwise = pointwise
        from . import gather as g_
        self.transposed, self.groups, self.c_og, self.c_ig, self.n_batch = transposed, groups, c_og, c_ig, n_batch
        pitch, si = int(geo[g_.PITCH]), int(geo[g_.SI_H] * geo[g_.SI_W])
        k_max = max(1, c_ig * max(len(p[4]) for p in planes))
        if pointwise:  # no column block: the product block alone is bounded
            k_max, pitch = c_og, planes[0][3]
        m_max = max(1, max(p[2] for p in planes))
        # plane rows per job: the column block within COL_BYTES
        self.rows = max(1, min(m_max, COL_BYTES // (k_max * pitch * itemsize)))
        # column windows of a row when one row of columns exceeds COL_BYTES (then a job owns one row)
        width = pitch if k_max * pitch * itemsize <= COL_BYTES else max(16, COL_BYTES // (max(k_max, c_og) * itemsize))
        self.windows = [(j, min(pitch, j + width)) for j in range(0, pitch, width)]
        self.geo = geo.copy()
        self.geo[g_.ROWS_Q] = self.rows + halo
        self.planes = [(r_h, r_w, m_h, m_w, np.array([t[1] for t in taps], np.int64),
                        np.array([t[2] for t in taps], np.int64)) for r_h, r_w, m_h, m_w, taps in planes]
        rows_q = self.rows + halo
        self.offsets = [np.array([(a * rows_q + i) * pitch + j for (a, i, j), _, _ in taps], np.int64)
                        for _, _, _, _, taps in planes]
        self.stage_size = c_ig * si * rows_q * pitch
        self.serial = self._jobs(m_max, pitch, 1)
        self.parallel = self._jobs(m_max, pitch, min_jobs)
        cols = self.rows * pitch if len(self.windows) == 1 else width
        self.col_size = 0 if pointwise else k_max * cols
        self.prod_size = c_og * cols
        if pointwise:
            self.stage_size = 0

    def _jobs(self, m_max, pitch, min_jobs):
        """[(image, group, plane-row block start, rows, column window start, end, first output channel, end)]:
        blocks of ``self.rows``
        rows, cut shorter (down to SPLIT_COLS columns) and then into output-channel blocks (of at least
        SPLIT_ROWS) until there are ``min_jobs``."""
        rows = self.rows
        base = self.n_batch * self.groups
        if base * -(-m_max // rows) < min_jobs:
            want = -(-min_jobs // base)
            rows = max(1, min(rows, max(-(-SPLIT_COLS // pitch), -(-m_max // want))))
        n_rb = -(-m_max // rows)
        n_ob = max(1, min(-(-min_jobs // (base * n_rb)), self.c_og // SPLIT_ROWS))
        return [(n, g, rb * rows, rows, j0, j1, self.c_og * ob // n_ob, self.c_og * (ob + 1) // n_ob)
                for n in range(self.n_batch) for g in range(self.groups) for rb in range(n_rb)
                for j0, j1 in self.windows for ob in range(n_ob)]

    def weights(self, w):
        """Per plane and group, the (C_og, C_ig*T) matrix of `_columns`' row order (c, a)."""
        c_og, c_ig = self.c_og, self.c_ig
        if not self.transposed:  # (C_out, C_ig, kH, kW): rows (c, t_h, t_w), a view (one plane, every tap)
            flat = w.reshape(w.shape[0], -1)
            return [[flat[g * c_og : (g + 1) * c_og] for g in range(self.groups)]]
        return [[np.ascontiguousarray(w[g * c_ig : (g + 1) * c_ig][:, :, t_h, t_w].transpose(1, 0, 2))
                 .reshape(c_og, c_ig * len(t_h)) for g in range(self.groups)] for _, _, _, _, t_h, t_w in self.planes]

    def run(self, x, w, b, y, pre, code, table, threads):
        """``y`` (and ``pre``) of the planned op on x, w, b (see the class docstring), on ``threads``."""
        mats = self.weights(w)
        jobs = self.serial if threads == 1 else self.parallel
        with serial_blas() as ours:
            parallel_for(self._job, len(jobs), threads if ours else 1, x, mats, b, y, pre, code, table, jobs)

    def _job(self, lo, hi, x, mats, b, y, pre, code, table, jobs):
        """Jobs lo..hi-1: stage, columns, product, epilogue, in this thread's scratch buffers."""
        from . import gather as g_
        geo = self.geo
        row_size = int(geo[g_.PITCH] * geo[g_.SI_W]) if geo[g_.SI_W] > 1 else 1
        xs, row, col_buf, prod_buf = _scratch(x.dtype, self.stage_size, row_size, self.col_size, self.prod_size)
        xs[:] = 0  # the padding columns stay zero from job to job (see gather._stage)
        row[:] = 0
        c_ig, c_og, pitch = self.c_ig, self.c_og, int(geo[g_.PITCH])
        so_h, so_w, stage_top = int(geo[g_.SO_H]), int(geo[g_.SO_W]), int(geo[g_.STAGE_TOP])
        stage_geometry = (pitch, *(int(geo[i]) for i in (g_.ROWS_Q, g_.SI_H, g_.SI_W, g_.PAD_T, g_.PAD_L)))
        plane_size = self.stage_size // c_ig
        staged = None
        for n, g, m0, rows, j0, j1, ob0, ob1 in jobs[lo:hi]:
            if self.pointwise:
                xg = x[n, g * c_ig : (g + 1) * c_ig].reshape(c_ig, -1)
            elif staged != (n, g, m0):
                g_._stage(x, n, g * c_ig, c_ig, m0 - stage_top, xs, row, *stage_geometry)
                staged = (n, g, m0)
            for p, (r_h, r_w, m_h, m_w, _, _) in enumerate(self.planes):
                m_rows = min(rows, m_h - m0)
                j_end = min(j1, m_w)
                if m_rows <= 0 or j_end <= j0:
                    continue
                offs = self.offsets[p]
                length = (m_rows - 1) * pitch + j_end - j0  # one row when j0 > 0 (a column window)
                prod = prod_buf[: (ob1 - ob0) * length].reshape(ob1 - ob0, length)
                if self.pointwise:  # the pixels of x at its own pitch: a view, its rows H*W apart
                    col = xg[:, m0 * pitch + j0 : m0 * pitch + j0 + length]
                else:
                    col = col_buf[: c_ig * len(offs) * length].reshape(c_ig * len(offs), length)
                    _columns(xs, plane_size, c_ig, offs, j0, length, col)
                np.matmul(mats[p][g][ob0:ob1], col, out=prod)
                _scatter(prod, y, pre, b, code, table, n, g * c_og + ob0, m0, m_rows, j0, j_end - j0, pitch, r_h, r_w,
                         so_h, so_w)


# ------------------------------------------------------------------ plain products on the kernels' threads
PRODUCT_JOB = 1 << 21  # multiply-adds per job of `matmul` at least (smaller products run on the caller alone)


def _product_rows(lo, hi, a, b, out, rows):
    """Jobs lo..hi-1 of `matmul`: (batch index, first row) blocks, each one BLAS product."""
    for job in range(lo, hi):
        i, r0 = divmod(job, rows[1])
        r0 *= rows[0]
        np.matmul(a[i, r0 : r0 + rows[0]], b[i], out=out[i, r0 : r0 + rows[0]])


def matmul(a, b):
    """``np.matmul(a, b)`` (NumPy's broadcasting; b is cast to a's dtype) with its BLAS products as jobs of
    the kernels' threads, each on one BLAS thread (`threads.serial_blas`): blocks of rows of every product
    of the batch, at least PRODUCT_JOB multiply-adds each. Without control of numpy's BLAS threads it is
    np.matmul itself. Same values as np.matmul (each output row is one BLAS dot of its own). Cost O(B*M*K*N)."""
    b = b.astype(a.dtype, copy=False)
    if a.ndim < 2 or b.ndim < 2 or not blas_serial():
        return np.matmul(a, b)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if b.ndim == 2 and a.flags.c_contiguous:  # (..., M, K) @ (K, N): one tall product, rows shared
        a3, b3, m = a.reshape(1, -1, k), b[None], math.prod(a.shape[:-1])
    else:
        a3 = np.broadcast_to(a, (*lead, m, k)).reshape(-1, m, k)
        b3 = np.broadcast_to(b, (*lead, k, n)).reshape(-1, k, n)
    out = np.empty((a3.shape[0], m, n), np.result_type(a3, b3))
    block = max(1, min(m, PRODUCT_JOB // max(1, k * n)))
    per = -(-m // block)
    jobs = a3.shape[0] * per
    with serial_blas():
        parallel_for(_product_rows, jobs, num_threads() if jobs > 1 else 1, a3, b3, out, (block, per))
    return out.reshape(*lead, a.shape[-2], n) if not (b.ndim == 2 and a.flags.c_contiguous) else \
        out.reshape(*a.shape[:-1], n)
