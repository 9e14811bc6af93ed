"""The Network tab: an imported model (an ONNX file) as a DAG - its layer list with the branches indented
(`Network.layer_list`), the paths from input to output with their exact patterns (`network_pattern`), and the
per-layer checkerboard report on the model's weights (`checkerboard_report`: per-phase gains, which layers
introduce, amplify or damp the artifact).

Picking a path shows its pattern: its nodes are marked in the list, its period and contrast are listed, and
"Show this path" puts the path's layers into the editor as a stack (at the model's input size and channels), so
every view of the window shows that path (the worst path is shown when a model opens; undo returns). Along
one path an add or a concat passes the pattern through unchanged, so the path's layers alone have the path's
exact pattern (a fixed FIR's real taps excepted: then the status bar says so). Loading runs on a `Task`; a bad
file gives one line and the last good model stays on screen.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QWidget,
)

from ...analytics import CheckerlabError, Config, overlap_pattern
from .task import Task
from .views import column

#: Paths listed in the chooser (the worst first); `NetworkPattern` keeps the distinct ones.
MAX_PATHS = 64
REPORT_COLUMNS = ("node", "role", "period", "gain spread", "response", "measured", "change")


@dataclass(frozen=True, eq=False)
class ModelResult:
    """An imported model: the network, its exact pattern, its per-layer report (None when it failed) and the
    verdicts of both (formatted on the task's thread, so the GUI thread only shows text)."""

    source: str
    network: Any  # analytics.network.Network
    pattern: Any  # analytics.network_pattern.NetworkPattern
    report: Any
    verdict: str


def load_model(path: str | os.PathLike, cancel=None) -> ModelResult:
    """Import an ONNX file and analyse it: `from_onnx`, `network_pattern`, `checkerboard_report` (one run of the
    model on a probe input: O(the model's forward pass))."""
    from ...analytics.network_pattern import network_pattern  # (the package face's name is its module's too)
    from ...analytics.onnx_import import from_onnx
    from ...analytics.report import checkerboard_report

    net = from_onnx(path)
    pattern = network_pattern(net)
    if cancel is not None and cancel():
        raise CheckerlabError("cancelled")
    try:
        report = checkerboard_report(net)
        report_verdict = report.verdict()
    except CheckerlabError as exc:  # the exact pattern stands on its own
        report, report_verdict = None, f"no per-layer report: {exc}"
    return ModelResult(Path(path).name, net, pattern, report, pattern.verdict() + "\n\n" + report_verdict)


def paths(pattern) -> list:
    """The distinct paths of every output channel group, the worst first (`Path`s of graph_overlap)."""
    found = [p for g in pattern.groups for p in (g.paths or ())]
    return sorted(found, key=lambda p: float(p.contrast), reverse=True)[:MAX_PATHS]


def path_config(net, path) -> Config:
    """The layers on `path` as a stack at the model's input (C, H, W): the path's own exact pattern."""
    from ...analytics import SimulationSettings, Stack
    from ...analytics.network import is_layer

    layers = [net[name].op for name in path.nodes[1:] if is_layer(net[name].op)]
    if not layers:
        raise CheckerlabError("this path has no layer: its pattern is the input's, flat")
    c, h, w = net.input_shape[-3:]
    return Config(Stack(layers), (h, w), SimulationSettings(in_channels=c))


def phase_gain_text(gains, channels: int = 4) -> str:
    """The per-phase gains (C, s_h, s_w) of a layer - its output at each phase for a constant input of 1 - as
    one s_h x s_w matrix per channel, the first `channels` of them: unequal entries are the checkerboard."""
    lines = [f"per-phase gains (output at each phase for a constant input of 1), {len(gains)} channel(s):"]
    for c, tile in enumerate(gains[:channels]):
        lines.append(f"channel {c}:")
        lines += ["  " + "  ".join(f"{v:9.3g}" for v in row) for row in tile]
    if len(gains) > channels:
        lines.append(f"... {len(gains) - channels} more channel(s)")
    return "\n".join(lines)


def _num(v, fmt: str = ".3g") -> str:
    return "-" if v is None else format(v, fmt)


class NetworkPanel(QWidget):
    """Signals: `message(text)` for the status bar; `pathChosen(config)` when the user shows a path."""

    message = Signal(str)
    pathChosen = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Open an ONNX model (File › Open, or drop it on the window) to see its graph.", self)
        self.layers = QListWidget(self)
        self.layers.setToolTip("Every node in order; a branch is indented one level below the line it leaves")
        self.path = QComboBox(self)
        self.path.setToolTip("A path from the input to the output, with its exact pattern (the worst first)")
        self.path.currentIndexChanged.connect(lambda _: self._mark_path())
        self.show_path = QPushButton("Show this path", self)
        self.show_path.setToolTip("Put the path's layers into the editor: every view then shows its pattern")
        self.show_path.clicked.connect(self.choose_path)
        self.verdict = QTextBrowser(self)  # the pattern's verdict and the report's, side by side with the table
        self.verdict.setToolTip("network_pattern's verdict (the worst path and the node that breaks evenness), "
                                "then checkerboard_report's (who introduces, amplifies and damps the artifact)")
        self.report = QTableWidget(0, len(REPORT_COLUMNS), self)
        self.report.setHorizontalHeaderLabels(list(REPORT_COLUMNS))
        self.report.verticalHeader().setVisible(False)
        self.report.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.report.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.report.setTextElideMode(Qt.TextElideMode.ElideLeft)  # module paths: their end says the most
        self.report.setWordWrap(False)
        header = self.report.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.report.setToolTip("checkerboard_report on the model's weights: the per-phase gain spread of each "
                               "upsampling layer (the checkerboard it paints), the filter response at the "
                               "pattern's frequencies, the measured modulation and its change through the layer")
        left = QWidget(self)
        bar = QHBoxLayout()
        bar.addWidget(self.path, 1)
        bar.addWidget(self.show_path)
        column(left, bar, (self.layers, 1), margins=(0, 0, 0, 0))
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.report)
        split.addWidget(self.verdict)
        split.setSizes([330, 500, 230])
        column(self, self.title, (split, 1))
        self.result: ModelResult | None = None
        self.rows: dict[str, int] = {}  # node name -> row of the layer list
        self.paths: list = []
        self.task: Task | None = None
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.path, self.show_path):
            w.setEnabled(on)

    # ---- loading ----------------------------------------------------------------------------------
    def open(self, path: str) -> Task:
        """Import `path` off the GUI thread; `set_result` shows it, a failure is one line (`message`)."""
        if self.task is not None and self.task.running():
            self.task.stop()
        name = Path(path).name
        self.task = task = Task(lambda _progress, cancel: load_model(path, cancel), self)
        task.done.connect(lambda result: task is self.task and self.set_result(result))
        task.failed.connect(lambda text: task is self.task and self.message.emit(f"{name}: {text}"))
        self.message.emit(f"Importing {name}…")
        return task.start()

    def set_result(self, result: ModelResult) -> None:
        from ...analytics.network_pattern import number_text

        self.result = result
        net, pattern = result.network, result.pattern
        shape = "×".join(map(str, net.input_shape[-3:]))
        out = "×".join(map(str, net.output_shape[-3:]))
        self.title.setText(f"<b>{result.source}</b>: {len(net)} nodes, input {shape} → output {out}")
        self.layers.clear()
        self.rows = {}
        for depth, node in net.layer_list():
            self.rows[node.name] = self.layers.count()
            self.layers.addItem("    " * depth + f"{node.name}: {node.label}")
        self.paths = paths(pattern)
        self.path.blockSignals(True)
        self.path.clear()
        for k, p in enumerate(self.paths):
            c = "∞" if p.contrast == float("inf") else number_text(p.contrast)
            count = f", {number_text(p.count)} paths" if p.count > 1 else ""
            self.path.addItem(f"path {k}: period {p.period[0]}×{p.period[1]}, contrast {c}, "
                              f"{len(p.nodes) - 1} nodes{count}")
        self.path.blockSignals(False)
        self._set_enabled(bool(self.paths))
        self._mark_path()
        self._fill_report(result)
        self.message.emit(f"Opened {result.source}: {result.verdict.splitlines()[0]}")
        if self.paths:  # every view shows the worst path until the user picks another
            self.choose_path()

    def _fill_report(self, result: ModelResult) -> None:
        report = result.report
        rows = list(report.rows) if report is not None else []
        self.report.setRowCount(len(rows))
        colours = {"introduces": "#f4a3a3", "amplifies": "#f8d0a0", "damps": "#b8e0b8"}
        for r, row in enumerate(rows):
            period = "×".join(map(str, row.period)) if row.period else "-"
            cells = (row.node, row.role, period, _num(row.gain_spread), _num(row.response), _num(row.measured),
                     _num(row.change))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setToolTip(f"{row.node}: {row.spec}")
                elif col == 3 and row.phase_gain is not None:
                    item.setToolTip("<pre>" + html.escape(phase_gain_text(row.phase_gain)) + "</pre>")
                else:
                    item.setToolTip(text)
                if row.role in colours:
                    item.setBackground(QBrush(QColor(colours[row.role])))
                self.report.setItem(r, col, item)
        self.report.resizeColumnsToContents()
        self.report.setColumnWidth(0, min(self.report.columnWidth(0), 170))  # elided; the tooltip has it all
        self.verdict.setPlainText(result.verdict)

    # ---- paths ------------------------------------------------------------------------------------
    def _mark_path(self) -> None:
        """Bold the chosen path's nodes in the layer list."""
        k = self.path.currentIndex()
        on = set(self.paths[k].nodes) if 0 <= k < len(self.paths) else set()
        for name, row in self.rows.items():
            item = self.layers.item(row)
            font = QFont(item.font())
            font.setBold(name in on)
            item.setFont(font)
            item.setForeground(QBrush(QColor("black" if name in on or not on else "#777")))

    def chosen_nodes(self) -> tuple[str, ...]:
        k = self.path.currentIndex()
        return self.paths[k].nodes if 0 <= k < len(self.paths) else ()

    def choose_path(self) -> None:
        """Show the chosen path in every view (`pathChosen`), or say in one line why it cannot be."""
        k = self.path.currentIndex()
        if self.result is None or not 0 <= k < len(self.paths):
            return
        path = self.paths[k]
        try:
            config = path_config(self.result.network, path)
            pattern = overlap_pattern(config.stack)
        except CheckerlabError as exc:
            self.message.emit(f"path {k}: {exc}")
            return
        self.pathChosen.emit(config)
        if (pattern.period, pattern.contrast) != (path.period, path.contrast):  # e.g. a fixed FIR's real taps
            self.message.emit(f"path {k}: its layers with all-ones kernels have period {pattern.period[0]}x"
                              f"{pattern.period[1]}; in the model (fixed filter taps) it is {path.period[0]}x"
                              f"{path.period[1]}, contrast {path.contrast}")
