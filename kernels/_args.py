"""Argument normalisation and validation shared by the kernels' Python wrappers.

Every error is a ``ValueError`` whose message starts with the public function's name and names the
offending parameter and the allowed range, the way PyTorch's checks do.
"""

import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_batch(fn, x):
    """Return ``(x4, squeeze)``: ``x`` as a C-contiguous NCHW float array, ``squeeze`` True for CHW input."""
    x = x if type(x) is np.ndarray else np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: x must be float32 or float64, got {x.dtype}")
    if x.ndim == 3:
        x4, squeeze = x[None], True
    elif x.ndim == 4:
        x4, squeeze = x, False
    else:
        raise ValueError(f"{fn}: x must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x.shape}")
    if 0 in x4.shape[1:]:
        raise ValueError(f"{fn}: x must have C, H, W >= 1, got shape {x.shape}")
    return contiguous(x4), squeeze


def contiguous(a, dtype=None):
    """``a`` as a C-contiguous, writable array of ``dtype``, copied only when it is not one already: the
    compiled kernels take writable arrays only (np.broadcast_to views, np.frombuffer data are read-only)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def unbatch(y, squeeze):
    """Drop the batch axis again for CHW input."""
    return y[0] if squeeze else y


def as_int(fn, name, value, minimum):
    """``value`` as a Python int >= ``minimum``."""
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{fn}: {name} must be an integer >= {minimum}, got {value!r}") from None
    if v < minimum:
        raise ValueError(f"{fn}: {name} must be an integer >= {minimum}, got {v}")
    return v


def pair(fn, name, value, minimum):
    """An int or an (h, w) pair of ints >= ``minimum`` as a tuple ``(h, w)``."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{fn}: {name} must be an int or a pair (h, w), got {value!r}")
        return as_int(fn, name, value[0], minimum), as_int(fn, name, value[1], minimum)
    v = as_int(fn, name, value, minimum)
    return v, v


def weight4(fn, weight, dtype):
    """The 4-D weight as a C-contiguous array of ``dtype`` (no copy when it already is one)."""
    w = weight if type(weight) is np.ndarray else np.asarray(weight)
    if w.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-D, got shape {w.shape}")
    if 0 in w.shape:
        raise ValueError(f"{fn}: weight must have every dimension >= 1, got shape {w.shape}")
    if w.dtype != dtype and w.dtype.kind not in "fiu":
        raise ValueError(f"{fn}: weight must be a real numeric array, got {w.dtype}")
    return contiguous(w, dtype)


def bias1(fn, bias, channels, dtype):
    """The bias as a length-``channels`` array of ``dtype`` (zeros for None; no copy when it already is one)."""
    if bias is None:
        return np.zeros(channels, dtype=dtype)
    b = bias if type(bias) is np.ndarray else np.asarray(bias)
    if b.shape != (channels,):
        raise ValueError(f"{fn}: bias must have shape ({channels},) (one per output channel), got {b.shape}")
    if b.dtype != dtype and b.dtype.kind not in "fiu":
        raise ValueError(f"{fn}: bias must be a real numeric array, got {b.dtype}")
    return contiguous(b, dtype)
