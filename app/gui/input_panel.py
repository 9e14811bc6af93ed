"""The input panel: input size and kind, brightness, channels, weight init, bias, seed and Monte Carlo draws.

Widgets only offer valid values; every change is one undoable step (slider drags and spin steps of the same
field merge into one).
"""

from __future__ import annotations

import os
import random
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ...analytics import CheckerlabError
from ...analytics.config import BIAS_KINDS, INITS, INPUT_KINDS
from .document import Document

_INPUT_TIPS = {
    "constant": "every pixel = brightness",
    "noise": "uniform noise in [0, brightness]",
    "gradient": "a smooth ramp up to brightness",
    "natural": "a synthetic natural-looking image (smooth shapes and texture), scaled by brightness",
    "image": "an image file (drop one on the window, or choose one)",
}
_SLIDER_MAX = 200  # slider ticks for brightness 0.00 .. 2.00


class InputPanel(QWidget):
    """Edits `State.input_size` and `State.settings` of the document."""

    chooseImageRequested = Signal()

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        form = QFormLayout(self)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.height_spin, self.width_spin = QSpinBox(self), QSpinBox(self)
        for spin in (self.height_spin, self.width_spin):
            spin.setRange(1, 4096)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._size_changed)
        size_row = QHBoxLayout()
        size_row.addWidget(self.height_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.width_spin)
        form.addRow("Input size (H × W)", size_row)

        self.kind = QComboBox(self)
        for kind in INPUT_KINDS:
            self.kind.addItem(kind)
            self.kind.setItemData(self.kind.count() - 1, _INPUT_TIPS[kind], Qt.ItemDataRole.ToolTipRole)
        self.kind.activated.connect(lambda _: self._kind_changed())
        self.image_button = QPushButton("Image…", self)
        self.image_button.setToolTip("Choose an image file as the input (or drop one on the window)")
        self.image_button.clicked.connect(self.chooseImageRequested)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind, 1)
        kind_row.addWidget(self.image_button)
        form.addRow("Input", kind_row)
        self.image_label = QLabel(self)
        self.image_label.setStyleSheet("color: #666;")
        form.addRow("", self.image_label)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, _SLIDER_MAX)
        self.slider.valueChanged.connect(lambda v: self._set("brightness", v / 100.0, merge=True))
        self.brightness = QDoubleSpinBox(self)
        self.brightness.setRange(0.0, 1e6)
        self.brightness.setDecimals(2)
        self.brightness.setSingleStep(0.05)
        self.brightness.setKeyboardTracking(False)
        self.brightness.valueChanged.connect(lambda v: self._set("brightness", float(v), merge=True))
        bright_row = QHBoxLayout()
        bright_row.addWidget(self.slider, 1)
        bright_row.addWidget(self.brightness)
        form.addRow("Brightness", bright_row)

        self.channels = self._spin(1, 4096, "in_channels", "Channels of the input (3 = RGB)")
        form.addRow("Input channels", self.channels)

        self.init = QComboBox(self)
        self.init.addItems(INITS)
        self.init.setToolTip(
            "Weight initialisation of every conv layer (icnr: equal sub-kernels for "
            "PixelShuffle; bilinear: interpolation kernels for transposed convs)"
        )
        self.init.activated.connect(lambda _: self._set("init", self.init.currentText()))
        form.addRow("Weight init", self.init)

        self.bias = QComboBox(self)
        self.bias.addItems(BIAS_KINDS)
        self.bias.activated.connect(lambda _: self._set("bias", self.bias.currentText()))
        self.bias_value = QDoubleSpinBox(self)
        self.bias_value.setRange(-1e6, 1e6)
        self.bias_value.setDecimals(3)
        self.bias_value.setSingleStep(0.05)
        self.bias_value.setKeyboardTracking(False)
        self.bias_value.valueChanged.connect(lambda v: self._set("bias_value", float(v), merge=True))
        bias_row = QHBoxLayout()
        bias_row.addWidget(self.bias, 1)
        bias_row.addWidget(self.bias_value)
        form.addRow("Bias", bias_row)

        self.seed = self._spin(0, 2**31 - 1, "seed", "Random seed of the weights (and of noise inputs)")
        dice = QToolButton(self)
        dice.setText("⚄")
        dice.setToolTip("A new random seed")
        dice.clicked.connect(lambda: self._set("seed", random.randrange(2**31)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        form.addRow("Seed", seed_row)

        self.draws = self._spin(
            1, 10000, "draws", "Monte Carlo draws: independent weight samples averaged in the metrics table"
        )
        form.addRow("Monte Carlo draws", self.draws)

        document.changed.connect(self.refresh)
        self.refresh()

    def _spin(self, lo: int, hi: int, name: str, tip: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setRange(lo, hi)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda v: self._set(name, int(v), merge=True))
        return spin

    # ---- model -> widgets -----------------------------------------------------------------------
    def refresh(self) -> None:
        state = self.document.state
        s = state.settings
        widgets = (
            self.height_spin,
            self.width_spin,
            self.kind,
            self.slider,
            self.brightness,
            self.channels,
            self.init,
            self.bias,
            self.bias_value,
            self.seed,
            self.draws,
        )
        for w in widgets:
            w.blockSignals(True)
        try:
            self.height_spin.setValue(state.input_size[0])
            self.width_spin.setValue(state.input_size[1])
            self.kind.setCurrentText(s.input)
            self.kind.model().item(INPUT_KINDS.index("image")).setEnabled(bool(s.image_path))
            self.slider.setValue(min(_SLIDER_MAX, round(s.brightness * 100)))
            self.brightness.setValue(s.brightness)
            self.channels.setValue(s.in_channels)
            self.init.setCurrentText(s.init)
            self.bias.setCurrentText(s.bias)
            self.bias_value.setValue(s.bias_value)
            self.bias_value.setEnabled(s.bias != "zero")
            self.seed.setValue(min(s.seed, 2**31 - 1))
            self.draws.setValue(s.draws)
            self.image_label.setText(os.path.basename(s.image_path) if s.image_path else "no image chosen")
            self.image_label.setToolTip(s.image_path or "")
        finally:
            for w in widgets:
                w.blockSignals(False)

    # ---- widgets -> model -----------------------------------------------------------------------
    def _set(self, name: str, value, merge: bool = False) -> None:
        state = self.document.state
        try:
            settings = replace(state.settings, **{name: value})
        except CheckerlabError:  # the widgets' ranges should prevent this; keep the old value
            self.refresh()
            return
        label = name.replace("_", " ")
        self.document.apply(
            replace(state, settings=settings), f"Change {label}", merge_key=name if merge else None
        )

    def _kind_changed(self) -> None:
        kind = self.kind.currentText()
        if kind == "image" and not self.document.state.settings.image_path:
            self.chooseImageRequested.emit()
            self.refresh()
            return
        self._set("input", kind)

    def _size_changed(self) -> None:
        state = self.document.state
        size = (self.height_spin.value(), self.width_spin.value())
        self.document.apply(replace(state, input_size=size), "Change input size", merge_key="input_size")
