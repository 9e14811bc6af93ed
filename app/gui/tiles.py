"""The tile of the shown layer: one period of the interior pattern with its numbers, coloured like the map,
and a summary (period, evenness, holes, contrast, artifact frequencies).

A tile up to `MAX_TABLE` per side is a table whose columns are as wide as their numbers (it scrolls
rather than eliding a number to "…"); a larger one is a zoomable heatmap with a hover readout.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from .compute import LayerView, exact_str, to_float
from .views import COUNT_CMAP, ImagePlot, Staleness, column, small_font

MAX_TABLE = 32  # tiles up to this many rows and columns are listed with their numbers


class TileTable(QStackedWidget):
    """One period of a tile: a table of its numbers (`texts`) coloured by value, or a heatmap when larger
    than `MAX_TABLE` per side."""

    def __init__(self, title: str, tip: str, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setFont(small_font(self, 0.8))
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setFont(small_font(self, 0.75))
            header.setMinimumSectionSize(12)
        self.table.setToolTip(tip)
        self.title = title
        self.plot: ImagePlot | None = None  # the heatmap for large tiles, built when first needed
        self.addWidget(self.table)
        self.cmap = pg.colormap.get(COUNT_CMAP)
        self.shape: tuple[int, int] | None = None
        self._highlight: tuple[int, int] | None = None

    def set_tile(self, values: np.ndarray, texts: list[list[str]]) -> None:
        """Show a (ph, pw) tile: float `values` for the colours, `texts` for the numbers."""
        values = np.asarray(values, dtype=float)
        self.shape = values.shape
        self._highlight = None
        if max(values.shape) > MAX_TABLE:
            if self.plot is None:
                self.plot = ImagePlot(self.title, "j mod pw", "i mod ph", COUNT_CMAP, self, colorbar_label="value")
                self.addWidget(self.plot)
            self.plot.set_data(values)
            self.setCurrentWidget(self.plot)
            return
        self._fill_table(values, texts)
        self.setCurrentWidget(self.table)

    def _fill_table(self, values: np.ndarray, texts: list[list[str]]) -> None:
        ph, pw = values.shape
        table = self.table
        table.setUpdatesEnabled(False)
        try:
            table.clear()
            table.setRowCount(ph)
            table.setColumnCount(pw)
            table.setHorizontalHeaderLabels([str(j) for j in range(pw)])
            table.setVerticalHeaderLabels([str(i) for i in range(ph)])
            lo, hi = float(values.min()), float(values.max())
            t = np.full(values.shape, 0.5) if hi == lo else (values - lo) / (hi - lo)
            colors = self.cmap.map(t.ravel(), mode="byte").reshape(ph, pw, -1)
            for i in range(ph):
                for j in range(pw):
                    item = QTableWidgetItem(texts[i][j])
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    bg = QColor(*(int(v) for v in colors[i, j, :3]))
                    item.setBackground(QBrush(bg))
                    item.setForeground(QBrush(QColor("black") if bg.lightnessF() > 0.55 else QColor("white")))
                    table.setItem(i, j, item)
            # Every column at least as wide as its widest number: the table scrolls instead of eliding.
            longest = sorted((text for row in texts for text in row), key=len)[-3:]  # the widest is among them
            widest = max(table.fontMetrics().horizontalAdvance(text) for text in longest)
            horizontal, vertical = table.horizontalHeader(), table.verticalHeader()
            horizontal.setMinimumSectionSize(widest + 8)
            horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            vertical.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            if ph <= 4 and pw <= 4:  # a few cells: a compact block instead of filling the panel
                horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
                vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
                for k in range(pw):
                    horizontal.resizeSection(k, max(56, widest + 8))
                for k in range(ph):
                    vertical.resizeSection(k, 26)
        finally:
            table.setUpdatesEnabled(True)

    def highlight(self, phase: tuple[int, int] | None) -> None:
        """Mark the cell of the hovered pixel's phase (bold, underlined)."""
        if self._highlight == phase or self.currentWidget() is not self.table:
            return
        for cell, bold in ((self._highlight, False), (phase, True)):
            item = self.table.item(*cell) if cell is not None else None
            if item is not None:
                font = item.font()
                font.setBold(bold)
                font.setUnderline(bold)
                item.setFont(font)
        self._highlight = phase


class TilePanel(Staleness, QWidget):
    """The summary of the shown layer's exact pattern, its exact tile, and beside it the simulated
    phase-averaged tile (over the generic period, averaged over the draws and the channels), with a button
    that zooms the maps to one period. `zoomRequested` asks the window to do so."""

    zoomRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoom_button = QPushButton("Zoom to one period", self)
        self.zoom_button.setToolTip("Show one period of the interior in both maps (the generic period of random "
                                    "weights, a multiple of the exact one)")
        self.zoom_button.clicked.connect(self.zoomRequested)
        self.exact = TileTable("Exact tile", "One period of the interior: count at (i mod ph, j mod pw)", self)
        self.simulated = TileTable("Simulated phase mean", "Mean of the simulated output over the interior pixels "
                                   "of each phase (i mod ph, j mod pw), averaged over the draws and channels", self)
        self.exact_title, self.simulated_title = QLabel(self), QLabel(self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setFont(small_font(self, 0.85))
        self.note.setStyleSheet("color: #555;")
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.zoom_button, 0, Qt.AlignmentFlag.AlignTop)
        tiles = QGridLayout()
        tiles.addWidget(self.exact_title, 0, 0)
        tiles.addWidget(self.simulated_title, 0, 1)
        tiles.addWidget(self.exact, 1, 0)
        tiles.addWidget(self.simulated, 1, 1)
        tiles.setRowStretch(1, 1)
        column(self, head, (tiles, 1), self.note, spacing=3)
        self.result: LayerView | None = None
        self.simulated_tile: np.ndarray | None = None

    def set_view(self, view: LayerView) -> None:
        """Show the pattern of one layer's exact map (`LayerView`)."""
        self.result = view
        p = view.pattern
        self.exact.setVisible(p is not None)
        self.exact_title.setText("<b>Exact tile</b> (all-ones kernels)")
        if p is None:
            self.summary.setText("No interior: this layer's output has no periodic pattern; every pixel is "
                                 "border.")
            self.note.setText("")
            return
        no_interior = ("" if view.has_interior else
                       "<b>No interior at this input size</b>: every output pixel is within reach of the border. "
                       "On a larger input the stack's pattern is:<br>")
        self.summary.setText(no_interior + summary_html(view))
        tile = np.asarray(p.tile)
        self.exact.set_tile(to_float(tile), [[exact_str(v) for v in row] for row in tile])
        rows_text = " ".join(exact_str(v) for v in p.axes[0].tile)
        cols_text = " ".join(exact_str(v) for v in p.axes[1].tile)
        self.note.setText(f"tile = rows [{rows_text}] ⊗ columns [{cols_text}]")

    def set_simulated(self, tile: np.ndarray | None, draws: int = 1) -> None:
        """The simulated phase-mean tile of the shown layer, (C, ph, pw) averaged over draws, or None."""
        self.simulated.setVisible(tile is not None)
        if tile is None:
            self.simulated_tile = None
            self.simulated_title.setText("<b>Simulated phase mean</b>: none for the input")
            return
        mean = np.asarray(tile, dtype=float).reshape(-1, *np.shape(tile)[-2:]).mean(axis=0)
        self.simulated_tile = mean
        ph, pw = mean.shape
        self.simulated_title.setText(f"<b>Simulated phase mean</b> ({ph}×{pw}, {draws} draw{'s' * (draws > 1)}, "
                                     "channel mean)")
        self.simulated.set_tile(mean, [[f"{v:.3g}" for v in row] for row in mean])

    def highlight(self, pixel: tuple[int, int] | None) -> None:
        """Mark output pixel (i, j)'s phase in both tiles, each by its own period (None: unmark)."""
        p = self.result.pattern if self.result is not None else None
        tiles = ((self.exact, p.period if p is not None else None),
                 (self.simulated, self.simulated_tile.shape if self.simulated_tile is not None else None))
        for table, period in tiles:
            table.highlight(None if pixel is None or period is None else (pixel[0] % period[0], pixel[1] % period[1]))


def summary_html(view: LayerView) -> str:
    """Period, evenness, holes, contrast, edges and the strongest artifact frequencies of a layer's pattern."""
    p = view.pattern
    ph, pw = p.period
    contrast = p.contrast
    if contrast == float("inf"):
        contrast_text = "∞ (holes)"
    else:
        exact = Fraction(contrast).denominator == 1
        contrast_text = exact_str(contrast) + ("" if exact else f" ≈ {float(contrast):.4g}")
    verdict = ("<span style='color:#1b7837'><b>even</b> — no checkerboard in the overlap</span>" if p.is_even
               else "<span style='color:#b2182b'><b>uneven</b> — checkerboard</span>")
    holes = " · <b>holes</b>: some pixels get no tap" if p.has_holes else ""
    freqs = view.exact.freqs if view.exact is not None else p.artifact_frequencies
    top = ", ".join(f"({exact_str(fy)}, {exact_str(fx)}): {a:.3g}" for fy, fx, a in freqs[:3])
    total = p.artifact_count  # all of them, not only the listed strongest
    more = f" +{total - len(freqs[:3])} more" if total > 3 else ""
    freq_text = f"artifacts (fy, fx): {top}{more}" if freqs else "no artifact frequency: the interior is flat"
    return (f"<b>Period</b> {ph} × {pw} &nbsp;·&nbsp; {verdict}{holes}<br>"
            f"<b>Contrast</b> max/min = {contrast_text} &nbsp;·&nbsp; "
            f"<b>edges</b> {p.edge[0][0]}/{p.edge[0][1]} rows, {p.edge[1][0]}/{p.edge[1][1]} cols<br>"
            f"<span style='color:#444'>{freq_text}</span>")
