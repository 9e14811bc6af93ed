"""File and export actions: new, open, save, recent files, the input image, drag and drop, and exports.

Every action runs guarded: an error becomes one status-bar line, never an exception inside Qt. Loading
goes through `Document` (undoable); writes are atomic (`export`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from ...analytics import CheckerlabError, load_target, save_config
from ...analytics.presets import default_config
from .compute import describe_error
from .document import Document
from .export import ARRAY_FILTERS, FIGURE_FILTERS, export_array, export_latex_report, export_png
from .session import Session

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_FALLBACK_KEYS = {
    QKeySequence.StandardKey.New: "Ctrl+N",
    QKeySequence.StandardKey.Open: "Ctrl+O",
    QKeySequence.StandardKey.Save: "Ctrl+S",
    QKeySequence.StandardKey.SaveAs: "Ctrl+Shift+S",
    QKeySequence.StandardKey.Quit: "Ctrl+Q",
    QKeySequence.StandardKey.Refresh: "F5",
    QKeySequence.StandardKey.Undo: "Ctrl+Z",
    QKeySequence.StandardKey.Redo: "Ctrl+Shift+Z",
}


def os_message(exc: OSError) -> str:
    name = exc.filename or ""
    return f"{name}: {exc.strerror or exc}" if name else str(exc.strerror or exc)


def run_guarded(fn: Callable[[], object], report: Callable[[str], None]) -> None:
    """Run a UI action; any error becomes `report(one line)` (nothing escapes into Qt)."""
    try:
        fn()
    except OSError as exc:
        report(os_message(exc))
    except Exception as exc:  # CheckerlabError, ValueError and, as a last line of defence, anything else
        report(describe_error(exc))


def make_action(parent: QObject, text: str, slot, shortcut=None, tip: str | None = None,
                report: Callable[[str], None] | None = None) -> QAction:
    """A QAction running `slot` guarded; `shortcut` is a key string or a standard key (with a fallback where
    the platform theme has no binding, e.g. offscreen)."""
    action = QAction(text, parent)
    if isinstance(shortcut, QKeySequence.StandardKey):
        bindings = QKeySequence.keyBindings(shortcut) or [QKeySequence(_FALLBACK_KEYS.get(shortcut, ""))]
        action.setShortcuts(bindings)
    elif shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda *_: run_guarded(slot, report) if report else slot())
    return action


class FileActions(QObject):
    """The File menu's actions and the exports. `window` provides the dialogs' parent, the status bar
    (`notify`, `show_error`), the controller's results and the views' shown arrays."""

    def __init__(self, window, document: Document, session: Session):
        super().__init__(window)
        self.window, self.document, self.session = window, document, session
        report = window.show_error
        std = QKeySequence.StandardKey
        self.actions: dict[str, QAction] = {
            "new": make_action(self, "&New", self.new_document, std.New, "Start from the default example", report),
            "open": make_action(self, "&Open…", self.open_dialog, std.Open, "Open a JSON config", report),
            "save": make_action(self, "&Save", self.save, std.Save, "Save the config as JSON", report),
            "save_as": make_action(self, "Save &As…", self.save_as, std.SaveAs, report=report),
            "export_figure": make_action(self, "&Figure (PDF, SVG, PNG)…", self.export_figure_dialog, "Ctrl+E",
                                         "The publication figure of the shown layer: exact overlap, simulated "
                                         "output, their spectra", report),
            "screenshot": make_action(self, "&Window as PNG…", self.screenshot_dialog, "Ctrl+Shift+E",
                                      "A picture of the window as it is on screen", report),
            "export_latex": make_action(self, "&LaTeX report…", self.export_latex_dialog, "Ctrl+L",
                                        report=report),
            "image": make_action(self, "Use an &image as input…", self.choose_image, "Ctrl+I", report=report),
        }

    def notify(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ---- menus ------------------------------------------------------------------------------------
    def fill_file_menu(self, menu: QMenu, quit_action: QAction) -> None:
        a = self.actions
        menu.addActions([a["new"], a["open"]])
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addActions([a["save"], a["save_as"]])
        menu.addSeparator()
        export_menu = menu.addMenu("&Export")
        export_menu.addActions([a["export_figure"], a["screenshot"]])
        data_menu = export_menu.addMenu("&Data (CSV/NPY)")
        for key, title in self.array_names().items():
            data_menu.addAction(make_action(self, title + "…", lambda k=key: self.export_data_dialog(k),
                                            report=self.window.show_error))
        export_menu.addAction(a["export_latex"])
        menu.addAction(a["image"])
        menu.addSeparator()
        menu.addAction(quit_action)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.session.recent_files()
        for n, path in enumerate(files, 1):
            act = self.recent_menu.addAction(f"&{n} {Path(path).name}")
            act.setToolTip(path)
            act.triggered.connect(lambda *_, p=path: run_guarded(lambda: self.open_config(p), self.window.show_error))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.session.clear_recent)

    # ---- documents --------------------------------------------------------------------------------
    def new_document(self) -> None:
        self.document.load(default_config(), "New")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", self.session.last_dir(),
                                              "checkerlab config or ONNX model (*.json *.onnx);;All files (*)")
        if path:
            self.open_config(path)

    def open_config(self, path: str) -> bool:
        """Open what `path` names, as the CLI does: an ONNX model (the Network tab, imported off the GUI
        thread), else `load_target` (a config file, a preset, a layer spec) as an undoable load. Errors go to
        the status bar in one line and change nothing."""
        if str(path).lower().endswith(".onnx"):
            self.window.open_model(str(path))
            self.session.add_recent(str(path))
            return True
        try:
            config = load_target(path)
        except CheckerlabError as exc:
            self.window.show_error(str(exc))
            return False
        self.document.load(config, f"Open {Path(path).name}", path=str(path))
        self.document.undo_stack.setClean()
        self.session.add_recent(str(path))
        self.notify(f"Opened {path}")
        return True

    def save(self) -> bool:
        return self.save_to(self.document.path) if self.document.path else self.save_as()

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save config", self.document.path or self.session.last_dir(),
                                              "checkerlab config (*.json)")
        if not path:
            return False
        return self.save_to(path if path.lower().endswith(".json") else path + ".json")

    def save_to(self, path: str) -> bool:
        """Write the current (valid) config as JSON, atomically."""
        config = self.document.config
        if config is None:
            self.window.show_error(f"cannot save while an entry is invalid: {self.document.validation.message}")
            return False
        try:
            save_config(config, path)
        except OSError as exc:
            self.window.show_error(os_message(exc))
            return False
        self.document.set_path(str(path))
        self.document.undo_stack.setClean()
        self.session.add_recent(str(path))
        self.notify(f"Saved {path}")
        return True

    # ---- input image ------------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Input image", self.session.last_dir(),
                                              "Images (" + " ".join("*" + s for s in IMAGE_SUFFIXES) + ")")
        if path:
            self.use_image(path)

    def use_image(self, path: str) -> bool:
        """Decode an image file and make it the simulation input (undoable)."""
        from ..images import load_image

        try:
            array = load_image(path)
        except CheckerlabError as exc:
            self.window.show_error(str(exc))
            return False
        self.document.add_image(path, array)
        state = self.document.state
        settings = replace(state.settings, input="image", image_path=os.path.abspath(path))
        self.document.apply(replace(state, settings=settings), f"Use image {Path(path).name}")
        c, h, w = array.shape
        self.notify(f"Input image {path} ({w}×{h}, {c} channel{'s' * (c > 1)})")
        return True

    # ---- drag and drop ----------------------------------------------------------------------------
    @staticmethod
    def dropped_path(event) -> str | None:
        """The first local file of a drag that checkerlab can open (a JSON config or an image)."""
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            path = url.toLocalFile()
            if path and path.lower().endswith(IMAGE_SUFFIXES + (".json", ".onnx")):
                return path
        return None

    def open_dropped(self, path: str) -> None:
        opener = self.open_config if path.lower().endswith((".json", ".onnx")) else self.use_image
        run_guarded(lambda: opener(path), self.window.show_error)

    # ---- exports ----------------------------------------------------------------------------------
    def array_names(self) -> dict[str, str]:
        return {
            "overlap_map": "Overlap map (exact, shown layer)",
            "tile": "Overlap tile (exact, shown layer)",
            "profile_rows": "Overlap profile along rows (shown layer)",
            "profile_cols": "Overlap profile along columns (shown layer)",
            "analytic_spectrum": "Spectrum of the overlap map (shown layer)",
            "simulated": "Simulated activation (shown layer)",
            "simulated_spectrum": "Spectrum of the simulated activation (shown layer)",
            "input": "Simulation input",
            "metrics": "Metrics table",
        }

    def array(self, name: str) -> np.ndarray:
        """A shown array by name (see `array_names`); CheckerlabError when it has not been computed yet."""
        maps = self.window.maps
        view, sim = maps.current_view(), maps.simulation
        if name in ("overlap_map", "tile", "profile_rows", "profile_cols", "analytic_spectrum") and view is None:
            raise CheckerlabError("the analysis has not finished yet")
        if name in ("simulated", "simulated_spectrum", "input") and (sim is None or maps.shown is None):
            raise CheckerlabError("the simulation has not finished yet")
        if name == "tile" and view.pattern is None:
            raise CheckerlabError("the shown layer has no periodic interior, so no tile")
        table = {
            "overlap_map": lambda: view.exact_map,
            "tile": lambda: np.asarray(view.pattern.tile),
            "profile_rows": lambda: view.profiles[0],
            "profile_cols": lambda: view.profiles[1],
            "analytic_spectrum": lambda: view.spectrum,
            "simulated": lambda: maps.shown,
            "simulated_spectrum": lambda: sim.spectrum(maps.position),
            "input": lambda: sim.arrays[0],
            "metrics": self.window.metrics_panel.as_array,
        }
        if name not in table:
            raise CheckerlabError(f"unknown array {name!r}; known: {', '.join(table)}")
        return table[name]()

    def export_data(self, name: str, path: str) -> None:
        export_array(self.array(name), path)
        self.notify(f"Wrote {path}")

    def export_data_dialog(self, name: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self.window, f"Export {self.array_names()[name]}", os.path.join(self.session.last_dir(), name + ".csv"),
            ARRAY_FILTERS,
        )
        if path:
            if Path(path).suffix.lower() not in (".csv", ".npy"):
                path += ".npy" if "npy" in chosen else ".csv"
            self.export_data(name, path)

    def export_figure(self, path: str) -> None:
        """The publication figure of the shown layer (`analytics.presentation.figures.overlap_figure` of the
        stack up to it: exact overlap, the simulated first draw of the same settings and input, their spectra)
        as PDF, SVG or PNG (by extension)."""
        from ...analytics.presentation.figures import check_path, overlap_figure, save_figure

        check_path(path)
        config, position = self.document.config, self.window.maps.position
        if config is None:
            raise CheckerlabError(f"no figure while an entry is invalid: {self.document.validation.message}")
        if position == 0:
            raise CheckerlabError("the input has no overlap pattern: select a layer for the figure")
        save_figure(overlap_figure(config.stack[:position], config.input_size, config.simulation,
                                   self.document.image()), path)
        self.notify(f"Wrote {path}")

    def export_figure_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export figure",
                                                   os.path.join(self.session.last_dir(), "checkerlab.pdf"),
                                                   FIGURE_FILTERS)
        if path:
            ext = "." + chosen.split("(*.")[1][:3] if "(*." in chosen else ".pdf"
            self.export_figure(path if Path(path).suffix.lower() in (".pdf", ".svg", ".png") else path + ext)

    def screenshot_dialog(self, widget: QWidget | None = None) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save a picture of the window",
                                              os.path.join(self.session.last_dir(), "checkerlab-window.png"),
                                              "PNG image (*.png)")
        if path:
            path = path if path.lower().endswith(".png") else path + ".png"
            export_png(widget or self.window, path)
            self.notify(f"Wrote {path}")

    def export_latex(self, path: str) -> None:
        analytic = self.window.controller.analytic
        config = self.document.config or (analytic.config if analytic else None)
        if config is None:
            raise CheckerlabError("no valid stack to report on")
        export_latex_report(config.stack, path, config.input_size)
        self.notify(f"Wrote {path}")

    def export_latex_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export LaTeX report",
                                              os.path.join(self.session.last_dir(), "checkerlab-report.tex"),
                                              "LaTeX (*.tex)")
        if path:
            self.export_latex(path if path.lower().endswith(".tex") else path + ".tex")

    def plot_menu(self, plot, data_name: str) -> list[QAction]:
        """The context menu of a plot: checkerlab's exports instead of pyqtgraph's (its SVG exporter is broken
        here, DESIGN.md §6, and a grab is not a figure)."""
        report = self.window.show_error
        return [make_action(plot, "Export figure (PDF, SVG, PNG)…", self.export_figure_dialog, report=report),
                make_action(plot, "Save this plot as PNG…", lambda: self.screenshot_dialog(plot), report=report),
                make_action(plot, "Save plot data as CSV/NPY…", lambda: self.export_data_dialog(data_name),
                            report=report)]
