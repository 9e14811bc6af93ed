"""Period algebra: which roots of unity the factors of H(z) kill, and the minimal period that follows.

The interior pattern of total stride S has DFT H(w^m), w = e^(-2 pi i/S); its frequencies of exact order q
(q | S) are present iff no factor vanishes at the primitive q-th roots of unity, i.e. iff the cyclotomic
polynomial Phi_q divides no factor (it is irreducible). A factor (1 - z^a)/(1 - z^b), b | a, vanishes there
iff q | a and q does not divide b; a folded pattern is tested by exact polynomial division. The minimal
period is the lcm of the present q (1 if none): the stack is even iff every q > 1 is killed (Sugawara,
Shiota & Kiya). Cost: O(L) per q for closed-form factors, O(p q) for a folded pattern of period p.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .factors import Factor
from .symbols import DivisorLcm, IntMod


@lru_cache(maxsize=256)
def _cyclotomic(q: int) -> tuple[int, ...]:
    """Coefficients of Phi_q, low to high (monic)."""
    x = sp.Symbol("x")
    return tuple(int(c) for c in reversed(sp.Poly(sp.cyclotomic_poly(q, x), x).all_coeffs()))


def cyclotomic_divides(coefficients, stretch: int, q: int) -> bool:
    """Does the q-th cyclotomic polynomial divide sum_j c_j z^(j*stretch)? (Exact, integer arithmetic.)"""
    folded = [0] * q  # reduce mod z^q - 1 first: Phi_q divides z^q - 1
    for j, c in enumerate(coefficients):
        folded[(j * stretch) % q] += int(c)
    phi = _cyclotomic(q)
    deg = len(phi) - 1
    rem = folded[:]
    for top in range(len(rem) - 1, deg - 1, -1):
        c = rem[top]
        if c:
            for i in range(deg + 1):
                rem[top - deg + i] -= c * phi[i]
    return not any(rem[:deg])


def kills(f: Factor, q) -> sp.Basic:
    """SymPy boolean: the factor vanishes at the primitive q-th roots of unity."""
    if f.zeros is None:
        return sp.true if cyclotomic_divides(f.coefficients, int(f.stretch), int(q)) else sp.false
    a, b = f.zeros
    not_b = sp.Gt(q, 1) if b == 1 else sp.Ne(IntMod(b, q), 0)  # q does not divide 1 iff q > 1
    return sp.And(sp.Eq(IntMod(a, q), 0), not_b)


def kills_int(f: Factor, q: int) -> bool:
    """`kills(f, q)` for numeric factors, in integer arithmetic."""
    if f.zeros is None:
        return cyclotomic_divides(f.coefficients, int(f.stretch), q)
    a, b = (int(v) for v in f.zeros)
    return a % q == 0 and b % q != 0


def creates(f: Factor, q: int) -> bool:
    """Does this layer's upsampling create the frequencies of order q? (q | up*P, q does not divide P.)"""
    return (int(f.up) * int(f.stretch)) % q == 0 and int(f.stretch) % q != 0


def present(factors: list[Factor], q) -> sp.Basic:
    """SymPy boolean: the frequencies of exact order q (period q) are present: no factor kills them."""
    return sp.And(*[sp.Not(kills(f, q)) for f in factors])


def minimal_period(factors: list[Factor], total, q: sp.Dummy) -> sp.Expr:
    """lcm of the divisors q of S whose primitive roots are not zeros of H(z), as a closed form in the
    layer parameters (`DivisorLcm` over the bound variable q)."""
    return DivisorLcm(sp.Piecewise((q, present(factors, q)), (1, True)), q, total)


def annihilators(factors: list[Factor], total: int) -> dict[int, tuple[int, ...]]:
    """For each divisor q > 1 of S: the layers whose factor vanishes at the primitive q-th roots of 1."""
    return {int(q): tuple(f.index for f in factors if kills_int(f, int(q)))
            for q in sp.divisors(int(total)) if q > 1}

