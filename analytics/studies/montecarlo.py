"""Monte Carlo that reproduces: one seed per draw, reduction in draw order, every number with its standard error.

Draw d (0-based) takes its randomness from the d-th child of `np.random.SeedSequence(seed).spawn(draws)`, so
what it computes depends only on (seed, d): not on the worker that runs it, how the draws are split into
tasks, or the order in which they finish. The per-draw values are then stacked in draw order and reduced:

    mean = (1/n) sum_d v_d,    stderr = s / sqrt(n),    s^2 = (1/(n-1)) sum_d (v_d - mean)^2,

and a ratio of means R = mean(a) / mean(b) gets the delta-method error sqrt(var(a - R b) / n) / |mean(b)|.
The same seed therefore gives bit-identical numbers on any number of workers (on one machine type: Numba
compiles for the host CPU, so a cluster of mixed CPUs may differ in the last bits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CheckerlabError
from ..sweep import sweep

#: Most draws one study accepts: every per-draw value is kept until the reduction (brightness: 66 floats a
#: draw, 53 MB at the maximum), and the standard error is already sigma / 316 there.
MAX_DRAWS = 100_000


def check_seed(seed: Any) -> int:
    """`seed` as an int in 0 .. 2^64 - 1 (what SeedSequence takes)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 1 << 64:
        raise CheckerlabError(f"seed={seed!r} must be an integer in 0..2^64-1")
    return int(seed)


def check_draws(draws: Any) -> int:
    """`draws` as an int in 2 .. MAX_DRAWS (a standard error needs at least two draws)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 2 <= draws <= MAX_DRAWS:
        raise CheckerlabError(f"draws={draws!r} must be an integer in 2..{MAX_DRAWS:,} "
                              "(a standard error needs two draws)")
    return int(draws)


def draw_seeds(seed: int, draws: int) -> list[np.random.SeedSequence]:
    """The seed of every draw: the children of SeedSequence(seed), in draw order."""
    return np.random.SeedSequence(check_seed(seed)).spawn(check_draws(draws))


def run_draws(draw: Callable[[np.random.SeedSequence], np.ndarray], seed: int, draws: int, executor: Any = None,
              *, workers: int | None = None, progress=None, cancel=None) -> np.ndarray:
    """(draws, ...) float64: draw(seed_d) for every draw, stacked in draw order (run with `sweep`)."""
    values = sweep(draw_seeds(seed, draws), draw, executor, workers=workers, progress=progress, cancel=cancel)
    return np.stack([np.asarray(v, dtype=np.float64) for v in values])


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean and its standard error over `draws` draws."""

    mean: float
    stderr: float
    draws: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.stderr:.2g}"


def estimate(values: np.ndarray) -> Estimate:
    """Mean and standard error s/sqrt(n) of 1D per-draw values (sample std, ddof=1)."""
    v = np.asarray(values, dtype=np.float64)
    return Estimate(float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)), int(v.size))


def ratio_estimate(a: np.ndarray, b: np.ndarray) -> Estimate:
    """R = mean(a) / mean(b) with the delta-method standard error sqrt(var(a - R b) / n) / |mean(b)|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    r = float(a.mean() / b.mean())
    return Estimate(r, float((a - r * b).std(ddof=1) / np.sqrt(a.size) / abs(b.mean())), int(a.size))


def child_rng(seed: np.random.SeedSequence, stream: int) -> np.random.Generator:
    """An independent generator for one purpose (`stream`) of a draw, e.g. 0: weights, 1: the image."""
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, stream)))
