"""Closed forms of the overlap pattern with SymPy: counts, minimal periods, conditions, H(z) and spectrum.

Per axis, a stack of upsamplers and stride-1 convolutions is ONE transposed convolution (`factors`): total
stride S = prod s_i, effective kernel H(z) = prod_i H_i(z^{P_i}), offset off <- off*s_i + p_i, and the
interior count at output n is c(n) = sum_{j = n + off (mod S)} h[j]. One period's DFT is
C(m) = w^{-m off} H(w^m), w = e^{-2 pi i/S} (`exact_spectrum`). Every factor H_i(z^P) is
(1 - z^a)/(1 - z^b) with b | a (up to a constant), so the minimal period is the lcm of the divisors q > 1 of
S at which no factor vanishes (`periods`), and the stack is even iff 1 + z + ... + z^(S-1) divides H(z)
(Sugawara, Shiota & Kiya). For one layer with g = gcd(d, s): period g if (s/g) | k, else s.

Layer parameters may be SymPy integer symbols (`symbols`); `evaluate` gives exact values. Rendering lives
in `presentation` (`to_latex`, `to_text`). `closed_form` keeps the last `CACHE_SIZE` results (LRU).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cached_property, lru_cache

import sympy as sp

from .errors import CheckerlabError
from .evaluation import evaluate
from .exact_spectrum import numeric_spectrum, symbolic_spectrum
from .factors import compose
from .layer_forms import Step, axis_steps, check_axis
from .overlap import overlap_pattern
from .periods import annihilators, minimal_period
from .stack import Stack, as_stack
from .symbols import IntGcd, IntMod, fresh_symbol, substitute

#: Closed forms that `closed_form` keeps, least recently used dropped first (each holds SymPy expressions).
CACHE_SIZE = 64


class ClosedForm:
    """Closed forms of the interior overlap pattern of `stack` along `axis` (see the module docstring).

    Attributes: `n` (output index), `z`, `m` (frequency index) symbols; `stride` S; `offset`; `factors`;
    `count` c(n); `period`; `even_condition`; `holes_condition`; `generating_function` H(z); `spectrum`
    (H at the S-th roots of unity: a tuple of exact numbers for numeric stacks, an expression in `m`
    otherwise); `amplitudes` (|H(w^m)|/H(1)); `mean` (H(1)/S); numeric stacks also have `tile`,
    `artifact_frequencies`, `annihilators` and `present_periods`."""

    def __init__(self, stack, axis: int = 0):
        self.stack = as_stack(stack)
        self.axis = axis
        steps = axis_steps(self.stack, axis)
        self.symbols = frozenset().union(*(sp.sympify(v).free_symbols for st in steps
                                           for v in (st.kernel, st.stride, st.pad, st.dilation)))
        self.is_symbolic = bool(self.symbols)
        taken = {str(s) for s in self.symbols}
        self.n = fresh_symbol("n", taken, integer=True)
        self.z = fresh_symbol("z", taken)
        self.m = fresh_symbol("m", taken, integer=True, nonnegative=True)
        self._q = sp.Dummy("q", integer=True, positive=True)
        self._taken = taken
        base = None
        downs = [i for i, st in enumerate(steps) if st.kind == "down"]
        if downs and self.is_symbolic:
            raise steps[downs[0]].downsampling_error()
        if downs:  # fold everything up to the last downsampling conv into its exact periodic pattern
            last = downs[-1]
            pat = overlap_pattern(self.stack[: steps[last].index + 1]).axes[axis]
            den = pat.denominator
            coeffs = tuple(int(Fraction(v) * den) for v in pat.tile)
            base = (steps[last].index, coeffs, den, len(coeffs))
            steps = steps[last + 1:]
        self.steps = steps
        self.factors, self.stride, self.offset = compose(steps, self.z, base)

    # ---- numeric ground truth

    @cached_property
    def pattern(self):
        """The numeric ground truth: overlap_pattern's AxisPattern along this axis (numeric stacks only)."""
        if self.is_symbolic:
            raise CheckerlabError("this needs numeric layer parameters: substitute values with .subs({...})")
        return overlap_pattern(self.stack).axes[self.axis]

    @cached_property
    def tile(self) -> tuple:
        """One minimal period of the interior count, indexed by output index mod period (numeric only)."""
        return tuple(sp.Rational(Fraction(v)) for v in self.pattern.tile)

    # ---- closed forms

    @cached_property
    def count(self) -> sp.Expr:
        """The exact interior overlap count c(n) at output index n."""
        if not self.is_symbolic:
            tile, p = self.tile, len(self.tile)
            if p == 1:
                return tile[0]
            cases = [(tile[r], sp.Eq(IntMod(self.n, p), r)) for r in range(p - 1)]
            return sp.Piecewise(*cases, (tile[-1], True))
        x = sp.Dummy("x", integer=True)
        expr = sp.Integer(1)
        for st in self.steps:
            expr = st.count(expr, x, fresh_symbol(f"j_{st.index}", self._taken, integer=True))
        return expr.xreplace({x: self.n})

    @cached_property
    def generating_function(self) -> sp.Expr:
        """H(z) = prod_i H_i(z^(P_i)), the effective kernel of the whole stack, in product form."""
        return sp.Mul(*[f.scale * f.expr for f in self.factors])

    def _single(self) -> Step | None:
        """The one transposed layer, when the stack is a single transposed conv along this axis."""
        if len(self.steps) == 1 and self.steps[0].kind == "transposed" and len(self.factors) == 1:
            return self.steps[0]
        return None

    @cached_property
    def period(self) -> sp.Expr:
        """The minimal period: lcm of the divisors q of S whose primitive roots are not zeros of H(z).

        One transposed layer: g = gcd(d, s); period g if (s/g) | k, else s."""
        if not self.is_symbolic:
            return sp.Integer(self.pattern.period)
        one = self._single()
        if one is not None:
            k, s, d = (sp.sympify(v) for v in (one.kernel, one.stride, one.dilation))
            g = IntGcd(d, s)
            return sp.Piecewise((g, sp.Eq(IntMod(k, s / g), 0)), (s, True))
        return minimal_period(self.factors, self.stride, self._q)

    @cached_property
    def even_condition(self) -> sp.Basic:
        """Every interior pixel gets the same nonzero count: gcd(d, s) = 1 and s | k for one layer; in
        general period 1 (then c = H(1)/S > 0, so no holes)."""
        if not self.is_symbolic:
            return sp.true if self.pattern.period == 1 and self.pattern.tile.min() > 0 else sp.false
        one = self._single()
        if one is not None:
            k, s, d = (sp.sympify(v) for v in (one.kernel, one.stride, one.dilation))
            return sp.And(sp.Eq(IntGcd(d, s), 1), sp.Eq(IntMod(k, s), 0))
        return sp.Eq(self.period, 1)

    @cached_property
    def holes_condition(self) -> sp.Basic:
        """Some interior pixel gets no tap: gcd(d, s) > 1 or k < s/gcd(d, s) for one layer; in general
        the product of the counts over one period S vanishes."""
        if not self.is_symbolic:
            return sp.true if self.pattern.tile.min() == 0 else sp.false
        one = self._single()
        if one is not None:
            k, s, d = (sp.sympify(v) for v in (one.kernel, one.stride, one.dilation))
            g = IntGcd(d, s)
            return sp.Or(sp.Gt(g, 1), sp.Lt(k, s / g))
        r = fresh_symbol("r", self._taken, integer=True)
        return sp.Eq(sp.Product(self.count.xreplace({self.n: r}), (r, 0, self.stride - 1)), 0)

    @cached_property
    def mean(self) -> sp.Expr:
        """The average interior count H(1)/S: the product of the kernel weights over the total stride."""
        return sp.Mul(*[f.at_one for f in self.factors]) / self.stride

    # ---- spectrum

    @cached_property
    def _spectrum(self) -> tuple:
        if self.is_symbolic:
            return symbolic_spectrum(self.factors, self.stride, self.m)
        return numeric_spectrum(self.factors, int(self.stride))

    @property
    def spectrum(self):
        """H(w^m), w = e^(-2 pi i/S): exact algebraic numbers for m = 0..S-1 (numeric stacks), else an
        expression in `m`. The DFT of one S-period of the pattern is w^(-m off) H(w^m)."""
        return self._spectrum[0]

    @property
    def amplitudes(self):
        """|H(w^m)| / H(1): the artifact amplitude at frequency m/S relative to the mean (DC)."""
        return self._spectrum[1]

    @property
    def artifact_frequencies(self) -> list[tuple[Fraction, sp.Expr]]:
        """(frequency m/S in cycles/pixel, exact relative amplitude) for 0 < m <= S/2 where H(w^m) != 0."""
        amps, total = self.amplitudes, int(self.stride)
        return [(Fraction(m, total), amps[m]) for m in range(1, total // 2 + 1) if amps[m] != 0]

    # ---- exact certificates (numeric)

    @cached_property
    def annihilators(self) -> dict[int, tuple[int, ...]]:
        """For each divisor q > 1 of S: the layers whose factor vanishes at the primitive q-th roots of 1."""
        if self.is_symbolic:
            raise CheckerlabError("annihilators need numeric layer parameters: substitute values with "
                                  ".subs({...})")
        return annihilators(self.factors, int(self.stride))

    @property
    def present_periods(self) -> tuple[int, ...]:
        """Divisors q > 1 of S at which no factor vanishes: the artifact periods present (numeric)."""
        return tuple(q for q, who in self.annihilators.items() if not who)

    # ---- helpers

    def subs(self, values: dict) -> ClosedForm:
        """The closed form of the stack with its symbols replaced by integers."""
        return ClosedForm(substitute(self.stack, values), self.axis)

    def evaluate(self, expr, values: dict | None = None):
        """`evaluate(expr, values)`, e.g. `cf.evaluate(cf.count, {"n": 3, "k": 5, "s": 2})`."""
        return evaluate(expr, values)

    def __repr__(self) -> str:
        return f"ClosedForm({str(self.stack)!r}, axis={self.axis})"


@lru_cache(maxsize=CACHE_SIZE)
def _closed_form(stack: Stack, axis: int) -> ClosedForm:
    return ClosedForm(stack, axis)


def closed_form(stack, axis: int = 0) -> ClosedForm:
    """Closed forms of the interior overlap pattern along `axis` (0: rows/H, 1: columns/W); see ClosedForm.

    The last `CACHE_SIZE` results are kept (LRU): the report, the fixes and the GUI ask for the same stack's
    closed form several times, and its SymPy expressions are computed once."""
    check_axis(axis)
    return _closed_form(as_stack(stack), axis)
