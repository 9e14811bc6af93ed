"""Brute-force overlap reference: each layer's 2D definition applied literally, in exact arithmetic.

Independent of analytics.overlap on purpose: no separability, no 1D profiles, no periodic tiles. Each layer
is written from PyTorch's documented formula on a (C, H, W) object array of Python ints / Fractions, with
all-ones kernels and the input all ones; activations are ignored. Slow; for small sizes only.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from checkerlab.analytics.layers import Conv2d, ConvTranspose2d, PixelShuffle, Upsample


def _conv_transpose(x, k, s, p, op, d):
    """y[c, i*s_h + a*d_h - p_h, j*s_w + b*d_w - p_w] += x[c, i, j] for every tap (a, b)."""
    c, h, w = x.shape
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
    ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1
    y = np.zeros((c, oh, ow), dtype=object)
    y[...] = 0
    for i in range(h):
        for j in range(w):
            for a in range(k[0]):
                for b in range(k[1]):
                    oi, oj = i * s[0] + a * d[0] - p[0], j * s[1] + b * d[1] - p[1]
                    if 0 <= oi < oh and 0 <= oj < ow:
                        y[:, oi, oj] += x[:, i, j]
    return y


def _conv(x, k, s, pads, d):
    """y[c, o_i, o_j] = sum over taps of x[c, o_i*s_h + a*d_h - top, o_j*s_w + b*d_w - left] (zero outside)."""
    (top, bottom), (left, right) = pads
    c, h, w = x.shape
    oh = (h + top + bottom - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + left + right - d[1] * (k[1] - 1) - 1) // s[1] + 1
    y = np.zeros((c, oh, ow), dtype=object)
    y[...] = 0
    for oi in range(oh):
        for oj in range(ow):
            for a in range(k[0]):
                for b in range(k[1]):
                    i, j = oi * s[0] + a * d[0] - top, oj * s[1] + b * d[1] - left
                    if 0 <= i < h and 0 <= j < w:
                        y[:, oi, oj] += x[:, i, j]
    return y


def _nearest(x, s):
    """y[o_i, o_j] = x[floor(o_i / s_h), floor(o_j / s_w)]."""
    c, h, w = x.shape
    y = np.empty((c, h * s[0], w * s[1]), dtype=object)
    for oi in range(h * s[0]):
        for oj in range(w * s[1]):
            y[:, oi, oj] = x[:, oi // s[0], oj // s[1]]
    return y


def _bilinear_source(o, s, n):
    """PyTorch align_corners=False: src = (o + 1/2)/s - 1/2 clamped below at 0; neighbours i0, min(i0+1, n-1)."""
    src = max(Fraction(2 * o + 1, 2 * s) - Fraction(1, 2), Fraction(0))
    i0 = int(src)  # floor, src >= 0
    return i0, min(i0 + 1, n - 1), src - i0


def _bilinear(x, s):
    c, h, w = x.shape
    y = np.empty((c, h * s[0], w * s[1]), dtype=object)
    for oi in range(h * s[0]):
        a0, a1, fa = _bilinear_source(oi, s[0], h)
        for oj in range(w * s[1]):
            b0, b1, fb = _bilinear_source(oj, s[1], w)
            y[:, oi, oj] = ((1 - fa) * (1 - fb) * x[:, a0, b0] + (1 - fa) * fb * x[:, a0, b1]
                            + fa * (1 - fb) * x[:, a1, b0] + fa * fb * x[:, a1, b1])
    return y


def _pixel_shuffle(x, r):
    """out[c, r*h + i, r*w + j] = in[c*r^2 + r*i + j, h, w], on r^2 identical copies of the channel."""
    copies = np.concatenate([x] * (r * r), axis=0)
    cr, h, w = copies.shape
    y = np.empty((cr // (r * r), h * r, w * r), dtype=object)
    for c in range(cr // (r * r)):
        for oi in range(h * r):
            for oj in range(w * r):
                y[c, oi, oj] = copies[c * r * r + r * (oi % r) + (oj % r), oi // r, oj // r]
    return y


def brute_forward(layers, x) -> np.ndarray:
    """Every layer applied literally (all-ones kernels) to one (H, W) input `x`; the (H', W') output."""
    y = np.empty((1, *np.shape(x)), dtype=object)
    y[0] = x
    for layer in layers:
        if isinstance(layer, ConvTranspose2d):
            y = _conv_transpose(y, layer.kernel_size, layer.stride, layer.padding, layer.output_padding,
                                layer.dilation)
        elif isinstance(layer, Conv2d):
            y = _conv(y, layer.kernel_size, layer.stride, (layer.pads(0), layer.pads(1)), layer.dilation)
        elif isinstance(layer, Upsample):
            y = (_nearest if layer.mode == "nearest" else _bilinear)(y, layer.scale_factor)
        elif isinstance(layer, PixelShuffle):
            y = _pixel_shuffle(y, layer.upscale_factor)
        if y.shape[1] < 1 or y.shape[2] < 1:
            raise ValueError("empty output")
    return y[0]


def brute_overlap_map(layers, input_size) -> np.ndarray:
    """The exact overlap map: every layer applied literally to an all-ones (H, W) input."""
    x = np.empty(tuple(input_size), dtype=object)
    x[...] = 1
    return brute_forward(layers, x)


def minimal_period_1d(values) -> int:
    """Smallest q with values[n] == values[n + q] wherever both exist (needs len >= 2q to be meaningful)."""
    values = list(values)
    for q in range(1, len(values) + 1):
        if all(values[n] == values[n + q] for n in range(len(values) - q)):
            return q
    return len(values)


def naive_profile(layers, n: int, axis: int = 0) -> list:
    """The exact 1D overlap profile along `axis` with Python ints and Fractions: each layer's 1D definition
    applied literally to a list (all-ones input of length n). Independent of analytics.overlap."""
    x = [1] * n
    for layer in layers:
        if isinstance(layer, ConvTranspose2d):
            k, s, p = layer.kernel_size[axis], layer.stride[axis], layer.padding[axis]
            op, d = layer.output_padding[axis], layer.dilation[axis]
            out = (len(x) - 1) * s - 2 * p + d * (k - 1) + op + 1
            y = [0] * out
            for i, v in enumerate(x):
                for t in range(k):
                    o = i * s + t * d - p
                    if 0 <= o < out:
                        y[o] += v
            x = y
        elif isinstance(layer, Conv2d):
            k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
            before, after = layer.pads(axis)
            out = (len(x) + before + after - d * (k - 1) - 1) // s + 1
            x = [sum(x[o * s + t * d - before] for t in range(k) if 0 <= o * s + t * d - before < len(x))
                 for o in range(out)]
        elif isinstance(layer, Upsample) and layer.mode == "nearest" or isinstance(layer, PixelShuffle):
            s = layer.scale_factor[axis] if isinstance(layer, Upsample) else layer.upscale_factor
            x = [x[o // s] for o in range(len(x) * s)]
        elif isinstance(layer, Upsample):
            s = layer.scale_factor[axis]
            y = []
            for o in range(len(x) * s):
                i0, i1, f = _bilinear_source(o, s, len(x))
                y.append((1 - f) * x[i0] + f * x[i1])
            x = y
    return x
