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
from PySide6.QtWidgets import QGraphicsOpacityEffect, QGraphicsRectItem, QLayout, QVBoxLayout

COUNT_CMAP = "viridis"  # overlap counts (>= 0)
SIGNED_CMAP = "CET-D1A"  # signed activations: diverging, white at 0
SPECTRUM_CMAP = "inferno"
MAX_MARKERS = 24  # artifact frequencies circled on a spectrum (the strongest ones)
SPECTRUM_LEVELS = (-6.0, 0.0)  # log10 |DFT| / ||DFT||: fixed, so a spectrum keeps its scale across recomputes
SPECTRUM_PIXELS = 160  # a larger spectrum is max-pooled to about this many bins per side for display
STALE_OPACITY = 0.4  # how an out-of-date view is faded until its new result arrives
AXIS_WIDTH = 40  # fixed left-axis width: linked views of equal size get equal view boxes
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


def _title_width_free(label: pg.LabelItem) -> None:
    """Make a plot title claim its height but no width. pyqtgraph's LabelItem.updateMin (run on every text
    change and resize) makes the text width the label's minimum size, so a long title would make the plot
    item wider than its widget (two views of equal size then show different extents) or squeeze the
    colorbar out of a narrow plot. The text is drawn centred and clipped by the view instead."""
    original = label.updateMin

    def update_min():
        original()
        for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            label._sizeHint[which] = (0, label._sizeHint[which][1])
        label.setMinimumWidth(0)
        label.updateGeometry()

    label.updateMin = update_min
    update_min()


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
        self.setMinimumSize(200, 130)
        item = self.getPlotItem()
        self.stale, self.stale_reason = False, ""
        self.set_title(title)
        item.setLabel("bottom", xlabel)
        item.setLabel("left", ylabel)
        item.invertY(invert_y)
        item.setAspectLocked(True)
        item.hideButtons()
        item.getAxis("left").setWidth(AXIS_WIDTH)
        _title_width_free(item.titleLabel)
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
        self.stale, self.stale_reason = False, ""
        self.outlines: list[QGraphicsRectItem] = []  # a pool, shown as needed (set_outlines)
        self.labels: list[pg.TextItem] = []  # a pool (set_labels)
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
        self.colorbar.setOpacity(0.0 if rgb else 1.0)  # hidden but keeping its width: linked views stay aligned
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
        """Set the title; its text width never widens the layout (see `_title_width_free`)."""
        self._title = title
        suffix = f" · <i>{self.stale_reason}</i>" if self.stale else ""
        color = "#888" if self.stale else None
        self.getPlotItem().setTitle(title + suffix, size=_TITLE_SIZE, color=color)

    @property
    def title(self) -> str:
        return self.getPlotItem().titleLabel.text

    def set_stale(self, stale: bool, reason: str = "updating…") -> None:
        """Show that the picture is out of date (faded, greyed title with `reason`) or current."""
        if (stale, reason) == (self.stale, self.stale_reason):
            return
        self.stale, self.stale_reason = stale, reason
        for item in (self.image, self.rgb_image):
            item.setOpacity(STALE_OPACITY if stale else 1.0)
        self.set_title(self._title)

    def set_crosshair(self, x: float | None, y: float | None) -> None:
        """Show the crosshair through (x, y) in data coordinates, or hide it (None)."""
        show = x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
        self.vline.setVisible(show)
        self.hline.setVisible(show)
        if show:
            self.vline.setPos(x)
            self.hline.setPos(y)

    def set_outlines(self, rects: list[QRectF], color: str = "#ff3b30") -> None:
        """Outline data rectangles (e.g. footprints, the current stamp) over the image; [] hides them."""
        pen = pg.mkPen(color, width=1.2)
        pen.setCosmetic(True)
        while len(self.outlines) < len(rects):
            item = QGraphicsRectItem()
            item.setZValue(8)
            self.getPlotItem().getViewBox().addItem(item, ignoreBounds=True)
            self.outlines.append(item)
        for k, item in enumerate(self.outlines):
            item.setVisible(k < len(rects))
            if k < len(rects):
                item.setRect(rects[k])
                item.setPen(pen)

    def set_labels(self, labels: list[tuple[int, int, str]]) -> None:
        """Write text on pixels: (row, column, text) each; [] removes them."""
        while len(self.labels) < len(labels):
            item = pg.TextItem(anchor=(0.5, 0.5), color="w")
            item.setZValue(9)
            self.getPlotItem().addItem(item, ignoreBounds=True)
            self.labels.append(item)
        for k, item in enumerate(self.labels):
            item.setVisible(k < len(labels))
            if k < len(labels):
                i, j, text = labels[k]
                item.setText(text)
                item.setPos(j + 0.5, i + 0.5)

    def set_highlight(self, rect: QRectF | None) -> None:
        """Outline one data rectangle, or none."""
        self.set_outlines([] if rect is None else [rect], "#ff3b30")

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


def frequency_rect(shape: tuple[int, int], bins: tuple[int, int] | None = None) -> QRectF:
    """The data rectangle (in cycles/pixel) of an fftshift-ed spectrum of `shape`; `bins` (>= shape) when the
    shown array covers more bins than the spectrum (padding at the high end)."""
    h, w = shape
    bh, bw = bins or shape
    return QRectF(-(w // 2) / w - 0.5 / w, -(h // 2) / h - 0.5 / h, bw / w, bh / h)


def max_pool(a: np.ndarray, limit: int = SPECTRUM_PIXELS) -> tuple[np.ndarray, int]:
    """(a max-pooled by f x f blocks, f), f the smallest factor that brings both sides to <= `limit` bins.

    Max, not mean or nearest sampling: a single-bin artifact peak must stay visible when the view is smaller
    than the spectrum. The last blocks are padded with the minimum. O(HW)."""
    h, w = a.shape
    f = max(1, -(-max(h, w) // limit))
    if f == 1:
        return a, 1
    hp, wp = -(-h // f) * f, -(-w // f) * f
    padded = np.full((hp, wp), float(np.min(a)))
    padded[:h, :w] = a
    return padded.reshape(hp // f, f, wp // f, f).max(axis=(1, 3)), f


class SpectrumPlot(ImagePlot):
    """log10 |DFT| relative to the DFT's norm, in cycles/pixel, on a fixed colour scale, with the analytic
    artifact frequencies circled. The frequency square fills the view (no aspect lock) and large spectra are
    max-pooled for display so that single-bin peaks stay visible; `full` keeps every bin for the readout."""

    def __init__(self, title: str, parent=None):
        super().__init__(
            title,
            "fx (cycles/pixel)",
            "fy (cycles/pixel)",
            SPECTRUM_CMAP,
            parent,
            invert_y=True,
            colorbar_label="log₁₀ |DFT| / ‖DFT‖",
        )
        self.getPlotItem().setAspectLocked(False)
        for name in ("bottom", "left"):
            self.getPlotItem().getAxis(name).enableAutoSIPrefix(False)
        self.markers = pg.ScatterPlotItem(
            symbol="o", size=11, pen=pg.mkPen("#00e5ff", width=1.4), brush=pg.mkBrush(0, 0, 0, 0), pxMode=True
        )
        self.markers.setZValue(5)
        self.getPlotItem().addItem(self.markers)
        self.marked: list[tuple[float, float]] = []
        self.full: np.ndarray | None = None

    def set_spectrum(self, log_spectrum: np.ndarray) -> None:
        self.full = log_spectrum
        shown, f = max_pool(log_spectrum)
        rect = frequency_rect(log_spectrum.shape, (shown.shape[0] * f, shown.shape[1] * f))
        self.set_data(shown, rect=rect, levels=SPECTRUM_LEVELS)

    def value_at(self, x: float, y: float) -> tuple[float, float, float] | None:
        """(fy, fx, log10 |DFT| / ||DFT||) of the spectrum bin nearest to (fx, fy) = (x, y), or None."""
        if self.full is None or not (math.isfinite(x) and math.isfinite(y)):
            return None
        h, w = self.full.shape
        i, j = round(y * h) + h // 2, round(x * w) + w // 2
        if not (0 <= i < h and 0 <= j < w):
            return None
        return (i - h // 2) / h, (j - w // 2) / w, float(self.full[i, j])

    def set_markers(self, freqs: list[tuple[float, float]], limit: int = MAX_MARKERS) -> None:
        """Circle (fy, fx) and its conjugate (-fy, -fx) for the `limit` strongest frequencies."""
        freqs = list(freqs)[:limit]

        def fold(f: float) -> float:  # onto the plotted range [-1/2, 1/2)
            return round(f - 1 if f >= 0.5 else f, 9)

        points = {(fold(sx * float(fx)), fold(sx * float(fy))) for fy, fx in freqs for sx in (1, -1)}
        self.marked = sorted(points)
        self.markers.setData([p[0] for p in self.marked], [p[1] for p in self.marked])


class Staleness:
    """A panel that can show that it holds an out-of-date result: faded (an opacity effect) with a tooltip
    saying why, until `set_stale(False)`. Mixed into QWidget subclasses."""

    stale = False

    def set_stale(self, stale: bool, reason: str = "updating…") -> None:
        if stale == self.stale:
            return
        self.stale = stale
        if stale:
            effect = QGraphicsOpacityEffect(self)
            effect.setOpacity(STALE_OPACITY + 0.15)
            self.setGraphicsEffect(effect)
        else:
            self.setGraphicsEffect(None)
        self.setStatusTip(f"out of date: {reason}" if stale else "")


class ProfilePlot(Staleness, pg.GraphicsLayoutWidget):
    """Two x-linked line plots: the exact overlap profile and the simulated mean profile along one axis.

    The plots are built when the widget is first shown (they cost ~0.1 s, not worth it at start-up); until
    then the data and the cursor are only kept (`axis`, `analytic_data`, `simulated_data`, `cursor_at`)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(160)
        self.axis, self.cursor_at = 0, None
        self.analytic_data: np.ndarray | None = None
        self.simulated_data: np.ndarray | None = None
        self.top = None

    def _build(self) -> None:
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
            plot.addItem(line, ignoreBounds=True)
        self._draw()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.top is None:
            self._build()

    def _draw(self) -> None:
        if self.top is None:
            return
        name = "i (row)" if self.axis == 0 else "j (column)"
        self.top.setTitle(f"Exact overlap count along {name}", size="9pt")
        self.bottom.setTitle(f"Simulated output, mean over {'columns' if self.axis == 0 else 'rows'} and channels",
                             size="9pt")
        self.bottom.setLabel("bottom", name)
        if self.analytic_data is not None:
            self.analytic.setData(np.arange(len(self.analytic_data) + 1) - 0.5, self.analytic_data)
        if self.simulated_data is None:
            self.simulated.setData([], [])
        else:
            self.simulated.setData(np.arange(len(self.simulated_data)), self.simulated_data)
        for line in self.cursor:
            line.setVisible(self.cursor_at is not None)
            if self.cursor_at is not None:
                line.setPos(self.cursor_at)

    def set_axis(self, axis: int) -> None:
        self.axis = axis
        self._draw()

    def set_analytic(self, profile: np.ndarray) -> None:
        self.analytic_data = np.asarray(profile, dtype=float)
        self._draw()

    def set_simulated(self, profile: np.ndarray | None) -> None:
        self.simulated_data = None if profile is None else np.asarray(profile, dtype=float)
        self._draw()

    def set_cursor(self, x: float | None) -> None:
        self.cursor_at = x
        if self.top is not None:
            for line in self.cursor:
                line.setVisible(x is not None)
                if x is not None:
                    line.setPos(x)


def column(widget, *items, margins: tuple[int, int, int, int] = (4, 2, 4, 2), spacing: int = 2) -> QVBoxLayout:
    """`widget`'s vertical layout with the panels' margins and spacing, holding `items` (widgets or layouts;
    a (item, stretch) pair stretches)."""
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(*margins)
    layout.setSpacing(spacing)
    for item in items:
        item, stretch = item if isinstance(item, tuple) else (item, 0)
        (layout.addLayout if isinstance(item, QLayout) else layout.addWidget)(item, stretch)
    return layout


def small_font(widget, scale: float = 0.92) -> QFont:
    """The widget's font, slightly smaller (for secondary labels)."""
    font = QFont(widget.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * scale))
    return font
