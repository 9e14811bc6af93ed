"""Benchmark the exact overlap engine.

- overlap_map of a 6-layer stack to a 1024x1024 output against a brute-force baseline timed in the same run:
  PyTorch's conv_transpose2d chain on an all-ones input when torch is installed, else a vectorized NumPy
  scatter-add (tap by tap, in 2D). Goal: >= 20x faster.
- overlap_pattern of typical stacks. Goal: <= 5 ms.

Run: .venv/bin/python benchmarks/bench_overlap.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import machine, median_ms  # noqa: E402

from checkerlab.analytics import ConvTranspose2d, Stack, overlap_map, overlap_pattern  # noqa: E402

STACK = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, "
              "ConvTranspose2d(4, stride=2, padding=1) * 2, ConvTranspose2d(5, stride=2, padding=2, output_padding=1)")
INPUT = (16, 16)
PATTERN_STACKS = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()",
    "ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)",
    "Upsample(2, mode='bilinear'), Conv2d(3, padding=1), ConvTranspose2d(5, stride=3) * 2",
    str(STACK),
]


def torch_chain(stack: Stack, size):
    import torch
    x = torch.ones(1, 1, *size, dtype=torch.float64)
    for layer in stack:
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


def main() -> None:
    assert all(isinstance(layer, ConvTranspose2d) for layer in STACK)
    exact = overlap_map(STACK, INPUT)
    print(f"machine: {machine()}\n")
    print(f"overlap_map: {len(STACK)} layers, {INPUT[0]}x{INPUT[1]} -> {exact.shape[0]}x{exact.shape[1]}")
    ours = median_ms(lambda: overlap_map(STACK, INPUT), repeat=15)
    try:
        import torch
        torch.set_num_threads(2)
        assert np.array_equal(torch_chain(STACK, INPUT), exact)
        name, base = "torch conv_transpose2d chain (float64)", median_ms(lambda: torch_chain(STACK, INPUT), repeat=15)
    except ImportError:
        name, base = "NumPy scatter-add reference", None
    ref = numpy_chain(STACK, INPUT)
    assert np.array_equal(ref, exact)
    numpy_ms = median_ms(lambda: numpy_chain(STACK, INPUT), repeat=5)
    base = numpy_ms if base is None else base
    print("\n| what | median ms | ratio to overlap_map |")
    print("|---|---:|---:|")
    print(f"| overlap_map (exact int64) | {ours:.2f} | 1.0 |")
    print(f"| {name} | {base:.2f} | {base / ours:.1f}x |")
    print(f"| NumPy 2D scatter-add reference | {numpy_ms:.2f} | {numpy_ms / ours:.1f}x |")
    print("\n| overlap_pattern stack | period | median ms |")
    print("|---|---|---:|")
    for spec in PATTERN_STACKS:
        p = overlap_pattern(spec)
        ms = median_ms(lambda spec=spec: overlap_pattern(spec), repeat=21)
        print(f"| `{spec}` | {p.period[0]}x{p.period[1]} | {ms:.2f} |")


if __name__ == "__main__":
    main()
