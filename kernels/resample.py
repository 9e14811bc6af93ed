"""Resampling with PyTorch semantics: ``F.interpolate`` (every 2-D mode), pixel (un)shuffle, and StyleGAN2's
``upfirdn2d``.

Interpolation acts per axis: output index ``o`` reads the source coordinate ``src(o)`` of the input axis,
computed exactly as PyTorch's CPU kernels do (same formulas, same float32/float64 rounding, same border
clamping), and becomes a table of (index, weight) taps (kernels.separable):

- ``scale`` is ``1/scale_factor`` when a scale factor is passed (and not recomputed), else ``n_in/n_out``;
  ``align_corners=True`` uses ``(n_in - 1)/(n_out - 1)`` instead;
- nearest: ``src = floor(o * scale)``; nearest-exact: ``floor((o + 1/2) * scale)``; both clamp to ``n_in - 1``;
- bilinear: ``src = max(0, scale (o + 1/2) - 1/2)`` (``scale * o`` with align_corners), taps ``i0 = floor(src)``,
  ``i1 = min(i0 + 1, n_in - 1)``, weights ``1 - λ, λ``; an axis whose size is unchanged is copied;
- bicubic: Keys' cubic with ``A = -0.75`` on ``src = scale (o + 1/2) - 1/2`` (not clamped), four taps
  ``floor(src) - 1 .. + 2`` clamped into the input (PyTorch's border replication);
- antialias (bilinear, bicubic with ``A = -0.5``, lanczos-3): PIL's support-scaled, normalised filters;
- area: adaptive average pooling to the output size.

Nearest and pixel (un)shuffle are copies, exact. Linear modes cost O(N·C·H_out·W_out·taps).
"""

import math
import operator

import numpy as np
from numba import njit

from ._args import FLOAT_DTYPES, as_batch, as_int, pair, unbatch
from .gather import FASTMATH
from .pool import adaptive_avg_pool2d
from .separable import Axis, gather2d, launch, resample2d

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos")
ANTIALIAS_TAPS = {"bilinear": 2, "bicubic": 4, "lanczos": 6}  # PyTorch's interp_size per antialiased mode
SMALL_NEAREST = 128  # PyTorch 2.13 computes nearest indices in float32 when H_out + W_out <= this


def _as_image(fn, x):
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: x must be float32 or float64, got {x.dtype}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: x must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x.shape}")
    if min(x.shape[-3:]) < 1:
        raise ValueError(f"{fn}: x must have C, H, W >= 1, got shape {x.shape}")
    return x


# ---------------------------------------------------------------------------------------------------------
# Source coordinates, as PyTorch's CPU kernels compute them (aten/src/ATen/native/UpSample.h)
# ---------------------------------------------------------------------------------------------------------


def _scale(n_in, n_out, scale, p):
    """``compute_scales_value<p>``: ``1/scale_factor`` if one was passed, else ``n_in / n_out``, in ``p``."""
    return p(1.0 / scale) if scale is not None and scale > 0 else p(p(n_in) / p(n_out))


def _area_scale(n_in, n_out, align_corners, scale, p):
    """``area_pixel_compute_scale<p>``."""
    if align_corners:
        return p(p(n_in - 1) / p(n_out - 1)) if n_out > 1 else p(0)
    return _scale(n_in, n_out, scale, p)


def _source_index(s, n_out, align_corners, p, clamp):
    """``area_pixel_compute_source_index<p>`` for every output index (``clamp``: linear modes stop at 0)."""
    o = np.arange(n_out).astype(p)
    if align_corners:
        return s * o
    src = s * (o + p(0.5)) - p(0.5)
    return np.maximum(src, p(0)) if clamp else src


def _floor_index(src, n_in):
    """``min(floorf(src), n_in - 1)``: PyTorch floors in float32 even for float64 coordinates."""
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)


def _nearest_axis(n_in, n_out, scale, exact, small, dtype):
    """Source indices of ``nearest`` / ``nearest-exact``. Small outputs (``small``) take PyTorch's per-element
    path (``nearest_idx``: float32 arithmetic, exact shortcuts for sizes n and 2n), others its index-table
    path (arithmetic in the input's dtype)."""
    o = np.arange(n_out)
    f32 = np.float32
    if small:
        s = _scale(n_in, n_out, scale, f32)
        if exact:
            src = ((o + 0.5) * np.float64(s)).astype(f32)
        elif n_out == n_in:
            return o
        elif n_out == 2 * n_in:
            return o >> 1
        else:
            src = o.astype(f32) * s
        return np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    p = dtype.type
    s = _scale(n_in, n_out, scale, p)
    if exact and p is f32:
        # PyTorch's binary contracts ``s*(o + 1/2) - 1/2`` into one FMA; in float64 that is exact, then one
        # rounding to float32 (the float32 product has <= 48 bits).
        src = (np.float64(s) * (o + 0.5) - 0.5).astype(f32).astype(np.float64) + 0.5
    elif exact:
        # Unfused float64 differs from PyTorch's FMA by at most one float64 ulp; after the rounding to float32
        # that moves the index only within one ulp of a float32 midpoint (never seen; see the tests).
        src = _source_index(s, n_out, False, p, clamp=False) + 0.5
    else:
        src = o.astype(p) * s
    return _floor_index(src, n_in)


def _linear_axis(n_in, n_out, align_corners, scale, dtype):
    """``HelperInterpLinear``: two taps ``(i0, 1 - λ), (i1, λ)`` per output."""
    p = dtype.type
    if n_out == n_in:
        o = np.arange(n_out)
        idx, lam = np.stack([o, o], 1), np.zeros(n_out, dtype)
    else:
        src = _source_index(_area_scale(n_in, n_out, align_corners, scale, p), n_out, align_corners, p, True)
        i0 = _floor_index(src, n_in)
        lam = np.clip(src - i0.astype(p), p(0), p(1)).astype(dtype)
        idx = np.stack([i0, i0 + (i0 < n_in - 1)], 1)
    w = np.stack([(p(1) - lam).astype(dtype), lam], 1)
    return Axis(idx, w, np.full(n_out, 2, np.int64), n_in)


def _cubic1(x, a):
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x, a):
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_axis(n_in, n_out, align_corners, scale, dtype):
    """``HelperInterpCubic``: Keys' cubic (A = -0.75) on four border-clamped taps."""
    p = dtype.type
    src = _source_index(_area_scale(n_in, n_out, align_corners, scale, p), n_out, align_corners, p, False)
    i = _floor_index(src, n_in)
    t = np.clip(src - i.astype(p), p(0), p(1)).astype(dtype)
    a, one = p(-0.75), p(1)
    w = np.stack([_cubic2(t + one, a), _cubic1(t, a), _cubic1(one - t, a), _cubic2((one - t) + one, a)], 1)
    idx = np.clip(i[:, None] + np.arange(-1, 3), 0, n_in - 1)
    return Axis(idx, w.astype(dtype), np.full(n_out, 4, np.int64), n_in)


def _aa_filter(mode, x, p):
    """PIL's filters: triangle, Keys' cubic with A = -0.5, Lanczos-3; ``x`` in ``p``."""
    x = np.abs(x)
    if mode == "bilinear":
        return np.where(x < 1, p(1) - x, p(0))
    if mode == "bicubic":
        a = p(-0.5)
        return np.where(x < 1, _cubic1(x, a), np.where(x < 2, _cubic2(x, a), p(0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        px, px3 = x * p(math.pi), x / p(3) * p(math.pi)
        sinc = np.where(x == 0, p(1), np.sin(px) / px) * np.where(x == 0, p(1), np.sin(px3) / px3)
    return np.where(x < 3, sinc, p(0))


def _antialias_axis(mode, n_in, n_out, align_corners, scale, dtype):
    """``_compute_indices_min_size_weights_aa``: taps ``xmin .. xmin + xsize - 1`` around ``scale (o + 1/2)``
    with ``filter((j - center + 1/2) / max(scale, 1))``, normalised to sum 1; an unchanged axis is copied."""
    p = dtype.type
    if n_out == n_in:  # PyTorch's separable antialiasing copies an axis whose size is unchanged
        return Axis(np.arange(n_out)[:, None], np.ones((n_out, 1), dtype), np.ones(n_out, np.int64), n_in)
    s = _area_scale(n_in, n_out, align_corners, scale, p)
    half = p(ANTIALIAS_TAPS[mode] * 0.5)
    support = half * s if s >= 1 else half
    width = int(math.ceil(support)) * 2 + 1
    invscale = p(1) / s if s >= 1 else p(1)
    center = (np.float64(s) * (np.arange(n_out) + 0.5)).astype(dtype)
    xmin = np.maximum(np.trunc((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xmax = np.minimum(np.trunc((center + support).astype(np.float64) + 0.5).astype(np.int64), n_in)
    cnt = np.clip(xmax - xmin, 0, width)
    j = np.arange(width)
    arg = (((j + xmin[:, None]).astype(p) - center[:, None]).astype(np.float64) + 0.5) * np.float64(invscale)
    w = np.where(j < cnt[:, None], _aa_filter(mode, arg.astype(dtype), p), p(0)).astype(dtype)
    total = w.sum(1, dtype=dtype)
    w = np.where(total[:, None] != 0, w / np.where(total != 0, total, p(1))[:, None], w).astype(dtype)
    idx = np.minimum(xmin[:, None] + j, n_in - 1)
    return Axis(idx, w, cnt.astype(np.int64), n_in)


# ---------------------------------------------------------------------------------------------------------
# F.interpolate
# ---------------------------------------------------------------------------------------------------------


def _scale_pair(fn, scale_factor):
    values = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
    if len(values) != 2:
        raise ValueError(f"{fn}: scale_factor must be a number or a pair (h, w), got {scale_factor!r}")
    try:
        values = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: scale_factor must be a number or a pair (h, w), got {scale_factor!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{fn}: scale_factor must be positive and finite, got {scale_factor!r}")
    return values


def _check_mode(fn, mode, align_corners, antialias):
    if mode in ("linear", "trilinear"):
        raise ValueError(f"{fn}: mode {mode!r} is for {'3' if mode == 'linear' else '5'}-D input; "
                         f"2-D images take 'bilinear'")
    if mode not in MODES:
        raise ValueError(f"{fn}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(f"{fn}: align_corners can only be set with the interpolating modes bilinear, "
                         f"bicubic (mode is {mode!r})")
    if antialias and mode not in ANTIALIAS_TAPS:
        raise ValueError(f"{fn}: antialias is restricted to the modes bilinear, bicubic and lanczos")
    if mode == "lanczos" and not antialias:
        raise ValueError(f"{fn}: mode 'lanczos' requires antialias=True, as in PyTorch")
    if mode == "lanczos" and align_corners:
        raise ValueError(f"{fn}: mode 'lanczos' does not support align_corners=True")


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``torch.nn.functional.interpolate`` on the two spatial axes (``nn.Upsample``, ``UpsamplingNearest2d``,
    ``UpsamplingBilinear2d`` = bilinear with ``align_corners=True``), same arguments and positional order.

    ``x`` is NCHW, or CHW taken as one image (PyTorch would read a 3-D tensor as 1-D signals). Modes:
    nearest, nearest-exact, bilinear, bicubic, area, lanczos (antialias only). The output size is ``size``,
    or ``floor(n * scale_factor)``; the scale factor itself enters the coordinates unless
    ``recompute_scale_factor=True`` (or mode area), exactly as PyTorch 2.13. See the module docstring.
    """
    fn = "interpolate"
    _check_mode(fn, mode, align_corners, antialias)
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    if size is not None and scale_factor is not None:
        raise ValueError(f"{fn}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{fn}: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{fn}: recompute_scale_factor is not meaningful with an explicit size")
        if isinstance(size, (tuple, list)) and len(size) != 2:
            raise ValueError(f"{fn}: size must be an int or a pair (h, w), got {size!r}")
        sizes, scales = pair(fn, "size", size, 1), (None, None)
    else:
        sf = _scale_pair(fn, scale_factor)
        sizes = (int(h * sf[0]), int(w * sf[1]))
        if min(sizes) < 1:
            raise ValueError(f"{fn}: scale_factor {scale_factor!r} gives an empty output {sizes} from input "
                             f"({h}, {w}); the output size must be >= 1")
        scales = (None, None) if recompute_scale_factor or mode == "area" else sf
    if mode == "area":
        return unbatch(adaptive_avg_pool2d(x4, sizes), squeeze)
    x3 = x4.reshape(n * c, h, w)
    align = bool(align_corners)
    dtype = x4.dtype
    if mode in ("nearest", "nearest-exact"):
        small = sizes[0] + sizes[1] <= SMALL_NEAREST
        rows, cols = (_nearest_axis(n_in, n_out, s, mode == "nearest-exact", small, dtype)
                      for n_in, n_out, s in zip((h, w), sizes, scales, strict=True))
        y = gather2d(x3, rows, cols)
    else:
        if antialias:
            axes = (_antialias_axis(mode, n_in, n_out, align, s, dtype)
                    for n_in, n_out, s in zip((h, w), sizes, scales, strict=True))
        else:
            build = _linear_axis if mode == "bilinear" else _cubic_axis
            axes = (build(n_in, n_out, align, s, dtype) for n_in, n_out, s in zip((h, w), sizes, scales, strict=True))
        y = resample2d(x3, *axes)
    return unbatch(y.reshape(n, c, *sizes), squeeze)


def upsample_nearest2d(x, scale):
    """Nearest upsampling by integer factors, ``torch.nn.Upsample(scale_factor=s, mode='nearest')``.

    ``y[..., i, j] = x[..., i // s_h, j // s_w]``; ``scale`` is an int or a pair (s_h, s_w) >= 1.
    """
    fn = "upsample_nearest2d"
    x = _as_image(fn, x)
    return interpolate(x, scale_factor=pair(fn, "scale", scale, 1), mode="nearest")


def upsample_bilinear2d(x, scale):
    """Bilinear upsampling by integer factors, ``torch.nn.Upsample(scale_factor=s, mode='bilinear')``.

    align_corners=False: per axis ``src = max(0, (o + 1/2)/s - 1/2)``, ``i0 = floor(src)``,
    ``i1 = min(i0 + 1, n - 1)``, ``y[o] = (1 - (src - i0)) * x[i0] + (src - i0) * x[i1]``.
    """
    fn = "upsample_bilinear2d"
    x = _as_image(fn, x)
    return interpolate(x, scale_factor=pair(fn, "scale", scale, 1), mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------------------
# Pixel shuffle
# ---------------------------------------------------------------------------------------------------------


def pixel_shuffle(x, r):
    """Sub-pixel rearrangement, ``torch.nn.functional.pixel_shuffle``: ``(C*r^2, H, W) -> (C, H*r, W*r)``.

    ``y[..., c, h*r + i, w*r + j] = x[..., c*r^2 + i*r + j, h, w]``.
    """
    fn = "pixel_shuffle"
    x = _as_image(fn, x)
    r = as_int(fn, "r", r, 1)
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"{fn}: the {c} channels of x must be divisible by r^2 = {r * r}")
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    nl = len(lead)
    y = y.transpose(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return np.ascontiguousarray(y).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(x, downscale_factor):
    """``torch.nn.functional.pixel_unshuffle`` (``nn.PixelUnshuffle``), the inverse of :func:`pixel_shuffle`:
    ``(C, H*r, W*r) -> (C*r^2, H, W)``, ``y[..., c*r^2 + i*r + j, h, w] = x[..., c, h*r + i, w*r + j]``."""
    fn = "pixel_unshuffle"
    x = _as_image(fn, x)
    r = as_int(fn, "downscale_factor", downscale_factor, 1)
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"{fn}: the height {h} and width {w} of x must be divisible by downscale_factor {r}")
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    nl = len(lead)
    y = y.transpose(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return np.ascontiguousarray(y).reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------------------------------------------------
# upfirdn2d (StyleGAN2 / StyleGAN2-ADA torch_utils.ops.upfirdn2d)
# ---------------------------------------------------------------------------------------------------------


def _fir_taps(n, up, down, before, after, k):
    """Per output ``o`` of one axis: the inputs ``i`` and filter taps ``t`` with ``i*up + before = o*down + t``
    (zero insertion, padding/cropping and the correlation with the flipped filter in one index equation)."""
    n_out = (n * up + before + after - k) // down + 1
    m = np.arange(n_out)[:, None] * down + np.arange(k)[None, :] - before  # position in the upsampled signal
    valid = (m % up == 0) & (m >= 0) & (m < n * up)
    cnt = valid.sum(1)
    order = np.argsort(~valid, axis=1, kind="stable")[:, : max(1, int(cnt.max(initial=0)))]
    taps = np.broadcast_to(np.arange(k), m.shape)
    tap = np.take_along_axis(taps, order, 1)
    idx = np.clip(np.take_along_axis(m, order, 1) // up, 0, n - 1)
    return np.ascontiguousarray(idx, np.int64), np.ascontiguousarray(tap, np.int64), cnt.astype(np.int64)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _fir2d(first, last, x, idx_h, tap_h, cnt_h, idx_w, tap_w, cnt_w, f, y):
    nb, nh, nw = y.shape
    for r in range(first, last):
        b = r // nh
        oh = r - b * nh
        yr = y[b, oh]
        for ow in range(nw):
            s = 0.0
            for a in range(cnt_h[oh]):
                xr = x[b, idx_h[oh, a]]
                fr = f[tap_h[oh, a]]
                for c in range(cnt_w[ow]):
                    s += fr[tap_w[ow, c]] * xr[idx_w[ow, c]]
            yr[ow] = s


def _rank_one(f):
    """``(u, v)`` with ``f = outer(u, v)`` to within 8 ulps per entry, else ``(None, None)``.

    A 2-D filter made from a 1-D one (StyleGAN2's ``setup_filter`` turns its [1, 3, 3, 1] blur into
    ``outer(f, f) / 64``) then runs as two 1-D passes: the same sum, rounded differently by a few ulps."""
    i, j = np.unravel_index(np.argmax(np.abs(f)), f.shape)
    if f[i, j] == 0:
        return None, None
    u, v = f[:, j], f[i, :] / f[i, j]
    eps = np.finfo(f.dtype).eps
    if np.all(np.abs(np.outer(u, v) - f) <= 8 * eps * np.abs(f)):
        return np.ascontiguousarray(u), np.ascontiguousarray(v)
    return None, None


def _xy(fn, name, value, minimum):
    """StyleGAN2's ``[x, y]`` convention (width first) as ``(h, w)``."""
    vx, vy = pair(fn, name, value, minimum)
    return vy, vx


def upfirdn2d(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1):
    """StyleGAN2's ``upfirdn2d(x, f, up, down, padding, flip_filter, gain)`` (NVlabs stylegan2-ada-pytorch,
    ``torch_utils/ops/upfirdn2d.py``), exactly its reference ``_upfirdn2d_ref``: per channel, upsample by
    inserting ``up - 1`` zeros after each pixel, pad (negative: crop), convolve with the FIR filter ``f``
    (a true convolution unless ``flip_filter``) scaled by ``gain ** (f.ndim / 2)``, keep every ``down``-th
    pixel. ``f`` is 2-D ``[fh, fw]``, 1-D (the same taps along both axes, applied W then H), or None; a 2-D
    filter that is an outer product (StyleGAN2's blur) also runs as two 1-D passes.

    As in StyleGAN2 (unlike PyTorch), pairs are ``[x, y]`` = (width, height): ``up``/``down`` are an int or
    ``[x, y]``, ``padding`` an int, ``[x, y]`` or ``[x0, x1, y0, y1]``. Per axis the output size is
    ``(n*up + p0 + p1 - k) // down + 1``; polyphase, so only the real taps are multiplied:
    O(N·C·H_out·W_out·fh·fw / (up_x·up_y)) for 2-D filters, O(... (fh + fw) / up) for 1-D ones.
    """
    fn = "upfirdn2d"
    x4, squeeze = as_batch(fn, x)
    dtype = x4.dtype
    uph, upw = _xy(fn, "up", up, 1)
    downh, downw = _xy(fn, "down", down, 1)
    pads = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * 2
    if len(pads) == 2:
        pads = (pads[0], pads[0], pads[1], pads[1])
    try:
        if len(pads) != 4:
            raise TypeError
        px0, px1, py0, py1 = (operator.index(v) for v in pads)
    except TypeError:
        raise ValueError(f"{fn}: padding must be an int, [x, y] or [x0, x1, y0, y1] of integers, "
                         f"got {padding!r}") from None
    fa = np.ones((1, 1), np.float32) if f is None else np.asarray(f)
    if fa.dtype.kind not in "fiub":
        raise ValueError(f"{fn}: f must be a real 1-D or 2-D filter, got dtype {fa.dtype}")
    if fa.ndim not in (1, 2) or fa.size == 0:
        raise ValueError(f"{fn}: f must be a non-empty 1-D (separable) or 2-D [fh, fw] filter, got shape {fa.shape}")
    if fa.dtype.kind != "f":
        fa = fa.astype(np.float32)  # as StyleGAN2's setup_filter
    try:
        g = fa.dtype.type(float(gain) ** (fa.ndim / 2))
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: gain must be a real number, got {gain!r}") from None
    fa = fa * g
    if not flip_filter:
        fa = fa[::-1, ::-1] if fa.ndim == 2 else fa[::-1]
    fa = np.ascontiguousarray(fa, dtype)
    kh, kw = fa.shape if fa.ndim == 2 else (fa.size, fa.size)
    n, c, h, w = x4.shape
    for name, size, u, p0, p1, k in (("height", h, uph, py0, py1, kh), ("width", w, upw, px0, px1, kw)):
        if size * u + p0 + p1 < k:
            raise ValueError(f"{fn}: the upsampled and padded {name} {size * u + p0 + p1} is smaller than the "
                             f"filter ({k} taps)")
    (ih, th, ch), (iw, tw, cw) = _fir_taps(h, uph, downh, py0, py1, kh), _fir_taps(w, upw, downw, px0, px1, kw)
    x3 = x4.reshape(n * c, h, w)
    fh, fw = (fa, fa) if fa.ndim == 1 else _rank_one(fa)
    if fh is not None:
        y = resample2d(x3, Axis(ih, fh[th], ch, h), Axis(iw, fw[tw], cw, w))
    else:
        y = np.empty((n * c, ch.size, cw.size), dtype)
        launch(_fir2d, y.shape[0] * y.shape[1], y.size * th.shape[1] * tw.shape[1], x3, ih, th, ch, iw, tw, cw,
               fa, y)
    return unbatch(y.reshape(n, c, ch.size, cw.size), squeeze)
