"""The formula panel: the closed forms of the overlap count typeset as mathematics (matplotlib mathtext, one
image per displayed line, from the same LaTeX that is copied), with copy-as-LaTeX and the source on demand.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .compute import FormulaResult
from .views import Staleness, small_font


class FormulaPanel(Staleness, QWidget):
    """Typeset lines in a scroll area, the LaTeX source below on demand, and a Copy LaTeX button."""

    copied = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(7.0, mono.pointSizeF() * 0.92))
        self.page = QWidget(self)
        self.page.setStyleSheet("background: white;")
        self.lines_layout = QVBoxLayout(self.page)
        self.lines_layout.setContentsMargins(8, 6, 8, 6)
        self.lines_layout.setSpacing(3)
        self.placeholder = QLabel("The closed form appears here once it is computed.", self.page)
        self.placeholder.setStyleSheet("color: #888;")
        self.lines_layout.addWidget(self.placeholder)
        self.lines_layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.page)
        self.scroll.setWidgetResizable(True)
        self.source = QPlainTextEdit(self)
        self.source.setReadOnly(True)
        self.source.setFont(mono)
        self.source.setPlaceholderText("LaTeX source")
        self.summary = QLabel(" ", self)
        self.summary.setFont(small_font(self, 0.9))
        self.summary.setStyleSheet("color: #555;")
        self.source_button = QToolButton(self)
        self.source_button.setText("LaTeX source")
        self.source_button.setCheckable(True)
        self.source_button.setToolTip("Show the LaTeX source under the formula")
        self.source_button.toggled.connect(lambda on: self.source.setVisible(on))
        self.copy_button = QPushButton("Copy LaTeX", self)
        self.copy_button.setToolTip("Copy the LaTeX source of the formula (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy_latex)
        self.copy_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.source_button)
        bar.addWidget(self.copy_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.scroll)
        split.addWidget(self.source)
        split.setSizes([300, 120])
        self.source.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.result: FormulaResult | None = None
        self.line_labels: list[QLabel] = []

    def set_result(self, result: FormulaResult) -> None:
        self.result = result
        self._clear_lines()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for title, lines in result.sections:
            self._add(QLabel(f"<b>{title}</b>", self.page))
            for text, png in lines:
                label = QLabel(self.page)
                pixmap = QPixmap()
                if png is not None and pixmap.loadFromData(png, "PNG"):
                    pixmap.setDevicePixelRatio(self.devicePixelRatioF())
                    label.setPixmap(pixmap)
                else:  # mathtext could not typeset this line: its source, still readable
                    label.setText(text)
                    label.setFont(mono)
                label.setToolTip(text)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self._add(label)
                self.line_labels.append(label)
        if result.note:
            note = QLabel(result.note, self.page)
            note.setStyleSheet("color: #a05000;")
            self._add(note)
        self.source.setPlainText(result.latex)
        self.summary.setText(result.summary)
        self.copy_button.setEnabled(bool(result.latex))

    def _add(self, widget: QWidget) -> None:
        self.lines_layout.insertWidget(self.lines_layout.count() - 1, widget)

    def _clear_lines(self) -> None:
        self.placeholder.hide()
        while self.lines_layout.count() > 2:  # keep the placeholder and the stretch
            item = self.lines_layout.takeAt(1)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.line_labels = []

    def set_message(self, text: str) -> None:
        """Show why there is no formula (e.g. the symbolic engine failed) without clearing the last one."""
        self.summary.setText(text)

    def copy_latex(self) -> str:
        """Put the LaTeX source on the clipboard and return it."""
        text = self.result.latex if self.result else ""
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)
        return text
