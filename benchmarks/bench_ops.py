"""Benchmark of the padding, pooling, normalisation, resampling and attention kernels against PyTorch (issue 12).

Run: .venv/bin/python benchmarks/bench_ops.py [--threads N ...] [--rounds R] [--quick] [--no-compile]

Each op runs on decoder-like float32 shapes next to its torch.nn.functional equivalent on the same arrays,
with the same thread count on both sides (numba.set_num_threads(n) == torch.set_num_threads(n), n = 1 and
2 by default), in the same run: R rounds, each timing a block of 3 calls of one implementation then the
other (order turned every round); each side's least disturbed block (the minimum of its block medians) is
reported. Every output is checked against
torch first (float32, 1e-4 relative). upfirdn2d is compared with StyleGAN2's own CPU path, which is its
reference implementation in torch ops. Attention rows are single-head (1, 1, L, E) float32 as in a VAE mid
block, against F.scaled_dot_product_attention (its CPU flash-attention kernel); "group_norm + silu" is one
fused call against torch's two. The compile table gives the first call of each op in an empty
Numba cache (float32, then float64) and the same calls in a second process (loaded from the cache).
Rewrites the "bench_ops" section of docs/performance.md.
"""

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402

from checkerlab import kernels  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is an optional extra
    torch = None


def upfirdn2d_torch(x, f, up=1, down=1, pad=(0, 0, 0, 0)):
    """StyleGAN2's _upfirdn2d_ref (what it runs on CPU): zero insertion, pad, depthwise conv, subsample."""
    n, c, h, w = x.shape
    z = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    z[:, :, ::up, ::up] = x
    z = F.pad(z, list(pad))
    fk = f.flip(list(range(f.ndim))).to(x.dtype)
    if f.ndim == 2:
        z = F.conv2d(z, fk[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        z = F.conv2d(z, fk[None, None, None].repeat(c, 1, 1, 1), groups=c)
        z = F.conv2d(z, fk[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    return z[:, :, ::down, ::down]


def cases(quick):
    """(group, label, input shape, ours(x), torch(xt))."""
    big, net = (1, 8, 512, 512), (1, 64, 128, 128)
    blur = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 64
    blur8 = np.array([1, 7, 21, 35, 35, 21, 7, 1], np.float32) / 128
    t = torch.from_numpy if torch is not None else None
    out = []
    for shape in ([net] if quick else [big, net]):
        c = shape[1]
        g = min(32, c)
        rng = np.random.default_rng(0)
        w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
        rv = rng.uniform(0.5, 2, c).astype(np.float32)
        lw = rng.standard_normal(shape[1:]).astype(np.float32)
        out += [
            ("pad", "reflect (1, 1, 1, 1)", shape, lambda x: kernels.pad(x, (1, 1, 1, 1), "reflect"),
             lambda xt: F.pad(xt, (1, 1, 1, 1), mode="reflect")),
            ("pad", "replicate (3, 3, 3, 3)", shape, lambda x: kernels.pad(x, (3, 3, 3, 3), "replicate"),
             lambda xt: F.pad(xt, (3, 3, 3, 3), mode="replicate")),
            ("pad", "circular (1, 1, 1, 1)", shape, lambda x: kernels.pad(x, (1, 1, 1, 1), "circular"),
             lambda xt: F.pad(xt, (1, 1, 1, 1), mode="circular")),
            ("pad", "zeros (1, 1, 1, 1)", shape, lambda x: kernels.pad(x, (1, 1, 1, 1)),
             lambda xt: F.pad(xt, (1, 1, 1, 1))),
            ("pool", "avg_pool2d(2)", shape, lambda x: kernels.avg_pool2d(x, 2), lambda xt: F.avg_pool2d(xt, 2)),
            ("pool", "avg_pool2d(3, 1, 1)", shape, lambda x: kernels.avg_pool2d(x, 3, 1, 1),
             lambda xt: F.avg_pool2d(xt, 3, 1, 1)),
            ("pool", "max_pool2d(3, 2, 1)", shape, lambda x: kernels.max_pool2d(x, 3, 2, 1),
             lambda xt: F.max_pool2d(xt, 3, 2, 1)),
            ("pool", "adaptive_avg_pool2d(1) (global)", shape, lambda x: kernels.adaptive_avg_pool2d(x, 1),
             lambda xt: F.adaptive_avg_pool2d(xt, 1)),
            ("pool", "adaptive_avg_pool2d(7)", shape, lambda x: kernels.adaptive_avg_pool2d(x, 7),
             lambda xt: F.adaptive_avg_pool2d(xt, 7)),
            ("norm", "batch_norm (eval)", shape, lambda x, w=w, b=b, rv=rv: kernels.batch_norm(x, b, rv, w, b),
             lambda xt, w=w, b=b, rv=rv: F.batch_norm(xt, t(b), t(rv), t(w), t(b))),
            ("norm", "instance_norm (affine)", shape, lambda x, w=w, b=b: kernels.instance_norm(x, weight=w, bias=b),
             lambda xt, w=w, b=b: F.instance_norm(xt, weight=t(w), bias=t(b))),
            ("norm", f"group_norm({g})", shape, lambda x, g=g, w=w, b=b: kernels.group_norm(x, g, w, b),
             lambda xt, g=g, w=w, b=b: F.group_norm(xt, g, t(w), t(b))),
            ("norm", "layer_norm((C, H, W))", shape, lambda x, lw=lw: kernels.layer_norm(x, x.shape[1:], lw, lw),
             lambda xt, lw=lw: F.layer_norm(xt, xt.shape[1:], t(lw), t(lw))),
            ("norm", "channel_layer_norm", shape, lambda x, w=w, b=b: kernels.channel_layer_norm(x, w, b),
             lambda xt, c=c, w=w, b=b: F.layer_norm(xt.permute(0, 2, 3, 1), (c,), t(w), t(b)).permute(0, 3, 1, 2)),
            ("resample", "nearest x2", shape, lambda x: kernels.interpolate(x, scale_factor=2),
             lambda xt: F.interpolate(xt, scale_factor=2)),
            ("resample", "nearest-exact x1.5", shape,
             lambda x: kernels.interpolate(x, scale_factor=1.5, mode="nearest-exact"),
             lambda xt: F.interpolate(xt, scale_factor=1.5, mode="nearest-exact")),
            ("resample", "bilinear x2", shape, lambda x: kernels.interpolate(x, scale_factor=2, mode="bilinear"),
             lambda xt: F.interpolate(xt, scale_factor=2, mode="bilinear")),
            ("resample", "bilinear x2 align_corners", shape,
             lambda x: kernels.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
             lambda xt: F.interpolate(xt, scale_factor=2, mode="bilinear", align_corners=True)),
            ("resample", "bicubic x2", shape, lambda x: kernels.interpolate(x, scale_factor=2, mode="bicubic"),
             lambda xt: F.interpolate(xt, scale_factor=2, mode="bicubic")),
            ("resample", "bilinear x0.5 antialias", shape,
             lambda x: kernels.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True),
             lambda xt: F.interpolate(xt, scale_factor=0.5, mode="bilinear", antialias=True)),
            ("resample", "area x0.5", shape, lambda x: kernels.interpolate(x, scale_factor=0.5, mode="area"),
             lambda xt: F.interpolate(xt, scale_factor=0.5, mode="area")),
            ("resample", "pixel_unshuffle(2)", shape, lambda x: kernels.pixel_unshuffle(x, 2),
             lambda xt: F.pixel_unshuffle(xt, 2)),
            ("resample", "upfirdn2d up=2, 4x4 blur (StyleGAN2)", shape,
             lambda x: kernels.upfirdn2d(x, blur, up=2, padding=[2, 1, 2, 1], gain=4),
             lambda xt: upfirdn2d_torch(xt, t(blur * 4), up=2, pad=(2, 1, 2, 1))),
            ("resample", "upfirdn2d down=2, 8-tap separable", shape,
             lambda x: kernels.upfirdn2d(x, blur8, down=2, padding=3),
             lambda xt: upfirdn2d_torch(xt, t(blur8), down=2, pad=(3, 3, 3, 3))),
            ("norm", f"group_norm({g}) + silu (fused)", shape,
             lambda x, g=g, w=w, b=b: kernels.group_norm(x, g, w, b, activation="silu"),
             lambda xt, g=g, w=w, b=b: F.silu(F.group_norm(xt, g, t(w), t(b)))),
        ]
    for e in ([32] if quick else [16, 32, 64]):  # the input holds q, k and v stacked: (3, 1, L, E)
        out.append(("attention", f"sdpa 4096 tokens, E={e}", (3, 1, 4096, e),
                    lambda x: kernels.scaled_dot_product_attention(x[0:1], x[1:2], x[2:3]),
                    lambda xt: F.scaled_dot_product_attention(xt[0:1], xt[1:2], xt[2:3])))
    out.append(("attention", "sdpa causal, 2 heads, 1024 tokens, E=64", (2, 3, 1024, 64),
                lambda x: kernels.scaled_dot_product_attention(x[:, 0], x[:, 1], x[:, 2], is_causal=True),
                lambda xt: F.scaled_dot_product_attention(xt[:, 0], xt[:, 1], xt[:, 2], is_causal=True)))
    return out


def interleaved_ms(fns, rounds):
    """Each function's least disturbed block: the minimum over ``rounds`` of its block median
    (timing.median_ms of 3 calls), the blocks of the functions alternating in turned order. On these shared
    machines other processes only ever add time (a parallel call that loses a core waits a scheduler tick),
    so the least disturbed block estimates the undisturbed time of both sides alike."""
    samples = [[] for _ in fns]
    for r in range(rounds):
        for i in (range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))):
            samples[i].append(timing.median_ms(fns[i], repeat=3, warmup=0))
    return [min(s) for s in samples]


COMPILE_PROBE = r"""
import json, sys, time
import numpy as np
from checkerlab import kernels
calls = {
    "pad (reflect)": lambda x: kernels.pad(x, (1, 1, 1, 1), "reflect"),
    "avg_pool2d": lambda x: kernels.avg_pool2d(x, 2),
    "max_pool2d": lambda x: kernels.max_pool2d(x, 2),
    "group_norm": lambda x: kernels.group_norm(x, 2),
    "layer_norm": lambda x: kernels.layer_norm(x, x.shape[1:]),
    "channel_layer_norm": lambda x: kernels.channel_layer_norm(x),
    "interpolate (bilinear)": lambda x: kernels.interpolate(x, scale_factor=2, mode="bilinear"),
    "upfirdn2d (2-D filter)": lambda x: kernels.upfirdn2d(x, np.array([[1, 2], [3, 5]], np.float32), up=2),
}
out = {}
for name, call in calls.items():
    out[name] = []
    for dt in (np.float32, np.float64):
        t0 = time.perf_counter()
        call(np.ones((1, 4, 8, 8), dt))
        out[name].append(time.perf_counter() - t0)
print(json.dumps(out))
"""


def compile_figures():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        return [json.loads(subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env, cwd=ROOT, check=True,
                                          capture_output=True, text=True).stdout.strip().splitlines()[-1])
                for _ in range(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts, each for both sides")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="the 64-channel shape only")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time table")
    args = ap.parse_args()
    if torch is None:
        sys.exit("bench_ops needs the torch extra: .venv/bin/pip install -e '.[dev,torch]'")
    load = os.getloadavg()
    rows, ratios = [], {n: {} for n in args.threads}
    rng = np.random.default_rng(1)
    for group, label, shape, ours, ref in cases(args.quick):
        x = rng.standard_normal(shape).astype(np.float32)
        xt = torch.from_numpy(x)
        y, yt = ours(x), ref(xt).numpy()
        err = np.abs(y - yt).max() / max(1.0, float(np.abs(yt).max()))
        assert y.shape == yt.shape and err < 1e-4, f"{label} {shape}: differs from torch by {err}"
        cells = []
        for n in args.threads:
            numba.set_num_threads(n)
            torch.set_num_threads(n)
            t_ours, t_torch = interleaved_ms([functools.partial(ours, x), functools.partial(ref, xt)], args.rounds)
            ratios[n].setdefault(group, []).append(t_ours / t_torch)
            cells.append(f"{t_ours:.3f} | {t_torch:.3f} | {t_ours / t_torch:.2f}")
        rows.append(f"| {group} | {label} | {'x'.join(map(str, shape))} | {' | '.join(cells)} |")
        print(rows[-1], flush=True)
    cmd = "`" + " ".join([".venv/bin/python", "benchmarks/bench_ops.py", *sys.argv[1:]]) + "`"
    head = " | ".join(f"ours ms ({n}t) | torch ms ({n}t) | ratio ({n}t)" for n in args.threads)
    lines = [
        "## Padding, pooling, normalisation, resampling and attention kernels", "",
        f"{cmd} ({timing.machine()}; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after). "
        f"float32, every output checked against torch (1e-4) first; both libraries run with the same thread "
        f"count ({', '.join(map(str, args.threads))}), interleaved; each time is the least disturbed of "
        f"{args.rounds} blocks (median of 3 calls each). The ratio is checkerlab's time over torch's: below 1 "
        f"is faster. On a shared machine other jobs sometimes stall a 2-thread call of either library (a worker "
        f"waits for a core: 10-50 ms entries where one thread takes 1-2 ms); the 1-thread columns are the "
        f"steady comparison.", "",
        f"| group | op | N x C x H x W | {head} |", "|---|---|---|" + "---:|" * 3 * len(args.threads), *rows, "",
    ]
    for n in args.threads:
        lines.append(f"Geometric-mean ratio per group, {n} thread(s): " + ", ".join(
            f"{g} {math.exp(statistics.fmean(map(math.log, r))):.2f}" for g, r in ratios[n].items()) + ".")
    if not args.no_compile:
        first, second = compile_figures()
        lines += ["", "Compilation: the first call of each op in an empty Numba cache (float32, then float64, "
                  "each compiled lazily on its own first use), then the same calls in a second process that loads "
                  "them from the cache (seconds):", "",
                  "| op | first float32 | first float64 | cached float32 | cached float64 |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {k} | {v[0]:.2f} | {v[1]:.2f} | {second[k][0]:.3f} | {second[k][1]:.3f} |"
                  for k, v in first.items()]
        total = sum(sum(v) for v in first.values())
        lines += ["", f"Total first compile of all listed ops, both dtypes: {total:.1f} s (ops sharing a kernel "
                  f"compile it once)."]
    md = "\n".join(lines)
    print(md)
    timing.write_section("bench_ops", md)


if __name__ == "__main__":
    main()
