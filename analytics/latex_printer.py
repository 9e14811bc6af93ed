"""The LaTeX printer: SymPy expressions and exact numbers to LaTeX strings (the low level of every LaTeX output).

`CheckerlabLatexPrinter` prints the integer functions of `symbols` the way a paper writes them
(gcd, a mod m, Iverson brackets [g | a], lcm over divisors) and never touches SymPy's global settings
(a printer subclass, like sympy.physics.vector's vlatex). Everything it prints needs only amsmath.
Domain code may use it; whole blocks and the report are in `presentation.latex`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE


class CheckerlabLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer plus checkerlab's integer functions: \\gcd, \\bmod, [g \\mid a], lcm_{q | N}."""

    def _print_IntGcd(self, expr, exp=None):
        a, b = (self._print(x) for x in expr.args)
        out = rf"\gcd\left({a}, {b}\right)"
        return f"{out}^{{{exp}}}" if exp else out

    def _print_IntMod(self, expr, exp=None):
        a, m = (self.parenthesize(x, PRECEDENCE["Mul"], strict=True) for x in expr.args)
        out = rf"\left({a} \bmod {m}\right)"
        return f"{out}^{{{exp}}}" if exp else out

    def _print_ModInverse(self, expr, exp=None):
        a, m = expr.args
        base = self.parenthesize(a, PRECEDENCE["Pow"], strict=True)
        out = rf"\left({base}^{{-1}} \bmod {self.parenthesize(m, PRECEDENCE['Mul'], strict=True)}\right)"
        return f"{out}^{{{exp}}}" if exp else out

    def _print_Divides(self, expr, exp=None):
        g, a = (self._print(x) for x in expr.args)
        out = rf"\left[{g} \mid {a}\right]"
        return f"{out}^{{{exp}}}" if exp else out

    def _print_DivisorLcm(self, expr, exp=None):
        f, q, n = expr.args
        body = self.parenthesize(f, PRECEDENCE["Mul"])
        out = rf"\operatorname*{{lcm}}_{{{self._print(q)} \mid {self._print(n)}}} {body}"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out

    def _print_Dummy(self, expr):
        return self._print(sp.Symbol(expr.name))

    def _divides(self, expr):
        """Eq(a mod q, 0) -> q | a."""
        lhs, rhs = expr.args
        if rhs == 0 and type(lhs).__name__ in ("IntMod", "Mod"):
            a, q = lhs.args
            return self._print(q), self._print(a)
        return None

    def _print_Equality(self, expr):
        d = self._divides(expr)
        return rf"{d[0]} \mid {d[1]}" if d else super()._print_Relational(expr)

    def _print_Unequality(self, expr):
        d = self._divides(expr)
        return rf"{d[0]} \not\mid {d[1]}" if d else super()._print_Relational(expr)


def latex(expr, **settings) -> str:
    """LaTeX of a SymPy expression with `CheckerlabLatexPrinter` (local settings only)."""
    return CheckerlabLatexPrinter(settings).doprint(expr)


def tex_text(text: str) -> str:
    """Escape plain text for LaTeX text mode (layer specs, file names)."""
    out = []
    text = str(text).replace("->", "\x00")
    for ch in text:
        out.append({"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                    "<": r"$<$", ">": r"$>$", "|": r"$|$", "\x00": r"$\to$"}.get(ch, ch))
    return "".join(out)


def exact(value: Any) -> str:
    """LaTeX of an exact number (int, Fraction, SymPy number) or of inf."""
    if isinstance(value, float) and value == float("inf"):
        return r"\infty"
    if isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
    return latex(sp.sympify(value))
