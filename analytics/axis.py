"""The 1D primitives that every layer reduces to along one spatial axis, with their exact rules.

Every linear layer, along one axis, is a *shift-covariant tap table*: output ``o = m*q + r`` (r < q) reads
the inputs ``m*p + off`` with weights ``w`` for the pairs ``(off, w)`` of phase r. p is the input step, q the
output step: a transposed convolution of stride s has (p, q) = (1, s), a convolution of stride s (s, 1), a
resampling by in/out = a/b has (a, b). Exact weights are integer numerators over one common denominator.

From the table, three exact rules follow, the same for every layer:

- `profile`: the finite 1D output of a finite input, with the layer's boundary (zeros, reflect, replicate,
  circular; average pools renormalise) - O(out * taps);
- `tile`: one period of the output of an infinite periodic input of period P; the output period is
  q * P / gcd(P, p) - O(period * taps);
- `dirty`: which output samples a border can influence (a tap outside the input, or a dirty input): the
  complement is the interior, where the finite output equals the infinite-input response - O(out * taps).

`MaxAxis` (max pooling) uses the same table with max instead of sum: exact on counts, which are never
negative. A signal is a pair ``(num, den)``: int64 numerators (Python ints, dtype object, once they could
overflow) over a positive int denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import ceil, floor, gcd, lcm

import numpy as np

from .errors import CheckerlabError

Signal = tuple[np.ndarray, int]

_INT64_SAFE = 1 << 62
BOUNDARIES = ("zeros", "reflect", "replicate", "circular", "none")


def room(num: np.ndarray, factor: int) -> np.ndarray:
    """`num` as Python ints (dtype object) when an operation growing values by `factor` could overflow."""
    if num.dtype != object and num.size and (int(np.abs(num).max()) + 1) * max(int(factor), 1) >= _INT64_SAFE:
        return num.astype(object)
    return num


def common(weights) -> tuple[list[int], int]:
    """Exact weights (ints, Fractions or floats taken exactly) as integer numerators over one denominator."""
    fr = [Fraction(w) for w in weights]
    den = lcm(*(f.denominator for f in fr)) if fr else 1
    return [int(f * den) for f in fr], den


@dataclass(frozen=True)
class AxisMap:
    """A shift-covariant linear map along one axis: the tap table of the module docstring.

    `phases[r]` lists the (offset, weight) pairs of output phase r; weights are exact (int or Fraction).
    `boundary` says what a tap outside the input reads: 'zeros', 'reflect', 'replicate', 'circular', or
    'none' (the layer never reads outside). Subclasses give the table and `output_length`."""

    step_in: int
    step_out: int
    phases: tuple[tuple[tuple[int, Fraction], ...], ...]
    boundary: str = "zeros"

    kind = "linear"

    def output_length(self, n: int) -> int:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(offsets (q, T), numerators (q, T), denominator); phases padded with zero weights."""
        width = max(1, max(len(ph) for ph in self.phases))
        off = np.zeros((self.step_out, width), np.int64)
        num = np.zeros((self.step_out, width), np.int64)
        nums, den = common([w for ph in self.phases for _, w in ph])
        it = iter(nums)
        for r, ph in enumerate(self.phases):
            for t, (o, _) in enumerate(ph):
                off[r, t], num[r, t] = o, next(it)
        return off, num, den

    @property
    def gain(self) -> int:
        """Largest absolute sum of numerators of one phase: the growth bound of one application."""
        _, num, _ = self._table
        return int(np.abs(num).sum(axis=1).max()) if num.size else 1

    @property
    def denominator(self) -> int:
        """The common denominator of the exact weights."""
        return self._table[2]

    def reach(self, a: int, b: int) -> tuple[int, int]:
        """(a', b'): how many outputs at the start / end a border can influence, given a and b influenced inputs
        at the start / end of a long input (exact, from `dirty` on inputs long enough for the two ends not to
        meet, the end maximised over the p input lengths it depends on). O(p * (a + b + taps))."""
        off, _, _ = self._table
        span = int(np.abs(off).max()) if off.size else 0
        n0 = 4 * (a + b + 2 * span + self.step_in * self.step_out + 8)
        lead = trail = 0
        for n in range(n0, n0 + self.step_in):
            mask = np.zeros(n, bool)
            mask[:a] = True
            mask[n - b:] = True
            out = self.dirty(mask)
            clean = np.flatnonzero(~out)
            lead = max(lead, int(clean[0]) if clean.size else len(out))
            trail = max(trail, len(out) - 1 - int(clean[-1]) if clean.size else len(out))
        return lead, trail

    def taps(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(input indices (len, T), numerators (len, T), denominator) of the given output indices."""
        off, num, den = self._table
        m, r = np.divmod(outputs, self.step_out)
        return m[:, None] * self.step_in + off[r], num[r], den

    def _read(self, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices mapped into [0, n), valid mask) under the boundary rule (PyTorch's pad modes)."""
        if self.boundary == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            j = np.abs(idx) % period if n > 1 else np.zeros_like(idx)
            return np.where(j >= n, period - j, j), np.ones(idx.shape, bool)
        if self.boundary == "replicate":
            return np.clip(idx, 0, n - 1), np.ones(idx.shape, bool)
        if self.boundary == "circular":
            return idx % n, np.ones(idx.shape, bool)
        inside = (idx >= 0) & (idx < n)
        return np.where(inside, idx, 0), inside

    def _weights(self, idx: np.ndarray, num: np.ndarray, den: int, valid: np.ndarray, n: int):
        """Per-output weights after the boundary (zero where nothing is read); average pools override."""
        return np.where(valid, num, 0), den

    def profile(self, x: Signal) -> Signal:
        """The finite output of the finite input x (zero outside, or the boundary rule)."""
        xn, xd = x
        n = xn.shape[-1]
        out = self.output_length(n)
        if out < 1:
            raise CheckerlabError(f"output would be empty: length {n} -> {out}")
        idx, num, den = self.taps(np.arange(out))
        j, valid = self._read(idx, n)
        w, den = self._weights(idx, num, den, valid, n)
        return self._combine(room(xn, int(np.abs(w).sum(axis=1).max()))[..., j], w), xd * den

    def tile(self, c: Signal) -> Signal:
        """One period of the output of the infinite periodic input c[n mod P]."""
        cn, cd = c
        p = cn.shape[-1]
        period = self.step_out * p // gcd(p, self.step_in)
        idx, num, den = self.taps(np.arange(period))
        return self._combine(room(cn, self.gain)[..., idx % p], num), cd * den

    def dirty(self, mask: np.ndarray) -> np.ndarray:
        """Which outputs a border can influence: a tap outside the input, or a tap on a dirty input."""
        n = len(mask)
        idx, num, _ = self.taps(np.arange(self.output_length(n)))
        used = num != 0
        outside = (idx < 0) | (idx >= n)
        return ((outside | mask[np.clip(idx, 0, n - 1)]) & used).any(axis=1)

    @staticmethod
    def _combine(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sum over the taps (the last axis) of values (..., out, T) times weights (out, T)."""
        return (values * weights).sum(axis=-1)


def _conv_length(n, k, s, pb, pa, d, ceil_mode=False):
    """PyTorch's convolution / pooling output length; ceil_mode as torch's pooling_output_shape."""
    span = n + pb + pa - d * (k - 1) - 1
    if span < 0:
        return 0
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + pb:  # the last window must start inside the input or left pad
        out -= 1
    return out


@dataclass(frozen=True)
class Transposed(AxisMap):
    """y[i*s + t*d - pb] += w[t] x[i]; out = (n - 1)s + d(k - 1) + 1 - pb - pa (pa: the crop at the end)."""

    kernel: int = 1
    stride: int = 1
    pad_before: int = 0
    pad_after: int = 0
    dilation: int = 1

    kind = "transposed"

    @classmethod
    def make(cls, kernel, stride=1, pad_before=0, pad_after=0, dilation=1, weights=None) -> Transposed:
        w = weights if weights is not None else [1] * kernel
        phases = tuple(tuple(((r + pad_before - t * dilation) // stride, Fraction(w[t])) for t in range(kernel)
                             if (r + pad_before - t * dilation) % stride == 0 and w[t] != 0)
                       for r in range(stride))
        return cls(1, stride, phases, "zeros", kernel, stride, pad_before, pad_after, dilation)

    def output_length(self, n):
        return (n - 1) * self.stride + self.dilation * (self.kernel - 1) + 1 - self.pad_before - self.pad_after


@dataclass(frozen=True)
class Convolution(AxisMap):
    """y[o] = sum_t w[t] x[o*s + t*d - pb] with the boundary rule; also padding (k = 1), cropping and strided
    slicing (negative pb), and average pooling (weights 1/k, `count_include_pad`, `divisor`)."""

    kernel: int = 1
    stride: int = 1
    pad_before: int = 0
    pad_after: int = 0
    dilation: int = 1
    ceil_mode: bool = False
    average: str | None = None  # None, 'include_pad' or 'exclude_pad' (AvgPool2d's count_include_pad)

    kind = "conv"

    @classmethod
    def make(cls, kernel, stride=1, pad_before=0, pad_after=0, dilation=1, weights=None, boundary="zeros",
             ceil_mode=False, average=None) -> Convolution:
        if boundary not in BOUNDARIES:
            raise CheckerlabError(f"boundary={boundary!r} must be one of {', '.join(BOUNDARIES)}")
        w = weights if weights is not None else [Fraction(1, kernel) if average else 1] * kernel
        phases = (tuple((t * dilation - pad_before, Fraction(w[t])) for t in range(kernel) if w[t] != 0),)
        return cls(stride, 1, phases, boundary, kernel, stride, pad_before, pad_after, dilation, ceil_mode, average)

    def output_length(self, n):
        return _conv_length(n, self.kernel, self.stride, self.pad_before, self.pad_after, self.dilation,
                            self.ceil_mode)

    def _weights(self, idx, num, den, valid, n):
        if self.average is None:
            return super()._weights(idx, num, den, valid, n)
        # PyTorch's divisor: the window clipped to the padded input (include_pad) or to the input (exclude).
        start = idx[:, 0]
        if self.average == "include_pad":
            count = np.minimum(start + self.kernel, n + self.pad_after) - np.maximum(start, -self.pad_before)
        else:
            count = valid.sum(axis=1)
        count = np.maximum(count, 1)
        big = lcm(*map(int, np.unique(count)))
        # num / den is 1/k per tap: replace it by 1/count, i.e. big/count over the denominator big.
        return np.where(valid, (big // count)[:, None], 0), big


@dataclass(frozen=True)
class MaxAxis(Convolution):
    """Max pooling: y[o] = max over taps of x[o*s + t*d - pb]; taps outside the input are ignored (-inf).
    Exact for counts (never negative); the 2D max of a separable nonnegative map is the product of the
    per-axis maxima. The window and output length are the convolution's."""

    kind = "max"

    @classmethod
    def make(cls, kernel, stride, pad_before=0, pad_after=0, dilation=1, ceil_mode=False) -> MaxAxis:
        phases = (tuple((t * dilation - pad_before, Fraction(1)) for t in range(kernel)),)
        return cls(stride, 1, phases, "zeros", kernel, stride, pad_before, pad_after, dilation, ceil_mode)

    @property
    def gain(self) -> int:
        return 1

    def profile(self, x):
        xn, xd = x
        n = xn.shape[-1]
        idx, _, _ = self.taps(np.arange(self.output_length(n)))
        j, valid = self._read(idx, n)
        # every window holds at least one input sample (PyTorch's shape rule): a masked max is exact
        low = min(0, *xn.ravel()) if xn.dtype == object else np.iinfo(np.int64).min
        return np.where(valid, xn[..., j], low).max(axis=-1), xd

    def tile(self, c):
        cn, cd = c
        p = cn.shape[-1]
        idx, _, _ = self.taps(np.arange(p // gcd(p, self.step_in)))
        return cn[..., idx % p].max(axis=-1), cd


def _cubic(t: Fraction, a: Fraction = Fraction(-3, 4)) -> tuple[Fraction, ...]:
    """PyTorch's bicubic weights (Keys, A = -0.75) of the 4 taps at floor - 1 .. floor + 2, t = frac(src)."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return (far(t + 1), near(t), near(1 - t), far(2 - t))


@dataclass(frozen=True)
class Resample(AxisMap):
    """F.interpolate along one axis (and AdaptiveAvgPool's windows): output o samples the input at
    src(o) = (o + 1/2) * a/b - 1/2 (half-pixel, align_corners=False) or o * a/b (align_corners=True), where
    a/b = in/out in lowest terms (or 1/scale_factor when a scale factor is given). Modes:

    - 'nearest': x[floor(o * a/b)]; 'nearest-exact': x[floor((o + 1/2) * a/b)];
    - 'linear': (1 - t) x[i] + t x[i + 1], i = floor(src), t = src - i;
    - 'cubic': Keys' cubic convolution with A = -3/4 on x[i - 1 .. i + 2];
    - 'area': the mean of x[floor(o a/b) .. ceil((o + 1) a/b) - 1] (AdaptiveAvgPool2d).

    Indices outside the input are clamped (PyTorch clamps src, or the index, at the edges)."""

    method: str = "nearest"
    ratio: Fraction = Fraction(1)
    align_corners: bool = False
    size: int | None = None

    kind = "resample"

    @classmethod
    def make(cls, method, ratio, align_corners=False, size=None) -> Resample:
        ratio = Fraction(ratio)
        a, b = ratio.numerator, ratio.denominator
        phases = []
        for r in range(b):
            if method == "nearest":
                ph = ((floor(r * ratio), Fraction(1)),)
            elif method == "nearest-exact":
                ph = ((floor((r + Fraction(1, 2)) * ratio), Fraction(1)),)
            elif method == "area":
                lo, hi = floor(r * ratio), ceil((r + 1) * ratio)
                ph = tuple((i, Fraction(1, hi - lo)) for i in range(lo, hi))
            else:
                src = r * ratio if align_corners else (r + Fraction(1, 2)) * ratio - Fraction(1, 2)
                i, t = floor(src), src - floor(src)
                if method == "linear":
                    ph = ((i, 1 - t), (i + 1, t))
                elif method == "cubic":
                    ph = tuple(zip(range(i - 1, i + 3), _cubic(t), strict=True))
                else:
                    raise CheckerlabError(f"unknown resampling method {method!r}")
                ph = tuple((o, w) for o, w in ph if w != 0)
            phases.append(ph)
        return cls(a, b, tuple(phases), "none" if method == "area" else "replicate", method, ratio,
                   align_corners, size)

    def output_length(self, n):
        return self.size if self.size is not None else floor(n / self.ratio)


@dataclass(frozen=True)
class GlobalAxis:
    """Global mixing along the axis (AdaptiveAvgPool2d(1), attention): the output no longer depends on the
    position. Networks treat such a value as flat; along one axis its length becomes `size`."""

    size: int = 1
    kind = "global"

    def output_length(self, n):
        return self.size


IDENTITY = Convolution.make(1)
