"""Pointwise (1x1, unit stride, unpadded) convolutions with few channels: a register-blocked kernel that
reads x and writes y once, without staging.

A pointwise op is a matrix product per image and group, ``y[n, g*C_og + o, p] = b[o] + sum_c w[o, c] *
x[n, g*C_ig + c, p]`` over the flat plane ``p < H*W`` (a transposed op's weight is ``w[c, o]``). With many
channels BLAS runs it near its peak (`conv._pointwise`); with few it is a thin product that streams memory, and
every copy costs as much as the arithmetic: the general kernels stage their input (a second pass over x) and
pad 1-3 output channels to blocks of 4-8. Here a job is a chunk of one plane: per block of ``CB = 4`` output
channels, tiles of 4 vectors of positions hold their 16 accumulators across the input channels (4 masked
loads, 4 broadcast weights, 16 fused multiply-adds per channel), the bias starts them and the activation runs
on the chunk's rows while they are in cache.

Tiles run outer and the blocks of output channels inner: a tile of every input channel (4 vectors each, 32 KB
at 128 channels) stays in L1 while the blocks read it, and the weights stream from L2. With blocks outer
(each sweeping the chunk from L2) float32 2x32x128^2 took 0.51 against 0.36 ms, 2x64x64^2 0.51 against
0.32-0.42, float64 1x128x128^2 9.5 against 6.6-6.9 (2 threads, interleaved with torch: 0.36, 0.41, 4.7 ms).

Cost: O(N * C_out * C_in/groups * H * W) multiply-adds, one read of x (per tile, every block reads it from
L1) and one write of y: memory-bound below ~8 channels, at the bandwidth a copy of x and y takes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .activations import IDENTITY, activate_in_place
from .direct import Packing, store4
from .jit import FASTMATH, U
from .simd import lanes, splat4x4, vbcast, vfma, vload_n
from .threads import claim, run_jobs

CB = 4  # output channels per register block
VB = 4  # vectors of positions per register block
CHUNK = 1 << 13  # positions per job at most (then the plane is cut into more jobs)
MIN_CHUNK = 1 << 10  # ... and at least this many (shorter jobs pay their per-job overhead)

# meta vector of `_pointwise`
(M_G, M_CIN, M_CIG, M_COG, M_COUT, M_NCB, M_P, M_CHUNK, M_CHUNKS, M_PRE, M_L) = range(11)


@njit(nogil=True, cache=True, inline="always")
def _step(x, i0, i1, i2, i3, n0, n1, n2, n3, wpk, w0, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23,
          a30, a31, a32, a33):
    """One input channel of the block: 4 vectors of positions (lanes past n_j read as 0, nothing beyond them
    is touched) times the 4 channels' broadcast weights wpk[w0 + c] into the 16 accumulators a_cj."""
    v0, v1, v2, v3 = vload_n(x, i0, n0), vload_n(x, i1, n1), vload_n(x, i2, n2), vload_n(x, i3, n3)
    w = vbcast(wpk, w0)
    a00, a01, a02, a03 = vfma(v0, w, a00), vfma(v1, w, a01), vfma(v2, w, a02), vfma(v3, w, a03)
    w = vbcast(wpk, w0 + 1)
    a10, a11, a12, a13 = vfma(v0, w, a10), vfma(v1, w, a11), vfma(v2, w, a12), vfma(v3, w, a13)
    w = vbcast(wpk, w0 + 2)
    a20, a21, a22, a23 = vfma(v0, w, a20), vfma(v1, w, a21), vfma(v2, w, a22), vfma(v3, w, a23)
    w = vbcast(wpk, w0 + 3)
    a30, a31, a32, a33 = vfma(v0, w, a30), vfma(v1, w, a31), vfma(v2, w, a32), vfma(v3, w, a33)
    return a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _pointwise(jobs, x, wpk, bp, y, pre, code, table, meta):
    """The jobs (image, group, chunk of the plane) it claims (`threads.claim`): every block of 4 output
    channels over the chunk, then the activation on the chunk's outputs."""
    n_g, c_in, c_ig, c_og, c_out, ncb = meta[M_G], meta[M_CIN], meta[M_CIG], meta[M_COG], meta[M_COUT], meta[M_NCB]
    plane, chunk, n_chunks, has_pre, lv = meta[M_P], meta[M_CHUNK], meta[M_CHUNKS], meta[M_PRE], meta[M_L]
    while True:
        job = claim(jobs)
        if job < 0:
            break
        r = job // n_chunks
        n, g = r // n_g, r % n_g
        p0 = (job % n_chunks) * chunk
        p1 = min(plane, p0 + chunk)
        xb = (n * c_in + g * c_ig) * plane
        for t in range(p0, p1, VB * lv):  # a tile of every input channel stays in L1 across the channel blocks
            n0 = min(lv, p1 - t)
            n1, n2, n3 = min(lv, p1 - t - lv), min(lv, p1 - t - 2 * lv), min(lv, p1 - t - 3 * lv)
            for cb in range(ncb):
                wb = (g * ncb + cb) * c_ig * CB
                bb = (g * ncb + cb) * CB
                a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = splat4x4(bp, bb)
                i0 = xb + t
                for c in range(c_ig):
                    a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = _step(
                        x, i0, i0 + lv, i0 + 2 * lv, i0 + 3 * lv, n0, n1, n2, n3, wpk, wb + c * CB,
                        a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33)
                    i0 += plane
                for c in range(CB):
                    o = cb * CB + c
                    if o >= c_og:
                        break
                    d = (n * c_out + g * c_og + o) * plane + t
                    if c == 0:
                        store4(y, d, 0, lv, 2 * lv, 3 * lv, n0, n1, n2, n3, a00, a01, a02, a03)
                    elif c == 1:
                        store4(y, d, 0, lv, 2 * lv, 3 * lv, n0, n1, n2, n3, a10, a11, a12, a13)
                    elif c == 2:
                        store4(y, d, 0, lv, 2 * lv, 3 * lv, n0, n1, n2, n3, a20, a21, a22, a23)
                    else:
                        store4(y, d, 0, lv, 2 * lv, 3 * lv, n0, n1, n2, n3, a30, a31, a32, a33)
        if code != IDENTITY:  # the chunk's outputs while they are in cache
            for ch in range(g * c_og, (g + 1) * c_og):
                s = (n * c_out + ch) * plane + p0
                if has_pre:  # an index loop: a slice assignment compiles Numba's shape-mismatch message (1 s)
                    for i in range(s, s + p1 - p0):
                        pre[U(i)] = y[U(i)]
                activate_in_place(code, table[ch, 0], table[ch, 1], y, s, p1 - p0)


class Pointwise:
    """The pointwise route of one planned op (1x1 taps, unit stride, no padding; conv2d or conv_transpose2d,
    any groups): the job split into chunks of the planes, fixed by the shapes; `run` packs the weights
    (`direct.Packing`) and runs `_pointwise` on the kernels' threads. Chunks of at most CHUNK positions
    (whole vector tiles) and, where the batch and groups give fewer than ``min_jobs`` jobs, cut down to
    MIN_CHUNK positions to make that many."""

    def __init__(self, transposed, groups, c_in, c_og, out_shape, dtype, min_jobs):
        self.dtype = np.dtype(dtype)
        lv = lanes(self.dtype)
        n_batch, c_out, h, w = out_shape
        plane = h * w
        tile = VB * lv
        per_plane = max(1, -(-min_jobs // (n_batch * groups)))
        chunk = max(MIN_CHUNK, min(-(-plane // per_plane), -(-plane // -(-plane // CHUNK))))
        chunk = min(-(-chunk // tile) * tile, -(-plane // tile) * tile)
        n_chunks = -(-plane // chunk)
        ncb = -(-c_og // CB)
        self.meta = np.array([groups, c_in, c_in // groups, c_og, c_out, ncb, plane, chunk, n_chunks, 0, lv], np.int64)
        self.meta_pre = self.meta.copy()
        self.meta_pre[M_PRE] = 1
        self.n_jobs = n_batch * groups * n_chunks
        self.packing = Packing(transposed, groups, c_og, CB, [[(0, 0)]], 1, self.dtype)

    def run(self, x4, w, b, y, pre, code, table, threads):
        """y (and pre, the pre-activation output, when it is not empty) of the op on x4 (C-contiguous), w, b."""
        wpk, bp = self.packing(w, b)
        meta = self.meta_pre if pre.size > 0 else self.meta
        run_jobs(_pointwise, self.n_jobs, threads, x4.reshape(-1), wpk, bp, y.reshape(-1), pre.reshape(-1), code,
                 table, meta)
