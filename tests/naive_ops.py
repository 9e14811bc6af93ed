"""Slow, obviously-correct NumPy references for kernels.pad, pool, norm and resample.

Each loops over output pixels and evaluates the definition (PyTorch's documented formulas and its CPU
kernels' index arithmetic) with Python scalars; nothing is vectorised or shared with the kernels. Inputs are
NCHW arrays; results are float64 unless the operation is a copy (then the input's dtype).
"""

import math

import numpy as np

F32 = np.float32


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ---------------------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------------------


def _pad_index(mode, n, before, after, j):
    """The input index that output j of a padded axis reads, or None for the constant value."""
    if mode == "circular":
        kept = list(range(max(0, -before), n - max(0, -after)))  # crop first, then wrap around what is left
        return kept[(j - max(0, before)) % len(kept)]
    m = j - before
    if mode == "constant":
        return m if 0 <= m < n else None
    if mode == "replicate":
        return min(max(m, 0), n - 1)
    while m < 0 or m > n - 1:  # reflect: mirror at the edges, which are not repeated
        m = -m if m < 0 else 2 * (n - 1) - m
    return m


def pad(x, pad, mode="constant", value=0.0):
    left, right, top, bottom = (*pad, 0, 0)[:4]
    n, c, h, w = x.shape
    y = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    for i in range(y.shape[2]):
        si = _pad_index(mode, h, top, bottom, i)
        for j in range(y.shape[3]):
            sj = _pad_index(mode, w, left, right, j)
            if si is not None and sj is not None:
                y[:, :, i, j] = x[:, :, si, sj]
    return y


# ---------------------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------------------


def pool_output_size(n, k, s, p, d, ceil_mode):
    """floor (or ceil) of (n + 2p - d(k-1) - 1)/s, plus 1; with ceil_mode the last window must start inside
    the input or its left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else math.floor(span / s)) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    sh, sw = _pair(kernel_size if stride is None else stride)
    n, c, h, w = x.shape
    ho, wo = pool_output_size(h, kh, sh, ph, 1, ceil_mode), pool_output_size(w, kw, sw, pw, 1, ceil_mode)
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
            padded_count = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            if h0 >= h1 or w0 >= w1:
                continue
            total = x[:, :, h0:h1, w0:w1].astype(np.float64).sum(axis=(2, 3))
            divisor = (divisor_override if divisor_override is not None else
                       padded_count if count_include_pad else (h1 - h0) * (w1 - w0))
            y[:, :, i, j] = total / divisor
    return y


def _nan_max(values):
    values = [float(v) for v in values]
    if any(math.isnan(v) for v in values):
        return math.nan
    return max(values, default=-math.inf)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sh, sw = _pair(kernel_size if stride is None else stride)
    n, c, h, w = x.shape
    ho, wo = pool_output_size(h, kh, sh, ph, dh, ceil_mode), pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        rows = [i * sh - ph + t * dh for t in range(kh) if 0 <= i * sh - ph + t * dh < h]
        for j in range(wo):
            cols = [j * sw - pw + t * dw for t in range(kw) if 0 <= j * sw - pw + t * dw < w]
            for b in range(n):
                for ch in range(c):
                    y[b, ch, i, j] = _nan_max([x[b, ch, r, q] for r in rows for q in cols])
    return y


def _adaptive_windows(n, m):
    return [((o * n) // m, -((-(o + 1) * n) // m)) for o in range(m)]


def _adaptive(x, output_size, reduce):
    """``reduce`` of every adaptive window, per image and channel."""
    n, c, h, w = x.shape
    mh, mw = (h if v is None else v for v in _pair(output_size))
    y = np.zeros((n, c, mh, mw))
    for i, (h0, h1) in enumerate(_adaptive_windows(h, mh)):
        for j, (w0, w1) in enumerate(_adaptive_windows(w, mw)):
            for b in range(n):
                for ch in range(c):
                    y[b, ch, i, j] = reduce(x[b, ch, h0:h1, w0:w1].ravel())
    return y


def adaptive_avg_pool2d(x, output_size):
    return _adaptive(x, output_size, lambda v: v.astype(np.float64).mean())


def adaptive_max_pool2d(x, output_size):
    return _adaptive(x, output_size, _nan_max)


# ---------------------------------------------------------------------------------------------------------
# Normalisation: mean and biased variance of each group in float64, then the affine map
# ---------------------------------------------------------------------------------------------------------


def _standardize(values, eps):
    v = values.astype(np.float64)
    return (v - v.mean()) / math.sqrt(v.var() + eps)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, eps=1e-5):
    n, c = x.shape[:2]
    weight = np.ones(c) if weight is None else weight
    bias = np.zeros(c) if bias is None else bias
    y = np.zeros(x.shape)
    for ch in range(c):
        if training:
            y[:, ch] = _standardize(x[:, ch], eps)
        else:
            y[:, ch] = (x[:, ch] - float(running_mean[ch])) / math.sqrt(float(running_var[ch]) + eps)
        y[:, ch] = y[:, ch] * float(weight[ch]) + float(bias[ch])
    return y


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[:2]
    size = c // num_groups
    weight = np.ones(c) if weight is None else weight
    bias = np.zeros(c) if bias is None else bias
    y = np.zeros(x.shape)
    for b in range(n):
        for g in range(num_groups):
            y[b, g * size : (g + 1) * size] = _standardize(x[b, g * size : (g + 1) * size], eps)
        for ch in range(c):
            y[b, ch] = y[b, ch] * float(weight[ch]) + float(bias[ch])
    return y


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    return group_norm(x, x.shape[1], weight, bias, eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    k = len(normalized_shape)
    lead = x.shape[: x.ndim - k]
    y = np.zeros(x.shape)
    for index in np.ndindex(*lead):
        y[index] = _standardize(x[index], eps)
        if weight is not None:
            y[index] = y[index] * weight
        if bias is not None:
            y[index] = y[index] + bias
    return y


def channel_layer_norm(x, weight=None, bias=None, eps=1e-5):
    n, c, h, w = x.shape
    y = np.zeros(x.shape)
    for b in range(n):
        for i in range(h):
            for j in range(w):
                y[b, :, i, j] = _standardize(x[b, :, i, j], eps)
    if weight is not None:
        y = y * np.asarray(weight, np.float64)[:, None, None]
    if bias is not None:
        y = y + np.asarray(bias, np.float64)[:, None, None]
    return y


# ---------------------------------------------------------------------------------------------------------
# Interpolation: per output index, PyTorch's source coordinate and taps (aten/src/ATen/native/UpSample.h)
# ---------------------------------------------------------------------------------------------------------


def _scale_value(n_in, n_out, scale, p):
    return p(1.0 / scale) if scale is not None else p(p(n_in) / p(n_out))


def nearest_index(o, n_in, n_out, scale, exact, small, dtype):
    """PyTorch 2.13: float32 arithmetic (``nearest_idx``) when H_out + W_out <= 128, else the input dtype's,
    and an FMA for ``scale*(o + 1/2) - 1/2`` in float32 (evaluated exactly in float64, rounded once)."""
    if small:
        s = _scale_value(n_in, n_out, scale, F32)
        if exact:
            src = F32((o + 0.5) * float(s))
        elif n_out == n_in:
            return o
        elif n_out == 2 * n_in:
            return o // 2
        else:
            src = F32(o) * s
        return min(math.floor(src), n_in - 1)
    p = np.dtype(dtype).type
    s = _scale_value(n_in, n_out, scale, p)
    if not exact:
        return min(math.floor(F32(p(o) * s)), n_in - 1)
    real = F32(float(s) * (o + 0.5) - 0.5) if p is F32 else s * (o + 0.5) - 0.5
    return min(math.floor(F32(float(real) + 0.5)), n_in - 1)


def _coordinate(o, n_in, n_out, align_corners, scale, cubic):
    """area_pixel_compute_source_index in float64."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) * o if n_out > 1 else 0.0
    s = 1.0 / scale if scale is not None else n_in / n_out
    src = s * (o + 0.5) - 0.5
    return src if cubic else max(src, 0.0)


def _linear_taps(o, n_in, n_out, align_corners, scale):
    if n_out == n_in:
        return [(o, 1.0), (o, 0.0)]
    src = _coordinate(o, n_in, n_out, align_corners, scale, False)
    i0 = min(math.floor(src), n_in - 1)
    lam = min(max(src - i0, 0.0), 1.0)
    return [(i0, 1 - lam), (min(i0 + 1, n_in - 1), lam)]


def _keys(x, a):
    x = abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _cubic_taps(o, n_in, n_out, align_corners, scale):
    src = _coordinate(o, n_in, n_out, align_corners, scale, True)
    i = min(math.floor(src), n_in - 1)
    t = min(max(src - i, 0.0), 1.0)
    return [(min(max(i + j, 0), n_in - 1), _keys(t - j, -0.75)) for j in (-1, 0, 1, 2)]


def _lanczos(x):
    def sinc(v):
        return 1.0 if v == 0 else math.sin(math.pi * v) / (math.pi * v)

    return sinc(x) * sinc(x / 3) if abs(x) < 3 else 0.0


AA_FILTERS = {"bilinear": (2, lambda v: max(0.0, 1 - abs(v))), "bicubic": (4, lambda v: _keys(v, -0.5)),
              "lanczos": (6, _lanczos)}


def _antialias_taps(o, n_in, n_out, align_corners, scale, mode):
    """PIL's resampling: the filter stretched by the downscale factor, normalised."""
    if n_out == n_in:
        return [(o, 1.0)]
    size, f = AA_FILTERS[mode]
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / scale if scale is not None else n_in / n_out
    support = size / 2 * max(s, 1.0)
    center = s * (o + 0.5)
    lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
    taps = [(i, f((i - center + 0.5) / max(s, 1.0))) for i in range(lo, hi)]
    total = sum(w for _, w in taps)
    return [(i, w / total) for i, w in taps] if total else taps


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    n, c, h, w = x.shape
    if size is not None:
        (ho, wo), scales = _pair(size), (None, None)
    else:
        sf = tuple(float(v) for v in _pair(scale_factor))
        ho, wo = int(h * sf[0]), int(w * sf[1])
        scales = (None, None) if recompute_scale_factor or mode == "area" else sf
    if mode == "area":
        return adaptive_avg_pool2d(x, (ho, wo))
    if mode in ("nearest", "nearest-exact"):
        small = ho + wo <= 128
        rows = [nearest_index(i, h, ho, scales[0], mode == "nearest-exact", small, x.dtype) for i in range(ho)]
        cols = [nearest_index(j, w, wo, scales[1], mode == "nearest-exact", small, x.dtype) for j in range(wo)]
        return x[:, :, rows][:, :, :, cols]
    if antialias:
        def taps(o, n_in, n_out, s):
            return _antialias_taps(o, n_in, n_out, bool(align_corners), s, mode)
    else:
        rule = _linear_taps if mode == "bilinear" else _cubic_taps

        def taps(o, n_in, n_out, s):
            return rule(o, n_in, n_out, bool(align_corners), s)
    y = np.zeros((n, c, ho, wo))
    xd = x.astype(np.float64)
    for i in range(ho):
        for j in range(wo):
            for ri, wi in taps(i, h, ho, scales[0]):
                for cj, wj in taps(j, w, wo, scales[1]):
                    y[:, :, i, j] += wi * wj * xd[:, :, ri, cj]
    return y


def pixel_unshuffle(x, r):
    n, c, h, w = x.shape
    y = np.zeros((n, c * r * r, h // r, w // r), dtype=x.dtype)
    for ch in range(c):
        for i in range(r):
            for j in range(r):
                for a in range(h // r):
                    for b in range(w // r):
                        y[:, ch * r * r + i * r + j, a, b] = x[:, ch, a * r + i, b * r + j]
    return y


# ---------------------------------------------------------------------------------------------------------
# upfirdn2d: the four steps of StyleGAN2's definition, one after the other
# ---------------------------------------------------------------------------------------------------------


def upfirdn2d(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1):
    upx, upy = _pair(up)
    downx, downy = _pair(down)
    p = [padding] * 4 if isinstance(padding, int) else (
        [padding[0], padding[0], padding[1], padding[1]] if len(padding) == 2 else list(padding))
    px0, px1, py0, py1 = p
    f = np.ones((1, 1), np.float32) if f is None else np.asarray(f)
    f = (f * f.dtype.type(gain ** (f.ndim / 2))).astype(np.float64)  # scaled in the filter's own dtype
    f2 = f if f.ndim == 2 else np.outer(f, f)
    if not flip_filter:
        f2 = f2[::-1, ::-1]  # true convolution = correlation with the flipped filter
    n, c, h, w = x.shape
    z = np.zeros((n, c, h * upy, w * upx))  # 1. zero insertion
    z[:, :, ::upy, ::upx] = x
    rows = [i - py0 for i in range(h * upy + py0 + py1)]  # 2. pad (zeros) or crop
    cols = [j - px0 for j in range(w * upx + px0 + px1)]
    zp = np.zeros((n, c, len(rows), len(cols)))
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            if 0 <= i < h * upy and 0 <= j < w * upx:
                zp[:, :, a, b] = z[:, :, i, j]
    kh, kw = f2.shape
    full = np.zeros((n, c, zp.shape[2] - kh + 1, zp.shape[3] - kw + 1))  # 3. filter (valid correlation)
    for a in range(full.shape[2]):
        for b in range(full.shape[3]):
            full[:, :, a, b] = (zp[:, :, a : a + kh, b : b + kw] * f2).sum(axis=(2, 3))
    return full[:, :, ::downy, ::downx]  # 4. keep every down-th pixel


# ---------------------------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------------------------


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """torch's documented definition, in float64 with the whole (L, S) score matrix: s = q k^T * scale, causal
    hides j > i (tril), a bool mask hides its False entries, a float one is added; softmax over the keys with
    the row maximum subtracted; a row whose keys are all hidden gives 0 (PyTorch's CPU kernels)."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    s = q @ np.swapaxes(k, -1, -2) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if is_causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        s = np.where(m, s, -np.inf) if m.dtype == bool else s + m
    top = s.max(axis=-1, keepdims=True)
    hidden = top == -np.inf
    p = np.exp(s - np.where(hidden, 0, top))
    total = p.sum(axis=-1, keepdims=True)
    return np.where(hidden, 0, p / np.where(hidden, 1, total)) @ v
