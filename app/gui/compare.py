"""A/B compare, Qt-free: a second stack B run on the same input and settings as the document's stack A, and
the readout of their differences (exact pattern and simulated artifact metrics of the whole stacks).

B keeps its own layers only: its input size, channels and simulation settings are A's, so the two outputs
answer the same question (e.g. ConvTranspose2d versus resize-convolution on one image).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...analytics import Config, Stack
from .compute import AnalyticResult, SimulationResult, analyze, exact_str, mean_se, simulate


@dataclass(eq=False)
class CompareResult:
    """B's exact analysis and simulation, for `config` (B's stack with A's input size and settings)."""

    config: Config
    analytic: AnalyticResult
    simulation: SimulationResult


def b_config(b_stack: Stack, a_config: Config) -> Config:
    """B's stack with A's input size and simulation settings (CheckerlabError if B cannot take that input)."""
    config = Config(b_stack, a_config.input_size, a_config.simulation)
    b_stack.shapes((config.simulation.in_channels, *config.input_size))  # validates before any work
    return config


def run_b(config: Config, image, progress=None, cancel=None, threads: int | None = None) -> CompareResult:
    """B's exact analysis and simulation (what the compute worker runs for the compare tab)."""
    return CompareResult(config, analyze(config), simulate(config, image, progress, cancel, threads))


def _pattern_text(a: AnalyticResult) -> tuple[str, str, str]:
    p = a.pattern
    verdict = "holes" if p.has_holes else "even" if p.is_even else "uneven"
    contrast = "∞" if p.has_holes else exact_str(p.contrast)
    return "{}×{}".format(*p.period), contrast, verdict


def _ratio(a, b) -> str:
    """'× r' with r = b / a exactly, or '—' with a hole on either side."""
    if float("inf") in (a, b):
        return "—"
    r = Fraction(b) / Fraction(a)
    return f"× {exact_str(r)}" + ("" if r.denominator == 1 else f" ≈ {float(r):.3g}")


def _energy(a: AnalyticResult) -> float:
    return a.layer_exact[-1].energy if a.layer_exact and a.layer_exact[-1] is not None else float("nan")


def _stat(values: np.ndarray) -> tuple[str, float]:
    mean, se, n = mean_se(values)
    if n == 0:
        return "—", float("nan")
    return (f"{mean:.3g}" if se is None else f"{mean:.3g} ± {se:.2g}"), mean


def _difference(a: float, b: float, digits: int = 3) -> str:
    return "—" if not (np.isfinite(a) and np.isfinite(b)) else f"{b - a:+.{digits}g}"


def normalised_map_difference(a: np.ndarray, b: np.ndarray) -> float | None:
    """max |A / mean A − B / mean B| of two exact maps of the same shape (None when the shapes differ):
    0 when B paints the same relative pattern as A."""
    if a.shape != b.shape:
        return None
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a / a.mean() - b / b.mean())))


def readout(a: AnalyticResult, a_sim: SimulationResult, b: CompareResult) -> list[tuple[str, str, str, str]]:
    """Rows (quantity, A, B, B vs A) of the whole stacks; the map difference is
    `normalised_map_difference` of the exact maps."""
    (pa, ca, va), (pb, cb, vb) = _pattern_text(a), _pattern_text(b.analytic)
    ea, eb = _energy(a), _energy(b.analytic)
    sa, sb = a.shapes[-1], b.analytic.shapes[-1]
    rows = [
        ("output", "{1}×{2}×{0}".format(*sa), "{1}×{2}×{0}".format(*sb), "same" if sa == sb else "differ"),
        ("exact period", pa, pb, "same" if pa == pb else "differ"),
        ("exact contrast", ca, cb, _ratio(a.pattern.contrast, b.analytic.pattern.contrast)),
        ("pattern", va, vb, "same" if va == vb else "differ"),
        ("exact energy", f"{ea:.3g}", f"{eb:.3g}", _difference(ea, eb)),
    ]
    ma, mb = a_sim.monte_carlo, b.simulation.monte_carlo
    for name, get in (("sim. energy", lambda m: m.artifact_energy[:, -1]),
                      ("sim. modulation", lambda m: m.modulation[:, -1])):
        (ta, xa), (tb, xb) = _stat(get(ma)), _stat(get(mb))
        rows.append((name, ta, tb, _difference(xa, xb)))
    gap = normalised_map_difference(a.exact_map, b.analytic.exact_map)
    rows.append(("map difference", "", "",
                 "different sizes" if gap is None else f"{gap:.3g}"))
    return rows
