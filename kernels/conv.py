"""2-D convolution and transposed convolution with PyTorch semantics (NCHW, zero padding, groups).

Both run on :func:`kernels.gather.gather_planes`. The transposed convolution is computed in polyphase form:
output phase ``(r_h, r_w)`` (outputs ``y[r_h + s_h*m_h, r_w + s_w*m_w]``) receives ``x[m_h - q_h, m_w - q_w]``
from exactly the taps ``t`` with ``t*d - p = q*s + r`` per axis, so no multiply is spent on the zeros a
scatter formulation would insert. The convolution splits the padded input into its ``s_h * s_w`` stride
phases, so that every tap again reads a contiguous slice.
"""

import numpy as np

from ._args import as_batch, as_int, bias1, pair, unbatch, weight4
from .gather import gather_planes

CHUNK_BYTES = 2048  # accumulator row per job: BLOCK rows of this stay in L1


def _chunk(dtype):
    return CHUNK_BYTES // np.dtype(dtype).itemsize


def _flat_buffer(n_items, chunk, dtype):
    """Zeroed flat input buffer with ``chunk`` extra zeros at the end (the kernel's zero slice)."""
    return np.zeros(n_items + chunk, dtype=dtype)


def _phase_taps(k, s, d, p):
    """Polyphase tap tables of one axis of a transposed convolution.

    Tap ``t`` sends input ``i`` to output ``i*s + t*d - p = (i + q_t)*s + r_t``. Returns ``taps[r]`` and
    ``q[r]``: lists of the taps that reach output phase ``r`` and their shifts.
    """
    taps, qs = [[] for _ in range(s)], [[] for _ in range(s)]
    for t in range(k):
        q, r = divmod(t * d - p, s)
        taps[r].append(t)
        qs[r].append(q)
    return taps, qs


def _phase_pads(qs, n_in, n_out, s):
    """Zero padding (before, after) such that x[m - q + before] exists for every tap and m of its phase."""
    allq = [q for phase in qs for q in phase]
    m_max = -(-n_out // s)
    if not allq:
        return 0, max(0, m_max - n_in)
    before = max(0, max(allq))
    after = max(0, m_max - min(allq) - n_in, m_max - n_in - before)
    return before, after


def _plane_tables(planes):
    """Pack [(r_h, r_w, m_h, m_w, [(offset, t_h, t_w), ...]), ...] into the kernel's arrays."""
    width = max(1, max(len(p[4]) for p in planes))
    n = len(planes)
    p_r = np.zeros((n, 2), np.int64)
    p_m = np.zeros((n, 2), np.int64)
    p_cnt = np.zeros(n, np.int64)
    p_off = np.zeros((n, width), np.int64)
    p_tap = np.zeros((n, width, 2), np.int64)
    for i, (r_h, r_w, m_h, m_w, taps) in enumerate(planes):
        p_r[i] = r_h, r_w
        p_m[i] = m_h, m_w
        p_cnt[i] = len(taps)
        for a, (off, th, tw) in enumerate(taps):
            p_off[i, a] = off
            p_tap[i, a] = th, tw
    return p_r, p_m, p_cnt, p_off, p_tap


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Transposed 2-D convolution, exactly ``torch.nn.functional.conv_transpose2d``.

    Per spatial axis ``y[n, g*C_og + o, i*s + t*d - p] += x[n, g*C_ig + c, i] * w[g*C_ig + c, o, t]``, plus
    ``bias[o]``; output size ``(H - 1)*s - 2p + d*(k - 1) + op + 1``. ``x`` is NCHW (or CHW, giving CHW),
    ``weight`` ``(C_in, C_out/groups, kH, kW)``; the result has ``x``'s dtype (float32 or float64).
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
    for axis, op_, s_, d_ in ((0, oph, sh, dh), (1, opw, sw, dw)):
        if op_ >= max(s_, d_):
            raise ValueError(f"{fn}: output_padding[{axis}]={op_} must be smaller than either stride ({s_}) "
                             f"or dilation ({d_})")
    c_og, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    c_ig, c_out = c_in // groups, c_og * groups
    h_out = (h_in - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w_out = (w_in - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the output size ({h_out}, {w_out}) must be positive; reduce padding")
    b = bias1(fn, bias, c_out, dtype)
    taps_h, qs_h = _phase_taps(kh, sh, dh, ph)
    taps_w, qs_w = _phase_taps(kw, sw, dw, pw)
    top, bottom = _phase_pads(qs_h, h_in, h_out, sh)
    left, right = _phase_pads(qs_w, w_in, w_out, sw)
    hp, wp = h_in + top + bottom, w_in + left + right
    chunk = _chunk(dtype)
    xf = _flat_buffer(n_batch * c_in * hp * wp, chunk, dtype)
    interior = xf[: n_batch * c_in * hp * wp].reshape(n_batch, c_in, hp, wp)
    interior[:, :, top : top + h_in, left : left + w_in] = x4
    planes = []
    for r_h in range(sh):
        for r_w in range(sw):
            taps = [((top - q_h) * wp + left - q_w, t_h, t_w)
                    for t_h, q_h in zip(taps_h[r_h], qs_h[r_h], strict=True)
                    for t_w, q_w in zip(taps_w[r_w], qs_w[r_w], strict=True)]
            planes.append((r_h, r_w, max(0, -(-(h_out - r_h) // sh)), max(0, -(-(w_out - r_w) // sw)), taps))
    # The kernel wants weights as (C_out, C_in/groups, kH, kW).
    wk = np.ascontiguousarray(w.reshape(groups, c_ig, c_og, kh, kw).transpose(0, 2, 1, 3, 4)
                              ).reshape(c_out, c_ig, kh, kw)
    y = np.empty((n_batch, c_out, h_out, w_out), dtype=dtype)
    tables = _plane_tables(planes)
    gather_planes(xf, c_in * hp * wp, hp * wp, xf.size - chunk, wk, b, y, groups, wp, chunk, *tables, sh, sw)
    return unbatch(y, squeeze)


def _padding4(fn, padding):
    """padding as (top, bottom, left, right) from an int, a pair (h, w), or a 4-tuple."""
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) == 4:
        return tuple(as_int(fn, "padding", v, 0) for v in padding)
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) != 2:
        raise ValueError(f"{fn}: padding must be an int, a pair (h, w) or (top, bottom, left, right), "
                         f"got {padding!r}")
    ph, pw = pair(fn, "padding", padding, 0)
    return ph, ph, pw, pw


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), exactly ``torch.nn.functional.conv2d`` with zero padding.

    Per spatial axis ``y[n, g*C_og + o, i] = bias[o] + sum_{c, t} w[g*C_og + o, c, t] * xpad[n, g*C_ig + c,
    i*s + t*d]``; ``padding`` is an int, a pair, or ``(top, bottom, left, right)``; output size
    ``(H + p_before + p_after - d*(k - 1) - 1) // s + 1``; ``weight`` is ``(C_out, C_in/groups, kH, kW)``.
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
        raise ValueError(f"{fn}: weight has {c_ig} input channels per group but x has {c_in // groups} "
                         f"({c_in} channels in {groups} group(s))")
    h_out = (h_in + pt + pb - dh * (kh - 1) - 1) // sh + 1
    w_out = (w_in + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the padded input ({h_in + pt + pb}, {w_in + pl + pr}) is smaller than the "
                         f"dilated kernel ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1})")
    b = bias1(fn, bias, c_out, dtype)
    # Zero-pad and split into stride phases: xs[n, c, a, b, i, j] = xpad[n, c, i*s_h + a, j*s_w + b].
    hq, wq = -(-(h_in + pt + pb) // sh), -(-(w_in + pl + pr) // sw)
    chunk = _chunk(dtype)
    size = n_batch * c_in * hq * wq * sh * sw
    xf = _flat_buffer(size, chunk, dtype)
    if sh == sw == 1:
        xf[:size].reshape(n_batch, c_in, hq, wq)[:, :, pt : pt + h_in, pl : pl + w_in] = x4
    else:
        xpad = np.zeros((n_batch, c_in, hq * sh, wq * sw), dtype=dtype)
        xpad[:, :, pt : pt + h_in, pl : pl + w_in] = x4
        xf[:size].reshape(n_batch, c_in, sh, sw, hq, wq)[...] = (
            xpad.reshape(n_batch, c_in, hq, sh, wq, sw).transpose(0, 1, 3, 5, 2, 4))
    taps = []
    for th in range(kh):
        qh, ah = divmod(th * dh, sh)
        for tw in range(kw):
            qw, aw = divmod(tw * dw, sw)
            taps.append((((ah * sw + aw) * hq + qh) * wq + qw, th, tw))
    y = np.empty((n_batch, c_out, h_out, w_out), dtype=dtype)
    tables = _plane_tables([(0, 0, h_out, w_out, taps)])
    plane = sh * sw * hq * wq
    gather_planes(xf, c_in * plane, plane, xf.size - chunk, w, b, y, groups, wq, chunk, *tables, 1, 1)
    return unbatch(y, squeeze)
