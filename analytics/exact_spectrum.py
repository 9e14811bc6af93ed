"""The exact spectrum of the interior pattern, H(w^m) and |H(w^m)|/H(1), separably: factor by factor.

One S-period of the pattern has the DFT w^(-m off) H(w^m), w = e^(-2 pi i/S) (DESIGN.md §4), and H(z) is a
product of per-layer factors (`factors`), so its value at every root of unity is the product of theirs.
A geometric factor Z(z) = sum_{t<c} z^(t beta), zeros (a, b) = (c beta, beta), takes at w^m the value c if
S | m b and otherwise the Dirichlet kernel with a linear phase

    Z(w^m) = e^(-i pi m (a - b)/S) sin(pi m a/S) / sin(pi m b/S);

bilinear by s is (1/s) Z_s(z^P)^2 ((1 + z^P)/2)^e with (1 + w^(mP))/2 = e^(-i pi m P/S) cos(pi m P/S); a
folded pattern (after a downsampling convolution) is summed term by term, its modulus through its
autocorrelation. Zeros are decided exactly beforehand, in integer arithmetic (`periods.kills_int`): H(w^m) = 0
iff a factor vanishes at the primitive roots of order S / gcd(m, S).

Cost for a numeric stack of total stride S with L layers: O(d(S) L) integer operations to find the present
frequencies, then for each of them (at most S/2) O(L) exponent additions and ONE SymPy product of at most 2L
sines, plus O(p) terms for a folded pattern of period p. Measured 0.1-0.4 s for ConvTranspose2d(5, stride=3)
* 5 (S = 243, 121 present frequencies; docs/performance.md), where the expanded DFT of the tile that it
replaces took 18.6-27 s (~P^2.5).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any

import sympy as sp

from .errors import CheckerlabError
from .factors import Factor
from .periods import kills_int
from .symbols import IntMod

#: Largest total stride S whose spectrum (a tuple of S exact values) is built.
MAX_EXACT_SPECTRUM = 1 << 16
#: Most factor evaluations (present frequencies up to S/2 times the layers, or the terms of a folded pattern).
MAX_SPECTRUM_WORK = 1 << 14


# ------------------------------------------------------------------ numeric stacks


class _Product:
    """An exact product kept as exponents, rational * prod_atom atom^e, built into ONE SymPy Mul at the end.

    Atoms are sqrt(2), sqrt(3) and the sines and cosines of rational multiples of pi; multiplying products is
    adding exponents, so a value of L factors costs O(L) dict operations and one Mul instead of O(L) Muls."""

    __slots__ = ("rational", "powers")

    def __init__(self, rational: Fraction = Fraction(1), powers: dict | None = None):
        self.rational, self.powers = rational, dict(powers or {})

    def times(self, other: _Product, exponent: int = 1) -> _Product:
        powers = dict(self.powers)
        for atom, e in other.powers.items():
            powers[atom] = powers.get(atom, 0) + e * exponent
        return _Product(self.rational * other.rational ** exponent, powers)

    def expr(self) -> sp.Expr:
        return sp.Mul(sp.Rational(self.rational.numerator, self.rational.denominator),
                      *[_atom(*atom) ** e for atom, e in self.powers.items() if e])


#: sin(pi y) for the angles whose value is rational or one square root: (rational, powers of sqrt(2), sqrt(3)).
_KNOWN_SINES = {Fraction(1, 6): _Product(Fraction(1, 2)), Fraction(1, 4): _Product(Fraction(1, 2), {("sqrt", 2): 1}),
                Fraction(1, 3): _Product(Fraction(1, 2), {("sqrt", 3): 1}), Fraction(1, 2): _Product()}


@lru_cache(maxsize=8192)
def _atom(kind: str, y) -> sp.Expr:
    """sqrt(y), or sin(pi y) / cos(pi y) left unevaluated: SymPy would write sin(pi/8) as nested radicals, and
    the Dirichlet kernel sin(3 pi/8) / (3 sin(pi/8)) reads better than its denested form."""
    if kind == "sqrt":
        return sp.sqrt(y)
    return getattr(sp, kind)(sp.pi * sp.Rational(y.numerator, y.denominator), evaluate=False)


def _sin_pi(x: Fraction) -> tuple[int, _Product]:
    """sin(pi x) = sign * sine with sine = sin(pi y) > 0, 0 < y <= 1/2; sign 0 when x is an integer."""
    r = x % 2
    y = min(r % 1, 1 - r % 1)
    if y == 0:
        return 0, _Product(Fraction(0))
    return (1 if r < 1 else -1), _KNOWN_SINES.get(y) or _Product(powers={("sin", y): 1})


def _cos_pi(x: Fraction) -> tuple[int, _Product]:
    """cos(pi x) = sign * cosine with cosine = cos(pi y) > 0, 0 <= y < 1/2; sign 0 at odd multiples of 1/2."""
    r = x % 2
    w = min(r, 2 - r)  # cos is even and 2-periodic: w in [0, 1]
    y = min(w, 1 - w)
    if y == Fraction(1, 2):
        return 0, _Product(Fraction(0))
    known = _KNOWN_SINES.get(Fraction(1, 2) - y) if y else _Product()
    return (1 if w < Fraction(1, 2) else -1), known or _Product(powers={("cos", y): 1})


def _unit(phase: Fraction, real: _Product | None = None) -> sp.Expr:
    """real * e^(-i pi phase) = real cos(pi phase) - i real sin(pi phase), exactly."""
    real = real or _Product()
    (cs, c), (ss, s) = _cos_pi(phase), _sin_pi(phase)
    return sp.Add(cs * real.times(c).expr(), -ss * sp.I * real.times(s).expr())


def _closed_factor(f: Factor, m: int, total: int) -> tuple[Fraction, int, _Product, _Product]:
    """(phase, sign, magnitude, amplitude) of a closed-form factor at w^m, none of them zero:
    value = e^(-i pi phase) * sign * magnitude, amplitude = magnitude / f(1)."""
    a, b = (int(v) for v in f.zeros)
    power, extra = f.power, int(f.extra)
    scale, ratio = Fraction(str(f.scale)), Fraction(a, b)
    if (m * b) % total == 0:  # every term of the polynomial is 1 here
        return Fraction(0), 1, _Product(scale * ratio ** power), _Product()
    (sa, na), (sb, nb) = _sin_pi(Fraction(m * a, total)), _sin_pi(Fraction(m * b, total))
    phase = Fraction(m * (a - b), total) * power
    sign = (sa * sb) ** power
    kernel = na.times(nb, -1).times(_Product(1 / ratio))
    amplitude = _Product().times(kernel, power)
    if extra:
        p = int(f.stretch)
        sc, nc = _cos_pi(Fraction(m * p, total))
        phase += Fraction(m * p, total) * extra
        sign *= sc ** extra
        amplitude = amplitude.times(nc, extra)
    return phase, sign, amplitude.times(_Product(scale * ratio ** power)), amplitude


@lru_cache(maxsize=64)
def _autocorrelation(c: tuple[int, ...]) -> tuple[int, ...]:
    """A(delta) = sum_j c_j c_(j + delta), delta < p: |sum_j c_j e^(-i t j)|^2 = A(0) + 2 sum A(delta) cos(t delta)."""
    return tuple(sum(c[j] * c[j + delta] for j in range(len(c) - delta)) for delta in range(len(c)))


def _folded_factor(f: Factor, m: int, total: int) -> tuple[sp.Expr, sp.Expr]:
    """(value, amplitude) of a folded pattern sum_j c_j z^(j P) at w^m: the sum itself, and
    sqrt(sum_delta A(delta) cos(2 pi m P delta / S)) / sum_j c_j with A the autocorrelation of c."""
    c, p = f.coefficients, int(f.stretch)
    value = f.scale * sp.Add(*[_unit(Fraction(2 * m * j * p, total), _Product(Fraction(cj)))
                               for j, cj in enumerate(c) if cj])
    auto = _autocorrelation(c)
    terms = [auto[0]]
    for delta, r in enumerate(auto[1:], 1):
        sign, cosine = _cos_pi(Fraction(2 * m * p * delta, total))
        terms.append(2 * r * sign * cosine.expr())
    return value, sp.sqrt(sp.Add(*terms)) / sum(c)


def _present(factors: list[Factor], total: int) -> list[int]:
    """The frequency indices 0 < m <= S/2 where H(w^m) != 0: m = u S/q, gcd(u, q) = 1, for every divisor
    q > 1 of S that no factor kills. O(d(S) L) integer operations plus the output."""
    ms = []
    for q in sp.divisors(total)[1:]:
        if not any(kills_int(f, int(q)) for f in factors):
            ms += [u * (total // q) for u in range(1, q // 2 + 1) if gcd(u, q) == 1]
    return sorted(ms)


def numeric_spectrum(factors: list[Factor], total: int) -> tuple[tuple, tuple]:
    """(H(w^m), |H(w^m)|/H(1)) for m = 0..S-1, exactly (see the module docstring for the cost)."""
    present = _present(factors, total) if total <= MAX_EXACT_SPECTRUM else []
    work = len(present) * sum(len(f.coefficients) if f.zeros is None else 1 for f in factors)
    if total > MAX_EXACT_SPECTRUM or work > MAX_SPECTRUM_WORK:
        raise CheckerlabError(f"the exact spectrum is limited to S <= {MAX_EXACT_SPECTRUM} and "
                              f"{MAX_SPECTRUM_WORK} factor evaluations (this stack: S = {total}, {work or 'more'}); "
                              "use overlap_pattern(stack).spectrum for floating-point amplitudes")
    values: list[Any] = [sp.S.Zero] * total
    amps: list[Any] = [sp.S.Zero] * total
    values[0], amps[0] = sp.Mul(*[f.at_one for f in factors]), sp.S.One
    for m in present:
        phase, sign, magnitude, amplitude, folded, folded_amp = Fraction(0), 1, _Product(), _Product(), 1, 1
        for f in factors:
            if f.zeros is None:
                value, a = _folded_factor(f, m, total)
                folded, folded_amp = folded * value, folded_amp * a
                continue
            ph, sg, mag, a = _closed_factor(f, m, total)
            phase, sign = phase + ph, sign * sg
            magnitude, amplitude = magnitude.times(mag), amplitude.times(a)
        value = _unit(phase, magnitude.times(_Product(Fraction(sign))))
        if folded != 1:
            value = sp.expand(value * folded)
        values[m], amps[m] = value, amplitude.expr() * folded_amp
        if m != total - m:  # H has real coefficients; I is the only non-real atom of the value
            values[total - m], amps[total - m] = value.xreplace({sp.I: -sp.I}), amps[m]
    return tuple(values), tuple(amps)


# ------------------------------------------------------------------ symbolic stacks


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

