"""The metrics table: per layer, the exact pattern next to the simulated artifact metrics (Monte Carlo)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from .compute import AnalyticResult, SimulationResult, exact_str, mean_se
from .views import Staleness, small_font

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
    "Theory\nperiod",
    "Theory\ncontrast",
    "Theory\nenergy",
    "Theory\nperiod, random w.",
    "Sim.\ncontrast",
    "Sim.\nmodulation",
    "Sim.\nenergy",
)
_TIPS = (
    "Layer index (from 0, as in nn.Sequential) and type",
    "Output shape H×W×C",
    "Theory (exact): minimal period of the overlap count of the stack up to this layer",
    "Theory (exact): max/min of the overlap tile (∞: holes)",
    "Theory (exact): fraction of the overlap tile's energy at the artifact frequencies",
    "Theory: the period of the output under random weights (every phase gets its own sum of weights); the "
    "simulated metrics are measured over it",
    "Simulated: max/min of the channel-mean phase tile, mean ± standard error over the draws whose tile is "
    "positive; 'n/a' when the tile crosses 0 (a signed output: see the modulation)",
    "Simulated: (max − min) / mean |tile| of the channel-mean phase tile, mean ± standard error over draws",
    "Simulated: fraction of the interior's energy at the artifact frequencies, mean ± standard error over draws",
)


def _mean_se_text(values: np.ndarray) -> str:
    mean, se, n = mean_se(values)
    if n == 0:
        return "—"
    return f"{mean:.3g}" if se is None else f"{mean:.3g} ± {se:.2g}"


def _contrast_text(values: np.ndarray, tile_mean: np.ndarray | None) -> str:
    """Simulated contrast: mean ± s.e. over the draws with a positive phase tile, how many of them, or why
    there is none (the draw-mean tile crosses 0, or a phase is 0)."""
    mean, se, n = mean_se(values)
    if n == 0:
        if tile_mean is not None:
            t = np.asarray(tile_mean, dtype=float).reshape(-1, *np.shape(tile_mean)[-2:]).mean(axis=0)
            if t.min() < 0 < t.max():
                return "n/a (tile crosses 0)"
        return "∞ (a phase is 0)"
    text = f"{mean:.3g}" if se is None else f"{mean:.3g} ± {se:.2g}"
    return text if n == len(values) else f"{text} ({n}/{len(values)} draws)"


def metrics_rows(a: AnalyticResult, sim: SimulationResult | None) -> list[list[str]]:
    """The table's cells, Qt-free: per layer the exact (theory) columns and, once `sim` matches the stack,
    the simulated ones ("…" until then)."""
    stack, rows = a.config.stack, []
    mc = sim.monte_carlo if sim is not None and sim.config.stack == stack else None
    for r, layer in enumerate(stack):
        c, h, w = a.shapes[r + 1]
        exact = a.layer_exact[r]
        cells = [f"{r} {_SHORT.get(layer.type, layer.type)}", f"{h}×{w}×{c}"]
        if exact is not None:
            contrast = "∞" if exact.contrast == float("inf") else exact_str(exact.contrast)
            cells += [f"{exact.period[0]}×{exact.period[1]}", contrast, f"{exact.energy:.3g}"]
        else:
            cells += ["—", "—", "—"]
        cells.append("{}×{}".format(*a.generic_periods[r]))
        if mc is not None:
            cells += [_contrast_text(mc.contrast[:, r], mc.layers[r].tile_mean),
                      _mean_se_text(mc.modulation[:, r]), _mean_se_text(mc.artifact_energy[:, r])]
        else:
            cells += ["…"] * 3
        rows.append(cells)
    return rows


class MetricsPanel(Staleness, QTableWidget):
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
        if self.analytic is not None:
            self._set_rows(list(zip(self.analytic.config.stack, metrics_rows(self.analytic, self.simulation),
                                    strict=True)))

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
