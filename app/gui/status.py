"""The status bar's compute area: the worker time of each stage, and a progress bar with a cancel button
that appear only for runs that take a while."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

SHOW_AFTER_MS = 150  # runs shorter than this never flash a progress bar


class ComputeStatus(QObject):
    """Timings, progress and cancel for `controller`'s requests, as permanent widgets of `bar`."""

    def __init__(self, bar: QStatusBar, controller, cancel):
        super().__init__(bar)
        self.controller = controller
        self.timing_label = QLabel(" ", bar)
        self.timing_label.setStyleSheet("color: #666;")
        self.timing_label.setFixedWidth(320)  # its text is elided to this width: it never widens the window
        self.progress = QProgressBar(bar)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        self.cancel_button = QToolButton(bar)
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel the computation (Esc)")
        self.cancel_button.clicked.connect(cancel)
        self.cancel_button.setVisible(False)
        for widget in (self.timing_label, self.progress, self.cancel_button):
            bar.addPermanentWidget(widget)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_AFTER_MS)
        self._timer.timeout.connect(self._show)
        controller.started.connect(self._started)
        controller.progress.connect(self._progress)
        controller.finished.connect(self.hide)
        controller.updated.connect(lambda _stage: self._timings())

    def _started(self, _label: str) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("computing…")
        self._timer.start()

    def _show(self) -> None:
        if self.controller.worker.is_busy():
            self.progress.setVisible(True)
            self.cancel_button.setVisible(True)

    def _progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"Monte Carlo {text}")

    def hide(self) -> None:
        self._timer.stop()
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _timings(self) -> None:
        timings = " · ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.controller.timings.items())
        label = self.timing_label
        label.setText(label.fontMetrics().elidedText(timings, Qt.TextElideMode.ElideRight, label.width()))
        label.setToolTip(f"Worker time of the last result of each stage: {timings}")
