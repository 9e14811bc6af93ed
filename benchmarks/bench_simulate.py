"""Benchmark the simulation (issue 4, item 6).

- The default network: (ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8),
  ReLU()) * 4, 3 -> 8 channels, 32x32 -> 512x512, float32. Goal: <= 100 ms warm for one simulation,
  including the per-layer artifact metrics. Baseline timed in the same run: the same network rebuilt in
  PyTorch from `.params` (CPU, 2 threads), when torch is installed; its output is checked against ours.
- Monte Carlo throughput (ms per draw) and every preset as the GUI runs it (`simulate_settings`).

Run: .venv/bin/python benchmarks/bench_simulate.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import machine, median_ms  # noqa: E402

from checkerlab.analytics import Stack, make_input  # noqa: E402
from checkerlab.analytics.presets import PRESETS  # noqa: E402
from checkerlab.analytics.simulation import layer_metrics, monte_carlo, simulate, simulate_settings  # noqa: E402

SPEC = "(ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8), ReLU()) * 4"
INPUT = (32, 32)
GOAL_MS = 100.0


def torch_forward(stack: Stack, params, x: np.ndarray):
    """The same network in PyTorch, built from the stack and `.params` only; returns a callable."""
    import torch
    layers = []
    c = x.shape[0]
    for layer, p in zip(stack, params, strict=True):
        if p is None:
            layers.append(torch.nn.ReLU())
            continue
        w, b = p
        m = torch.nn.ConvTranspose2d(c, layer.out_channels_for(c), layer.kernel_size, layer.stride,
                                     layer.padding, layer.output_padding, layer.groups, b is not None,
                                     layer.dilation)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(w))
            m.bias.copy_(torch.from_numpy(b))
        layers.append(m)
        c = layer.out_channels_for(c)
    net = torch.nn.Sequential(*layers)
    xt = torch.from_numpy(x)[None]

    def run():
        with torch.no_grad():
            return net(xt)[0].numpy()
    return run


def main() -> None:
    stack = Stack(SPEC)
    x = make_input("natural", INPUT, channels=3, seed=0)
    print(f"machine: {machine()}\n")
    t = time.perf_counter()
    sim = simulate(stack, x, bias="random")
    cold = (time.perf_counter() - t) * 1e3
    out = sim.output.shape
    print(f"default network: `{SPEC}`, {x.shape[0]}x{INPUT[0]}x{INPUT[1]} -> "
          f"{out[0]}x{out[1]}x{out[2]}, float32")

    forward = median_ms(lambda: simulate(stack, x, bias="random"), repeat=21, warmup=3)
    metrics = median_ms(lambda: layer_metrics(stack, INPUT, sim.activations), repeat=21, warmup=1)
    both = median_ms(lambda: simulate(stack, x, bias="random").metrics, repeat=21, warmup=1)
    rows = [("simulate (forward, 8 layers)", forward), ("per-layer metrics (8 layers)", metrics),
            ("simulate + metrics", both)]
    base, base_name = forward, "simulate"
    try:
        import torch
        torch.set_num_threads(2)
        run = torch_forward(stack, sim.params, x)
        np.testing.assert_allclose(run(), sim.output, rtol=1e-4, atol=1e-5 * float(np.abs(sim.output).max()))
        base, base_name = median_ms(run, repeat=21, warmup=3), "torch"
        rows.append(("torch CPU forward from `.params` (baseline, 2 threads)", base))
    except ImportError:
        pass

    print(f"\nfirst call in this process (kernels loaded from Numba's cache): {cold:.0f} ms")
    print(f"\n| what | median ms | ratio to {base_name} |\n|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / base:.2f} |")
    verdict = "PASS" if both <= GOAL_MS else "FAIL"
    print(f"\ngoal: simulate + metrics <= {GOAL_MS:.0f} ms warm: {both:.1f} ms, {verdict}")

    draws = 16
    mc = median_ms(lambda: monte_carlo(stack, x, draws=draws, bias="random"), repeat=3, warmup=0)
    print(f"\nmonte_carlo, {draws} draws: {mc:.0f} ms, {mc / draws:.1f} ms per draw")

    print("\n| preset | input | output | draws | simulate_settings ms | ms per draw |")
    print("|---|---|---|---:|---:|---:|")
    for key, preset in PRESETS.items():
        cfg = preset.config
        settings = cfg.simulation
        if settings.input == "image":  # needs a decoded file; no preset uses one
            continue
        shape = cfg.stack.shapes((settings.in_channels, *cfg.input_size))[-1]
        simulate_settings(cfg.stack, cfg.input_size, settings)  # warm-up: new kernel variants compile here
        ms = median_ms(lambda cfg=cfg, s=settings: simulate_settings(cfg.stack, cfg.input_size, s), repeat=5)
        print(f"| {key} | {settings.in_channels}x{cfg.input_size[0]}x{cfg.input_size[1]} | "
              f"{shape[0]}x{shape[1]}x{shape[2]} | {settings.draws} | {ms:.1f} | {ms / settings.draws:.1f} |")


if __name__ == "__main__":
    main()
