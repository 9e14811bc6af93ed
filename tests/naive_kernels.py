"""Slow, obviously-correct NumPy references for the kernels (stumpy style), independent of kernels/.

Each function is the textbook definition written as directly as possible: the transposed convolution
as a scatter-add, the convolution as a sum over taps of shifted slices of the zero-padded input, the
resampling operators by their index formulas. They compute in float64 and return float64.
"""

import math

import numpy as np


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def conv_transpose2d(x, w, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """y[n, g*C_og + o, i*s + t*d - p] += x[n, g*C_ig + c, i] * w[g*C_ig + c, o, t] (per axis), + bias[o]."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    n_batch, c_in, h, wd = x.shape
    c_og, kh, kw = w.shape[1:]
    c_ig = c_in // groups
    # Full (uncropped) output: index i*s + t*d, length (H - 1)*s + d*(k - 1) + 1 + op.
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + opw
    full = np.zeros((n_batch, c_og * groups, full_h, full_w))
    for n in range(n_batch):
        for g in range(groups):
            for c in range(c_ig):
                for o in range(c_og):
                    for i in range(h):
                        for j in range(wd):
                            for th in range(kh):
                                for tw in range(kw):
                                    full[n, g * c_og + o, i * sh + th * dh, j * sw + tw * dw] += (
                                        x[n, g * c_ig + c, i, j] * w[g * c_ig + c, o, th, tw])
    y = full[:, :, ph : full_h - ph, pw : full_w - pw]
    if bias is not None:
        y = y + np.asarray(bias, np.float64)[None, :, None, None]
    return y


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, g*C_og + o, i, j] = sum_{c, t} w[g*C_og + o, c, t] * xpad[n, g*C_ig + c, i*s + t*d] per axis.

    ``padding`` is an int, (h, w) or (top, bottom, left, right).
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    pad = _pair(padding)
    pt, pb, pl, pr = (pad[0], pad[0], pad[1], pad[1]) if len(pad) == 2 else pad
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n_batch, c_in, hp, wp = xp.shape
    c_out, c_ig, kh, kw = w.shape
    c_og = c_out // groups
    h_out = (hp - dh * (kh - 1) - 1) // sh + 1
    w_out = (wp - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n_batch, c_out, h_out, w_out))
    for n in range(n_batch):
        for o in range(c_out):
            g = o // c_og
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0
                    for c in range(c_ig):
                        for th in range(kh):
                            for tw in range(kw):
                                xv = xp[n, g * c_ig + c, i * sh + th * dh, j * sw + tw * dw]
                                total += w[o, c, th, tw] * xv
                    y[n, o, i, j] = total
    if bias is not None:
        y += np.asarray(bias, np.float64)[None, :, None, None]
    return y


def upsample_nearest2d(x, scale):
    """y[..., i, j] = x[..., i // s_h, j // s_w]."""
    x = np.asarray(x, np.float64)
    sh, sw = _pair(scale)
    h, w = x.shape[-2:]
    y = np.empty((*x.shape[:-2], h * sh, w * sw))
    for i in range(h * sh):
        for j in range(w * sw):
            y[..., i, j] = x[..., i // sh, j // sw]
    return y


def _linear_1d(n_in, s):
    """PyTorch align_corners=False source indices and weights of one axis: (i0, i1, l0, l1) per output."""
    out = []
    for o in range(n_in * s):
        src = max((o + 0.5) / s - 0.5, 0.0)
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        l1 = src - i0
        out.append((i0, i1, 1.0 - l1, l1))
    return out


def upsample_bilinear2d(x, scale):
    """PyTorch bilinear, align_corners=False: y = sum of the 4 neighbours with weights l_h * l_w."""
    x = np.asarray(x, np.float64)
    sh, sw = _pair(scale)
    h, w = x.shape[-2:]
    y = np.empty((*x.shape[:-2], h * sh, w * sw))
    for i, (a0, a1, la0, la1) in enumerate(_linear_1d(h, sh)):
        for j, (b0, b1, lb0, lb1) in enumerate(_linear_1d(w, sw)):
            y[..., i, j] = (la0 * (lb0 * x[..., a0, b0] + lb1 * x[..., a0, b1])
                            + la1 * (lb0 * x[..., a1, b0] + lb1 * x[..., a1, b1]))
    return y


def pixel_shuffle(x, r):
    """y[..., c, h*r + i, w*r + j] = x[..., c*r^2 + i*r + j, h, w]."""
    x = np.asarray(x, np.float64)
    *lead, c, h, w = x.shape
    y = np.empty((*lead, c // (r * r), h * r, w * r))
    for co in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                y[..., co, i::r, j::r] = x[..., co * r * r + i * r + j, :, :]
    return y


def _map(f, x):
    """f applied element by element in float64 (Python's math module: the textbook formula, no vectorisation)."""
    x = np.asarray(x, np.float64)
    return np.array([f(float(v)) for v in x.ravel()], np.float64).reshape(x.shape)


def relu(x):
    return _map(lambda v: v if math.isnan(v) else max(v, 0.0), x)


def relu6(x):
    return hardtanh(x, 0.0, 6.0)


def leaky_relu(x, negative_slope=0.01):
    return _map(lambda v: v if v > 0 else negative_slope * v, x)


def prelu(x, weight):
    """Channel axis 1 (none for 1-D input); weight has 1 or C values."""
    x = np.asarray(x, np.float64)
    w = np.asarray(weight, np.float64).ravel()
    shape = [1] * x.ndim
    if x.ndim >= 2 and w.size > 1:
        shape[1] = w.size
    slope = np.broadcast_to(w.reshape(shape) if w.size > 1 else w[0], x.shape)
    return np.where(x > 0, x, slope * x)


def elu(x, alpha=1.0):
    return _map(lambda v: v if v > 0 or math.isnan(v) else alpha * math.expm1(v), x)


def _exp(v):
    return math.inf if v > 709 else math.exp(v)


def silu(x):
    return _map(lambda v: math.nan if v == -math.inf else v / (1.0 + _exp(-v)), x)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        return _map(lambda v: 0.5 * v * (1.0 + math.tanh(c * (v + 0.044715 * v**3))) if math.isfinite(v)
                    else (v if v > 0 or math.isnan(v) else math.nan), x)
    return _map(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2))) if math.isfinite(v)
                else (v if v > 0 or math.isnan(v) else math.nan), x)


def tanh(x):
    return _map(math.tanh, x)


def sigmoid(x):
    return _map(lambda v: 1.0 / (1.0 + _exp(-v)), x)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    return _map(lambda v: v if math.isnan(v) else min(max(v, min_val), max_val), x)


def hardswish(x):
    return _map(lambda v: v if math.isnan(v) else v * min(max(v + 3.0, 0.0), 6.0) / 6.0, x)


def hardsigmoid(x):
    return _map(lambda v: v if math.isnan(v) else min(max(v + 3.0, 0.0), 6.0) / 6.0, x)


def mish(x):
    def one(v):
        softplus = v if v > 20 else math.log1p(math.exp(v))  # log1p(exp(v)) == v to double precision there
        return v * math.tanh(softplus)
    return _map(one, x)
