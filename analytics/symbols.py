"""Integer symbols and the integer functions of the closed forms, unevaluated until their arguments are numbers.

Layer parameters may be SymPy integer symbols (`ConvTranspose2d(k, stride=s)`). SymPy's own gcd and Mod are
polynomial or rewrite wrongly on nested residues, so the closed forms use `IntGcd`, `IntMod`, `Divides`
(the Iverson bracket [g | a]), `ModInverse` and `DivisorLcm` (lcm over the divisors of N): each is an
integer, carries the assumptions SymPy needs, and becomes a number once its arguments are numbers.
`substitute` gives the numeric stack for values of the symbols.
"""

from __future__ import annotations

from dataclasses import fields, replace
from math import gcd, lcm

import sympy as sp
from sympy.core.logic import fuzzy_or

from .errors import CheckerlabError, LayerError
from .layers import is_symbolic
from .stack import Stack, as_stack


class IntegerFunction(sp.Function):
    """An integer-valued function of two integers; its `eval` gives the number once the arguments are."""

    nargs = 2
    is_integer = True


class IntGcd(IntegerFunction):
    """gcd(a, b) of integers, unevaluated until both are numbers (SymPy's `gcd(k, s)` of two symbols is 1)."""

    @classmethod
    def eval(cls, a, b):
        if a.is_Integer and b.is_Integer:
            return sp.Integer(gcd(int(a), int(b)))
        if a.is_zero:
            return sp.Abs(b)
        if b.is_zero:
            return sp.Abs(a)
        if a in (sp.S.One, sp.S.NegativeOne) or b in (sp.S.One, sp.S.NegativeOne):
            return sp.S.One
        if a == b and a.is_nonnegative:
            return a
        if sp.default_sort_key(b) < sp.default_sort_key(a):
            return cls(b, a)
        return None

    def _eval_is_positive(self):
        return fuzzy_or(arg.is_nonzero for arg in self.args)

    def _eval_is_nonnegative(self):
        return True


class IntMod(IntegerFunction):
    """a mod m (0 <= result < m for m > 0) of integers, unevaluated until both are numbers.

    Used instead of `sympy.Mod`, whose symbolic rewriting is wrong for nested residues in SymPy 1.14:
    Mod(2*Mod(x, 3), 3) becomes 2*Mod(x, 3), which is 4 at x = 2 (cf. sympy/sympy#24215)."""

    @classmethod
    def eval(cls, a, m):
        if a.is_Rational and m.is_Rational and not m.is_zero:
            return a % m
        if m == 1 and a.is_integer:
            return sp.S.Zero
        if isinstance(a, IntMod) and a.args[1] == m:
            return a
        return None

    def _eval_is_nonnegative(self):
        return True if self.args[1].is_positive else None


class Divides(IntegerFunction):
    """The Iverson bracket [g | a]: 1 if the integer g divides a (a an integer), else 0. Unevaluated until
    both are numbers; a product instead of a Piecewise so that it can sit inside nested Sums."""

    is_nonnegative = True

    @classmethod
    def eval(cls, g, a):
        if g.is_Integer and a.is_Rational:
            return sp.S.One if a.is_Integer and int(a) % int(g) == 0 else sp.S.Zero
        if g == 1 and a.is_integer:
            return sp.S.One
        return None


class ModInverse(IntegerFunction):
    """x with a*x = 1 (mod m) for coprime integers a and m >= 1 (0 when m = 1); used only modulo m."""

    @classmethod
    def eval(cls, a, m):
        if a.is_Integer and m.is_Integer:
            return sp.S.Zero if m == 1 else sp.Integer(pow(int(a), -1, int(m)))
        if a == 1:
            return sp.S.One
        return None


class DivisorLcm(sp.Function):
    """lcm of f(q) over the positive divisors q of N; q is a bound variable. Evaluates once N is a number."""

    nargs = 3
    is_integer = True
    is_positive = True

    @classmethod
    def eval(cls, f, q, N):
        if N.is_Integer and not (f.free_symbols - {q}):
            values = [f.xreplace({q: sp.Integer(v)}) for v in sp.divisors(int(N))]
            if all(v.is_Integer for v in values):
                return sp.Integer(lcm(*(int(v) for v in values)))
        return None

    @property
    def free_symbols(self):
        f, q, N = self.args
        return (f.free_symbols - {q}) | N.free_symbols


def fresh_symbol(name: str, taken: set[str], **assumptions) -> sp.Symbol:
    """A new symbol `name` (primed until it is not in `taken`, which it joins) with SymPy assumptions."""
    while name in taken:
        name += "'"
    taken.add(name)
    return sp.Symbol(name, **assumptions)


def substitute(stack, values: dict) -> Stack:
    """The stack with its symbolic layer parameters replaced by `values` (validated like any layer)."""
    stack = as_stack(stack)
    by_name = {}
    for key, value in values.items():
        v = sp.sympify(value)
        if not v.is_Integer:
            raise CheckerlabError(f"substitute: {key}={value!r} must be an integer")
        by_name[str(key)] = int(v)

    def sub(v):
        if isinstance(v, tuple):
            return tuple(sub(x) for x in v)
        if is_symbolic(v):
            out = v.xreplace({s: sp.Integer(by_name[str(s)]) for s in v.free_symbols if str(s) in by_name})
            return int(out) if out.is_Integer else out
        return v

    layers = []
    for i, layer in enumerate(stack):
        changes = {f.name: sub(getattr(layer, f.name)) for f in fields(layer)}
        try:
            layers.append(replace(layer, **changes))
        except LayerError as exc:
            raise exc.at(i) from None
    return Stack(layers)
