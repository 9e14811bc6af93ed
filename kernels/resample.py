"""Upsampling with PyTorch semantics: nearest, bilinear (align_corners=False), pixel shuffle.

Nearest and pixel shuffle are pure data movement (NumPy copies, exact). Bilinear upsampling by an integer
factor ``s`` is linear interpolation of the edge-replicated input, i.e. a depthwise transposed convolution
of ``pad(x, 1, mode='edge')`` with the separable triangle kernel ``h[t] = 1 - |(t - p + 1/2)/s + 1/2|``
(``(1, 3, 3, 1)/4`` for ``s = 2``), stride ``s`` and the padding ``p`` of :func:`_triangle`; it runs on the
same gather kernel as the convolutions.
"""

import math

import numpy as np

from ._args import FLOAT_DTYPES, as_int, pair
from .conv import conv_transpose2d


def _as_image(fn, x):
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: x must be float32 or float64, got {x.dtype}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: x must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x.shape}")
    if min(x.shape[-3:]) < 1:
        raise ValueError(f"{fn}: x must have C, H, W >= 1, got shape {x.shape}")
    return x


def upsample_nearest2d(x, scale):
    """Nearest upsampling by integer factors, ``torch.nn.Upsample(scale_factor=s, mode='nearest')``.

    ``y[..., i, j] = x[..., i // s_h, j // s_w]``; ``scale`` is an int or a pair (s_h, s_w) >= 1.
    """
    fn = "upsample_nearest2d"
    x = _as_image(fn, x)
    sh, sw = pair(fn, "scale", scale, 1)
    *lead, h, w = x.shape
    rows = np.repeat(x, sw, axis=-1)  # x[..., i, j // s_w]
    y = np.empty((*lead, h, sh, w * sw), dtype=x.dtype)
    y[...] = rows[..., :, None, :]  # copies whole rows: fast
    return y.reshape(*lead, h * sh, w * sw)


def _triangle(s):
    """Kernel ``h`` and padding ``p`` of linear interpolation by ``s`` (align_corners=False) as a stride-``s``
    transposed convolution of the input padded by one replicated sample on each side.

    Output ``o`` reads padded input ``i`` (original ``i - 1``) with weight ``max(0, 1 - |src - (i - 1)|)``,
    ``src = (o + 1/2)/s - 1/2``; with ``o = i*s + t - p`` this is ``1 - |(t - p + 1/2)/s + 1/2|``.
    """
    d_lo = math.floor(-1.5 * s - 0.5) + 1  # smallest o - i*s with a nonzero weight
    d_hi = math.ceil(0.5 * s - 0.5) - 1
    d = np.arange(d_lo, d_hi + 1, dtype=np.float64)
    return 1.0 - np.abs((d + 0.5) / s + 0.5), -d_lo


def upsample_bilinear2d(x, scale):
    """Bilinear upsampling by integer factors, ``torch.nn.Upsample(scale_factor=s, mode='bilinear')``.

    align_corners=False: per axis ``src = max(0, (o + 1/2)/s - 1/2)``, ``i0 = floor(src)``,
    ``i1 = min(i0 + 1, n - 1)``, ``y[o] = (1 - (src - i0)) * x[i0] + (src - i0) * x[i1]``.
    """
    fn = "upsample_bilinear2d"
    x = _as_image(fn, x)
    sh, sw = pair(fn, "scale", scale, 1)
    x4 = x if x.ndim == 4 else x[None]
    c = x4.shape[1]
    (hh, ph), (hw, pw) = _triangle(sh), _triangle(sw)
    weight = np.broadcast_to(np.outer(hh, hw), (c, 1, hh.size, hw.size))
    xe = np.pad(x4, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    y = conv_transpose2d(xe, weight, stride=(sh, sw), padding=(ph, pw), groups=c)
    return y if x.ndim == 4 else y[0]


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
