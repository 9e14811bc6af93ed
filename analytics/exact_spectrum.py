"""The exact spectrum of the interior pattern, H(w^m) and |H(w^m)|/H(1): from the tile, or in the symbols.

One S-period of the pattern has the DFT w^(-m off) H(w^m), w = e^(-2 pi i/S) (DESIGN.md §4). For numeric
stacks it is summed from one minimal period of the pattern; for symbolic ones it is the product of the
factors' Dirichlet kernels, a Piecewise in m.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any

import sympy as sp

from .errors import CheckerlabError
from .factors import Factor
from .symbols import IntMod

#: Largest minimal period whose spectrum is computed as exact algebraic numbers.
MAX_EXACT_SPECTRUM = 256


def _root_tables(p: int):
    cos = [sp.cos(2 * sp.pi * sp.Rational(u, p)) for u in range(p)]
    sin = [sp.sin(2 * sp.pi * sp.Rational(u, p)) for u in range(p)]
    return cos, sin


def tile_spectrum(tile: list[Fraction], offset: int, total: int, zero) -> tuple[tuple, tuple]:
    """(H(w^m), |H(w^m)|/H(1)) for m = 0..S-1, exactly, from one minimal period of the pattern.

    With P the minimal period, H(w_S^m) = 0 unless m = (S/P) m', and then
    H(w_S^m) = (S/P) sum_n tile[n] w_P^(m'(n + off)); |H|^2 = sum_q R(q) cos(2 pi m' q / P), R the cyclic
    autocorrelation of the tile. `zero(q)` says (exactly) whether H vanishes at the primitive q-th roots."""
    p = len(tile)
    if p > MAX_EXACT_SPECTRUM:
        raise CheckerlabError(f"the exact spectrum is limited to periods <= {MAX_EXACT_SPECTRUM} (this one "
                              f"is {p}); use overlap_pattern(stack).spectrum for floating-point amplitudes")
    cos, sin = _root_tables(p)
    ratio = total // p
    auto = [sum(tile[n] * tile[(n + q) % p] for n in range(p)) for q in range(p)]
    dc = sum(tile)
    values: list[Any] = [sp.S.Zero] * total
    amps: list[Any] = [sp.S.Zero] * total
    for mp in range(p // 2 + 1):
        m = mp * ratio
        order = p // gcd(mp, p)
        if mp and zero(order):
            continue
        re, sq = [0] * p, [0] * p
        for n, t in enumerate(tile):
            u = (mp * (n + offset)) % p
            re[u] += t
        for q, r in enumerate(auto):
            sq[(mp * q) % p] += r
        for u in range(1, (p + 1) // 2):  # cos(2 pi u/p) = cos(2 pi (p-u)/p)
            sq[u] += sq[p - u]
            sq[p - u] = 0
        real = sp.Add(*[sp.Rational(re[u]) * cos[u] for u in range(p) if re[u]])
        imag = -sp.Add(*[sp.Rational(re[u]) * sin[u] for u in range(p) if re[u]])
        value = sp.expand(ratio * (real + sp.I * imag))
        power = sp.Add(*[sp.Rational(sq[u]) * cos[u] for u in range(p) if sq[u]])
        amp = sp.sqrt(sp.expand(power)) / sp.Rational(dc) if mp else sp.S.One
        values[m], amps[m] = value, amp
        if m and m != total - m:
            values[total - m], amps[total - m] = sp.conjugate(value), amp
    return tuple(values), tuple(amps)


def symbolic_spectrum(factors: list[Factor], total, m: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """(H(w^m), |H(w^m)|/H(1)) as expressions in the frequency index m: the product of the factors'
    Dirichlet kernels, each a Piecewise on S | m b. O(L) SymPy operations."""
    def omega_power(e):
        return sp.exp(-2 * sp.pi * sp.I * m * e / total)

    values, amps = [], []
    for f in factors:
        a, b = f.zeros
        power, ratio = f.power, a / b
        on_zero = sp.Eq(IntMod(m * b, total), 0)
        value = sp.Piecewise((ratio ** power, on_zero),
                             (((1 - omega_power(a)) / (1 - omega_power(b))) ** power, True))
        dirichlet = sp.Abs(sp.sin(sp.pi * m * a / total) / (ratio * sp.sin(sp.pi * m * b / total)))
        amp = sp.Piecewise((1, on_zero), (dirichlet ** power, True))
        if f.power == 2:  # bilinear
            P = f.stretch
            value *= f.scale * ((1 + omega_power(P)) / 2) ** f.extra
            amp *= sp.Abs(sp.cos(sp.pi * m * P / total)) ** f.extra
        values.append(value)
        amps.append(amp)
    return sp.Mul(*values), sp.Mul(*amps)

