"""pyqtgraph views: image heatmaps with a colorbar and a hover crosshair, spectra with marked artifact
frequencies, and 1D profiles.

Every ImageItem gets axisOrder='row-major' and explicit levels (DESIGN.md §6). The arrays shown are kept on
the view (`.data`) so that tests and exports read exactly what is on screen.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont

COUNT_CMAP = "viridis"  # overlap counts (>= 0)
SIGNED_CMAP = "CET-D1A"  # signed activations: diverging, white at 0
SPECTRUM_CMAP = "inferno"
MAX_MARKERS = 24  # artifact frequencies circled on a spectrum (the strongest ones)
_TITLE_SIZE = "10pt"


def robust_range(a: np.ndarray, robust: bool = True) -> tuple[float, float]:
    """(lo, hi) of the finite values: the 0.5 and 99.5 percentiles when `robust` (a few extreme border
    pixels must not wash out the pattern), else min and max."""
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return (0.0, 0.0)
    if robust and finite.size > 64:
        sample = finite[:: max(1, finite.size // 65536)]  # percentiles of a regular subsample: fast
        lo, hi = np.percentile(sample, [0.5, 99.5])
        return float(lo), float(hi)
    return float(finite.min()), float(finite.max())


def _levels(a: np.ndarray, signed: bool, robust: bool = False) -> tuple[float, float]:
    """Explicit levels: symmetric about 0 for signed data, else lo..hi (never an empty range)."""
    lo, hi = robust_range(a, robust)
    if signed:
        m = max(abs(lo), abs(hi)) or 1.0
        return (-m, m)
    if hi <= lo:
        return (lo - 0.5, hi + 0.5) if lo == hi else (0.0, 1.0)
    return (lo, hi)


class ImagePlot(pg.PlotWidget):
    """A PlotWidget showing one 2D array (or an RGB image) with a colorbar, a crosshair and hover events.

    `hovered(x, y)` is emitted in data coordinates (NaN, NaN when the mouse leaves the image)."""

    hovered = Signal(float, float)

    def __init__(
        self,
        title: str,
        xlabel: str,
        ylabel: str,
        cmap: str = COUNT_CMAP,
        parent=None,
        invert_y: bool = True,
        colorbar_label: str | None = None,
    ):
        super().__init__(parent)
        self.setMinimumSize(220, 180)
        item = self.getPlotItem()
        self.set_title(title)
        item.setLabel("bottom", xlabel)
        item.setLabel("left", ylabel)
        item.invertY(invert_y)
        item.setAspectLocked(True)
        item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.rgb_image = pg.ImageItem(axisOrder="row-major")
        self.rgb_image.setVisible(False)
        item.addItem(self.image)
        item.addItem(self.rgb_image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1),
            colorMap=cmap,
            interactive=False,
            width=12,
            label=colorbar_label,
            colorMapMenu=False,
        )
        self.colorbar.setImageItem(self.image, insert_in=item)
        pen = pg.mkPen(QColor(255, 255, 255, 200), width=1, style=Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (self.vline, self.hline):
            line.setVisible(False)
            line.setZValue(10)
            item.addItem(line, ignoreBounds=True)
        self.data: np.ndarray | None = None
        self.rect = QRectF()
        self._fitted_shape = None
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_data(
        self,
        data: np.ndarray,
        *,
        cmap: str | None = None,
        signed: bool = False,
        robust: bool = False,
        rect: QRectF | None = None,
        levels: tuple[float, float] | None = None,
    ) -> None:
        """Show a 2D array (colormapped, with explicit levels; `robust`: percentile levels) or an (H, W, 3)
        RGB array in [0, 1]."""
        data = np.asarray(data)
        self.data = data
        h, w = data.shape[:2]
        self.rect = rect if rect is not None else QRectF(0, 0, w, h)
        rgb = data.ndim == 3
        self.image.setVisible(not rgb)
        self.rgb_image.setVisible(rgb)
        self.colorbar.setVisible(not rgb)
        if rgb:
            self.rgb_image.setImage(np.clip(data, 0, 1), levels=(0.0, 1.0), autoLevels=False)
            self.rgb_image.setRect(self.rect)
        else:
            lv = levels or _levels(data.astype(float, copy=False), signed, robust)
            if cmap:
                self.colorbar.setColorMap(cmap)
            self.image.setImage(data.astype(np.float64, copy=False), levels=lv, autoLevels=False)
            self.image.setRect(self.rect)
            self.colorbar.setLevels(lv)
        if self._fitted_shape != (data.shape[:2], self.rect.getRect()):
            self._fitted_shape = (data.shape[:2], self.rect.getRect())
            self.getPlotItem().getViewBox().setRange(self.rect, padding=0.0)

    def clear_data(self, message: str = "") -> None:
        self.data = None
        self.image.clear()
        self.rgb_image.clear()
        self.set_title(message)

    def set_title(self, title: str) -> None:
        """Set the title without letting its text width widen the layout (which would squeeze the
        colorbar out of a narrow plot)."""
        item = self.getPlotItem()
        item.setTitle(title, size=_TITLE_SIZE)
        item.titleLabel.setMinimumWidth(0)
        item.titleLabel.setPreferredWidth(0)

    def set_crosshair(self, x: float | None, y: float | None) -> None:
        """Show the crosshair through (x, y) in data coordinates, or hide it (None)."""
        show = x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
        self.vline.setVisible(show)
        self.hline.setVisible(show)
        if show:
            self.vline.setPos(x)
            self.hline.setPos(y)

    def _mouse_moved(self, pos: QPointF) -> None:
        vb = self.getPlotItem().getViewBox()
        if self.data is None or not vb.sceneBoundingRect().contains(pos):
            self.hovered.emit(math.nan, math.nan)
            return
        p = vb.mapSceneToView(pos)
        if self.rect.contains(p):
            self.hovered.emit(p.x(), p.y())
        else:
            self.hovered.emit(math.nan, math.nan)

    def pixel_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) of the data pixel under data coordinates (x, y), or None outside."""
        if self.data is None or not (math.isfinite(x) and math.isfinite(y)):
            return None
        h, w = self.data.shape[:2]
        j = int((x - self.rect.left()) / self.rect.width() * w)
        i = int((y - self.rect.top()) / self.rect.height() * h)
        return (i, j) if 0 <= i < h and 0 <= j < w else None


def frequency_rect(shape: tuple[int, int]) -> QRectF:
    """The data rectangle (in cycles/pixel) of an fftshift-ed spectrum of `shape`."""
    h, w = shape
    return QRectF(-(w // 2) / w - 0.5 / w, -(h // 2) / h - 0.5 / h, 1.0, 1.0)


class SpectrumPlot(ImagePlot):
    """log10 |DFT| relative to DC, in cycles/pixel, with the analytic artifact frequencies circled."""

    def __init__(self, title: str, parent=None):
        super().__init__(
            title,
            "fx (cycles/pixel)",
            "fy (cycles/pixel)",
            SPECTRUM_CMAP,
            parent,
            invert_y=True,
            colorbar_label="log₁₀ |DFT| / DC",
        )
        for name in ("bottom", "left"):
            self.getPlotItem().getAxis(name).enableAutoSIPrefix(False)
        self.markers = pg.ScatterPlotItem(
            symbol="o", size=11, pen=pg.mkPen("#00e5ff", width=1.4), brush=pg.mkBrush(0, 0, 0, 0), pxMode=True
        )
        self.markers.setZValue(5)
        self.getPlotItem().addItem(self.markers)
        self.marked: list[tuple[float, float]] = []

    def set_spectrum(self, log_spectrum: np.ndarray) -> None:
        finite = log_spectrum[np.isfinite(log_spectrum)]
        hi = float(finite.max()) if finite.size else 0.0
        self.set_data(log_spectrum, rect=frequency_rect(log_spectrum.shape), levels=(hi - 5.0, hi))

    def set_markers(self, freqs: list[tuple[float, float]], limit: int = MAX_MARKERS) -> None:
        """Circle (fy, fx) and its conjugate (-fy, -fx) for the `limit` strongest frequencies."""
        freqs = list(freqs)[:limit]

        def fold(f: float) -> float:  # onto the plotted range [-1/2, 1/2)
            return round(f - 1 if f >= 0.5 else f, 9)

        points = {(fold(sx * float(fx)), fold(sx * float(fy))) for fy, fx in freqs for sx in (1, -1)}
        self.marked = sorted(points)
        self.markers.setData([p[0] for p in self.marked], [p[1] for p in self.marked])


class ProfilePlot(pg.GraphicsLayoutWidget):
    """Two x-linked line plots: the exact overlap profile and the simulated mean profile along one axis."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(160)
        self.top = self.addPlot(row=0, col=0)
        self.bottom = self.addPlot(row=1, col=0)
        self.bottom.setXLink(self.top)
        for plot in (self.top, self.bottom):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.hideButtons()
            plot.getAxis("left").setWidth(48)
        self.top.setLabel("left", "count")
        self.bottom.setLabel("left", "mean")
        self.analytic = self.top.plot(pen=pg.mkPen("#3b528b", width=1.5), stepMode="center")
        self.simulated = self.bottom.plot(pen=pg.mkPen("#c0392b", width=1.2))
        pen = pg.mkPen("#888", style=Qt.PenStyle.DashLine)
        self.cursor = [pg.InfiniteLine(angle=90, movable=False, pen=pen) for _ in range(2)]
        for plot, line in zip((self.top, self.bottom), self.cursor, strict=True):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        self.analytic_data: np.ndarray | None = None
        self.simulated_data: np.ndarray | None = None
        self.set_axis(0)

    def set_axis(self, axis: int) -> None:
        name = "i (row)" if axis == 0 else "j (column)"
        self.top.setTitle(f"Exact overlap count along {name}", size="9pt")
        self.bottom.setTitle(
            f"Simulated output, mean over {'columns' if axis == 0 else 'rows'} and channels", size="9pt"
        )
        self.bottom.setLabel("bottom", name)

    def set_analytic(self, profile: np.ndarray) -> None:
        self.analytic_data = np.asarray(profile, dtype=float)
        n = len(self.analytic_data)
        self.analytic.setData(np.arange(n + 1) - 0.5, self.analytic_data)

    def set_simulated(self, profile: np.ndarray | None) -> None:
        self.simulated_data = None if profile is None else np.asarray(profile, dtype=float)
        if profile is None:
            self.simulated.setData([], [])
        else:
            self.simulated.setData(np.arange(len(profile)), self.simulated_data)

    def set_cursor(self, x: float | None) -> None:
        for line in self.cursor:
            line.setVisible(x is not None)
            if x is not None:
                line.setPos(x)


def small_font(widget, scale: float = 0.92) -> QFont:
    """The widget's font, slightly smaller (for secondary labels)."""
    font = QFont(widget.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * scale))
    return font
