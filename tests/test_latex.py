"""LaTeX: the printer subclass, every result's to_latex, export_latex compiled with pdflatex, and the CLI.

Without pdflatex the compile tests skip; with CHECKERLAB_NO_SKIP=1 (set by .ci/run) that skip is a failure.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from sympy.printing.latex import LatexPrinter

from checkerlab.analytics import (
    ConvTranspose2d,
    Stack,
    checkerboard_free,
    closed_form,
    depth_law,
    export_latex,
    suggest_fixes,
    to_latex,
)
from checkerlab.analytics.latex_printer import CheckerlabLatexPrinter, latex
from checkerlab.analytics.presentation.latex import latex_document, to_jupyter
from checkerlab.analytics.symbols import Divides, DivisorLcm, IntGcd, IntMod, ModInverse
from checkerlab.app.cli import main

k, s, d = sp.symbols("k s d", integer=True, positive=True)
p = sp.Symbol("p", integer=True, nonnegative=True)
k1, s1, k2, s2 = sp.symbols("k1 s1 k2 s2", integer=True, positive=True)


def pdflatex() -> str:
    exe = shutil.which("pdflatex")
    if exe is None:
        pytest.skip("pdflatex is not installed")
    return exe


def compile_tex(path: Path) -> str:
    """Run pdflatex; fail on any error or undefined macro. Returns the log."""
    cmd = [pdflatex(), "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", path.name]
    proc = subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, timeout=120)
    log = path.with_suffix(".log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, f"{path.name}: {errors or proc.stdout[-2000:]}"
    assert "Undefined control sequence" not in log
    assert path.with_suffix(".pdf").stat().st_size > 1000
    return log


# ---------------------------------------------------------------- the printer


def test_printer_writes_the_integer_functions_like_a_paper():
    x = sp.Symbol("x", integer=True)
    q = sp.Dummy("q", integer=True, positive=True)
    assert latex(IntGcd(d, s)) == r"\gcd\left(d, s\right)"
    assert latex(IntMod(x + p, s)) == r"\left(\left(p + x\right) \bmod s\right)"
    assert latex(ModInverse(d, s)) == r"\left(d^{-1} \bmod s\right)"
    assert latex(Divides(IntGcd(d, s), x)) == r"\left[\gcd\left(d, s\right) \mid x\right]"
    assert latex(sp.Eq(IntMod(k, s), 0)) == r"s \mid k"
    assert latex(sp.Ne(IntMod(k, s), 0)) == r"s \not\mid k"
    assert latex(DivisorLcm(q, q, s)).startswith(r"\operatorname*{lcm}_{q \mid s}")
    assert latex(sp.Eq(IntMod(k, s), 1)) == r"\left(k \bmod s\right) = 1"


def test_global_sympy_printer_settings_are_untouched():
    settings = dict(LatexPrinter._default_settings)
    exprs = [sp.Mod(k, s), sp.Eq(sp.Mod(k, s), 0), sp.pi * k / s, IntGcd(k, s)]
    before = [sp.latex(e) for e in exprs]
    for e in exprs:
        latex(e, mul_symbol="dot")
    to_latex(closed_form(ConvTranspose2d(k, stride=s)))
    assert [sp.latex(e) for e in exprs] == before
    assert LatexPrinter._default_settings == settings
    assert CheckerlabLatexPrinter({"mul_symbol": "dot"}).doprint(k * s) == r"k \cdot s"
    assert latex(k * s) == "k s"


# ---------------------------------------------------------------- every result's to_latex and to_jupyter


def results():
    return [
        closed_form(ConvTranspose2d(k, stride=s, padding=p, dilation=d)),
        closed_form(Stack([ConvTranspose2d(k1, stride=s1), ConvTranspose2d(k2, stride=s2)])),
        closed_form("ConvTranspose2d(3, stride=2) * 2, Conv2d(2)"),
        closed_form("Upsample(2, mode='bilinear'), ConvTranspose2d(5, stride=3)"),
        checkerboard_free("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3"),
        checkerboard_free("ConvTranspose2d((3, 4), stride=2)"),
        checkerboard_free(ConvTranspose2d(k, stride=s)),
        *suggest_fixes("ConvTranspose2d(3, stride=2) * 2"),
        depth_law("ConvTranspose2d(3, stride=2)"),
        depth_law("ConvTranspose2d(4, stride=2, padding=1)"),
    ]


def test_every_result_has_latex_and_a_jupyter_form(tmp_path):
    blocks = []
    for r in results():
        tex, jupyter = to_latex(r), to_jupyter(r)
        assert tex.startswith(r"\begin{align*}") and r"\end{align*}" in tex, type(r)
        assert jupyter.startswith(r"$$\begin{aligned}") and jupyter.endswith(r"\end{aligned}$$"), type(r)
        assert tex.count("{") == tex.count("}"), type(r)
        blocks.append(tex)
    body = "\n\n".join(blocks)
    doc = tmp_path / "blocks.tex"  # amsmath only: no undefined macro may slip through
    preamble = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
    doc.write_text(preamble + body + "\n\\end{document}\n")
    compile_tex(doc)


# ---------------------------------------------------------------- export_latex


EXPORTS = {
    "k3s2": "ConvTranspose2d(3, stride=2)",
    "dcgan": "ConvTranspose2d(4, stride=2, padding=1) * 4",
    "period16": "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 4",
    "leak": "ConvTranspose2d(3, stride=2) * 2, Conv2d(2)",
    "mixed": "Upsample(2, mode='bilinear'), Conv2d(3, padding=1), PixelShuffle(2), "
             "ConvTranspose2d(5, stride=3, dilation=2)",
    "rect": "ConvTranspose2d((3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2))",
    "down": "ConvTranspose2d(3, stride=2), Conv2d(3, stride=2), ConvTranspose2d(5, stride=2)",
    "long": "ConvTranspose2d(3, stride=2) * 9",
    "sym1": Stack([ConvTranspose2d(k, stride=s, padding=p, dilation=d)]),
    "sym2": Stack([ConvTranspose2d(k1, stride=s1), ConvTranspose2d(k2, stride=s2)]),
    "sym_mixed": Stack([ConvTranspose2d(k, stride=2), ConvTranspose2d(3, stride=s, padding=1)]),
}


@pytest.mark.parametrize("name", EXPORTS)
def test_export_latex_compiles(tmp_path, name):
    path = export_latex(EXPORTS[name], tmp_path / f"{name}.tex", input_size=(16, 12))
    text = path.read_text()
    for section in ("The stack", "Output size", "Closed forms", "Checkerboard-free condition", "Fixes"):
        assert section in text, (name, section)
    assert r"\begin{tabular}" in text and "H(z)" in text and r"\text{period}" in text
    if name.startswith("sym"):
        assert "substitute values" in text
    else:
        assert "Interior tile" in text and ("16 \\times 12" in text)
    drawn = r"\includegraphics" in text  # matplotlib is in the dev extra: a numeric stack gets its figure
    assert drawn or name.startswith("sym") or "No figure: " in text
    figure = [f"{name}-figure.pdf"] if drawn else []
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([f"{name}.tex", *figure])  # atomic: no temp file
    compile_tex(path)


def test_export_lists_the_fixes_and_spectrum():
    text = latex_document("ConvTranspose2d(3, stride=2) * 2, Conv2d(2)", (8, 8))
    assert r"\frac{\sqrt{2}}{18}" in text  # the exact amplitude of the period-4 leak
    assert "Fix 1: kernel size a multiple of the stride" in text and "resize-convolution" in text
    assert r"\Phi_{4}(z) = z^{2} + 1 &\not\mid H(z)" in text


# ---------------------------------------------------------------- CLI


def test_cli_formula_prints_latex(capsys):
    assert main(["formula", "ConvTranspose2d(3, stride=2) * 2", "--axis", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(r"\begin{align*}") and r"\text{period} &= 4" in out
    assert main(["formula", "ConvTranspose2d(3, stride=0)"]) == 2
    err = capsys.readouterr().err.strip()
    assert "stride" in err and "\n" not in err


def test_cli_analyze_latex(tmp_path, capsys):
    out = tmp_path / "report.tex"
    assert main(["analyze", "ConvTranspose2d(3, stride=2)", "--latex", str(out)]) == 0
    assert "period" in capsys.readouterr().out
    assert out.read_text().startswith(r"\documentclass")
    compile_tex(out)
