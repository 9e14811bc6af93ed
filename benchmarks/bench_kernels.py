"""Benchmark of the convolution kernels against PyTorch, on a grid of shapes, in float32 and float64.

Run: .venv/bin/python benchmarks/bench_kernels.py [--threads N] [--rounds R] [--quick]

Same machine, same run, same thread count for both (torch.set_num_threads(n) and numba.set_num_threads(n)).
Every shape is timed interleaved (`timing.interleaved_best_ms`: rounds alternating checkerlab and torch, each
turn after a pause and two untimed calls, the best single call of each), after checking that both agree. The
grid spans batch 1-4, channels 1-128, spatial 8-256, kernel 1-5, stride 1-3, groups 1 or C (depthwise), for
conv_transpose2d, dense conv2d and depthwise conv2d; every shape is put in one class:

- tiny: at most 2^16 multiply-adds (the per-call overhead decides),
- tool: <= 8 channels and >= 128 px (the networks this tool simulates),
- net: >= 32 channels (the layers of real decoders),
- mid: the rest.

Also: the per-call overhead on 1x3x8x8, k=3; GFLOP/s against the sgemm/dgemm peak (the product of two
2048x2048 matrices on BLAS's own threads or in row blocks on the kernels' threads, the better; measured at
the start and the end of the run, the better kept); the first compile in a
fresh cache and a second process start. Writes its section of docs/performance.md and
benchmarks/results/bench_kernels.json (read by benchmarks/plot.py).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import geomean, interleaved_best_ms, load, machine, write_section  # noqa: E402

from checkerlab import kernels  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
OPS = ("conv_transpose2d", "conv2d", "depthwise")
CLASSES = ("tiny", "tool", "mid", "net")
MAX_WORK = 1 << 31  # multiply-adds: larger shapes are left out (seconds per call)
TOL = {np.float32: 1e-4, np.float64: 1e-10}
PAUSE_S = 0.03  # between switching libraries: torch's OpenMP and BLAS threads spin for a while after a call
SETTLE = 2  # untimed calls after each pause, for each library (`timing.interleaved_best_ms`)
BLAS_SETTLE_S = 1.0  # after the peak's products on OpenBLAS's threads, which spin for ~0.1 s (measured: a
# conv timed 30 ms after a numpy product took 2.1 ms, 1 s later 1.2 ms: the spinning thread holds a core)


def grid(op: str) -> list[dict]:
    """The shapes of one op: channels x spatial x (kernel, stride), the batch cycling through 1, 2, 4."""
    channels = (3, 8, 32, 128) if op == "depthwise" else (1, 3, 8, 32, 128)
    taps = ((1, 1), (3, 1), (3, 2), (4, 2), (5, 3)) if op == "conv_transpose2d" else \
        ((1, 1), (3, 1), (3, 2), (5, 1), (5, 3))
    out = []
    for i, (c, hw, (k, s)) in enumerate(itertools.product(channels, (8, 32, 128, 256), taps)):
        n = (1, 2, 4)[i % 3]
        shape = dict(op=op, n=n, c=c, hw=hw, k=k, s=s)
        if op == "conv_transpose2d":
            shape["p"] = max(0, (k - s) // 2)
        else:
            shape["p"] = k // 2
        if work(shape) <= MAX_WORK:
            out.append(shape)
    return out


def out_size(shape) -> int:
    hw, k, s, p = shape["hw"], shape["k"], shape["s"], shape["p"]
    if shape["op"] == "conv_transpose2d":
        return (hw - 1) * s - 2 * p + k
    return (hw + 2 * p - k) // s + 1


def work(shape) -> int:
    """Multiply-adds of the direct formula."""
    c_in = shape["c"] if shape["op"] != "depthwise" else 1
    if shape["op"] == "conv_transpose2d":
        return shape["n"] * shape["c"] * c_in * shape["k"] ** 2 * shape["hw"] ** 2
    return shape["n"] * shape["c"] * c_in * shape["k"] ** 2 * out_size(shape) ** 2


def shape_class(shape) -> str:
    if work(shape) <= 1 << 16:
        return "tiny"
    if shape["c"] <= 8 and shape["hw"] >= 128:
        return "tool"
    return "net" if shape["c"] >= 32 else "mid"


def label(shape) -> str:
    return (f"N={shape['n']} C={shape['c']} {shape['hw']}x{shape['hw']} k={shape['k']} s={shape['s']} "
            f"p={shape['p']}")


def calls(shape, dtype, torch, rng):
    """(ours, torch's) zero-argument calls of one shape, on the same data."""
    import torch.nn.functional as F
    n, c, hw, k, s, p = (shape[key] for key in ("n", "c", "hw", "k", "s", "p"))
    x = rng.standard_normal((n, c, hw, hw)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    xt, bt = torch.from_numpy(x), torch.from_numpy(b)
    if shape["op"] == "conv_transpose2d":
        w = rng.standard_normal((c, c, k, k)).astype(dtype)
        return (functools.partial(kernels.conv_transpose2d, x, w, b, s, p),
                functools.partial(F.conv_transpose2d, xt, torch.from_numpy(w), bt, s, p))
    groups = c if shape["op"] == "depthwise" else 1
    w = rng.standard_normal((c, c // groups, k, k)).astype(dtype)
    return (functools.partial(kernels.conv2d, x, w, b, s, p, 1, groups),
            functools.partial(F.conv2d, xt, torch.from_numpy(w), bt, s, p, 1, groups))


def blas_peak(dtype, repeats=7) -> float:
    """GFLOP/s of the product of two 2048x2048 matrices, the better of np.matmul on BLAS's own threads and
    of the same product cut into row blocks shared by the kernels' threads, each on one BLAS thread (as
    `gemm.Lowering` runs): the best of ``repeats`` each."""
    from checkerlab.kernels.threads import parallel_for, serial_blas

    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(dtype)
    b = a.T.copy()
    out = np.empty_like(a)

    def rows(lo, hi):
        np.matmul(a[lo * 256 : hi * 256], b, out=out[lo * 256 : hi * 256])

    def pooled():
        with serial_blas():
            parallel_for(rows, 8, numba.get_num_threads())
    best = min(interleaved_best_ms([lambda: np.matmul(a, b, out=out), pooled], rounds=repeats, inner=1))
    return 2 * 2048**3 / best / 1e6


def pointwise_peak(torch, rounds) -> list[dict]:
    """The largest pointwise shapes of the grid without bias (a 1x1 conv is then the BLAS product alone; with
    bias one more pass over the output): GFLOP/s of checkerlab and torch."""
    import torch.nn.functional as F
    rows = []
    for dtype in (np.float32, np.float64):
        x = np.random.default_rng(4).standard_normal((1, 128, 128, 128)).astype(dtype)
        w = np.random.default_rng(5).standard_normal((128, 128, 1, 1)).astype(dtype)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        t_ours, t_torch = interleaved_best_ms([lambda x=x, w=w: kernels.conv2d(x, w), lambda xt=xt, wt=wt:
                                               F.conv2d(xt, wt)], rounds, inner=3, pause_s=PAUSE_S)
        flop = 2 * 128 * 128 * 128 * 128
        rows.append(dict(dtype=dtype.__name__, shape="conv2d N=1 C=128 128x128 k=1, no bias",
                         gflops=flop / t_ours / 1e6, torch_gflops=flop / t_torch / 1e6))
    return rows


def per_call_overhead(torch, rounds) -> list[dict]:
    """Per-call time on the tiny shape 1x3x8x8, k=3 (conv2d s=1 p=1, conv_transpose2d s=2 p=1)."""
    import torch.nn.functional as F
    x = np.random.default_rng(2).standard_normal((1, 3, 8, 8)).astype(np.float32)
    w = np.random.default_rng(3).standard_normal((3, 3, 3, 3)).astype(np.float32)
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    rows = []
    for name, ours, ref in (
            ("conv2d 1x3x8x8 k=3 s=1 p=1", lambda: kernels.conv2d(x, w, None, 1, 1),
             lambda: F.conv2d(xt, wt, None, 1, 1)),
            ("conv_transpose2d 1x3x8x8 k=3 s=2 p=1", lambda: kernels.conv_transpose2d(x, w, None, 2, 1),
             lambda: F.conv_transpose2d(xt, wt, None, 2, 1)),
            ("conv2d + relu 1x3x8x8 k=3 s=1 p=1", lambda: kernels.conv2d(x, w, None, 1, 1, activation="relu"),
             lambda: torch.relu(F.conv2d(xt, wt, None, 1, 1)))):
        def batch(f):
            return lambda: [f() for _ in range(100)]
        t_ours, t_torch = (t * 10 for t in interleaved_best_ms([batch(ours), batch(ref)], rounds, inner=3))
        rows.append(dict(name=name, ours_us=t_ours, torch_us=t_torch, ratio=t_ours / t_torch))
    return rows


COMPILE_PROBE = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import numpy as np
from checkerlab import kernels
out = {"import": (time.perf_counter() - t0, time.process_time() - c0)}
x32, x64 = np.ones((1, 4, 8, 8), np.float32), np.ones((1, 4, 8, 8))
for name, f in (("conv2d float32", lambda: kernels.conv2d(x32, np.ones((4, 4, 3, 3)), padding=1)),
                ("conv_transpose2d float32", lambda: kernels.conv_transpose2d(x32, np.ones((4, 4, 3, 3)), stride=2)),
                ("conv2d + silu float32", lambda: kernels.conv2d(x32, np.ones((4, 4, 3, 3)), activation="silu")),
                ("gelu float32 (standalone activation)", lambda: kernels.gelu(x32)),
                ("conv2d float64", lambda: kernels.conv2d(x64, np.ones((4, 4, 3, 3)), padding=1)),
                ("conv2d float32, 32 channels 64x64 (SIMD rows)",
                 lambda: kernels.conv2d(np.ones((1, 32, 64, 64), np.float32), np.ones((32, 32, 3, 3)), padding=1)),
                ("conv2d float32, 32 channels 8x8 (SIMD lanes)",
                 lambda: kernels.conv2d(np.ones((1, 32, 8, 8), np.float32), np.ones((32, 32, 3, 3)), padding=1))):
    if len(sys.argv) > 1 and name != sys.argv[1]:  # only the call named
        continue
    t, c = time.perf_counter(), time.process_time()
    f()
    out[name] = (time.perf_counter() - t, time.process_time() - c)
print(json.dumps(out))
"""


def compile_figures() -> list[dict]:
    """The calls of COMPILE_PROBE in order in a fresh process with an empty cache (a call compiles what the
    ones before it did not), each alone in a fresh process with an empty cache of its own (everything it
    needs: the first call of a session that starts with it), and all in a second process on the first's cache."""
    def probe(cache, *name):
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", COMPILE_PROBE, *name], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory() as cache:
        first, second = probe(cache), probe(cache)
    alone = {}
    for name in first:
        if name != "import":
            with tempfile.TemporaryDirectory() as cache:
                alone[name] = probe(cache, name)[name][1]
    return [dict(what=k, first=first[k][0], first_cpu=first[k][1], alone_cpu=alone.get(k, first[k][1]),
                 second=second[k][0]) for k in first]


def cold_cpu(c) -> float:
    """A call's compile CPU seconds in an empty cache of its own (older result files: in order)."""
    return c.get("alone_cpu", c["first_cpu"])


def measure(args, torch) -> dict:
    rng = np.random.default_rng(1)
    rows = []
    shapes = [s for op in OPS for s in grid(op)]
    if args.quick:
        shapes = shapes[::7]
    for dtype in (np.float32, np.float64):
        for shape in shapes:
            ours, ref = calls(shape, dtype, torch, rng)
            got, want = ours(), ref().numpy()
            err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
            assert err <= TOL[dtype], f"{shape} {dtype.__name__}: relative error {err:.2e} against torch"
            budget = 0.5 if work(shape) < 1 << 24 else 3.0
            t_ours, t_torch = interleaved_best_ms([ours, ref], rounds=args.rounds, inner=3, budget_s=budget,
                                                  pause_s=PAUSE_S, settle=SETTLE)
            rows.append(dict(shape, dtype=dtype.__name__, cls=shape_class(shape), label=label(shape),
                             work=work(shape), ours_ms=t_ours, torch_ms=t_torch, ratio=t_ours / t_torch,
                             gflops=2 * work(shape) / t_ours / 1e6, torch_gflops=2 * work(shape) / t_torch / 1e6))
            print(f"{shape['op']:16s} {dtype.__name__} {label(shape):34s} {rows[-1]['cls']:4s} ours {t_ours:9.4f} ms "
                  f"torch {t_torch:9.4f} ms ratio {rows[-1]['ratio']:.2f}", flush=True)
    return dict(rows=rows)


def summary_tables(rows, peaks, bare) -> str:
    lines = ["| op | dtype | class | shapes | geomean ratio | worst | faster than torch |",
             "|---|---|---|---:|---:|---:|---:|"]
    for op in OPS:
        for dtype in ("float32", "float64"):
            for cls in (*CLASSES, "all"):
                sel = [r for r in rows if r["op"] == op and r["dtype"] == dtype and (cls == "all" or r["cls"] == cls)]
                if not sel:
                    continue
                ratios = [r["ratio"] for r in sel]
                name = f"**{cls}**" if cls == "all" else cls
                lines.append(f"| {op} | {dtype} | {name} | {len(sel)} | {geomean(ratios):.2f} | {max(ratios):.2f} | "
                             f"{sum(v < 1 for v in ratios)}/{len(sel)} |")
    net = [r for r in rows if r["cls"] == "net"]
    best = {}
    for dtype in ("float32", "float64"):
        sel = [r for r in net if r["dtype"] == dtype]
        if sel:
            best[dtype] = max(sel, key=lambda r: r["gflops"])
    lines += ["", "| dtype | peak (2048^2 product) | best net shape | GFLOP/s | % of peak | torch GFLOP/s |",
              "|---|---:|---|---:|---:|---:|"]
    for dtype, r in best.items():
        peak = peaks[dtype]
        lines.append(f"| {dtype} | {peak:.0f} GFLOP/s | {r['op']} {r['label']} (grid, with bias) | "
                     f"{r['gflops']:.0f} | {100 * r['gflops'] / peak:.0f} | {r['torch_gflops']:.0f} |")
    for r in bare:
        peak = peaks[r["dtype"]]
        lines.append(f"| {r['dtype']} | {peak:.0f} GFLOP/s | {r['shape']} | {r['gflops']:.0f} | "
                     f"{100 * r['gflops'] / peak:.0f} | {r['torch_gflops']:.0f} |")
    return "\n".join(lines)


def goals(rows, peaks, overhead, compiled) -> str:
    """The issue-13 goals against this run's figures, each with its verdict."""
    def verdict(ok):
        return "pass" if ok else "FAIL"
    def worst(cls=None):  # the largest geomean ratio over the (op, dtype) groups, in class cls or all
        sel = [[r["ratio"] for r in rows if (r["op"], r["dtype"]) == (op, d) and cls in (None, r["cls"])]
               for op in OPS for d in ("float32", "float64")]
        return max(geomean(s) for s in sel if s)
    every, tool = worst(), worst("tool")
    call = max(o["ratio"] for o in overhead)
    share = min(max(r["gflops"] for r in rows if r["cls"] == "net" and r["dtype"] == d) / peaks[d]
                for d in ("float32", "float64"))
    parts = [f"geomean ratio <= 1.0 for every op and dtype: **{verdict(every <= 1)}** (worst {every:.2f})",
             f"tool shapes <= 0.5: **{verdict(tool <= 0.5)}** (worst {tool:.2f})",
             f"per-call overhead <= 2x torch's: **{verdict(call <= 2)}** (worst {call:.2f}x)",
             f"best net shape >= 70% of the sgemm/dgemm peak: **{verdict(share >= 0.7)}** "
             f"(the lower dtype {100 * share:.0f}%)"]
    first = max((c for c in compiled if c["what"] != "import"), key=cold_cpu, default=None)
    if first is not None:
        parts.append(f"first compile <= 5 s: **{verdict(cold_cpu(first) <= 5)}** (the slowest first call "
                     f"{cold_cpu(first):.2f} s of compiler CPU time, {first['what']} in an empty cache; it scales "
                     "with the machine's single-core speed)")
    return "Goals (issue 13): " + "; ".join(parts) + "."


def shape_table(rows) -> str:
    lines = ["| op | dtype | shape | class | checkerlab ms | torch ms | ratio | GFLOP/s |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['op']} | {r['dtype']} | {r['label']} | {r['cls']} | {r['ours_ms']:.4f} | "
                     f"{r['torch_ms']:.4f} | {r['ratio']:.2f} | {r['gflops']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds per shape")
    ap.add_argument("--quick", action="store_true", help="every 7th shape, no compile figures, no docs")
    args = ap.parse_args()
    import torch  # the baseline: `make bench` installs the torch extra

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    load_before, started = load(), time.perf_counter()
    peaks = {"float32": blas_peak(np.float32), "float64": blas_peak(np.float64)}
    time.sleep(BLAS_SETTLE_S)
    overhead = per_call_overhead(torch, args.rounds * 3)
    result = measure(args, torch)
    bare = pointwise_peak(torch, args.rounds * 2)
    peaks = {"float32": max(peaks["float32"], blas_peak(np.float32)),
             "float64": max(peaks["float64"], blas_peak(np.float64))}
    compiled = [] if args.quick else compile_figures()
    rows = result["rows"]
    cmd = "`.venv/bin/python benchmarks/bench_kernels.py`" + (" --quick" if args.quick else "")
    md = [f"## Kernels against PyTorch\n\n{cmd} ({time.perf_counter() - started:.0f} s; {machine()}; "
          f"{args.threads} threads for both, numba.set_num_threads and torch.set_num_threads; load average "
          f"{load_before} before, {load()} after).",
          "",
          "Each shape is timed in the same run as torch, interleaved (rounds alternating the two with a "
          f"{1e3 * PAUSE_S:.0f} ms pause at each switch, so that one library's spinning threads do not slow the "
          f"other, then {SETTLE} untimed calls of the library whose turn it is, so that its own threads and data "
          "are back from the pause; the best single call of each; see `timing.interleaved_best_ms`), after "
          "checking that both "
          "agree (float32 within 1e-4, "
          "float64 within 1e-10 of the largest |output|). Ratio = checkerlab time / torch time, below 1 is "
          "faster. The grid (`grid()` in the script): channels 1-128 (depthwise 3-128, groups = C), spatial 8-256, "
          "(kernel, stride) in (1,1), (3,1), (3,2), (4,2) or (5,1), (5,3), batch cycling 1, 2, 4, shapes up to "
          f"{MAX_WORK:,} multiply-adds. Classes: tiny <= 2^16 multiply-adds, tool <= 8 channels at >= 128 px, "
          "net >= 32 channels, mid the rest.",
          "",
          summary_tables(rows, peaks, bare),
          "",
          "Per-call overhead (float32, 100 calls per timing, best of interleaved rounds):",
          "",
          "| call | checkerlab us | torch us | ratio |",
          "|---|---:|---:|---:|",
          *[f"| {o['name']} | {o['ours_us']:.1f} | {o['torch_us']:.1f} | {o['ratio']:.2f} |" for o in overhead],
          ""]
    goal_line = goals(rows, peaks, overhead, compiled)
    if compiled:
        md += ["Compilation (seconds; the calls in order in a fresh process with an empty cache, so each compiles "
               "only what the calls before it did not; each call alone in a fresh process with an empty cache of "
               "its own, the first call of a session that starts with it; then all in a second process on the "
               "cache; each op is compiled on its first call, per dtype, and cached on disk; CPU time is the "
               "compiler's own work, wall time also counts other processes on the machine):", "",
               "| first call of | in order: wall | in order: CPU | alone: CPU | second process, wall |",
               "|---|---:|---:|---:|---:|",
               *[f"| {c['what']} | {c['first']:.2f} | {c['first_cpu']:.2f} | {cold_cpu(c):.2f} | {c['second']:.2f} |"
                 for c in compiled],
               ""]
    md += ["How: four routes, chosen per shape (`conv._register_route`, `conv._simd_pays`, `conv._streams` and "
           "`conv._lowers`; their docstrings give the measured crossovers). Dense convolutions run on "
           "register-blocked direct kernels (`kernels/direct.py`) written with explicit SIMD vectors "
           "(`kernels/simd.py`: a Numba vector type of 64 bytes, 16 float32 or 8 float64 lanes, and "
           "load/broadcast/FMA/masked-store/scatter intrinsics), in one of two layouts: unit-stride ops and "
           "conv2d of stride 2-3 on rows of 8+ outputs hold 4 output channels x 4 vectors of output positions in "
           "16 registers for the whole reduction over input channels and taps (each band of output rows stages "
           "its input in L2, de-interleaving the stride phases with masked shuffles, and the activation runs on "
           "the band's rows); "
           "narrow, stride-3 and strided transposed ops with 32+ output channels hold 2 vectors of output "
           "channels x 8 positions (inputs broadcast, results scattered into NCHW, so any width, stride or "
           "transposed output phase fills the lanes). Depthwise conv2d (and a one-channel dense conv2d, the same "
           "op) has its own register tiles (8 vectors of one channel's outputs), and pointwise ops with up to 128 "
           "channels theirs (`kernels/pointwise.py`: 4 channels x 4 vectors over chunks of the flat plane, no "
           "staging). The direct kernel "
           "(`kernels/gather.py`) serves grouped convs with few channels per group and small or strided "
           "transposed ops with few channels: a transposed convolution runs per output phase (polyphase: no "
           "multiply on inserted zeros), and each pass adds 4 taps to 4 output channels in an L1 accumulator, on "
           "explicit vectors; each op compiles a kernel of its own (`gather._gather_for`), with only the staging "
           "and store that op runs, so that a first call compiles less. "
           "The remaining dense convolutions with 16+ output channels per group are lowered to matrix products "
           "(`gemm.Lowering`: im2col blocks of at most 2 MB, one BLAS product each, as jobs of the kernels' "
           "work-stealing pool with OpenBLAS held to one thread meanwhile, `threads.serial_blas`), and pointwise "
           "ops with more channels (and kernel == stride transposed ops) are BLAS products. The kernels' jobs are "
           "claimed by atomic adds on 2 threads (`kernels/threads.py`); the caller's kernel wakes its helper once "
           "it runs native code, so that neither waits for the GIL, and a helper that wakes from its queue too "
           "late for a call is moved off the caller's CPU (after idle the OS had often queued it there, behind "
           "the caller). Where torch still wins: dense convolutions at "
           "32-128 channels, where oneDNN's JIT-generated AVX-512 kernels ran at 150-160 GF/s per core against "
           "80-120 for ours on the Intel Xeon of the earlier runs (128 channels on 8x8 images: our inner loop runs "
           "at 75-80% of the FMA peak, but the weights, 0.6-1.6 MB, are repacked on every call, 0.05-0.15 ms), "
           "and pointwise convolutions with 128+ channels.", "",
           goal_line, "",
           "The figure below (benchmarks/plot.py) shows every shape.", "",
           "<details><summary>Every shape</summary>", "", shape_table(rows), "", "</details>"]
    text = "\n".join(md)
    print(text)
    if not args.quick:
        write_section("bench_kernels", text)
        RESULTS.mkdir(exist_ok=True)
        data = dict(rows=rows, peaks=peaks, overhead=overhead, bare=bare, compile=compiled, threads=args.threads,
                    load=load_before)
        (RESULTS / "bench_kernels.json").write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
