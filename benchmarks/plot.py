"""The figure of docs/performance.md: kernels against torch per shape class, GFLOP/s against the BLAS peak, and
the exact paths' time against depth.

Run: .venv/bin/python benchmarks/plot.py   (after benchmarks/bench_kernels.py, whose results it reads from
benchmarks/results/bench_kernels.json; `make bench` runs both)

The third panel is measured here, in this run: each exact path of the public API on growing stacks, a series
stopping at the first depth that takes more than `CAP_S` seconds (its complexity shows as the slope on the
log axis). Writes docs/performance.png and its section of docs/performance.md (with the depth table).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import geomean, load, machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PNG = ROOT / "docs" / "performance.png"
CAP_S = 3.0
MAX_DEPTH = 12
OPS = ("conv_transpose2d", "conv2d", "depthwise")
CLASSES = ("tiny", "tool", "mid", "net")
COLORS = {"conv_transpose2d": "#1f77b4", "conv2d": "#d62728", "depthwise": "#2ca02c"}


def exact_series():
    """[(label, [(depth, seconds), ...])] of the exact paths on growing stacks."""
    from checkerlab.analytics import (
        CheckerlabError,
        Stack,
        closed_form,
        overlap_map,
        overlap_pattern,
        suggest_fixes,
        to_dict,
    )
    paths = [
        ("overlap_pattern + to_dict, ConvTranspose2d(3, stride=2) * n",
         lambda n: to_dict(overlap_pattern(Stack(f"ConvTranspose2d(3, stride=2) * {n}")))),
        ("overlap_map, Upsample(2, mode='bilinear') * n from 8x8",
         lambda n: overlap_map(Stack(f"Upsample(2, mode='bilinear') * {n}"), (8, 8))),
        ("exact spectrum, closed_form(ConvTranspose2d(5, stride=3) * n)",
         lambda n: closed_form(Stack(f"ConvTranspose2d(5, stride=3) * {n}")).spectrum),
        ("suggest_fixes, ConvTranspose2d(3, stride=2) * n",
         lambda n: suggest_fixes(Stack(f"ConvTranspose2d(3, stride=2) * {n}"))),
    ]
    out = []
    for name, fn in paths:
        points = []
        for n in range(1, MAX_DEPTH + 1):
            t = time.perf_counter()
            try:
                fn(n)
            except CheckerlabError as exc:  # a refusal (budget) ends the series; say so in the table (a bug raises)
                points.append((n, None, type(exc).__name__))
                break
            dt = time.perf_counter() - t
            points.append((n, dt, ""))
            if dt > CAP_S:
                break
        out.append((name, points))
    return out


def draw(kernels: dict, series) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, peaks = kernels["rows"], kernels["peaks"]
    with plt.rc_context({"font.size": 8, "axes.titlesize": 9}):
        fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.2), layout="constrained")
        ax = axes[0]
        rng = np.random.default_rng(0)
        for k, cls in enumerate(CLASSES):
            for j, op in enumerate(OPS):
                both = [r["ratio"] for r in rows if r["cls"] == cls and r["op"] == op]
                if not both:
                    continue
                for dtype, marker in (("float32", "o"), ("float64", "^")):
                    sel = [r["ratio"] for r in rows if r["cls"] == cls and r["op"] == op and r["dtype"] == dtype]
                    x = k + (j - 1) * 0.25 + rng.uniform(-0.06, 0.06, len(sel))
                    ax.scatter(x, sel, s=9, marker=marker, color=COLORS[op], alpha=0.55, linewidths=0,
                               label=f"{op} {dtype}" if k == 3 else None)
                ax.plot([k + (j - 1) * 0.25 - 0.1, k + (j - 1) * 0.25 + 0.1], [geomean(both)] * 2,
                        color=COLORS[op], lw=2)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(0.5, color="k", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.set_xticks(range(len(CLASSES)), CLASSES)
        ax.set_ylabel("time / torch time (below 1: faster)")
        ax.set_title("Kernels against torch, per shape class (bars: geomean, both dtypes)")
        ax.legend(fontsize=6, loc="upper left")
        ax = axes[1]
        for op in OPS:
            for dtype, marker in (("float32", "o"), ("float64", "^")):
                sel = [r for r in rows if r["op"] == op and r["dtype"] == dtype and r["cls"] in ("net", "mid")]
                if sel:
                    ax.scatter([r["work"] for r in sel], [r["gflops"] for r in sel], s=10, marker=marker,
                               color=COLORS[op], alpha=0.7, linewidths=0, label=f"{op} {dtype}")
        for dtype, ls in (("float32", "--"), ("float64", ":")):
            ax.axhline(peaks[dtype], color="k", lw=0.8, ls=ls, label=f"{dtype} peak (2048^2 product)")
            ax.axhline(0.7 * peaks[dtype], color="grey", lw=0.6, ls=ls)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("multiply-adds per call")
        ax.set_ylabel("GFLOP/s")
        ax.set_title("GFLOP/s of mid and net shapes (grey: 70 % of peak)")
        ax.legend(fontsize=6, loc="lower right")
        ax = axes[2]
        for name, points in series:
            pts = [(n, t) for n, t, _ in points if t is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=name)
        ax.axhline(1.0, color="k", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("depth n (layers)")
        ax.set_ylabel("seconds")
        ax.set_title(f"Exact paths against depth (series stop after {CAP_S:.0f} s)")
        ax.legend(fontsize=6, loc="upper left")
        fig.savefig(PNG, dpi=130)
        plt.close(fig)


def main() -> None:
    started, load_before = time.perf_counter(), load()
    kernels = json.loads((ROOT / "benchmarks" / "results" / "bench_kernels.json").read_text())
    series = exact_series()
    draw(kernels, series)
    table = ["| exact path | " + " | ".join(f"n={n}" for n in range(1, MAX_DEPTH + 1)) + " |",
             "|---|" + "---:|" * MAX_DEPTH]
    for name, points in series:
        cells = {n: (f"{t * 1e3:.1f}" if t is not None else err) for n, t, err in points}
        table.append(f"| {name} | " + " | ".join(cells.get(n, "") for n in range(1, MAX_DEPTH + 1)) + " |")
    text = "\n".join([
        "## The figure",
        "",
        f"`.venv/bin/python benchmarks/plot.py` ({time.perf_counter() - started:.0f} s; {machine()}; load average "
        f"{load_before}): docs/performance.png. Left and middle: the per-shape results of bench_kernels.py above "
        f"(its run: {kernels['threads']} threads, load average {kernels['load']}). Right: the exact paths timed "
        f"in this run on growing stacks (milliseconds below; a series stops after the first depth over {CAP_S:.0f} "
        "s, or at a refusal).",
        "",
        "![kernels against torch, GFLOP/s, exact paths against depth](performance.png)",
        "",
        *table,
    ])
    print(text)
    write_section("plot", text)


if __name__ == "__main__":
    main()
