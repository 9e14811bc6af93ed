"""Shared benchmark helpers: robust timing, a description of the machine, and each script's section of
docs/performance.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from statistics import median


def median_ms(fn, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return median(times)


def interleaved_best_ms(fns, rounds: int = 7, inner: int = 3, budget_s: float | None = None,
                        pause_s: float = 0.0, settle: int = 0) -> list[float]:
    """Best time (ms) of one call of each of ``fns``, measured in the same run: ``rounds`` rounds, each timing
    ``inner`` single calls of every function in turn (the order reversed every other round), so that both
    sides see the same machine state. The best, not the median: on a shared machine other processes only
    ever add time. With ``budget_s`` the rounds stop early once that much time is spent (at least 2 rounds).
    ``pause_s``: a sleep before each function's calls, so that the thread pools of the previous one (OpenMP,
    BLAS: they spin for a while after each call) have gone to sleep and do not compete for the cores.
    ``settle``: untimed calls after each pause, the same for every function: a pause leaves a function's own
    threads asleep and its data out of cache (on this VM the first calls after 30 ms idle take 1.5-4x the
    steady time, for both libraries), and the figure wanted is the steady rate of back-to-back calls, as a
    network's layers make them.
    """
    for fn in fns:  # warm-up: compile, caches, thread pools
        fn()
    best = [float("inf")] * len(fns)
    start = time.perf_counter()
    for r in range(rounds):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            if pause_s:
                time.sleep(pause_s)
            for _ in range(settle):
                fns[i]()
            for _ in range(inner):
                t = time.perf_counter()
                fns[i]()
                best[i] = min(best[i], time.perf_counter() - t)
        if budget_s is not None and r >= 1 and time.perf_counter() - start > budget_s:
            break
    return [b * 1e3 for b in best]


def load() -> str:
    """The 1-, 5- and 15-minute load averages, for the record next to every figure."""
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def machine() -> str:
    """CPU model, core count and library versions, for docs/performance.md."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    import numpy
    parts = [f"{model}, {os.cpu_count()} cores", f"Python {platform.python_version()}", f"numpy {numpy.__version__}"]
    for name in ("numba", "sympy", "torch", "PySide6", "pyqtgraph"):
        try:
            parts.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        parts.append(f"commit {rev}")
    except OSError:
        pass
    return "; ".join(parts)


PERFORMANCE_MD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "performance.md")


def write_section(name: str, markdown: str, path: str = PERFORMANCE_MD) -> None:
    """Replace this benchmark's section of docs/performance.md, between the markers
    `<!-- begin NAME -->` and `<!-- end NAME -->` (appended when absent), atomically.

    Each script in benchmarks/ owns exactly one section, named after the script (e.g. "bench_kernels"), so
    `make bench` regenerates every figure without one script touching another's."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        text = "# Performance\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
