"""The compare tab: the document's stack A beside a second stack B (a preset, a typed or pasted stack, or a
snapshot of A), both run on A's input, exact and simulated, with a readout of their differences.

The panel asks the controller for B only while it is shown (`compare_wanted`), so B never slows the maps
down otherwise; B is computed after A's maps, on the compute worker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...analytics import CheckerlabError
from ...analytics.presets import PRESETS
from .compare import readout
from .maps import display_array
from .views import COUNT_CMAP, SIGNED_CMAP, ImagePlot, Staleness, column, small_font

_PLACEHOLDER = "B: a preset, or type a stack and press Enter, e.g. Upsample(2), Conv2d(3, padding=1)"


class ComparePanel(Staleness, QWidget):
    """B's chooser, four small views (exact and simulated, A and B) and the difference readout."""

    problem = Signal(str)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.choice = QComboBox(self)
        self.choice.setEditable(True)
        self.choice.lineEdit().setPlaceholderText(_PLACEHOLDER)
        self.choice.setToolTip(_PLACEHOLDER)
        for preset in PRESETS.values():
            self.choice.addItem(preset.title, preset.key)
        self.choice.setCurrentIndex(-1)
        self.choice.activated.connect(self._preset_chosen)
        self.choice.lineEdit().returnPressed.connect(self._typed)
        self.snapshot = QPushButton("Use current as B", self)
        self.snapshot.setToolTip("Keep the current stack as B, then edit A to compare")
        self.snapshot.clicked.connect(self.use_current)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Compare with", self))
        bar.addWidget(self.choice, 1)
        bar.addWidget(self.snapshot)
        self.plots: dict[tuple[str, str], ImagePlot] = {}  # built when the tab is first shown
        self.grid = grid = QGridLayout()
        grid.setSpacing(2)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["", "A", "B", "B vs A"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFont(small_font(self, 0.85))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(18)
        body = QHBoxLayout()
        body.addLayout(grid, 1)
        body.addWidget(self.table, 1)
        self.note = QLabel("Choose B above: both stacks then run on the same input.", self)
        self.note.setFont(small_font(self, 0.85))
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column(self, bar, (body, 1), self.note)
        controller.updated.connect(lambda _stage: self.refresh())
        controller.failed.connect(self._failed)

    # ---- B ----------------------------------------------------------------------------------------
    def set_b(self, stack) -> None:
        """Compare the document's stack with `stack`."""
        text = f"B = {stack}"
        self.note.setText(self.note.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, self.width() - 10))
        self.note.setToolTip(text)
        self.controller.set_compare(stack)

    def use_current(self) -> None:
        config = self.controller.document.config
        if config is None:
            self.problem.emit("cannot use the current stack as B while an entry is invalid")
            return
        self.choice.setEditText(str(config.stack))
        self.set_b(config.stack)

    def _preset_chosen(self, index: int) -> None:
        key = self.choice.itemData(index)
        if key:
            self.set_b(PRESETS[key].config.stack)

    def _typed(self) -> None:
        from .torch_code import layers_from_code

        try:
            stack, _in_channels, _whole = layers_from_code(self.choice.currentText())
        except CheckerlabError as exc:
            self.problem.emit(f"B: {exc}")
            return
        self.set_b(stack)

    def set_shown(self, shown: bool) -> None:
        """B is computed only while the tab is shown."""
        self.controller.compare_wanted = shown
        if shown and self.controller.compare_stack is not None and not self.controller.is_current("compare"):
            self.controller.recompute()

    def _failed(self, stage: str, message: str) -> None:
        if stage == "compare":
            self.note.setText(message)

    # ---- display ----------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self.plots:  # four plot widgets cost ~0.1 s: not at start-up
            for col, side in enumerate("AB"):
                for row, kind in enumerate(("exact", "simulated")):
                    plot = ImagePlot(f"{side}, {kind}", "", "", COUNT_CMAP, self)
                    plot.setMinimumSize(150, 110)
                    self.grid.addWidget(plot, row, col)
                    self.plots[side, kind] = plot
            self.refresh()

    def refresh(self) -> None:
        c = self.controller
        a, a_sim, b = c.analytic, c.simulation, c.compare
        if not self.plots or a is None or a_sim is None or b is None or a_sim.config.stack != a.config.stack:
            return
        for side, analytic, sim in (("A", a, a_sim), ("B", b.analytic, b.simulation)):
            self.plots[side, "exact"].set_data(analytic.map)
            out = sim.arrays[-1]
            data, rgb = display_array(out, "rgb")
            signed = not rgb and float(data.min()) < 0
            self.plots[side, "simulated"].set_data(data, cmap=SIGNED_CMAP if signed else COUNT_CMAP, signed=signed,
                                                   robust=True)
        rows = readout(a, a_sim, b)
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for col, text in enumerate(cells):
                self.table.setItem(r, col, QTableWidgetItem(text))
