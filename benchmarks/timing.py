"""Shared benchmark helpers: robust timing and a description of the machine."""

from __future__ import annotations

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
