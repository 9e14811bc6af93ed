"""The main window: stack editor and input panel on the left, the analytic and simulated views side by side.

Edits change the Document; a debounce timer turns bursts of edits into one compute request on the single
worker (newest wins). Results are displayed only if they belong to the newest request; while the editor
holds an invalid entry the last valid result stays on screen and the error is in the status bar.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...analytics import CheckerlabError, Config, load_config, save_config
from ...analytics.presets import PRESETS, default_config, get_preset
from . import compute
from .analytic_panel import AnalyticPanel, TilePanel
from .document import Document
from .export import export_array, export_figure, export_latex_report
from .fixes_panel import FixesPanel
from .formula_panel import FormulaPanel
from .input_panel import InputPanel
from .metrics_panel import MetricsPanel
from .simulation_panel import SimulationPanel
from .stack_editor import StackEditor
from .state import state_from_config
from .views import ProfilePlot, SpectrumPlot, ViewSync, small_font
from .worker import ComputeWorker, Request, describe_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
MAX_RECENT = 8
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
DEBOUNCE_MS = 20
HOLD_MS = 60  # longest wait for the simulation before the new analysis is drawn alone
FORMULA_DELAY_MS = 250


def default_settings() -> QSettings:
    """The user's settings store (INI format, so values are strings: always read them with `type=`)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "checkerlab", "checkerlab")


class MainWindow(QMainWindow):
    """checkerlab's window. `updated(stage)` fires after a stage's result is on screen; `settled` when the
    newest request has finished (all views current)."""

    updated = Signal(str)
    settled = Signal()

    def __init__(
        self,
        config: Config | None = None,
        *,
        settings: QSettings | None = None,
        restore: bool = True,
        debounce_ms: int = DEBOUNCE_MS,
        threads: int | None = None,
    ):
        super().__init__()
        self.settings = settings if settings is not None else default_settings()
        restored = self._restored_config() if (restore and config is None) else None
        self.document = Document(config or restored or default_config(), self)
        self.worker = ComputeWorker(threads, self)
        self.analytic: compute.AnalyticResult | None = None
        self.simulation: compute.SimulationResult | None = None
        self.formula: compute.FormulaResult | None = None
        self.fixes: compute.FixesResult | None = None
        self.failed_stages: set[str] = set()
        self._symbolic_cache: dict = {}  # stack -> {"formula": ..., "fixes": ...}
        self._latest = 0
        self._formula_request = 0
        self._hover: tuple[int, int] | None = None
        self._warmed = False
        self.timings: dict[str, float] = {}

        self.setWindowTitle("checkerlab")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._build_views()
        self._build_docks()
        self._build_actions()
        self._build_status()
        self.resize(1500, 950)
        if restore:
            self._restore_layout()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.recompute)
        self._formula_timer = QTimer(self)
        self._formula_timer.setSingleShot(True)
        self._formula_timer.setInterval(FORMULA_DELAY_MS)
        self._formula_timer.timeout.connect(self._request_formula)
        self._held: compute.AnalyticResult | None = None
        self._expect_simulation = False
        self._hold_timer = QTimer(self)
        self._hold_timer.setSingleShot(True)
        self._hold_timer.setInterval(HOLD_MS)
        self._hold_timer.timeout.connect(self._flush_held)
        self.document.changed.connect(self._on_document_changed)
        self.document.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.document.pathChanged.connect(self._update_title)
        self.worker.stageDone.connect(self._on_stage)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self.worker.progress.connect(self._on_progress)
        self.worker.started.connect(self._on_started)
        self._update_title()
        self._update_preset_note()
        QTimer.singleShot(0, self.recompute)  # first compute once the event loop runs (the window is up)

    # ================================================================================ construction
    def _build_views(self) -> None:
        self.analytic_panel = AnalyticPanel(self)
        self.simulation_panel = SimulationPanel(self)
        self.analytic_spectrum = SpectrumPlot("Spectrum of the overlap map", self)
        self.simulated_spectrum = SpectrumPlot("Spectrum of the simulated output", self)
        self.tile_panel = TilePanel(self)
        self.profiles = ProfilePlot(self)
        self.profile_axis = QComboBox(self)
        self.profile_axis.addItems(["along rows (i)", "along columns (j)"])
        self.profile_axis.currentIndexChanged.connect(lambda _: self._show_profiles())
        self.metrics_panel = MetricsPanel(self)
        self.formula_panel = FormulaPanel(self)
        self.fixes_panel = FixesPanel(self)
        self.fixes_panel.applyRequested.connect(self.apply_fix)
        self.formula_panel.copied.connect(lambda _: self.statusBar().showMessage("LaTeX copied to the clipboard", 3000))

        top = QWidget(self)
        grid = QGridLayout(top)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(4)
        grid.addWidget(self.analytic_panel, 0, 0)
        grid.addWidget(self.simulation_panel, 0, 1)
        grid.addWidget(self.analytic_spectrum, 1, 0)
        grid.addWidget(self.simulated_spectrum, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)

        profile_box = QWidget(self)
        pl = QVBoxLayout(profile_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(0)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Profiles</b>"))
        head.addStretch(1)
        head.addWidget(self.profile_axis)
        pl.addLayout(head)
        pl.addWidget(self.profiles, 1)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.metrics_panel, "Metrics")
        self.tabs.addTab(self.formula_panel, "Formula")
        self.tabs.addTab(self.fixes_panel, "Fixes")
        self.tabs.addTab(profile_box, "Profiles")
        self.bottom = QSplitter(Qt.Orientation.Horizontal, self)
        self.bottom.addWidget(self.tile_panel)
        self.bottom.addWidget(self.tabs)
        self.bottom.setStretchFactor(0, 2)
        self.bottom.setStretchFactor(1, 3)
        self.bottom.setSizes([360, 670])

        self.central = QSplitter(Qt.Orientation.Vertical, self)
        self.central.addWidget(top)
        self.central.addWidget(self.bottom)
        self.central.setStretchFactor(0, 5)
        self.central.setStretchFactor(1, 2)
        self.central.setSizes([600, 300])
        self.central.setObjectName("central")
        self.setCentralWidget(self.central)

        self.analytic_panel.plot.hovered.connect(self._hover_analytic)
        self.simulation_panel.plot.hovered.connect(self._hover_simulated)
        self.analytic_spectrum.hovered.connect(lambda x, y: self._hover_spectrum(self.analytic_spectrum, x, y))
        self.simulated_spectrum.hovered.connect(lambda x, y: self._hover_spectrum(self.simulated_spectrum, x, y))
        self.simulation_panel.layerChanged.connect(lambda _: self._show_simulated_extras())
        for plot in (
            self.analytic_panel.plot,
            self.simulation_panel.plot,
            self.analytic_spectrum,
            self.simulated_spectrum,
        ):
            self._install_plot_menu(plot)
        self.image_sync = ViewSync([self.analytic_panel.plot, self.simulation_panel.plot], self)
        self.spectrum_sync = ViewSync([self.analytic_spectrum, self.simulated_spectrum], self)

    def _build_docks(self) -> None:
        self.editor = StackEditor(self.document, self)
        self.input_panel = InputPanel(self.document, self)
        self.input_panel.chooseImageRequested.connect(self.choose_image)
        self.preset_combo = QComboBox(self)
        self.preset_combo.addItem("Load a preset…")
        for preset in PRESETS.values():
            self.preset_combo.addItem(preset.title, preset.key)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, preset.description, Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.activated.connect(self._preset_chosen)
        stack_box = QWidget(self)
        sl = QVBoxLayout(stack_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(2)
        self.preset_note = QLabel(self)
        self.preset_note.setWordWrap(True)
        self.preset_note.setFont(small_font(self, 0.9))
        self.preset_note.setStyleSheet("color: #444;")
        sl.addWidget(self.preset_combo)
        sl.addWidget(self.preset_note)
        sl.addWidget(self.editor, 1)
        self.stack_dock = QDockWidget("Stack", self)
        self.stack_dock.setObjectName("stack_dock")
        self.stack_dock.setWidget(stack_box)
        self.input_dock = QDockWidget("Input and simulation", self)
        self.input_dock.setObjectName("input_dock")
        self.input_dock.setWidget(self.input_panel)
        for dock in (self.stack_dock, self.input_dock):
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.splitDockWidget(self.stack_dock, self.input_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.stack_dock], [545], Qt.Orientation.Horizontal)
        self.resizeDocks([self.stack_dock, self.input_dock], [480, 400], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            # the platform's binding, or the common one where the platform theme has none (e.g. offscreen)
            bindings = QKeySequence.keyBindings(shortcut) or [QKeySequence(_FALLBACK_KEYS.get(shortcut, ""))]
            action.setShortcuts(bindings)
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda *_: self._guarded(slot))
        return action

    def _build_actions(self) -> None:
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Undo) or [QKeySequence("Ctrl+Z")])
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        redo_keys += [QKeySequence(k) for k in ("Ctrl+Shift+Z", "Ctrl+Y") if QKeySequence(k) not in redo_keys]
        redo.setShortcuts(redo_keys)
        self.undo_action, self.redo_action = undo, redo
        a = self.actions = {
            "new": self._action(
                "&New", self.new_document, QKeySequence.StandardKey.New, "Start from the default example"
            ),
            "open": self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a JSON config"),
            "save": self._action("&Save", self.save, QKeySequence.StandardKey.Save, "Save the config as JSON"),
            "save_as": self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs),
            "export_png": self._action("Figure as &PNG…", lambda: self.export_figure_dialog("png"), "Ctrl+E"),
            "export_svg": self._action("Figure as &SVG…", lambda: self.export_figure_dialog("svg"), "Ctrl+Shift+E"),
            "export_latex": self._action("&LaTeX report…", self.export_latex_dialog, "Ctrl+L"),
            "image": self._action("Use an &image as input…", self.choose_image, "Ctrl+I"),
            "quit": self._action("&Quit", self.close, QKeySequence.StandardKey.Quit),
            "copy_latex": self._action("Copy formula as La&TeX", self.formula_panel.copy_latex, "Ctrl+Shift+C"),
            "cancel": self._action("&Cancel computation", self.cancel, "Esc", "Stop the running computation"),
            "recompute": self._action("&Recompute", self.recompute, QKeySequence.StandardKey.Refresh),
            "about": self._action("&About checkerlab", self.about),
        }
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a["new"], a["open"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addActions([a["save"], a["save_as"]])
        file_menu.addSeparator()
        export_menu = file_menu.addMenu("&Export")
        export_menu.addActions([a["export_png"], a["export_svg"]])
        self.data_menu = export_menu.addMenu("&Data (CSV/NPY)")
        for key, title in self.array_names().items():
            self.data_menu.addAction(self._action(title + "…", lambda k=key: self.export_data_dialog(k)))
        export_menu.addAction(a["export_latex"])
        file_menu.addAction(a["image"])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([undo, redo])
        edit_menu.addSeparator()
        for name in ("add", "duplicate", "remove", "up", "down"):
            edit_menu.addAction(self.editor.actions_by_name[name])
        edit_menu.addSeparator()
        edit_menu.addAction(a["copy_latex"])

        preset_menu = bar.addMenu("&Presets")
        group = QActionGroup(self)
        for preset in PRESETS.values():
            act = self._action(preset.title, lambda k=preset.key: self.load_preset(k), tip=preset.description)
            group.addAction(act)
            preset_menu.addAction(act)

        run_menu = bar.addMenu("&Compute")
        run_menu.addActions([a["recompute"], a["cancel"]])
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.stack_dock.toggleViewAction())
        view_menu.addAction(self.input_dock.toggleViewAction())
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["about"])

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.addActions([a["open"], a["save"]])
        toolbar.addSeparator()
        stack = self.document.undo_stack
        for text, slot, signal, enabled in (
            ("Undo", stack.undo, stack.canUndoChanged, stack.canUndo()),
            ("Redo", stack.redo, stack.canRedoChanged, stack.canRedo()),
        ):
            act = QAction(text, self)  # fixed labels: the menu entries say what will be undone
            act.triggered.connect(slot)
            act.setEnabled(enabled)
            signal.connect(act.setEnabled)
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addActions([a["export_png"], a["export_svg"], a["export_latex"]])
        for act in self.actions.values():
            self.addAction(act)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.hover_label = QLabel(" ", self)
        self.hover_label.setFont(small_font(self, 0.95))
        self.timing_label = QLabel(" ", self)
        self.timing_label.setStyleSheet("color: #666;")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel the computation (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        status.addPermanentWidget(self.hover_label)
        status.addPermanentWidget(self.timing_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(150)  # only show the bar for runs that take a while
        self._progress_timer.timeout.connect(self._show_progress)

    def _install_plot_menu(self, plot) -> None:
        """Replace pyqtgraph's Export… (its SVG exporter is broken here) with checkerlab's exports."""
        actions = []
        for text, fmt in (("Save plot as PNG…", "png"), ("Save plot as SVG…", "svg")):
            act = QAction(text, plot)
            act.triggered.connect(lambda *_, f=fmt, p=plot: self._guarded(lambda: self.export_figure_dialog(f, p)))
            actions.append(act)
        data = QAction("Save plot data as CSV/NPY…", plot)
        data.triggered.connect(lambda *_, p=plot: self._guarded(lambda: self._export_plot_data(p)))
        actions.append(data)
        plot.scene().contextMenu = actions

    # ================================================================================ compute
    def _on_document_changed(self) -> None:
        self._update_preset_note()
        v = self.document.validation
        stale = not v.ok
        self.analytic_panel.set_stale(stale)
        if stale:
            self.statusBar().showMessage(f"⚠ {v.message} — showing the last valid result")
        else:
            self.statusBar().clearMessage()
        self._debounce.start()

    def recompute(self) -> None:
        """Submit the current config to the worker (analysis if the geometry changed, then simulation)."""
        self._debounce.stop()
        config = self.document.config
        if config is None:
            self.statusBar().showMessage(f"⚠ {self.document.validation.message} — showing the last valid result")
            return
        stages = []
        a = self.analytic
        if a is None or (a.config.stack, a.config.input_size, a.config.simulation.in_channels) != (
            config.stack,
            config.input_size,
            config.simulation.in_channels,
        ):
            stages.append(("analytic", lambda ctx: compute.analyze(config)))
        try:
            image = self.document.image()
        except CheckerlabError as exc:
            self.statusBar().showMessage(f"⚠ input image: {exc}")
            image, sim_ok = None, False
        else:
            sim_ok = True
        if sim_ok:

            def run_simulation(ctx):
                return compute.simulate(
                    config,
                    image,
                    progress=lambda d, n: ctx.report(d / n, f"draw {d}/{n}"),
                    cancel=ctx.should_stop,
                )

            stages.append(("simulation", run_simulation))
        if not stages:
            self.settled.emit()
            return
        self._formula_timer.stop()
        self.failed_stages.clear()
        self._hold_timer.stop()
        self._held = None
        self._expect_simulation = sim_ok
        self._latest = self.worker.submit(Request(stages, label="compute"))

    def _request_formula(self) -> None:
        """Closed form and fixes (SymPy) once the views are up to date; cached per stack."""
        config = self.document.config
        if config is None:
            return
        cached = self._symbolic_cache.get(config.stack, {})
        for name, result in cached.items():
            self._show_stage(name, (config.stack, result))
        stages = [
            (name, fn)
            for name, fn in (
                ("formula", lambda ctx: (config.stack, compute.formula(config))),
                ("fixes", lambda ctx: (config.stack, compute.fixes(config))),
            )
            if name not in cached
        ]
        if stages:
            self._formula_request = self.worker.submit(Request(stages, label="symbolic"))
            self._latest = self._formula_request

    def cancel(self) -> None:
        """Stop the running computation; the views keep what they show."""
        self.worker.cancel()
        self._formula_timer.stop()
        self.statusBar().showMessage("Computation cancelled", 3000)

    def _on_started(self, rid: int, label: str) -> None:
        if rid == self._latest:
            self.progress.setValue(0)
            self.progress.setFormat("computing…" if label == "compute" else "closed form…")
            self._progress_timer.start()

    def _show_progress(self) -> None:
        if self.worker.is_busy():
            self.progress.setVisible(True)
            self.cancel_button.setVisible(True)

    def _on_progress(self, rid: int, fraction: float, text: str) -> None:
        if rid == self._latest:
            self.progress.setValue(int(fraction * 1000))
            self.progress.setFormat(f"Monte Carlo {text}")

    def _on_stage(self, rid: int, name: str, result, seconds: float) -> None:
        if rid != self._latest:
            return
        self.timings[name] = seconds
        self.timing_label.setText(" · ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items()))
        if name == "analytic" and self._expect_simulation:
            # Hold the analysis briefly: drawing it while the worker simulates would slow both down
            # (one GIL); a fast simulation then lands in the same repaint, a slow one waits at most HOLD_MS.
            self._held = result
            self._hold_timer.start()
            return
        if name == "simulation":
            self._flush_held()
        self._show_stage(name, result)

    def _show_stage(self, name: str, result) -> None:
        self._guarded(lambda: self._display(name, result))
        self.updated.emit(name)

    def _flush_held(self) -> None:
        self._hold_timer.stop()
        if self._held is not None:
            held, self._held = self._held, None
            self._show_stage("analytic", held)

    def _display(self, name: str, result) -> None:
        if name == "analytic":
            self._show_analytic(result)
        elif name == "simulation":
            self._show_simulation(result)
        elif name in ("formula", "fixes"):
            stack, value = result
            self._symbolic_cache.setdefault(stack, {})[name] = value
            if name == "formula":
                self._show_formula(value)
            else:
                self.fixes = value
                self.fixes_panel.set_result(value)

    def _on_failed(self, rid: int, stage: str, message: str) -> None:
        if rid != self._latest:
            return
        self._flush_held()
        self.failed_stages.add(stage)
        if stage == "formula":
            self.formula_panel.set_message(f"No closed form: {message}")
        elif stage == "fixes":
            self.fixes_panel.set_message(f"No verdict: {message}")
        self.statusBar().showMessage(f"⚠ {stage} failed: {message}", 10000)

    def _on_finished(self, rid: int, ok: bool) -> None:
        if rid != self._latest:
            return
        self._flush_held()
        self._progress_timer.stop()
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        if ok and rid != self._formula_request:
            self._formula_timer.start()
        self.settled.emit()

    # ================================================================================ display
    def _show_analytic(self, result: compute.AnalyticResult) -> None:
        self.analytic = result
        self.analytic_panel.set_result(result)
        self.analytic_panel.set_stale(not self.document.validation.ok)
        self.tile_panel.set_result(result)
        self.analytic_spectrum.set_spectrum(result.spectrum)
        freqs = [(fy, fx) for fy, fx, _ in result.freqs]
        self.analytic_spectrum.set_markers(freqs)
        self.metrics_panel.set_analytic(result)
        self._show_profiles()
        self._show_simulated_extras()

    def _show_simulation(self, result: compute.SimulationResult) -> None:
        self.simulation = result
        self.simulation_panel.set_result(result)
        self.metrics_panel.set_simulation(result)
        self._show_simulated_extras()

    def _show_formula(self, result: compute.FormulaResult) -> None:
        self.formula = result
        self.formula_panel.set_result(result)

    def _show_simulated_extras(self) -> None:
        """Spectrum, markers, profile and view linking for the layer shown in the simulation panel."""
        sim, a = self.simulation, self.analytic
        if sim is None:
            return
        index = self.simulation_panel.index
        self.simulated_spectrum.set_spectrum(sim.spectrum(index))
        exact = None
        if a is not None and 0 < index <= len(a.layer_exact) and a.config.stack == sim.config.stack:
            exact = a.layer_exact[index - 1]
        self.simulated_spectrum.set_markers([(fy, fx) for fy, fx, _ in exact.freqs] if exact is not None else [])
        label = sim.labels[index]
        self.simulated_spectrum.set_title("Spectrum, simulated " + ("input" if index == 0 else f"after {label}"))
        self._show_profiles()

    def _show_profiles(self) -> None:
        axis = self.profile_axis.currentIndex()
        self.profiles.set_axis(axis)
        if self.analytic is not None:
            self.profiles.set_analytic(compute.to_float(self.analytic.profiles[axis]))
        shown = self.simulation_panel.shown
        if shown is not None:
            self.profiles.set_simulated(shown.mean(axis=(0, 2 - axis), dtype=np.float64))

    # ================================================================================ hover
    def _output_shape(self) -> tuple[int, int] | None:
        return self.analytic.map.shape if self.analytic is not None else None

    def _hover_analytic(self, x: float, y: float) -> None:
        self.hover_output(self.analytic_panel.plot.pixel_at(x, y))

    def _hover_simulated(self, x: float, y: float) -> None:
        p = self.simulation_panel.plot.pixel_at(x, y)
        shape, shown = self._output_shape(), self.simulation_panel.shown
        if p is None or shape is None or shown is None:
            self.hover_output(None)
            return
        h, w = shown.shape[1:]
        self.hover_output((int((p[0] + 0.5) * shape[0] / h), int((p[1] + 0.5) * shape[1] / w)))

    def hover_output(self, pixel: tuple[int, int] | None) -> None:
        """Show pixel (i, j) of the output in every view: crosshairs, tile cell, profile cursor, readouts."""
        self._hover = pixel
        a, shown = self.analytic, self.simulation_panel.shown
        if pixel is None or a is None:
            for plot in (self.analytic_panel.plot, self.simulation_panel.plot):
                plot.set_crosshair(None, None)
            self.profiles.set_cursor(None)
            self.tile_panel.highlight(None)
            return
        i, j = pixel
        h, w = a.map.shape
        if not (0 <= i < h and 0 <= j < w):
            return
        ph, pw = a.pattern.period
        self.analytic_panel.plot.set_crosshair(j + 0.5, i + 0.5)
        text = f"(i, j) = ({i}, {j}) · count {compute.exact_str(a.exact_map[i, j])} · phase ({i % ph}, {j % pw})"
        if shown is not None:
            sh, sw = shown.shape[1:]
            si, sj = int((i + 0.5) * sh / h), int((j + 0.5) * sw / w)
            self.simulation_panel.plot.set_crosshair(sj + 0.5, si + 0.5)
            value = self.simulation_panel.value_text(si, sj)
            where = "" if (sh, sw) == (h, w) else f" at ({si}, {sj})"
            text += f" · value{where} {value}"
        self.profiles.set_cursor(i if self.profile_axis.currentIndex() == 0 else j)
        self.tile_panel.highlight((i % ph, j % pw))
        self.analytic_panel.readout.setText(text)
        self.simulation_panel.readout.setText(text)
        self.hover_label.setText(text)

    def _hover_spectrum(self, plot: SpectrumPlot, x: float, y: float) -> None:
        p = plot.pixel_at(x, y)
        if p is None or plot.data is None:
            return
        h, w = plot.data.shape
        fy, fx = (p[0] - h // 2) / h, (p[1] - w // 2) / w
        self.hover_label.setText(f"f = ({fy:+.4f}, {fx:+.4f}) cycles/pixel · log₁₀|DFT|/DC = {plot.data[p]:.2f}")

    # ================================================================================ files
    def _guarded(self, fn) -> None:
        """Run a UI action; turn any error into a status-bar message (nothing escapes into Qt)."""
        try:
            fn()
        except (CheckerlabError, OSError, ValueError) as exc:
            self.show_error(describe_error(exc) if not isinstance(exc, OSError) else _os_message(exc))
        except Exception as exc:  # last line of defence for a UI action
            self.show_error(describe_error(exc))

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(f"⚠ {message}", 15000)

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _update_title(self, *_args) -> None:
        name = Path(self.document.path).name if self.document.path else "untitled"
        self.setWindowTitle(f"{name}[*] — checkerlab")

    def new_document(self) -> None:
        self.document.load(default_config(), "New")

    def apply_fix(self, fix) -> None:
        """Replace the stack by a suggested fix, keeping the input and simulation settings (undoable)."""
        state = self.document.state
        rows = state_from_config(Config(fix.stack, state.input_size, state.settings)).rows
        self.document.apply(state.with_rows(rows), f"Apply fix: {fix.title}")
        self.statusBar().showMessage(f"Applied: {fix.title}", 5000)

    def load_preset(self, key: str) -> None:
        preset = get_preset(key)
        self.document.load(preset.config, f"Load preset {preset.title}")
        self._show_preset_note(preset)

    def _show_preset_note(self, preset) -> None:
        self.preset_note.setText(f"<b>{preset.title}</b>: {preset.description} <i>({preset.reference})</i>")

    def _update_preset_note(self) -> None:
        """Describe the preset the stack comes from (if it is one); otherwise a hint."""
        config = self.document.config
        match = next((p for p in PRESETS.values() if config is not None and p.config.stack == config.stack), None)
        if match is not None:
            self._show_preset_note(match)
        elif config is not None:
            self.preset_note.setText("Custom stack. Edit a cell (double-click or type), or load a preset above.")

    def _preset_chosen(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        self.preset_combo.setCurrentIndex(0)
        if key:
            self._guarded(lambda: self.load_preset(key))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open config", self._last_dir(), "checkerlab config (*.json)")
        if path:
            self.open_config(path)

    def open_config(self, path: str) -> bool:
        """Load a JSON config (undoable); errors go to the status bar and change nothing."""
        try:
            config = load_config(path)
        except CheckerlabError as exc:
            self.show_error(str(exc))
            return False
        self.document.load(config, f"Open {Path(path).name}", path=str(path))
        self.document.undo_stack.setClean()
        self._add_recent(str(path))
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save(self) -> bool:
        if not self.document.path:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save config", self.document.path or self._last_dir(), "checkerlab config (*.json)"
        )
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Write the current (valid) config as JSON, atomically."""
        config = self.document.config
        if config is None:
            self.show_error(f"cannot save while an entry is invalid: {self.document.validation.message}")
            return False
        try:
            save_config(config, path)
        except OSError as exc:
            self.show_error(_os_message(exc))
            return False
        self.document.set_path(str(path))
        self.document.undo_stack.setClean()
        self._add_recent(str(path))
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else os.getcwd()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [], type=list)
        return [str(v) for v in value if v]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", files[:MAX_RECENT])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for n, path in enumerate(files, 1):
            act = self.recent_menu.addAction(f"&{n} {Path(path).name}")
            act.setToolTip(path)
            act.triggered.connect(lambda *_, p=path: self._guarded(lambda: self.open_config(p)))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", lambda: self.settings.setValue("recent", []))

    # ---- input image ----------------------------------------------------------------------------
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Input image",
            self._last_dir(),
            "Images (" + " ".join("*" + s for s in IMAGE_SUFFIXES) + ")",
        )
        if path:
            self.use_image(path)

    def use_image(self, path: str) -> bool:
        """Decode an image file and make it the simulation input (undoable)."""
        from ..images import load_image

        try:
            array = load_image(path)
        except CheckerlabError as exc:
            self.show_error(str(exc))
            return False
        self.document.add_image(path, array)
        state = self.document.state
        settings = replace(state.settings, input="image", image_path=os.path.abspath(path))
        self.document.apply(replace(state, settings=settings), f"Use image {Path(path).name}")
        self.statusBar().showMessage(
            f"Input image {path} ({array.shape[2]}×{array.shape[1]}, "
            f"{array.shape[0]} channel{'s' * (array.shape[0] > 1)})",
            5000,
        )
        return True

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        path = self._dropped_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if path.lower().endswith(".json"):
            self._guarded(lambda: self.open_config(path))
        else:
            self._guarded(lambda: self.use_image(path))

    @staticmethod
    def _dropped_path(event) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            path = url.toLocalFile()
            if path and path.lower().endswith(IMAGE_SUFFIXES + (".json",)):
                return path
        return None

    # ---- exports --------------------------------------------------------------------------------
    def array_names(self) -> dict[str, str]:
        return {
            "overlap_map": "Overlap map (exact)",
            "tile": "Overlap tile (exact)",
            "profile_rows": "Overlap profile along rows",
            "profile_cols": "Overlap profile along columns",
            "analytic_spectrum": "Spectrum of the overlap map",
            "simulated": "Simulated activation (shown layer)",
            "simulated_spectrum": "Spectrum of the simulated activation",
            "input": "Simulation input",
            "metrics": "Metrics table",
        }

    def array(self, name: str) -> np.ndarray:
        """A shown array by name (see `array_names`); CheckerlabError when it has not been computed yet."""
        a, sim = self.analytic, self.simulation
        if name in ("overlap_map", "tile", "profile_rows", "profile_cols", "analytic_spectrum") and a is None:
            raise CheckerlabError("the analysis has not finished yet")
        if name in ("simulated", "simulated_spectrum", "input") and sim is None:
            raise CheckerlabError("the simulation has not finished yet")
        table = {
            "overlap_map": lambda: a.exact_map,
            "tile": lambda: np.asarray(a.pattern.tile),
            "profile_rows": lambda: a.profiles[0],
            "profile_cols": lambda: a.profiles[1],
            "analytic_spectrum": lambda: a.spectrum,
            "simulated": lambda: self.simulation_panel.shown,
            "simulated_spectrum": lambda: sim.spectrum(self.simulation_panel.index),
            "input": lambda: sim.arrays[0],
            "metrics": self.metrics_panel.as_array,
        }
        if name not in table:
            raise CheckerlabError(f"unknown array {name!r}; known: {', '.join(table)}")
        return table[name]()

    def export_data(self, name: str, path: str) -> None:
        export_array(self.array(name), path)
        self.statusBar().showMessage(f"Wrote {path}", 5000)

    def export_data_dialog(self, name: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self,
            f"Export {self.array_names()[name]}",
            os.path.join(self._last_dir(), name + ".csv"),
            "CSV (*.csv);;NumPy array (*.npy)",
        )
        if path:
            if Path(path).suffix.lower() not in (".csv", ".npy"):
                path += ".npy" if "npy" in chosen else ".csv"
            self.export_data(name, path)

    def _export_plot_data(self, plot) -> None:
        names = {
            id(self.analytic_panel.plot): "overlap_map",
            id(self.simulation_panel.plot): "simulated",
            id(self.analytic_spectrum): "analytic_spectrum",
            id(self.simulated_spectrum): "simulated_spectrum",
        }
        self.export_data_dialog(names[id(plot)])

    def export_figure(self, path: str, widget: QWidget | None = None) -> None:
        """PNG or SVG (by extension) of the views area, or of `widget`."""
        export_figure(widget or self.central, path)
        self.statusBar().showMessage(f"Wrote {path}", 5000)

    def export_figure_dialog(self, fmt: str, widget: QWidget | None = None) -> None:
        filt = "PNG image (*.png)" if fmt == "png" else "SVG drawing (*.svg)"
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {fmt.upper()}", os.path.join(self._last_dir(), f"checkerlab.{fmt}"), filt
        )
        if path:
            if not path.lower().endswith("." + fmt):
                path += "." + fmt
            self.export_figure(path, widget)

    def export_latex(self, path: str) -> None:
        config = self.document.config or (self.analytic.config if self.analytic else None)
        if config is None:
            raise CheckerlabError("no valid stack to report on")
        export_latex_report(config.stack, path, config.input_size)
        self.statusBar().showMessage(f"Wrote {path}", 5000)

    def export_latex_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export LaTeX report",
            os.path.join(self._last_dir(), "checkerlab-report.tex"),
            "LaTeX (*.tex)",
        )
        if path:
            self.export_latex(path if path.lower().endswith(".tex") else path + ".tex")

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About checkerlab",
            "<b>checkerlab</b><br>Checkerboard artifacts of transposed convolutions, with exact "
            "numbers.<br><br>Left: the exact overlap count (all-ones kernels). Right: the same "
            "stack run as a network with random weights.<br><br>Odena, Dumoulin &amp; Olah, "
            "<i>Deconvolution and Checkerboard Artifacts</i>, Distill 2016.",
        )

    # ================================================================================ settings
    def _restored_config(self) -> Config | None:
        text = self.settings.value("last_config", "", type=str)
        if not text:
            return None
        try:
            import json

            from ...analytics.config import config_from_dict

            return config_from_dict(json.loads(text))
        except (ValueError, CheckerlabError):  # an outdated or damaged entry: start from the default
            return None

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry", QByteArray(), type=QByteArray)
        if geometry and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state", QByteArray(), type=QByteArray)
        if state and not state.isEmpty():
            self.restoreState(state)
        for name, splitter in (("central_split", self.central), ("bottom_split", self.bottom)):
            value = self.settings.value(name, QByteArray(), type=QByteArray)
            if value and not value.isEmpty():
                splitter.restoreState(value)
        self.tabs.setCurrentIndex(self.settings.value("tab", 0, type=int))

    def save_session(self) -> None:
        """Remember the layout and the last valid config."""
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("central_split", self.central.saveState())
        self.settings.setValue("bottom_split", self.bottom.saveState())
        self.settings.setValue("tab", self.tabs.currentIndex())
        config = self.document.config or (self.analytic.config if self.analytic else None)
        if config is not None:
            self.settings.setValue("last_config", config.to_json())
        self.settings.sync()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._warmed:
            self._warmed = True
            QTimer.singleShot(0, lambda: self.worker.add_idle_job(compute.warm_up))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        try:
            self.save_session()
        except Exception as exc:  # never block closing
            self.show_error(describe_error(exc))
        self._debounce.stop()
        self._formula_timer.stop()
        self.worker.shutdown()
        super().closeEvent(event)


def _os_message(exc: OSError) -> str:
    name = exc.filename or ""
    return f"{name}: {exc.strerror or exc}" if name else str(exc.strerror or exc)
