"""Pooling with PyTorch semantics: AvgPool2d, MaxPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d (NCHW / CHW).

Every pooling window is a rectangle, the product of one index range per axis, so each operator is separable
(kernels.separable): average pooling is ``y = A_H · x · A_Wᵀ`` with box rows ``1/divisor`` (PyTorch's divisor
is itself a product of per-axis counts, or ``divisor_override``), max pooling the separable ``max`` (exact,
NaN propagating, ``-inf`` for a window that holds no input). Per axis, with input size ``n``:

- pooling windows start at ``o*s - p`` and have ``k`` taps ``d`` apart; the output size is
  ``floor_or_ceil((n + 2p - d(k-1) - 1) / s) + 1``, and with ``ceil_mode`` a last window that would start in
  the right padding is dropped;
- adaptive windows are ``[floor(o*n/m), ceil((o+1)*n/m))`` for output size ``m``.

Cost O(N·C·(H_in·W_out·k_w + H_out·W_out·k_h)); sums accumulate in float64 along W.
"""

import operator

import numpy as np

from ._args import as_batch, as_int, pair, unbatch
from .separable import Axis, resample2d


def _pool_size(n, k, s, p, d, ceil_mode):
    """PyTorch's ``pooling_output_shape``: the number of windows along one axis."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _window_axis(n, n_out, starts, ends, step, dtype, weights=None):
    """The table of windows ``range(starts[o], ends[o], step)`` clipped to ``[0, n)`` (weights per output)."""
    lo = np.where(starts < 0, starts + (-starts + step - 1) // step * step, starts)  # first tap >= 0
    hi = np.minimum(ends, n)
    cnt = np.maximum(0, (hi - lo + step - 1) // step)
    width = max(1, int(cnt.max(initial=0)))
    idx = np.minimum(lo[:, None] + step * np.arange(width), n - 1)
    w = np.ones((n_out, width), dtype) if weights is None else np.repeat(weights[:, None], width, 1).astype(dtype)
    return Axis(np.ascontiguousarray(idx, np.int64), w, cnt.astype(np.int64), n)


def _pool_args(fn, x, kernel_size, stride, padding, dilation, ceil_mode):
    x4, squeeze = as_batch(fn, x)
    kh, kw = pair(fn, "kernel_size", kernel_size, 1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    sh, sw = (kh, kw) if empty else pair(fn, "stride", stride, 1)
    ph, pw = pair(fn, "padding", padding, 0)
    dh, dw = pair(fn, "dilation", dilation, 1)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{fn}: padding ({ph}, {pw}) must be at most half the kernel size ({kh}, {kw})")
    h, w = x4.shape[2:]
    h_out = _pool_size(h, kh, sh, ph, dh, bool(ceil_mode))
    w_out = _pool_size(w, kw, sw, pw, dw, bool(ceil_mode))
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the input ({h}, {w}) with padding ({ph}, {pw}) is smaller than the "
                         f"{'dilated ' if dh * dw > 1 else ''}kernel ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1})")
    return x4, squeeze, (h, kh, sh, ph, dh, h_out), (w, kw, sw, pw, dw, w_out)


def _run(x4, squeeze, ax_h, ax_w, reduce):
    n, c, h, w = x4.shape
    y = resample2d(x4.reshape(n * c, h, w), ax_h, ax_w, reduce)
    return unbatch(y.reshape(n, c, ax_h.n_out, ax_w.n_out), squeeze)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool2d`` (``nn.AvgPool2d``), same arguments and positional order.

    ``y[o_h, o_w] = Σ_window x / divisor`` over the window clipped to the input; the divisor is the window
    clipped to the padded input (``count_include_pad=True``), to the input (``False``), or
    ``divisor_override`` (a nonzero int). Windows that hold no input give 0.
    """
    fn = "avg_pool2d"
    x4, squeeze, (h, kh, sh, ph, _, h_out), (w, kw, sw, pw, _, w_out) = _pool_args(
        fn, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        try:
            divisor = operator.index(divisor_override)
        except TypeError:
            divisor = 0
        if divisor == 0:
            raise ValueError(f"{fn}: divisor_override must be a nonzero integer, got {divisor_override!r}")
    axes = []
    for n, k, s, p, n_out in ((h, kh, sh, ph, h_out), (w, kw, sw, pw, w_out)):
        starts = np.arange(n_out, dtype=np.int64) * s - p
        ends = np.minimum(starts + k, n + p)
        inside = np.maximum(0, np.minimum(ends, n) - np.maximum(starts, 0))
        count = ends - starts if count_include_pad else inside
        axes.append((n, n_out, starts, ends, np.where(count > 0, count, 1)))
    weights = [1.0 / a[4] for a in axes]
    if divisor_override is not None:
        weights = [np.ones(h_out), np.full(w_out, 1.0 / divisor)]
    ax_h, ax_w = (_window_axis(n, n_out, st, en, 1, x4.dtype, wt)
                  for (n, n_out, st, en, _), wt in zip(axes, weights, strict=True))
    return _run(x4, squeeze, ax_h, ax_w, "sum")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``torch.nn.functional.max_pool2d`` (``nn.MaxPool2d``), same arguments and positional order
    (``return_indices`` is not supported).

    ``y[o_h, o_w] = max x[o_h*s_h - p_h + t_h*d_h, o_w*s_w - p_w + t_w*d_w]`` over the taps inside the input;
    NaN wins, as in PyTorch.
    """
    fn = "max_pool2d"
    x4, squeeze, ah, aw = _pool_args(fn, x, kernel_size, stride, padding, dilation, ceil_mode)
    axes = []
    for n, k, s, p, d, n_out in (ah, aw):
        starts = np.arange(n_out, dtype=np.int64) * s - p
        axes.append(_window_axis(n, n_out, starts, starts + (k - 1) * d + 1, d, x4.dtype))
    return _run(x4, squeeze, *axes, "max")


def _adaptive_axes(fn, x4, output_size):
    if isinstance(output_size, (tuple, list)) and len(output_size) != 2:
        raise ValueError(f"{fn}: output_size must be an int or a pair (h, w) (None keeps that size), "
                         f"got {output_size!r}")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    axes = []
    for n, m in zip(x4.shape[2:], sizes, strict=True):
        m = n if m is None else as_int(fn, "output_size", m, 1)
        o = np.arange(m, dtype=np.int64)
        starts, ends = o * n // m, -((-(o + 1) * n) // m)
        axes.append((n, m, starts, ends))
    return axes


def adaptive_avg_pool2d(x, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d`` (``nn.AdaptiveAvgPool2d``): the mean over windows
    ``[floor(o*n/m), ceil((o+1)*n/m))`` per axis. ``output_size`` is an int or a pair; ``None`` keeps an
    axis. Global average pooling is ``output_size=1`` (``x.mean((-2, -1), keepdim=True)``)."""
    fn = "adaptive_avg_pool2d"
    x4, squeeze = as_batch(fn, x)
    ax_h, ax_w = (_window_axis(n, m, st, en, 1, x4.dtype, 1.0 / (en - st))
                  for n, m, st, en in _adaptive_axes(fn, x4, output_size))
    return _run(x4, squeeze, ax_h, ax_w, "sum")


def adaptive_max_pool2d(x, output_size):
    """``torch.nn.functional.adaptive_max_pool2d`` (``nn.AdaptiveMaxPool2d``, without ``return_indices``):
    the max over the windows of :func:`adaptive_avg_pool2d`; NaN wins. Global max pooling is ``1``."""
    fn = "adaptive_max_pool2d"
    x4, squeeze = as_batch(fn, x)
    ax_h, ax_w = (_window_axis(n, m, st, en, 1, x4.dtype) for n, m, st, en in _adaptive_axes(fn, x4, output_size))
    return _run(x4, squeeze, ax_h, ax_w, "max")
