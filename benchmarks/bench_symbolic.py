"""Benchmark the SymPy closed forms, the exact spectrum, the fix advisor and the LaTeX export.

Goals (issue 3): closed_form of a symbolic single layer < 0.5 s; a numeric 4-layer stack with its exact
spectrum < 1 s; export_latex < 2 s. SymPy's cache is cleared before every timed call, so each figure is a
cold computation (SymPy itself already imported; its import time is reported separately).

Run: .venv/bin/python benchmarks/bench_symbolic.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import machine, median_ms  # noqa: E402

t0 = time.perf_counter()
import sympy as sp  # noqa: E402

SYMPY_IMPORT_MS = (time.perf_counter() - t0) * 1e3
from sympy.core.cache import clear_cache  # noqa: E402

from checkerlab.analytics import (  # noqa: E402
    ConvTranspose2d,
    Stack,
    checkerboard_free,
    closed_form,
    depth_law,
    export_latex,
    suggest_fixes,
)

k, s, d = sp.symbols("k s d", integer=True, positive=True)
p = sp.Symbol("p", integer=True, nonnegative=True)
k1, s1, k2, s2 = sp.symbols("k1 s1 k2 s2", integer=True, positive=True)
SINGLE = ConvTranspose2d(k, stride=s, padding=p, dilation=d)
DEPTH2 = Stack([ConvTranspose2d(k1, stride=s1), ConvTranspose2d(k2, stride=s2)])
NUMERIC4 = ["ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 4",
            "ConvTranspose2d(5, stride=3), ConvTranspose2d(3, stride=2), ConvTranspose2d(5, stride=3), "
            "ConvTranspose2d(3, stride=2)",
            "ConvTranspose2d(3, stride=2), Conv2d(3, padding=1), ConvTranspose2d(5, stride=2), "
            "Upsample(2, mode='bilinear')"]
EXPORT = {"numeric 4 layers": NUMERIC4[0], "symbolic single layer": Stack([SINGLE]),
          "symbolic depth 2": DEPTH2}


def everything(stack):
    """Every closed form of the stack, as a user of the API would ask for them, then its LaTeX."""
    cf = closed_form(stack)
    _ = (cf.count, cf.period, cf.even_condition, cf.holes_condition, cf.generating_function, cf.spectrum,
         cf.amplitudes)
    return cf.latex()


def cold(fn):
    def run():
        clear_cache()
        return fn()
    return run


FRESH = """
import time, sympy as sp
t = time.perf_counter()
from checkerlab.analytics import ConvTranspose2d, closed_form, export_latex
k, s = sp.symbols("k s", integer=True, positive=True)
cf = closed_form(ConvTranspose2d(k, stride=s))
cf.count, cf.period, cf.even_condition, cf.holes_condition, cf.spectrum, cf.latex()
print((time.perf_counter() - t) * 1e3)
"""


def fresh_process_ms() -> float:
    """The first closed_form + LaTeX in a new process (SymPy imported, analytics' modules not yet)."""
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    return float(out.stdout.strip())


def main() -> None:
    print(f"machine: {machine()}\n")
    print(f"import sympy: {SYMPY_IMPORT_MS:.0f} ms (once per process; `import analytics` does not "
          "import it)\n")
    print("| what | median ms (cold SymPy cache) | goal |")
    print("|---|---:|---:|")
    ms = median_ms(cold(lambda: everything(SINGLE)), repeat=7)
    print(f"| closed_form of `ConvTranspose2d(k, stride=s, padding=p, dilation=d)`: count, period, "
          f"conditions, H(z), spectrum, LaTeX | {ms:.0f} | < 500 |")
    ms = sorted(fresh_process_ms() for _ in range(3))[1]
    print(f"| the same, first call in a fresh process (imports the modules) | {ms:.0f} | < 500 |")
    ms = median_ms(cold(lambda: everything(DEPTH2)), repeat=5)
    print(f"| closed_form of the depth-2 stack with k1, s1, k2, s2 symbolic, same | {ms:.0f} | - |")
    for spec in NUMERIC4:
        cf = closed_form(spec)
        ms = median_ms(cold(lambda spec=spec: everything(spec)), repeat=5)
        print(f"| numeric 4 layers, exact spectrum (S = {cf.stride}, period {cf.period}): `{spec}` | "
              f"{ms:.0f} | < 1000 |")
    for name, stack in EXPORT.items():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.tex"
            ms = median_ms(cold(lambda stack=stack, out=out: export_latex(stack, out)), repeat=5)
            compile_ms = None
            exe = shutil.which("pdflatex")
            if exe:
                t = time.perf_counter()
                subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "r.tex"], cwd=tmp,
                               capture_output=True, check=True)
                compile_ms = (time.perf_counter() - t) * 1e3
        extra = f" (pdflatex: {compile_ms:.0f} ms, not included)" if compile_ms else ""
        print(f"| export_latex, {name}{extra} | {ms:.0f} | < 2000 |")
    spec = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3"
    ms = median_ms(cold(lambda: (checkerboard_free(spec), suggest_fixes(spec))), repeat=5)
    print(f"| checkerboard_free + suggest_fixes, `{spec}` | {ms:.0f} | - |")
    ms = median_ms(cold(lambda: depth_law("ConvTranspose2d(3, stride=2)", max_depth=8).table), repeat=5)
    print(f"| depth_law of `ConvTranspose2d(3, stride=2)` up to depth 8 | {ms:.0f} | - |")


if __name__ == "__main__":
    main()
