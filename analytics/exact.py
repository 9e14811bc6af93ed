"""Exact 1D signals: one layer applied to a finite profile or to one period of a periodic signal.

A signal is a pair (numerators, denominator): int64 while the values provably fit, Python ints (object
arrays) beyond, and a common denominator that grows by 2s at each bilinear layer. A 'map' layer (pads, pools,
FIR, resampling tables) applies its tap tables (`analytics.axis`). Every convolution is a
window sum, k taps spaced d apart (after zero insertion for a transposed conv): prefix sums along the residue
classes mod d make one layer O(input + output) on a profile and O(period) on a period, whatever k and d.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from .layers import AxisOp

#: Values below this fit int64 even after doubling: the engine leaves int64 before reaching it.
INT64_SAFE = 1 << 62


def room(num: np.ndarray, factor: int) -> np.ndarray:
    """Switch to Python ints (object dtype) before an operation that may grow values by `factor`."""
    if num.dtype != object and num.size and int(np.abs(num).max()) * factor >= INT64_SAFE:
        return num.astype(object)
    return num


def _window(x: np.ndarray, d: int, k: int, ends: np.ndarray) -> np.ndarray:
    """sum_{t<k} x[e - t*d] for every e in `ends`, with x zero outside [0, n).

    Prefix sums along the residue classes mod d: F(i) = sum_{j>=0} x[i - j*d], and the window is
    F(e) - F(e - k*d). O(n + len(ends)), independent of k."""
    n = len(x)
    x = room(x, n + 1)
    rows = -(-n // d)
    padded = np.zeros(rows * d, dtype=x.dtype)
    padded[:n] = x
    prefix = np.cumsum(padded.reshape(rows, d), axis=0).ravel()[:n]

    def at(i: np.ndarray) -> np.ndarray:
        i = np.where(i >= n, i - d * ((i - n + d) // d), i)  # the class's last sample at or before n - 1
        out = np.zeros(len(i), dtype=prefix.dtype)
        ok = i >= 0
        out[ok] = prefix[i[ok]]
        return out

    return at(ends) - at(ends - k * d)


def _periodic_window(z: np.ndarray, d: int, k: int) -> np.ndarray:
    """y[u] = sum_{t<k} z[(u - t*d) mod M] for a period z of length M.

    The taps of u walk the orbit of u under -d (mod M), of length L = M / gcd(M, d): k taps are k // L whole
    orbits plus a run of k mod L, read from prefix sums along each orbit. O(M), independent of k and d."""
    m = len(z)
    d %= m
    g = gcd(m, d)
    length = m // g
    q, r = divmod(k, length)
    z = room(z, 2 * m + k)
    j = np.arange(length)
    pos = (np.arange(g)[:, None] - j[None, :] * d) % m  # pos[c, j]: the j-th sample of orbit c
    zo = z[pos]
    y = np.empty(m, dtype=z.dtype)
    value = q * zo.sum(axis=1)[:, None] + np.zeros_like(zo)
    if r:
        ext = np.concatenate([np.zeros((g, 1), dtype=z.dtype), zo, zo[:, :r]], axis=1)
        prefix = np.cumsum(ext, axis=1)
        value = value + (prefix[:, j + r] - prefix[:, j])
    y[pos] = value
    return y


def _zero_insert(x: np.ndarray, s: int, length: int) -> np.ndarray:
    z = np.zeros(length, dtype=x.dtype)
    z[::s] = x[: -(-length // s)]
    return z


def _maps(op: AxisOp, signal: tuple[np.ndarray, int], periodic: bool) -> tuple[np.ndarray, int]:
    """A 'map' AxisOp: its tap tables (`analytics.axis`) applied in order, to a finite or a periodic signal."""
    for m in op.maps:
        signal = m.tile(signal) if periodic else m.profile(signal)
    return signal


def profile_step(op: AxisOp, x: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Apply one layer to a finite 1D signal x/den (zero outside), with PyTorch's boundary rules."""
    if op.kind == "map":
        return _maps(op, (x, den), periodic=False)
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    n, out = len(x), op.output_length(len(x))
    if op.kind == "transposed":  # y[i*s + t*d - pb] += x[i]
        z = _zero_insert(x, s, (n - 1) * s + 1)
        return _window(z, d, k, np.arange(pb, pb + out)), den
    if op.kind == "conv":  # y[o] = sum_t x[o*s + t*d - pb]
        return _window(x, d, k, np.arange(out) * s + (k - 1) * d - pb), den
    if op.kind == "repeat":  # y[o] = x[o // s]
        return np.repeat(x, s), den
    if op.kind == "linear":  # align_corners=False: src = (2o + 1 - s) / 2s, clamped to [0, n-1]
        x = room(x, 2 * s)
        src = np.maximum(2 * np.arange(out) + 1 - s, 0)
        i0 = src // (2 * s)
        frac = src - i0 * 2 * s
        return (2 * s - frac) * x[i0] + frac * x[np.minimum(i0 + 1, n - 1)], den * 2 * s
    return x, den


def period_step(op: AxisOp, c: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Apply one layer to an infinite periodic signal given by one period c (c[n % P]/den)."""
    if op.kind == "map":
        return _maps(op, (c, den), periodic=True)
    k, s, pb, d = op.kernel, op.stride, op.pad_before, op.dilation
    p = len(c)
    if op.kind == "transposed":  # period P*s; y[n] = sum_t z[n + pb - t*d], z = c zero-inserted
        w = _periodic_window(_zero_insert(c, s, p * s), d, k)
        return np.roll(w, -pb), den
    if op.kind == "conv":  # period P / gcd(P, s); y[o] = sum_t c[(o*s + t*d - pb) mod P]
        w = _periodic_window(c, d, k)
        return w[(np.arange(p // gcd(p, s)) * s + (k - 1) * d - pb) % p], den
    if op.kind == "repeat":
        return np.repeat(c, s), den
    if op.kind == "linear":  # interior: no clamping
        c = room(c, 2 * s)
        src = 2 * np.arange(p * s) + 1 - s
        i0 = src // (2 * s)
        frac = src - i0 * 2 * s
        return (2 * s - frac) * c[i0 % p] + frac * c[(i0 + 1) % p], den * 2 * s
    return c, den


def as_exact(num: np.ndarray, den: int) -> np.ndarray:
    """num/den as int64 when every value is an integer that fits, Python ints beyond, else as Fractions
    (1D only: profiles and tiles, O(len))."""
    if den == 1 or not np.any(num % den):
        out = num // den
        return out.astype(np.int64) if all(abs(int(v)) < INT64_SAFE for v in (out.min(), out.max())) else out
    return np.array([Fraction(int(v), den) for v in num.ravel()], dtype=object).reshape(num.shape)


def growth_bits(op: AxisOp) -> int:
    """Bits a layer may add to the largest exact numerator: sums of k taps, or (2s) for bilinear weights; for a
    'map', its tap numerators' largest sum and its denominator."""
    if op.kind == "map":
        return sum(m.gain.bit_length() + m.denominator.bit_length() for m in op.maps)
    if op.kind in ("transposed", "conv"):
        return max(int(op.kernel) - 1, 0).bit_length()
    return (2 * op.stride).bit_length() if op.kind == "linear" else 0


def reach_step(op: AxisOp, a: int, b: int) -> tuple[int, int]:
    """(a, b) after one layer: how many output samples at the start / end of a long profile may differ from
    the periodic interior, given (a, b) of its input.

    A sample is clean when every tap it reads is clean and inside the input: transposed
    a' = a*s + (k-1)*d - pad_before, conv a' = ceil((a + pad_before) / s), nearest a' = a*s, bilinear
    a' = a*s + s//2 (its clamp), and the mirror image at the end (bilinear: b' = b*s + s). An upper bound:
    the borders measured by `overlap` are at most this."""
    k, s, pb, pa, d = op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation
    if op.kind == "map":
        for m in op.maps:
            a, b = m.reach(a, b)
        return a, b
    if op.kind == "transposed":
        return max(0, a * s + (k - 1) * d - pb), max(0, b * s + (k - 1) * d - pa)
    if op.kind == "conv":
        return -(-(a + pb) // s), -(-(b + pa) // s)
    if op.kind == "repeat":
        return a * s, b * s
    if op.kind == "linear":
        return a * s + s // 2, b * s + s
    return a, b
