"""Element-wise activations with PyTorch semantics: one definition each, used standalone and fused into convs.

Every activation is a Numba scalar formula, written as ATen's CPU kernel writes it (same operations in the
same order, in the input's dtype; NaN propagates as in PyTorch). `activate` applies one of them to a run of
an array; it is the only code that evaluates them, called both by the standalone functions below (a parallel
pass over the array) and by the convolution kernels' output loop (``activation=`` of `conv2d` and
`conv_transpose2d`: bias and activation are applied while the output block is still in L1, no second pass).

An activation is named by its ``torch.nn.functional`` name and takes torch's keywords (`Activation`). Cost:
O(n) for n elements; the piecewise-linear ones (relu, leaky_relu, prelu, hardtanh, hardswish, hardsigmoid)
and those made of `kernels.exp.exp` (silu, sigmoid, elu: a vectorisable exponential within 1 ulp, like the
SLEEF exp of ATen's vectorised kernels) vectorise in Numba's loop (about 0.5 ns an element for silu); the
others make one libm call (erf, log1p) per element (2-10 ns each); tanh is Cephes' form (a rational
function in x^2 below |x| = 0.625, 1 - 2/(exp(2x) + 1) above: within 3 ulp) and vectorises.
gelu(approximate='tanh') and mish run as `ufuncs`: the same formula as a few whole-array NumPy ufunc passes
(SIMD tanh/exp/log1p, about 0.3 ns an element, GIL released), 3-30x faster than the loop even counting the
extra passes; `VECTORISED` lists them. Convolutions and norms apply relu, leaky_relu, prelu, silu, gelu,
tanh, sigmoid, hardtanh and relu6 in their output loop; the `SEPARATE` ones (the VECTORISED two and the
rare elu, hardswish, hardsigmoid, whose loops would lengthen every conv's first compile) as a pass of their
own after it (`Activation.fused`). `activate` uses NumPy's error model: a float division by zero gives
inf/NaN as in PyTorch, and no per-element zero test stops the vectoriser.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
from numba import njit

from ._args import FLOAT_DTYPES
from .exp import exp
from .jit import FASTMATH
from .threads import num_threads, parallel_for

# Codes of the compiled dispatch in `activate` (PReLU is leaky_relu with a per-channel slope).
IDENTITY, RELU, LEAKY_RELU, ELU, SILU, GELU, GELU_TANH, TANH, SIGMOID, HARDTANH, HARDSWISH, HARDSIGMOID, MISH = \
    range(13)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")
def activate_in_place(code, p0, p1, y, d0, n):
    """``y[d0 + i] = f(y[d0 + i])`` for ``i < n``, f = activation ``code`` with parameters p0, p1 (in the
    array's dtype; see `Activation.parameters`). O(n). The convolutions' and norms' epilogue: it compiles the
    formulas once, not twice as `activate` does (its first compile is a third of a conv's).

    The formulas read and write one slice: with two views of one buffer, LLVM's run-time overlap test fails
    and the scalar loop runs (16 ns an element for silu instead of 0.5)."""
    v = y[d0 : d0 + n]  # a slice: indices from 0 vectorise (no wrap-around test per element)
    _formulas(code, p0, p1, v, v, n)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy")
def activate(code, p0, p1, src, s0, dst, d0, n):
    """``dst[d0 + i] = f(src[s0 + i])`` for ``i < n`` (see `activate_in_place`, which runs when ``src`` is
    ``dst`` and s0 == d0). O(n)."""
    if code == ELU or code == HARDSWISH or code == HARDSIGMOID:  # `SEPARATE`: never fused
        _separate_formulas(code, p0, p1, src[s0 : s0 + n], dst[d0 : d0 + n], n)
    elif s0 == d0 and src.ctypes.data == dst.ctypes.data:
        activate_in_place(code, p0, p1, dst, d0, n)
    else:
        _formulas(code, p0, p1, src[s0 : s0 + n], dst[d0 : d0 + n], n)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy", inline="always")
def _formulas(code, p0, p1, a, y, n):
    """The body of `activate`: ``y[i] = f(a[i])``, inlined so that in place ``a`` and ``y`` are one value.

    IDENTITY leaves ``y`` alone (callers skip it) and the `SEPARATE` codes have no branch here (`ufuncs` and
    `_separate_formulas` evaluate them): every branch is a loop LLVM vectorises, and each one adds to every
    conv's first compile."""
    one = y.dtype.type(1)
    zero = y.dtype.type(0)
    if code == RELU:  # clamp_min(x, 0): NaN stays NaN
        for i in range(n):
            v = a[i]
            y[i] = zero if v < zero else v
    elif code == LEAKY_RELU:  # also PReLU, p0 = the channel's weight
        for i in range(n):
            v = a[i]
            y[i] = v if v > zero else v * p0
    elif code == SILU:  # x / (1 + exp(-x))
        for i in range(n):
            v = a[i]
            y[i] = v / (one + exp(-v))
    elif code == GELU:  # x * 0.5 * (1 + erf(x * sqrt(1/2)))
        half, rsqrt2 = y.dtype.type(0.5), y.dtype.type(math.sqrt(0.5))
        for i in range(n):
            v = a[i]
            y[i] = v * half * (one + math.erf(v * rsqrt2))
    elif code == TANH:  # Cephes: |x| < 0.625 a rational form in x^2, else 1 - 2 / (exp(2x) + 1); <= 3 ulp
        two, small = y.dtype.type(2), y.dtype.type(0.625)
        p0, p1, p2 = y.dtype.type(-9.64399179425052238628e-1), y.dtype.type(-9.92877231001918586564e1), \
            y.dtype.type(-1.61468768441708447952e3)
        q0, q1, q2 = y.dtype.type(1.12811678491632931402e2), y.dtype.type(2.23548839060100448583e3), \
            y.dtype.type(4.84406305325125486048e3)
        for i in range(n):  # both forms computed, then selects (a branch around exp stops the vectoriser)
            v = a[i]
            z = v * v
            e = exp(two * v)
            rational = v * z * ((p0 * z + p1) * z + p2)
            q = ((z + q0) * z + q1) * z + q2
            near = abs(v) < small
            r = (rational if near else -two) / (q if near else e + one)  # one division per element
            y[i] = v + r if near else one + r
    elif code == SIGMOID:  # 1 / (1 + exp(-x)); exp overflowing to inf gives exactly 0
        for i in range(n):
            y[i] = one / (one + exp(-a[i]))
    elif code == HARDTANH:  # clamp(x, p0, p1), NaN stays NaN
        for i in range(n):
            v = a[i]
            y[i] = p0 if v < p0 else (p1 if v > p1 else v)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH), error_model="numpy", inline="always")
def _separate_formulas(code, p0, p1, a, y, n):
    """``y[i] = f(a[i])`` for the activations in `SEPARATE` that are not `VECTORISED` (elu, hardswish,
    hardsigmoid): rare in generators, so they run as a pass of their own after a convolution instead of
    adding their loops to every convolution's first compile."""
    one = y.dtype.type(1)
    zero = y.dtype.type(0)
    if code == ELU:  # ATen: x <= 0 ? (exp(x) - 1) * alpha : x
        for i in range(n):
            v = a[i]
            y[i] = (exp(v) - one) * p0 if v <= zero else v
    elif code == HARDSWISH:  # x * min(max(x + 3, 0), 6) / 6
        three, six = y.dtype.type(3), y.dtype.type(6)
        for i in range(n):
            v = a[i]
            t = v + three
            t = zero if t < zero else (six if t > six else t)
            y[i] = v * t / six
    elif code == HARDSIGMOID:  # min(max(x + 3, 0), 6) / 6
        three, six = y.dtype.type(3), y.dtype.type(6)
        for i in range(n):
            t = a[i] + three
            t = zero if t < zero else (six if t > six else t)
            y[i] = t / six


def ufuncs(code, src, dst) -> None:
    """``dst = f(src)`` for a `VECTORISED` activation ``code``, as whole-array NumPy ufunc passes in ATen's
    order of operations; ``dst`` must not overlap ``src`` (it holds intermediates). O(n), 3-9 passes."""
    with np.errstate(over="ignore", invalid="ignore"):  # exp overflowing to inf is the formula's own limit
        if code == GELU_TANH:  # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
            np.multiply(src, src, out=dst)
            dst *= src
            dst *= dst.dtype.type(0.044715)
            dst += src
            dst *= dst.dtype.type(math.sqrt(2 / math.pi))
            np.tanh(dst, out=dst)
            dst += 1
            dst *= src
            dst *= dst.dtype.type(0.5)  # exact: 0.5 * x * t == x * t * 0.5
        elif code == MISH:  # x * tanh(log1p(exp(x)))
            np.exp(src, out=dst)
            np.log1p(dst, out=dst)
            np.tanh(dst, out=dst)
            dst *= src
        else:
            raise ValueError(f"activation code {code} has no ufunc form")


VECTORISED = frozenset((GELU_TANH, MISH))
# Applied after a convolution or norm as a pass of their own, not in its output loop: the VECTORISED ones
# (faster as NumPy ufunc passes) and the rare ones whose loops would lengthen every conv's first compile.
SEPARATE = VECTORISED | {ELU, HARDSWISH, HARDSIGMOID}


def _ufunc_blocks(lo, hi, code, src, dst, block):
    """Blocks lo..hi-1 of ``block`` elements of the flat arrays through `ufuncs` (a `parallel_for` job: the
    ufuncs release the GIL)."""
    ufuncs(code, src[lo * block : hi * block], dst[lo * block : hi * block])


# name -> (code, keyword parameters with torch's defaults)
ACTIVATIONS = {
    "relu": (RELU, {}),
    "relu6": (HARDTANH, {}),
    "leaky_relu": (LEAKY_RELU, {"negative_slope": 0.01}),
    "prelu": (LEAKY_RELU, {"weight": None}),
    "elu": (ELU, {"alpha": 1.0}),
    "silu": (SILU, {}),
    "gelu": (GELU, {"approximate": "none"}),
    "tanh": (TANH, {}),
    "sigmoid": (SIGMOID, {}),
    "hardtanh": (HARDTANH, {"min_val": -1.0, "max_val": 1.0}),
    "hardswish": (HARDSWISH, {}),
    "hardsigmoid": (HARDSIGMOID, {}),
    "mish": (MISH, {}),
}


def _real(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{fn}: {name} must be a finite real number, got {value!r}")
    return float(value)


class Activation:
    """An element-wise activation by its ``torch.nn.functional`` name and torch's keywords, e.g.
    ``Activation("leaky_relu", negative_slope=0.2)``, ``Activation("gelu", approximate="tanh")``,
    ``Activation("prelu", weight=w)`` (w: 1 or C values, C = the channel axis 1).

    ``code`` selects the formula in `activate`; `parameters` gives its per-channel (p0, p1)."""

    __slots__ = ("name", "params", "code", "_weight", "_tables")

    def __init__(self, name: str, **params):
        spec = ACTIVATIONS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
        code, defaults = spec
        for key in params:
            if key not in defaults:
                allowed = ", ".join(defaults) or "none"
                raise ValueError(f"{name}: unexpected keyword {key!r}; allowed: {allowed}")
        params = {**defaults, **params}
        self._weight = None
        if name == "gelu":
            if params["approximate"] not in ("none", "tanh"):
                raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {params['approximate']!r}")
            code = GELU_TANH if params["approximate"] == "tanh" else GELU
        elif name == "prelu":
            w = np.asarray(params["weight"]) if params["weight"] is not None else None
            if w is None or w.ndim != 1 or w.size < 1 or not np.issubdtype(w.dtype, np.number) \
                    or np.iscomplexobj(w):
                raise ValueError(f"prelu: weight must be a 1-D real array of 1 or C values, got "
                                 f"{None if w is None else w.shape}")
            self._weight = w
        elif name == "hardtanh":
            lo, hi = _real(name, "min_val", params["min_val"]), _real(name, "max_val", params["max_val"])
            if hi < lo:
                raise ValueError(f"hardtanh: max_val ({hi}) must be >= min_val ({lo})")
            params.update(min_val=lo, max_val=hi)
        else:
            for key in ("negative_slope", "alpha"):
                if key in params:
                    params[key] = _real(name, key, params[key])
        self.name, self.params, self.code = name, params, code
        self._tables = {}

    @property
    def vectorised(self) -> bool:
        """Whether `apply` runs it as NumPy ufunc passes (`VECTORISED`)."""
        return self.code in VECTORISED

    @property
    def fused(self) -> bool:
        """Whether convolutions and norms apply it in their output loop (not `SEPARATE`: after it, with
        `apply`)."""
        return self.code not in SEPARATE

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params.items() if k != "weight")
        return f"Activation({self.name!r}{args})"

    def parameters(self, channels: int, dtype) -> np.ndarray:
        """Per-channel (p0, p1) of `activate`, a (channels, 2) array of ``dtype`` (cached: read-only use)."""
        table = self._tables.get((channels, dtype))
        if table is None:
            table = self._tables[channels, dtype] = self._parameters(channels, dtype)
        return table

    def _parameters(self, channels, dtype):
        table = np.zeros((channels, 2), dtype=dtype)
        if self.name == "prelu":
            w = self._weight
            if w.size not in (1, channels):
                raise ValueError(f"prelu: weight has {w.size} values; it needs 1 or {channels} (one per channel)")
            table[:, 0] = w
        elif self.name == "relu6":
            table[:] = 0.0, 6.0
        elif self.name == "hardtanh":
            table[:] = self.params["min_val"], self.params["max_val"]
        elif self.code in (LEAKY_RELU, ELU):
            table[:, 0] = self.params["negative_slope" if self.code == LEAKY_RELU else "alpha"]
        return table


def as_activation(activation) -> Activation | None:
    """None, a name (``"relu"``) or an `Activation`, as an `Activation` (None stays None)."""
    if activation is None or isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        return _named(activation)
    raise ValueError(f"activation must be None, a name such as 'relu' or an Activation, got {activation!r}")


@functools.cache
def _named(name: str) -> Activation:
    return Activation(name)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _rows(lo, hi, code, table, src, dst, row_len, chunk):
    """Jobs lo..hi-1: job j is chunk j % n_chunks of row j // n_chunks; row r of the flat arrays is channel
    r % C of the parameter table."""
    n_chunks = (row_len + chunk - 1) // chunk
    channels = table.shape[0]
    for job in range(lo, hi):
        r = job // n_chunks
        k = job - r * n_chunks
        c = r % channels
        start = r * row_len + k * chunk
        activate(code, table[c, 0], table[c, 1], src, start, dst, start, min(chunk, row_len - k * chunk))


PARALLEL_MIN = 1 << 16  # elements: below this one thread is faster than waking the others
CHUNK = 1 << 13
UFUNC_PARALLEL_MIN = 1 << 19  # elements: measured, 2 threads lose at 2^18 (0.11 vs 0.08 ms tanh), win from 2^20


def apply(activation: Activation, x) -> np.ndarray:
    """``activation`` applied to ``x`` (float32 or float64, any shape; the channel axis is 1): a new array."""
    fn = activation.name
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: x must be float32 or float64, got {x.dtype}")
    if activation.vectorised:
        src = np.ascontiguousarray(x).reshape(-1)
        y = np.empty(x.shape, dtype=x.dtype)
        threads = 1 if x.size < UFUNC_PARALLEL_MIN else num_threads()
        parallel_for(_ufunc_blocks, -(-x.size // CHUNK), threads, activation.code, src, y.reshape(-1), CHUNK)
        return y
    channels = x.shape[1] if x.ndim >= 2 else 1
    table = activation.parameters(channels, x.dtype)
    if table.shape[0] > 1 and not table[:, 0].min() == table[:, 0].max():
        row_len = math.prod(x.shape[2:])  # per-channel parameters: rows of one channel
    else:
        table, row_len = table[:1], x.size
    src = np.ascontiguousarray(x)
    if not src.flags.writeable:  # the compiled kernels take writable arrays only
        src = src.copy()
    y = np.empty(x.shape, dtype=x.dtype)
    if x.size == 0:
        return y
    row_len = max(row_len, 1)
    n_jobs = x.size // row_len * -(-row_len // CHUNK)
    threads = 1 if x.size < PARALLEL_MIN else num_threads()
    parallel_for(_rows, n_jobs, threads, activation.code, table, src.reshape(-1), y.reshape(-1), row_len, CHUNK)
    return y


def apply_in_place(code, table, y, threads) -> None:
    """Activation ``code`` with the per-channel parameters ``table`` (see `Activation.parameters`) applied to
    the C-contiguous NCHW array ``y`` in place, in chunks of channel planes on ``threads`` threads. O(y.size)."""
    if code in VECTORISED:
        flat = y.reshape(-1)
        parallel_for(_ufunc_blocks, -(-y.size // CHUNK), threads, code, flat, flat, CHUNK)
        return
    row_len = max(1, math.prod(y.shape[2:]))
    flat = y.reshape(-1)
    parallel_for(_rows, y.size // row_len * -(-row_len // CHUNK), threads, code, table, flat, flat, row_len, CHUNK)


def relu(x):
    """``torch.nn.functional.relu``: ``max(x, 0)`` (NaN stays NaN)."""
    return apply(Activation("relu"), x)


def relu6(x):
    """``torch.nn.functional.relu6``: ``min(max(x, 0), 6)``."""
    return apply(Activation("relu6"), x)


def leaky_relu(x, negative_slope=0.01):
    """``torch.nn.functional.leaky_relu``: ``x`` if ``x > 0`` else ``negative_slope * x``."""
    return apply(Activation("leaky_relu", negative_slope=negative_slope), x)


def prelu(x, weight):
    """``torch.nn.functional.prelu``: ``x`` if ``x > 0`` else ``weight[c] * x``, c the channel (axis 1); weight
    holds 1 or C values."""
    return apply(Activation("prelu", weight=weight), x)


def elu(x, alpha=1.0):
    """``torch.nn.functional.elu``: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return apply(Activation("elu", alpha=alpha), x)


def silu(x):
    """``torch.nn.functional.silu``: ``x / (1 + exp(-x))``."""
    return apply(Activation("silu"), x)


def gelu(x, approximate="none"):
    """``torch.nn.functional.gelu``: ``x * (1 + erf(x / sqrt 2)) / 2`` (approximate='none', the default), or
    ``x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) / 2`` (approximate='tanh')."""
    return apply(Activation("gelu", approximate=approximate), x)


def tanh(x):
    """``torch.tanh``."""
    return apply(Activation("tanh"), x)


def sigmoid(x):
    """``torch.sigmoid``: ``1 / (1 + exp(-x))`` (``exp`` overflowing to inf gives exactly 0)."""
    return apply(Activation("sigmoid"), x)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """``torch.nn.functional.hardtanh``: ``clamp(x, min_val, max_val)``."""
    return apply(Activation("hardtanh", min_val=min_val, max_val=max_val), x)


def hardswish(x):
    """``torch.nn.functional.hardswish``: ``x * min(max(x + 3, 0), 6) / 6``."""
    return apply(Activation("hardswish"), x)


def hardsigmoid(x):
    """``torch.nn.functional.hardsigmoid``: ``min(max(x + 3, 0), 6) / 6``."""
    return apply(Activation("hardsigmoid"), x)


def mish(x):
    """``torch.nn.functional.mish``: ``x * tanh(log1p(exp(x)))``."""
    return apply(Activation("mish"), x)
