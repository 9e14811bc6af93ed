"""The formula panel: the closed form of the overlap count rendered as mathematics, with copy-as-LaTeX.

"Rendered as mathematics" without a TeX engine at run time: SymPy's Unicode pretty printer (2D layout of
fractions, floors, sums) in a monospace font. The LaTeX source is shown below it and copied verbatim.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .compute import FormulaResult
from .views import Staleness, small_font


class FormulaPanel(Staleness, QWidget):
    """Unicode-pretty closed form on top, LaTeX source below, and a Copy LaTeX button."""

    copied = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.pretty = QTextBrowser(self)
        mono.setPointSizeF(max(7.0, mono.pointSizeF() * 0.92))
        self.pretty.setFont(mono)
        self.pretty.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self.pretty.setPlaceholderText("The closed form appears here once it is computed.")
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
        split = QSplitter(self)
        split.setOrientation(split.orientation().Vertical)
        split.addWidget(self.pretty)
        split.addWidget(self.source)
        split.setSizes([300, 120])
        self.source.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.result: FormulaResult | None = None

    def set_result(self, result: FormulaResult) -> None:
        self.result = result
        self.pretty.setPlainText(result.pretty)
        self.source.setPlainText(result.latex)
        self.summary.setText(result.summary)
        self.copy_button.setEnabled(bool(result.latex))

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
