"""The explanation tab: for the hovered output pixel of the shown layer, the input pixels that feed it through
the whole stack (with their path counts) and the kernel taps on those paths, layer by layer, as in
ezyang's convolution visualizer; and the "scatter" animation of the Distill article, each input pixel
stamping its kernel into the output of a transposed convolution, at an adjustable speed.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QWidget,
)

from ...analytics import CheckerlabError
from .compute import exact_str, to_float
from .footprint import Level, Taps, explain, stamps
from .views import COUNT_CMAP, ImagePlot, Staleness, small_font

TICK_MS = 40  # animation frame interval


class TapsView(QWidget):
    """Each convolution on the path as a small kh x kw grid, the taps that feed the pixel filled."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.taps: list[Taps] = []
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setFont(small_font(self, 0.8))

    def set_taps(self, taps: list[Taps]) -> None:
        self.taps = taps
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(170, 200)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        text_h = painter.fontMetrics().height()
        if not self.taps:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "Hover an output pixel to see the kernel taps that feed it")
            painter.end()
            return
        slot = max(30, (self.height() - 4) // len(self.taps))
        for n, tap in enumerate(self.taps):
            top = 2 + n * slot
            kh, kw = tap.kernel
            used = len(tap.rows) * len(tap.cols)
            kind = "ConvT" if tap.kind == "ConvTranspose2d" else "Conv"
            painter.drawText(QRect(2, top, self.width() - 4, text_h), Qt.AlignmentFlag.AlignLeft,
                             f"layer {tap.index} {kind}: {used}/{kh * kw} taps")
            cell = max(3, min((slot - text_h - 4) // max(kh, 1), (self.width() - 8) // max(kw, 1), 16))
            for a in range(kh):
                for b in range(kw):
                    on = a in tap.rows and b in tap.cols
                    rect = QRect(4 + b * cell, top + text_h + 2 + a * cell, cell - 1, cell - 1)
                    painter.fillRect(rect, QColor(59, 82, 139) if on else QColor(225, 228, 235))
        painter.end()


class ScatterView(QWidget):
    """The scatter animation of one ConvTranspose2d: its input (the exact counts of the layers before it)
    stamps the all-ones kernel, pixel by pixel in raster order, into the output; the last frame is the
    layer's exact overlap map."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = ImagePlot("Scatter", "", "", COUNT_CMAP, self, colorbar_label="count")
        self.plot.setMinimumSize(160, 120)
        self.play = QPushButton("▶ Play", self)
        self.play.setCheckable(True)
        self.play.toggled.connect(self._toggled)
        self.reset_button = QPushButton("Reset", self)
        self.reset_button.clicked.connect(self.reset)
        self.speed = QSlider(Qt.Orientation.Horizontal, self)
        self.speed.setRange(0, 100)
        self.speed.setValue(40)
        self.speed.setToolTip("Speed: input pixels stamped per second (1 to 1000)")
        self.speed.valueChanged.connect(lambda _: self._update_speed_label())
        self.speed_label = QLabel(self)
        self.speed_label.setFont(small_font(self, 0.8))
        self.note = QLabel(self)
        self.note.setFont(small_font(self, 0.8))
        self.note.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.play)
        controls.addWidget(self.reset_button)
        controls.addWidget(self.speed, 1)
        controls.addWidget(self.speed_label)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls, 0, 0)
        layout.addWidget(self.plot, 1, 0)
        layout.addWidget(self.note, 2, 0)
        layout.setRowStretch(1, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.source: np.ndarray | None = None
        self.rows: list = []
        self.cols: list = []
        self.done = 0
        self._carry = 0.0
        self.frame: np.ndarray | None = None
        self._update_speed_label()

    @property
    def per_second(self) -> float:
        """Input pixels stamped per second: 1 .. 1000, logarithmic in the slider."""
        return 10 ** (3 * self.speed.value() / 100)

    def _update_speed_label(self) -> None:
        self.speed_label.setText(f"{self.per_second:.0f} px/s")

    def set_layer(self, layer, source: np.ndarray | None, label: str) -> None:
        """Animate `layer` fed with the exact counts `source` (None, or a layer that is not a transposed
        convolution: nothing to animate)."""
        self.timer.stop()
        self.play.setChecked(False)
        try:
            if source is None or layer is None:
                raise CheckerlabError("choose a ConvTranspose2d layer in the maps to watch it scatter")
            self.rows, self.cols = stamps(layer.axis_op(0), layer.axis_op(1), source.shape)
        except CheckerlabError as exc:
            self.source = None
            self.note.setText(str(exc).split(": ", 1)[-1] if "layer" not in str(exc) else str(exc))
            self.plot.clear_data("Scatter")
            return
        self.source = source
        out = (layer.axis_op(0).output_length(source.shape[0]), layer.axis_op(1).output_length(source.shape[1]))
        self.frame = np.zeros(out, dtype=source.dtype if source.dtype != object else object)
        self.frame[...] = 0
        self.note.setText(f"{label}: each input pixel adds its count times the all-ones kernel; the last frame "
                          "is the exact map")
        self.reset()

    def reset(self) -> None:
        if self.source is None:
            return
        self.frame[...] = 0
        self.done, self._carry = 0, 0.0
        self._show(None)

    def _toggled(self, on: bool) -> None:
        self.play.setText("⏸ Pause" if on else "▶ Play")
        if on and self.source is not None:
            if self.done >= self.source.size:
                self.reset()
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        self._carry += self.per_second * TICK_MS / 1000
        n, self._carry = int(self._carry), self._carry - int(self._carry)
        if n:
            self.step(n)
        if self.source is None or self.done >= self.source.size:
            self.play.setChecked(False)

    def step(self, n: int = 1) -> None:
        """Stamp the next `n` input pixels (raster order)."""
        if self.source is None:
            return
        w = self.source.shape[1]
        last = None
        for _ in range(min(n, self.source.size - self.done)):
            a, b = divmod(self.done, w)
            self.frame[np.ix_(self.rows[a], self.cols[b])] += self.source[a, b]
            self.done += 1
            last = (a, b)
        self._show(last)

    def _show(self, last: tuple[int, int] | None) -> None:
        self.plot.set_data(to_float(self.frame))
        total = self.source.size
        if last is None:
            self.plot.set_title(f"0 / {total} stamped")
            self.plot.set_highlight(None)
            return
        a, b = last
        self.plot.set_title(f"{self.done} / {total} · ({a}, {b}) × {exact_str(self.source[a, b])}")
        rows, cols = self.rows[a], self.cols[b]
        if len(rows) and len(cols):
            self.plot.set_highlight(QRectF(cols.min(), rows.min(), cols.max() - cols.min() + 1,
                                           rows.max() - rows.min() + 1))


class ExplainPanel(Staleness, QWidget):
    """Feeds (input pixels and path counts), taps, and the scatter animation, side by side."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.level = QComboBox(self)
        self.level.setToolTip("Which level of the stack to show the feeding pixels at")
        self.level.currentIndexChanged.connect(lambda _: self._show_level())
        self.taps = TapsView(self)
        self.left = QGridLayout()
        self.left.setContentsMargins(0, 0, 0, 0)
        self.left.addWidget(self.level, 0, 0)
        self.left.setRowStretch(1, 1)
        self.body = QHBoxLayout(self)
        self.body.setContentsMargins(4, 2, 4, 2)
        self.body.addLayout(self.left, 3)
        self.body.addWidget(self.taps, 2)
        self.feeds: ImagePlot | None = None  # the plots are built when first needed (not at start-up)
        self.scatter: ScatterView | None = None
        self._scatter_layer: tuple = (None, None, "")
        self.levels: list[Level] = []
        self.pixel: tuple[int, int] | None = None

    def _ensure(self) -> None:
        if self.feeds is None:
            self.feeds = ImagePlot("Input pixels feeding the hovered pixel", "", "", COUNT_CMAP, self,
                                   colorbar_label="paths")
            self.feeds.setMinimumSize(160, 120)
            self.left.addWidget(self.feeds, 1, 0)
            self.scatter = ScatterView(self)
            self.body.addWidget(self.scatter, 3)
            self.scatter.set_layer(*self._scatter_layer)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._ensure()

    def set_scatter_layer(self, layer, source, label: str) -> None:
        """The layer the scatter animation stamps (see `ScatterView.set_layer`)."""
        self._scatter_layer = (layer, source, label)
        if self.scatter is not None:
            self.scatter.set_layer(layer, source, label)

    def show_pixel(self, stack, input_size, pixel: tuple[int, int]) -> list[Level]:
        """Explain output pixel (i, j) of `stack` (the layers up to the shown one); returns the levels."""
        self._ensure()
        self.levels, taps = explain(stack, input_size, pixel)
        self.pixel = pixel
        wanted = self.level.currentIndex()
        self.level.blockSignals(True)
        self.level.clear()
        self.level.addItems([f"at the {lv.label}" if lv.label == "input" else f"{lv.label}" for lv in self.levels])
        self.level.setCurrentIndex(wanted if 0 <= wanted < len(self.levels) else 0)
        self.level.blockSignals(False)
        self.taps.set_taps(taps)
        self._show_level()
        return self.levels

    def _show_level(self) -> None:
        index = self.level.currentIndex()
        if not 0 <= index < len(self.levels):
            return
        level = self.levels[index]
        weights = level.weights()
        total = sum(weights.ravel().tolist(), 0)
        values = to_float(weights)
        self.feeds.set_data(values)
        rows, cols = np.flatnonzero(values.any(axis=1)), np.flatnonzero(values.any(axis=0))
        self.feeds.set_title(f"{rows.size * cols.size} pixels feed ({self.pixel[0]}, {self.pixel[1]}) · "
                             f"{exact_str(total)} paths")
        if rows.size:  # zoom to the feeding pixels, with their path counts written on them
            margin = 2
            self.feeds.getPlotItem().getViewBox().setRange(
                QRectF(cols[0] - margin, rows[0] - margin, cols[-1] - cols[0] + 1 + 2 * margin,
                       rows[-1] - rows[0] + 1 + 2 * margin), padding=0)
            few = rows.size * cols.size <= 49
            self.feeds.set_labels([(a, b, exact_str(weights[a, b])) for a in rows for b in cols] if few else [])

    def sources(self) -> list[tuple[int, int]]:
        """The input pixels that feed the explained pixel, nearest first."""
        if not self.levels:
            return []
        rows, cols = np.flatnonzero(self.levels[0].rows != 0), np.flatnonzero(self.levels[0].cols != 0)
        pairs = [(int(a), int(b)) for a in rows for b in cols]
        ca, cb = np.mean(rows), np.mean(cols)
        return sorted(pairs, key=lambda p: math.hypot(p[0] - ca, p[1] - cb))
