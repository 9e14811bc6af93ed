"""The main window: it builds the panels and wires them to the document, the compute controller, the file
actions and the session. It holds no computation and no file logic of its own.

Layout (fits 1280 x 800): stack editor and input panel docked on the left; the maps (exact and simulated,
their spectra below, one layer selector) in the middle; tabs below them (tile, metrics, formula, fixes,
profiles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...analytics import Config
from ...analytics.presets import default_config, get_preset
from . import compute
from .actions import FileActions, run_guarded
from .atlas_panel import AtlasPanel
from .compare_panel import ComparePanel
from .compute import describe_error
from .controller import DEBOUNCE_MS, ComputeController
from .document import Document
from .explain_panel import ExplainPanel
from .fixes_panel import FixesPanel
from .formula_panel import FormulaPanel
from .garbage import collect_on_gui_thread
from .input_panel import InputPanel
from .linking import HoverLink
from .maps import MapsPanel
from .menus import build_menus, undo_actions
from .metrics_panel import MetricsPanel
from .network_panel import NetworkPanel
from .presets_box import PresetsBox
from .session import Session, default_settings
from .stack_editor import StackEditor
from .state import state_from_config
from .status import ComputeStatus
from .studies_panel import StudiesPanel
from .tiles import TilePanel
from .tour import TOUR_PRESET, TourPanel
from .views import ProfilePlot, column


def default_size(widget: QWidget) -> QSize:
    """1500 x 950, or 95 % of the available screen when that is smaller (a 1280 x 800 laptop)."""
    screen = widget.screen() or QApplication.primaryScreen()
    available = screen.availableGeometry().size() if screen is not None else QSize(1500, 950)
    return QSize(min(1500, int(available.width() * 0.95)), min(950, int(available.height() * 0.95)))


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
        collect_on_gui_thread(True)
        self._collecting = True
        self.session = Session(settings if settings is not None else default_settings())
        restored = self.session.last_config() if (restore and config is None) else None
        first_run = restore and self.session.first_run()
        if config is None and restored is None and first_run:  # the tour's example
            config = get_preset(TOUR_PRESET).config
        self.document = Document(config or restored or default_config(), self)
        self.controller = ComputeController(self.document, self, debounce_ms=debounce_ms, threads=threads)
        self._warmed = False

        self.setWindowTitle("checkerlab")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._build_views()
        self._build_docks()
        self.file_actions = FileActions(self, self.document, self.session)
        self.undo_action, self.redo_action = undo_actions(self)
        self.actions = build_menus(self)
        self.status = ComputeStatus(self.statusBar(), self.controller, self.cancel)
        m = self.maps
        for plot, name in ((m.exact_plot, "overlap_map"), (m.simulated_plot, "simulated"),
                           (m.exact_spectrum, "analytic_spectrum"), (m.simulated_spectrum, "simulated_spectrum")):
            plot.scene().contextMenu = self.file_actions.plot_menu(plot, name)
        self.hover = HoverLink(self)
        self.tour.setVisible(first_run)
        self.resize(default_size(self))
        if restore:
            self.session.restore_window(self)
        self._connect()
        self._update_title()
        QTimer.singleShot(0, self._start)  # once the event loop runs

    # ================================================================================ construction
    def _build_views(self) -> None:
        self.editor = StackEditor(self.document, self)  # docked later; the atlas follows its current row
        self.maps = MapsPanel(self.document, self)
        self.tile_panel = TilePanel(self)
        self.profiles = ProfilePlot(self)
        self.profile_axis = QComboBox(self)
        self.profile_axis.addItems(["along rows (i)", "along columns (j)"])
        self.metrics_panel = MetricsPanel(self)
        self.formula_panel = FormulaPanel(self)
        self.fixes_panel = FixesPanel(self)

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
        self.tabs.setDocumentMode(True)
        self.atlas_panel = AtlasPanel(self.document, self.controller, self.editor, self)
        self.compare_panel = ComparePanel(self.controller, self)
        self.explain_panel = ExplainPanel(self)
        self.network_panel = NetworkPanel(self)
        self.studies_panel = StudiesPanel(self)
        for widget, title in ((self.tile_panel, "Tile"), (self.metrics_panel, "Metrics"), (self.atlas_panel, "Atlas"),
                              (self.compare_panel, "Compare"), (self.explain_panel, "Explain"),
                              (self.formula_panel, "Formula"), (self.fixes_panel, "Fixes"), (profile_box, "Profiles"),
                              (self.network_panel, "Network"), (self.studies_panel, "Studies")):
            self.tabs.addTab(widget, title)

        self.tour = TourPanel(self)
        self.tour.hide()
        top = QWidget(self)
        column(top, self.tour, (self.maps, 1), margins=(0, 0, 0, 0))
        self.central = QSplitter(Qt.Orientation.Vertical, self)
        self.central.addWidget(top)
        self.central.addWidget(self.tabs)
        self.central.setStretchFactor(0, 3)
        self.central.setStretchFactor(1, 2)
        self.central.setSizes([480, 260])
        self.central.setChildrenCollapsible(False)
        self.central.setObjectName("central")
        self.setCentralWidget(self.central)

    def _build_docks(self) -> None:
        self.input_panel = InputPanel(self.document, self)
        self.presets = PresetsBox(self.document, self)
        stack_box = QWidget(self)
        column(stack_box, self.presets, (self.editor, 1), margins=(0, 0, 0, 0))
        self.stack_dock = QDockWidget("Stack", self)
        self.stack_dock.setObjectName("stack_dock")
        self.stack_dock.setWidget(stack_box)
        self.input_dock = QDockWidget("Input and simulation", self)
        self.input_dock.setObjectName("input_dock")
        self.input_dock.setWidget(self.input_panel)
        for dock in (self.stack_dock, self.input_dock):
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.splitDockWidget(self.stack_dock, self.input_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.stack_dock], [self.editor.natural_width()], Qt.Orientation.Horizontal)
        self.resizeDocks([self.stack_dock, self.input_dock], [440, 300], Qt.Orientation.Vertical)

    def _connect(self) -> None:
        c, doc = self.controller, self.document
        doc.changed.connect(self._on_document_changed)
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)
        doc.pathChanged.connect(self._update_title)
        c.updated.connect(self._on_updated)
        doc.changed.connect(self._mark_stale)
        c.settled.connect(self.settled)
        c.failed.connect(self._on_failed)
        c.message.connect(self.statusBar().showMessage)
        self.input_panel.chooseImageRequested.connect(
            lambda: run_guarded(self.file_actions.choose_image, self.show_error))
        self.presets.problem.connect(self.show_error)
        self.fixes_panel.applyRequested.connect(self.apply_fix)
        self.editor.problem.connect(self.show_error)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.compare_panel.problem.connect(self.show_error)
        for panel in (self.network_panel, self.studies_panel):
            panel.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.network_panel.pathChosen.connect(lambda config: self.document.load(config, "Show a model path"))
        self.tour.dismissed.connect(lambda: self.session.set("tour_done", True))
        self.formula_panel.copied.connect(lambda _: self.statusBar().showMessage("LaTeX copied to the clipboard", 3000))
        self.profile_axis.currentIndexChanged.connect(lambda _: self._show_layer())
        self.maps.positionChanged.connect(lambda _: self._show_layer())
        self.maps.sideShown.connect(self._show_layer)
        self.tile_panel.zoomRequested.connect(self.zoom_to_period)
        c.focus = self.maps.position_for

    # ================================================================================ document
    def _on_document_changed(self) -> None:
        v = self.document.validation
        if v.ok:
            self.statusBar().clearMessage()
        else:
            self.statusBar().showMessage(f"⚠ {v.message} — showing the last valid result")

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _update_title(self, *_args) -> None:
        name = Path(self.document.path).name if self.document.path else "untitled"
        self.setWindowTitle(f"{name}[*] — checkerlab")

    def apply_fix(self, fix) -> None:
        """Replace the stack by a suggested fix, keeping the input and simulation settings (undoable)."""
        state = self.document.state
        rows = state_from_config(Config(fix.stack, state.input_size, state.settings)).rows
        self.document.apply(state.with_rows(rows), f"Apply fix: {fix.title}")
        self.statusBar().showMessage(f"Applied: {fix.title}", 5000)

    def load_preset(self, key: str) -> None:
        self.presets.load(key)

    def _tab_shown(self, _index: int) -> None:
        """The atlas and B of the compare tab are computed only while their tab is shown."""
        self.atlas_panel.set_shown(self.tabs.currentWidget() is self.atlas_panel)
        self.compare_panel.set_shown(self.tabs.currentWidget() is self.compare_panel)

    # ================================================================================ compute
    def cancel(self) -> None:
        """Stop the running computation; the views keep what they show."""
        self.controller.cancel()
        self.status.hide()
        self.statusBar().showMessage("Computation cancelled", 3000)

    def _on_failed(self, stage: str, message: str) -> None:
        """A stage's one-line failure: the formula's and the fixes' in their own tabs (kinds without a closed
        form are a limit, not an error of the user's), the others in the status bar."""
        if stage == "formula":
            self.formula_panel.set_message(f"No closed form: {message}")
        elif stage == "fixes":
            self.fixes_panel.set_message(f"No verdict: {message}")
        else:
            self.statusBar().showMessage(f"⚠ {stage} failed: {message}", 10000)

    def _mark_stale(self) -> None:
        """Fade every view whose result does not belong to the current config, until its result arrives."""
        c, m = self.controller, self.maps
        reason = "updating…" if self.document.validation.ok else "last valid"
        exact, simulated = c.is_current("analytic"), c.is_current("simulation")
        for view, current in ((m.exact_plot, exact), (m.exact_spectrum, exact), (self.tile_panel, exact),
                              (m.simulated_plot, simulated), (m.simulated_spectrum, simulated),
                              (self.metrics_panel, exact and c.is_current("draws")),
                              (self.profiles, exact and simulated),
                              (self.formula_panel, c.is_current("formula")), (self.fixes_panel, c.is_current("fixes")),
                              (self.atlas_panel, c.is_current("atlas")),
                              (self.compare_panel, exact and simulated and c.is_current("compare"))):
            view.set_stale(not current, reason)

    def _on_updated(self, stage: str) -> None:
        c = self.controller
        show = {"analytic": self._show_analytic, "simulation": self._show_simulation, "draws": self._show_draws,
                "formula": lambda: self.formula_panel.set_result(c.formula),
                "fixes": lambda: self.fixes_panel.set_result(c.fixes)}
        if stage in show:  # the atlas and compare panels listen themselves
            run_guarded(show[stage], self.show_error)
        self._mark_stale()
        self.updated.emit(stage)

    # ================================================================================ display
    def _show_analytic(self) -> None:
        self.maps.set_analytic(self.controller.analytic)
        self.metrics_panel.set_analytic(self.controller.analytic)

    def _show_simulation(self) -> None:
        self.maps.set_simulation(self.controller.simulation)
        self.metrics_panel.set_simulation(self.controller.simulation)

    def _show_draws(self) -> None:
        """All the Monte Carlo draws are in: the metrics and the simulated tile (the maps show draw 0 already)."""
        self.maps.simulation = self.controller.simulation
        self.metrics_panel.set_simulation(self.controller.simulation)
        self._show_layer("simulated")

    def _show_layer(self, side: str = "both") -> None:
        """The tiles, the profiles and the scatter animation of the layer shown in the maps (`side`: which
        of its exact and simulated halves changed)."""
        view, position, axis = self.maps.current_view(), self.maps.position, self.profile_axis.currentIndex()
        self.profiles.set_axis(axis)
        if side in ("both", "exact") and view is not None:
            self.tile_panel.set_view(view)
            self.profiles.set_analytic(compute.to_float(view.profiles[axis]))
            self._scatter(view.position)
        if side in ("both", "simulated"):
            sim = self.controller.simulation
            if sim is None or self.maps.simulation is not sim or not 0 < position <= len(sim.monte_carlo.layers):
                self.tile_panel.set_simulated(None)
            elif sim.complete:  # the draw average: once every draw is in
                self.tile_panel.set_simulated(sim.monte_carlo.layers[position - 1].tile_mean, sim.monte_carlo.draws)
            if self.maps.shown is not None:
                self.profiles.set_simulated(self.maps.shown.mean(axis=(0, 2 - axis), dtype=np.float64))

    def _scatter(self, position: int) -> None:
        """Give the scatter animation the shown layer (a transposed convolution) and its exact input."""
        a = self.controller.analytic
        layer = a.config.stack[position - 1] if a is not None and position > 0 else None
        if layer is not None and layer.type != "ConvTranspose2d":
            layer = None
        source = a.view(position - 1).exact_map if layer is not None else None
        self.explain_panel.set_scatter_layer(layer, source, f"layer {position - 1} (ConvTranspose2d)")

    def zoom_to_period(self) -> None:
        """Show one (generic) period of the interior of the shown layer in both maps."""
        a = self.controller.analytic
        if a is not None and self.maps.current_view() is not None:
            top, left, ph, pw = a.period_rect(self.maps.position)
            self.maps.show_rect(QRectF(left, top, pw, ph))

    # ================================================================================ misc
    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(f"⚠ {message}", 15000)

    def about(self) -> None:
        QMessageBox.about(
            self, "About checkerlab",
            "<b>checkerlab</b><br>Checkerboard artifacts of transposed convolutions, with exact "
            "numbers.<br><br>Left: the exact overlap count (all-ones kernels). Right: the same "
            "stack run as a network with random weights.<br><br>Odena, Dumoulin &amp; Olah, "
            "<i>Deconvolution and Checkerboard Artifacts</i>, Distill 2016.",
        )

    def open_model(self, path: str) -> None:
        """Import an ONNX model into the Network tab (off the GUI thread)."""
        self.tabs.setCurrentWidget(self.network_panel)
        self.network_panel.open(path)

    def run_study(self, name: str) -> None:
        """Run one study in the Studies tab."""
        self.tabs.setCurrentWidget(self.studies_panel)
        self.studies_panel.select(name)
        self.studies_panel.run()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if FileActions.dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        path = FileActions.dropped_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.file_actions.open_dropped(path)

    # ================================================================================ session
    def save_session(self) -> None:
        """Remember the layout and the last valid config."""
        analytic = self.controller.analytic
        self.session.save_window(self, self.document.config or (analytic.config if analytic else None))

    def _start(self) -> None:
        """Paint the window first (when shown), then start the first compute: the worker thread would
        otherwise compete with the first paint for the GIL."""
        if self.isVisible():
            self.repaint()
        self.controller.recompute()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._warmed:
            self._warmed = True
            self.controller.formula_dpi = 100.0 * self.devicePixelRatioF()
            QTimer.singleShot(0, self._warm_up)

    def _warm_up(self) -> None:
        """After the first paint: Numba's kernels on the worker when idle, and the background process."""
        self.controller.worker.add_idle_job(compute.warm_up)
        self.controller.background.start()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        try:
            self.save_session()
        except Exception as exc:  # never block closing
            self.show_error(describe_error(exc))
        self.controller.shutdown()
        if self._collecting:
            self._collecting = False
            collect_on_gui_thread(False)
        super().closeEvent(event)
