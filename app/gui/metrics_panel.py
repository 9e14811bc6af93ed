"""The metrics table: per layer, the exact pattern next to the simulated artifact metrics (Monte Carlo)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from .compute import AnalyticResult, SimulationResult, exact_str
from .views import small_font

_SHORT = {
    "ConvTranspose2d": "ConvT",
    "Conv2d": "Conv",
    "Upsample": "Upsample",
    "PixelShuffle": "PixShuffle",
    "LeakyReLU": "LeakyReLU",
}

COLUMNS = (
    "Layer",
    "Output",
    "Exact\nperiod",
    "Exact\ncontrast",
    "Exact\nenergy",
    "Sim.\nperiod",
    "Sim.\ncontrast",
    "Sim.\nmodulation",
    "Sim.\nenergy",
)
_TIPS = (
    "Layer index (from 0, as in nn.Sequential) and type",
    "Output shape H×W×C",
    "Minimal period of the overlap count of the stack up to this layer",
    "max/min of the overlap tile (∞: holes)",
    "Fraction of the overlap tile's energy at the artifact frequencies",
    "Generic period: with random weights every phase gets its own sum of weights",
    "max/min of the channel-mean phase tile of the simulated output (mean ± std over draws; ∞ when it "
    "crosses 0)",
    "(max − min) / mean|tile| of the simulated phase tile",
    "Fraction of the simulated interior's energy at the artifact frequencies",
)


def _pm(mean: float, std: float, draws: int) -> str:
    if not math.isfinite(mean):
        return "—"
    return f"{mean:.4g}" if draws <= 1 or not math.isfinite(std) else f"{mean:.3g} ± {std:.2g}"


class MetricsPanel(QTableWidget):
    """One row per layer. Exact columns fill as soon as the analysis is done, simulated ones after the run."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        for i, tip in enumerate(_TIPS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setFont(small_font(self, 0.9))
        self.analytic: AnalyticResult | None = None
        self.simulation: SimulationResult | None = None

    def set_analytic(self, result: AnalyticResult) -> None:
        self.analytic = result
        if self.simulation is not None and self.simulation.config.stack != result.config.stack:
            self.simulation = None
        self._fill()

    def set_simulation(self, result: SimulationResult) -> None:
        self.simulation = result
        self._fill()

    def values(self) -> list[list[str]]:
        """The table's text, row by row (for tests and CSV export)."""
        return [
            [self.item(r, c).text() if self.item(r, c) else "" for c in range(self.columnCount())]
            for r in range(self.rowCount())
        ]

    def _fill(self) -> None:
        a = self.analytic
        if a is None:
            return
        stack = a.config.stack
        sim = self.simulation
        stats = sim.monte_carlo.layers if sim is not None else None
        draws = sim.monte_carlo.draws if sim is not None else 0
        rows = []
        for r, layer in enumerate(stack):
            c, h, w = a.shapes[r + 1]
            exact = a.layer_exact[r] if r < len(a.layer_exact) else None
            cells = [f"{r} {_SHORT.get(layer.type, layer.type)}", f"{h}×{w}×{c}"]
            if exact is not None:
                cells += [
                    f"{exact.period[0]}×{exact.period[1]}",
                    "∞" if exact.contrast == float("inf") else exact_str(exact.contrast),
                    f"{exact.energy:.3g}",
                ]
            else:
                cells += ["—", "—", "—"]
            if stats is not None:
                s = stats[r]
                metrics = sim.monte_carlo.first.metrics[r]
                period = f"{metrics.period[0]}×{metrics.period[1]}" if metrics is not None else "—"
                if s.contrast_infinite >= 1.0:
                    contrast = "∞"
                else:
                    contrast = _pm(s.contrast_mean, s.contrast_std, draws)
                    if s.contrast_infinite > 0:
                        contrast = f"∞ in {s.contrast_infinite:.0%}, else {contrast}"
                cells += [
                    period,
                    contrast,
                    _pm(s.modulation_mean, s.modulation_std, draws),
                    _pm(s.energy_mean, s.energy_std, draws),
                ]
            else:
                cells += ["…"] * 4
            rows.append((layer, cells))
        self._set_rows(rows)

    def _set_rows(self, rows) -> None:
        """Update the items in place (creating only missing ones), then size the columns once."""
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setUpdatesEnabled(False)
        try:
            self.setRowCount(len(rows))
            for r, (layer, cells) in enumerate(rows):
                for col, text in enumerate(cells):
                    item = self.item(r, col)
                    if item is None:
                        item = QTableWidgetItem()
                        if col >= 2:
                            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                        self.setItem(r, col, item)
                    item.setText(text)
                    if col == 0:
                        item.setToolTip(layer.spec())
            self.resizeColumnsToContents()
        finally:
            self.setUpdatesEnabled(True)

    def as_array(self) -> np.ndarray:
        """The table with its header as a 2D array of strings."""
        return np.array([[c.replace("\n", " ") for c in COLUMNS]] + self.values(), dtype=str)
