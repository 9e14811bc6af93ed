"""The simulated side: the network's output (or any layer's), RGB when it has 3 channels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .compute import SimulationResult
from .views import COUNT_CMAP, SIGNED_CMAP, ImagePlot, robust_range, small_font


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


class SimulationPanel(QWidget):
    """Layer and channel selectors over an ImagePlot of the chosen activation."""

    layerChanged = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer = QComboBox(self)
        self.layer.setToolTip("Which layer's output to show: watch the artifact grow with depth")
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer.setMinimumContentsLength(12)
        self.channel = QComboBox(self)
        self.channel.setToolTip("RGB (3 channels), the mean over channels, or one channel")
        self.layer.currentIndexChanged.connect(self._layer_changed)
        self.channel.currentIndexChanged.connect(lambda _: self.refresh())
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 0, 2, 0)
        bar.addWidget(QLabel("Layer", self))
        bar.addWidget(self.layer, 1)
        bar.addWidget(QLabel("Channel", self))
        bar.addWidget(self.channel)
        self.plot = ImagePlot(
            "Simulated output", "j (column)", "i (row)", SIGNED_CMAP, self, colorbar_label="value"
        )
        self.readout = QLabel(" ", self)
        self.readout.setFont(small_font(self))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.result: SimulationResult | None = None
        self.shown: np.ndarray | None = None  # the (C, H, W) activation on screen

    @property
    def index(self) -> int:
        """Index into result.arrays of the shown activation (0 = input)."""
        return max(self.layer.currentIndex(), 0)

    def set_result(self, result: SimulationResult) -> None:
        old_labels = [self.layer.itemText(i) for i in range(self.layer.count())]
        keep = self.layer.currentIndex()
        follow_last = keep < 0 or keep == len(old_labels) - 1 or old_labels != result.labels
        self.result = result
        self.layer.blockSignals(True)
        self.layer.clear()
        for label, a in zip(result.labels, result.arrays, strict=True):
            self.layer.addItem(f"{label}  ({a.shape[1]}×{a.shape[2]}×{a.shape[0]})")
        last = len(result.labels) - 1
        self.layer.setCurrentIndex(last if follow_last else min(keep, last))
        self.layer.blockSignals(False)
        self._fill_channels()
        self.refresh()

    def _fill_channels(self) -> None:
        if self.result is None:
            return
        c = self.result.arrays[self.index].shape[0]
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

    def _layer_changed(self, _index: int) -> None:
        self._fill_channels()
        self.refresh()
        self.layerChanged.emit(self.index)

    def refresh(self) -> None:
        if self.result is None:
            return
        a = self.result.arrays[self.index]
        self.shown = a
        data, rgb = display_array(a, self.channel.currentData() or "mean", absolute=self.index == 0)
        signed = not rgb and float(data.min()) < 0
        self.plot.set_data(data, cmap=SIGNED_CMAP if signed else COUNT_CMAP, signed=signed, robust=True)
        label = self.result.labels[self.index]
        what = "input" if self.index == 0 else f"after {label}"
        draws = self.result.config.simulation.draws
        self.plot.set_title(f"Simulated {what} · {a.shape[1]}×{a.shape[2]}×{a.shape[0]}")
        self.plot.setToolTip(f"The first of {draws} weight draws (seed {self.result.config.simulation.seed}); "
                             "the metrics table averages over all draws" if draws > 1 else "")

    def value_text(self, i: int, j: int) -> str:
        """The shown activation at (i, j): one value, or per channel (up to 4)."""
        if self.shown is None or not (0 <= i < self.shown.shape[1] and 0 <= j < self.shown.shape[2]):
            return ""
        v = self.shown[:, i, j]
        if len(v) == 1:
            return f"{v[0]:.4g}"
        if len(v) == 3:
            return "RGB (" + ", ".join(f"{x:.3g}" for x in v) + ")"
        head = ", ".join(f"{x:.3g}" for x in v[:4])
        return f"mean {v.mean():.4g} [{head}{', …' if len(v) > 4 else ''}]"
