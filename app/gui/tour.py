"""The first-run tour: on a first start (no saved session) the window opens on the Distill example with a
one-paragraph "what am I looking at" panel above the maps, dismissed for good with one click and shown
again from Help."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .views import small_font

#: The example a first start opens: the first figure of Odena, Dumoulin & Olah (Distill 2016).
TOUR_PRESET = "distill-k3s2"

TOUR_TEXT = (
    "<b>What am I looking at?</b> A transposed convolution with kernel 3 and stride 2 (the first example of "
    "Odena, Dumoulin &amp; Olah, <i>Deconvolution and Checkerboard Artifacts</i>, Distill 2016). "
    "<b>Left</b>: the exact overlap count, how many times the kernel writes each output pixel when every "
    "weight is 1; it alternates 2 and 1 along each axis, so a 2 × 2 checkerboard appears with contrast 4. "
    "<b>Right</b>: the same layer run as a network with random weights. <b>Below them</b>: their spectra, "
    "with the artifact frequencies the exact analysis predicts circled. Edit any cell of the stack on the "
    "left, or load a preset, and both sides update at once; the tabs give the tile, the metrics, the closed "
    "form and checkerboard-free fixes."
)


class TourPanel(QFrame):
    """The "what am I looking at" paragraph with a dismiss button; `dismissed` when the user closes it."""

    dismissed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("tour")
        self.setStyleSheet("#tour { background: #fff8dc; border: 1px solid #e0c96b; border-radius: 4px; }")
        self.text = QLabel(TOUR_TEXT, self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setFont(small_font(self, 0.9))
        self.button = QPushButton("Got it", self)
        self.button.setToolTip("Hide this explanation (Help ▸ What am I looking at? shows it again)")
        self.button.clicked.connect(self.dismiss)
        buttons = QVBoxLayout()
        buttons.addWidget(self.button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
