"""LaTeX for checkerlab's results: one amsmath block per result (`to_latex`) and the standalone report.

`to_latex(obj)` renders a ClosedForm, FreeVerdict, Fix or DepthLaw as an `align*` block (a DepthLaw adds its
exact table); `to_jupyter(obj)` gives the same rows for Jupyter/MathJax. `latex_document(stack)` is the whole
report, which sits above everything it reports on: the stack, output sizes, closed forms, tile, spectrum, the
checkerboard-free condition with its proof, and the fixes; `export_latex` writes it atomically. Expressions
and numbers go through `latex_printer`; everything needs only amsmath (and graphicx in the document).
"""

from __future__ import annotations

import importlib.util
import os
import re
from fractions import Fraction
from functools import singledispatch
from pathlib import Path

import sympy as sp

from ..closed_forms import ClosedForm, closed_form
from ..condition import AxisVerdict, FreeVerdict, checkerboard_free
from ..depth import DepthLaw
from ..errors import CheckerlabError
from ..files import atomic_write
from ..fixes import Fix, suggest_fixes
from ..latex_printer import exact, latex, tex_text
from ..layer_forms import same_axes
from ..overlap import overlap_pattern
from ..stack import as_stack

#: Formulas longer than this (characters of LaTeX) are scaled to the line width in the document.
LONG_FORMULA = 260
#: Largest 2D tile printed as a matrix in the document.
MAX_TILE_SHOWN = 16
#: Most artifact frequencies listed per axis.
MAX_FREQUENCIES = 12


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


def vector(values, limit: int = 32) -> str:
    """(v_0, ..., v_{P-1}) in LaTeX; the first `limit` entries and \\dots when longer."""
    shown = ", ".join(exact(v) for v in values[:limit]) + (r", \dots" if len(values) > limit else "")
    return r"\left(" + shown + r"\right)"


def _boolean(value) -> str:
    return r"\text{yes}" if bool(value) else r"\text{no}"


def to_latex(obj) -> str:
    """The amsmath `align*` block of a result: ClosedForm (S, offset, c(n), H(z), period, conditions and the
    tile/spectrum), FreeVerdict (the condition and its certificate), Fix, or DepthLaw (then its table)."""
    block = math_block(rows(obj))
    return block + "\n" + depth_table(obj) if isinstance(obj, DepthLaw) else block


def to_jupyter(obj) -> str:
    """The rows of `to_latex(obj)` for Jupyter/MathJax (`$$\\begin{aligned} ... $$`)."""
    return jupyter_block(rows(obj))


@singledispatch
def rows(obj) -> list[tuple[str, str]]:
    """(lhs, rhs) LaTeX rows of a result, one per relation."""
    raise TypeError(f"no LaTeX form for {type(obj).__name__}: use a ClosedForm, FreeVerdict, Fix or DepthLaw")


# ------------------------------------------------------------------ closed forms


@rows.register
def _(cf: ClosedForm) -> list[tuple[str, str]]:
    n, z = latex(cf.n), latex(cf.z)
    period = None if cf.is_symbolic else cf.pattern.period
    count = rf"t_{{{n} \bmod {period}}}" if period and period > MAX_TILE_SHOWN else latex(cf.count)
    out = [(r"S", latex(cf.stride)), (r"\text{offset}", latex(cf.offset)),
           (f"c({n})", count), (f"H({z})", latex(cf.generating_function)),
           (r"\text{mean } H(1)/S", latex(cf.mean)), (r"\text{period}", latex(cf.period))]
    if cf.is_symbolic:
        out += [(r"\text{even}", r"\iff " + latex(cf.even_condition)),
                (r"\text{holes}", r"\iff " + latex(cf.holes_condition)),
                (rf"\frac{{|H(\omega^{{{latex(cf.m)}}})|}}{{H(1)}}", latex(cf.amplitudes)),
                (r"\omega", latex(sp.exp(-2 * sp.pi * sp.I / cf.stride)))]
        return out
    out += [(r"\text{tile } t", vector(cf.pattern.tile)), (r"\text{even}", _boolean(cf.even_condition)),
            (r"\text{holes}", _boolean(cf.holes_condition))]
    try:
        freqs = cf.artifact_frequencies
    except Exception as exc:  # noqa: BLE001 - a period too long for the exact spectrum: say so
        out.append((r"\text{spectrum}", r"\text{" + tex_text(str(exc)) + "}"))
        return out
    if not freqs:
        out.append((r"\text{artifacts}", r"\text{none: } H(\omega^m) = 0 \text{ for } 0 < m < S"))
    for f, amp in freqs[:MAX_FREQUENCIES]:
        m = f * int(cf.stride)
        out.append((rf"\frac{{|H(\omega^{{{m.numerator}}})|}}{{H(1)}}",
                    rf"{latex(amp)} \quad \text{{at }} f = {exact(f)}"))
    if len(freqs) > MAX_FREQUENCIES:
        out.append((r"\dots", rf"\text{{and {len(freqs) - MAX_FREQUENCIES} more frequencies}}"))
    return out


# ------------------------------------------------------------------ the checkerboard-free condition


def _shown(v: FreeVerdict) -> tuple[tuple[str, AxisVerdict], ...]:
    """(label, verdict) to print: one for identical axes."""
    if v.same_axes:
        return (("", v.axes[0]),)
    return tuple((f"axis {a.axis}", a) for a in v.axes)


def _certificate(a: AxisVerdict) -> list[tuple[str, str]]:
    """Rows Phi_q(z) = ... | factor of layer i (or: does not divide H): the exact proof, q | S, q > 1."""
    z = a.form.z
    out = []
    for q, who in a.annihilators.items():
        phi = rf"\Phi_{{{q}}}(z) = {latex(sp.cyclotomic_poly(q, z))}"
        if who:
            f = next(f for f in a.form.factors if f.index == who[0])
            out.append((phi, rf"\mid {latex(f.scale * f.expr)} \quad \text{{(layer {who[0]})}}"))
        else:
            out.append((phi, rf"\not\mid H(z) \quad \text{{(period {q} present)}}"))
    return out


@rows.register
def _(v: FreeVerdict) -> list[tuple[str, str]]:
    out = []
    for label, a in _shown(v):
        cf, tag = a.form, (rf"\text{{{label}: }}" if label else "")
        zoh = r"\frac{1 - z^{" + latex(cf.stride) + r"}}{1 - z}"
        out.append((tag + r"\text{free}", r"\iff " + zoh + r" \text{ divides } H(z)"))
        if cf.is_symbolic:
            out.append((r"", r"\iff " + latex(a.condition)))
            continue
        out += _certificate(a)
        verdict = (r"\text{yes: } c(n) = H(1)/S = " + latex(cf.mean)) if a.free else r"\text{no}"
        out.append((tag + r"\text{checkerboard-free}", r": " + verdict))
    return out


INTRO = (r"A linear upsampler of total stride $S$ is free of checkerboard artifacts iff its effective kernel "
         r"vanishes at every non-trivial $S$-th root of unity, $H(\omega^m) = 0$ for $0 < m < S$, i.e.\ iff "
         r"$H(z)$ contains the zero-order hold "
         r"$1 + z + \dots + z^{S-1} = \prod_{q \mid S,\, q > 1} \Phi_q(z)$ "
         r"(Sugawara, Shiota \& Kiya). Each cyclotomic polynomial $\Phi_q$ is irreducible, so it must divide "
         r"the factor $H_i(z^{P_i})$ of some layer $i$.")


def verdict_document(v: FreeVerdict, intro: bool = True) -> str:
    """Prose and displays for the report (`intro`: state the condition first)."""
    parts = [INTRO] if intro else []
    for label, a in _shown(v):
        cf = a.form
        head = f"{label.capitalize()}: " if label else ""
        if cf.is_symbolic:
            parts += [head + "free iff", display(latex(a.condition))]
            continue
        if a.free:
            parts.append(head + f"free: $S = {latex(cf.stride)}$ and every $\\Phi_q$, $q \\mid S$, "
                         "$q > 1$, divides a factor of $H(z)$, so $c(n) = H(1)/S = " + latex(cf.mean)
                         + "$ everywhere.")
        elif not a.present_periods:
            parts.append(head + "not free: the interior is identically zero (every pixel is a hole).")
        else:
            parts.append(head + "not free. Artifact periods present: "
                         + ", ".join(f"${q}$" for q in a.present_periods) + ".")
        if a.annihilators:
            parts.append(math_block(_certificate(a)))
        for c in a.culprits:
            parts.append(f"Layer {c.index} (\\texttt{{{tex_text(c.layer.spec())}}}) breaks it: "
                         f"{tex_text(c.reason)}; it creates the period(s) "
                         + ", ".join(f"${q}$" for q in c.periods) + " that no layer cancels.")
    return "\n\n".join(parts)


# ------------------------------------------------------------------ fixes


@rows.register
def _(fix: Fix) -> list[tuple[str, str]]:
    (h, w), (oh, ow) = fix.input_size, fix.output_size
    out = [(r"\text{stack}", r": \text{\texttt{" + tex_text(str(fix.stack)) + "}}"),
           (r"\text{size}", rf": {h} \times {w} \to {oh} \times {ow}"
            + (r" \text{ (unchanged)}" if fix.same_size else r" \text{ (changed)}")),
           (r"\text{tile}", r": " + exact(fix.pattern.tile[0, 0]) + r" \text{ everywhere (period } 1 \times 1)")]
    return out + rows(fix.verdict)


def fix_document(fix: Fix) -> str:
    """The fix for the report: its stack, changes, output size, interior count and proof."""
    (h, w), (oh, ow) = fix.input_size, fix.output_size
    (bh, bw) = fix.original_output_size
    lines = [r"\texttt{" + tex_text(str(fix.stack)) + "}", r"\begin{itemize}"]
    lines += [r"\item " + tex_text(c) for c in fix.changes]
    size = "unchanged" if fix.same_size else f"was ${bh} \\times {bw}$"
    lines += [rf"\item output ${oh} \times {ow}$ for a ${h} \times {w}$ input ({size})",
              r"\item interior count $" + exact(fix.pattern.tile[0, 0]) + r"$ at every pixel (period $1 \times 1$)",
              r"\end{itemize}", "Proof:", verdict_document(fix.verdict, intro=False)]
    return "\n".join(lines)


# ------------------------------------------------------------------ depth laws


def _every(flag: bool, downsamples: bool) -> str:
    where = r"\text{ at every depth}"
    if downsamples:
        where = r"\text{ at depth 1 (the block downsamples: see the table)}"
    return (r"\text{yes}" if flag else r"\text{no}") + where


@rows.register
def _(law: DepthLaw) -> list[tuple[str, str]]:
    L = latex(law.L)
    none = r"\text{no closed form (see the table)}"
    out = [(r"\text{block}", r": \text{\texttt{" + tex_text(str(law.block)) + "}}"),
           (r"\text{even}", r": " + _every(law.even, law.downsamples)),
           (r"\text{holes}", r": " + _every(law.holes, law.downsamples)),
           (f"P({L})", latex(law.period) if law.period is not None else none),
           (rf"\bar c({L})", latex(law.mean)),
           (rf"\text{{contrast}}({L})", latex(law.contrast) if law.contrast is not None else none),
           (rf"A_{{\max}}({L})", latex(law.amplitude) if law.amplitude is not None else none)]
    if law.lowest_amplitude is not None:
        out.append((rf"A_{{1/S^{{{L}}}}}({L})", latex(law.lowest_amplitude)))
    for name, value in law.growth.items():
        if value is not None:
            out.append((rf"\text{{growth of the {name}}}", r": \times " + exact(value)
                         + rf" \text{{ per block at }} {L} = {law.table[-1].depth}"))
    return out


def depth_table(law: DepthLaw) -> str:
    """The exact table of a depth law as an amsmath-free LaTeX array."""
    head = r"L & \text{period} & \min & \max & \text{contrast} & A_{\max} \\ \hline"
    body = [f"{r.depth} & {r.period} & {exact(r.minimum)} & {exact(r.maximum)} & {exact(r.contrast)} & "
            f"{r.amplitude:.4g} \\\\" for r in law.table]
    return "\\[\n\\begin{array}{rrrrrr}\n" + head + "\n" + "\n".join(body) + "\n\\end{array}\n\\]"


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
% Ragged right: a long \texttt stack spec breaks at its spaces instead of overflowing the line; fixed-width
% spaces cannot stretch, so the ragged lines' badness is not reported.
\raggedright
\hbadness=10000
""".replace("MAXCOLS", str(MAX_TILE_SHOWN))


def display(tex: str) -> str:
    """A displayed formula; a long one is scaled down to the line width (never up: graphicx's \\width is its
    natural width)."""
    if len(tex) > LONG_FORMULA:
        return ("\\[\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{$\\displaystyle "
                + tex + "$}\n\\]")
    return "\\[\n" + tex + "\n\\]"


def _rows_document(lines: list[tuple[str, str]]) -> str:
    """Each row as its own display (so that long ones can be scaled)."""
    out = []
    for lhs, rhs in lines:
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
    lines = [r"\begin{tabular}{rlllllll}", r"\hline", head]
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
    if same_axes(stack):
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
    pat = overlap_pattern(stack)
    ph, pw = pat.period
    out = [f"Minimal period ${ph} \\times {pw}$; the interior count at pixel $(i, j)$ is "
           r"$T[i \bmod " + str(ph) + r", j \bmod " + str(pw) + "]$."]
    if ph <= MAX_TILE_SHOWN and pw <= MAX_TILE_SHOWN:
        cells = [" & ".join(exact(Fraction(v)) for v in row) for row in pat.tile]
        out.append(display(r"T = \begin{pmatrix}" + r" \\ ".join(cells) + r"\end{pmatrix}"))
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


def latex_document(stack, input_size=(32, 32), figure: str | None = None) -> str:
    """The standalone report: stack, output size, closed forms, period, tile, spectrum, condition, fixes, and
    `figure` (a LaTeX figure environment, see `export_latex`) after the tile when given."""
    stack = as_stack(stack)
    forms = [(title, closed_form(stack, axis)) for axis, title in _axes(stack)]
    symbolic = any(cf.is_symbolic for _, cf in forms)
    parts = [PREAMBLE, r"\begin{document}", r"\section*{Checkerboard analysis}",
             r"\texttt{" + tex_text(str(stack)) + "}", _legend(),
             r"\subsection*{The stack}", _stack_table(stack),
             r"\subsection*{Output size}", _output_size_section(stack, None if symbolic else input_size)]
    parts.append(r"\subsection*{Closed forms}")
    for title, cf in forms:
        parts += [r"\paragraph{" + tex_text(title) + "}", _rows_document(rows(cf))]
    if not symbolic:
        parts += [r"\subsection*{Interior tile}", _tile_section(stack)]
    if figure:
        parts += [r"\subsection*{Figure}", figure]
    parts += [r"\subsection*{Checkerboard-free condition}", verdict_document(checkerboard_free(stack))]
    parts.append(r"\subsection*{Fixes}")
    if symbolic:
        parts.append("Fixes are proposed for numeric stacks: substitute values for the symbols first.")
    else:
        fixes = suggest_fixes(stack, input_size)
        if not fixes:
            parts.append("None needed: the stack is already free of checkerboard artifacts.")
        for i, fix in enumerate(fixes, 1):
            parts += [r"\paragraph{Fix " + str(i) + ": " + tex_text(fix.title) + "}", fix_document(fix)]
    parts.append(r"\end{document}")
    return "\n\n".join(parts) + "\n"


def report_figure(stack, path: str | os.PathLike, input_size=(32, 32)) -> str | None:
    """The report's figure block for `export_latex`: the exact overlap beside one simulated run and both spectra
    (`figures.latex_figure`), written as PATH-STEM-figure.pdf beside `path`. None without matplotlib (the
    `figures` extra) or for a symbolic stack; a one-sentence "No figure: ..." when the default simulation
    cannot run the stack. Costs one simulation and one matplotlib render (about 1 s, mostly the import)."""
    from . import figures

    stack = as_stack(stack)
    if importlib.util.find_spec("matplotlib") is None:
        return None
    if any(layer.has_symbols for layer in stack):
        return None  # no simulation of a symbolic stack; checked on the parameters, not by deriving closed forms
    try:
        return figures.latex_figure(stack, path, input_size)
    except CheckerlabError as exc:  # e.g. channels the default simulation cannot feed: the report stays
        return "No figure: " + tex_text(str(exc))


def export_latex(stack, path: str | os.PathLike, input_size=(32, 32), figure: str | None | bool = True) -> Path:
    """Write `latex_document(stack, input_size, figure)` atomically to `path` (compiles with pdflatex).

    `figure=True` includes `report_figure(stack, path, input_size)`; False leaves it out; a string is a figure
    block already made by `report_figure`."""
    path = Path(path)
    stack = as_stack(stack)
    if figure is True:
        figure = report_figure(stack, path, input_size)
    atomic_write(path, latex_document(stack, input_size, figure or None))
    return path
