"""What the GUI computes off the UI thread, Qt-free: the exact analysis, the simulation and the formula.

Each function returns a plain result object that the views display as is; arrays that are shown are
computed here (including their spectra) so that the UI thread only hands them to pyqtgraph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...analytics import Config, OverlapPattern, overlap_map, overlap_pattern, overlap_profiles
from ...analytics.presentation.text import exact_text

#: The GUI's name for analytics' one number formatter (3, 7/4).
exact_str = exact_text

#: Periods up to this size get their tile printed with numbers.
MAX_TILE_NUMBERS = 16


def to_float(a: np.ndarray) -> np.ndarray:
    """Exact arrays (int64 or object arrays of Fractions) as float64 for display."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype != object else np.vectorize(float, otypes=[np.float64])(a)


def log_spectrum(image: np.ndarray) -> np.ndarray:
    """log10 of |DFT| relative to the DC term, fftshift-ed (zero frequency in the middle).

    The image is Hann-windowed so that its borders do not smear energy over the whole plane; channels of
    a (C, H, W) array are averaged first."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 3:
        x = x.mean(axis=0)
    h, w = x.shape
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    f = np.abs(np.fft.fft2(x * window))
    dc = f[0, 0]
    scale = dc if dc > 0 else (f.max() if f.max() > 0 else 1.0)
    return np.fft.fftshift(np.log10(np.maximum(f / scale, 1e-12)))


def layer_label(index: int, layer) -> str:
    """'3 ConvTranspose2d' (1-based) — the name of a layer's output in selectors and tables."""
    return f"{index + 1} {layer.type}"


@dataclass(eq=False)
class AnalyticResult:
    """The exact overlap analysis of a config, ready to display."""

    config: Config
    pattern: OverlapPattern
    exact_map: np.ndarray  # int64, or object array of Fractions
    map: np.ndarray  # float64 view of exact_map
    profiles: tuple[np.ndarray, np.ndarray]  # exact 1D profiles (rows, columns)
    spectrum: np.ndarray  # log_spectrum(map)
    shapes: list[tuple[int, int, int]]
    layer_patterns: list[OverlapPattern | None]  # per layer: pattern of the stack up to it
    freqs: list[tuple[Any, Any, float]]  # pattern.artifact_frequencies (a property that recomputes)
    layer_exact: list[LayerExact | None]  # per layer, computed here so the GUI thread only formats

    @property
    def tile_numbers(self) -> bool:
        return max(self.pattern.period) <= MAX_TILE_NUMBERS

    def count_at(self, i: int, j: int) -> Any:
        return self.exact_map[i, j]


@dataclass(frozen=True)
class LayerExact:
    """The exact pattern of the stack up to one layer: period, contrast, artifact energy and frequencies."""

    period: tuple[int, int]
    contrast: Any
    energy: float
    freqs: list[tuple[Any, Any, float]]


def _layer_exact(pattern: OverlapPattern | None) -> LayerExact | None:
    from ...analytics.metrics import analytic_energy

    if pattern is None:
        return None
    return LayerExact(pattern.period, pattern.contrast, analytic_energy(pattern), pattern.artifact_frequencies)


def analyze(config: Config) -> AnalyticResult:
    """Exact pattern, map, profiles and per-layer patterns of `config` (no Numba, no SymPy)."""
    from ...analytics.metrics import layer_patterns

    stack = config.stack
    pattern = overlap_pattern(stack)
    exact = overlap_map(stack, config.input_size)
    fmap = to_float(exact)
    shapes = stack.shapes((config.simulation.in_channels, *config.input_size))
    try:
        per_layer = list(layer_patterns(stack))
    except Exception:  # a prefix without an interior: the table shows what it can
        per_layer = [None] * len(stack)
    return AnalyticResult(
        config,
        pattern,
        exact,
        fmap,
        overlap_profiles(stack, config.input_size),
        log_spectrum(fmap),
        shapes,
        per_layer,
        pattern.artifact_frequencies,
        [_layer_exact(p) for p in per_layer],
    )


@dataclass(eq=False)
class SimulationResult:
    """The network run: every layer's output of the first draw, and Monte Carlo metric statistics."""

    config: Config
    monte_carlo: Any  # analytics.simulation.MonteCarlo
    labels: list[str]  # "input", then one per layer
    arrays: list[np.ndarray]  # (C, H, W) per label
    output_spectrum: np.ndarray
    spectra: dict[int, np.ndarray] = field(default_factory=dict)

    def spectrum(self, index: int) -> np.ndarray:
        """log_spectrum of arrays[index], cached."""
        if index not in self.spectra:
            self.spectra[index] = log_spectrum(self.arrays[index])
        return self.spectra[index]


def simulate(
    config: Config,
    image: np.ndarray | None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SimulationResult:
    """Run `config` with its simulation settings (Monte Carlo over `draws`)."""
    from ...analytics.simulation import simulate_settings

    mc = simulate_settings(
        config.stack, config.input_size, config.simulation, image=image, progress=progress, cancel=cancel
    )
    first = mc.first
    labels = ["input"] + [layer_label(i, layer) for i, layer in enumerate(config.stack)]
    arrays = [first.input] + list(first.activations)
    out_spec = log_spectrum(arrays[-1])
    return SimulationResult(config, mc, labels, arrays, out_spec, {len(arrays) - 1: out_spec})


@dataclass(eq=False)
class FormulaResult:
    """The closed form of the overlap count: LaTeX source and a Unicode rendering."""

    latex: str
    pretty: str
    summary: str


def formula(config: Config) -> FormulaResult:
    """Closed forms (per axis) of the stack's overlap count, from `analytics.closed_form`.

    The map is separable: count(i, j) = c_rows(i) * c_cols(j); equal axes are shown once."""
    from ...analytics import closed_form, to_latex
    from ...analytics.layer_forms import same_axes
    from ...analytics.presentation.text import closed_form_text

    same = same_axes(config.stack)
    axes = (0,) if same else (0, 1)
    latex_parts, pretty_parts, summary = [], [], []
    for axis in axes:
        cf = closed_form(config.stack, axis=axis)
        name = "both axes (i and j)" if same else ("rows (i)" if axis == 0 else "columns (j)")
        latex_parts.append(("" if same else f"% {name}\n") + to_latex(cf))
        pretty_parts.append(f"Along {name}:\n\n{closed_form_text(cf)}")
        summary.append(f"{'' if same else name + ': '}period {cf.period}, S = {cf.stride}")
    head = "count(i, j) = c(i) · c(j)" if same else "count(i, j) = c_rows(i) · c_cols(j)"
    return FormulaResult(
        "\n\n".join(latex_parts), head + "\n\n" + "\n\n".join(pretty_parts), "; ".join(summary)
    )


#: Stacks run once in the background after the window is shown, so that every kernel (direct and GEMM
#: paths, resampling, activations) is compiled or loaded from Numba's cache before the user needs it.
WARM_UP_SPECS = (
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=4), ReLU(), "
    "Conv2d(3, padding=1, out_channels=4), LeakyReLU(0.2), Upsample(2), Upsample(2, mode='bilinear'), "
    "Conv2d(1, out_channels=8), PixelShuffle(2), Tanh(), Sigmoid()",
    "ConvTranspose2d(4, stride=2, padding=1, out_channels=16), Conv2d(3, padding=1, out_channels=16)",
)


def warm_up(should_yield: Callable[[], bool]) -> None:
    """Compile (or load from cache) every kernel and import SymPy, yielding to real work between steps."""
    from ...analytics import Stack
    from ...analytics.simulation import simulate as run

    for spec, channels in zip(WARM_UP_SPECS, (3, 16), strict=True):
        if should_yield():
            return
        for dtype in (np.float32,):
            run(Stack(spec), np.ones((channels, 8, 8), dtype=dtype), seed=0, dtype=dtype)
    if should_yield():
        return
    try:
        formula(Config("ConvTranspose2d(3, stride=2)"))
    except Exception:  # the symbolic engine is optional for the warm-up
        pass


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
            culprits.append(f"layer {c.index + 1} ({c.layer.type}): {c.reason}; leaves period {periods}")
    found = suggest_fixes(config.stack, config.input_size) if verdict.free is False else []
    return FixesResult(verdict.free, culprits, list(found))
