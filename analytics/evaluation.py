"""Exact evaluation of a closed form once every symbol has an integer value: pure integer arithmetic.

`evaluate(expr, values)` walks the expression tree with Python ints and Fractions (no floats, no lambdify,
which would return float64 and use exec), following SymPy's conventions for sums and products, so that the
result equals `expr.subs(values).doit()`. Cost: O(size of the expression tree x the ranges of its Sums).
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm

import sympy as sp

from .errors import CheckerlabError
from .symbols import Divides, DivisorLcm, IntGcd, IntMod, ModInverse


def _sum_range(lo: int, hi: int) -> tuple[range, int]:
    """Karr's convention, as SymPy's Sum and Product: an upper limit below lo - 1 reverses the sign."""
    if hi >= lo - 1:
        return range(lo, hi + 1), 1
    return range(hi + 1, lo), -1


def _ev(e, env):
    if e.is_Integer:
        return int(e)
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Symbol:
        try:
            return env[e]
        except KeyError:
            raise CheckerlabError(f"evaluate: no value given for the symbol {e}") from None
    handler = _HANDLERS.get(type(e))
    if handler is None:
        for cls, h in _HANDLERS.items():
            if isinstance(e, cls):
                handler = h
                break
        else:
            raise CheckerlabError(f"evaluate: {type(e).__name__} has no exact integer value ({e})")
    return handler(e, env)


def _int(x) -> int:
    if isinstance(x, Fraction):
        if x.denominator != 1:
            raise CheckerlabError(f"evaluate: {x} is not an integer where an integer is required")
        return x.numerator
    return int(x)


def _ev_pow(e, env):
    base, exp = _ev(e.base, env), _ev(e.exp, env)
    if isinstance(exp, Fraction) or isinstance(exp, bool):
        raise CheckerlabError(f"evaluate: {e} is not rational")
    return base ** exp if exp >= 0 else Fraction(1) / Fraction(base) ** -exp


def _ev_mul(e, env):
    out = 1
    for a in e.args:
        out = out * _ev(a, env)
    return out


def _ev_piecewise(e, env):
    for expr, cond in e.args:
        if _ev(cond, env):
            return _ev(expr, env)
    raise CheckerlabError(f"evaluate: no branch of {e} applies")


def _ev_big(e, env, product: bool):
    def run(limits):
        if not limits:
            return _ev(e.function, env)
        var, lo, hi = limits[-1]
        span, sign = _sum_range(_int(_ev(lo, env)), _int(_ev(hi, env)))
        acc = 1 if product else 0
        for v in span:
            env[var] = v
            acc = acc * run(limits[:-1]) if product else acc + run(limits[:-1])
        env.pop(var, None)
        if sign < 0:
            return Fraction(1) / acc if product else -acc
        return acc
    return run(list(e.limits))


def _ev_divisor_lcm(e, env):
    f, q, n = e.args
    out = 1
    for v in sp.divisors(_int(_ev(n, env))):
        env[q] = int(v)
        out = lcm(out, _ev(f, env))
    env.pop(q, None)
    return out


def _ev_divides(e, env):
    g, a = (_ev(x, env) for x in e.args)
    return int(not isinstance(a, Fraction) or a.denominator == 1) and int(_int(a) % _int(g) == 0)


def _ev_mod_inverse(e, env):
    a, m = (_int(_ev(x, env)) for x in e.args)
    return 0 if m == 1 else pow(a, -1, m)


def _floor(x):
    return x.__floor__()


def _ceil(x):
    return -((-x).__floor__())


_HANDLERS = {
    sp.Add: lambda e, env: sum(_ev(a, env) for a in e.args),
    sp.Mul: _ev_mul,
    sp.Pow: _ev_pow,
    sp.floor: lambda e, env: _floor(_ev(e.args[0], env)),
    sp.ceiling: lambda e, env: _ceil(_ev(e.args[0], env)),
    sp.Mod: lambda e, env: _ev(e.args[0], env) % _ev(e.args[1], env),
    IntMod: lambda e, env: _ev(e.args[0], env) % _ev(e.args[1], env),
    sp.Abs: lambda e, env: abs(_ev(e.args[0], env)),
    sp.Max: lambda e, env: max(_ev(a, env) for a in e.args),
    sp.Min: lambda e, env: min(_ev(a, env) for a in e.args),
    IntGcd: lambda e, env: gcd(*(_int(_ev(a, env)) for a in e.args)),
    ModInverse: _ev_mod_inverse,
    Divides: _ev_divides,
    DivisorLcm: _ev_divisor_lcm,
    sp.Piecewise: _ev_piecewise,
    sp.Sum: lambda e, env: _ev_big(e, env, False),
    sp.Product: lambda e, env: _ev_big(e, env, True),
    sp.Eq: lambda e, env: _ev(e.lhs, env) == _ev(e.rhs, env),
    sp.Ne: lambda e, env: _ev(e.lhs, env) != _ev(e.rhs, env),
    sp.StrictLessThan: lambda e, env: _ev(e.lhs, env) < _ev(e.rhs, env),
    sp.LessThan: lambda e, env: _ev(e.lhs, env) <= _ev(e.rhs, env),
    sp.StrictGreaterThan: lambda e, env: _ev(e.lhs, env) > _ev(e.rhs, env),
    sp.GreaterThan: lambda e, env: _ev(e.lhs, env) >= _ev(e.rhs, env),
    sp.And: lambda e, env: all(_ev(a, env) for a in e.args),
    sp.Or: lambda e, env: any(_ev(a, env) for a in e.args),
    sp.Not: lambda e, env: not _ev(e.args[0], env),
    type(sp.true): lambda e, env: True,
    type(sp.false): lambda e, env: False,
}


def evaluate(expr, values: dict | None = None):
    """The exact value of a closed form once every symbol has an integer value: int, Fraction or bool.

    `values` maps symbols (or symbol names) to integers. Pure integer arithmetic (no floats, no lambdify);
    sums and products follow SymPy's conventions, so the result equals `expr.subs(values).doit()`."""
    expr = sp.sympify(expr)
    by_name = {str(s): s for s in expr.free_symbols}
    env = {}
    for key, value in (values or {}).items():
        sym = by_name.get(key) if isinstance(key, str) else key
        if sym is None:
            continue
        v = sp.sympify(value)
        if not v.is_Integer:
            raise CheckerlabError(f"evaluate: {key}={value!r} must be an integer")
        env[sym] = int(v)
    out = _ev(expr, env)
    if isinstance(out, Fraction) and out.denominator == 1:
        return int(out)
    return out
