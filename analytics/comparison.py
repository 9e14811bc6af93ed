"""The exact vs simulated comparison, layer by layer: one model that the CLI and the GUI both render.

For every layer i of a config: the output shape (C, H, W); the exact interior pattern of the stack up to that
layer (the all-ones network: period, contrast max/min, artifact energy 1 - mean^2/mean(tile^2)); and, once a
Monte Carlo run exists, the simulated metrics of the same layer: the generic period of the first draw and the
mean and std over draws of contrast, modulation and artifact energy (`simulation.LayerStats`). The exact half
is there before the simulation runs, so a view can show it first. Cost: one exact pattern per prefix
(`metrics.layer_patterns`, cached) and O(L) besides.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .errors import CheckerlabError
from .layers import Layer
from .metrics import analytic_energy, layer_patterns
from .overlap import OverlapPattern
from .simulation import LayerStats, MonteCarlo


@dataclass(frozen=True, eq=False)
class LayerComparison:
    """One layer: its output shape, the exact pattern of the stack up to it (None when that prefix has no
    periodic interior) with its artifact energy, and the simulated statistics (None before a run)."""

    index: int
    layer: Layer
    shape: tuple[int, int, int]
    pattern: OverlapPattern | None
    exact_energy: float | None
    simulated_period: tuple[int, int] | None
    stats: LayerStats | None


@dataclass(frozen=True, eq=False)
class Comparison:
    """`compare(config, monte_carlo)`: per layer, exact next to simulated; `draws` is 0 without a run."""

    config: Config
    layers: tuple[LayerComparison, ...]
    draws: int
    output_shape: tuple[int, int, int]

    @property
    def simulated(self) -> bool:
        return self.draws > 0


def compare(config: Config, monte_carlo: MonteCarlo | None = None) -> Comparison:
    """The per-layer comparison of `config`'s exact patterns with a Monte Carlo run of the same config
    (`simulation.simulate_settings`); without one, only the exact half."""
    stack = config.stack
    shapes = stack.shapes((config.simulation.in_channels, *config.input_size))
    try:
        patterns = list(layer_patterns(stack))
    except CheckerlabError:  # a prefix without a periodic interior: no exact column for this stack
        patterns = [None] * len(stack)
    if monte_carlo is not None and monte_carlo.stack != stack:
        raise CheckerlabError("compare: the Monte Carlo run is of another stack than the config's")
    rows = []
    for i, (layer, pattern) in enumerate(zip(stack, patterns, strict=True)):
        energy = analytic_energy(pattern) if pattern is not None else None
        period, stats = None, None
        if monte_carlo is not None:
            metrics = monte_carlo.first.metrics[i]
            period = metrics.period if metrics is not None else None
            stats = monte_carlo.layers[i]
        rows.append(LayerComparison(i, layer, shapes[i + 1], pattern, energy, period, stats))
    draws = monte_carlo.draws if monte_carlo is not None else 0
    return Comparison(config, tuple(rows), draws, shapes[-1])
