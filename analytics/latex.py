"""LaTeX for checkerlab's results: a SymPy printer subclass, amsmath blocks and a standalone report.

`CheckerlabLatexPrinter` prints the integer functions of `symbolic` the way a paper writes them
(gcd, a mod m, Iverson brackets [g | a], lcm over divisors) and never touches SymPy's global settings.
Everything printed needs only amsmath (and graphicx in the standalone document).
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .files import atomic_write
from .stack import as_stack

#: Formulas longer than this (characters of LaTeX) are scaled to the line width in the document.
LONG_FORMULA = 260
#: Largest 2D tile printed as a matrix in the document.
MAX_TILE_SHOWN = 16
#: Most artifact frequencies listed per axis.
MAX_FREQUENCIES = 12


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


# ------------------------------------------------------------------ blocks


def math_block(rows: list[tuple[str, str]]) -> str:
    """An amsmath align* environment: `lhs &= rhs` per row (`lhs &rhs` when rhs starts with a relation)."""
    return "\\begin{align*}\n" + " \\\\\n".join(_row(lhs, rhs) for lhs, rhs in rows) + "\n\\end{align*}"


def jupyter_block(rows: list[tuple[str, str]]) -> str:
    """The same rows for Jupyter/MathJax: $$\\begin{aligned} ... \\end{aligned}$$."""
    return "$$\\begin{aligned}\n" + " \\\\\n".join(_row(lhs, rhs) for lhs, rhs in rows) + "\n\\end{aligned}$$"


_RELATION = re.compile(r"\s*(\\iff|\\mid|\\not|\\equiv|\\[lg]eq?(?![A-Za-z])|[=<>:])")


def _row(lhs: str, rhs: str) -> str:
    return f"{lhs} &{rhs}" if _RELATION.match(rhs) else f"{lhs} &= {rhs}"


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


def vector(values, limit: int = 32) -> str:
    """(v_0, ..., v_{P-1}) in LaTeX; the first `limit` entries and \\dots when longer."""
    shown = ", ".join(exact(v) for v in values[:limit]) + (r", \dots" if len(values) > limit else "")
    return r"\left(" + shown + r"\right)"


def _boolean(value) -> str:
    return r"\text{yes}" if bool(value) else r"\text{no}"


def closed_form_rows(cf) -> list[tuple[str, str]]:
    """The rows of `ClosedForm.latex()`."""
    n, z = latex(cf.n), latex(cf.z)
    period = None if cf.is_symbolic else cf.pattern.period
    count = rf"t_{{{n} \bmod {period}}}" if period and period > MAX_TILE_SHOWN else latex(cf.count)
    rows = [(r"S", latex(cf.stride)), (r"\text{offset}", latex(cf.offset)),
            (f"c({n})", count), (f"H({z})", latex(cf.generating_function)),
            (r"\text{mean } H(1)/S", latex(cf.mean)), (r"\text{period}", latex(cf.period))]
    if cf.is_symbolic:
        rows += [(r"\text{even}", r"\iff " + latex(cf.even_condition)),
                 (r"\text{holes}", r"\iff " + latex(cf.holes_condition)),
                 (rf"\frac{{|H(\omega^{{{latex(cf.m)}}})|}}{{H(1)}}", latex(cf.amplitudes)),
                 (r"\omega", latex(sp.exp(-2 * sp.pi * sp.I / cf.stride)))]
        return rows
    rows += [(r"\text{tile } t", vector(cf.pattern.tile)), (r"\text{even}", _boolean(cf.even_condition)),
             (r"\text{holes}", _boolean(cf.holes_condition))]
    try:
        freqs = cf.artifact_frequencies
    except Exception as exc:  # noqa: BLE001 - a period too long for the exact spectrum: say so
        rows.append((r"\text{spectrum}", r"\text{" + tex_text(str(exc)) + "}"))
        return rows
    if not freqs:
        rows.append((r"\text{artifacts}", r"\text{none: } H(\omega^m) = 0 \text{ for } 0 < m < S"))
    for f, amp in freqs[:MAX_FREQUENCIES]:
        m = f * int(cf.stride)
        rows.append((rf"\frac{{|H(\omega^{{{m.numerator}}})|}}{{H(1)}}",
                     rf"{latex(amp)} \quad \text{{at }} f = {exact(f)}"))
    if len(freqs) > MAX_FREQUENCIES:
        rows.append((r"\dots", rf"\text{{and {len(freqs) - MAX_FREQUENCIES} more frequencies}}"))
    return rows


# ------------------------------------------------------------------ the standalone document


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath}
\usepackage{graphicx}
\setcounter{MaxMatrixCols}{MAXCOLS}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
\addtolength{\textwidth}{3cm}
\addtolength{\hoffset}{-1.5cm}
\allowdisplaybreaks
""".replace("MAXCOLS", str(MAX_TILE_SHOWN))


def display(tex: str) -> str:
    """A displayed formula; a long one is scaled down to the line width (never up: graphicx's \\width is its
    natural width)."""
    if len(tex) > LONG_FORMULA:
        return ("\\[\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{$\\displaystyle "
                + tex + "$}\n\\]")
    return "\\[\n" + tex + "\n\\]"


def _rows_document(rows: list[tuple[str, str]]) -> str:
    """Each row as its own display (so that long ones can be scaled)."""
    out = []
    for lhs, rhs in rows:
        out.append(display(f"{lhs} {rhs}" if _RELATION.match(rhs) else f"{lhs} = {rhs}"))
    return "\n".join(out)


def _param(layer, name: str) -> str:
    v = getattr(layer, name, None)
    if v is None:
        return ""
    if isinstance(v, tuple):
        return "$" + latex(sp.sympify(v[0])) + "$" if v[0] == v[1] else \
            "$" + latex(sp.sympify(v[0])) + r" \times " + latex(sp.sympify(v[1])) + "$"
    return tex_text(v)


def _stack_table(stack) -> str:
    cols = ("kernel_size", "stride", "padding", "output_padding", "dilation")
    head = r"\# & layer & kernel & stride & padding & out.\ pad. & dilation & scale \\ \hline"
    lines = [r"\begin{tabular}{rllllllll}", r"\hline", head]
    for i, layer in enumerate(stack):
        scale = getattr(layer, "scale_factor", None) or getattr(layer, "upscale_factor", None)
        scale_tex = _param(layer, "scale_factor") if hasattr(layer, "scale_factor") else \
            (tex_text(scale) if scale is not None else "")
        mode = f" ({layer.mode})" if hasattr(layer, "mode") else ""
        cells = [str(i), r"\texttt{" + tex_text(layer.type) + "}" + tex_text(mode)]
        cells += [_param(layer, c) for c in cols] + [scale_tex]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def _axes(stack) -> list[tuple[int, str]]:
    """[(axis, title)]: one section when both axes see the same 1D operations, else rows and columns."""
    same = all(layer.axis_op(0) == layer.axis_op(1) for layer in stack)
    if same:
        return [(0, "Both axes (rows and columns)")]
    return [(0, "Rows (axis 0, H)"), (1, "Columns (axis 1, W)")]


def _output_size_section(stack, input_size) -> str:
    n = sp.Symbol("n_{in}", integer=True, positive=True)
    parts = []
    for axis, title in _axes(stack):
        length = n
        for layer in stack:
            length = layer.axis_op(axis).output_length(length)
        parts.append(f"{tex_text(title)}: " + "$" + latex(sp.expand(sp.sympify(length))) + "$"
                     + r" for an input of length $n_{in}$.")
    if input_size is not None:
        try:
            ih, iw = (input_size, input_size) if isinstance(input_size, int) else input_size
            h, w = stack.lengths(ih, 0)[-1], stack.lengths(iw, 1)[-1]
            parts.append(f"For a ${ih} \\times {iw}$ input the output is ${latex(sp.sympify(h))} \\times "
                         f"{latex(sp.sympify(w))}$.")
        except Exception as exc:  # noqa: BLE001 - symbolic sizes or an empty output: report it
            parts.append(r"Output size for the given input: " + tex_text(str(exc)))
    return "\n\n".join(parts)


def _tile_section(stack) -> str:
    from .overlap import overlap_pattern
    pat = overlap_pattern(stack)
    ph, pw = pat.period
    out = [f"Minimal period ${ph} \\times {pw}$; the interior count at pixel $(i, j)$ is "
           r"$T[i \bmod " + str(ph) + r", j \bmod " + str(pw) + "]$."]
    if ph <= MAX_TILE_SHOWN and pw <= MAX_TILE_SHOWN:
        rows = [" & ".join(exact(Fraction(v)) for v in row) for row in pat.tile]
        out.append(display(r"T = \begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"))
    contrast = pat.contrast
    out.append("Contrast (max/min): $" + exact(contrast) + "$" + (" (holes)." if pat.has_holes else "."))
    return "\n".join(out)


def _legend() -> str:
    return (r"Notation: $c(n)$ is the interior overlap count at output index $n$; $S$ the total stride; "
            r"$H(z) = \prod_i H_i(z^{P_i})$ the effective kernel, $P_i$ the product of the strides after "
            r"layer $i$; "
            r"$c(n) = \sum_{j \equiv n + \mathrm{offset} \pmod S} h_j$; $\omega = e^{-2\pi i/S}$; "
            r"$[g \mid a]$ is 1 if $g$ divides $a$ and 0 otherwise; $\left(a^{-1} \bmod m\right)$ is the "
            r"inverse "
            r"of $a$ modulo $m$; $\operatorname{lcm}_{q \mid S}$ runs over the positive divisors $q$ of $S$.")


def latex_document(stack, input_size=(32, 32)) -> str:
    """The standalone report: stack, output size, closed forms, period, tile, spectrum, condition, fixes."""
    from .fixes import checkerboard_free, suggest_fixes
    from .symbolic import closed_form
    stack = as_stack(stack)
    forms = [(title, closed_form(stack, axis)) for axis, title in _axes(stack)]
    symbolic = any(cf.is_symbolic for _, cf in forms)
    parts = [PREAMBLE, r"\begin{document}", r"\section*{Checkerboard analysis}",
             r"\texttt{" + tex_text(str(stack)) + "}", _legend(),
             r"\subsection*{The stack}", _stack_table(stack),
             r"\subsection*{Output size}", _output_size_section(stack, None if symbolic else input_size)]
    parts.append(r"\subsection*{Closed forms}")
    for title, cf in forms:
        parts += [r"\paragraph{" + tex_text(title) + "}", _rows_document(closed_form_rows(cf))]
    if not symbolic:
        parts += [r"\subsection*{Interior tile}", _tile_section(stack)]
    parts += [r"\subsection*{Checkerboard-free condition}", checkerboard_free(stack).document()]
    parts.append(r"\subsection*{Fixes}")
    if symbolic:
        parts.append("Fixes are proposed for numeric stacks: substitute values for the symbols first.")
    else:
        fixes = suggest_fixes(stack, input_size)
        if not fixes:
            parts.append("None needed: the stack is already free of checkerboard artifacts.")
        for i, fix in enumerate(fixes, 1):
            parts += [r"\paragraph{Fix " + str(i) + ": " + tex_text(fix.title) + "}", fix.document()]
    parts.append(r"\end{document}")
    return "\n\n".join(parts) + "\n"


def export_latex(stack, path: str | os.PathLike, input_size=(32, 32)) -> Path:
    """Write `latex_document(stack, input_size)` atomically to `path` (compiles with pdflatex)."""
    path = Path(path)
    atomic_write(path, latex_document(stack, input_size))
    return path
