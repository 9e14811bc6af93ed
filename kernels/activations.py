"""Element-wise activations with PyTorch semantics; each returns a new array of the input's dtype.

NumPy ufuncs (vectorised, GIL released, NaN propagated as in PyTorch); any shape is accepted.
"""

import numpy as np

from ._args import FLOAT_DTYPES


def _as_float(fn, x):
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: x must be float32 or float64, got {x.dtype}")
    return x


def relu(x):
    """``max(x, 0)`` (NaN stays NaN)."""
    x = _as_float("relu", x)
    return np.maximum(x, x.dtype.type(0))


def leaky_relu(x, negative_slope=0.01):
    """``x`` if ``x > 0`` else ``negative_slope * x``, as ``torch.nn.functional.leaky_relu``."""
    x = _as_float("leaky_relu", x)
    try:
        slope = float(negative_slope)
    except (TypeError, ValueError):
        raise ValueError(f"leaky_relu: negative_slope must be a real number, got {negative_slope!r}"
                         ) from None
    return np.where(x > 0, x, x * x.dtype.type(slope))


def tanh(x):
    """``tanh(x)``."""
    x = _as_float("tanh", x)
    return np.tanh(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, evaluated as PyTorch does (``exp`` overflowing to inf gives exactly 0)."""
    x = _as_float("sigmoid", x)
    with np.errstate(over="ignore"):
        y = np.negative(x)
        np.exp(y, out=y)
        y += 1
        np.reciprocal(y, out=y)
    return y
