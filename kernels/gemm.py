"""Pointwise convolutions as one matrix product (BLAS through ``numpy.matmul``), for many channels.

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
direct formula. BLAS runs on its own threads, so `conv.py` uses this only when the caller allows every core.
"""

import numpy as np
from numba import njit

from .activations import IDENTITY, activate
from .jit import FASTMATH
from .threads import parallel_for


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
                        activate(code, table[o, 0], table[o, 1], row, 0, row, 0, w_in)
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
