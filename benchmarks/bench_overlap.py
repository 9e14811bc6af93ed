"""Benchmark the exact overlap engine; writes the `bench_overlap` section of docs/performance.md.

- overlap_map of a 6-layer stack to a 1024x1024 output against a brute-force baseline timed in the same run:
  PyTorch's conv_transpose2d chain on an all-ones input when torch is installed, else a vectorized NumPy
  scatter-add (tap by tap, in 2D). Goal: >= 20x faster.
- overlap_pattern of typical stacks. Goal: <= 5 ms.
- Exact paths that scale (issue 13 item 2), each goal <= 1 s and exact:
  * the pattern and full JSON export of `ConvTranspose2d(3, stride=2) * n` against depth n, next to the
    previous O(P^2) export (every cell of the tile, the artifact listing over the whole P x P plane) in the
    same run, where that finishes;
  * a 6-deep bilinear chain to a 4096x4096 exact map (integer numerators over one power-of-two
    denominator), against PyTorch's float64 chain and the previous Fraction-per-pixel conversion.

Run: .venv/bin/python benchmarks/bench_overlap.py
"""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import machine, median_ms, write_section  # noqa: E402

from checkerlab.analytics import ConvTranspose2d, Stack, Upsample, overlap_map, overlap_pattern  # noqa: E402
from checkerlab.analytics.metrics import analytic_energy  # noqa: E402
from checkerlab.analytics.presentation.data import to_dict  # noqa: E402

STACK = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, "
              "ConvTranspose2d(4, stride=2, padding=1) * 2, ConvTranspose2d(5, stride=2, padding=2, output_padding=1)")
INPUT = (16, 16)
PATTERN_STACKS = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()",
    "ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)",
    "Upsample(2, mode='bilinear'), Conv2d(3, padding=1), ConvTranspose2d(5, stride=3) * 2",
    str(STACK),
]
DEPTHS = (2, 4, 6, 8, 10, 12)
#: The O(P^2) export runs up to this depth (P = 2^8: 65,536 cells); beyond it takes minutes (issue 13).
OLD_EXPORT_MAX_DEPTH = 8
BILINEAR = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1), Upsample(2, mode='bilinear') * 6")
BILINEAR_INPUT = (32, 32)


def torch_chain(stack: Stack, size):
    import torch
    x = torch.ones(1, 1, *size, dtype=torch.float64)
    for layer in stack:
        if isinstance(layer, Upsample):
            x = torch.nn.functional.interpolate(x, scale_factor=layer.scale_factor, mode=layer.mode,
                                                align_corners=False)
            continue
        w = torch.ones(1, 1, *layer.kernel_size, dtype=torch.float64)
        x = torch.nn.functional.conv_transpose2d(x, w, stride=layer.stride, padding=layer.padding,
                                                 output_padding=layer.output_padding, dilation=layer.dilation)
    return x[0, 0].numpy()


def numpy_chain(stack: Stack, size):
    """y[i*s + a*d - p, j*s + b*d - p] += x[i, j] for every tap (a, b): the 2D definition, vectorized per tap."""
    x = np.ones(size, dtype=np.int64)
    for layer in stack:
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        (oph, opw), (dh, dw) = layer.output_padding, layer.dilation
        h, w = x.shape
        oh, ow = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1, (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
        full = np.zeros((oh + 2 * ph + sh * 0 + dh * kh, ow + 2 * pw + dw * kw), dtype=np.int64)
        for a in range(kh):
            for b in range(kw):
                full[a * dh: a * dh + (h - 1) * sh + 1: sh, b * dw: b * dw + (w - 1) * sw + 1: sw] += x
        x = full[ph: ph + oh, pw: pw + ow]
    return x


def new_export(spec: str) -> str:
    """The pattern and its full JSON export, as `checkerlab analyze --json` builds them."""
    pattern = overlap_pattern(spec, input_size=(32, 32))
    return json.dumps({**to_dict(pattern), "artifact_energy": analytic_energy(pattern)})


def old_export(spec: str) -> str:
    """The previous export: every cell of the P x P tile, the artifact listing over the whole P x P plane
    (a Python loop and a sort), and the energy as a mean over all cells in Fractions."""
    pattern = overlap_pattern(spec, input_size=(32, 32))
    tile = pattern.tile
    rel = np.multiply.outer(pattern.axes[0].spectrum, pattern.axes[1].spectrum)
    ph, pw = rel.shape

    def signed(m, p):
        f = Fraction(m, p)
        return f - 1 if f > Fraction(1, 2) else f

    found = []
    for m1 in range(ph):
        for m2 in range(pw):
            fy, fx = signed(m1, ph), signed(m2, pw)
            if (m1, m2) == (0, 0) or rel[m1, m2] == 0 or fy < 0 or (fy in (0, Fraction(1, 2)) and fx < 0):
                continue
            found.append((fy, fx, float(rel[m1, m2])))
    found.sort(key=lambda f: (-f[2], f[0], f[1]))
    values = [Fraction(int(v)) for v in tile.ravel()]
    mean = sum(values, Fraction(0)) / len(values)
    mean_sq = sum((v * v for v in values), Fraction(0)) / len(values)
    return json.dumps({"tile": tile.tolist(), "profiles": [a.tile.tolist() for a in pattern.axes],
                       "artifact_frequencies": [{"fy": str(a), "fx": str(b), "amplitude": round(c, 12)}
                                                for a, b, c in found],
                       "artifact_energy": float(1 - mean * mean / mean_sq)})


def interleaved(fns: dict, repeat: int) -> dict:
    """Median ms of each function, timed in alternation (one call of each per round)."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(median_ms(fn, repeat=1, warmup=0))
    return {name: float(np.median(t)) for name, t in times.items()}


def fraction_map(stack: Stack, size):
    """The previous rational map: a Fraction object per pixel from the exact numerators."""
    m = overlap_map(stack, size)
    den = m.denominator
    return np.array([Fraction(int(v), den) for v in m.numerators.ravel()], dtype=object).reshape(m.shape)


def main() -> None:
    lines = []

    def out(text=""):
        print(text)
        lines.append(text)

    assert all(isinstance(layer, ConvTranspose2d) for layer in STACK)
    load = os.getloadavg()[0]
    out("## Overlap analytics\n")
    out(f"`.venv/bin/python benchmarks/bench_overlap.py` ({machine()}; 1-minute load average {load:.2f}). "
        "Medians after a warm-up; every baseline is timed in the same run and checked to give the same "
        "numbers.\n")
    exact = overlap_map(STACK, INPUT)
    out(f"`overlap_map` of a {len(STACK)}-layer stack, {INPUT[0]}x{INPUT[1]} -> {exact.shape[0]}x{exact.shape[1]} "
        f"(`{STACK}`):\n")
    ours = median_ms(lambda: overlap_map(STACK, INPUT), repeat=15)
    try:
        import torch
        torch.set_num_threads(2)
        assert np.array_equal(torch_chain(STACK, INPUT), exact)
        name, base = "PyTorch `conv_transpose2d` chain, float64 (the baseline)", \
            median_ms(lambda: torch_chain(STACK, INPUT), repeat=15)
    except ImportError:
        name, base = None, None
    ref = numpy_chain(STACK, INPUT)
    assert np.array_equal(ref, exact)
    numpy_ms = median_ms(lambda: numpy_chain(STACK, INPUT), repeat=5)
    out("| what | median ms | ratio to overlap_map |")
    out("|---|---:|---:|")
    out(f"| `overlap_map` (exact int64) | {ours:.2f} | 1.0 |")
    if name:
        out(f"| {name} | {base:.2f} | **{base / ours:.1f}x** |")
    out(f"| NumPy 2D scatter-add, vectorized per tap | {numpy_ms:.2f} | {numpy_ms / ours:.1f}x |")
    out("\nGoal (issue 2): >= 20x faster than the brute force.\n")

    out("`overlap_pattern` (period, tile, edges, spectrum; medians of 21):\n")
    out("| stack | period | median ms |")
    out("|---|---|---:|")
    for spec in PATTERN_STACKS:
        p = overlap_pattern(spec)
        ms = median_ms(lambda spec=spec: overlap_pattern(spec), repeat=21)
        out(f"| `{spec}` | {p.period[0]}x{p.period[1]} | {ms:.2f} |")
    out("\nGoal: <= 5 ms.\n")

    out("### Exact paths that scale (issue 13)\n")
    out("Pattern plus full JSON export of `ConvTranspose2d(3, stride=2) * n` (as `checkerlab analyze --json`: "
        "profiles, the tile up to 65,536 cells, every artifact counted and the strongest 1,024 listed, the "
        "exact energy), against the previous export (every tile cell, the listing over the whole P x P "
        "plane, the energy as a Fraction mean over all cells), interleaved, medians of 5:\n")
    out("| depth n | period P | new ms | previous ms | ratio |")
    out("|---:|---:|---:|---:|---:|")
    for depth in DEPTHS:
        spec = f"ConvTranspose2d(3, stride=2) * {depth}"
        p = overlap_pattern(spec)
        fns = {"new": lambda spec=spec: new_export(spec)}
        if depth <= OLD_EXPORT_MAX_DEPTH:
            fns["old"] = lambda spec=spec: old_export(spec)
            new, old = json.loads(new_export(spec)), json.loads(old_export(spec))
            assert new["artifact_energy"] == old["artifact_energy"]
            assert new["artifact_frequencies"] == old["artifact_frequencies"][:1024]
            assert new["artifact_count"] == len(old["artifact_frequencies"])
        t = interleaved(fns, repeat=5)
        prev = f"{t['old']:.1f} | {t['old'] / t['new']:.0f}x" if "old" in t else "not run (O(P^2)) | -"
        out(f"| {depth} | {p.period[0]} | {t['new']:.1f} | {prev} |")
    out("\nGoal: depth 12 (P = 4096) in <= 1 s: the cost is O(layers * P) for the pattern and O((P + K) log P) "
        "for the listing, linear in P where the previous export was O(P^2) (issue 13 measured 13.6 s at "
        "depth 10 and 222 s / 5.6 GB at depth 12).\n")

    m = overlap_map(BILINEAR, BILINEAR_INPUT)
    out(f"A 6-deep bilinear chain to a {m.shape[0]}x{m.shape[1]} exact map (`{BILINEAR}` from "
        f"{BILINEAR_INPUT[0]}x{BILINEAR_INPUT[1]}; int64 numerators over the common denominator "
        f"{m.denominator} = 2^{m.denominator.bit_length() - 1}), interleaved, medians of 5:\n")
    fns = {"new": lambda: overlap_map(BILINEAR, BILINEAR_INPUT)}
    try:
        ref = torch_chain(BILINEAR, BILINEAR_INPUT)
        np.testing.assert_allclose(np.asarray(m), ref, rtol=1e-13)
        fns["torch"] = lambda: torch_chain(BILINEAR, BILINEAR_INPUT)
    except ImportError:
        pass
    t = interleaved(fns, repeat=5)
    small = (8, 8)
    assert np.array_equal(overlap_map(BILINEAR, small).to_fractions(), fraction_map(BILINEAR, small))
    frac = interleaved({"new": lambda: overlap_map(BILINEAR, small), "old": lambda: fraction_map(BILINEAR, small)},
                       repeat=3)
    out("| what | median ms | ratio to overlap_map |")
    out("|---|---:|---:|")
    out(f"| `overlap_map`, exact `RationalArray`, {m.shape[0]}^2 | {t['new']:.0f} | 1.0 |")
    if "torch" in t:
        out(f"| PyTorch float64 chain (`conv_transpose2d`, `interpolate`), {m.shape[0]}^2, not exact | "
            f"{t['torch']:.0f} | {t['torch'] / t['new']:.2f}x |")
    side = overlap_map(BILINEAR, small).shape[0]
    out(f"| previous: a Fraction per pixel, {side}^2 only | {frac['old']:.0f} (`overlap_map`: {frac['new']:.0f}) | "
        f"{frac['old'] / frac['new']:.0f}x |")
    out("\nGoal: <= 1 s and exact: O(H W) int64 work (two exact 1D profiles and one outer product); a single "
        "element is an exact Fraction on access.")
    write_section("bench_overlap", "\n".join(lines))


if __name__ == "__main__":
    main()
