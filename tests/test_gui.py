"""The desktop GUI, headless (pytest-qt, QT_QPA_PLATFORM=offscreen): values are read from the items' data."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from gui_harness import open_window, settings_in, settle
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QLineEdit

from checkerlab.analytics import Config, load_config, overlap_map, overlap_pattern
from checkerlab.analytics.presets import PRESETS, default_config
from checkerlab.analytics.simulation import simulate_settings
from checkerlab.app.gui.app import install_excepthook, make_app
from checkerlab.app.gui.main_window import MainWindow
from checkerlab.app.gui.maps import display_array
from checkerlab.app.gui.state import COLUMNS
from checkerlab.app.images import array_to_qimage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path):
    return settings_in(tmp_path)


@pytest.fixture
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path)



def shown_tile(w) -> list[list[str]]:
    t = w.tile_panel.exact.table
    return [[t.item(i, j).text() for j in range(t.columnCount())] for i in range(t.rowCount())]


def exact_text(v) -> str:
    f = Fraction(v)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def expected_views(config: Config):
    """The exact map and the simulated RGB image, computed without the GUI."""
    exact = overlap_map(config.stack, config.input_size)
    mc = simulate_settings(config.stack, config.input_size, config.simulation)
    return exact, mc


def assert_views_show(w, config: Config):
    exact, mc = expected_views(config)
    np.testing.assert_array_equal(w.maps.exact_plot.image.image, exact.astype(float))
    pattern = overlap_pattern(config.stack)
    assert shown_tile(w) == [[exact_text(v) for v in row] for row in pattern.tile]
    out = mc.first.output
    assert w.maps.shown.shape == out.shape
    # float32, and the GUI may run small networks on another thread count (another summation order): 1e-4
    np.testing.assert_allclose(w.maps.shown, out, rtol=1e-4, atol=1e-6)
    rgb, is_rgb = display_array(out, "rgb")
    item = w.maps.simulated_plot.rgb_image if is_rgb else w.maps.simulated_plot.image
    np.testing.assert_allclose(item.image, np.clip(rgb, 0, 1) if is_rgb else rgb, rtol=1e-4, atol=1e-6)
    assert w.metrics_panel.rowCount() == len(config.stack)
    ph, pw = pattern.period
    assert w.metrics_panel.item(len(config.stack) - 1, 2).text() == f"{ph}×{pw}"


# ---------------------------------------------------------------------------------------------- editing
def test_startup_shows_the_default_example_in_both_views(window):
    assert_views_show(window, default_config())
    assert "period 8×8" in window.maps.exact_plot.title
    assert window.maps.exact_spectrum.marked  # analytic artifact frequencies circled on both spectra
    assert window.maps.simulated_spectrum.marked == window.maps.exact_spectrum.marked


def test_editing_a_cell_updates_both_views_with_the_new_exact_values(window, qtbot):
    window.editor.set_cell(0, "kernel", "4")
    config = window.document.config
    assert str(config.stack).startswith("ConvTranspose2d(4, stride=2, padding=1, output_padding=1")
    settle(qtbot, window)
    assert_views_show(window, config)
    window.editor.set_cell(4, "stride", "3")
    window.editor.set_cell(4, "output_padding", "2")
    settle(qtbot, window)
    assert_views_show(window, window.document.config)
    assert overlap_pattern(window.document.config.stack).period == window.controller.analytic.pattern.period


def test_settings_edit_reruns_only_the_simulation(window, qtbot):
    analytic = window.controller.analytic
    window.input_panel.seed.setValue(7)
    window.input_panel.draws.setValue(2)
    assert window.document.config.simulation.seed == 7
    settle(qtbot, window)
    assert window.controller.analytic is analytic  # geometry unchanged: the exact analysis is reused
    assert window.controller.simulation.monte_carlo.draws == 2
    assert_views_show(window, window.document.config)


@pytest.mark.parametrize(
    ("column", "text", "fragment"),
    [
        ("stride", "0", "stride=0 is out of range"),
        ("kernel", "abc", "must be an integer or an (h, w) pair"),
        ("padding", "-1", "padding=-1 is out of range"),
        ("output_padding", "5", "must be smaller than stride"),
        ("channels", "x", "out_channels='x' must be a positive integer"),
        ("groups", "0", "groups=0 is out of range"),
        ("type", "Swish", "unknown layer type 'Swish'"),
    ],
)
def test_invalid_cells_are_marked_explained_and_keep_the_last_valid_result(
    window, qtbot, column, text, fragment
):
    before = window.controller.analytic, window.controller.simulation
    window.editor.set_cell(2, column, text)
    v = window.document.validation
    assert not v.ok and fragment in v.errors[(2, column)]
    index = window.editor.model.index(2, COLUMNS.index(column))
    assert window.editor.model.data(index, Qt.ItemDataRole.BackgroundRole) is not None
    assert fragment in window.editor.model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert window.editor.model.data(index, Qt.ItemDataRole.DisplayRole) == text  # the typed text stays
    kind = "Swish" if column == "type" else "ConvTranspose2d"
    assert fragment in window.editor.message.text() and f"layer 2 ({kind}): " in window.editor.message.text()
    assert "showing the last valid result" in window.statusBar().currentMessage()
    qtbot.wait(80)
    assert (window.controller.analytic, window.controller.simulation) == before
    window.document.undo_stack.undo()
    assert window.document.validation.ok


def test_stack_level_errors_point_at_the_row(window, qtbot):
    window.editor.set_cell(0, "type", "Conv2d")
    window.editor.set_cell(0, "kernel", "9")
    window.editor.set_cell(0, "padding", "0")
    settle(qtbot, window)
    window.input_panel.height_spin.setValue(4)  # 4 - 8 < 1: the first layer's output would be empty
    v = window.document.validation
    assert not v.ok and "output would be empty" in v.errors[(0, "type")]
    window.editor.set_cell(4, "type", "PixelShuffle")  # 8 channels after layer 3 are divisible by 4: fine
    window.input_panel.height_spin.setValue(32)
    assert window.document.validation.ok
    settle(qtbot, window)
    assert_views_show(window, window.document.config)


def test_rows_add_remove_duplicate_move_and_undo_redo(window, qtbot):
    doc, editor = window.document, window.editor
    original = doc.config.stack
    editor.select_row(0)
    editor.duplicate_row()
    assert len(doc.state.rows) == 7 and doc.state.rows[0] == doc.state.rows[1]
    assert doc.state.rows[0].uid != doc.state.rows[1].uid
    editor.select_row(3)
    editor.add_row("Upsample")
    assert doc.state.rows[4].type == "Upsample" and editor.current_row() == 4
    editor.move_row(-1)
    assert doc.state.rows[3].type == "Upsample" and editor.current_row() == 3
    editor.remove_row()
    types = [r.type for r in doc.state.rows]
    assert types == ["ConvTranspose2d", "ConvTranspose2d", "ReLU", "ConvTranspose2d", "ReLU", "ConvTranspose2d", "Tanh"]
    settle(qtbot, window)
    assert_views_show(window, doc.config)
    stack = doc.undo_stack
    while stack.canUndo():
        stack.undo()
    assert doc.config.stack == original
    stack.redo()
    assert len(doc.state.rows) == 7
    window.undo_action.trigger()
    settle(qtbot, window)
    assert_views_show(window, default_config())


def test_the_add_layer_button_adds_a_layer(window):
    window.editor.select_row(5)
    window.editor.actions_by_name["add"].trigger()  # triggered(checked) must not become the layer type
    assert window.document.state.rows[6].type == "ConvTranspose2d" and window.document.validation.ok


def test_brightness_slider_drag_is_one_undo_step(window):
    before = window.document.undo_stack.count()
    for v in (10, 20, 30, 40):
        window.input_panel.slider.setValue(v)
    assert window.document.config.simulation.brightness == 0.4
    assert window.document.undo_stack.count() == before + 1
    assert window.input_panel.brightness.value() == pytest.approx(0.4)


def test_every_preset_loads_into_the_editor_and_both_views(window, qtbot):
    for key, preset in PRESETS.items():
        window.load_preset(key)
        assert window.document.config == preset.config, key
        settle(qtbot, window)
        exact = overlap_map(preset.config.stack, preset.config.input_size)
        np.testing.assert_array_equal(window.maps.exact_plot.image.image, exact.astype(float))
        assert window.controller.analytic.pattern.period == overlap_pattern(preset.config.stack).period
        assert (
            window.maps.shown.shape
            == preset.config.stack.shapes((preset.config.simulation.in_channels, *preset.config.input_size))[
                -1
            ]
        )
        assert preset.title in window.presets.note.text()


def test_layer_selector_shows_each_layer_output(window, qtbot):
    sim = window.controller.simulation
    window.maps.select(1)
    np.testing.assert_array_equal(window.maps.shown, sim.monte_carlo.first.activations[0])
    assert window.maps.simulated_spectrum.marked  # the first layer's own artifact frequencies (period 2)
    freqs = {(float(fx), float(fy)) for fy, fx, _ in window.controller.analytic.layer_patterns[0].artifact_frequencies}
    assert {(abs(x), abs(y)) for x, y in window.maps.simulated_spectrum.marked} == {
        (abs(x), abs(y)) for x, y in freqs
    }
    window.maps.channel.setCurrentIndex(window.maps.channel.findData("0"))
    np.testing.assert_array_equal(window.maps.simulated_plot.image.image, sim.arrays[1][0].astype(float))


# ---------------------------------------------------------------------------------------------- linking
def test_hover_shows_count_phase_and_value_in_every_view(window):
    a = window.controller.analytic
    i, j = 37, 85
    x, y = j + 0.5, i + 0.5
    window.maps.exact_plot.hovered.emit(x, y)
    count = exact_text(a.exact_map[i, j])
    value = window.maps.shown[:, i, j]
    for label in (window.maps.readout,):
        text = label.text()
        assert (
            f"(i, j) = ({i}, {j})" in text
            and f"count {count}" in text
            and f"phase ({i % 8}, {j % 8})" in text
        )
        assert f"{value[0]:.3g}" in text
    assert window.maps.simulated_plot.vline.isVisible() and window.maps.simulated_plot.vline.value() == x
    item = window.tile_panel.exact.table.item(i % 8, j % 8)
    assert item.font().bold()
    assert window.profiles.cursor_at == i
    window.show()
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.profiles.parentWidget()))  # built when first shown
    assert window.profiles.cursor[0].isVisible() and window.profiles.cursor[0].value() == i
    window.maps.simulated_plot.hovered.emit(10.5, 3.5)  # hovering the other view moves the first
    assert window.maps.exact_plot.hline.value() == 3.5
    window.maps.exact_plot.hovered.emit(float("nan"), float("nan"))
    assert not window.maps.exact_plot.vline.isVisible()


# ---------------------------------------------------------------------------------------------- files
def test_save_and_open_round_trip_with_recent_files(window, qtbot, tmp_path):
    window.load_preset("espcn-icnr")
    window.input_panel.seed.setValue(5)
    config = window.document.config
    path = tmp_path / "net.json"
    assert window.file_actions.save_to(str(path))
    assert load_config(path) == config
    assert json.loads(path.read_text())["simulation"]["seed"] == 5
    assert not window.isWindowModified()
    window.file_actions.new_document()
    assert window.document.config == default_config()
    assert window.file_actions.open_config(str(path))
    assert window.document.config == config and window.document.path == str(path)
    assert window.session.recent_files()[0] == str(path.resolve())
    settle(qtbot, window)


def test_bad_files_change_nothing_and_report_in_the_status_bar(window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "stack": [')
    state = window.document.state
    assert not window.file_actions.open_config(str(bad))
    assert window.document.state == state
    assert "bad.json:1:" in window.statusBar().currentMessage()
    window.editor.set_cell(0, "stride", "0")
    target = tmp_path / "never.json"
    assert not window.file_actions.save_to(str(target))
    assert (
        not target.exists() and "cannot save while an entry is invalid" in window.statusBar().currentMessage()
    )
    assert not window.file_actions.use_image(str(tmp_path / "missing.png"))
    assert "cannot decode image" in window.statusBar().currentMessage()


def test_exports_are_valid_files(window, qtbot, tmp_path):
    window.show()
    qtbot.waitExposed(window)
    png, svg = tmp_path / "fig.png", tmp_path / "fig.svg"
    window.file_actions.export_figure(str(png))
    image = QImage(str(png))
    from checkerlab.analytics.presentation.figures import overlap_figure, save_figure

    config = window.document.config
    save_figure(overlap_figure(config.stack, config.input_size, config.simulation), tmp_path / "expected.png")
    expected = QImage(str(tmp_path / "expected.png"))
    assert not image.isNull() and image.size() == expected.size() and image.width() > 600  # a column figure
    window.file_actions.export_figure(str(svg))
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 50
    csv, npy = tmp_path / "map.csv", tmp_path / "map.npy"
    window.file_actions.export_data("overlap_map", str(csv))
    window.file_actions.export_data("simulated", str(npy))
    exact = overlap_map(default_config().stack, default_config().input_size)
    np.testing.assert_array_equal(np.loadtxt(csv, delimiter=",", dtype=np.int64), exact)
    np.testing.assert_array_equal(np.load(npy), window.maps.shown)
    window.file_actions.export_data("tile", str(tmp_path / "tile.csv"))
    assert (tmp_path / "tile.csv").read_text().splitlines()[0] == "1,4,3,5,2,5,3,4"
    window.file_actions.export_data("metrics", str(tmp_path / "metrics.csv"))
    assert (tmp_path / "metrics.csv").read_text().startswith("Layer,Output,Theory period")
    for name in window.file_actions.array_names():
        window.file_actions.export_data(name, str(tmp_path / f"{name}.npy"))
        assert np.load(tmp_path / f"{name}.npy", allow_pickle=True).size > 0
    tex = tmp_path / "report.tex"
    window.file_actions.export_latex(str(tex))
    text = tex.read_text()
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    assert text.count("\\begin{") == text.count("\\end{")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_drop_an_image_to_use_it_as_input(window, qtbot, tmp_path):
    rng = np.random.default_rng(1)
    img = rng.random((3, 20, 24))
    path = tmp_path / "photo.png"
    assert array_to_qimage(img).save(str(path))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    s = window.document.config.simulation
    assert s.input == "image" and s.image_path == str(path)
    settle(qtbot, window)
    from checkerlab.analytics.inputs import make_input
    from checkerlab.app.images import load_image

    expected = make_input("image", (32, 32), 3, 1.0, 0, image=load_image(path))
    np.testing.assert_allclose(window.controller.simulation.arrays[0], expected, atol=1e-6)
    assert window.input_panel.kind.currentText() == "image"


def test_layout_and_last_config_are_restored(qtbot, settings):
    make_app()
    first = MainWindow(default_config(), settings=settings, restore=False)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.load_preset("pix2pix")
    first.input_dock.hide()
    first.tabs.setCurrentIndex(1)
    first.central.setSizes([400, 350])
    sizes = first.central.sizes()
    first.close()
    assert settings.value("last_config", "", type=str) and settings.value("geometry") is not None
    second = MainWindow(settings=settings, restore=True)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.document.config == PRESETS["pix2pix"].config
    assert second.input_dock.isHidden() and not second.stack_dock.isHidden()
    assert second.tabs.currentIndex() == 1
    restored = second.central.sizes()  # the offscreen screen is small: the proportions are what is kept
    assert restored[0] / sum(restored) == pytest.approx(sizes[0] / sum(sizes), abs=0.02)
    second.close()
    settings.setValue("last_config", "{not json")  # a damaged entry falls back to the default example
    third = MainWindow(settings=settings, restore=True)
    qtbot.addWidget(third)
    assert third.document.config == default_config()
    third.close()


# ---------------------------------------------------------------------------------------------- robustness
def test_newest_request_wins_and_cancel(qtbot):
    import threading

    from checkerlab.app.gui.worker import ComputeWorker, Request

    worker = ComputeWorker(1)
    ran, finished, failures, gate = [], [], [], threading.Event()
    worker.finished.connect(lambda rid, ok: finished.append((rid, ok)))
    worker.failed.connect(lambda rid, stage, msg: failures.append((stage, msg)))

    def slow(ctx):
        gate.set()
        while True:
            ctx.check()  # raises Cancelled once a newer request arrives
            threading.Event().wait(0.005)

    try:
        first = worker.submit(Request([("slow", slow)]))
        assert gate.wait(5)
        worker.submit(Request([("a", lambda ctx: ran.append("a"))]))  # replaced before it starts...
        last = worker.submit(Request([("b", lambda ctx: ran.append("b") or 42)]))  # ...by this one
        qtbot.waitUntil(lambda: len(finished) == 2, timeout=5000)
        assert finished == [(first, False), (last, True)] and ran == ["b"]
        boom = worker.submit(
            Request([("boom", lambda ctx: 1 / 0), ("after", lambda ctx: ran.append("after"))])
        )
        qtbot.waitUntil(lambda: len(finished) == 3, timeout=5000)
        assert finished[-1] == (boom, False) and ran[-1] == "after"  # later stages still run
        assert failures[0][0] == "boom" and failures[0][1].startswith("ZeroDivisionError: division by zero")
        gate.clear()
        stopped = worker.submit(Request([("slow", slow)]))
        assert gate.wait(5)
        worker.cancel()
        qtbot.waitUntil(lambda: len(finished) == 4, timeout=5000)
        assert finished[-1] == (stopped, False)
    finally:
        worker.shutdown()


def test_progress_and_cancel_of_a_long_monte_carlo(window, qtbot):
    # Poll instead of qtbot.waitSignal: a blocker connected to this high-rate cross-thread signal and then
    # disconnected can receive a queued emission after it is gone (PySide6 + pytest-qt; crashed 1 run in 50,
    # more often with faster draws).
    window.input_panel.draws.setValue(400)
    c = window.controller
    qtbot.waitUntil(lambda: c.simulation.config.simulation.draws == 400 and window.status.progress.value() > 0,
                    timeout=10000)
    window.cancel()
    qtbot.waitUntil(lambda: not window.controller.worker.is_busy(), timeout=10000)
    sim = window.controller.simulation  # the maps show draw 0 at once; the cancelled draws never complete
    assert sim.config.simulation.draws == 400 and sim.monte_carlo.draws < 400 and not sim.complete
    assert window.metrics_panel.stale  # its statistics are marked as not those of the 400 draws
    assert not window.status.progress.isVisible()


def test_errors_in_a_stage_reach_the_status_bar(window, qtbot, monkeypatch):
    import checkerlab.app.gui.compute as compute

    def broken(*args, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(compute, "simulate", broken)
    window.input_panel.seed.setValue(3)
    qtbot.waitUntil(lambda: "kernel exploded" in window.statusBar().currentMessage(), timeout=10000)
    assert window.controller.simulation.config.simulation.seed == 0  # the last valid result stays


def test_garbage_is_collected_on_the_gui_thread_only_while_a_window_is_open(qtbot, tmp_path):
    import gc

    assert gc.isenabled()
    for w in open_window(qtbot, tmp_path):
        assert not gc.isenabled()  # the compute thread never runs a collection that frees Qt objects
        w.close()
    assert gc.isenabled()


def test_last_resort_excepthook_reports_in_the_status_bar(window):
    previous = sys.excepthook
    try:
        install_excepthook(window)
        try:
            raise KeyError("lost")
        except KeyError:
            sys.excepthook(*sys.exc_info())
        assert "internal error: KeyError" in window.statusBar().currentMessage()
    finally:
        sys.excepthook = previous


# ---------------------------------------------------------------------------------------------- screenshots
def _cli(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "checkerlab.app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _assert_not_blank(path: Path, size=(1500, 950)):
    image = QImage(str(path))
    assert not image.isNull() and (image.width(), image.height()) == size
    small = image.scaled(150, 95)
    colors = {small.pixel(x, y) for x in range(150) for y in range(95)}
    assert len(colors) > 500  # plots, colormaps and text, not a blank or single-colour window


def test_screenshot_cli_writes_a_non_blank_png(tmp_path):
    out = tmp_path / "shot.png"
    result = _cli("gui", "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    _assert_not_blank(out)


_BUSY_WORKER_SCREENSHOT = r"""
import sys, time
from checkerlab.app.gui import app, worker
app.WORKER_EXIT_WAIT_MS = 200
app.take_screenshot.__defaults__ = (0.5,)
start = worker.ComputeWorker.__init__
def busy(self, *a, **k):  # an uninterruptible job on the worker thread, like a first Numba compile
    start(self, *a, **k)
    self.add_idle_job(lambda should_yield: time.sleep(8))
worker.ComputeWorker.__init__ = busy
from checkerlab.app.gui.launch import gui_main
gui_main(screenshot=sys.argv[1])
"""


def test_screenshot_with_a_worker_still_busy_exits_cleanly(tmp_path):
    """The views not done in time and the worker inside a computation that cannot be interrupted (a first
    compile on a loaded machine): the partial screenshot is written, a warning printed and the process exits
    0, instead of Qt aborting on a running QThread ("QThread: Destroyed while thread is still running")."""
    out = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    result = subprocess.run([sys.executable, "-c", _BUSY_WORKER_SCREENSHOT, str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "QThread" not in result.stderr
    assert out.exists() and out.stat().st_size > 0


def test_run_without_display_prints_the_analysis_and_a_screenshot_path(tmp_path):
    result = _cli("run", env_extra={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("checkerlab: no display found")
    assert "period    8 x 8" in result.stdout
    shot = Path(lines[-1].removeprefix("screenshot: "))
    assert lines[-1].startswith("screenshot: ") and shot.parent == tmp_path
    _assert_not_blank(shot)


def test_formula_panel_and_copy_as_latex(window, qtbot):
    from PySide6.QtGui import QGuiApplication

    from checkerlab.analytics import closed_form, to_latex

    c = window.controller
    qtbot.waitUntil(lambda: c.formula is not None and c.fixes is not None, timeout=20000)
    sources = [label.toolTip() for label in window.formula_panel.line_labels]
    assert r"\text{tile } t = \left(1, 4, 3, 5, 2, 5, 3, 4\right)" in sources
    assert any(s.startswith("H(z) = ") for s in sources)
    # the exact artifact amplitude |H(-1)|/H(1) = 1/3 at f = 1/2
    assert r"\frac{|H(\omega^{4})|}{H(1)} = \frac{1}{3} \quad \text{at } f = \frac{1}{2}" in sources
    latex = window.formula_panel.copy_latex()
    assert latex == to_latex(closed_form(default_config().stack, axis=0))
    assert QGuiApplication.clipboard().text() == latex
    assert window.formula_panel.source.toPlainText() == latex


def test_fixes_are_proven_and_apply_in_one_undoable_step(window, qtbot):
    qtbot.waitUntil(lambda: window.controller.fixes is not None, timeout=20000)
    assert window.controller.fixes.free is False and window.controller.fixes.fixes
    assert "Not checkerboard-free" in window.fixes_panel.browser.toPlainText()
    fix = window.controller.fixes.fixes[0]
    window.fixes_panel.apply(0)
    assert window.document.config.stack == fix.stack
    assert window.document.config.simulation == default_config().simulation
    settle(qtbot, window)
    assert window.controller.analytic.pattern.is_even
    qtbot.waitUntil(lambda: window.controller.fixes is not None and window.controller.fixes.free is True, timeout=20000)
    assert "Checkerboard-free" in window.fixes_panel.browser.toPlainText()
    window.document.undo_stack.undo()
    assert window.document.config == default_config()


def test_keyboard_editing_and_standard_shortcuts(window, qtbot):
    from PySide6.QtTest import QTest

    window.show()
    qtbot.waitExposed(window)
    table, index = window.editor.table, window.editor.model.index(0, COLUMNS.index("kernel"))
    window.activateWindow()
    table.setFocus()
    table.setCurrentIndex(index)

    def open_editor() -> QLineEdit:
        qtbot.wait(10)  # let a closed editor be deleted
        table.edit(index)
        editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
        assert len(editors) == 1
        editors[0].setFocus()
        return editors[0]

    editor = open_editor()
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, "5")
    QTest.keyClick(editor, Qt.Key.Key_Escape)  # Esc cancels the cell edit, not the computation
    qtbot.wait(20)
    assert window.document.state.rows[0].kernel == "3"
    editor = open_editor()
    QTest.keyClick(editor, Qt.Key.Key_Home)
    QTest.keyClick(editor, Qt.Key.Key_Delete)  # Delete inside a cell deletes text, not the row
    QTest.keyClicks(editor, "4")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.document.state.rows[0].kernel == "4")  # the delegate commits queued
    assert len(window.document.state.rows) == 6 and window.document.state.rows[0].kernel == "4"
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_Delete)  # on the table it removes the row
    assert len(window.document.state.rows) == 5
    QTest.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.state.rows) == 6
    QTest.keyClick(table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.state.rows) == 7
    shortcuts = {name: a.shortcut().toString() for name, a in window.actions.items()}
    assert shortcuts["open"] == "Ctrl+O" and shortcuts["save"] == "Ctrl+S" and shortcuts["quit"] == "Ctrl+Q"
