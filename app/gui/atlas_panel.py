"""The atlas tab: a grid of small exact tiles, kernel k = 1..8 across and stride s = 1..4 down, for one
convolution of the stack and the layers before it (`atlas.atlas`). Clicking a cell applies its k and s.

The grid is painted directly (32 QImages), which is lighter than 32 plot widgets.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .atlas import KERNELS, STRIDES, AtlasCell, variant
from .state import row_from_layer
from .views import COUNT_CMAP, Staleness, small_font

_HEAD = 18  # pixels for the k and s labels


def tile_image(tile: np.ndarray) -> QImage:
    """A tile as an RGB QImage in the count colormap, scaled to its own range (an even tile is mid-colour)."""
    lo, hi = float(tile.min()), float(tile.max())
    t = np.full(tile.shape, 0.5) if hi == lo else (tile - lo) / (hi - lo)
    rgb = pg.colormap.get(COUNT_CMAP).map(t.ravel(), mode="byte").reshape(*tile.shape, -1)[..., :3]
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = tile.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class AtlasGrid(QWidget):
    """The painted grid. `clicked(k, s)` when a valid cell is clicked."""

    clicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cells: list[AtlasCell] = []
        self.images: dict[tuple[int, int], QImage] = {}
        self.current: tuple[int, int] | None = None
        self.setMinimumSize(360, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFont(small_font(self, 0.8))

    def set_cells(self, cells: list[AtlasCell], current: tuple[int, int] | None) -> None:
        self.cells, self.current = cells, current
        self.images = {(c.kernel, c.stride): tile_image(c.tile) for c in cells if c.tile is not None}
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(640, 240)

    def cell_rect(self, kernel: int, stride: int) -> QRect:
        """Where cell (k, s) is drawn: k across, s down, after the label margins."""
        cw = (self.width() - _HEAD) / len(KERNELS)
        ch = (self.height() - _HEAD) / len(STRIDES)
        return QRect(int(_HEAD + (kernel - KERNELS[0]) * cw), int(_HEAD + (stride - STRIDES[0]) * ch),
                     int(cw), int(ch))

    def cell_at(self, x: float, y: float) -> AtlasCell | None:
        return next((c for c in self.cells if self.cell_rect(c.kernel, c.stride).contains(int(x), int(y))), None)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        text_h = metrics.height()
        for k in KERNELS:
            r = self.cell_rect(k, STRIDES[0])
            painter.drawText(QRect(r.left(), 0, r.width(), _HEAD), Qt.AlignmentFlag.AlignCenter, f"k={k}")
        for s in STRIDES:
            r = self.cell_rect(KERNELS[0], s)
            painter.drawText(QRect(0, r.top(), _HEAD, r.height()), Qt.AlignmentFlag.AlignCenter, f"s{s}")
        for cell in self.cells:
            r = self.cell_rect(cell.kernel, cell.stride).adjusted(2, 2, -2, -2)
            side = max(4, min(r.width(), r.height() - text_h))
            square = QRect(r.left() + (r.width() - side) // 2, r.top(), side, side)
            image = self.images.get((cell.kernel, cell.stride))
            if image is not None:
                painter.drawImage(square, image)  # nearest scaling: one colour block per phase
                label = "{}×{} · {}".format(*cell.period, cell.contrast)
            else:
                painter.fillRect(square, QColor(225, 225, 225))
                label = "—"
            painter.drawText(QRect(r.left(), square.bottom() + 1, r.width(), text_h),
                             Qt.AlignmentFlag.AlignCenter, label)
            if (cell.kernel, cell.stride) == self.current:
                painter.setPen(QPen(QColor(200, 0, 32), 2))
                painter.drawRect(r)
                painter.setPen(QPen(self.palette().text().color()))
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is None:
            self.setToolTip("")
        elif cell.tile is None:
            self.setToolTip(f"k={cell.kernel}, s={cell.stride}: {cell.problem}")
        else:
            self.setToolTip("k={}, s={}: period {}×{}, contrast {} (click to apply)".format(
                cell.kernel, cell.stride, *cell.period, cell.contrast))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None and cell.tile is not None:
            self.clicked.emit(cell.kernel, cell.stride)


class AtlasPanel(Staleness, QWidget):
    """A caption and the grid for the editor's convolution. The atlas is requested from the controller only
    while the tab is shown (`set_shown`); a click applies the cell's kernel and stride (one undo step)."""

    def __init__(self, document, controller, editor, parent=None):
        super().__init__(parent)
        self.document, self.controller, self.editor = document, controller, editor
        self.caption = QLabel("Select a ConvTranspose2d or Conv2d row of the stack to see its atlas.", self)
        self.caption.setWordWrap(True)
        self.caption.setFont(small_font(self, 0.9))
        self.grid = AtlasGrid(self)
        self.grid.clicked.connect(lambda k, s: self.apply(self.index, k, s))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid, 1)
        self.index = -1
        self.shown = False
        controller.updated.connect(lambda stage: self._show() if stage == "atlas" else None)
        controller.settled.connect(self.request)
        editor.currentRowChanged.connect(lambda _row: self.request())

    def target(self) -> int | None:
        """The convolution the atlas varies: the editor's row if it is one, else the nearest one above it,
        else the first one; None when the stack has none."""
        rows = self.document.state.rows
        convs = [i for i, row in enumerate(rows) if row.type in ("ConvTranspose2d", "Conv2d")]
        if not convs:
            return None
        current = self.editor.current_row()
        return max((i for i in convs if i <= current), default=convs[0])

    def set_shown(self, shown: bool) -> None:
        self.shown = shown
        self.request()

    def request(self) -> None:
        if not self.shown or self.document.config is None:
            return
        index = self.target()
        if index is None:
            self.set_message("The atlas varies a ConvTranspose2d or Conv2d: the stack has none.")
        else:
            self.controller.request_atlas(index)

    def _show(self) -> None:
        index, config = self.target(), self.document.config
        if index is not None and config is not None and self.controller.atlas_key == config.stack[: index + 1]:
            self.set_atlas(index, config.stack[index], self.controller.atlas)

    def apply(self, index: int, kernel: int, stride: int) -> None:
        """Give layer `index` the kernel and stride of an atlas cell (one undoable step)."""
        config = self.document.config
        if config is None or not 0 <= index < len(config.stack):
            return
        state = self.document.state
        row = replace(row_from_layer(variant(config.stack[index], kernel, stride)), uid=state.rows[index].uid)
        self.document.apply(state.with_row(index, row), f"Atlas: layer {index} kernel {kernel}, stride {stride}")

    def set_atlas(self, index: int, layer, cells: list[AtlasCell]) -> None:
        """Show the atlas of layer `index` (its current kernel and stride framed)."""
        self.index = index
        k, s = layer.kernel_size[0], layer.stride[0]
        self.caption.setText(f"<b>Atlas of layer {index} ({layer.type})</b>: the exact tile of layers 0–{index} "
                             "for every kernel k and stride s (period · contrast under each). Click one to "
                             "apply it; Ctrl+Z undoes.")
        self.grid.set_cells(cells, (k, s) if layer.kernel_size[0] == layer.kernel_size[1] else None)

    def set_message(self, text: str) -> None:
        self.index = -1
        self.caption.setText(text)
        self.grid.set_cells([], None)
