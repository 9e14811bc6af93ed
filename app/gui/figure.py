"""Publication figures of what the window shows, with matplotlib (Agg, object API, never pyplot): the exact
overlap map and the simulated activation of the shown layer, the exact tile, and both spectra with the
predicted artifact frequencies circled. Qt-free.

This is the GUI's one figure path (`write_figure`). When the studies' shared figure code exists
(analytics/presentation/figures.py and its style), `build_figure` should delegate to it; `FigureData` is
the seam: it holds exactly the arrays on screen.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...analytics import CheckerlabError, atomic_write

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
PAGE_WIDTH_IN = 6.9  # a two-column paper's text width
STYLE = {"font.size": 7.5, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 6.5,
         "ytick.labelsize": 6.5, "svg.fonttype": "path", "pdf.fonttype": 42, "image.interpolation": "nearest"}


@dataclass(frozen=True, eq=False)
class FigureData:
    """The shown layer's arrays: `exact` (H, W) counts as floats, `simulated` (H, W) or RGB (H, W, 3) in
    [0, 1] as displayed, both spectra (log10 |DFT| / ||DFT||, fftshift-ed), the marked frequencies (fy, fx)
    in cycles/pixel, and the exact tile (None when there is no periodic interior)."""

    title: str
    exact: np.ndarray
    simulated: np.ndarray
    exact_spectrum: np.ndarray
    simulated_spectrum: np.ndarray
    frequencies: list[tuple[float, float]] = field(default_factory=list)
    tile: np.ndarray | None = None
    tile_texts: list[list[str]] | None = None
    notes: str = ""


def _spectrum_extent(shape: tuple[int, int]) -> tuple[float, float, float, float]:
    h, w = shape
    return (-(w // 2) / w - 0.5 / w, (w - w // 2) / w - 0.5 / w, (h - h // 2) / h - 0.5 / h, -(h // 2) / h - 0.5 / h)


def build_figure(data: FigureData):
    """The matplotlib Figure (2 x 3 panels, page width, constrained layout so that no text overlaps)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(PAGE_WIDTH_IN, 4.4), layout="constrained")
        axes = fig.subplots(2, 3)
        fig.suptitle(data.title)
        signed = data.simulated.ndim == 2 and float(np.min(data.simulated)) < 0
        for ax, image, title, cmap, label in (
            (axes[0, 0], data.exact, "Exact overlap count", "viridis", "count"),
            (axes[0, 1], data.simulated, "Simulated activation", "RdBu_r" if signed else "viridis", "value"),
        ):
            kwargs = {}
            if signed and image is data.simulated:
                m = float(np.max(np.abs(image))) or 1.0
                kwargs = {"vmin": -m, "vmax": m}
            im = ax.imshow(image, cmap=cmap, rasterized=True, **kwargs)
            ax.set(title=title, xlabel="j (column)", ylabel="i (row)")
            if image.ndim == 2:
                fig.colorbar(im, ax=ax, label=label, shrink=0.85)
        _tile_panel(fig, axes[0, 2], data)
        for ax, spectrum, title in ((axes[1, 0], data.exact_spectrum, "Spectrum, exact"),
                                    (axes[1, 1], data.simulated_spectrum, "Spectrum, simulated")):
            im = ax.imshow(spectrum, cmap="inferno", vmin=-6, vmax=0, extent=_spectrum_extent(spectrum.shape),
                           aspect="auto", rasterized=True)
            if data.frequencies:
                fx = [sign * float(f[1]) for f in data.frequencies for sign in (1, -1)]
                fy = [sign * float(f[0]) for f in data.frequencies for sign in (1, -1)]
                fold = np.vectorize(lambda v: v - 1 if v >= 0.5 else v)
                ax.scatter(fold(fx), fold(fy), s=28, facecolors="none", edgecolors="#00e5ff", linewidths=0.7)
            ax.set(title=title, xlabel="fx (cycles/pixel)", ylabel="fy (cycles/pixel)")
            fig.colorbar(im, ax=ax, label="log₁₀ |DFT| / ‖DFT‖", shrink=0.85)
        axes[1, 2].axis("off")
        if data.notes:
            axes[1, 2].text(0.0, 1.0, data.notes, va="top", ha="left", wrap=True, transform=axes[1, 2].transAxes)
    return fig


def _tile_panel(fig, ax, data: FigureData) -> None:
    ax.set_title("Exact tile (one period)")
    if data.tile is None:
        ax.axis("off")
        ax.text(0.5, 0.5, "no periodic interior", ha="center", va="center", transform=ax.transAxes)
        return
    tile = np.asarray(data.tile, dtype=float)
    ax.imshow(tile, cmap="viridis", rasterized=True)
    ax.set(xlabel="j mod pw", ylabel="i mod ph")
    ph, pw = tile.shape
    if data.tile_texts is not None and max(ph, pw) <= 8:  # numbers only where they fit
        lo, hi = float(tile.min()), float(tile.max())
        for i in range(ph):
            for j in range(pw):
                bright = hi > lo and (tile[i, j] - lo) / (hi - lo) > 0.55
                ax.text(j, i, data.tile_texts[i][j], ha="center", va="center", fontsize=6,
                        color="black" if bright else "white")


def figure_bytes(data: FigureData, fmt: str) -> bytes:
    """The figure encoded as `fmt` (png at 300 dpi, svg, pdf)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = build_figure(data)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)  # reproducible files
        fig.savefig(buffer, format=fmt, dpi=300, metadata=metadata)
    return buffer.getvalue()


def write_figure(data: FigureData, path: str | os.PathLike) -> None:
    """Write the figure to `path`, its format chosen by the extension (.png, .svg, .pdf), atomically.
    CheckerlabError for another extension or without matplotlib (the `figures` extra)."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise CheckerlabError(f"{path}: unknown figure extension; use {', '.join(FORMATS)}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CheckerlabError("figures need matplotlib: pip install 'checkerlab[figures]'") from None
    atomic_write(path, figure_bytes(data, fmt))
