"""The Studies tab: run one of analytics' studies (`analytics.studies.NAMES`) off the GUI thread with progress
and cancel, then show its figure (`presentation.figures.study_figure`), its table and verdict
(`presentation.studies.study_table`), and save its files (`write_study`: NAME.json, .csv, .png, .svg).

The Monte Carlo studies sweep on a thread pool of this process (`sweep`'s concurrent.futures executor): a
process pool would fork the Qt application. Cost: the study's own (seconds to a minute at the default draws).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QWidget,
)

from ...analytics import CheckerlabError
from .task import Task
from .views import column, small_font

#: Draws the GUI runs a Monte Carlo study with by default (the CLI's 256 take minutes on two cores).
GUI_DRAWS = 32


def run_study(name: str, draws: int, progress, cancel):
    """`studies.run(name)` on a thread pool (see the module docstring)."""
    from concurrent.futures import ThreadPoolExecutor

    from ...analytics import studies

    with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4))) as pool:
        return studies.run(name, draws=draws, executor=pool, progress=progress, cancel=cancel)


def study_png(result, dpi: float = 100.0) -> bytes:
    """The study's figure as PNG bytes."""
    import io

    from ...analytics.presentation.figures import study_figure

    fig = study_figure(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class StudiesPanel(QWidget):
    """Pick a study, run it, see its figure and numbers, save its files. `message(text)`: for the status bar."""

    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        from ...analytics import studies

        self.choice = QComboBox(self)
        for name in studies.NAMES:
            self.choice.addItem(name, name)
            self.choice.setItemData(self.choice.count() - 1, studies.claim(name), Qt.ItemDataRole.ToolTipRole)
        self.choice.currentIndexChanged.connect(lambda _: self._show_claim())
        self.draws = QSpinBox(self)
        self.draws.setRange(2, 4096)
        self.draws.setValue(GUI_DRAWS)
        self.draws.setPrefix("draws ")
        self.draws.setToolTip("Monte Carlo draws per point (the CLI's default is 256)")
        self.run_button = QPushButton("Run", self)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.save_button = QPushButton("Save files…", self)
        self.save_button.setToolTip("NAME.json, .csv, .png and .svg in a folder")
        self.save_button.clicked.connect(self.save_dialog)
        self.save_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(160)
        bar = QHBoxLayout()
        for w in (self.choice, self.draws, self.run_button, self.cancel_button, self.progress, self.save_button):
            bar.addWidget(w)
        bar.addStretch(1)
        self.claim = QLabel(self)
        self.claim.setWordWrap(True)
        self.figure = QLabel("Run a study to see its figure.", self)
        self.figure.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll = scroll = QScrollArea(self)
        scroll.setWidget(self.figure)
        scroll.setWidgetResizable(True)
        self.table = QPlainTextEdit(self)
        self.table.setReadOnly(True)
        self.table.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = small_font(self.table)
        font.setStyleHint(font.StyleHint.Monospace)
        font.setFamily("monospace")
        self.table.setFont(font)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(scroll)
        split.addWidget(self.table)
        split.setSizes([600, 400])
        split.splitterMoved.connect(lambda *_: self._fit_figure())
        column(self, bar, self.claim, (split, 1))
        self.task: Task | None = None
        self.result = None
        self.pixmap: QPixmap | None = None  # the figure at its natural size; shown scaled to fit
        self._show_claim()

    def select(self, name: str) -> None:
        index = self.choice.findData(name)
        if index < 0:
            raise CheckerlabError(f"unknown study {name!r}; choose one of {', '.join(self._names())}")
        self.choice.setCurrentIndex(index)

    @staticmethod
    def _names() -> tuple[str, ...]:
        from ...analytics import studies

        return studies.NAMES

    def _show_claim(self) -> None:
        from ...analytics import studies

        name = self.choice.currentData()
        self.claim.setText(f"<b>{name}</b>: {studies.claim(name)}")
        self.draws.setEnabled(name in studies.MONTE_CARLO)

    # ---- running ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Start the chosen study (a running one is cancelled first)."""
        self.cancel()
        name, draws = self.choice.currentData(), self.draws.value()
        self.task = task = Task(lambda progress, cancel: run_study(name, draws, progress, cancel), self)
        task.progressed.connect(lambda f, text: self._progress(task, f))
        task.done.connect(lambda result: self._done(task, result))
        task.failed.connect(lambda text: self._failed(task, name, text))
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.message.emit(f"Running the {name} study…")
        task.start()

    def cancel(self) -> None:
        if self.task is not None and self.task.running():
            self.task.stop()

    def _progress(self, task: Task, fraction: float) -> None:
        if task is self.task:
            self.progress.setValue(round(1000 * fraction))

    def _finish(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _failed(self, task: Task, name: str, text: str) -> None:
        if task is self.task:
            self._finish()
            self.message.emit(f"study {name}: {text}")  # the last result stays on screen

    def _done(self, task: Task, result) -> None:
        if task is not self.task:
            return
        from ...analytics.presentation.studies import study_table

        self._finish()
        self.progress.setValue(1000)
        self.result = result
        self.table.setPlainText(study_table(result))
        try:
            pixmap = QPixmap()
            pixmap.loadFromData(study_png(result, 100.0 * self.devicePixelRatioF()))
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            self.pixmap = pixmap
            self._fit_figure()
        except Exception as exc:  # noqa: BLE001 - matplotlib missing or the figure failed: the numbers stay
            self.figure.setText(f"No figure: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}")
        self.save_button.setEnabled(True)
        self.message.emit(f"study {result.study}: {result.verdict.splitlines()[0][:200]}")

    def _fit_figure(self) -> None:
        """The whole figure in the visible area, never enlarged."""
        if self.pixmap is None:
            return
        area = self.scroll.viewport().size() * self.pixmap.devicePixelRatio()
        scaled = self.pixmap.scaled(area.boundedTo(self.pixmap.size()), Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        scaled.setDevicePixelRatio(self.pixmap.devicePixelRatio())
        self.figure.setPixmap(scaled)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_figure()

    # ---- files ------------------------------------------------------------------------------------
    def save(self, folder: str) -> list:
        """The result's files in `folder` (`presentation.studies.write_study`); returns their paths."""
        from ...analytics.presentation.studies import write_study

        paths = write_study(self.result, folder)
        self.message.emit(f"Wrote {', '.join(p.name for p in paths)} in {folder}")
        return paths

    def save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the study's files in")
        if folder and self.result is not None:
            try:
                self.save(folder)
            except Exception as exc:  # noqa: BLE001 - one line in the status bar
                self.message.emit(f"cannot save: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}")
