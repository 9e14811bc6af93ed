"""The window's menu bar and toolbar: every action in one place, with the platform's standard shortcuts
(and common fallbacks where the platform theme has none, e.g. offscreen)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ...analytics.presets import MODEL_PRESETS
from .actions import make_action
from .presets_box import ALL_PRESETS


def undo_actions(window) -> tuple[QAction, QAction]:
    """Undo and Redo of the document's undo stack; their text says what they undo."""
    stack = window.document.undo_stack
    undo = stack.createUndoAction(window, "&Undo")
    undo.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Undo) or [QKeySequence("Ctrl+Z")])
    redo = stack.createRedoAction(window, "&Redo")
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    keys += [QKeySequence(k) for k in ("Ctrl+Shift+Z", "Ctrl+Y") if QKeySequence(k) not in keys]
    redo.setShortcuts(keys)
    return undo, redo


def build_menus(window) -> dict[str, QAction]:
    """Fill the window's menu bar and toolbar; returns its named actions (the file actions included)."""
    report, c, std = window.show_error, window.controller, QKeySequence.StandardKey
    own = {
        "quit": make_action(window, "&Quit", window.close, std.Quit, report=report),
        "copy_latex": make_action(window, "Copy formula as La&TeX", window.formula_panel.copy_latex, "Ctrl+Shift+C",
                                  report=report),
        "cancel": make_action(window, "&Cancel computation", window.cancel, "Esc", "Stop the running computation",
                              report),
        "recompute": make_action(window, "&Recompute", lambda: c.recompute(force=True), std.Refresh, report=report),
        "about": make_action(window, "&About checkerlab", window.about, report=report),
        "tour": make_action(window, "&What am I looking at?", window.tour.show, "F1", report=report),
    }
    actions = {**window.file_actions.actions, **own}
    bar = window.menuBar()
    window.file_actions.fill_file_menu(bar.addMenu("&File"), actions["quit"])
    edit = bar.addMenu("&Edit")
    edit.addActions([window.undo_action, window.redo_action])
    edit.addSeparator()
    edit.addActions([window.editor.actions_by_name[n] for n in ("add", "duplicate", "remove", "up", "down", "paste")])
    edit.addSeparator()
    edit.addAction(actions["copy_latex"])
    presets = bar.addMenu("&Presets")
    group = QActionGroup(window)
    for preset in ALL_PRESETS.values():
        if preset.key == next(iter(MODEL_PRESETS)):
            presets.addSeparator()
        act = make_action(window, preset.title, lambda k=preset.key: window.load_preset(k), tip=preset.description,
                          report=report)
        group.addAction(act)
        presets.addAction(act)
    bar.addMenu("&Compute").addActions([actions["recompute"], actions["cancel"]])
    studies_menu = bar.addMenu("&Studies")
    from ...analytics import studies

    studies_menu.setToolTipsVisible(True)
    for name in studies.NAMES:
        act = make_action(window, name, lambda n=name: window.run_study(n), tip=studies.claim(name), report=report)
        act.setToolTip(studies.claim(name))
        studies_menu.addAction(act)
    view = bar.addMenu("&View")
    view.addActions([window.stack_dock.toggleViewAction(), window.input_dock.toggleViewAction()])
    bar.addMenu("&Help").addActions([actions["tour"], actions["about"]])

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    toolbar.addActions([actions["open"], actions["save"]])
    toolbar.addSeparator()
    stack = window.document.undo_stack
    for text, slot, signal, enabled in (("Undo", stack.undo, stack.canUndoChanged, stack.canUndo()),
                                        ("Redo", stack.redo, stack.canRedoChanged, stack.canRedo())):
        act = QAction(text, window)  # fixed labels: the menu entries say what will be undone
        act.triggered.connect(slot)
        act.setEnabled(enabled)
        signal.connect(act.setEnabled)
        toolbar.addAction(act)
    toolbar.addSeparator()
    toolbar.addActions([actions["export_figure"], actions["export_latex"]])
    for act in actions.values():
        window.addAction(act)
    return actions
