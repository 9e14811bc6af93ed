"""The exact tile of the shown layer: period, evenness, holes, contrast, artifact frequencies, and one period
of the interior with its exact numbers, coloured like the map."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .compute import LayerView, exact_str
from .views import COUNT_CMAP, small_font


class TilePanel(QWidget):
    """Period, evenness, holes, contrast, artifact frequencies, and the tile with its exact numbers."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(14)
        self.table.verticalHeader().setMinimumSectionSize(12)
        self.table.setFont(small_font(self, 0.8))
        self.table.horizontalHeader().setFont(small_font(self, 0.75))
        self.table.verticalHeader().setFont(small_font(self, 0.75))
        self.table.setToolTip("One period of the interior: count at (i mod ph, j mod pw)")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setFont(small_font(self, 0.85))
        self.note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self.cmap = pg.colormap.get(COUNT_CMAP)
        self.result: LayerView | None = None
        self._highlight: tuple[int, int] | None = None

    def set_view(self, view: LayerView) -> None:
        """Show the pattern of one layer's exact map (`LayerView`)."""
        self.result = view
        p = view.pattern
        if p is None:
            self.table.setVisible(False)
            self.summary.setText("This layer's output has no periodic interior: every pixel is border.")
            self.note.setText("")
            return
        ph, pw = p.period
        contrast = p.contrast
        if contrast == float("inf"):
            contrast_text = "∞ (holes)"
        else:
            contrast_text = exact_str(contrast) + (
                "" if Fraction(contrast).denominator == 1 else f" ≈ {float(contrast):.4g}"
            )
        verdict = (
            "<span style='color:#1b7837'><b>even</b> — no checkerboard in the overlap</span>"
            if p.is_even
            else "<span style='color:#b2182b'><b>uneven</b> — checkerboard</span>"
        )
        holes = " · <b>holes</b>: some pixels get no tap" if p.has_holes else ""
        freqs = view.exact.freqs if view.exact is not None else p.artifact_frequencies
        top = ", ".join(f"({exact_str(fy)}, {exact_str(fx)}): {a:.3g}" for fy, fx, a in freqs[:3])
        more = f" +{len(freqs) - 3} more" if len(freqs) > 3 else ""
        freq_text = (
            f"artifacts (fy, fx): {top}{more}" if freqs else "no artifact frequency: the interior is flat"
        )
        self.summary.setText(
            f"<b>Period</b> {ph} × {pw} &nbsp;·&nbsp; {verdict}{holes}<br>"
            f"<b>Contrast</b> max/min = {contrast_text} &nbsp;·&nbsp; "
            f"<b>edges</b> {p.edge[0][0]}/{p.edge[0][1]} rows, {p.edge[1][0]}/{p.edge[1][1]} cols<br>"
            f"<span style='color:#444'>{freq_text}</span>"
        )
        tile = np.asarray(p.tile)
        if view.tile_numbers:
            self._fill_table(tile)
            self.table.setVisible(True)
            rows_text = " ".join(exact_str(v) for v in p.axes[0].tile)
            cols_text = " ".join(exact_str(v) for v in p.axes[1].tile)
            self.note.setText(f"tile = rows [{rows_text}] ⊗ columns [{cols_text}]")
        else:
            self.table.setVisible(False)
            self.table.clear()
            self.note.setText(
                f"The {ph}×{pw} tile is too large to list (more than 16 per side); "
                "export it with File ▸ Export ▸ Data ▸ Overlap tile."
            )

    def _fill_table(self, tile: np.ndarray) -> None:
        ph, pw = tile.shape
        values = np.vectorize(float, otypes=[float])(tile)
        lo, hi = float(values.min()), float(values.max())
        self.table.clear()
        self.table.setRowCount(ph)
        self.table.setColumnCount(pw)
        self.table.setHorizontalHeaderLabels([str(j) for j in range(pw)])
        self.table.setVerticalHeaderLabels([str(i) for i in range(ph)])
        small = ph <= 4 and pw <= 4  # a few cells: fixed size instead of filling the panel
        for header, size in ((self.table.horizontalHeader(), 56), (self.table.verticalHeader(), 26)):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed if small else QHeaderView.ResizeMode.Stretch)
            if small:
                for k in range(header.count()):
                    header.resizeSection(k, size)
        t = np.full(values.shape, 0.5) if hi == lo else (values - lo) / (hi - lo)
        colors = self.cmap.map(t.ravel(), mode="byte").reshape(ph, pw, -1)
        for i in range(ph):
            for j in range(pw):
                item = QTableWidgetItem(exact_str(tile[i, j]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                r, g, b = (int(v) for v in colors[i, j, :3])
                bg = QColor(r, g, b)
                item.setBackground(QBrush(bg))
                item.setForeground(QBrush(QColor("black") if bg.lightnessF() > 0.55 else QColor("white")))
                self.table.setItem(i, j, item)
        self._highlight = None

    def highlight(self, phase: tuple[int, int] | None) -> None:
        """Outline the tile cell of the hovered pixel's phase."""
        if self._highlight == phase or self.result is None or self.table.isHidden():
            return
        for cell, bold in ((self._highlight, False), (phase, True)):
            if cell is None:
                continue
            item = self.table.item(*cell)
            if item is not None:
                font = item.font()
                font.setBold(bold)
                font.setUnderline(bold)
                item.setFont(font)
        self._highlight = phase
