"""The preset chooser above the stack editor: a combo box of the presets and a note that describes the
preset the stack comes from (its paper), or says how to edit a custom stack."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from ...analytics.presets import MODEL_PRESETS, PRESETS, get_preset
from .document import Document
from .views import small_font

#: Every preset: the stacks, then the upsampling paths of real models (norms, pads, pools, FIR blur).
ALL_PRESETS = {**PRESETS, **MODEL_PRESETS}


class PresetsBox(QWidget):
    """`load(key)` loads a preset into the document (undoable); `problem(message)` if it cannot."""

    problem = Signal(str)

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.combo = QComboBox(self)
        self.combo.addItem("Load a preset…")
        for preset in ALL_PRESETS.values():
            if preset.key == next(iter(MODEL_PRESETS)):
                self.combo.insertSeparator(self.combo.count())
            self.combo.addItem(preset.title, preset.key)
            self.combo.setItemData(self.combo.count() - 1, preset.description, Qt.ItemDataRole.ToolTipRole)
        self.combo.activated.connect(self._chosen)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setFont(small_font(self, 0.9))
        self.note.setStyleSheet("color: #444;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.combo)
        layout.addWidget(self.note)
        document.changed.connect(self.update_note)
        self.update_note()

    def load(self, key: str) -> None:
        preset = get_preset(key)
        self.document.load(preset.config, f"Load preset {preset.title}")
        self._describe(preset)

    def _chosen(self, index: int) -> None:
        key = self.combo.itemData(index)
        self.combo.setCurrentIndex(0)
        if key:
            self.load(key)

    def _describe(self, preset) -> None:
        self.note.setText(f"<b>{preset.title}</b>: {preset.description} <i>({preset.reference})</i>")

    def update_note(self) -> None:
        """Describe the preset the stack comes from (if it is one); otherwise a hint."""
        config = self.document.config
        match = next((p for p in ALL_PRESETS.values() if config is not None and p.config.stack == config.stack),
                     None)
        if match is not None:
            self._describe(match)
        elif config is not None:
            self.note.setText("Custom stack. Edit a cell (double-click or type), paste PyTorch code (Ctrl+V), or "
                              "load a preset above.")
