"""What the GUI computes off the UI thread, Qt-free: the exact analysis, the simulation and the formula.

Each function returns a plain result object that the views display as is; arrays that are shown are
computed here (including their spectra) so that the UI thread only hands them to pyqtgraph.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...analytics import CheckerlabError, Config, OverlapPattern, overlap_map, overlap_pattern, overlap_profiles
from ...analytics.presentation.text import exact_text


def to_float(a: np.ndarray) -> np.ndarray:
    """Exact arrays (int64 or object arrays of Fractions) as float64 for display."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype != object else np.vectorize(float, otypes=[np.float64])(a)


#: The GUI's name for analytics' one number formatter (3, 7/4).
exact_str = exact_text


SPECTRUM_FLOOR = -12.0  # log10 of the smallest amplitude kept (an exact zero would be -inf)


def log_spectrum(image: np.ndarray) -> np.ndarray:
    """log10 of |DFT| relative to the DFT's norm sqrt(sum |F|^2), fftshift-ed (zero frequency in the middle).

    Relative to the norm (Parseval: the image's energy), every value is <= 0 and a spectrum keeps its scale
    whatever its DC term: a zero-mean activation does not blow up. The image is Hann-windowed so that its
    borders do not smear energy over the whole plane; channels of a (C, H, W) array are averaged first.
    O(HW log HW)."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3:
        x = x.mean(axis=0)
    h, w = x.shape
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    f = np.abs(np.fft.fft2(x * window))
    norm = float(np.sqrt(np.sum(f * f)))
    return np.fft.fftshift(np.log10(np.maximum(f / (norm or 1.0), 10.0 ** SPECTRUM_FLOOR)))


def mean_se(values: np.ndarray) -> tuple[float, float | None, int]:
    """(mean, standard error std/sqrt(n) with ddof=1 or None for n < 2, n) of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, None, 0
    return float(v.mean()), (float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None), int(v.size)


def layer_label(index: int, layer) -> str:
    """'2 ConvTranspose2d': the layer index as nn.Sequential numbers it (from 0), and its type."""
    return f"{index} {layer.type}"


def output_labels(stack) -> list[str]:
    """What a layer selector lists: 'input', then one label per layer (position k = after layer k - 1)."""
    return ["input"] + [layer_label(i, layer) for i, layer in enumerate(stack)]


@dataclass(frozen=True)
class LayerExact:
    """The exact pattern of the stack up to one layer: period, contrast, artifact energy and frequencies."""

    period: tuple[int, int]
    contrast: Any
    energy: float
    freqs: list[tuple[Any, Any, float]]


def _layer_exact(row) -> LayerExact | None:
    """The GUI's numbers of one `analytics.comparison.LayerComparison` (its exact half)."""
    p = row.pattern
    return None if p is None else LayerExact(p.period, p.contrast, row.exact_energy, p.artifact_frequencies)


@dataclass(eq=False)
class LayerView:
    """The exact overlap of the stack up to one layer, ready to display: position k in the selector
    (0 = the input, k = after layer k - 1), the exact map, its float view, its spectrum, the exact profiles
    (rows, columns) and the interior pattern (None when that prefix has no periodic interior)."""

    position: int
    exact_map: np.ndarray  # int64, or object array of Fractions
    map: np.ndarray
    spectrum: np.ndarray
    profiles: tuple[np.ndarray, np.ndarray]
    pattern: OverlapPattern | None
    exact: LayerExact | None
    has_interior: bool = True  # at this input size (`pattern` is the size-free one)


@dataclass(eq=False)
class AnalyticResult:
    """The exact overlap analysis of a config: per layer the pattern and its numbers (for the tables), and
    per selector position a `LayerView`, computed on demand and cached (`view`)."""

    config: Config
    pattern: OverlapPattern  # of the whole stack
    shapes: list[tuple[int, int, int]]  # (C, H, W) of the input and after each layer
    layer_patterns: list[OverlapPattern | None]  # per layer: pattern of the stack up to it
    layer_exact: list[LayerExact | None]  # per layer, computed here so the GUI thread only formats
    interiors: list  # per layer: analytics.metrics.Interior, the generic period (random weights) and borders
    views: dict[int, LayerView] = field(default_factory=dict)

    @property
    def generic_periods(self) -> list[tuple[int, int]]:
        """Per layer: the period of the output under random weights (theory; a multiple of the exact one)."""
        return [interior.period for interior in self.interiors]

    def period_rect(self, position: int) -> tuple[int, int, int, int]:
        """(top, left, ph, pw): one generic period of the interior after layer position - 1, starting at a
        multiple of the period (so tile[i % ph, j % pw] reads it in order); (0, 0, 1, 1) for the input."""
        if position == 0:
            return (0, 0, 1, 1)
        interior = self.interiors[position - 1]
        (ph, pw), ((top, _), (left, _)) = interior.period, interior.edge
        return (-(-top // ph) * ph, -(-left // pw) * pw, ph, pw)

    @property
    def positions(self) -> int:
        """Selector positions: the input and every layer."""
        return len(self.config.stack) + 1

    def view(self, position: int) -> LayerView:
        """The exact picture after layer position - 1 (position 0: the input, all ones). O(HW log HW) once."""
        if position not in self.views:
            stack, size = self.config.stack[:position], self.config.input_size
            exact = overlap_map(stack, size)
            fmap = to_float(exact)
            if position == 0:
                pattern, numbers, interior = overlap_pattern(stack), None, True
            else:
                pattern, numbers = self.layer_patterns[position - 1], self.layer_exact[position - 1]
                interior = overlap_pattern(stack, size).has_interior  # O(layers), budgeted
            self.views[position] = LayerView(position, exact, fmap, log_spectrum(fmap),
                                             overlap_profiles(stack, size), pattern, numbers, interior)
        return self.views[position]

    @property
    def final(self) -> LayerView:
        return self.view(self.positions - 1)

    # the whole stack's picture, as exported and as the tests read it
    @property
    def exact_map(self) -> np.ndarray:
        return self.final.exact_map

    @property
    def map(self) -> np.ndarray:
        return self.final.map

    @property
    def profiles(self) -> tuple[np.ndarray, np.ndarray]:
        return self.final.profiles

    @property
    def spectrum(self) -> np.ndarray:
        return self.final.spectrum

    @property
    def freqs(self) -> list[tuple[Any, Any, float]]:
        return self.pattern.artifact_frequencies


def analyze(config: Config, focus: int | None = None) -> AnalyticResult:
    """Exact pattern of `config` and of every prefix (no Numba, no SymPy), and the `LayerView` at selector
    position `focus` (default: the whole stack), so that the GUI thread only draws."""
    from ...analytics import compare
    from ...analytics.metrics import interiors

    stack = config.stack
    shapes = stack.shapes((config.simulation.in_channels, *config.input_size))
    rows = compare(config).layers  # the exact half of the exact-vs-simulated comparison
    result = AnalyticResult(config, overlap_pattern(stack), shapes, [r.pattern for r in rows],
                            [_layer_exact(r) for r in rows], interiors(stack, config.input_size))
    last = result.positions - 1
    result.view(last if focus is None else max(0, min(focus, last)))
    return result


@dataclass(eq=False)
class SimulationResult:
    """The network run: every layer's output of the first draw, and Monte Carlo metric statistics over the
    draws run so far (`complete` once all `config.simulation.draws` are in)."""

    config: Config
    monte_carlo: Any  # analytics.simulation.MonteCarlo
    labels: list[str]  # "input", then one per layer
    arrays: list[np.ndarray]  # (C, H, W) per label
    output_spectrum: np.ndarray
    spectra: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.monte_carlo.draws == self.config.simulation.draws

    def spectrum(self, index: int) -> np.ndarray:
        """log_spectrum of arrays[index], cached."""
        if index not in self.spectra:
            self.spectra[index] = log_spectrum(self.arrays[index])
        return self.spectra[index]


#: Simulations with fewer activation values than this run the kernels on one Numba thread: a parallel
#: kernel waits for its slowest thread, and with another process on a core that made the default example
#: 5x slower at the 90th percentile here (benchmarks/bench_gui.py), while one thread stays steady.
PARALLEL_FROM = 1 << 22


def kernel_threads(config: Config, available: int) -> int:
    """Numba threads for simulating `config`: 1 for small networks, else `available`."""
    shapes = config.stack.shapes((config.simulation.in_channels, *config.input_size))
    values = sum(c * h * w for c, h, w in shapes) * config.simulation.draws
    return 1 if values < PARALLEL_FROM else available


def _threads(threads: int | None):
    """The kernels' thread limit for the calling thread (`kernels.threads.limited`), or no limit."""
    from contextlib import nullcontext

    from ...kernels.threads import limited

    return nullcontext() if threads is None else limited(threads)


def simulate(
    config: Config,
    image: np.ndarray | None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    threads: int | None = None,
    first_only: bool = False,
) -> SimulationResult:
    """Run `config` with its simulation settings (Monte Carlo over `draws`), on `threads` Numba threads of the
    calling thread when given. `first_only`: only draw 0, what the maps show (`complete_draws` adds the
    others)."""
    from ...analytics.simulation import simulate_settings

    settings = replace(config.simulation, draws=1) if first_only else config.simulation
    with _threads(threads):
        mc = simulate_settings(config.stack, config.input_size, settings, image=image, progress=progress,
                               cancel=cancel)
    first = mc.first
    labels = output_labels(config.stack)
    arrays = [first.input] + list(first.activations)
    out_spec = log_spectrum(arrays[-1])
    return SimulationResult(config, mc, labels, arrays, out_spec, {len(arrays) - 1: out_spec})


def complete_draws(result: SimulationResult, progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None, threads: int | None = None) -> SimulationResult:
    """`result` with the remaining draws 1..n-1 run and merged: the same first draw and arrays, and the
    statistics of all n draws, identical to running the n draws at once (draw d uses seed + d on the same
    input)."""
    from ...analytics.simulation import MonteCarlo, monte_carlo

    if result.complete:
        return result
    s, done = result.config.simulation, result.monte_carlo
    with _threads(threads):
        rest = monte_carlo(result.config.stack, done.first.input, draws=s.draws - done.draws, init=s.init,
                           bias=s.bias, bias_value=s.bias_value, seed=s.seed + done.draws, progress=progress,
                           cancel=cancel)
    tiles = [a if b is None else b if a is None else a + b for a, b in zip(done.tile_sum, rest.tile_sum, strict=True)]
    merged = MonteCarlo(done.stack, done.first, done.seed, np.vstack([done.contrast, rest.contrast]),
                        np.vstack([done.modulation, rest.modulation]),
                        np.vstack([done.artifact_energy, rest.artifact_energy]), tiles)
    return replace(result, monte_carlo=merged)


@dataclass(eq=False)
class FormulaResult:
    """The closed forms of the overlap count: the LaTeX source (copied verbatim) and, per axis section, its
    displayed lines typeset as PNG images (None where mathtext cannot typeset a line, or without
    matplotlib: `note` says why)."""

    latex: str
    sections: list[tuple[str, list[tuple[str, bytes | None]]]]
    summary: str
    note: str = ""


def formula(config: Config, dpi: float = 100.0) -> FormulaResult:
    """Closed forms (per axis) of the stack's overlap count (`analytics.closed_form`), typeset line by line
    with matplotlib's mathtext when it is installed.

    The map is separable: count(i, j) = c_rows(i) * c_cols(j); equal axes are shown once."""
    from ...analytics import closed_form, to_latex
    from ...analytics.layer_forms import same_axes
    from ...analytics.presentation.latex import rows as latex_rows

    try:
        import matplotlib  # noqa: F401 (the optional `figures` extra)

        from .mathtext import render_rows
        note = ""
    except ImportError:
        render_rows, note = None, "install checkerlab[figures] (matplotlib) to see the formulas typeset"
    same = same_axes(config.stack)
    latex_parts, sections, summary = [], [], []
    for axis in (0,) if same else (0, 1):
        cf = closed_form(config.stack, axis=axis)
        name = "both axes (i and j)" if same else ("rows (i)" if axis == 0 else "columns (j)")
        latex_parts.append(("" if same else f"% {name}\n") + to_latex(cf))
        rows = latex_rows(cf)
        lines = render_rows(rows, dpi) if render_rows else [(f"{lhs} = {rhs}", None) for lhs, rhs in rows]
        sections.append((f"Along {name}", lines))
        summary.append(f"{'' if same else name + ': '}period {cf.period}, S = {cf.stride}")
    head = "count(i, j) = c(i) · c(j)" if same else "count(i, j) = c_rows(i) · c_cols(j)"
    return FormulaResult("\n\n".join(latex_parts), sections, head + " · " + "; ".join(summary), note)


#: Stacks run once in the background after the window is shown, so that every kernel (direct and GEMM
#: paths, resampling, activations) is compiled or loaded from Numba's cache before the user needs it.
WARM_UP_SPECS = (
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=4), ReLU(), "
    "Conv2d(3, padding=1, out_channels=4), LeakyReLU(0.2), Upsample(2), Upsample(2, mode='bilinear'), "
    "Conv2d(1, out_channels=8), PixelShuffle(2), Tanh(), Sigmoid()",
    "ConvTranspose2d(4, stride=2, padding=1, out_channels=16), Conv2d(3, padding=1, out_channels=16)",
)


def warm_up(should_yield: Callable[[], bool]) -> None:
    """Compile (or load from cache) every kernel, yielding to real work between steps. (SymPy and matplotlib
warm up in the background process.)"""
    from ...analytics import Stack
    from ...analytics.simulation import simulate as run

    for spec, channels in zip(WARM_UP_SPECS, (3, 16), strict=True):
        if should_yield():
            return
        run(Stack(spec), np.ones((channels, 8, 8), dtype=np.float32), seed=0, dtype=np.float32)


@dataclass(eq=False)
class FixesResult:
    """`checkerboard_free` verdict of the stack and its nearest checkerboard-free variants."""

    free: bool | None
    culprits: list[str]  # one line per culprit layer
    fixes: list  # analytics.fixes.Fix


def fixes(config: Config) -> FixesResult:
    """The exact checkerboard-free verdict (Sugawara et al.) and `suggest_fixes` for `config`."""
    from ...analytics import checkerboard_free, suggest_fixes

    verdict = checkerboard_free(config.stack)
    seen, culprits = set(), []
    for c in verdict.culprits:
        if (c.index, c.reason) not in seen:
            seen.add((c.index, c.reason))
            periods = ", ".join(str(q) for q in c.periods)
            culprits.append(f"layer {c.index} ({c.layer.type}): {c.reason}; leaves period {periods}")
    found = suggest_fixes(config.stack, config.input_size) if verdict.free is False else []
    return FixesResult(verdict.free, culprits, list(found))


def describe_error(exc: BaseException) -> str:
    """A one-line message: CheckerlabError messages as they are, anything else with its type and origin."""
    if isinstance(exc, CheckerlabError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: use a smaller input size or fewer channels"
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}{where}"
