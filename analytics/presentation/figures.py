"""Publication figures with matplotlib (Agg, no pyplot state): a stack's exact overlap next to its simulated
output with both spectra, and one figure per study.

`overlap_figure(stack)` has four panels: (a) the exact overlap count and (b) the simulated output on the same
window of the interior, (c) and (d) their 2D spectra |DFT| over the whole interior trimmed to whole periods,
so an artifact at f = m/P falls exactly on a DFT bin, with the exact artifact frequencies circled.
`study_figure(result)` draws a `StudyResult` from its rows alone (the JSON holds everything a figure needs).

Vector files are true vector: heatmaps are embedded as images (`rasterized=True`) while axes, ticks, text,
lines and markers stay vector, so a figure of a 512x512 map is still a small SVG/PDF. The style (sizes,
fonts, colours) lives in `style` and is applied with rc_context around creation and saving.
Cost: O(N log N) for the spectra of an N-pixel interior plus one simulation; study figures O(rows).
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import CheckerlabError
from ..files import atomic_write
from . import style

FORMATS = (".png", ".svg", ".pdf")
#: Save metadata without dates, so the same figure gives the same bytes.
_METADATA = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}, ".png": {}}
#: The smallest relative amplitude a spectrum shows (the bottom of its log colour scale).
SPECTRUM_FLOOR = 1e-4
#: Largest side (pixels) of the window shown by the map panels.
MAX_WINDOW = 64
#: Most artifact frequencies circled on a spectrum (the strongest; a period-16 pattern has 255).
MAX_MARKED = 8
#: Periods per side of the window whose spectrum is shown (fewer bins: each artifact bin is visible).
SPECTRUM_PERIODS = 8


def require() -> None:
    """Raise a one-line CheckerlabError unless matplotlib (the `figures` extra) is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CheckerlabError("figures need matplotlib: pip install 'checkerlab[figures]'") from None


def check_path(path: str | os.PathLike) -> str:
    """The figure format of `path` ('.png', '.svg' or '.pdf'), or a one-line CheckerlabError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise CheckerlabError(f"{path}: unknown figure format {suffix or '(none)'!r}; use .png, .svg or .pdf")
    return suffix


def new_figure(width: str | float, height: float):
    """An empty Figure (constrained layout) of `width` ('column', 'page' or inches) x `height` inches."""
    require()
    from matplotlib.figure import Figure
    inches = style.width(width) if isinstance(width, str) else float(width)
    return Figure(figsize=(inches, height), layout="constrained")


def save_figure(fig, path: str | os.PathLike) -> None:
    """Write the figure as PNG, SVG or PDF (chosen by the extension), atomically, in the style's settings."""
    suffix = check_path(path)
    buf = io.BytesIO()
    with style.context():
        fig.savefig(buf, format=suffix[1:], metadata=_METADATA[suffix])
    atomic_write(path, buf.getvalue())


# ------------------------------------------------------------------ panels shared by every figure


def heatmap(ax, values: np.ndarray, label: str, *, extent=None, norm=None, cmap=None):
    """An image of `values` (rasterized inside vector files) with a labelled colour bar as tall as the axes."""
    image = ax.imshow(values, extent=extent, norm=norm, cmap=cmap, rasterized=True)
    bar = ax.figure.colorbar(image, cax=ax.inset_axes([1.04, 0, 0.06, 1]))
    bar.set_label(label)
    bar.outline.set_linewidth(0.4)
    return image


def spectrum(ax, x: np.ndarray, frequencies) -> None:
    """log |DFT(x)| / max, centred (f = 0 in the middle), with the first MAX_MARKED of `frequencies`
    (fy, fx, amplitude; strongest first) circled. x should hold whole periods, so that every artifact
    frequency is a DFT bin."""
    from matplotlib.colors import LogNorm

    power = np.abs(np.fft.fftshift(np.fft.fft2(np.asarray(x, dtype=float))))
    peak = power.max()
    rel = np.clip(power / peak if peak > 0 else power, SPECTRUM_FLOOR, 1)
    h, w = rel.shape
    fy, fx = (np.fft.fftshift(np.fft.fftfreq(n)) for n in (h, w))
    extent = (fx[0] - 0.5 / w, fx[-1] + 0.5 / w, fy[-1] + 0.5 / h, fy[0] - 0.5 / h)
    heatmap(ax, rel, "|DFT| / max", extent=extent, norm=LogNorm(SPECTRUM_FLOOR, 1), cmap=style.SPECTRUM)
    points = {(_wrap(s * fx), _wrap(s * fy)) for fy, fx, _ in frequencies[:MAX_MARKED] for s in (1, -1)}
    if points:
        xs, ys = zip(*sorted(points), strict=True)
        ax.scatter(xs, ys, s=14, facecolors="none", edgecolors=style.MARKER, linewidths=0.6)
    ax.set_xlabel("$f_x$ (cycles/pixel)")
    ax.set_ylabel("$f_y$ (cycles/pixel)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_ticks([-0.5, 0, 0.5], ["-1/2", "0", "1/2"])
        axis.set_ticks([-0.25, 0.25], minor=True)


def _wrap(f: Fraction) -> float:
    """A frequency in [-1/2, 1/2): +1/2 is the bin fftshift puts at -1/2."""
    return float(f - 1 if f >= Fraction(1, 2) else f)


def _title(fig, text: str, width: float) -> None:
    fig.suptitle("\n".join(textwrap.wrap(text, int(width * 17))), fontsize=6)


def _floats(values) -> np.ndarray:
    return np.array([float(v) for v in values])


# ------------------------------------------------------------------ the overlap figure of a stack


def overlap_figure(stack, input_size=(32, 32), settings=None, image: np.ndarray | None = None,
                   size: str = "column"):
    """The exact overlap (a) and one simulated run (b) on the same interior window, and their spectra (c, d)
    with the exact artifact frequencies circled. settings: a `SimulationSettings` (default: constant input,
    PyTorch's init, zero bias); one draw is simulated. size: 'column' (2x2) or 'page' (1x4)."""
    from ..config import SimulationSettings
    from ..metrics import _window, interiors
    from ..overlap import overlap_map, overlap_pattern
    from ..simulation import simulate_settings
    from ..stack import as_stack

    require()
    if size not in ("column", "page"):
        raise CheckerlabError(f"size={size!r} must be 'column' or 'page'")
    stack = as_stack(stack)
    pattern = overlap_pattern(stack)
    settings = replace(settings or SimulationSettings(), draws=1)
    exact = np.asarray(overlap_map(stack, input_size), dtype=float)
    simulated = simulate_settings(stack, input_size, settings, image=image).first.output.mean(axis=0)
    generic = interiors(stack, input_size)[-1]
    edge = tuple(tuple(max(a, b) for a, b in zip(e, g, strict=True))
                 for e, g in zip(pattern.edge, generic.edge, strict=True))
    period = generic.period
    interior_exact, interior_sim = _window(exact, period, edge), _window(simulated, period, edge)
    shown = tuple(min(n, max(2 * p, 16), MAX_WINDOW) for n, p in zip(interior_exact.shape, period, strict=True))
    (top, _), (left, _) = edge
    extent = (left - 0.5, left + shown[1] - 0.5, top + shown[0] - 0.5, top - 0.5)

    with style.context():
        if size == "column":
            fig = new_figure("column", 3.0)
            axes = fig.subplots(2, 2).ravel()
        else:
            fig = new_figure("page", 1.9)
            axes = fig.subplots(1, 4)
        fig.get_layout_engine().set(wspace=0.16)  # room for the colour bars (insets: outside the layout)
        heatmap(axes[0], interior_exact[: shown[0], : shown[1]], "overlap count", extent=extent)
        heatmap(axes[1], interior_sim[: shown[0], : shown[1]], "channel mean", extent=extent)
        for ax, title in zip(axes[:2], ("(a) exact overlap", "(b) simulated output"), strict=True):
            ax.set_title(title)
            ax.set_xlabel("output column j")
            ax.set_ylabel("output row i")
            ax.set_aspect("equal")
        # whole periods: SPECTRUM_PERIODS of them, or as many as fit in MAX_WINDOW (at least one)
        spec = tuple(min(n, max(p, min(SPECTRUM_PERIODS * p, MAX_WINDOW // p * p)))
                     for n, p in zip(interior_exact.shape, period, strict=True))
        spectrum(axes[2], interior_exact[: spec[0], : spec[1]], pattern.artifact_frequencies)
        spectrum(axes[3], interior_sim[: spec[0], : spec[1]], pattern.artifact_frequencies)
        axes[2].set_title("(c) spectrum of (a)")
        axes[3].set_title("(d) spectrum of (b)")
        contrast = "inf (holes)" if pattern.has_holes else _fraction_text(pattern.contrast)
        exact_period = "" if pattern.period == period else f" (all-ones {pattern.period[0]}x{pattern.period[1]})"
        marked = "circles: exact artifact frequencies" + (f", strongest {MAX_MARKED}"
                                                           if len(pattern.artifact_frequencies) > MAX_MARKED else "")
        _title(fig, f"{stack}; {input_size[0]}x{input_size[1]} input, period {period[0]}x{period[1]}{exact_period}, "
                    f"contrast {contrast}. (b): {settings.input} input, {settings.init}, {settings.bias} bias, "
                    f"seed {settings.seed}; {marked}", style.width(size))
    return fig


def latex_figure(stack, tex_path: str | os.PathLike, input_size=(32, 32), settings=None) -> str:
    """For a LaTeX report at `tex_path`: write `overlap_figure` as a PDF beside it (STEM-figure.pdf) and return
    a figure environment that includes it at its natural column width (needs graphicx)."""
    from ..latex_printer import tex_text
    from ..stack import as_stack

    stack = as_stack(stack)
    pdf = Path(tex_path).with_name(Path(tex_path).stem + "-figure.pdf")
    save_figure(overlap_figure(stack, input_size, settings), pdf)
    caption = (r"Exact overlap (a) and one simulated run (b) of \texttt{" + tex_text(str(stack)) + "} on a "
               f"{input_size[0]}$\\times${input_size[1]} input, on the same window of the interior; (c), (d) their "
               "spectra with the exact artifact frequencies circled.")
    return "\n".join([r"\begin{figure}[h]", r"\centering", r"\includegraphics{" + pdf.name + "}",
                      r"\caption{" + caption + "}", r"\end{figure}"])


def _fraction_text(value) -> str:
    f = Fraction(value)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


# ------------------------------------------------------------------ study figures


def study_figure(result):
    """The figure of a `StudyResult` (see each study's module for what it shows)."""
    draw = _STUDIES.get(result.study)
    if draw is None:
        raise CheckerlabError(f"no figure for study {result.study!r}")
    require()
    with style.context():
        return draw(result)


def _contrast_grid(ax, rows: list[dict], x: str, y: str):
    """A heatmap of log10 contrast over (x, y) cells: even cells marked '=', holes grey with an 'x'."""
    import matplotlib
    from matplotlib.colors import Normalize

    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        c = r["contrast"]
        if c != "inf":
            grid[ys.index(r[y]), xs.index(r[x])] = math.log10(float(Fraction(c)))
    cmap = matplotlib.colormaps[style.HEATMAP].with_extremes(bad=style.MISSING)
    finite = grid[np.isfinite(grid)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=Normalize(0, top), origin="lower",
                      extent=(xs[0] - 0.5, xs[-1] + 0.5, ys[0] - 0.5, ys[-1] + 0.5), aspect="auto",
                      rasterized=True)
    for r in rows:
        if r["contrast"] == "inf":
            ax.plot(r[x], r[y], marker="x", color="black", markersize=2.5, markeredgewidth=0.5)
        elif r["even"]:
            ax.plot(r[x], r[y], marker="o", color="white", markersize=1.6, markeredgewidth=0)
    ax.set_xticks(xs)
    ax.set_yticks([v for v in ys if v % 2 == 0 or len(ys) <= 8])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    return image


def _contrast_colorbar(fig, image, axes) -> None:
    bar = fig.colorbar(image, ax=axes, shrink=0.9, pad=0.02)
    bar.set_label("log$_{10}$ contrast max/min\n(white dot: even, grey x: holes)")
    bar.outline.set_linewidth(0.4)


def _overlap_rule(result):
    dilations = sorted({r["dilation"] for r in result.rows})
    fig = new_figure("page", 2.5)
    axes = fig.subplots(1, len(dilations), sharey=True)
    for ax, d in zip(np.atleast_1d(axes), dilations, strict=True):
        image = _contrast_grid(ax, [r for r in result.rows if r["dilation"] == d], "stride", "kernel_size")
        ax.set_title(f"dilation = {d}")
        if d != dilations[0]:
            ax.set_ylabel("")
    _contrast_colorbar(fig, image, axes)
    _title(fig, "one ConvTranspose2d(kernel_size, stride, dilation): exact 2D contrast of the overlap", style.PAGE)
    return fig


def _depth(result):
    rows = result.rows
    depth = [r["depth"] for r in rows]
    fig = new_figure("column", 2.0)
    left, right = fig.subplots(1, 2)
    contrast = [math.inf if r["contrast"] == "inf" else float(Fraction(r["contrast"])) for r in rows]
    finite = [(d, c) for d, c in zip(depth, contrast, strict=True) if math.isfinite(c)]
    if finite:
        left.semilogy(*zip(*finite, strict=True), "o-", color=style.COLORS[5], label="exact contrast")
    if result.settings.get("block") == "ConvTranspose2d(3, stride=2)":
        from ..studies.depth import fibonacci
        n = np.arange(depth[0], depth[-1] + 1)
        left.semilogy(n, [fibonacci(int(v) + 2) ** 2 for v in n], ":", color=style.COLORS[0],
                      label="$F(n+2)^2$")
    left.set_xlabel("depth n")
    left.set_ylabel("contrast max/min")
    left.set_title("(a) contrast")
    left.legend()
    right.plot(depth, [r["energy"] for r in rows], "o-", color=style.COLORS[6],
               label="var(T)/mean(T$^2$)")
    right.plot(depth, [r["amplitude"] for r in rows], "s--", color=style.COLORS[3],
               label="peak |C(f)|/C(0)")
    right.set_ylim(0, min(1.05, max(0.6, 1.6 * max(r["energy"] for r in rows))))  # room for the legend
    right.set_xlabel("depth n")
    right.set_ylabel("fraction")
    right.set_title("(b) energy and peak amplitude")
    right.legend(loc="upper left")
    for ax in (left, right):
        ax.set_xticks(depth)
    _title(fig, f"{result.settings['block']} stacked n deep", style.COLUMN)
    return fig


def _smoothing(result):
    freqs = sorted({r["frequency"] for r in result.rows}, key=Fraction)
    fig = new_figure("column", 2.0)
    axes = fig.subplots(1, len(freqs), sharey=True)
    for ax, f in zip(np.atleast_1d(axes), freqs, strict=True):
        box = [r for r in result.rows if r["frequency"] == f and r["head"] == "box"]
        rand = [r for r in result.rows if r["frequency"] == f and r["head"] == "random"]
        k = np.linspace(1, max(r["head_kernel"] for r in box), 400)
        fv = float(Fraction(f))
        ax.plot(k, np.abs(np.sin(np.pi * fv * k) / (k * np.sin(np.pi * fv))), "-", color=style.COLORS[0],
                linewidth=0.6, label=r"$|\sin(\pi f k)/(k \sin \pi f)|$")
        ax.plot([r["head_kernel"] for r in box], [r["ratio"] for r in box], "o", color=style.COLORS[5],
                label="box head, exact")
        ax.errorbar([r["head_kernel"] for r in rand], [r["ratio"] for r in rand],
                    yerr=[r["ratio_stderr"] for r in rand], fmt="s", color=style.COLORS[6], markersize=2.5,
                    elinewidth=0.6, label="random head (±1 s.e.)")
        ax.axhline(1, color=style.COLORS[0], linewidth=0.4, linestyle=":")
        ax.set_title(f"f = {f} cycles/pixel")
        ax.set_xlabel("head kernel k")
        ax.set_xticks([r["head_kernel"] for r in box])
    np.atleast_1d(axes)[0].set_ylabel("artifact amplitude after / before")
    np.atleast_1d(axes)[0].legend(loc="lower left", fontsize=5)
    _title(fig, f"{result.settings['upsampler']}, then a stride-1 Conv2d(k)", style.COLUMN)
    return fig


def _brightness(result):
    biases = list(dict.fromkeys(r["bias"] for r in result.rows))
    fig = new_figure("page", 1.9)
    axes = fig.subplots(1, len(biases), sharey=True)
    for ax, bias in zip(np.atleast_1d(axes), biases, strict=True):
        for color, act in zip((style.COLORS[5], style.COLORS[6]), ("none", "ReLU"), strict=True):
            rows = [r for r in result.rows if r["bias"] == bias and r["activation"] == act]
            x = _floats(r["brightness"] for r in rows)
            y, e = _floats(r["artifact_mean"] for r in rows), _floats(r["artifact_stderr"] for r in rows)
            style_ = "o-" if act == "none" else "s--"
            ax.plot(x, y, style_, color=color, markersize=2.5, label=f"activation: {act}")
            ax.fill_between(x, y - e, y + e, color=color, alpha=0.25, linewidth=0)
        ax.set_title(f"bias {bias:+g}" if bias else "bias 0")
        ax.set_xlabel("input brightness")
    first = np.atleast_1d(axes)[0]
    first.set_ylabel("artifact energy (fraction)")
    first.legend(loc="upper right")
    _title(fig, f"{result.settings['network']}; random brightness-preserving kernels; mean ± 1 s.e. over "
                f"{result.settings['draws']} draws", style.PAGE)
    return fig


def _base(result):
    fig = new_figure("column", 2.0)
    ax = fig.subplots()
    names = [("even" if r["even"] else "uneven") for r in result.rows]
    x = np.arange(len(result.rows))
    for offset, key, label, color in ((-0.18, "artifact", "random kernel + bias", style.COLORS[6]),
                                      (0.18, "baseline", "mean kernel (exact overlap)", style.COLORS[2])):
        ax.bar(x + offset, [r[f"{key}_mean"] for r in result.rows], 0.34,
               yerr=[r[f"{key}_stderr"] for r in result.rows], color=color, label=label,
               error_kw={"elinewidth": 0.6})
    ax.set_yscale("log")
    ax.set_xlabel("stack (x4 upsampler)")
    ax.set_xticks(x, [f"{n}\n{_short(r['stack'])}" for n, r in zip(names, result.rows, strict=True)])
    ax.set_ylabel("artifact energy (fraction)")
    ax.legend(loc="upper left")
    _title(fig, f"random natural image, random kernels, bias U(±0.1); mean ± 1 s.e. over "
                f"{result.settings['draws']} draws", style.COLUMN)
    return fig


def _short(spec: str) -> str:
    """'ConvTranspose2d(4, stride=2, ...), ...' -> 'k4 s2 x2' for axis labels."""
    import re
    layers = re.findall(r"ConvTranspose2d\((\d+), stride=(\d+)", spec)
    return " ".join(dict.fromkeys(f"k{k} s{s}" for k, s in layers)) + f" x{len(layers)}"


def _gradient(result):
    fig = new_figure("page", 2.4)
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.2))
    rows = [{**r, "contrast": _tile_contrast(r["tile"])} for r in result.rows]
    image = _contrast_grid(left, rows, "stride", "kernel_size")
    left.set_title("(a) input gradient of Conv2d(k, stride=s): exact")
    _contrast_colorbar(fig, image, left)
    exact, mean, err = [], [], []
    for r in result.rows:
        tile = np.tile(r["tile"], r["stride"] // r["period"])
        exact += list(tile)
        mean += r["simulated"]
        err += r["simulated_stderr"]
    top = max(exact) + 0.5
    right.plot([0, top], [0, top], ":", color=style.COLORS[0], linewidth=0.5, label="simulated = exact")
    right.errorbar(exact, mean, yerr=err, fmt="o", color=style.COLORS[5], markersize=2, elinewidth=0.6,
                   label=f"random Conv2d, {result.settings['draws']} draws (±1 s.e.)")
    right.set_xlabel("exact gradient count c(r)")
    right.set_ylabel("simulated u(r)")
    right.set_title("(b) simulated gradient, every phase of every (k, s)")
    right.legend(loc="upper left")
    return fig


def _tile_contrast(tile: list[int]) -> int | str:
    lo, hi = min(tile), max(tile)
    return "inf" if lo == 0 else f"{Fraction(hi, lo) ** 2}"


_STUDIES = {"overlap-rule": _overlap_rule, "depth": _depth, "smoothing": _smoothing, "brightness": _brightness,
            "base": _base, "gradient": _gradient}
