"""Closed forms of the overlap pattern with SymPy: counts, minimal periods, conditions, H(z) and spectrum.

Per axis, a stack of upsamplers and stride-1 convolutions is ONE transposed convolution (DESIGN.md §4):
total stride S = prod s_i, effective kernel H(z) = prod_i H_i(z^{P_i}) (P_i: product of the strides after
layer i), offset off <- off*s_i + p_i, and the interior count at output n is
c(n) = sum_{j = n + off (mod S)} h[j]. One period's DFT is C(m) = w^{-m off} H(w^m), w = e^{-2 pi i/S}.

Every factor H_i(z^P) is (1 - z^a)/(1 - z^b) with b | a (up to a constant), so it vanishes at a primitive
q-th root of unity iff q | a and q does not divide b. Hence the minimal period is the lcm of the divisors
q > 1 of S at which no factor vanishes, and the stack is even iff 1 + z + ... + z^(S-1) divides H(z)
(Sugawara, Shiota & Kiya). For one layer with g = gcd(d, s): period g if (s/g) | k, else s.

Layer parameters may be SymPy integer symbols. Integer gcd, modular inverse and "lcm over divisors" are
unevaluated functions (`IntGcd`, `ModInverse`, `DivisorLcm`) that become numbers once their arguments are
numbers; `evaluate` gives exact values fast, without floating point and without lambdify.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction
from functools import cached_property
from math import gcd, lcm
from typing import Any

import sympy as sp
from sympy.core.logic import fuzzy_or

from .errors import CheckerlabError, LayerError
from .layers import is_symbolic
from .stack import Stack, as_stack

#: Largest minimal period whose spectrum is computed as exact algebraic numbers.
MAX_EXACT_SPECTRUM = 256
#: Numeric polynomial factors up to this many terms are written out (1 + z + z^2), longer ones as quotients.
MAX_WRITTEN_TERMS = 8


# ------------------------------------------------------------------ integer functions


class IntGcd(sp.Function):
    """gcd(a, b) of integers, unevaluated until both are numbers (SymPy's `gcd(k, s)` of two symbols is 1)."""

    nargs = 2
    is_integer = True

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


class IntMod(sp.Function):
    """a mod m (0 <= result < m for m > 0) of integers, unevaluated until both are numbers.

    Used instead of `sympy.Mod`, whose symbolic rewriting is wrong for nested residues in SymPy 1.14:
    Mod(2*Mod(x, 3), 3) becomes 2*Mod(x, 3), which is 4 at x = 2 (cf. sympy/sympy#24215)."""

    nargs = 2
    is_integer = True

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


class Divides(sp.Function):
    """The Iverson bracket [g | a]: 1 if the integer g divides a (a an integer), else 0. Unevaluated until
    both are numbers; a product instead of a Piecewise so that it can sit inside nested Sums."""

    nargs = 2
    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, g, a):
        if g.is_Integer and a.is_Rational:
            return sp.S.One if a.is_Integer and int(a) % int(g) == 0 else sp.S.Zero
        if g == 1 and a.is_integer:
            return sp.S.One
        return None


class ModInverse(sp.Function):
    """x with a*x = 1 (mod m) for coprime integers a and m >= 1 (0 when m = 1); used only modulo m."""

    nargs = 2
    is_integer = True

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


# ------------------------------------------------------------------ exact evaluation


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


# ------------------------------------------------------------------ stacks as steps


@dataclass(frozen=True)
class Step:
    """One spatial layer along one axis, in the generating-function form.

    kind: 'transposed', 'conv' (stride 1), 'down' (strided conv, numeric only), 'repeat' or 'linear'.
    up: its upsampling factor (1 for convs); shift: its offset term (off <- off*up + shift)."""

    index: int
    layer: Any
    kind: str
    kernel: Any
    stride: Any
    pad: Any
    dilation: Any

    @property
    def up(self):
        return 1 if self.kind in ("conv", "down") else self.stride

    @property
    def shift(self):
        if self.kind == "transposed":
            return self.pad
        if self.kind == "conv":
            return (self.kernel - 1) * self.dilation - self.pad
        if self.kind == "linear":
            return sp.floor(sp.sympify(self.stride) / 2) if is_symbolic(self.stride) else self.stride // 2
        return 0

    @property
    def zeros(self) -> tuple[Any, Any]:
        """(a, b): before stretching, the layer's polynomial vanishes exactly at the a-th roots of unity
        that are not b-th roots: sum_t z^(t d) = (1 - z^(kd))/(1 - z^d); nearest and bilinear by s: (s, 1)."""
        if self.kind in ("repeat", "linear"):
            return (self.stride, 1)
        return (self.kernel * self.dilation, self.dilation)


def axis_steps(stack: Stack, axis: int) -> list[Step]:
    """The spatial layers of `stack` along `axis` as `Step`s (identity layers and activations left out)."""
    if axis not in (0, 1):
        raise CheckerlabError(f"axis={axis!r} must be 0 (rows, H) or 1 (columns, W)")
    steps = []
    for index, layer in stack.spatial_layers:
        op = layer.axis_op(axis)
        if op.kind == "identity":
            continue
        kind = op.kind
        if kind == "conv" and op.stride != 1:
            if is_symbolic(op.stride):
                raise LayerError(layer.type, "stride", f"stride={op.stride} is symbolic: closed forms need a "
                                 "numeric conv stride (1, or > 1 in a fully numeric stack)", index)
            kind = "down"
        steps.append(Step(index, layer, kind, op.kernel, op.stride, op.pad_before, op.dilation))
    return steps


def _fresh(name: str, taken: set[str], **assumptions) -> sp.Symbol:
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


# ------------------------------------------------------------------ factors of H(z)


@dataclass(frozen=True)
class Factor:
    """Layer `index` contributes `scale * expr` to H(z): its polynomial stretched to z^stretch.

    `zeros` = (a, b): the factor vanishes at a primitive q-th root of unity iff q | a and q does not divide
    b. Bilinear by s is (1/s) Z_s(z^P)^2 ((1 + z^P)/2)^(1 - s mod 2): power 2 and that `extra` exponent.
    A folded pattern (after a downsampling conv) has zeros=None and its integer `coefficients`."""

    index: int
    expr: sp.Expr
    stretch: Any
    zeros: tuple[Any, Any] | None
    scale: Any = 1
    power: int = 1
    extra: Any = 0
    coefficients: tuple[int, ...] = ()
    up: Any = 1

    def kills(self, q) -> sp.Basic:
        """SymPy boolean: this factor vanishes at the primitive q-th roots of unity."""
        if self.zeros is None:
            return sp.true if _poly_divisible(self.coefficients, int(self.stretch), int(q)) else sp.false
        a, b = self.zeros
        not_b = sp.Gt(q, 1) if b == 1 else sp.Ne(IntMod(b, q), 0)  # q does not divide 1 iff q > 1
        return sp.And(sp.Eq(IntMod(a, q), 0), not_b)

    def kills_int(self, q: int) -> bool:
        """`kills(q)` for numeric factors, in integer arithmetic."""
        if self.zeros is None:
            return _poly_divisible(self.coefficients, int(self.stretch), q)
        a, b = (int(v) for v in self.zeros)
        return a % q == 0 and b % q != 0

    def creates(self, q: int) -> bool:
        """Does this layer's upsampling create the frequencies of order q? (q | up*P, q does not divide P.)"""
        return (int(self.up) * int(self.stretch)) % q == 0 and int(self.stretch) % q != 0

    @property
    def at_one(self) -> sp.Expr:
        """The factor's value at z = 1 (its total weight)."""
        if self.zeros is None:
            return self.scale * sum(self.coefficients)
        a, b = self.zeros
        return self.scale * (a / b) ** self.power


def _cyclotomic(q: int) -> list[int]:
    return [int(c) for c in sp.Poly(sp.cyclotomic_poly(q, sp.Symbol("x")), sp.Symbol("x")).all_coeffs()]


def _poly_divisible(coefficients, stretch: int, q: int) -> bool:
    """Does the q-th cyclotomic polynomial divide sum_j c_j z^(j*stretch)? (Exact, integer arithmetic.)"""
    folded = [0] * q  # reduce mod z^q - 1 first: Phi_q divides z^q - 1
    for j, c in enumerate(coefficients):
        folded[(j * stretch) % q] += int(c)
    phi = _cyclotomic(q)[::-1]  # low to high, monic
    deg = len(phi) - 1
    rem = folded[:]
    for top in range(len(rem) - 1, deg - 1, -1):
        c = rem[top]
        if c:
            for i in range(deg + 1):
                rem[top - deg + i] -= c * phi[i]
    return not any(rem[:deg])


def _geometric(count, step, z) -> sp.Expr:
    """sum_{t<count} z^(t*step): written out for short numeric counts, else (1 - z^(c*step))/(1 - z^step)."""
    if not is_symbolic(count) and int(count) <= MAX_WRITTEN_TERMS:
        return sp.Add(*[z ** (t * step) for t in range(int(count))])
    return (1 - z ** (count * step)) / (1 - z ** step)


def _factors(steps: list[Step], z, base: tuple | None = None) -> tuple[list[Factor], Any, Any]:
    """(factors, S, off) of `steps`, after an optional folded pattern base = (index, coefficients, den,
    period): a periodic count acts like one layer of stride `period` whose kernel is one period."""
    strides = [sp.sympify(st.up) for st in steps]
    after = [sp.Integer(1)] * len(steps)
    for i in range(len(steps) - 2, -1, -1):
        after[i] = after[i + 1] * strides[i + 1]
    total = after[0] * strides[0] if steps else sp.Integer(1)
    out = []
    if base is not None:
        index, coeffs, den, period = base
        expr = sp.Add(*[c * z ** (j * total) for j, c in enumerate(coeffs)])
        out.append(Factor(index, expr, total, None, sp.Rational(1, den), coefficients=tuple(coeffs),
                          up=period))
        total = total * period
    off = sp.Integer(0)
    for st, P in zip(steps, after, strict=True):
        a, b = st.zeros
        if st.kind == "linear":
            s = sp.sympify(st.stride)
            extra = 1 - IntMod(s, 2)
            expr = _geometric(s, P, z) ** 2 * ((1 + z ** P) / 2) ** extra
            out.append(Factor(st.index, expr, P, (a * P, b * P), 1 / s, 2, extra, up=st.up))
        elif st.kind == "repeat":
            out.append(Factor(st.index, _geometric(st.stride, P, z), P, (a * P, b * P), up=st.up))
        else:
            expr = _geometric(st.kernel, st.dilation * P, z)
            out.append(Factor(st.index, expr, P, (a * P, b * P), up=st.up))
        off = off * st.up + st.shift
    return out, sp.sympify(total), sp.sympify(off)


# ------------------------------------------------------------------ the count recursion (symbolic)


def _count_step(st: Step, prev: sp.Expr, x: sp.Symbol, j: sp.Symbol) -> sp.Expr:
    """Interior count after layer `st` at output index x, from the count `prev` (a function of x) before."""
    const = x not in prev.free_symbols

    def at(m):
        return prev.xreplace({x: m})

    k, s, d = (sp.sympify(v) for v in (st.kernel, st.stride, st.dilation))
    if st.kind == "transposed":  # y[i*s + t*d - p] += x[i]: taps t = t0 + j*s/g for g | (x + p)
        y = x + st.pad
        if d == 1:
            last, first, step, hit = sp.floor((k - 1 - IntMod(y, s)) / s), sp.floor(y / s), 1, 1
        else:
            g = IntGcd(d, s)
            t0 = IntMod(y / g * ModInverse(d / g, s / g), s / g)
            last, first, step, hit = sp.floor((k - 1 - t0) / (s / g)), (y - t0 * d) / s, d / g, Divides(g, y)
        body = prev * (last + 1) if const else sp.Sum(at(first - j * step), (j, 0, last))
        return hit * body
    if st.kind == "conv":  # y[o] = sum_t x[o + t*d - p]
        return prev * k if const else sp.Sum(at(x + j * d - st.pad), (j, 0, k - 1))
    if st.kind == "repeat":
        return prev if const else at(sp.floor(x / s))
    if st.kind == "linear":  # align_corners=False, interior: src = (2x + 1 - s) / 2s
        if const:
            return prev
        src = 2 * x + 1 - s
        i0, frac = sp.floor(src / (2 * s)), IntMod(src, 2 * s)
        return ((2 * s - frac) * at(i0) + frac * at(i0 + 1)) / (2 * s)
    raise LayerError(st.layer.type, "stride", f"stride={st.stride} downsamples: symbolic closed forms need "
                     "stride-1 convolutions (numeric stacks are handled)", st.index)


# ------------------------------------------------------------------ exact spectrum of a numeric tile


def _root_tables(p: int):
    cos = [sp.cos(2 * sp.pi * sp.Rational(u, p)) for u in range(p)]
    sin = [sp.sin(2 * sp.pi * sp.Rational(u, p)) for u in range(p)]
    return cos, sin


def _tile_spectrum(tile: list[Fraction], offset: int, total: int, zero) -> tuple[tuple, tuple]:
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


# ------------------------------------------------------------------ the closed form


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
        self.n = _fresh("n", taken, integer=True)
        self.z = _fresh("z", taken)
        self.m = _fresh("m", taken, integer=True, nonnegative=True)
        self._q = sp.Dummy("q", integer=True, positive=True)
        self._taken = taken
        base = None
        if self.is_symbolic:
            for st in steps:
                if st.kind == "down":
                    raise LayerError(st.layer.type, "stride", f"stride={st.stride} downsamples: symbolic "
                                     "closed forms need stride-1 convolutions (numeric stacks are handled)",
                                     st.index)
        else:
            downs = [i for i, st in enumerate(steps) if st.kind == "down"]
            if downs:  # fold everything up to the last downsampling conv into its exact periodic pattern
                last = downs[-1]
                from .overlap import overlap_pattern
                pat = overlap_pattern(self.stack[: steps[last].index + 1]).axes[axis]
                den = pat.denominator
                coeffs = tuple(int(Fraction(v) * den) for v in pat.tile)
                base = (steps[last].index, coeffs, den, len(coeffs))
                steps = steps[last + 1:]
        self.steps = steps
        self.factors, self.stride, self.offset = _factors(steps, self.z, base)

    # ---- numeric ground truth

    @cached_property
    def pattern(self):
        """The numeric ground truth: overlap_pattern's AxisPattern along this axis (numeric stacks only)."""
        if self.is_symbolic:
            raise CheckerlabError("this needs numeric layer parameters: substitute values with .subs({...})")
        from .overlap import overlap_pattern
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
            j = _fresh(f"j_{st.index}", self._taken, integer=True)
            expr = _count_step(st, expr, x, j)
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

    def present(self, q) -> sp.Basic:
        """SymPy boolean: the frequencies of exact order q (period q) are present: no factor kills them."""
        return sp.And(*[sp.Not(f.kills(q)) for f in self.factors])

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
        q = self._q
        return DivisorLcm(sp.Piecewise((q, self.present(q)), (1, True)), q, self.stride)

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
        r = _fresh("r", self._taken, integer=True)
        return sp.Eq(sp.Product(self.count.xreplace({self.n: r}), (r, 0, self.stride - 1)), 0)

    @cached_property
    def mean(self) -> sp.Expr:
        """The average interior count H(1)/S: the product of the kernel weights over the total stride."""
        return sp.Mul(*[f.at_one for f in self.factors]) / self.stride

    # ---- spectrum

    def _omega_power(self, e) -> sp.Expr:
        return sp.exp(-2 * sp.pi * sp.I * self.m * e / self.stride)

    @cached_property
    def _symbolic_spectrum(self) -> tuple[sp.Expr, sp.Expr]:
        S, m = self.stride, self.m
        values, amps = [], []
        for f in self.factors:
            a, b = f.zeros
            power, ratio = f.power, a / b
            value = sp.Piecewise((ratio ** power, sp.Eq(IntMod(m * b, S), 0)),
                                 (((1 - self._omega_power(a)) / (1 - self._omega_power(b))) ** power, True))
            dirichlet = sp.Abs(sp.sin(sp.pi * m * a / S) / (ratio * sp.sin(sp.pi * m * b / S)))
            amp = sp.Piecewise((1, sp.Eq(IntMod(m * b, S), 0)), (dirichlet ** power, True))
            if f.power == 2:  # bilinear
                P = f.stretch
                value *= f.scale * ((1 + self._omega_power(P)) / 2) ** f.extra
                amp *= sp.Abs(sp.cos(sp.pi * m * P / S)) ** f.extra
            values.append(value)
            amps.append(amp)
        return sp.Mul(*values), sp.Mul(*amps)

    @cached_property
    def _numeric_spectrum(self) -> tuple[tuple, tuple]:
        tile = [Fraction(v) for v in self.pattern.tile]
        return _tile_spectrum(tile, int(self.offset), int(self.stride), lambda q: bool(self.annihilators[q]))

    @property
    def spectrum(self):
        """H(w^m), w = e^(-2 pi i/S): exact algebraic numbers for m = 0..S-1 (numeric stacks), else an
        expression in `m`. The DFT of one S-period of the pattern is w^(-m off) H(w^m)."""
        return self._symbolic_spectrum[0] if self.is_symbolic else self._numeric_spectrum[0]

    @property
    def amplitudes(self):
        """|H(w^m)| / H(1): the artifact amplitude at frequency m/S relative to the mean (DC)."""
        return self._symbolic_spectrum[1] if self.is_symbolic else self._numeric_spectrum[1]

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
        return {int(q): tuple(f.index for f in self.factors if f.kills_int(int(q)))
                for q in sp.divisors(int(self.stride)) if q > 1}

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

    def latex(self) -> str:
        """An amsmath `align*` block: S, offset, c(n), H(z), period, conditions, and the tile/spectrum."""
        from .latex import closed_form_rows, math_block
        return math_block(closed_form_rows(self))

    def _repr_latex_(self) -> str:
        from .latex import closed_form_rows, jupyter_block
        return jupyter_block(closed_form_rows(self))

    def __repr__(self) -> str:
        return f"ClosedForm({str(self.stack)!r}, axis={self.axis})"


def closed_form(stack, axis: int = 0) -> ClosedForm:
    """Closed forms of the interior overlap pattern along `axis` (0: rows/H, 1: columns/W); see ClosedForm."""
    return ClosedForm(stack, axis)
