"""The stack editor: a table with one row per layer, numbered from 0 like nn.Sequential, validated cell by cell.

Rows can be added, removed, duplicated and moved; every edit is one undoable step on the Document.
Invalid cells are tinted, carry a warning icon and a tooltip, and the message is repeated inline below
the table.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...analytics import CheckerlabError
from .document import Document
from .state import COLUMNS, HEADERS, ROW_TYPES, located_message, new_row, rows_from_stack
from .torch_code import layers_from_code

_ERROR_BG = QColor(255, 215, 215)
_ERROR_MARK = QColor(200, 0, 32)
ERROR_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell's error message, or None
_NA_FG = QColor(170, 170, 170)
_TIPS = {
    "type": "Layer type (PyTorch's torch.nn name); LeakyReLU with its slope, e.g. LeakyReLU(0.2)",
    "kernel": "kernel_size: an integer or 'h, w'",
    "stride": "stride (ConvTranspose2d/Conv2d), scale_factor (Upsample) or upscale_factor (PixelShuffle)",
    "padding": "padding: an integer or 'h, w' (Conv2d also 'same' or 'valid')",
    "output_padding": "output_padding: must be smaller than stride or dilation",
    "dilation": "dilation: an integer or 'h, w'",
    "groups": "groups: must divide the input and output channel counts",
    "bias": "bias: whether the layer adds a learned bias (the simulation's bias settings apply to it)",
    "channels": "out_channels; empty keeps the incoming channel count",
}


class StackTableModel(QAbstractTableModel):
    """Qt model over `Document.state.rows`; writes go through `Document.apply` (undoable)."""

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self._rows = len(document.state.rows)
        self._shown = self._snapshot()
        document.changed.connect(self._on_changed)

    def _snapshot(self) -> list[tuple]:
        """Per row what its cells show: the row and its errors (a changed row is repainted, the others not)."""
        errors = self.document.validation.errors
        return [(row, sorted((c, m) for (r, c), m in errors.items() if r == i))
                for i, row in enumerate(self.document.state.rows)]

    def _on_changed(self) -> None:
        n, before = len(self.document.state.rows), self._shown
        self._shown = self._snapshot()
        if n != self._rows:
            self.beginResetModel()
            self._rows = n
            self.endResetModel()
            return
        for r in range(n):
            if before[r] != self._shown[r]:
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else self._rows

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def _cell(self, index):
        row = self.document.state.rows[index.row()]
        return row, COLUMNS[index.column()]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= self._rows:
            return None
        row, column = self._cell(index)
        error = self.document.validation.errors.get((index.row(), column))
        if column == "bias" and row.applies(column):
            if role == Qt.ItemDataRole.CheckStateRole:
                checked = row.bias.strip().lower() in ("", "true", "yes", "1")
                return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.DisplayRole:
                return None if row.bias.strip().lower() in ("", "true", "false") else row.bias
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cell(column) if row.applies(column) else "—"
        if role == Qt.ItemDataRole.EditRole:
            return row.cell(column)
        if role == Qt.ItemDataRole.ForegroundRole and not row.applies(column):
            return _NA_FG
        if role == Qt.ItemDataRole.BackgroundRole and error:
            return _ERROR_BG
        if role == ERROR_ROLE:
            return error
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == "type" and row.spec:  # a long spec is elided in the cell
                return error or row.spec
            return error or (_TIPS[column] if row.applies(column) else "does not apply to this layer type")
        if role == Qt.ItemDataRole.TextAlignmentRole and column != "type":
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return base
        row, column = self._cell(index)
        if row.applies(column):
            base |= Qt.ItemFlag.ItemIsUserCheckable if column == "bias" else Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        row, column = self._cell(index)
        if role == Qt.ItemDataRole.CheckStateRole and column == "bias":
            value = str(Qt.CheckState(value) == Qt.CheckState.Checked)
        elif role != Qt.ItemDataRole.EditRole:
            return False
        if not row.applies(column):
            return False
        new = row.with_cell(column, "" if value is None else str(value))
        header = HEADERS[COLUMNS.index(column)].lower()
        self.document.apply(self.document.state.with_row(index.row(), new), f"Edit {header} of layer {index.row()}")
        return True

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _TIPS[COLUMNS[section]]
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(section)  # the layer index, as nn.Sequential prints it
        elif role == Qt.ItemDataRole.ToolTipRole:
            return f"layer {section}"
        return None


class _Delegate(QStyledItemDelegate):
    """A combo box for the type column (editable, so that LeakyReLU(0.1) can be typed). An invalid cell
    keeps all its text: it is tinted and marked by a red corner, not an icon that would crowd the text out."""

    def paint(self, painter, option, index):
        super().paint(painter, option, index)
        if index.data(ERROR_ROLE):
            r = option.rect
            size = min(7, r.height() // 2)
            painter.save()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_ERROR_MARK)
            painter.drawPolygon([QPoint(r.right() - size, r.top()), QPoint(r.right(), r.top()),
                                 QPoint(r.right(), r.top() + size)])
            painter.restore()

    def createEditor(self, parent, option, index):
        if COLUMNS[index.column()] != "type":
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.addItems(ROW_TYPES)
        combo.setEditable(True)
        combo.activated.connect(lambda _=None, c=combo: (self.commitData.emit(c), self.closeEditor.emit(c)))
        return combo

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            text = index.data(Qt.ItemDataRole.EditRole) or ""
            i = editor.findText(text)
            if i >= 0:
                editor.setCurrentIndex(i)
            else:
                editor.setEditText(text)
            return
        super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
            return
        super().setModelData(editor, model, index)


class StackEditor(QWidget):
    """Table + row buttons + the inline validation message. Ctrl+V pastes PyTorch code (`paste`);
    `problem(message)` reports what could not be done."""

    currentRowChanged = Signal(int)
    problem = Signal(str)

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.model = StackTableModel(document, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setItemDelegate(_Delegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.verticalHeader().setMinimumWidth(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(34)
        header.setMinimumSectionSize(24)
        names = max(self.table.fontMetrics().horizontalAdvance(t) for t in ROW_TYPES + ("LeakyReLU(0.25)",))
        for i in range(len(COLUMNS)):  # as narrow as the header text allows; the type column fits its names
            needed = header.sectionSizeFromContents(i).width()
            self.table.setColumnWidth(i, max(needed, names + 14 if i == 0 else 30))
        self._widest = {0: 2 * (names + 14)}  # a longer layer spec is elided (its tooltip has it all)
        header.setStretchLastSection(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)

        self.actions_by_name: dict[str, QAction] = {}
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for name, text, shortcut, slot in (
            ("add", "Add layer", "Ctrl+Shift+A", self.add_row),
            ("duplicate", "Duplicate", "Ctrl+D", self.duplicate_row),
            ("remove", "Remove", QKeySequence.StandardKey.Delete, self.remove_row),
            ("up", "Move up", "Ctrl+Shift+Up", lambda: self.move_row(-1)),
            ("down", "Move down", "Ctrl+Shift+Down", lambda: self.move_row(+1)),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(
                f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
            )
            action.triggered.connect(lambda *_, s=slot: s())  # not slot(checked): add_row(False)
            self.addAction(action)
            self.actions_by_name[name] = action
            button = QToolButton(self)
            button.setDefaultAction(action)
            buttons.addWidget(button)
        paste = QAction("Paste PyTorch layers", self)
        paste.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
        paste.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.setToolTip("Paste nn.Sequential(...) code (replaces the stack) or layer calls (inserted below)")
        paste.triggered.connect(lambda *_: self.paste())
        self.addAction(paste)
        self.actions_by_name["paste"] = paste
        add_menu = QMenu(self)
        for t in ROW_TYPES:
            add_menu.addAction(t, lambda t=t: self.add_row(t))
        self._add_button = buttons.itemAt(0).widget()
        self._add_button.setMenu(add_menu)
        self._add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        buttons.addStretch(1)

        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumHeight(34)
        font = QFont(self.message.font())
        font.setPointSizeF(font.pointSizeF() * 0.95)
        self.message.setFont(font)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        self.table.selectionModel().currentChanged.connect(self._on_current)
        self.model.modelReset.connect(self._reselect)
        document.changed.connect(self._update_message)
        document.changed.connect(self._fit_columns)
        self._want_row = 0
        self._update_message()

    def _fit_columns(self) -> None:
        """Widen a column whose text (e.g. an invalid entry being explained) would not fit; never narrow."""
        metrics = self.table.fontMetrics()
        for c, column in enumerate(COLUMNS):
            texts = [row.cell(column) for row in self.document.state.rows if row.applies(column)]
            needed = min(max((metrics.horizontalAdvance(t) for t in texts), default=0) + 14,
                         self._widest.get(c, 10**6))
            if needed > self.table.columnWidth(c):
                self.table.setColumnWidth(c, needed)

    def natural_width(self) -> int:
        """The width that shows every column without scrolling."""
        table = self.table
        columns = sum(table.columnWidth(i) for i in range(len(COLUMNS)))
        frame = 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()
        margins = self.layout().contentsMargins()
        return columns + table.verticalHeader().sizeHint().width() + frame + margins.left() + margins.right()

    # ---- row operations -------------------------------------------------------------------------
    def current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else len(self.document.state.rows) - 1

    def select_row(self, row: int, column: int = 0) -> None:
        row = max(0, min(row, self.model.rowCount() - 1))
        self._want_row = row
        if self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(row, column))

    def _reselect(self) -> None:
        self.select_row(self._want_row)

    def _edit_rows(self, rows, text: str, select: int) -> None:
        self._want_row = select
        self.document.apply(self.document.state.with_rows(rows), text)
        self.select_row(select)

    def add_row(self, type_: str = "ConvTranspose2d") -> None:
        """Insert a new layer (with defaults) below the current row."""
        rows = list(self.document.state.rows)
        at = self.current_row() + 1 if rows else 0
        rows.insert(at, new_row(type_))
        self._edit_rows(rows, f"Add {type_} as layer {at}", at)

    def duplicate_row(self) -> None:
        rows = list(self.document.state.rows)
        if rows:
            at = self.current_row()
            rows.insert(at + 1, rows[at].copy())
            self._edit_rows(rows, f"Duplicate layer {at}", at + 1)

    def remove_row(self) -> None:
        rows = list(self.document.state.rows)
        if rows:
            at = self.current_row()
            removed = rows.pop(at)
            self._edit_rows(rows, f"Remove layer {at} ({removed.type})", min(at, len(rows) - 1))

    def move_row(self, delta: int) -> None:
        rows = list(self.document.state.rows)
        at = self.current_row()
        to = at + delta
        if rows and 0 <= to < len(rows):
            rows[at], rows[to] = rows[to], rows[at]
            column = max(self.table.currentIndex().column(), 0)
            self._edit_rows(rows, f"Move layer {at} {'up' if delta < 0 else 'down'}", to)
            self.select_row(to, column)

    def paste(self, text: str | None = None) -> None:
        """Paste PyTorch code (the clipboard's by default): a whole nn.Sequential replaces the stack (and sets
        the input channels to its first conv's in_channels), layer calls are inserted below the current row.
        One undoable step; nothing changes when no layer can be read."""
        from dataclasses import replace

        from PySide6.QtGui import QGuiApplication

        text = QGuiApplication.clipboard().text() if text is None else text
        try:
            stack, in_channels, whole = layers_from_code(text)
        except CheckerlabError as exc:
            self.problem.emit(f"cannot paste: {exc}")
            return
        state, rows = self.document.state, list(rows_from_stack(stack))
        if whole:
            settings = state.settings if in_channels is None else replace(state.settings, in_channels=in_channels)
            self._want_row = 0
            self.document.apply(replace(state, rows=tuple(rows), settings=settings),
                                f"Paste nn.Sequential ({len(rows)} layers)")
            self.select_row(0)
            return
        at = self.current_row() + 1 if state.rows else 0
        self._edit_rows(list(state.rows[:at]) + rows + list(state.rows[at:]), f"Paste {len(rows)} layers", at)

    def set_cell(self, row: int, column: str, text: str) -> None:
        """Programmatic edit of one cell, exactly as typing it would do (used by tests and scripts)."""
        self.model.setData(self.model.index(row, COLUMNS.index(column)), text)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        for name in ("add", "duplicate", "remove", "up", "down", "paste"):
            menu.addAction(self.actions_by_name[name])
        menu.exec(self.table.viewport().mapToGlobal(pos))

    # ---- messages -------------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex | QPersistentModelIndex, _previous=None) -> None:
        self._update_message()
        self.currentRowChanged.emit(current.row() if current.isValid() else -1)

    def _update_message(self) -> None:
        v = self.document.validation
        if v.ok:
            cfg = v.config
            shapes = cfg.stack.shapes((cfg.simulation.in_channels, *cfg.input_size))
            (c0, h0, w0), (c1, h1, w1) = shapes[0], shapes[-1]
            n = len(cfg.stack)
            self.message.setStyleSheet("color: #555;")
            self.message.setText(f"✓ layers 0–{n - 1} · {h0}×{w0}×{c0} → {h1}×{w1}×{c1}")
            return
        row = self.table.currentIndex().row()
        mine = sorted((k, m) for k, m in v.errors.items() if k[0] == row)
        if mine:
            (r, column), msg = mine[0]
            text = located_message(self.document.state, r, msg)
        else:
            text = v.message
        more = len(v.errors) - 1
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(f"⚠ {text}" + (f"  (+{more} more)" if more > 0 else ""))
