"""Padding with PyTorch semantics: ``torch.nn.functional.pad`` on the two spatial axes of NCHW / CHW arrays.

Per axis, output index ``j`` reads input position ``m = j - before`` (negative pads crop):

- ``constant``: ``x[m]`` inside the input, ``value`` outside;
- ``reflect``: ``x[|m|]`` mirrored at both edges without repeating them, ``x[2(n-1) - m]`` beyond the end;
- ``replicate``: ``x[clip(m, 0, n-1)]``;
- ``circular``: the axis is cropped first (negative pads), then wrapped: ``c[(j - max(before, 0)) mod n_c]``
  with ``c = x[max(-before, 0) : n - max(-after, 0)]`` of length ``n_c`` (``x[m mod n]`` when no pad is
  negative), as PyTorch's implementation does.

The three index modes are a separable gather (kernels.separable.gather2d), the constant mode a slice copy;
both are exact copies. Cost O(N·C·H_out·W_out).
"""

import operator

import numpy as np

from ._args import as_batch, unbatch
from .separable import gather2d

MODES = ("constant", "reflect", "replicate", "circular")


def _source(mode, n, before, after):
    """Input index read by each output of one axis padded by ``(before, after)`` (index modes only)."""
    n_out = n + before + after
    if mode == "circular":
        n_c = n + min(before, 0) + min(after, 0)
        return max(0, -before) + np.mod(np.arange(n_out, dtype=np.int64) - max(before, 0), n_c)
    m = np.arange(n_out, dtype=np.int64) - before
    if mode == "reflect":
        m = np.abs(m)
        return np.where(m > n - 1, 2 * (n - 1) - m, m)
    return np.clip(m, 0, n - 1)


def _check_axis(fn, mode, name, n, before, after):
    """PyTorch's limits for one axis of size ``n`` padded by ``(before, after)``."""
    n_c = n + min(before, 0) + min(after, 0)  # what is left after cropping
    if mode in ("constant", "circular") and n_c < 0:
        raise ValueError(f"{fn}: pad ({before}, {after}) crops more than the {name} {n} of x")
    if n + before + after < 0:
        raise ValueError(f"{fn}: pad ({before}, {after}) leaves a negative {name} ({n + before + after})")
    if mode == "reflect" and (before >= n or after >= n):
        raise ValueError(f"{fn}: reflect padding must be smaller than the input {name} {n} on each side, "
                         f"got ({before}, {after})")
    if mode == "circular" and (before > n_c or after > n_c):
        raise ValueError(f"{fn}: circular padding must be at most the {'cropped ' if n_c < n else ''}{name} "
                         f"{n_c} on each side (it wraps around once), got ({before}, {after})")


def pad(x, pad, mode="constant", value=None):
    """``torch.nn.functional.pad(x, pad, mode, value)`` for ``pad = (left, right)`` or
    ``(left, right, top, bottom)`` (PyTorch's order: last axis first; negative entries crop).

    Module equivalents: ``ZeroPad2d(p)`` is ``pad(x, p)``, ``ConstantPad2d(p, v)`` is ``pad(x, p, value=v)``,
    ``ReflectionPad2d(p)`` is ``pad(x, p, 'reflect')``, ``ReplicationPad2d(p)`` is ``pad(x, p, 'replicate')``,
    ``Conv2d(padding_mode='circular')`` pads with ``'circular'``. ``x`` is NCHW or CHW (float32 or float64).
    Limits as PyTorch: reflect pads < the axis size, circular pads <= it, the index modes take a 2-entry
    ``pad`` only for CHW input; padding the channel or batch axes is not supported. Cost O(output size).
    """
    fn = "pad"
    if mode not in MODES:
        raise ValueError(f"{fn}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or len(pad) not in (2, 4):
        raise ValueError(f"{fn}: pad must be a tuple (left, right) or (left, right, top, bottom), got {pad!r}")
    try:
        left, right, top, bottom = (*(operator.index(v) for v in pad), 0, 0)[:4]
    except TypeError:
        raise ValueError(f"{fn}: pad entries must be integers, got {pad!r}") from None
    if mode != "constant" and value is not None and value != 0:
        raise ValueError(f"{fn}: padding mode {mode!r} takes no value, got value={value!r}")
    x = np.asarray(x)
    if mode != "constant" and len(pad) == 2 and x.ndim == 4:
        raise ValueError(f"{fn}: {mode} padding of 4-D x needs pad = (left, right, top, bottom); "
                         f"(left, right) is for 3-D x, as in PyTorch")
    x4, squeeze = as_batch(fn, x)
    n, c, h, w = x4.shape
    _check_axis(fn, mode, "height", h, top, bottom)
    _check_axis(fn, mode, "width", w, left, right)
    h_out, w_out = h + top + bottom, w + left + right
    if mode in ("reflect", "replicate") and h_out == w_out == 0:  # PyTorch accepts one empty axis, not two
        raise ValueError(f"{fn}: pad {tuple(pad)} leaves an empty (0, 0) output of x ({h}, {w})")
    if mode == "constant":
        try:
            fill = x4.dtype.type(0 if value is None else value)
        except (TypeError, ValueError):
            raise ValueError(f"{fn}: value must be a real number, got {value!r}") from None
        y = np.full((n, c, h_out, w_out), fill, dtype=x4.dtype)
        src = x4[:, :, max(0, -top) : h - max(0, -bottom), max(0, -left) : w - max(0, -right)]
        y[:, :, max(0, top) : max(0, top) + src.shape[2], max(0, left) : max(0, left) + src.shape[3]] = src
        return unbatch(y, squeeze)
    y = gather2d(x4.reshape(n * c, h, w), _source(mode, h, top, bottom), _source(mode, w, left, right))
    return unbatch(y.reshape(n, c, h_out, w_out), squeeze)

