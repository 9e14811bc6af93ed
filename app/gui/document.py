"""The open document: the current `State`, its validation, the undo stack and the file it came from.

Every edit goes through `Document.apply`, which pushes a `StateCommand` (old state -> new state) onto the
QUndoStack, so undo/redo covers the stack editor and the input panel alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ...analytics import Config
from .state import State, Validation, state_from_config, validate

#: Consecutive edits of the same field (a slider drag, spin-box steps) merge into one undo step only when
#: each comes within this many seconds of the previous one.
MERGE_WINDOW_S = 1.0


class StateCommand(QUndoCommand):
    """Replace the document's state. Edits with the same merge key merge when they follow each other within
    `MERGE_WINDOW_S` (a slider drag is one step; the same slider moved again later is a new one)."""

    def __init__(self, document: Document, old: State, new: State, text: str, merge_key: str | None = None):
        super().__init__(text)
        self.document, self.old, self.new, self.merge_key = document, old, new, merge_key
        self.time = document.clock()

    def id(self) -> int:
        return 1 if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, StateCommand) or other.merge_key != self.merge_key
                or other.time - self.time > MERGE_WINDOW_S):
            return False
        self.new, self.time = other.new, other.time
        return True

    def redo(self) -> None:
        self.document._set_state(self.new)

    def undo(self) -> None:
        self.document._set_state(self.old)


class Document(QObject):
    """The model the widgets edit and the views display. Emits `changed` after every state change."""

    changed = Signal()
    pathChanged = Signal(str)

    def __init__(self, config: Config, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.clock = clock
        self.undo_stack = QUndoStack(self)
        self._state = state_from_config(config)
        self._validation = validate(self._state)
        self._images: dict[str, np.ndarray] = {}
        self.path: str | None = None

    # ---- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def validation(self) -> Validation:
        return self._validation

    @property
    def config(self) -> Config | None:
        """The valid Config of the current state, or None while a cell is invalid."""
        return self._validation.config

    def apply(self, new: State, text: str, merge_key: str | None = None) -> None:
        """Make `new` the current state as one undoable step (no-op when nothing changed)."""
        if new != self._state:
            self.undo_stack.push(StateCommand(self, self._state, new, text, merge_key))

    def load(self, config: Config, text: str = "Load", path: str | None = None) -> None:
        """Replace everything by `config` (undoable); `path` becomes the document's file."""
        self.apply(state_from_config(config), text)
        self.set_path(path)

    def set_path(self, path: str | None) -> None:
        self.path = path
        self.pathChanged.emit(path or "")

    def _set_state(self, state: State) -> None:
        self._state = state
        self._validation = validate(state)
        self.changed.emit()

    # ---- input images ---------------------------------------------------------------------------
    def image(self) -> np.ndarray | None:
        """The decoded input image when the settings ask for one (cached by path).

        CheckerlabError if the file cannot be read."""
        settings = self._state.settings
        if settings.input != "image" or not settings.image_path:
            return None
        path = os.path.abspath(settings.image_path)
        if path not in self._images:
            from ..images import load_image

            self._images[path] = load_image(path)
        return self._images[path]

    def add_image(self, path: str, array: np.ndarray) -> None:
        """Remember an already decoded image (e.g. from drag and drop)."""
        self._images[os.path.abspath(path)] = array
