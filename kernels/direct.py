"""Dense and depthwise convolutions as register-blocked direct kernels on explicit SIMD vectors
(`kernels.simd`).

Both ops are sums of stride-1 correlations over *planes*: conv2d has one plane and reads its input split into
its stride phases (``xs[c, a_h*s_w + a_w, i, j] = xpad[c, i*s_h + a_h, j*s_w + a_w]``, so that every tap
reads a contiguous run); conv_transpose2d has one plane per output phase ``(r_h, r_w)`` (outputs
``y[r_h + s_h*m_h, r_w + s_w*m_w]``), each a stride-1 correlation of the padded input with the taps that
reach that phase (`conv._phase_taps`), so no multiply is spent on inserted zeros. A tap ``t`` of plane ``p``
reads the staged input at the fixed offset ``tap_off[p, t]`` from the output position.

Three layouts of the register block, each holding 8-16 accumulator vectors (16 float32 or 8 float64 lanes) for
the whole reduction over input channels and taps, so that they run at the FMA units' rate rather than at the
rate of loads and stores of accumulators:

- `Direct` (rows): ``CB = 4`` output channels x ``VB = 4`` vectors of output positions (a vector covers a
  run of one output row; rows narrower than 4 vectors share a block). Per (channel, tap) it loads 4 input
  vectors and 4 broadcast weights for 16 fused multiply-adds. Each band of output rows stages its input
  (zero padding, stride phases) in L2 and input channels are taken in blocks that stay in L1; bias starts
  the accumulators and the activation (`activations.activate`) runs on the band's rows once they are
  stored, while they are in cache. A strided transposed op's planes are interleaved by one copy.
- `Lanes` (channels): 2 vectors of output channels x ``PB = 8`` output positions. Per (channel, tap) it
  loads 2 weight vectors and broadcasts 8 input values, and stores by masked scatters into NCHW, so any
  width, stride or output phase fills the lanes (for narrow images and strided ops); its input is staged
  once per call, zero-padded, and the activation is one pass over the output.
- `Depthwise` (rows, one channel): a depthwise conv2d has no input channels to share, so its block is
  ``VD = 8`` vectors of output positions of one channel: per tap 8 input vectors times one broadcast weight.
  Bands and staging are `Direct`'s.

Weights are packed into ``(group, plane, channel block, input channel, tap, channel)`` order, O(weights) per
call (`Packing`: small weights keep their packed form while their bytes stay the same).

Cost: O(N * C_out * C_in/groups * taps * H_out * W_out) multiply-adds at up to ``2 * lanes`` per cycle per
core, plus the staging copy of the input, O(N * C_in * H * W), and for strided transposed convolutions on
the rows layout one interleaving copy of the output.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .activations import IDENTITY, activate_in_place, apply_in_place
from .jit import FASTMATH, U
from .simd import (
    fma4x4,
    lanes,
    splat4x4,
    vbcast,
    vdeal2_n,
    vdeal3_n,
    vfma,
    vload,
    vload_n,
    vscatter_n,
    vsplat,
    vstore_n,
)
from .threads import claim, run_jobs, scratch, zeroed_row

CB = 4  # output channels per register block
VB = 4  # vectors of output positions per register block
L1_BYTES = 1 << 15  # input rows of one tile's channel block (the rest of L1: weights, output)

# meta vector of `_direct`
(M_G, M_P, M_BANDS, M_ROWS, M_CIN, M_CIG, M_COG, M_NCB, M_HB, M_WS, M_T, M_MH, M_MW, M_COUT, M_PRE, M_L, M_SH,
 M_SW, M_TOP, M_LEFT, M_H, M_W, M_CIB) = range(23)


@njit(nogil=True, cache=True)
def _stage(x, xs, n, c0, c_ig, c_in, i0, meta):
    """The band's staged input: xs[c, a_h*s_w + a_w, i, j] = x[n, c0 + c, (i0 + i)*s_h + a_h - top,
    j*s_w + a_w - left], 0 outside x. O(c_ig * phases * rows * width), in cache.

    Writes only the columns that hold input: the others stay zero from `_direct`'s allocation (every row of
    data writes the same columns, a row outside x zeroes all of its), so no row pays for fills (LLVM makes
    each short fill loop a memset call: three a row had cost more than the copy). It indexes with unsigned
    integers (`U`), not slices: Numba skips the wrap-around test of an unsigned index, so the loops vectorise,
    and a slice costs an atomic reference count on its array (x's, shared by the threads, bounces between
    their caches). A strided row goes to all its column phases in one pass: input column u = m*s_w + t lands
    in phase (t + left) % s_w at column m + (t + left) // s_w. Strides 2 and 3 deal s_w*L elements at a time
    into their phases (`simd.vdeal2_n`, `simd.vdeal3_n`: one wide load and s_w shuffles; the row's last
    vector a masked load and masked stores, not a scalar tail: stride-3 rows of 128 had spent more on their
    10 tail columns than on the 32 before). Staging 5-20% faster than LLVM's own vectorised loop with a
    scalar tail (float32 2x8x128^2 k3 s2 on one thread 180 -> 159 us, float64 4x8x256^2 k5 s3 3.67 ->
    3.04 ms). A phase at a time took a gather per vector, 4x slower."""
    sh, sw, top, left, h, w = meta[M_SH], meta[M_SW], meta[M_TOP], meta[M_LEFT], meta[M_H], meta[M_W]
    hb, ws, lv = meta[M_HB], meta[M_WS], meta[M_L]
    phase = hb * ws  # elements per (a_h, a_w) phase of one channel
    zero = xs.dtype.type(0)
    m_n = max(0, min(w // sw, ws - (sw - 1 + left) // sw))  # the shared run of m: every phase's column < ws
    for c in range(c_ig):
        src_c = (n * c_in + c0 + c) * h * w
        for ah in range(sh):
            for i in range(hb):
                r = (i0 + i) * sh + ah - top
                k = ((c * sh + ah) * sw * hb + i) * ws  # phase (a_h, 0), row i
                if r < 0 or r >= h:
                    for aw in range(sw):
                        d = k + aw * phase
                        for j in range(ws):
                            xs[U(d + j)] = zero
                    continue
                s0 = src_c + r * w
                if sw == 1:
                    d = k + left
                    for j in range(m_n):
                        xs[U(d + j)] = x[U(s0 + j)]
                elif sw == 2:
                    e = k + (left % 2) * phase + left // 2  # input columns 2m and 2m + 1
                    o = k + ((left + 1) % 2) * phase + (left + 1) // 2
                    for m in range(0, m_n, lv):
                        count = min(lv, m_n - m)
                        v0, v1 = vdeal2_n(x, s0 + 2 * m, 2 * count)
                        vstore_n(xs, e + m, v0, count)
                        vstore_n(xs, o + m, v1, count)
                elif sw == 3:
                    d0 = k + (left % 3) * phase + left // 3
                    d1 = k + ((left + 1) % 3) * phase + (left + 1) // 3
                    d2 = k + ((left + 2) % 3) * phase + (left + 2) // 3
                    for m in range(0, m_n, lv):
                        count = min(lv, m_n - m)
                        v0, v1, v2 = vdeal3_n(x, s0 + 3 * m, 3 * count)
                        vstore_n(xs, d0 + m, v0, count)
                        vstore_n(xs, d1 + m, v1, count)
                        vstore_n(xs, d2 + m, v2, count)
                for u in range(m_n * sw if sw <= 3 else 0, w):  # the rest of the row
                    v = u + left
                    if v // sw < ws:
                        xs[U(k + (v % sw) * phase + v // sw)] = x[U(s0 + u)]


@njit(nogil=True, cache=True, inline="always")
def _tap(xs, wpk, off, i0, i1, i2, i3, wt, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31,
         a32, a33):
    """One tap of the register block: 4 input vectors (at off + i_j) times 4 broadcast weights (wpk[wt + c])
    into the 16 accumulators a_cj."""
    return fma4x4(xs, off + i0, off + i1, off + i2, off + i3, wpk, wt, 1, a00, a01, a02, a03, a10, a11, a12, a13,
                  a20, a21, a22, a23, a30, a31, a32, a33)


@njit(nogil=True, cache=True, inline="always")
def store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a0, a1, a2, a3):
    """One output channel's 4 vectors of the block, each its lanes inside the plane."""
    vstore_n(yb, yc + o0, a0, n0)
    vstore_n(yb, yc + o1, a1, n1)
    vstore_n(yb, yc + o2, a2, n2)
    vstore_n(yb, yc + o3, a3, n3)


@njit(nogil=True, cache=True, inline="always")
def _next_band(jobs, n_bands, n_g, rows):
    """The next band job this thread claims (`threads.claim`): (image, group, first output row), or image
    -1 when every job is taken. Jobs run image-major, then group, then band."""
    job = claim(jobs)
    if job < 0:
        return -1, 0, 0
    r = job // n_bands
    return r // n_g, r % n_g, (job % n_bands) * rows


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _direct(jobs, x, wpk, bp, yb, pre, code, table, meta, k_in, k_w, n_taps, ext, scratch):
    """The jobs (image, group, band of output rows) it claims (`threads.claim`): stage the band's input, then
    every plane, tile of 4 vectors and block of 4 output channels of the band."""
    n_g, n_p, n_bands, rows, c_in, c_ig, c_og, ncb = meta[M_G], meta[M_P], meta[M_BANDS], meta[M_ROWS], \
        meta[M_CIN], meta[M_CIG], meta[M_COG], meta[M_NCB]
    hb, ws, n_t, mh_all, mw_all, c_out, has_pre, lv = meta[M_HB], meta[M_WS], meta[M_T], meta[M_MH], \
        meta[M_MW], meta[M_COUT], meta[M_PRE], meta[M_L]
    cib = meta[M_CIB]
    cs = meta[M_SH] * meta[M_SW] * hb * ws  # staged elements per input channel
    xs = zeroed_row(scratch, jobs, c_ig * cs)
    while True:
        n, g, r0 = _next_band(jobs, n_bands, n_g, rows)
        if n < 0:
            break
        _stage(x, xs, n, g * c_ig, c_ig, c_in, r0, meta)
        for p in range(n_p):
            mh, mw = ext[p, 0], ext[p, 1]
            band_rows = min(rows, mh - r0)
            if band_rows <= 0:
                continue
            vpr = (mw + lv - 1) // lv  # vectors per output row
            nt = n_taps[p]
            for q0 in range(0, band_rows * vpr, 4):
                # the 4 vectors of this tile: input offset, output offset, lanes to store (0: past the band)
                q1, q2, q3 = q0 + 1, q0 + 2, q0 + 3
                y0, x0 = q0 // vpr, (q0 % vpr) * lv
                y1, x1 = q1 // vpr, (q1 % vpr) * lv
                y2, x2 = q2 // vpr, (q2 % vpr) * lv
                y3, x3 = q3 // vpr, (q3 % vpr) * lv
                n0 = min(lv, mw - x0)
                n1 = min(lv, mw - x1) if y1 < band_rows else 0
                n2 = min(lv, mw - x2) if y2 < band_rows else 0
                n3 = min(lv, mw - x3) if y3 < band_rows else 0
                i0 = y0 * ws + x0
                i1 = y1 * ws + x1 if n1 > 0 else i0
                i2 = y2 * ws + x2 if n2 > 0 else i0
                i3 = y3 * ws + x3 if n3 > 0 else i0
                o0, o1 = (r0 + y0) * mw_all + x0, (r0 + y1) * mw_all + x1
                o2, o3 = (r0 + y2) * mw_all + x2, (r0 + y3) * mw_all + x3
                for c0 in range(0, c_ig, cib):  # input channel blocks: their rows stay in L1 across cb
                    c1 = min(c_ig, c0 + cib)
                    for cb in range(ncb):
                        if c0 == 0:
                            a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = \
                                splat4x4(bp, (g * ncb + cb) * 4)
                        else:  # the partial sums stored by the previous block (a missing channel: any valid one)
                            yc = ((n * c_out + g * c_og + min(cb * 4, c_og - 1)) * n_p + p) * mh_all * mw_all
                            a00, a01 = vload_n(yb, yc + o0, n0), vload_n(yb, yc + o1, n1)
                            a02, a03 = vload_n(yb, yc + o2, n2), vload_n(yb, yc + o3, n3)
                            yc = ((n * c_out + g * c_og + min(cb * 4 + 1, c_og - 1)) * n_p + p) * mh_all * mw_all
                            a10, a11 = vload_n(yb, yc + o0, n0), vload_n(yb, yc + o1, n1)
                            a12, a13 = vload_n(yb, yc + o2, n2), vload_n(yb, yc + o3, n3)
                            yc = ((n * c_out + g * c_og + min(cb * 4 + 2, c_og - 1)) * n_p + p) * mh_all * mw_all
                            a20, a21 = vload_n(yb, yc + o0, n0), vload_n(yb, yc + o1, n1)
                            a22, a23 = vload_n(yb, yc + o2, n2), vload_n(yb, yc + o3, n3)
                            yc = ((n * c_out + g * c_og + min(cb * 4 + 3, c_og - 1)) * n_p + p) * mh_all * mw_all
                            a30, a31 = vload_n(yb, yc + o0, n0), vload_n(yb, yc + o1, n1)
                            a32, a33 = vload_n(yb, yc + o2, n2), vload_n(yb, yc + o3, n3)
                        wb = ((g * n_p + p) * ncb + cb) * c_ig * n_t * 4
                        for k in range(c0 * nt, c1 * nt):  # (input channel, tap) pairs as one flat loop
                            a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = _tap(
                                xs, wpk, k_in[p, k], i0, i1, i2, i3, wb + k_w[p, k],
                                a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33)
                        for c in range(4):
                            o = cb * 4 + c
                            if o >= c_og:
                                break
                            ch = g * c_og + o
                            yc = ((n * c_out + ch) * n_p + p) * mh_all * mw_all
                            if c == 0:
                                store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a00, a01, a02, a03)
                            elif c == 1:
                                store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a10, a11, a12, a13)
                            elif c == 2:
                                store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a20, a21, a22, a23)
                            else:
                                store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a30, a31, a32, a33)
            if code != IDENTITY:  # the activation on the band's rows while they are in cache (runs of mw+)
                for ch in range(g * c_og, (g + 1) * c_og):
                    p0, p1 = table[ch, 0], table[ch, 1]
                    base = ((n * c_out + ch) * n_p + p) * mh_all * mw_all + r0 * mw_all
                    runs, length = (1, band_rows * mw) if mw == mw_all else (band_rows, mw)
                    for k in range(runs):
                        s = base + k * mw_all
                        if has_pre:  # an index loop: a slice assignment compiles Numba's shape-mismatch message
                            for i in range(s, s + length):
                                pre[U(i)] = yb[U(i)]
                        activate_in_place(code, p0, p1, yb, s, length)


VD = 8  # vectors of output positions per depthwise tile


@njit(nogil=True, cache=True, inline="always")
def _vec(q, vpr, lv, mw, ws, mw_all, band_rows, r0, i_first):
    """Vector q of a band's output positions (rows of vpr vectors): its staged input offset, output offset
    and lanes inside the plane (0 past the band, whose input offset is then ``i_first``, a valid one)."""
    row, col = q // vpr, (q % vpr) * lv
    if row >= band_rows:
        return i_first, 0, 0
    return row * ws + col, (r0 + row) * mw_all + col, min(lv, mw - col)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _depthwise(jobs, x, wd, b, yb, pre, code, table, meta, tap_off, n_taps, ext, scratch):
    """The jobs (image, channel, band of output rows) it claims (`threads.claim`) of a depthwise conv2d:
    stage the band of the channel's input (`_stage`), then every tile of VD vectors of output positions:
    VD accumulators take every tap (a vector load and a broadcast weight each, no accumulator traffic) and
    are stored once, with the bias they started from; the activation runs on the band's rows in cache."""
    n_g, n_p, n_bands, rows, c_in = meta[M_G], meta[M_P], meta[M_BANDS], meta[M_ROWS], meta[M_CIN]
    hb, ws, n_t, mh_all, mw_all, c_out, has_pre, lv = meta[M_HB], meta[M_WS], meta[M_T], meta[M_MH], \
        meta[M_MW], meta[M_COUT], meta[M_PRE], meta[M_L]
    xs = zeroed_row(scratch, jobs, meta[M_SH] * meta[M_SW] * hb * ws)
    while True:
        n, g, r0 = _next_band(jobs, n_bands, n_g, rows)
        if n < 0:
            break
        _stage(x, xs, n, g, 1, c_in, r0, meta)
        for p in range(n_p):
            mh, mw = ext[p, 0], ext[p, 1]
            band_rows = min(rows, mh - r0)
            if band_rows <= 0:
                continue
            vpr = (mw + lv - 1) // lv
            nt, wb = n_taps[p], (g * n_p + p) * n_t
            yc = ((n * c_out + g) * n_p + p) * mh_all * mw_all
            bias = vsplat(b[g])
            for q0 in range(0, band_rows * vpr, VD):
                i0, o0, n0 = _vec(q0, vpr, lv, mw, ws, mw_all, band_rows, r0, 0)
                i1, o1, n1 = _vec(q0 + 1, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i2, o2, n2 = _vec(q0 + 2, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i3, o3, n3 = _vec(q0 + 3, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i4, o4, n4 = _vec(q0 + 4, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i5, o5, n5 = _vec(q0 + 5, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i6, o6, n6 = _vec(q0 + 6, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                i7, o7, n7 = _vec(q0 + 7, vpr, lv, mw, ws, mw_all, band_rows, r0, i0)
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bias
                for t in range(nt):
                    off, w = tap_off[p, t], vbcast(wd, wb + t)
                    a0, a1 = vfma(vload(xs, off + i0), w, a0), vfma(vload(xs, off + i1), w, a1)
                    a2, a3 = vfma(vload(xs, off + i2), w, a2), vfma(vload(xs, off + i3), w, a3)
                    a4, a5 = vfma(vload(xs, off + i4), w, a4), vfma(vload(xs, off + i5), w, a5)
                    a6, a7 = vfma(vload(xs, off + i6), w, a6), vfma(vload(xs, off + i7), w, a7)
                store4(yb, yc, o0, o1, o2, o3, n0, n1, n2, n3, a0, a1, a2, a3)
                store4(yb, yc, o4, o5, o6, o7, n4, n5, n6, n7, a4, a5, a6, a7)
            if code != IDENTITY:  # the activation on the band's rows while they are in cache
                base = yc + r0 * mw_all
                runs, length = (1, band_rows * mw) if mw == mw_all else (band_rows, mw)
                for k in range(runs):
                    s = base + k * mw_all
                    if has_pre:  # an index loop (see `_direct`)
                        for i in range(s, s + length):
                            pre[U(i)] = yb[U(i)]
                    activate_in_place(code, table[g, 0], table[g, 1], yb, s, length)


def _pairs(n_taps, tap_off, c_ig, cs, width):
    """Per plane, the input offset and packed-weight offset of its (input channel, tap) pairs k = ci * taps + t
    (input channels ``cs`` elements apart, weights packed by `_pack` with blocks of ``width`` channels): the
    kernels walk them as one flat loop."""
    n_t = tap_off.shape[1]
    k_in = np.zeros((len(n_taps), max(1, c_ig * n_t)), np.int64)
    k_w = np.zeros_like(k_in)
    for p, nt in enumerate(n_taps):
        ci, t = np.divmod(np.arange(c_ig * nt), max(nt, 1))
        k_in[p, : ci.size] = ci * cs + tap_off[p, t]
        k_w[p, : ci.size] = (ci * n_t + t) * width
    return k_in, k_w


def _pack(w, transposed, groups, c_og, width, taps, n_t, dtype):
    """Weights in (group, plane, block of ``width`` output channels, input channel, tap, channel in the block)
    order, the block's missing channels and each plane's missing taps zero. O(weights). A plane with every
    tap in order (conv2d, unit-stride transposed ops) is one transposing copy, without NumPy's gather of the
    taps: 128x128x5x5 float32 0.93 -> 0.21 ms, float64 1.54 -> 0.36 ms; then np.empty where every element is
    written (np.zeros' fresh pages: 0.19 -> 0.15 ms, float64 0.35 -> 0.24) and, for blocks of 4 channels up
    to 1 MB, a strided copy per channel (128x128x3x3 float32 0.14 -> 0.05 ms)."""
    kh, kw = w.shape[2:]
    if transposed:  # (C_in, C_og, kh, kw) -> (g, c_og, c_ig, kh, kw)
        wg = w.reshape(groups, -1, c_og, kh, kw).transpose(0, 2, 1, 3, 4)
    else:  # (C_out, c_ig, kh, kw)
        wg = w.reshape(groups, c_og, -1, kh, kw)
    c_ig = wg.shape[2]
    blocks = -(-c_og // width)
    if blocks * width != c_og:
        wg = np.concatenate([wg, np.zeros((groups, blocks * width - c_og, c_ig, kh, kw), w.dtype)], axis=1)
    wg = wg.reshape(groups, blocks, width, c_ig, kh, kw)
    shape = (groups, len(taps), blocks, c_ig, n_t, width)
    # every element written below unless a plane lacks taps: then zeros (calloc's fresh pages cost 40 us per
    # 1.6 MB more than np.empty's reused heap)
    out = np.empty(shape, dtype) if all(len(plane) == n_t for plane in taps) else np.zeros(shape, dtype)
    for p, plane in enumerate(taps):
        if len(plane) == kh * kw == n_t and plane == [(a, b) for a in range(kh) for b in range(kw)]:  # every tap
            src = wg.reshape(groups, blocks, width, c_ig * n_t)  # in order: no gather
            dst = out[:, p].reshape(groups, blocks, c_ig * n_t, width)
            if width <= 8 and out.nbytes <= 1 << 20:  # a long strided copy per channel (its writes share cache
                for c in range(width):  # lines in L2): 2.4x faster than numpy's 4-element inner loops
                    dst[..., c] = src[:, :, c]
            else:
                dst[...] = src.transpose(0, 1, 3, 2)
        elif plane:
            th, tw = np.array(plane).T
            out[:, p, :, :, : len(plane), :] = wg[:, :, :, :, th, tw].transpose(0, 1, 3, 4, 2)
    return out.reshape(-1)


PACK_CACHE_BYTES = 1 << 16  # weights up to this size keep their packed form between calls


class Packing:
    """A route's weights and bias in its kernel's order: `_pack`, and the bias padded to whole blocks of
    ``width`` channels per group. Weights of at most PACK_CACHE_BYTES keep their packed form for the next
    call with the same bytes (compared in full, so weights changed in place are packed again): at small
    shapes, where a call is 0.1 ms, packing was a tenth of it. O(weights) per call either way."""

    def __init__(self, transposed, groups, c_og, width, taps, n_t, dtype):
        self.args = transposed, groups, c_og, width, taps, n_t, np.dtype(dtype)
        self.groups, self.c_og, self.blocks = groups, c_og, -(-c_og // width) * width
        self.last = None  # (the weights' bytes, their packed form)

    def __call__(self, w, b):
        """(packed weights, padded bias) of w (in PyTorch's layout) and the bias b (c_out values)."""
        if w.nbytes > PACK_CACHE_BYTES:
            wpk = _pack(w, *self.args)
        else:
            key, last = w.tobytes(), self.last
            if last is not None and last[0] == key:
                wpk = last[1]
            else:
                wpk = _pack(w, *self.args)
                self.last = key, wpk  # one assignment: a concurrent call sees the old pair or the new
        if self.blocks == self.c_og:
            return wpk, b
        bp = np.zeros((self.groups, self.blocks), self.args[-1])
        bp[:, : self.c_og] = b.reshape(self.groups, self.c_og)
        return wpk, bp.reshape(-1)


class Direct:
    """The direct route of one planned op (`conv.Plan`): geometry, tap offsets and the job split into bands
    of output rows, fixed by the shapes; `run` packs the weights and runs the kernel on the kernels' threads.

    ``planes``: [(r_h, r_w, m_h, m_w, [((phase, row, col), t_h, t_w), ...])] as in `conv._plan`; ``stride``:
    the input's stride phases (s_h, s_w) (1, 1 for a transposed op); ``pad``: (top, left) zero padding of
    the staged input; ``out_stride``: the output's phase strides (transposed) or (1, 1). A band holds as many
    rows as keep its staged input within ``stage_bytes`` (in L2) and gives at least ``min_jobs`` jobs."""

    def __init__(self, transposed, groups, c_in, c_og, planes, out_shape, x_hw, stride, pad, out_stride, dtype,
                 stage_bytes, min_jobs):
        self.transposed, self.groups, self.c_in, self.c_og = transposed, groups, c_in, c_og
        self.c_ig = c_in // groups
        self.out_shape, self.out_stride = out_shape, out_stride
        self.dtype = np.dtype(dtype)
        self.taps = [[(th, tw) for _, th, tw in p[4]] for p in planes]
        self.planes = [(r_h, r_w, m_h, m_w) for r_h, r_w, m_h, m_w, _ in planes]
        lv = lanes(self.dtype)
        mh = max(p[2] for p in planes)
        mw = max(p[3] for p in planes)
        rows_max = max((row for p in planes for (_, row, _), _, _ in p[4]), default=0)
        cols_max = max((col for p in planes for (_, _, col), _, _ in p[4]), default=0)
        phases = stride[0] * stride[1]
        ws = -(-mw // lv) * lv + cols_max
        per_row = self.c_ig * phases * ws * self.dtype.itemsize
        jobs_per_band = out_shape[0] * groups
        rows = max(1, min(stage_bytes // per_row - rows_max, -(-mh // -(-min_jobs // jobs_per_band))))
        hb = rows + rows_max
        n_t = max(1, max(len(t) for t in self.taps))
        self.tap_off = np.zeros((len(planes), n_t), np.int64)
        for i, p in enumerate(planes):
            for t, ((a, row, col), _, _) in enumerate(p[4]):
                self.tap_off[i, t] = (a * hb + row) * ws + col
        self.n_taps = np.array([len(t) for t in self.taps], np.int64)
        self.k_in, self.k_w = _pairs(self.n_taps, self.tap_off, self.c_ig, phases * hb * ws, CB)
        self.ext = np.array([[m_h, m_w] for _, _, m_h, m_w in self.planes], np.int64).reshape(-1, 2)
        self.ncb = -(-c_og // CB)
        self.interleave = len(planes) > 1
        self.mh, self.mw = (mh, mw) if self.interleave else out_shape[2:]
        bands = -(-mh // rows)
        # input channels per block: the rows one tile reads from a block stay in L1 across the channel blocks
        vpr = -(-mw // lv)
        tile_rows = min(rows, -(-VB // vpr) + 1)
        lines = phases * (tile_rows + rows_max) * (-(-(min(VB, vpr) * lv + cols_max) * self.dtype.itemsize // 64) + 1)
        cib = max(1, min(self.c_ig, L1_BYTES // (64 * lines)))
        self.meta = np.array([groups, len(planes), bands, rows, c_in, self.c_ig, c_og, self.ncb, hb, ws, n_t,
                              self.mh, self.mw, out_shape[1], 0, lv, stride[0], stride[1], pad[0], pad[1],
                              x_hw[0], x_hw[1], cib], np.int64)
        self.n_jobs = jobs_per_band * bands
        self.stage_size = self.c_ig * phases * hb * ws  # a band's staged input (`_stage`)
        self.packing = Packing(transposed, groups, c_og, CB, self.taps, n_t, self.dtype)
        self.meta_pre = self.meta.copy()
        self.meta_pre[M_PRE] = 1

    def run(self, x4, w, b, y, pre, code, table, threads):
        """y (and pre, the pre-activation output, when it is not empty) of the op on x4 (C-contiguous), w, b."""
        wpk, bp = self.packing(w, b)
        has_pre = pre.size > 0
        meta = self.meta_pre if has_pre else self.meta
        if self.interleave:
            n, c = self.out_shape[:2]
            yb = np.empty((n, c, len(self.planes), self.mh, self.mw), self.dtype)
            pb = np.empty_like(yb) if has_pre else pre
        else:
            yb, pb = y, pre
        with scratch(min(threads, self.n_jobs), self.stage_size, self.dtype) as rows:
            run_jobs(_direct, self.n_jobs, threads, x4.reshape(-1), wpk, bp, yb.reshape(-1), pb.reshape(-1), code,
                     table, meta, self.k_in, self.k_w, self.n_taps, self.ext, rows)
        if self.interleave:
            sh, sw = self.out_stride
            for p, (r_h, r_w, m_h, m_w) in enumerate(self.planes):
                y[:, :, r_h::sh, r_w::sw] = yb[:, :, p, :m_h, :m_w]
                if has_pre:
                    pre[:, :, r_h::sh, r_w::sw] = pb[:, :, p, :m_h, :m_w]


class Depthwise(Direct):
    """The depthwise route of a conv2d with groups = C_in = C_out: `Direct`'s geometry (bands of output rows,
    staged input, tap offsets) for one channel per group, and `_depthwise`'s tiles of VD vectors of output
    positions, each holding its accumulators in registers across the taps. Arguments as `Direct`'s
    (``groups`` = the channels). Cost: O(N * C * taps * H_out * W_out) multiply-adds, the staging copy of
    the input, and per call the weights in (channel, tap) order, O(C * taps)."""

    def __init__(self, groups, planes, out_shape, x_hw, stride, pad, dtype, stage_bytes, min_jobs):
        super().__init__(False, groups, groups, 1, planes, out_shape, x_hw, stride, pad, (1, 1), dtype, stage_bytes,
                         min_jobs)
        self.packing = Packing(False, groups, 1, 1, self.taps, self.tap_off.shape[1], self.dtype)

    def run(self, x4, w, b, y, pre, code, table, threads):
        """y (and pre, the pre-activation output, when it is not empty) of the op on x4 (C-contiguous), w, b."""
        wd, bd = self.packing(w, b)
        meta = self.meta_pre if pre.size > 0 else self.meta
        with scratch(min(threads, self.n_jobs), self.stage_size, self.dtype) as rows:
            run_jobs(_depthwise, self.n_jobs, threads, x4.reshape(-1), wd, bd, y.reshape(-1), pre.reshape(-1), code,
                     table, meta, self.tap_off, self.n_taps, self.ext, rows)


# ------------------------------------------------------------------------------------------ channels in lanes
# meta vector of `_lanes`
(K_G, K_P, K_TILES, K_CIN, K_CIG, K_COG, K_NCB, K_CS, K_T, K_HW, K_WOUT, K_COUT, K_L) = range(13)
PB = 8  # output positions per register block of the channel layout (x 2 vectors of output channels)


@njit(nogil=True, cache=True, inline="always")
def _lane_tap(xs, off, w0, w1, i0, i1, i2, i3, i4, i5, i6, i7, a00, a01, a02, a03, a04, a05, a06, a07, a10, a11,
              a12, a13, a14, a15, a16, a17):
    """One tap of the channel-layout block: 8 input values (at off + i_j, broadcast) times 2 vectors of output
    channels' weights into the 16 accumulators a_vj (vector v of channels, position j)."""
    b = vbcast(xs, off + i0)
    a00, a10 = vfma(w0, b, a00), vfma(w1, b, a10)
    b = vbcast(xs, off + i1)
    a01, a11 = vfma(w0, b, a01), vfma(w1, b, a11)
    b = vbcast(xs, off + i2)
    a02, a12 = vfma(w0, b, a02), vfma(w1, b, a12)
    b = vbcast(xs, off + i3)
    a03, a13 = vfma(w0, b, a03), vfma(w1, b, a13)
    b = vbcast(xs, off + i4)
    a04, a14 = vfma(w0, b, a04), vfma(w1, b, a14)
    b = vbcast(xs, off + i5)
    a05, a15 = vfma(w0, b, a05), vfma(w1, b, a15)
    b = vbcast(xs, off + i6)
    a06, a16 = vfma(w0, b, a06), vfma(w1, b, a16)
    b = vbcast(xs, off + i7)
    a07, a17 = vfma(w0, b, a07), vfma(w1, b, a17)
    return a00, a01, a02, a03, a04, a05, a06, a07, a10, a11, a12, a13, a14, a15, a16, a17


@njit(nogil=True, cache=True, inline="always")
def _position(q0, j, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out):
    """(input offset, output offset, valid) of position q0 + j of a plane (mh x mw positions)."""
    q = q0 + j
    if q >= mh * mw:
        return 0, 0, False
    my = q // mw
    mx = q - my * mw
    return my * ish * ws + mx * isw, (rh + my * osh) * w_out + rw + mx * osw, True


@njit(nogil=True, cache=True, inline="always")
def _scatter2(y, at, hw, low, high, left, lv, valid):
    """The two channel vectors of one position, into y[at + c * hw] for the block's first ``left`` channels."""
    if valid:
        vscatter_n(y, at, hw, low, left)
        vscatter_n(y, at + lv * hw, hw, high, left - lv)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _lanes(jobs, xs, wpk, bp, y, meta, k_in, k_w, n_taps, planes):
    """The jobs (image, group, plane, block of PB output positions) it claims (`threads.claim`): every block
    of 2 vectors of output channels at those positions, stored by masked scatters into NCHW."""
    n_g, n_p, tiles, c_in, c_ig, c_og, ncb = meta[K_G], meta[K_P], meta[K_TILES], meta[K_CIN], meta[K_CIG], \
        meta[K_COG], meta[K_NCB]
    cs, n_t, hw, w_out, c_out, lv = meta[K_CS], meta[K_T], meta[K_HW], meta[K_WOUT], meta[K_COUT], meta[K_L]
    cw = 2 * lv  # output channels per block
    while True:
        job = claim(jobs)
        if job < 0:
            break
        tile = job % tiles
        r = job // tiles
        p = r % n_p
        r //= n_p
        g = r % n_g
        n = r // n_g
        mh, mw, ish, isw, rh, rw, osh, osw, ws = planes[p, 0], planes[p, 1], planes[p, 2], planes[p, 3], \
            planes[p, 4], planes[p, 5], planes[p, 6], planes[p, 7], planes[p, 8]
        q0 = tile * PB
        if q0 >= mh * mw:
            continue
        i0, o0, v0 = _position(q0, 0, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i1, o1, v1 = _position(q0, 1, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i2, o2, v2 = _position(q0, 2, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i3, o3, v3 = _position(q0, 3, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i4, o4, v4 = _position(q0, 4, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i5, o5, v5 = _position(q0, 5, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i6, o6, v6 = _position(q0, 6, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        i7, o7, v7 = _position(q0, 7, mh, mw, ish, isw, rh, rw, osh, osw, ws, w_out)
        nt = n_taps[p]
        xbase = (n * c_in + g * c_ig) * cs
        for cb in range(ncb):
            bb = (g * ncb + cb) * cw
            a00 = vload(bp, bb)
            a10 = vload(bp, bb + lv)
            a01, a02, a03, a04, a05, a06, a07 = a00, a00, a00, a00, a00, a00, a00
            a11, a12, a13, a14, a15, a16, a17 = a10, a10, a10, a10, a10, a10, a10
            wb = ((g * n_p + p) * ncb + cb) * c_ig * n_t * cw
            for k in range(c_ig * nt):  # (input channel, tap) pairs as one flat loop
                wt = wb + k_w[p, k]
                a00, a01, a02, a03, a04, a05, a06, a07, a10, a11, a12, a13, a14, a15, a16, a17 = _lane_tap(
                    xs, xbase + k_in[p, k], vload(wpk, wt), vload(wpk, wt + lv), i0, i1, i2, i3, i4, i5, i6, i7,
                    a00, a01, a02, a03, a04, a05, a06, a07, a10, a11, a12, a13, a14, a15, a16, a17)
            left = c_og - cb * cw  # output channels of this block that exist
            base = (n * c_out + g * c_og + cb * cw) * hw
            _scatter2(y, base + o0, hw, a00, a10, left, lv, v0)
            _scatter2(y, base + o1, hw, a01, a11, left, lv, v1)
            _scatter2(y, base + o2, hw, a02, a12, left, lv, v2)
            _scatter2(y, base + o3, hw, a03, a13, left, lv, v3)
            _scatter2(y, base + o4, hw, a04, a14, left, lv, v4)
            _scatter2(y, base + o5, hw, a05, a15, left, lv, v5)
            _scatter2(y, base + o6, hw, a06, a16, left, lv, v6)
            _scatter2(y, base + o7, hw, a07, a17, left, lv, v7)


class Lanes:
    """The channel-layout direct route of one planned op: output channels in the vector lanes, so that any
    width, stride and output phase fills them (a strided op reads its input at stride, a transposed op's
    phases are scattered straight into the output). Arguments as `Direct`'s; the input is staged once per
    call, zero-padded, O(N * C_in * H * W)."""

    def __init__(self, transposed, groups, c_in, c_og, planes, out_shape, x_hw, stride, pad, out_stride, dtype):
        self.transposed, self.groups, self.c_in, self.c_og = transposed, groups, c_in, c_og
        self.c_ig = c_in // groups
        self.out_shape, self.x_hw, self.pad = out_shape, x_hw, pad
        self.dtype = np.dtype(dtype)
        lv = lanes(self.dtype)
        self.cw = 2 * lv
        sh, sw = stride  # the input's stride (conv2d), 1 for a transposed op
        self.taps = [[(th, tw) for _, th, tw in p[4]] for p in planes]
        # real (row, column) offset of each tap in the padded input: phase a = a_h * s_w + a_w
        offsets = [[(row * sh + a // sw, col * sw + a % sw) for (a, row, col), _, _ in p[4]] for p in planes]
        rows = max([(m_h - 1) * sh + 1 + max([r for r, _ in o], default=0) for (_, _, m_h, _, _), o in
                    zip(planes, offsets, strict=True) if m_h > 0], default=1)
        cols = max([(m_w - 1) * sw + 1 + max([c for _, c in o], default=0) for (_, _, _, m_w, _), o in
                    zip(planes, offsets, strict=True) if m_w > 0], default=1)
        self.hp, self.wp = max(rows, pad[0] + x_hw[0]), max(cols, pad[1] + x_hw[1])
        n_t = max(1, max(len(t) for t in self.taps))
        self.tap_off = np.zeros((len(planes), n_t), np.int64)
        for i, o in enumerate(offsets):
            for t, (r, c) in enumerate(o):
                self.tap_off[i, t] = r * self.wp + c
        self.n_taps = np.array([len(t) for t in self.taps], np.int64)
        self.k_in, self.k_w = _pairs(self.n_taps, self.tap_off, self.c_ig, self.hp * self.wp, self.cw)
        osh, osw = out_stride
        self.planes = np.array([[m_h, m_w, sh, sw, r_h, r_w, osh, osw, self.wp] for r_h, r_w, m_h, m_w, _ in planes],
                               np.int64).reshape(-1, 9)
        self.ncb = -(-c_og // self.cw)
        tiles = max(1, max(-(-(m_h * m_w) // PB) for _, _, m_h, m_w, _ in planes))
        h_out, w_out = out_shape[2:]
        self.meta = np.array([groups, len(planes), tiles, c_in, self.c_ig, c_og, self.ncb, self.hp * self.wp, n_t,
                              h_out * w_out, w_out, out_shape[1], lv], np.int64)
        self.n_jobs = out_shape[0] * groups * len(planes) * tiles
        self.packing = Packing(transposed, groups, c_og, self.cw, self.taps, n_t, self.dtype)

    def run(self, x4, w, b, y, pre, code, table, threads):
        """y (and pre, the pre-activation output, when it is not empty) of the op on x4, w, b."""
        top, left = self.pad
        h, w_in = self.x_hw
        xs = np.zeros((x4.shape[0], x4.shape[1], self.hp, self.wp), self.dtype)
        xs[:, :, top : top + h, left : left + w_in] = x4
        wpk, bp = self.packing(w, b)
        run_jobs(_lanes, self.n_jobs, threads, xs.reshape(-1), wpk, bp, y.reshape(-1), self.meta,
                     self.k_in, self.k_w, self.n_taps, self.planes)
        if code != IDENTITY:
            if pre.size:
                pre[...] = y
            apply_in_place(code, table, y, threads)
