"""Benchmark the GUI (issue 5, item 4), headless (QT_QPA_PLATFORM=offscreen).

- Edit -> both views updated, on the default example: a cell edit that changes the geometry (kernel 3 <-> 4
  of the middle layer: exact analysis and simulation both rerun) and a settings edit (the seed: simulation
  only), timed from the edit to the moment the last of the two views holds the new result. Includes the
  debounce. Goal <= 100 ms.
- Cold start -> first paint, in a fresh subprocess per run (interpreter start and imports included), and
  -> both views computed; once with Numba's on-disk cache warm (the usual case) and once with an empty cache
  (the very first launch, when the kernels compile). Goal for first paint <= 2 s.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from timing import machine  # noqa: E402

EDIT_GOAL_MS = 100.0
PAINT_GOAL_S = 2.0
EDITS = 21
COLD_RUNS = 5

CHILD = r"""
import json, sys, time
marks = {"imports": None}
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
window.show()
deadline = time.time() + 120
while time.time() < deadline and not all(k in marks for k in ("paint", "analytic", "simulation")):
    app.processEvents()
    time.sleep(0.0005)
window.close()
print(json.dumps(marks))
"""


def cold_start(runs: int, env_extra: dict | None = None) -> dict[str, list[float]]:
    """Seconds from process launch to imports done, first paint, analysis shown and simulation shown."""
    env = {**os.environ, **(env_extra or {})}
    out: dict[str, list[float]] = {"imports": [], "paint": [], "analytic": [], "simulation": []}
    for _ in range(runs):
        t0 = time.time()
        result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=180)
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

    app = make_app()
    tmp = QTemporaryDir()
    window = MainWindow(default_config(), settings=QSettings(tmp.filePath("s.ini"), QSettings.Format.IniFormat),
                        restore=False)
    window.show()

    def shown(config) -> bool:
        a, s = window.controller.analytic, window.controller.simulation
        return (a is not None and a.config.stack == config.stack and a.config.input_size == config.input_size
                and s is not None and s.config == config and window.maps.simulation is s)

    def wait(config, timeout_ms=30000) -> None:
        """Run the event loop (the GUI thread sleeps in Qt, as in real use) until both views show `config`."""
        if shown(config):
            return
        loop = QEventLoop()
        window.updated.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        while not shown(config):
            loop.exec()
            if not shown(config) and time.perf_counter() - t_start > timeout_ms / 1e3:
                raise SystemExit("the views did not update within 30 s")
        window.updated.disconnect(loop.quit)

    t_start = time.perf_counter()
    wait(window.document.config)
    while window.controller.worker.is_busy():  # let the background warm-up finish
        app.processEvents()
        time.sleep(0.001)
    results: dict[str, list[float]] = {"geometry": [], "settings": [], "analytic": [], "simulation": []}
    for i in range(EDITS):
        t0 = t_start = time.perf_counter()
        window.editor.set_cell(1, "kernel", "4" if i % 2 == 0 else "3")
        wait(window.document.config)
        results["geometry"].append((time.perf_counter() - t0) * 1e3)
        results["analytic"].append(window.controller.timings["analytic"] * 1e3)
        results["simulation"].append(window.controller.timings["simulation"] * 1e3)
        for _ in range(20):  # idle between edits, as a user would be
            app.processEvents()
        t0 = t_start = time.perf_counter()
        window.input_panel.seed.setValue(i + 1)
        wait(window.document.config)
        results["settings"].append((time.perf_counter() - t0) * 1e3)
    window.close()
    return results


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def main() -> None:
    print(machine())
    from checkerlab.app.gui.controller import DEBOUNCE_MS

    edits = edit_latency()
    print(f"\nEdit -> both views updated, default example ({EDITS} edits each, debounce {DEBOUNCE_MS} ms included)")
    print("| edit | median ms | p90 ms | max ms | goal |")
    print("|---|---:|---:|---:|---:|")
    for key, label in (("geometry", "kernel 3 <-> 4 of layer 2 (analysis + simulation)"),
                       ("settings", "seed (simulation only)")):
        v = edits[key]
        print(f"| {label} | {median(v):.0f} | {_p90(v):.0f} | {max(v):.0f} | <= {EDIT_GOAL_MS:.0f} |")
    print(f"| (worker stage: exact analysis) | {median(edits['analytic']):.0f} | {_p90(edits['analytic']):.0f} | "
          f"{max(edits['analytic']):.0f} | |")
    print(f"| (worker stage: simulation, 4 draws + metrics) | {median(edits['simulation']):.0f} | "
          f"{_p90(edits['simulation']):.0f} | {max(edits['simulation']):.0f} | |")

    warm = cold_start(COLD_RUNS)
    with tempfile.TemporaryDirectory() as cache:
        empty = cold_start(1, {"NUMBA_CACHE_DIR": cache})
    print(f"\nCold start in a fresh process (seconds from launch; median of {COLD_RUNS}, empty cache: 1 run)")
    print("| Numba cache | imports done | first paint | analysis shown | simulation shown | goal (paint) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, data in (("warm (usual)", warm), ("empty (first launch)", empty)):
        print(f"| {label} | {median(data['imports']):.2f} | {median(data['paint']):.2f} | "
              f"{median(data['analytic']):.2f} | {median(data['simulation']):.2f} | <= {PAINT_GOAL_S:.0f} |")
    ok = median(edits["geometry"]) <= EDIT_GOAL_MS and median(warm["paint"]) <= PAINT_GOAL_S
    print("\nGoals:", "pass" if ok else "FAIL")


if __name__ == "__main__":
    main()
