"""Normalisation layers with PyTorch semantics: BatchNorm2d (eval and train), InstanceNorm2d, GroupNorm,
LayerNorm over trailing axes and LayerNorm over the channel axis (NCHW / CHW, float32 or float64).

Every layer computes ``y = (x - μ) / sqrt(σ² + eps) * weight + bias`` with the biased variance ``σ²`` of a
group of elements: a channel over the batch (batch_norm, training), a plane (instance_norm), ``C/G`` planes
(group_norm), the trailing axes (layer_norm), the channels of one pixel (channel_layer_norm); batch_norm in
eval mode takes μ and σ² from the running statistics.

Statistics are two-pass (mean, then the mean squared deviation from it) with float64 accumulators whatever
the input dtype: as accurate as PyTorch's float64-accumulating instance and batch norms, more accurate than
its float32 Welford for group and layer norm. The normalisation itself also runs in float64 and rounds once.
Instance, group and layer norm normalise contiguous groups (rows), one parallel job per row from statistics
to output (like PyTorch, a single row runs on one thread); batch statistics span rows and are reduced from
parallel chunks. Cost O(3 · numel) memory traffic (two statistics passes and one output pass). group_norm and
instance_norm take an ``activation`` that runs in the output pass (GroupNorm + SiLU in one call, as
convolutions fuse theirs), on each channel's segment while it is in L1.
"""

import operator

import numpy as np
from numba import njit

from ._args import as_batch, unbatch
from .activations import IDENTITY, activate_in_place, apply, as_activation
from .gather import FASTMATH
from .separable import launch

CHUNK = 4096  # elements per parallel statistics job
JOBS = 64  # split rows into chunks until there are about this many jobs
PIXEL_BLOCK = 256  # pixels per job of channel_layer_norm


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _partial_sums(first, last, x2, n_chunks, center, square, out):
    # out[r, j] = Σ over chunk j of row r of x (square=False) or of (x - center[r])² (square=True).
    # Loops run over slices from 0: numba then drops its negative-index checks and the loops vectorise.
    n_rows, length = x2.shape
    for job in range(first, last):
        r = job // n_chunks
        j = job - r * n_chunks
        v = x2[r, j * length // n_chunks : (j + 1) * length // n_chunks]
        c = center[r]
        s = 0.0
        if square:
            for i in range(v.shape[0]):
                d = v[i] - c
                s += d * d
        else:
            for i in range(v.shape[0]):
                s += v[i]
        out[r, j] = s


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _affine_rows(first, last, x2, mean, scale, w, b, y2):
    # y[r, l] = (x[r, l] - mean[r]) * scale[r] * w[r] + b[r]
    n_rows, length = x2.shape
    n_chunks = (length + CHUNK - 1) // CHUNK
    for job in range(first, last):
        r = job // n_chunks
        lo = (job - r * n_chunks) * CHUNK
        xs, ys = x2[r, lo : lo + CHUNK], y2[r, lo : lo + CHUNK]
        m, a, c = mean[r], scale[r] * w[r], b[r]
        for i in range(xs.shape[0]):
            ys[i] = (xs[i] - m) * a + c


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _norm_rows(first, last, x2, w2, b2, eps, code, table, y2):
    # Row r is one group: its float64 mean and biased variance (two passes), then
    # y = act((x - mean) / sqrt(var + eps) * w + b) with (w, b) = rows r % P of (w2, b2), shape (P, k), each of
    # the k entries covering a segment of length / k consecutive elements (a channel, or a single element);
    # act = activation `code` with the parameters table[c] of the segment's channel c = (r % P) * k + j,
    # applied to each segment in place while it is in L1 (IDENTITY: none).
    n_rows, length = x2.shape
    n_params, k = w2.shape
    seg = length // k
    for r in range(first, last):
        xs, ys = x2[r], y2[r]
        s = 0.0
        for i in range(xs.shape[0]):
            s += xs[i]
        mean = s / length
        q = 0.0
        for i in range(xs.shape[0]):
            d = xs[i] - mean
            q += d * d
        rstd = 1.0 / np.sqrt(q / length + eps)
        wr, br = w2[r % n_params], b2[r % n_params]
        c0 = (r % n_params) * k
        if seg == 1:
            for i in range(xs.shape[0]):
                ys[i] = (xs[i] - mean) * rstd * wr[i] + br[i]
            if code != IDENTITY:
                for i in range(xs.shape[0]):
                    activate_in_place(code, table[c0 + i, 0], table[c0 + i, 1], ys, i, 1)
        else:
            for j in range(k):
                a, c = rstd * wr[j], br[j]
                xj, yj = xs[j * seg : (j + 1) * seg], ys[j * seg : (j + 1) * seg]
                for i in range(xj.shape[0]):
                    yj[i] = (xj[i] - mean) * a + c
                if code != IDENTITY:
                    activate_in_place(code, table[c0 + j, 0], table[c0 + j, 1], yj, 0, seg)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _channel_norm(first, last, x3, w, b, eps, scratch, y3):
    # normalise x3[n, :, l] over the channel axis for every (n, l), a block of pixels per job; the
    # float64 statistics of a block live in this call's rows ``stats`` (2, block); ``scratch``: (2, block)
    n_batch, channels, length = x3.shape
    block = scratch.shape[1]
    stats = np.empty((2, block))  # this call's own: calls run concurrently on the kernel threads
    n_blocks = (length + block - 1) // block
    for job in range(first, last):
        n = job // n_blocks
        lo = (job - n * n_blocks) * block
        hi = min(length, lo + block)
        mean, rstd = stats[0, : hi - lo], stats[1, : hi - lo]
        mean[:] = 0.0
        rstd[:] = 0.0
        for c in range(channels):
            xs = x3[n, c, lo:hi]
            for i in range(xs.shape[0]):
                mean[i] += xs[i]
        for i in range(mean.shape[0]):
            mean[i] /= channels
        for c in range(channels):
            xs = x3[n, c, lo:hi]
            for i in range(xs.shape[0]):
                d = xs[i] - mean[i]
                rstd[i] += d * d
        for i in range(rstd.shape[0]):
            rstd[i] = 1.0 / np.sqrt(rstd[i] / channels + eps)
        for c in range(channels):
            xs, ys = x3[n, c, lo:hi], y3[n, c, lo:hi]
            wc, bc = w[c], b[c]
            for i in range(xs.shape[0]):
                ys[i] = (xs[i] - mean[i]) * rstd[i] * wc + bc


def _moments(x2, groups):
    """Mean and biased variance of every group of rows of ``x2`` (R, L): ``groups[r]`` is row r's group
    (batch statistics: channel c's rows are (n, c) for every n).

    Two passes over the data in float64, parallel over chunks of rows; O(R·L)."""
    n_rows, length = x2.shape
    n_chunks = max(1, min(length // CHUNK, -(-JOBS // n_rows)))
    n_groups = int(groups.max()) + 1
    count = np.bincount(groups, minlength=n_groups) * length
    partial = np.empty((n_rows, n_chunks))
    launch(_partial_sums, n_rows * n_chunks, x2.size, x2, n_chunks, np.zeros(n_rows), False, partial)
    mean = np.bincount(groups, partial.sum(1), n_groups) / count
    launch(_partial_sums, n_rows * n_chunks, x2.size, x2, n_chunks, mean[groups], True, partial)
    return mean, np.bincount(groups, partial.sum(1), n_groups) / count


def _vector(fn, name, v, n, default):
    """An optional per-channel parameter as a float64 vector of length ``n`` (``default`` for None)."""
    if v is None:
        return np.full(n, float(default))
    a = np.asarray(v)
    if a.shape != (n,) or a.dtype.kind not in "fiu":
        raise ValueError(f"{fn}: {name} must be a real vector of shape ({n},) (one per channel), got "
                         f"{a.dtype} {a.shape}")
    return a.astype(np.float64)


def _eps(fn, eps):
    try:
        e = float(eps)
    except (TypeError, ValueError):
        e = -1.0
    if not e >= 0:
        raise ValueError(f"{fn}: eps must be a non-negative number, got {eps!r}")
    return e


def _normalize_rows(x4, squeeze, rows, weight, bias, eps, params, activation=None):
    """Instance, group and layer norm: ``x4`` as ``rows`` contiguous groups, each normalised by its own
    statistics; ``weight``/``bias`` reshaped to ``(params, k)`` (row r uses row ``r % params``); then the
    optional `Activation` (per channel, axis 1 of ``x4``) in the same pass."""
    y = np.empty_like(x4)
    w2 = np.ascontiguousarray(weight, x4.dtype).reshape(params, -1)
    b2 = np.ascontiguousarray(bias, x4.dtype).reshape(params, -1)
    fn = as_activation(activation)
    code = IDENTITY if fn is None or not fn.fused else fn.code
    table = fn.parameters(x4.shape[1], x4.dtype) if fn is not None else np.zeros((1, 2), x4.dtype)
    launch(_norm_rows, rows, x4.size, x4.reshape(rows, -1), w2, b2, eps, code, table, y.reshape(rows, -1))
    if fn is not None and not fn.fused:  # a pass of its own (`activations.SEPARATE`)
        y = apply(fn, y)
    return unbatch(y, squeeze)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """``torch.nn.functional.batch_norm`` (``nn.BatchNorm2d``), same arguments and positional order.

    ``training=False`` (eval): ``y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] +
    bias[c]``. ``training=True`` normalises with the batch statistics of each channel over (N, H, W) (biased
    variance); unlike PyTorch it never updates the running statistics in place, so ``momentum`` has no effect.
    """
    fn = "batch_norm"
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    e = _eps(fn, eps)
    weight, bias = _vector(fn, "weight", weight, c, 1), _vector(fn, "bias", bias, c, 0)
    channel = np.tile(np.arange(c), n)  # the channel of plane (n, c)
    if training:
        if n * h * w == 1:
            raise ValueError(f"{fn}: training needs more than 1 value per channel, got input shape {x4.shape}")
        mean, var = _moments(x4.reshape(n * c, h * w), channel)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: running_mean and running_var are required unless training=True")
        mean = _vector(fn, "running_mean", running_mean, c, 0)
        var = _vector(fn, "running_var", running_var, c, 1)
    y = np.empty_like(x4)
    launch(_affine_rows, n * c * -(-h * w // CHUNK), x4.size, x4.reshape(n * c, h * w), mean[channel],
           1.0 / np.sqrt(var[channel] + e), weight[channel].astype(x4.dtype), bias[channel].astype(x4.dtype),
           y.reshape(n * c, h * w))
    return unbatch(y, squeeze)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5, activation=None):
    """``torch.nn.functional.instance_norm`` (``nn.InstanceNorm2d``), same arguments and positional order.

    ``use_input_stats=True`` (InstanceNorm2d with ``track_running_stats=False``, or in training): every plane
    (n, c) is normalised by its own mean and biased variance, then ``* weight[c] + bias[c]`` (affine).
    ``use_input_stats=False`` (eval with tracked statistics) uses the running statistics, as batch_norm in
    eval mode. Running statistics are never updated (``momentum`` has no effect). ``activation`` (a name
    such as ``"relu"`` or a `kernels.Activation`, as for the convolutions) is applied in the same pass.
    """
    fn = "instance_norm"
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    if not use_input_stats:
        y = batch_norm(x4, running_mean, running_var, weight, bias, False, momentum, eps)
        return unbatch(y if activation is None else apply(as_activation(activation), y), squeeze)
    if h * w == 1:
        raise ValueError(f"{fn}: needs more than 1 spatial element per plane, got input shape {x4.shape}")
    e = _eps(fn, eps)
    weight, bias = _vector(fn, "weight", weight, c, 1), _vector(fn, "bias", bias, c, 0)
    return _normalize_rows(x4, squeeze, n * c, weight, bias, e, c, activation)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5, activation=None):
    """``torch.nn.functional.group_norm`` (``nn.GroupNorm``): the ``C / num_groups`` consecutive channels of
    each group of each image share one mean and biased variance; then ``* weight[c] + bias[c]``, and
    ``activation`` (e.g. ``"silu"`` as in diffusers' ResNet blocks; a name or a `kernels.Activation`) in the
    same pass over the output, channel by channel while it is in L1."""
    fn = "group_norm"
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    try:
        g = operator.index(num_groups)
    except TypeError:
        g = 0
    if g < 1 or c % g:
        raise ValueError(f"{fn}: num_groups must be a positive integer dividing the {c} channels of x, "
                         f"got {num_groups!r}")
    e = _eps(fn, eps)
    weight, bias = _vector(fn, "weight", weight, c, 1), _vector(fn, "bias", bias, c, 0)
    return _normalize_rows(x4, squeeze, n * g, weight, bias, e, g, activation)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """``torch.nn.functional.layer_norm`` (``nn.LayerNorm``): normalise over the trailing axes
    ``normalized_shape`` (``(C, H, W)``, ``(H, W)`` or ``(W,)``) of NCHW or CHW ``x``, then
    ``* weight + bias`` elementwise (arrays of shape ``normalized_shape``)."""
    fn = "layer_norm"
    x4, squeeze = as_batch(fn, x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x_shape = x4.shape[1:] if squeeze else x4.shape
    if not 1 <= len(shape) <= 3 or x_shape[len(x_shape) - len(shape):] != shape:
        raise ValueError(f"{fn}: normalized_shape must be the trailing axes of x (e.g. (C, H, W), (H, W) or "
                         f"(W,)), got {normalized_shape!r} for x of shape {x_shape}")
    e = _eps(fn, eps)
    length = int(np.prod(shape))
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and (np.shape(v) != shape or np.asarray(v).dtype.kind not in "fiu"):
            raise ValueError(f"{fn}: {name} must be a real array of shape {shape} (normalized_shape), got "
                             f"{np.asarray(v).dtype} {np.shape(v)}")
    k = 1 if weight is None and bias is None else length  # without an affine map: one segment per row
    w = np.ones(k) if weight is None else np.asarray(weight)
    b = np.zeros(k) if bias is None else np.asarray(bias)
    return _normalize_rows(x4, squeeze, x4.size // length, w, b, e, 1)


def channel_layer_norm(x, weight=None, bias=None, eps=1e-5):
    """LayerNorm over the channel axis of NCHW ``x`` (ConvNeXt's ``LayerNorm(data_format='channels_first')``,
    diffusers' and timm's ``LayerNorm2d``): exactly ``F.layer_norm(x.permute(0, 2, 3, 1), (C,), weight, bias,
    eps).permute(0, 3, 1, 2)``; each pixel's C values are normalised, then ``* weight[c] + bias[c]``."""
    fn = "channel_layer_norm"
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    e = _eps(fn, eps)
    weight, bias = _vector(fn, "weight", weight, c, 1), _vector(fn, "bias", bias, c, 0)
    y = np.empty_like(x4)
    scratch = np.empty((2, PIXEL_BLOCK))  # only its shape is read
    launch(_channel_norm, n * -(-h * w // PIXEL_BLOCK), x4.size, x4.reshape(n, c, h * w), weight, bias, e,
           scratch, y.reshape(n, c, h * w))
    return unbatch(y, squeeze)
