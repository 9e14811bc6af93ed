"""The one matplotlib style of checkerlab's publication figures, applied with `matplotlib.rc_context`
(the `plt.rc_context` of pyplot) around each figure: never through the global rcParams.

Sizes fit a two-column paper: COLUMN (3.3 in) for one column, PAGE (6.9 in) for the text width; fonts are
7 pt (6 pt ticks), lines 0.5-1 pt. Colours are the Okabe-Ito palette (colour-blind safe), heatmaps viridis,
spectra magma. Vector output keeps text as paths (SVG) or embedded TrueType (PDF, fonttype 42), and fixed
ids and no date, so the same figure gives the same bytes.
"""

from __future__ import annotations

from contextlib import contextmanager

#: Figure widths in inches.
COLUMN, PAGE = 3.3, 6.9
#: PNG resolution; a column-wide figure is ~990 px wide.
DPI = 300
#: Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermilion, reddish purple.
COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
HEATMAP = "viridis"
SPECTRUM = "magma"
MISSING = "#BBBBBB"  # cells with no finite value (holes)
MARKER = "#56B4E9"   # predicted artifact frequencies on a spectrum

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "legend.fontsize": 6, "figure.titlesize": 7,
    "xtick.labelsize": 6, "ytick.labelsize": 6,
    "axes.linewidth": 0.5, "axes.titlepad": 3, "axes.labelpad": 2,
    "xtick.major.width": 0.5, "ytick.major.width": 0.5, "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
    "xtick.major.size": 2.5, "ytick.major.size": 2.5, "xtick.minor.size": 1.5, "ytick.minor.size": 1.5,
    "xtick.major.pad": 2, "ytick.major.pad": 2,
    "lines.linewidth": 1.0, "lines.markersize": 3, "errorbar.capsize": 1.5,
    "legend.frameon": False, "legend.handlelength": 1.5, "legend.borderaxespad": 0.3,
    "image.cmap": HEATMAP, "image.interpolation": "nearest", "image.origin": "upper",
    "savefig.dpi": DPI, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
    "svg.fonttype": "path", "svg.hashsalt": "checkerlab", "pdf.fonttype": 42,
}


def width(size: str) -> float:
    """The width in inches of 'column' or 'page'."""
    return {"column": COLUMN, "page": PAGE}[size]


@contextmanager
def context():
    """Apply the style for the figures created and saved inside the block."""
    import matplotlib
    from cycler import cycler

    with matplotlib.rc_context({**RC, "axes.prop_cycle": cycler(color=COLORS)}):
        yield
