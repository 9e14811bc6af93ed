"""The maps: for any layer of the stack, its exact overlap map beside the simulated activation, and both
spectra below, under one layer selector.

The selector lists the input and every layer (numbered from 0, as in nn.Sequential). A choice is kept by
layer identity: editing any layer, or inserting one before it, keeps the same layer on screen; until the
user picks one, the selector follows the stack's output. The two image views share their extents
(`ViewSync`), as do the two spectra.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .compute import AnalyticResult, LayerView, SimulationResult
from .linking import ViewSync
from .views import COUNT_CMAP, SIGNED_CMAP, ImagePlot, SpectrumPlot, robust_range, small_font

INPUT_UID = 0  # the identity of the selector's "input" entry (rows have uids >= 1)


def display_array(a: np.ndarray, channel: str, absolute: bool = False) -> tuple[np.ndarray, bool]:
    """What to draw for a (C, H, W) activation: ((H, W, 3) RGB in [0, 1], True) or ((H, W), False).

    channel: 'rgb' (only for C == 3: the 0.5..99.5 percentiles of all channels mapped to 0..1, or with
    `absolute` 0..max(1, max) for an input image), 'mean', or a channel index."""
    if channel == "rgb" and a.shape[0] == 3 and absolute:
        top = max(1.0, float(a.max()))
        return np.ascontiguousarray(np.clip(a / top, 0, 1).transpose(1, 2, 0), dtype=np.float64), True
    if channel == "rgb" and a.shape[0] == 3:
        lo, hi = robust_range(a)
        rgb = (a - lo) / (hi - lo) if hi > lo else np.full_like(a, 0.5)
        return np.ascontiguousarray(rgb.transpose(1, 2, 0), dtype=np.float64), True
    if channel in ("rgb", "mean"):
        return a.mean(axis=0, dtype=np.float64), False
    return a[min(int(channel), a.shape[0] - 1)].astype(np.float64), False


class MapsPanel(QWidget):
    """Layer and channel selectors over the exact map | simulated activation, and their spectra.

    `positionChanged(position)`: the shown layer changed (0 = input, k = after layer k - 1)."""

    positionChanged = Signal(int)
    sideShown = Signal(str)  # "exact" or "simulated": that side now shows a new result or another layer

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.layer = QComboBox(self)
        self.layer.setToolTip("Which layer's output to show, exact and simulated: watch the artifact grow with depth")
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer.setMinimumContentsLength(16)
        self.channel = QComboBox(self)
        self.channel.setToolTip("RGB (3 channels), the mean over channels, or one channel")
        self.layer.activated.connect(self._chosen)
        self.channel.currentIndexChanged.connect(lambda _: self._show_simulated())
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(2, 0, 2, 0)
        self.bar.addWidget(QLabel("Layer", self))
        self.bar.addWidget(self.layer, 1)
        self.bar.addWidget(QLabel("Channel", self))
        self.bar.addWidget(self.channel)
        self.footprints = QCheckBox("Footprints", self)
        self.footprints.setToolTip("While hovering the exact map, outline where the kernel of every input pixel "
                                   "that feeds the hovered pixel lands: their overlap is the count")
        self.bar.addWidget(self.footprints)

        self.exact_plot = ImagePlot("Exact overlap count", "j (column)", "i (row)", COUNT_CMAP, self,
                                    colorbar_label="count")
        self.simulated_plot = ImagePlot("Simulated output", "j (column)", "i (row)", SIGNED_CMAP, self,
                                        colorbar_label="value")
        self.exact_spectrum = SpectrumPlot("Spectrum of the overlap map", self)
        self.simulated_spectrum = SpectrumPlot("Spectrum of the simulated output", self)
        self.readout = QLabel(" ", self)
        self.readout.setFont(small_font(self))
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for (row, col), widget in (((0, 0), self.exact_plot), ((0, 1), self.simulated_plot),
                                   ((1, 0), self.exact_spectrum), ((1, 1), self.simulated_spectrum)):
            grid.addWidget(widget, row, col)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 0)
        layout.setSpacing(2)
        layout.addLayout(self.bar)
        layout.addLayout(grid, 1)
        layout.addWidget(self.readout)
        self.image_sync = ViewSync([self.exact_plot, self.simulated_plot], self)
        self.spectrum_sync = ViewSync([self.exact_spectrum, self.simulated_spectrum], self)

        self.analytic: AnalyticResult | None = None
        self.simulation: SimulationResult | None = None
        self.selected_uid: int | None = None  # None: follow the output
        self.shown: np.ndarray | None = None  # the (C, H, W) activation on screen

    # ---- selection --------------------------------------------------------------------------------
    @property
    def position(self) -> int:
        """Selector position of the shown layer (0 = input, k = after layer k - 1)."""
        return max(self.layer.currentIndex(), 0)

    def position_for(self, stack_length: int) -> int:
        """Where the selection is in a stack of `stack_length` layers that the document's rows describe."""
        last = stack_length
        if self.selected_uid is None:
            return last
        if self.selected_uid == INPUT_UID:
            return 0
        rows = self.document.state.rows
        index = self.document.state.index_of(self.selected_uid) if len(rows) == stack_length else None
        return last if index is None else index + 1

    def select(self, position: int) -> None:
        """Show selector position `position`, as if the user chose it."""
        self.layer.setCurrentIndex(position)
        self._chosen(position)

    def _chosen(self, position: int) -> None:
        rows = self.document.state.rows
        if position == 0:
            self.selected_uid = INPUT_UID
        elif 0 < position <= len(rows):
            self.selected_uid = rows[position - 1].uid
        self._changed()

    def _changed(self) -> None:
        self._fill_channels()
        self.refresh()
        self.positionChanged.emit(self.position)

    def _sync_selector(self, labels: list[str], shapes: list[tuple[int, int, int]]) -> bool:
        """Relist the layers (labels with their output shapes) and put the selection on its layer; True when
        the shown position or the list changed (both sides must then be redrawn)."""
        position = self.position_for(len(labels) - 1)
        texts = [f"{label}  ({h}×{w}×{c})" for label, (c, h, w) in zip(labels, shapes, strict=True)]
        changed = False
        if texts != [self.layer.itemText(i) for i in range(self.layer.count())]:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(texts)
            self.layer.blockSignals(False)
            changed = True
        if position != self.layer.currentIndex():
            self.layer.setCurrentIndex(position)
            changed = True
        return changed

    # ---- results ----------------------------------------------------------------------------------
    def set_analytic(self, result: AnalyticResult) -> None:
        """Show a new exact analysis: only the exact side is redrawn (the simulated side gets its own result,
        which follows at once; until then it is marked stale)."""
        self.analytic = result
        if self.simulation is None or self.simulation.config.stack != result.config.stack:
            from .compute import output_labels

            self._sync_selector(output_labels(result.config.stack), result.shapes)
        self._show_exact()
        self.sideShown.emit("exact")

    def set_simulation(self, result: SimulationResult) -> None:
        """Show a new simulation: only the simulated side is redrawn, unless the shown layer moved."""
        self.simulation = result
        moved = self._sync_selector(result.labels, [a.shape for a in result.arrays])
        self._fill_channels()
        if moved and self.current_view() is not None:
            self._show_exact()
            self.sideShown.emit("exact")
        self._show_simulated()
        self.sideShown.emit("simulated")

    def current_view(self) -> LayerView | None:
        """The exact picture of the shown layer, when the analysis matches the shown stack."""
        a = self.analytic
        if a is None or a.positions != self.layer.count():  # a transition: the selector lists another stack
            return None
        return a.view(self.position)

    def refresh(self) -> None:
        self._show_exact()
        self._show_simulated()

    def _show_exact(self) -> None:
        view = self.current_view()
        if view is None:
            return
        h, w = view.map.shape
        self.exact_plot.set_data(view.map)
        period = "" if view.pattern is None else " · period {}×{}".format(*view.pattern.period)
        self.exact_plot.set_title(f"Exact count, {self._where()} · {h}×{w}{period}")
        self.exact_spectrum.set_spectrum(view.spectrum)
        self.exact_spectrum.set_markers(self.marked_frequencies())
        self.simulated_spectrum.set_markers(self.marked_frequencies())

    def _show_simulated(self) -> None:
        sim = self.simulation
        if sim is None or len(sim.arrays) != self.layer.count():
            return
        a = sim.arrays[self.position]
        self.shown = a
        data, rgb = display_array(a, self.channel.currentData() or "mean", absolute=self.position == 0)
        signed = not rgb and float(data.min()) < 0
        self.simulated_plot.set_data(data, cmap=SIGNED_CMAP if signed else COUNT_CMAP, signed=signed, robust=True)
        self.simulated_plot.set_title(f"Simulated, {self._where()} · {a.shape[1]}×{a.shape[2]}×{a.shape[0]}")
        draws, seed = sim.config.simulation.draws, sim.config.simulation.seed
        self.simulated_plot.setToolTip(f"The first of {draws} weight draws (seed {seed}); the metrics table "
                                       "averages over all draws" if draws > 1 else "")
        self.simulated_spectrum.set_spectrum(sim.spectrum(self.position))
        self.simulated_spectrum.set_markers(self.marked_frequencies())

    def _where(self) -> str:
        return "input" if self.position == 0 else f"layer {self.position - 1}"

    def marked_frequencies(self) -> list[tuple]:
        """The exact artifact frequencies (fy, fx) of the shown layer."""
        view = self.current_view()
        if view is None or view.exact is None:
            return []
        return [(fy, fx) for fy, fx, _ in view.exact.freqs]

    def _fill_channels(self) -> None:
        if self.simulation is None or self.position >= len(self.simulation.arrays):
            return
        c = self.simulation.arrays[self.position].shape[0]
        wanted = self.channel.currentData()
        items = [("RGB", "rgb")] if c == 3 else []
        items += [("mean", "mean")] + [(f"{k}", str(k)) for k in range(c)]
        self.channel.blockSignals(True)
        self.channel.clear()
        for text, data in items:
            self.channel.addItem(text, data)
        keys = [d for _, d in items]
        self.channel.setCurrentIndex(keys.index(wanted) if wanted in keys else 0)
        self.channel.blockSignals(False)

    # ---- readout ----------------------------------------------------------------------------------
    def value_text(self, i: int, j: int) -> str:
        """The value on display at (i, j): the chosen channel's, the channel mean, or the RGB triple."""
        if self.shown is None or not (0 <= i < self.shown.shape[1] and 0 <= j < self.shown.shape[2]):
            return ""
        v = self.shown[:, i, j]
        channel = self.channel.currentData() or "mean"
        if channel == "rgb" and len(v) == 3:
            return "RGB (" + ", ".join(f"{x:.3g}" for x in v) + ")"
        if channel in ("rgb", "mean"):
            return f"{v[0]:.4g}" if len(v) == 1 else f"mean {v.mean():.4g}"
        k = min(int(channel), len(v) - 1)
        return f"ch {k} {v[k]:.4g}"

    def show_rect(self, rect: QRectF) -> None:
        """Show the same data rectangle in both image views."""
        self.image_sync.show(rect)
