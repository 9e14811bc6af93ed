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

Compilation (see `kernels.jit`): one serial function per dtype, compiled on first use and cached on disk,
``nogil`` with the safe fastmath subset; `kernels.jit.parallel_for` runs ranges of jobs on threads.
"""

import numpy as np
from numba import njit

from .activations import IDENTITY, activate_in_place
from .jit import FASTMATH, U
from .threads import claim, run_jobs, scratch, zeroed_row

BLOCK = 4  # output channels per pass (the register block of the inner loop)

# Layout of the int64 geometry vector `geo` (see `Geometry` in kernels/conv.py for the meaning).
(GROUPS, PITCH, CHUNK, ROWS, N_RB, N_OG, SO_H, SO_W, SI_H, SI_W, ROWS_Q, STAGE_TOP, PAD_T, PAD_L, TRANSPOSED,
 N_JOBS, DIRECT, STAGED, GEO_SIZE) = range(19)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _store(acc, sizes, y, n, o0, nb, m0, l0, l_end, prow, p_r, p_m, pitch, so_h, so_w):
    """Write the accumulator rows of one chunk into their output pixels (interleaving the column phases).

    Loops index slices from 0: an index Numba cannot prove non-negative gets a wrap-around test per element,
    which stops vectorisation."""
    r_h = p_r[prow * so_w, 0]
    if so_w == 1 and so_h == 1 and p_m[0, 1] == pitch:  # the rows of y are the chunk's: one copy
        for q in range(nb):
            src = acc[0, q, : l_end - l0]
            dst = y[n, o0 + q].reshape(y.shape[2] * pitch)[m0 * pitch + l0 : m0 * pitch + l_end]
            for i in range(l_end - l0):
                dst[i] = src[i]
        return
    for mh in range(l0 // pitch, (l_end - 1) // pitch + 1):
        lo = max(0, l0 - mh * pitch)
        shift = mh * pitch - l0
        row = r_h + so_h * (m0 + mh)
        hi0 = min(p_m[prow * so_w, 1], l0 + sizes[0] - mh * pitch)
        both = lo
        if so_w == 2:
            both = max(lo, min(hi0, p_m[prow * so_w + 1, 1], l0 + sizes[1] - mh * pitch))
        for q in range(nb):
            yrow = y[n, o0 + q, row]
            if so_w == 1:
                src = acc[0, q, shift + lo : shift + hi0]
                dst = yrow[lo:hi0]
                for i in range(hi0 - lo):
                    dst[i] = src[i]
                continue
            if so_w == 2:
                e0 = acc[0, q, shift + lo : shift + both]
                e1 = acc[1, q, shift + lo : shift + both]
                dst = yrow[2 * lo : 2 * both]
                for i in range(both - lo):
                    dst[2 * i] = e0[i]
                    dst[2 * i + 1] = e1[i]
            for rw in range(so_w):
                hi = min(p_m[prow * so_w + rw, 1], l0 + sizes[rw] - mh * pitch)
                if hi <= both:
                    continue
                r_w = p_r[prow * so_w + rw, 1]
                src = acc[rw, q, shift + both : shift + hi]
                dst = yrow[r_w + so_w * both :]
                for i in range(hi - both):
                    dst[so_w * i] = src[i]


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _stage(x, n, c0, c_ig, base, xs, row, geo):
    """Copy input channels c0..c0+c_ig-1 of image n, rows of the job starting at plane row ``base``, into
    ``xs[c, a, b, i, j] = xpad[(base + i)*si_h + a, j*si_w + b]``, xpad = x shifted by (pad_t, pad_l) and
    zero outside. Unit stride: writes only the columns that can hold data (the caller zeroed ``xs`` once, so
    the padding columns stay zero from job to job). Strided: each input row is copied once into a zero-padded
    row, then split into its si_w column phases in one pass. O(c_ig * rows_q * pitch * si_h * si_w)."""
    pitch, si_h, si_w, rows_q = geo[PITCH], geo[SI_H], geo[SI_W], geo[ROWS_Q]
    pad_t, pad_l = geo[PAD_T], geo[PAD_L]
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
def _slices4(xs, o, j, l0, size):
    """The input slices of terms j..j+3 for the chunk starting at l0."""
    return (xs[o[j] + l0 : o[j] + l0 + size], xs[o[j + 1] + l0 : o[j + 1] + l0 + size],
            xs[o[j + 2] + l0 : o[j + 2] + l0 + size], xs[o[j + 3] + l0 : o[j + 3] + l0 + size])


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _axpy_terms(a, xs, o, w, nt, l0, size):
    """``a[i] += sum_j w[j] * xs[o[j] + l0 + i]`` for i < size, 4 terms per pass over ``a``."""
    j = 0
    while j + 4 <= nt:
        x0, x1, x2, x3 = _slices4(xs, o, j, l0, size)
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for i in range(size):
            a[i] += w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i]
        j += 4
    while j < nt:
        x0 = xs[o[j] + l0 : o[j] + l0 + size]
        w0 = w[j]
        for i in range(size):
            a[i] += w0 * x0[i]
        j += 1


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _gather(jobs, x, wt, b, y, pre, code, table, geo, p_r, p_m, p_cnt, p_off, p_tap, scratch):
    """The jobs it claims (`threads.claim`) of `gather`."""
    groups, pitch, chunk, rows, n_rb, n_og = geo[GROUPS], geo[PITCH], geo[CHUNK], geo[ROWS], geo[N_RB], geo[N_OG]
    so_h, so_w, si, rows_q = geo[SO_H], geo[SO_W], geo[SI_H] * geo[SI_W], geo[ROWS_Q]
    stage_top, transposed = geo[STAGE_TOP], geo[TRANSPOSED]
    c_og = y.shape[1] // groups
    c_ig = wt.shape[0] // groups if transposed else wt.shape[1]
    n_ob = (c_og + BLOCK - 1) // BLOCK
    per_og = (n_ob + n_og - 1) // n_og
    direct = geo[DIRECT] != 0
    if direct:
        xs = x.reshape(x.size)
        plane = x.shape[2] * x.shape[3]
    else:
        plane = si * rows_q * pitch  # staged elements per input channel
        xs = zeroed_row(scratch, jobs, c_ig * plane)  # padding columns stay zero (see _stage)
    width = p_off.shape[1]
    row = np.empty(pitch * geo[SI_W] if geo[SI_W] > 1 else 1, y.dtype)  # a padded input row (strided)
    row[:] = 0
    offs = np.empty(so_w * c_ig * width, np.int64).reshape((so_w, c_ig * width))
    ws = np.empty(so_w * c_ig * width * BLOCK, y.dtype)
    ws[:] = 0
    ws = ws.reshape((so_w, c_ig * width, BLOCK))
    n_terms = np.empty(so_w, np.int64)
    acc = np.empty(so_w * BLOCK * chunk, y.dtype).reshape((so_w, BLOCK, chunk))
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
            _stage(x, n, g * c_ig, c_ig, m0 - stage_top, xs, row, geo)
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
                                if transposed:  # weight (C_in, C_out/groups, kH, kW)
                                    ws[rw, t, q] = wt[g * c_ig + c, o0 - g * c_og + q, th, tw]
                                else:  # weight (C_out, C_in/groups, kH, kW)
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
                        if size <= 0:
                            continue
                        l_end = max(l_end, l0 + size)
                        for q in range(nb):
                            bq = b[o0 + q]
                            aq = acc[rw, q]
                            for i in range(size):
                                aq[i] = bq
                        nt = n_terms[rw]
                        o = offs[rw]
                        wr = ws[rw]
                        if nb < BLOCK:  # 1-3 output channels (depthwise: 1): one channel at a time
                            for q in range(nb):
                                _axpy_terms(acc[rw, q], xs, o, wr[:, q], nt, l0, size)
                            continue
                        a0, a1, a2, a3 = acc[rw, 0], acc[rw, 1], acc[rw, 2], acc[rw, 3]
                        j = 0
                        while j + 4 <= nt:
                            x0, x1, x2, x3 = _slices4(xs, o, j, l0, size)
                            w00, w01, w02, w03 = wr[j, 0], wr[j, 1], wr[j, 2], wr[j, 3]
                            w10, w11, w12, w13 = wr[j + 1, 0], wr[j + 1, 1], wr[j + 1, 2], wr[j + 1, 3]
                            w20, w21, w22, w23 = wr[j + 2, 0], wr[j + 2, 1], wr[j + 2, 2], wr[j + 2, 3]
                            w30, w31, w32, w33 = wr[j + 3, 0], wr[j + 3, 1], wr[j + 3, 2], wr[j + 3, 3]
                            for i in range(size):
                                v0, v1, v2, v3 = x0[i], x1[i], x2[i], x3[i]
                                a0[i] += (w00 * v0 + w10 * v1) + (w20 * v2 + w30 * v3)
                                a1[i] += (w01 * v0 + w11 * v1) + (w21 * v2 + w31 * v3)
                                a2[i] += (w02 * v0 + w12 * v1) + (w22 * v2 + w32 * v3)
                                a3[i] += (w03 * v0 + w13 * v1) + (w23 * v2 + w33 * v3)
                            j += 4
                        while j < nt:
                            x0 = xs[o[j] + l0 : o[j] + l0 + size]
                            w00, w01, w02, w03 = wr[j, 0], wr[j, 1], wr[j, 2], wr[j, 3]
                            for i in range(size):
                                v0 = x0[i]
                                a0[i] += w00 * v0
                                a1[i] += w01 * v0
                                a2[i] += w02 * v0
                                a3[i] += w03 * v0
                            j += 1
                    if l_end == l0:
                        continue
                    for out in range(1 - keep_pre, 2):  # out 0: the pre-activation copy, 1: the output
                        if out == 1 and code != IDENTITY:
                            for rw in range(so_w):
                                for q in range(nb):
                                    aq = acc[rw, q]
                                    activate_in_place(code, table[o0 + q, 0], table[o0 + q, 1], aq, 0, sizes[rw])
                        # one call site: the store is compiled once
                        _store(acc, sizes, y if out == 1 else pre, n, o0, nb, m0, l0, l_end, prow, p_r, p_m, pitch,
                               so_h, so_w)


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
        run_jobs(_gather, n_jobs, threads, x, wt, b, y, pre, code, table, geo, *tables, rows)
