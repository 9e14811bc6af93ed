"""2-D convolution and transposed convolution with PyTorch semantics (NCHW, zero padding, groups).

Two formulations per operator, chosen by :func:`_use_gemm` from the channel product:

* direct gather (few channels): one output row per parallel job, summing only the taps that hit it.
  For the transposed convolution this is the polyphase form: output column ``o = r + s*m`` of phase ``r``
  receives ``x[m - q_t]`` from every tap ``t`` with ``t*d - p = q_t*s + r``; the input is zero-padded so
  every tap reads a full contiguous slice, and taps are summed four at a time.
* GEMM (many channels): the channel contraction is one BLAS matmul in NumPy (which releases the GIL),
  the spatial part a race-free Numba gather (``col2im`` for the transposed convolution, ``im2col`` for
  the convolution), processed in row chunks that stay in cache.
"""

import numpy as np
from numba import njit, prange

from ._args import as_batch, as_int, bias1, pair, unbatch, weight4
from ._config import kernel

# Use the GEMM path when (C_in/groups) * (C_out/groups) reaches this; below it the direct kernels win.
GEMM_MIN_CHANNEL_PRODUCT = 256
# Target size of one chunk of the GEMM scratch matrix (fits the L2/L3 caches of a typical core pair).
GEMM_CHUNK_BYTES = 2 << 20


def _use_gemm(c_ig, c_og):
    return c_ig * c_og >= GEMM_MIN_CHANNEL_PRODUCT


# --------------------------------------------------------------------------------------------------
# conv_transpose2d
# --------------------------------------------------------------------------------------------------


def _phase_taps(k, s, d, p):
    """Polyphase tap tables of one axis of a transposed convolution.

    Tap ``t`` sends input ``i`` to output ``i*s + t*d - p = (i + q_t)*s + r_t``. Returns ``taps[r, j]``,
    ``q[r, j]`` (for ``j < count[r]``) and ``count[r]``: the taps of output phase ``r``.
    """
    e = np.arange(k, dtype=np.int64) * d - p
    q = np.floor_divide(e, s)
    r = e - q * s
    count = np.bincount(r, minlength=s).astype(np.int64)
    width = max(1, int(count.max()))
    taps = np.zeros((s, width), np.int64)
    qs = np.zeros((s, width), np.int64)
    for phase in range(s):
        idx = np.flatnonzero(r == phase)
        taps[phase, : idx.size] = idx
        qs[phase, : idx.size] = q[idx]
    return taps, qs, count


@njit(nogil=True, cache=True)
def _ct_term(xp, w, j, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw, tap_h, q_h, tap_w, q_w, m_len):
    """Term ``j`` of one output row and phase: the input slice it adds and its weight."""
    c = g * c_ig + j // per_c
    rem = j % per_c
    a = rem // ntw
    bb = rem - a * ntw
    ih = mh - q_h[rh, a] + lh
    iw = lw - q_w[rw, bb]
    return xp[n, c, ih, iw : iw + m_len], w[c, oo, tap_h[rh, a], tap_w[rw, bb]]


@kernel
def _conv_transpose2d_direct(xp, w, b, y, sh, sw, lh, lw, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w, groups):
    """y[n, o, r_h + s_h*m_h, r_w + s_w*m_w] = b[o] + sum w[c, o, t_h, t_w] * xp[n, c, m_h - q_h + lh, m_w - q_w + lw]."""
    n_batch, c_in = xp.shape[0], xp.shape[1]
    c_og = w.shape[1]
    c_out, h_out, w_out = y.shape[1], y.shape[2], y.shape[3]
    c_ig = c_in // groups
    m_max = (w_out + sw - 1) // sw
    for job in prange(n_batch * c_out * h_out):
        oh = job % h_out
        no = job // h_out
        o = no % c_out
        n = no // c_out
        g = o // c_og
        oo = o - g * c_og
        rh = oh % sh
        mh = oh // sh
        nth = cnt_h[rh]
        bo = b[o]
        yrow = y[n, o, oh]
        acc = np.empty(m_max, dtype=y.dtype)
        for rw in range(min(sw, w_out)):
            m_len = (w_out - rw + sw - 1) // sw
            ntw = cnt_w[rw]
            per_c = nth * ntw
            n_terms = c_ig * per_c
            for m in range(m_len):
                acc[m] = bo
            j = 0
            while j + 4 <= n_terms:
                x0, w0 = _ct_term(xp, w, j, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw,
                                  tap_h, q_h, tap_w, q_w, m_len)
                x1, w1 = _ct_term(xp, w, j + 1, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw,
                                  tap_h, q_h, tap_w, q_w, m_len)
                x2, w2 = _ct_term(xp, w, j + 2, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw,
                                  tap_h, q_h, tap_w, q_w, m_len)
                x3, w3 = _ct_term(xp, w, j + 3, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw,
                                  tap_h, q_h, tap_w, q_w, m_len)
                for m in range(m_len):
                    acc[m] += (w0 * x0[m] + w1 * x1[m]) + (w2 * x2[m] + w3 * x3[m])
                j += 4
            while j < n_terms:
                x0, w0 = _ct_term(xp, w, j, n, g, c_ig, oo, per_c, ntw, rh, rw, mh, lh, lw,
                                  tap_h, q_h, tap_w, q_w, m_len)
                for m in range(m_len):
                    acc[m] += w0 * x0[m]
                j += 1
            for m in range(m_len):
                yrow[rw + sw * m] = acc[m]


@kernel
def _col2im_add(cols, y, i0, oh_lo, oh_hi, sh, sw, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w):
    """y[n, o, i*s_h + e_h, j*s_w + e_w] += cols[n, o, t_h, t_w, i - i0, j] for output rows [oh_lo, oh_hi)."""
    n_batch, c_out, rows, w_in = cols.shape[0], cols.shape[1], cols.shape[4], cols.shape[5]
    w_out = y.shape[3]
    n_rows = oh_hi - oh_lo
    for job in prange(n_batch * c_out * n_rows):
        oh = oh_lo + job % n_rows
        no = job // n_rows
        o = no % c_out
        n = no // c_out
        rh = oh % sh
        mh = oh // sh
        yrow = y[n, o, oh]
        for a in range(cnt_h[rh]):
            i = mh - q_h[rh, a] - i0
            if i < 0 or i >= rows:
                continue
            th = tap_h[rh, a]
            for rw in range(min(sw, w_out)):
                m_len = (w_out - rw + sw - 1) // sw
                for bb in range(cnt_w[rw]):
                    q = q_w[rw, bb]
                    src = cols[n, o, th, tap_w[rw, bb], i]
                    m0 = max(0, q)
                    m1 = min(m_len, w_in + q)
                    for m in range(m0, m1):
                        yrow[rw + sw * m] += src[m - q]


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Transposed 2-D convolution, exactly ``torch.nn.functional.conv_transpose2d``.

    ``y[n, g*C_og + o, i*s - p + t*d] += x[n, g*C_ig + c, i] * w[g*C_ig + c, o, t]`` per spatial axis, plus
    ``bias[o]``; output size ``(H - 1)*s - 2p + d*(k - 1) + op + 1``. ``x`` is NCHW (or CHW, returning CHW),
    ``weight`` is ``(C_in, C_out/groups, kH, kW)``; the result has ``x``'s dtype (float32 or float64).
    """
    fn = "conv_transpose2d"
    x4, squeeze = as_batch(fn, x)
    dtype = x4.dtype
    w = weight4(fn, weight, dtype)
    sh, sw = pair(fn, "stride", stride, 1)
    ph, pw = pair(fn, "padding", padding, 0)
    oph, opw = pair(fn, "output_padding", output_padding, 0)
    dh, dw = pair(fn, "dilation", dilation, 1)
    groups = as_int(fn, "groups", groups, 1)
    n_batch, c_in, h_in, w_in = x4.shape
    if c_in % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_in} input channels of x")
    if w.shape[0] != c_in:
        raise ValueError(f"{fn}: weight has {w.shape[0]} input channels but x has {c_in}")
    for name, op_, s_, d_ in (("output_padding[0]", oph, sh, dh), ("output_padding[1]", opw, sw, dw)):
        if op_ >= max(s_, d_):
            raise ValueError(f"{fn}: {name}={op_} must be smaller than stride ({s_}) or dilation ({d_})")
    c_og, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    c_ig, c_out = c_in // groups, c_og * groups
    h_out = (h_in - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w_out = (w_in - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the output size ({h_out}, {w_out}) must be positive; reduce padding")
    b = bias1(fn, bias, c_out, dtype)
    tap_h, q_h, cnt_h = _phase_taps(kh, sh, dh, ph)
    tap_w, q_w, cnt_w = _phase_taps(kw, sw, dw, pw)
    y = np.empty((n_batch, c_out, h_out, w_out), dtype=dtype)
    if _use_gemm(c_ig, c_og):
        _conv_transpose2d_gemm(x4, w, b, y, sh, sw, dh, ph, groups, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w)
    else:
        # Zero-pad x so every tap of every output phase reads a full slice x[m - q + l].
        lh, lw = max(0, int(q_h.max())), max(0, int(q_w.max()))
        rh = max(0, (h_out + sh - 1) // sh - int(q_h.min()) - h_in)
        rw = max(0, (w_out + sw - 1) // sw - int(q_w.min()) - w_in)
        xp = np.pad(x4, ((0, 0), (0, 0), (lh, rh), (lw, rw)))
        _conv_transpose2d_direct(xp, w, b, y, sh, sw, lh, lw, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w, groups)
    return unbatch(y, squeeze)


def _conv_transpose2d_gemm(x4, w, b, y, sh, sw, dh, ph, groups, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w):
    """cols = W^T @ X per group (BLAS), then the col2im gather, one chunk of input rows at a time."""
    n_batch, c_in, h_in, w_in = x4.shape
    c_og, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    c_ig, c_out, h_out = c_in // groups, c_og * groups, y.shape[2]
    wt = np.ascontiguousarray(w.reshape(groups, c_ig, c_og * kh * kw).transpose(0, 2, 1))
    x5 = x4.reshape(n_batch, groups, c_ig, h_in, w_in)
    y[...] = b[None, :, None, None]
    row_bytes = n_batch * c_out * kh * kw * w_in * x4.itemsize
    rows = max(1, min(h_in, GEMM_CHUNK_BYTES // row_bytes))
    e_lo, e_hi = -ph, (kh - 1) * dh - ph
    for i0 in range(0, h_in, rows):
        i1 = min(h_in, i0 + rows)
        xc = x5[:, :, :, i0:i1, :].reshape(n_batch, groups, c_ig, (i1 - i0) * w_in)
        cols = np.matmul(wt, xc).reshape(n_batch, c_out, kh, kw, i1 - i0, w_in)
        oh_lo = max(0, i0 * sh + e_lo)
        oh_hi = min(h_out, (i1 - 1) * sh + e_hi + 1)
        if oh_lo < oh_hi:
            _col2im_add(cols, y, i0, oh_lo, oh_hi, sh, sw, tap_h, q_h, cnt_h, tap_w, q_w, cnt_w)


# --------------------------------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------------------------------


@kernel
def _conv2d_direct(xs, w, b, y, sh, dh, dw, groups):
    """y[n, o, i, j] = b[o] + sum w[o, c, t_h, t_w] * xs[n, c, i*s_h + t_h*d_h, (t_w*d_w) % s_w, j + (t_w*d_w) // s_w]."""
    n_batch, c_in, sw = xs.shape[0], xs.shape[1], xs.shape[3]
    c_out, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    h_out, w_out = y.shape[2], y.shape[3]
    c_ig, c_og = c_in // groups, c_out // groups
    per_c = kh * kw
    n_terms = c_ig * per_c
    for job in prange(n_batch * c_out * h_out):
        oh = job % h_out
        no = job // h_out
        o = no % c_out
        n = no // c_out
        c0 = (o // c_og) * c_ig
        yrow = y[n, o, oh]
        bo = b[o]
        for m in range(w_out):
            yrow[m] = bo
        j = 0
        while j + 4 <= n_terms:
            x0, w0 = _conv_term(xs, w, j, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out)
            x1, w1 = _conv_term(xs, w, j + 1, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out)
            x2, w2 = _conv_term(xs, w, j + 2, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out)
            x3, w3 = _conv_term(xs, w, j + 3, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out)
            for m in range(w_out):
                yrow[m] += (w0 * x0[m] + w1 * x1[m]) + (w2 * x2[m] + w3 * x3[m])
            j += 4
        while j < n_terms:
            x0, w0 = _conv_term(xs, w, j, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out)
            for m in range(w_out):
                yrow[m] += w0 * x0[m]
            j += 1


@njit(nogil=True, cache=True)
def _conv_term(xs, w, j, n, o, c0, oh, sh, dh, dw, sw, kw, per_c, w_out):
    """Term ``j`` of one conv2d output row: the input slice it adds and its weight."""
    c = j // per_c
    rem = j - c * per_c
    th = rem // kw
    tw = rem - th * kw
    e = tw * dw
    col = e // sw
    return xs[n, c0 + c, oh * sh + th * dh, e - col * sw, col : col + w_out], w[o, c, th, tw]


@kernel
def _im2col(xs, cols, oh0, sh, dh, dw):
    """cols[n, c, t_h, t_w, r, j] = xs[n, c, (oh0 + r)*s_h + t_h*d_h, (t_w*d_w) % s_w, j + (t_w*d_w) // s_w]."""
    n_batch, c_in, kh, kw, rows, w_out = cols.shape
    sw = xs.shape[3]
    for job in prange(n_batch * c_in * kh * kw * rows):
        r = job % rows
        t = job // rows
        tw = t % kw
        t //= kw
        th = t % kh
        t //= kh
        c = t % c_in
        n = t // c_in
        e = tw * dw
        col = e // sw
        src = xs[n, c, (oh0 + r) * sh + th * dh, e - col * sw, col : col + w_out]
        dst = cols[n, c, th, tw, r]
        for m in range(w_out):
            dst[m] = src[m]


def _padding4(fn, padding):
    """padding as (top, bottom, left, right): an int, a pair (h, w), or a 4-tuple."""
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) == 4:
        return tuple(as_int(fn, "padding", v, 0) for v in padding)
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) != 2:
        raise ValueError(f"{fn}: padding must be an int, a pair (h, w) or (top, bottom, left, right), "
                         f"got {padding!r}")
    ph, pw = pair(fn, "padding", padding, 0)
    return ph, ph, pw, pw


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), exactly ``torch.nn.functional.conv2d`` with zero padding.

    ``y[n, g*C_og + o, i] = bias[o] + sum_{c, t} w[g*C_og + o, c, t] * xpad[n, g*C_ig + c, i*s + t*d]`` per
    spatial axis; ``padding`` is an int, a pair, or ``(top, bottom, left, right)``; output size
    ``(H + p_before + p_after - d*(k - 1) - 1) // s + 1``. ``weight`` is ``(C_out, C_in/groups, kH, kW)``.
    """
    fn = "conv2d"
    x4, squeeze = as_batch(fn, x)
    dtype = x4.dtype
    w = weight4(fn, weight, dtype)
    sh, sw = pair(fn, "stride", stride, 1)
    pt, pb, pl, pr = _padding4(fn, padding)
    dh, dw = pair(fn, "dilation", dilation, 1)
    groups = as_int(fn, "groups", groups, 1)
    n_batch, c_in, h_in, w_in = x4.shape
    c_out, c_ig, kh, kw = w.shape
    if c_in % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_in} input channels of x")
    if c_out % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_out} output channels of weight")
    if c_ig * groups != c_in:
        raise ValueError(f"{fn}: weight has {c_ig} input channels per group but x has {c_in} channels "
                         f"in {groups} group(s), i.e. {c_in // groups} per group")
    h_out = (h_in + pt + pb - dh * (kh - 1) - 1) // sh + 1
    w_out = (w_in + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the padded input ({h_in + pt + pb}, {w_in + pl + pr}) is smaller than the "
                         f"dilated kernel ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1})")
    b = bias1(fn, bias, c_out, dtype)
    # Zero-pad, then split the columns into their s_w phases: xs[..., ph, m] = xpad[..., ph + s_w*m].
    hp = h_in + pt + pb
    wq = -(-(w_in + pl + pr) // sw)
    xp = np.zeros((n_batch, c_in, hp, wq * sw), dtype=dtype)
    xp[:, :, pt : pt + h_in, pl : pl + w_in] = x4
    xs = np.ascontiguousarray(xp.reshape(n_batch, c_in, hp, wq, sw).transpose(0, 1, 2, 4, 3))
    y = np.empty((n_batch, c_out, h_out, w_out), dtype=dtype)
    c_og = c_out // groups
    if _use_gemm(c_ig, c_og):
        w3 = w.reshape(groups, c_og, c_ig * kh * kw)
        row_bytes = n_batch * c_in * kh * kw * w_out * x4.itemsize
        rows = max(1, min(h_out, GEMM_CHUNK_BYTES // row_bytes))
        for oh0 in range(0, h_out, rows):
            oh1 = min(h_out, oh0 + rows)
            cols = np.empty((n_batch, c_in, kh, kw, oh1 - oh0, w_out), dtype=dtype)
            _im2col(xs, cols, oh0, sh, dh, dw)
            prod = np.matmul(w3, cols.reshape(n_batch, groups, c_ig * kh * kw, (oh1 - oh0) * w_out))
            np.add(prod.reshape(n_batch, c_out, oh1 - oh0, w_out), b[None, :, None, None],
                   out=y[:, :, oh0:oh1, :])
    else:
        _conv2d_direct(xs, w, b, y, sh, dh, dw, groups)
    return unbatch(y, squeeze)
