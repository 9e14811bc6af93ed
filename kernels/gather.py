"""The polyphase gather kernel behind conv_transpose2d, conv2d and bilinear upsampling.

Every spatial operator here computes output *planes*: a transposed convolution with stride ``s`` has
``s_h * s_w`` of them (its phases ``y[r_h + s_h*m_h, r_w + s_w*m_w]``), a convolution one. A job owns one
image, one group and one block of plane rows (and, when rows are few, a share of the output channels). It
first *stages* the input rows it needs into a small zero-padded buffer (in L2), split into the input's stride
phases for a strided convolution, so that inside a plane every tap reads the buffer at a fixed offset: with
the block flattened at the buffer's row pitch ``P`` (``l = m_h*P + m_w``)

    plane[o, l] = act(bias[o] + sum_{c, tap} w[o, c, tap] * xs[c*S + off(tap) + l])

is a sum of *contiguous* slices: no bounds tests, long vectors (the columns ``m_w >= M_w`` between rows are
computed and dropped). Each pass over a chunk of ``l`` adds 4 terms to 4 output channels (16 FMAs per 4 input
loads) in an accumulator that stays in L1; a depthwise block (one output channel per group) adds 4 terms to
its one channel. The epilogue (optional pre-activation copy, activation, write-back) runs on the accumulator
while it is in L1, so a fused activation costs no extra pass over memory. Jobs write disjoint outputs: no
races, no atomics.

Cost: exactly the multiplies of the direct formula, O(N * C_out * C_in/groups * kH*kW * H_out*W_out / s^2)
for a transposed convolution (none spent on inserted zeros), plus one staging copy of the input per job
(its rows plus a halo of kernel rows).

Compilation (see `kernels.jit`): one serial function per op and dtype (`_gather_for`: a convolution
compiles only its strided staging and row store, a transposed one only its phase store), compiled on first
use and cached on disk, ``nogil`` with the safe fastmath subset; `kernels.jit.parallel_for` runs ranges of
jobs on threads. The helpers are inlined into it (``inline="always"``): Numba compiles a called function
on its own *and* again inside each caller, so a helper of its own had cost its compile twice. The inner
loops are explicit vectors (`simd`, the last one masked), which LLVM need not version for aliasing. First
compile of a float32 op, empty cache, an AMD EPYC, median of 5: 5.75 s for the one function of both ops with
helpers of their own, now conv2d 4.26 s and conv_transpose2d 4.73 s (`benchmarks/bench_kernels.py` reports
them); the 98 gather-routed shapes of its grid run 0.87x their former time (geomean, both dtypes).
"""

import numpy as np
from numba import njit

from .activations import IDENTITY, activate_in_place
from .jit import FASTMATH, U
from .simd import copy_n, vfma, vload_n, vsplat, vstore_n
from .threads import claim, run_jobs, scratch, zeroed_row

BLOCK = 4  # output channels per pass (the register block of the inner loop)

# Layout of the int64 geometry vector `geo` (see `Geometry` in kernels/conv.py for the meaning).
(GROUPS, PITCH, CHUNK, ROWS, N_RB, N_OG, SO_H, SO_W, SI_H, SI_W, ROWS_Q, STAGE_TOP, PAD_T, PAD_L, TRANSPOSED,
 N_JOBS, DIRECT, STAGED, GEO_SIZE) = range(19)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), inline="always")
def _store_rows(acc, chunk, y, c_out, h_out, w_out, n, o0, nb, m0, l0, l_end, pitch):
    """Write the accumulator rows of one chunk of a convolution's one plane into ``y`` (flat): a row copy
    each (`simd.copy_n`), or one copy a channel when the plane's width is the pitch."""
    plane = h_out * w_out
    if w_out == pitch:  # the rows of y are the chunk's: one copy
        for q in range(nb):
            copy_n(y, (n * c_out + o0 + q) * plane + m0 * pitch + l0, acc, q * chunk, l_end - l0)
        return
    for mh in range(l0 // pitch, (l_end - 1) // pitch + 1):
        lo = max(0, l0 - mh * pitch)
        hi = min(w_out, l_end - mh * pitch)
        for q in range(nb):
            copy_n(y, (n * c_out + o0 + q) * plane + (m0 + mh) * w_out + lo, acc, q * chunk + mh * pitch - l0 + lo,
                   hi - lo)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), inline="always")
def _store_phases(acc, chunk, sizes, y, c_out, h_out, w_out, n, o0, nb, m0, l0, l_end, prow, p_r, p_m, pitch, so_h,
                  so_w):
    """Write the accumulator rows of one chunk of a transposed convolution's planes of row phase ``prow`` into
    ``y`` (flat), interleaving the column phases: a pair of phases (stride 2) in one pass."""
    r_h = p_r[prow * so_w, 0]
    plane = h_out * w_out
    for mh in range(l0 // pitch, (l_end - 1) // pitch + 1):
        lo = max(0, l0 - mh * pitch)
        shift = mh * pitch - l0
        row = r_h + so_h * (m0 + mh)
        hi0 = min(p_m[prow * so_w, 1], l0 + sizes[0] - mh * pitch)
        both = lo
        if so_w == 2:
            both = max(lo, min(hi0, p_m[prow * so_w + 1, 1], l0 + sizes[1] - mh * pitch))
        for q in range(nb):
            d = (n * c_out + o0 + q) * plane + row * w_out
            s = q * chunk + shift
            if so_w == 1:
                copy_n(y, d + lo, acc, s + lo, hi0 - lo)
                continue
            if so_w == 2:
                s1 = s + BLOCK * chunk
                for i in range(lo, both):
                    y[U(d + 2 * i)] = acc[U(s + i)]
                    y[U(d + 2 * i + 1)] = acc[U(s1 + i)]
            for rw in range(so_w):
                hi = min(p_m[prow * so_w + rw, 1], l0 + sizes[rw] - mh * pitch)
                if hi <= both:
                    continue
                r_w = p_r[prow * so_w + rw, 1]
                sr = s + rw * BLOCK * chunk
                for i in range(both, hi):
                    y[U(d + r_w + so_w * i)] = acc[U(sr + i)]


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), inline="always")
def _stage(x, n, c0, c_ig, base, xs, row, pitch, rows_q, si_h, si_w, pad_t, pad_l):
    """Copy input channels c0..c0+c_ig-1 of image n, rows of the job starting at plane row ``base``, into
    ``xs[c, a, b, i, j] = xpad[(base + i)*si_h + a, j*si_w + b]``, xpad = x shifted by (pad_t, pad_l) and
    zero outside. Unit stride: writes only the columns that can hold data (the caller zeroed ``xs`` once, so
    the padding columns stay zero from job to job). Strided: each input row is copied once into a zero-padded
    row, then split into its si_w column phases in one pass. O(c_ig * rows_q * pitch * si_h * si_w)."""
    h_in, w_in = x.shape[2], x.shape[3]
    xf = x.reshape(x.size)  # flat, indexed with unsigned integers (`direct._stage`): no slices, no wrap tests
    zero = xs.dtype.type(0)
    phase = rows_q * pitch  # elements per (a, b) phase of one channel
    # the columns j with 0 <= j - pad_l < w_in (unit stride)
    j_lo = min(pitch, pad_l)
    width = min(pitch, w_in + pad_l) - j_lo
    for c in range(c_ig):
        src_c = (n * x.shape[1] + c0 + c) * h_in * w_in
        for a in range(si_h):
            d = (c * si_h + a) * si_w * phase
            xr = base * si_h + a - pad_t
            for _ in range(rows_q):
                if xr < 0 or xr >= h_in:
                    for b in range(si_w):
                        for j in range(pitch):
                            xs[U(d + b * phase + j)] = zero
                elif si_w == 1:
                    s0 = src_c + xr * w_in + j_lo - pad_l
                    for j in range(width):
                        xs[U(d + j_lo + j)] = xf[U(s0 + j)]
                else:
                    s0 = src_c + xr * w_in
                    for j in range(w_in):
                        row[U(pad_l + j)] = xf[U(s0 + j)]
                    if si_w == 2:
                        for j in range(pitch):
                            xs[U(d + j)] = row[U(2 * j)]
                            xs[U(d + phase + j)] = row[U(2 * j + 1)]
                    else:
                        for b in range(si_w):
                            for j in range(pitch):
                                xs[U(d + b * phase + j)] = row[U(j * si_w + b)]
                d += pitch
                xr += si_h


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), inline="always")
def _accumulate(acc, a0, chunk, nb, bias, xs, o, w, nt, l0, size):
    """``acc[a0 + q*chunk + i] = bias[q] + sum_{j < nt} w[j, q] * xs[o[j] + l0 + i]`` for q < nb, i < size:
    4 terms into 4 channels a pass (16 vector FMAs per 4 loads, the accumulators' vectors loaded and stored
    once a pass, in L1), one channel at a time when nb < 4 (4 terms a pass). Explicit vectors (`simd`), the
    last one masked: no scalar remainder, and no loop LLVM has to version for aliasing (its vectoriser had
    emitted alias-check versions, an epilogue loop and a scalar remainder of each, all compiled)."""
    lv = 64 // acc.itemsize
    for q in range(nb):
        bq = vsplat(bias[q])
        for i in range(0, size, lv):
            vstore_n(acc, a0 + q * chunk + i, bq, size - i)
    if nb < BLOCK:  # 1-3 output channels (depthwise: 1): one channel at a time
        for q in range(nb):
            a = a0 + q * chunk
            j = 0
            while j + 4 <= nt:
                p0, p1, p2, p3 = o[j] + l0, o[j + 1] + l0, o[j + 2] + l0, o[j + 3] + l0
                w0, w1, w2, w3 = vsplat(w[j, q]), vsplat(w[j + 1, q]), vsplat(w[j + 2, q]), vsplat(w[j + 3, q])
                for i in range(0, size, lv):
                    m = size - i
                    v = vfma(vload_n(xs, p1 + i, m), w1, vfma(vload_n(xs, p0 + i, m), w0, vload_n(acc, a + i, m)))
                    v = vfma(vload_n(xs, p3 + i, m), w3, vfma(vload_n(xs, p2 + i, m), w2, v))
                    vstore_n(acc, a + i, v, m)
                j += 4
            while j < nt:
                p0, w0 = o[j] + l0, vsplat(w[j, q])
                for i in range(0, size, lv):
                    m = size - i
                    vstore_n(acc, a + i, vfma(vload_n(xs, p0 + i, m), w0, vload_n(acc, a + i, m)), m)
                j += 1
        return
    a1, a2, a3 = a0 + chunk, a0 + 2 * chunk, a0 + 3 * chunk
    j = 0
    while j + 4 <= nt:
        p0, p1, p2, p3 = o[j] + l0, o[j + 1] + l0, o[j + 2] + l0, o[j + 3] + l0
        w00, w01, w02, w03 = vsplat(w[j, 0]), vsplat(w[j, 1]), vsplat(w[j, 2]), vsplat(w[j, 3])
        w10, w11, w12, w13 = vsplat(w[j + 1, 0]), vsplat(w[j + 1, 1]), vsplat(w[j + 1, 2]), vsplat(w[j + 1, 3])
        w20, w21, w22, w23 = vsplat(w[j + 2, 0]), vsplat(w[j + 2, 1]), vsplat(w[j + 2, 2]), vsplat(w[j + 2, 3])
        w30, w31, w32, w33 = vsplat(w[j + 3, 0]), vsplat(w[j + 3, 1]), vsplat(w[j + 3, 2]), vsplat(w[j + 3, 3])
        for i in range(0, size, lv):
            m = size - i
            v0, v1 = vload_n(xs, p0 + i, m), vload_n(xs, p1 + i, m)
            v2, v3 = vload_n(xs, p2 + i, m), vload_n(xs, p3 + i, m)
            c0, c1 = vload_n(acc, a0 + i, m), vload_n(acc, a1 + i, m)
            c2, c3 = vload_n(acc, a2 + i, m), vload_n(acc, a3 + i, m)
            vstore_n(acc, a0 + i, vfma(v3, w30, vfma(v2, w20, vfma(v1, w10, vfma(v0, w00, c0)))), m)
            vstore_n(acc, a1 + i, vfma(v3, w31, vfma(v2, w21, vfma(v1, w11, vfma(v0, w01, c1)))), m)
            vstore_n(acc, a2 + i, vfma(v3, w32, vfma(v2, w22, vfma(v1, w12, vfma(v0, w02, c2)))), m)
            vstore_n(acc, a3 + i, vfma(v3, w33, vfma(v2, w23, vfma(v1, w13, vfma(v0, w03, c3)))), m)
        j += 4
    while j < nt:
        p0 = o[j] + l0
        w00, w01, w02, w03 = vsplat(w[j, 0]), vsplat(w[j, 1]), vsplat(w[j, 2]), vsplat(w[j, 3])
        for i in range(0, size, lv):
            m = size - i
            v0 = vload_n(xs, p0 + i, m)
            vstore_n(acc, a0 + i, vfma(v0, w00, vload_n(acc, a0 + i, m)), m)
            vstore_n(acc, a1 + i, vfma(v0, w01, vload_n(acc, a1 + i, m)), m)
            vstore_n(acc, a2 + i, vfma(v0, w02, vload_n(acc, a2 + i, m)), m)
            vstore_n(acc, a3 + i, vfma(v0, w03, vload_n(acc, a3 + i, m)), m)
        j += 1


def _gather_for(transposed):
    """The serial kernel of `gather` for one op: ``transposed`` is a constant of its code (Numba freezes a
    closure's variables and prunes the branches they decide before typing), so each op compiles only its
    own staging and store (a convolution has one plane, a transposed one unit-stride input)."""

    @njit(nogil=True, cache=True, fastmath=set(FASTMATH))
    def _gather(jobs, x, wt, b, y, pre, code, table, geo, p_r, p_m, p_cnt, p_off, p_tap, scratch):
        """The jobs it claims (`threads.claim`) of `gather`."""
        groups, pitch, chunk, rows, n_rb, n_og = geo[GROUPS], geo[PITCH], geo[CHUNK], geo[ROWS], geo[N_RB], geo[N_OG]
        rows_q, stage_top, pad_t, pad_l = geo[ROWS_Q], geo[STAGE_TOP], geo[PAD_T], geo[PAD_L]
        # one assignment each: a constant Numba sees through (a tuple unpacking is not), so it prunes the
        # branches of the other op in the inlined helpers before typing them
        if transposed:
            so_h = geo[SO_H]
            so_w = geo[SO_W]
            si_h = 1
            si_w = 1
            c_ig = wt.shape[0] // groups  # weight (C_in, C_out/groups, kH, kW)
        else:
            so_h = 1
            so_w = 1
            si_h = geo[SI_H]
            si_w = geo[SI_W]
            c_ig = wt.shape[1]  # weight (C_out, C_in/groups, kH, kW)
        c_og = y.shape[1] // groups
        n_ob = (c_og + BLOCK - 1) // BLOCK
        per_og = (n_ob + n_og - 1) // n_og
        direct = geo[DIRECT] != 0
        if direct:
            xs = x.reshape(x.size)
            plane = x.shape[2] * x.shape[3]
        else:
            plane = si_h * si_w * rows_q * pitch  # staged elements per input channel
            xs = zeroed_row(scratch, jobs, c_ig * plane)  # padding columns stay zero (see _stage)
        width = p_off.shape[1]
        row = np.empty(pitch * si_w if si_w > 1 else 1, y.dtype)  # a padded input row (strided)
        row[:] = 0
        offs = np.empty(so_w * c_ig * width, np.int64).reshape((so_w, c_ig * width))
        ws = np.empty(so_w * c_ig * width * BLOCK, y.dtype)
        ws[:] = 0
        ws = ws.reshape((so_w, c_ig * width, BLOCK))
        n_terms = np.empty(so_w, np.int64)
        acc = np.empty(so_w * BLOCK * chunk, y.dtype)  # [phase, channel, chunk] flat
        y_f, pre_f = y.reshape(y.size), pre.reshape(pre.size)
        sizes = np.empty(so_w, np.int64)
        keep_pre = 1 if pre.shape[0] > 0 else 0
        while True:
            job = claim(jobs)
            if job < 0:
                break
            og = job % n_og
            rest = job // n_og
            rb = rest % n_rb
            rest //= n_rb
            g = rest % groups
            n = rest // groups
            m0 = rb * rows
            if direct:  # no padding, unit stride: the taps read x itself (its rows are the staged rows)
                base = ((n * x.shape[1] + g * c_ig) * x.shape[2] + m0) * pitch
            else:
                _stage(x, n, g * c_ig, c_ig, m0 - stage_top, xs, row, pitch, rows_q, si_h, si_w, pad_t, pad_l)
                base = 0
            for prow in range(so_h):
                m_rows = min(rows, p_m[prow * so_w, 0] - m0)  # plane rows of this block in this row phase
                if m_rows <= 0:
                    continue
                for ob in range(og * per_og, min(n_ob, (og + 1) * per_og)):
                    o0 = g * c_og + ob * BLOCK
                    nb = min(BLOCK, (g + 1) * c_og - o0)
                    # The terms (input channel, tap) of every column phase: staged offset and 4 weights each.
                    for rw in range(so_w):
                        p = prow * so_w + rw
                        t = 0
                        for c in range(c_ig):
                            for a in range(p_cnt[p]):
                                offs[rw, t] = base + c * plane + p_off[p, a]
                                th, tw = p_tap[p, a, 0], p_tap[p, a, 1]
                                for q in range(nb):
                                    if transposed:
                                        ws[rw, t, q] = wt[g * c_ig + c, o0 - g * c_og + q, th, tw]
                                    else:
                                        ws[rw, t, q] = wt[o0 + q, c, th, tw]
                                t += 1
                        n_terms[rw] = t
                    length = 0
                    for rw in range(so_w):
                        m_w = p_m[prow * so_w + rw, 1]
                        if m_w > 0:
                            length = max(length, (m_rows - 1) * pitch + m_w)
                    for l0 in range(0, length, chunk):
                        l_end = l0
                        for rw in range(so_w):
                            m_w = p_m[prow * so_w + rw, 1]
                            size = min(chunk, (m_rows - 1) * pitch + m_w - l0) if m_w > 0 else 0
                            sizes[rw] = max(size, 0)
                            if size > 0:
                                l_end = max(l_end, l0 + size)
                                _accumulate(acc, rw * BLOCK * chunk, chunk, nb, b[o0:], xs, offs[rw], ws[rw],
                                            n_terms[rw], l0, size)
                        if l_end == l0:
                            continue
                        for out in range(1 - keep_pre, 2):  # out 0: the pre-activation copy, 1: the output
                            if out == 1 and code != IDENTITY:
                                for rw in range(so_w):
                                    for q in range(nb):
                                        activate_in_place(code, table[o0 + q, 0], table[o0 + q, 1], acc,
                                                          (rw * BLOCK + q) * chunk, sizes[rw])
                            dst = y_f if out == 1 else pre_f  # one call site: the store is compiled once
                            if transposed:
                                _store_phases(acc, chunk, sizes, dst, y.shape[1], y.shape[2], y.shape[3], n, o0, nb, m0,
                                              l0, l_end, prow, p_r, p_m, pitch, so_h, so_w)
                            else:
                                _store_rows(acc, chunk, dst, y.shape[1], y.shape[2], y.shape[3], n, o0, nb, m0, l0,
                                            l_end, pitch)

    return _gather


_gather_conv = _gather_for(transposed=False)
_gather_transposed = _gather_for(transposed=True)


PARALLEL_MIN = 1 << 18  # multiply-adds: below this one thread is faster than waking another


def gather(x, wt, b, y, pre, code, table, geo, tables, threads):
    """For every image ``n``, output channel ``o`` (group ``g``) and plane ``p`` (see the module docstring):

    ``y[n, o, p_r[p,0] + so_h*m_h, p_r[p,1] + so_w*m_w] = act_o(b[o] + sum_{c < C_ig, a < p_cnt[p]}
    w[o, c, p_tap[p,a,0], p_tap[p,a,1]] * xs[c*S + p_off[p, a] + l])``

    for ``m_h < p_m[p,0]``, ``m_w < p_m[p,1]``, ``l = (m_h - m0)*pitch + m_w`` within the job's staged rows;
    ``pre`` (unless it is empty) receives the same without ``act``. ``wt`` is the weight in PyTorch's layout
    of the op (``geo[TRANSPOSED]``); ``tables`` = (p_r, p_m, p_cnt, p_off, p_tap), planes ordered
    ``p = r_h*so_w + r_w``; ``threads``: how many threads share the jobs.
    """
    n_jobs = geo.item(N_JOBS)
    with scratch(min(threads, n_jobs), geo.item(STAGED), y.dtype) as rows:  # a staged input per thread
        kernel = _gather_transposed if geo.item(TRANSPOSED) else _gather_conv
        run_jobs(kernel, n_jobs, threads, x, wt, b, y, pre, code, table, geo, *tables, rows)
