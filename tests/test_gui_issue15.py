"""Issue 15: one test per defect of the GUI review (each failed before its fix) and per addition."""

import numpy as np
import pytest
from gui_harness import open_window, settle
from PySide6.QtCore import QPointF, QRectF, Qt

from checkerlab.analytics import CheckerlabError, Config, Stack, overlap_map, overlap_pattern


@pytest.fixture
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path)


def show_at(window, qtbot, width=1280, height=800):
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)


def view_rect(plot) -> tuple[float, ...]:
    return plot.getPlotItem().getViewBox().viewRect().getRect()


def same_extents(a, b) -> bool:
    """The two views show the same data rectangle, to within one screen pixel."""
    vb = a.getPlotItem().getViewBox()
    pixel = vb.viewRect().width() / vb.size().width()
    return view_rect(a) == pytest.approx(view_rect(b), abs=pixel)


# ---------------------------------------------------------------------------------------------- Fix 1
def test_fix1_the_layer_selection_follows_its_layer(window, qtbot):
    maps = window.maps
    maps.select(3)  # the output of layer 2, a ConvTranspose2d
    window.editor.set_cell(4, "kernel", "4")  # changes the shapes of layers 4 and 5, so the selector's texts
    settle(qtbot, window)
    assert maps.position == 3 and maps.layer.currentText().startswith("2 ConvTranspose2d")
    window.editor.select_row(0)
    window.editor.add_row("Conv2d")  # a new layer 1: the selected layer is now layer 3
    settle(qtbot, window)
    assert maps.position == 4 and maps.layer.currentText().startswith("3 ConvTranspose2d")
    stack = window.document.config.stack
    np.testing.assert_array_equal(maps.shown, window.controller.simulation.monte_carlo.first.activations[3])
    np.testing.assert_array_equal(maps.exact_plot.image.image, overlap_map(stack[:4], (32, 32)).astype(float))
    window.document.undo_stack.undo()
    settle(qtbot, window)
    assert maps.position == 3 and maps.layer.currentText().startswith("2 ConvTranspose2d")


# ---------------------------------------------------------------------------------------------- Fix 2
def columns_fit(table) -> bool:
    """Every column is on screen, none is narrower than its header text (nothing cut off)."""
    header = table.horizontalHeader()
    metrics = header.fontMetrics()
    model = table.model()
    texts = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(model.columnCount())]
    widest = [max(metrics.horizontalAdvance(line) for line in text.split("\n")) for text in texts]
    fits = all(header.sectionSize(c) >= w for c, w in enumerate(widest))
    return fits and header.length() <= table.viewport().width() and table.horizontalScrollBar().maximum() == 0


def test_fix2_everything_fits_a_1280x800_screen(window, qtbot):
    show_at(window, qtbot)
    from PySide6.QtWidgets import QLabel

    window.hover.show((37, 45))
    long_value = "(i, j) = (1234, 5678) · count 123456789/987654 · phase (1234, 5678) · value " + "x" * 400
    for label in [window.maps.readout] + window.statusBar().findChildren(QLabel):
        label.setText(long_value)  # long readouts and timings must not widen the window
    qtbot.wait(20)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 800
    assert (window.width(), window.height()) == (1280, 800)
    assert columns_fit(window.editor.table)
    window.tabs.setCurrentWidget(window.metrics_panel)
    qtbot.wait(20)
    assert columns_fit(window.metrics_panel)
    for widget in (window.maps, window.tabs, window.editor, window.input_panel):
        assert widget.isVisible() and widget.width() > 0 and widget.height() >= 0.8 * widget.minimumSizeHint().height()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_fix2_screenshot_renders_exactly_the_requested_size(tmp_path, size):
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "checkerlab.app.cli", "gui", "--screenshot", str(out),
                             "--size", f"{size[0]}x{size[1]}"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == size


@pytest.mark.parametrize("bad", ["1280", "1280x", "0x800", "99999x800", "axb"])
def test_fix2_a_bad_size_is_one_line_and_exit_2(bad, capsys):
    from checkerlab.app.cli import main

    assert main(["gui", "--screenshot", "x.png", "--size", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--size" in err and "WIDTHxHEIGHT" in err and len(err) <= 300


# ---------------------------------------------------------------------------------------------- Fix 3
def test_fix3_linked_views_show_the_same_extents(window, qtbot):
    show_at(window, qtbot)
    maps = window.maps
    assert same_extents(maps.exact_plot, maps.simulated_plot)
    vb = maps.exact_plot.getPlotItem().getViewBox()
    vb.setRange(QRectF(40, 20, 30, 30), padding=0)
    vb.sigRangeChangedManually.emit([True, True])  # what a mouse zoom emits
    assert same_extents(maps.exact_plot, maps.simulated_plot)
    window.input_panel.seed.setValue(3)
    settle(qtbot, window)
    assert same_extents(maps.exact_plot, maps.simulated_plot)
    maps.select(1)
    assert same_extents(maps.exact_plot, maps.simulated_plot)


def test_fix3_spectra_show_their_peaks_fill_their_space_and_keep_their_scale(window, qtbot):
    from PySide6.QtGui import QColor

    show_at(window, qtbot)
    maps = window.maps
    plot = maps.exact_spectrum
    assert view_rect(plot) == pytest.approx((-0.5 - 1 / 512, -0.5 - 1 / 512, 1.0, 1.0), abs=0.01)  # no margins
    image = plot.grab().toImage()
    vb = plot.getPlotItem().getViewBox()
    freqs = overlap_pattern(window.document.config.stack).artifact_frequencies
    strongest = [(fy, fx) for fy, fx, amplitude in freqs if amplitude > 0.1]
    assert strongest
    for fy, fx in strongest:  # every strong artifact peak is drawn bright, whatever the view's size
        for sy in (1, -1):
            x, y = (sy * float(f) for f in (fx, fy))
            x, y = (v - 1 if v >= 0.5 else v for v in (x, y))
            p = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
            bright = max(QColor(image.pixel(p.x() + dx, p.y() + dy)).value()
                         for dx in range(-2, 3) for dy in range(-2, 3))
            assert bright > 200, (fy, fx)
    levels = plot.colorbar.levels(), maps.simulated_spectrum.colorbar.levels()
    window.input_panel.seed.setValue(11)
    window.load_preset("espcn")  # a zero-mean Tanh output: its DC term is tiny
    settle(qtbot, window)
    assert (plot.colorbar.levels(), maps.simulated_spectrum.colorbar.levels()) == levels
    assert float(np.max(maps.simulated_spectrum.full)) <= 0.0  # relative to the norm, never above 0 dB


# ---------------------------------------------------------------------------------------------- Fix 4
def header_texts(table) -> list[str]:
    model = table.model()
    return [model.headerData(c, Qt.Orientation.Horizontal).replace("\n", " ") for c in range(model.columnCount())]


def test_fix4_metrics_show_mean_and_standard_error_and_label_theory(window, qtbot):
    window.input_panel.draws.setValue(6)
    settle(qtbot, window)
    table, mc = window.metrics_panel, window.controller.simulation.monte_carlo
    headers = header_texts(table)
    assert "Sim. period" not in headers  # the generic period is not measured: it is theory
    assert {"Theory period", "Theory contrast", "Theory energy", "Theory period, random w."} <= set(headers)
    column = headers.index("Sim. contrast")
    for layer in range(len(window.document.config.stack)):
        values = mc.contrast[:, layer]
        finite = values[np.isfinite(values)]
        text = table.item(layer, column).text()
        if len(finite) >= 2:
            mean, se = finite.mean(), finite.std(ddof=1) / np.sqrt(len(finite))
            assert text.startswith(f"{mean:.3g} ± {se:.2g}"), (layer, text)
            if len(finite) < len(values):
                assert f"({len(finite)}/6 draws)" in text
        assert text != "∞" and "∞ in" not in text
    assert table.item(5, column).text() == "n/a (tile crosses 0)"  # Tanh: a signed phase tile has no max/min ratio
    tile_mean = mc.layers[5].tile_mean.mean(axis=0)
    assert tile_mean.min() < 0 < tile_mean.max()
    generic = headers.index("Theory period, random w.")
    assert table.item(0, generic).text() == "{}×{}".format(*mc.first.metrics[0].period)


def test_fix4_a_period_16_tile_shows_every_number(window, qtbot):
    show_at(window, qtbot)
    window.document.load(Config("ConvTranspose2d(5, stride=2, padding=2, output_padding=1) * 4", (16, 16)))
    settle(qtbot, window)
    window.tabs.setCurrentWidget(window.tile_panel)
    qtbot.wait(20)
    table = window.tile_panel.exact.table
    tile = overlap_pattern(window.document.config.stack).tile
    assert tile.shape == (16, 16) and int(tile.max()) >= 1000  # four-digit counts
    fm = table.fontMetrics()
    for i in range(16):
        for j in range(16):
            item = table.item(i, j)
            assert item.text() == str(tile[i, j])
            assert table.columnWidth(j) >= fm.horizontalAdvance(item.text()) + 4  # never elided to "…"


# ---------------------------------------------------------------------------------------------- Fix 9
def test_fix9_the_readout_shows_the_channel_on_display(window):
    maps = window.maps
    maps.select(1)  # layer 0: 16 channels
    i, j = 20, 33
    a = maps.shown
    for key, expected in (("3", f"ch 3 {a[3, i, j]:.4g}"), ("mean", f"mean {a[:, i, j].mean():.4g}")):
        maps.channel.setCurrentIndex(maps.channel.findData(key))
        window.hover.show((i, j))
        assert f"value {expected}" in maps.readout.text()
    maps.select(6)  # the RGB output
    maps.channel.setCurrentIndex(maps.channel.findData("rgb"))
    window.hover.show((i, j))
    rgb = maps.shown[:, i, j]
    assert "value RGB (" + ", ".join(f"{v:.3g}" for v in rgb) + ")" in maps.readout.text()
    maps.channel.setCurrentIndex(maps.channel.findData("2"))
    window.hover.show((i, j))
    assert f"value ch 2 {rgb[2]:.4g}" in maps.readout.text()


# ---------------------------------------------------------------------------------------------- Fix 10
def test_fix10_figure_exports_are_the_publication_figure_of_the_shown_layer(window, qtbot, tmp_path):
    """The export is analytics' publication figure of the stack up to the shown layer (same settings)."""
    import xml.etree.ElementTree as ET

    from PySide6.QtGui import QImage

    from checkerlab.analytics.presentation.figures import overlap_figure, save_figure

    window.maps.select(3)
    config = window.document.config
    fig = overlap_figure(config.stack[:3], config.input_size, config.simulation)  # its layout: test_figures
    svg, pdf, png = tmp_path / "f.svg", tmp_path / "f.pdf", tmp_path / "f.png"
    for path in (svg, pdf, png):
        window.file_actions.export_figure(str(path))
    save_figure(fig, tmp_path / "expected.svg")
    assert svg.read_bytes() == (tmp_path / "expected.svg").read_bytes()  # that figure, not another
    text = svg.read_text()
    assert "Matplotlib v" in text and "<image" in text  # vector, with rasterized heatmaps
    assert "<dc:date>" not in text  # reproducible
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert not QImage(str(png)).isNull()
    assert not list(tmp_path.glob(".*.tmp"))
    window.maps.select(0)
    with pytest.raises(CheckerlabError, match="select a layer"):  # the input has no pattern: one line
        window.file_actions.export_figure(str(tmp_path / "input.svg"))
    assert not (tmp_path / "input.svg").exists()


def _latex_report(window, tmp_path):
    tex = tmp_path / "report.tex"
    window.file_actions.export_latex(str(tex))
    return tex


def test_fix10_the_latex_table_has_as_many_columns_as_headers(window, tmp_path):
    import re

    source = _latex_report(window, tmp_path).read_text()
    spec = re.search(r"\\begin\{tabular\}\{([a-z|]+)\}", source).group(1)
    header = source.split(r"\begin{tabular}", 1)[1].split(r"\\", 1)[0]
    assert len(spec.replace("|", "")) == header.count("&") + 1


def test_fix10_the_latex_report_compiles_without_warnings(window, tmp_path):
    import re
    import shutil
    import subprocess

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    tex = _latex_report(window, tmp_path)
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                   capture_output=True, timeout=120, check=True)
    log = (tmp_path / "report.log").read_text(errors="replace")
    assert not re.findall(r"(Overfull|Underfull) \\[hv]box|Warning", log)


# ---------------------------------------------------------------------------------------------- Add 1
def test_add1_exact_map_beside_the_simulated_activation_for_every_layer(window, qtbot):
    maps, config = window.maps, window.document.config
    sim = window.controller.simulation.monte_carlo.first
    for position in range(len(config.stack) + 1):
        maps.select(position)
        exact = overlap_map(config.stack[:position], config.input_size)
        np.testing.assert_array_equal(maps.exact_plot.image.image, exact.astype(float))
        np.testing.assert_array_equal(maps.shown, sim.input if position == 0 else sim.activations[position - 1])
        assert maps.exact_plot.image.image.shape == maps.shown.shape[1:]
        where = "input" if position == 0 else f"layer {position - 1}"
        assert where in maps.exact_plot.title
        assert where in maps.simulated_plot.title
        if position:
            freqs = overlap_pattern(config.stack[:position]).artifact_frequencies
            assert {(fy, fx) for fy, fx in maps.marked_frequencies()} == {(fy, fx) for fy, fx, _ in freqs}
            assert window.tile_panel.result.pattern.period == overlap_pattern(config.stack[:position]).period


# ---------------------------------------------------------------------------------------------- Fix 5
def test_fix5_one_layer_numbering_everywhere(window, qtbot):
    """The editor's rows, the selectors, the tables, the fixes and the messages all number a layer by its
    index in the stack (nn.Sequential's, from 0), the number analytics' own messages use."""
    stack = window.document.config.stack
    model = window.editor.model
    assert model.rowCount() == len(stack) == 6  # one row per layer, activations included
    assert [model.headerData(r, Qt.Orientation.Vertical) for r in range(len(stack))] == [str(i) for i in range(6)]
    assert [window.document.state.rows[r].type for r in range(6)] == [layer.type for layer in stack]
    metrics = [window.metrics_panel.item(r, 0).text() for r in range(window.metrics_panel.rowCount())]
    assert metrics == ["0 ConvT", "1 ReLU", "2 ConvT", "3 ReLU", "4 ConvT", "5 Tanh"]
    layers = [window.maps.layer.itemText(i) for i in range(window.maps.layer.count())]
    assert layers[1].startswith("0 ConvTranspose2d") and layers[6].startswith("5 Tanh")
    qtbot.waitUntil(lambda: window.controller.fixes is not None, timeout=20000)
    assert window.controller.fixes.culprits[0].startswith("layer 0 (ConvTranspose2d)")
    window.editor.set_cell(2, "stride", "0")  # the same message analytics gives for the same stack
    with pytest.raises(Exception) as analytics_error:
        Stack("ConvTranspose2d(3, stride=2), ReLU(), ConvTranspose2d(3, stride=0)")
    expected = str(analytics_error.value)
    assert expected.startswith("layer 2 (ConvTranspose2d): ")
    assert window.document.validation.message == expected
    assert expected in window.editor.message.text()


# ---------------------------------------------------------------------------------------------- Fix 6
def test_fix6_formulas_are_typeset_line_by_line_and_copied_as_latex(window, qtbot):
    import os

    from PySide6.QtGui import QGuiApplication, QImage

    from checkerlab.analytics import closed_form, to_latex
    from checkerlab.app.gui.mathtext import render

    c, panel = window.controller, window.formula_panel
    qtbot.waitUntil(lambda: c.formula is not None, timeout=30000)
    labels = panel.line_labels
    assert labels and all(not label.pixmap().isNull() for label in labels)  # every line typeset, none raw
    sources = [label.toolTip() for label in labels]
    count = [s for s in sources if s.startswith("c(n) = ") or s.startswith(r"\qquad ")][:8]
    assert len(count) == 8  # the 8 cases of the period-8 count, one per line, not one broken line
    assert count[0] == r"c(n) = 1\quad \text{if } 8 \mid n"
    line = next(s for s in sources if s.startswith("H(z) = "))
    shown = next(label for label in labels if label.toolTip() == line).pixmap().toImage()
    expected = QImage.fromData(render(line, c.formula_dpi))
    assert (shown.width(), shown.height()) == (expected.width(), expected.height())
    assert panel.copy_latex() == to_latex(closed_form(window.document.config.stack, axis=0))
    assert QGuiApplication.clipboard().text() == panel.copy_latex()
    pid = c.background.pid  # computed and typeset in the symbolic process, not in this one
    assert pid is not None and pid != os.getpid()


def test_fix6_without_matplotlib_the_formula_is_still_shown_and_copyable(monkeypatch):
    import sys

    from checkerlab.analytics.presets import default_config
    from checkerlab.app.gui import compute

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the figures extra were not installed
    result = compute.formula(default_config())
    assert "checkerlab[figures]" in result.note and result.latex.startswith(r"\begin{align*}")
    assert all(png is None for _, lines in result.sections for _, png in lines)


# ---------------------------------------------------------------------------------------------- Fix 7
def test_fix7_an_invalid_cell_keeps_its_text_visible_with_the_error_beside_it(window, qtbot):
    from checkerlab.app.gui.state import COLUMNS

    show_at(window, qtbot)
    model, table = window.editor.model, window.editor.table
    window.editor.set_cell(2, "kernel", "3 by 3")
    index = model.index(2, COLUMNS.index("kernel"))
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "3 by 3"
    assert model.data(index, Qt.ItemDataRole.DecorationRole) is None  # no icon eating the narrow cell
    assert model.data(index, Qt.ItemDataRole.BackgroundRole) is not None
    qtbot.wait(20)
    text_width = table.fontMetrics().horizontalAdvance("3 by 3")
    assert table.columnWidth(COLUMNS.index("kernel")) >= text_width + 8  # the whole text is on screen
    assert "layer 2 (ConvTranspose2d): kernel_size='3 by 3'" in window.editor.message.text()


def stale_flags(window) -> dict[str, bool]:
    m = window.maps
    views = {"exact map": m.exact_plot, "simulated map": m.simulated_plot, "exact spectrum": m.exact_spectrum,
             "simulated spectrum": m.simulated_spectrum, "tile": window.tile_panel, "metrics": window.metrics_panel,
             "profiles": window.profiles, "formula": window.formula_panel, "fixes": window.fixes_panel}
    return {name: view.stale for name, view in views.items()}


def test_fix7_every_dependent_view_is_marked_stale_until_its_result_arrives(window, qtbot):
    c = window.controller
    qtbot.waitUntil(lambda: c.formula is not None and c.fixes is not None, timeout=20000)
    qtbot.waitUntil(lambda: not any(stale_flags(window).values()), timeout=20000)
    window.editor.set_cell(0, "kernel", "4")  # geometry: every view depends on it
    assert all(stale_flags(window).values()), stale_flags(window)
    settle(qtbot, window)
    flags = stale_flags(window)
    assert not any(v for k, v in flags.items() if k not in ("formula", "fixes")), flags
    qtbot.waitUntil(lambda: not any(stale_flags(window).values()), timeout=20000)
    window.input_panel.seed.setValue(9)  # settings only: the exact views stay current
    flags = stale_flags(window)
    assert flags["simulated map"] and flags["simulated spectrum"] and flags["metrics"] and flags["profiles"]
    assert not (flags["exact map"] or flags["exact spectrum"] or flags["tile"] or flags["formula"])
    settle(qtbot, window)
    window.editor.set_cell(0, "stride", "0")  # invalid: everything shows the last valid result, marked
    assert all(stale_flags(window).values())
    assert "last valid" in window.maps.exact_plot.title and "last valid" in window.maps.simulated_plot.title
    window.document.undo_stack.undo()
    settle(qtbot, window)
    assert "last valid" not in window.maps.exact_plot.title


# ---------------------------------------------------------------------------------------------- Fix 8
def test_fix8_undo_merges_only_within_one_second(window):
    now = [100.0]
    window.document.clock = lambda: now[0]
    stack = window.document.undo_stack
    before = stack.count()
    window.input_panel.slider.setValue(10)
    now[0] += 0.4
    window.input_panel.slider.setValue(20)  # the same drag: one step
    assert stack.count() == before + 1
    now[0] += 5.0
    window.input_panel.slider.setValue(30)  # the same slider much later: a new step
    assert stack.count() == before + 2
    stack.undo()
    assert window.document.config.simulation.brightness == 0.2


def test_fix8_delete_removes_a_row_as_one_undoable_step(window, qtbot):
    from PySide6.QtTest import QTest

    window.show()
    qtbot.waitExposed(window)
    table, state = window.editor.table, window.document.state
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts need an active window
    table.setFocus()
    window.editor.select_row(1)
    QTest.keyClick(table, Qt.Key.Key_Delete)
    assert [r.type for r in window.document.state.rows] == ["ConvTranspose2d", "ConvTranspose2d", "ReLU",
                                                              "ConvTranspose2d", "Tanh"]
    assert window.document.undo_stack.undoText() == "Remove layer 1 (ReLU)"
    window.undo_action.trigger()
    assert window.document.state == state


def test_fix8_groups_and_bias_are_editable_in_the_table(window, qtbot):
    model = window.editor.model
    from checkerlab.app.gui.state import COLUMNS

    window.editor.set_cell(2, "groups", "4")  # 16 -> 8 channels, in groups of 4
    bias = model.index(2, COLUMNS.index("bias"))
    assert model.flags(bias) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.setData(bias, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    layer = window.document.config.stack[2]
    assert (layer.groups, layer.bias) == (4, False)
    assert window.document.undo_stack.undoText() == "Edit bias of layer 2"
    settle(qtbot, window)
    assert window.controller.simulation.monte_carlo.first.params[2][1] is None  # no bias in the network
    assert window.controller.simulation.monte_carlo.first.params[2][0].shape == (16, 2, 3, 3)  # torch layout


# ---------------------------------------------------------------------------------------------- Add 3
def test_add3_simulated_phase_mean_tile_beside_the_exact_tile_and_zoom_to_one_period(window, qtbot):
    from checkerlab.analytics import make_input, simulate
    from checkerlab.analytics.metrics import interiors, phase_mean_tile

    show_at(window, qtbot)
    window.load_preset("distill-k4s2")  # even overlap (period 1), yet random weights paint period 2
    settle(qtbot, window)
    panel, maps = window.tile_panel, window.maps
    config = window.document.config
    assert panel.exact.shape == (1, 1) and panel.simulated.shape == (2, 2)
    interior = interiors(config.stack, config.input_size)[-1]
    settings = config.simulation  # the reference: every draw run again, its phase means, then the average
    x = make_input(settings.input, config.input_size, settings.in_channels, settings.brightness, settings.seed)
    draws = [simulate(config.stack, x, init=settings.init, bias=settings.bias, bias_value=settings.bias_value,
                      seed=settings.seed + d).output for d in range(settings.draws)]
    mean = np.mean([phase_mean_tile(out, interior.period, interior.edge).mean(axis=0) for out in draws], axis=0)
    np.testing.assert_allclose(panel.simulated_tile, mean, rtol=1e-5, atol=1e-9)
    texts = [[panel.simulated.table.item(i, j).text() for j in range(2)] for i in range(2)]
    assert texts == [[f"{v:.3g}" for v in row] for row in mean]
    panel.zoom_button.click()
    (top, _), (left, _) = interior.edge
    top, left = -(-top // 2) * 2, -(-left // 2) * 2
    for plot in (maps.exact_plot, maps.simulated_plot):
        x, y, w, h = view_rect(plot)
        assert (x, y) == pytest.approx((left, top), abs=1e-6)  # anchored at a whole period of the interior
        assert min(w, h) == pytest.approx(2, abs=1e-6)  # one 2 x 2 period (the other side follows the aspect)
    window.hover.show((top + 1, left))
    assert panel.simulated.table.item(1, 0).font().bold() and panel.exact.table.item(0, 0).font().bold()


# ---------------------------------------------------------------------------------------------- Add 6
MODEL_CODE = """import torch.nn as nn

decoder = nn.Sequential(
    nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1),  # 8 -> 16
    nn.ReLU(True),
    nn.ConvTranspose2d(32, 3, 4, 2, 1),
    nn.Tanh(),
)
"""


def test_add6_paste_pytorch_code_into_the_editor(window, qtbot):
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest

    show_at(window, qtbot)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    doc, table = window.document, window.editor.table
    before = doc.state
    QGuiApplication.clipboard().setText(MODEL_CODE)
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    QTest.keyClick(table, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    expected = Stack("ConvTranspose2d(4, stride=2, padding=1, out_channels=32), ReLU(), "
                     "ConvTranspose2d(4, stride=2, padding=1, out_channels=3), Tanh()")
    assert doc.config.stack == expected
    assert doc.config.simulation.in_channels == 64  # torch's in_channels of the first layer
    assert doc.undo_stack.undoText().startswith("Paste nn.Sequential")
    settle(qtbot, window)
    assert window.controller.simulation.monte_carlo.first.output.shape[0] == 3
    window.editor.select_row(1)
    QGuiApplication.clipboard().setText("nn.Conv2d(32, 32, 3, padding=1), nn.LeakyReLU(0.2)")
    window.editor.paste()
    assert [layer.type for layer in doc.config.stack] == ["ConvTranspose2d", "ReLU", "Conv2d", "LeakyReLU",
                                                          "ConvTranspose2d", "Tanh"]
    QGuiApplication.clipboard().setText("this is not a layer")
    state = doc.state
    window.editor.paste()
    assert doc.state == state and "cannot paste" in window.statusBar().currentMessage()
    while doc.undo_stack.canUndo() and doc.state != before:
        doc.undo_stack.undo()
    assert doc.state == before


def test_add6_layers_from_code_reads_snippets():
    from checkerlab.app.gui.torch_code import layers_from_code

    stack, in_channels, whole = layers_from_code(MODEL_CODE)
    assert whole and in_channels == 64 and len(stack) == 4
    stack, in_channels, whole = layers_from_code("[nn.Upsample(scale_factor=2), nn.Conv2d(8, 4, 3, padding=1)]")
    assert not whole and in_channels == 8 and str(stack) == "Upsample(2), Conv2d(3, padding=1, out_channels=4)"
    with pytest.raises(Exception, match="no layers"):
        layers_from_code("x = 1")


# ---------------------------------------------------------------------------------------------- Add 8
def test_add8_first_run_tour(qtbot, tmp_path):
    from gui_harness import settings_in

    from checkerlab.analytics.presets import get_preset
    from checkerlab.app.gui.app import make_app
    from checkerlab.app.gui.main_window import MainWindow

    make_app()
    settings = settings_in(tmp_path)
    first = MainWindow(settings=settings, restore=True)  # no config, nothing saved: a first start
    qtbot.addWidget(first)
    show_at(first, qtbot)
    assert first.document.config == get_preset("distill-k3s2").config
    assert first.tour.isVisible() and "What am I looking at?" in first.tour.text.text()
    assert first.tour.height() < 0.2 * first.height()  # one paragraph, not a wall of text
    assert (first.width(), first.height()) == (1280, 800)  # it still fits the screen
    settle(qtbot, first)
    first.tour.button.click()
    assert not first.tour.isVisible()
    first.actions["tour"].trigger()  # Help shows it again
    assert first.tour.isVisible()
    first.tour.button.click()
    first.close()
    again = MainWindow(settings=settings, restore=True)
    qtbot.addWidget(again)
    show_at(again, qtbot)
    assert not again.tour.isVisible() and again.document.config == get_preset("distill-k3s2").config
    again.close()


# ---------------------------------------------------------------------------------------------- Add 4
def test_add4_atlas_of_kernels_and_strides_click_applies(window, qtbot):
    from checkerlab.analytics import ConvTranspose2d

    show_at(window, qtbot)
    panel = window.atlas_panel
    window.editor.select_row(3)  # a ReLU: the atlas varies the convolution above it, layer 2
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.index == 2 and len(panel.grid.cells) == 32, timeout=30000)
    stack = window.document.config.stack
    for cell in panel.grid.cells:  # every cell is the exact tile of layers 0-1 + the varied layer 2
        k, s = cell.kernel, cell.stride
        op = min(1, s - 1)
        reference = Stack(list(stack[:2]) + [ConvTranspose2d(k, stride=s, padding=1, output_padding=op,
                                                             out_channels=8)])
        pattern = overlap_pattern(reference)
        np.testing.assert_array_equal(cell.tile, np.asarray(pattern.tile, dtype=float))
        assert cell.period == pattern.period
    assert panel.grid.current == (3, 2)
    cell = panel.grid.cell_rect(4, 2).center()  # click k=4, s=2
    from PySide6.QtTest import QTest

    QTest.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=cell)
    layer = window.document.config.stack[2]
    assert (layer.kernel_size, layer.stride, layer.output_padding) == ((4, 4), (2, 2), (1, 1))
    assert window.document.undo_stack.undoText() == "Atlas: layer 2 kernel 4, stride 2"
    qtbot.waitUntil(lambda: panel.grid.current == (4, 2), timeout=30000)
    window.document.undo_stack.undo()
    assert window.document.config.stack[2].kernel_size == (3, 3)


# ---------------------------------------------------------------------------------------------- Add 5
def test_add5_compare_two_stacks_on_the_same_input(window, qtbot):
    from checkerlab.analytics.presets import PRESETS
    from checkerlab.analytics.simulation import simulate_settings

    show_at(window, qtbot)
    panel, c = window.compare_panel, window.controller
    window.tabs.setCurrentWidget(panel)
    panel.choice.setCurrentIndex(panel.choice.findData("resize-conv"))
    panel.choice.activated.emit(panel.choice.currentIndex())
    b_stack = PRESETS["resize-conv"].config.stack
    qtbot.waitUntil(lambda: c.compare is not None and c.compare.config.stack == b_stack, timeout=30000)
    a_config = window.document.config
    assert c.compare.config.input_size == a_config.input_size and c.compare.config.simulation == a_config.simulation
    np.testing.assert_array_equal(panel.plots["B", "exact"].image.image,
                                  overlap_map(b_stack, a_config.input_size).astype(float))
    b_run = simulate_settings(b_stack, a_config.input_size, a_config.simulation)
    np.testing.assert_allclose(c.compare.simulation.arrays[-1], b_run.first.output, rtol=1e-5, atol=1e-7)
    rows = {panel.table.item(r, 0).text(): [panel.table.item(r, k).text() for k in (1, 2, 3)]
            for r in range(panel.table.rowCount())}
    assert rows["exact period"] == ["8×8", "1×1", "differ"]
    assert rows["exact contrast"] == ["25", "1", "× 1/25 ≈ 0.04"]
    assert rows["pattern"] == ["uneven", "even", "differ"]
    energy_b = b_run.artifact_energy[:, -1]
    assert rows["sim. energy"][1].startswith(f"{energy_b.mean():.3g}")
    exact_a, exact_b = overlap_map(a_config.stack, (32, 32)), overlap_map(b_stack, (32, 32))
    gap = np.max(np.abs(exact_a / exact_a.mean() - exact_b / exact_b.mean()))
    assert rows["map difference"][2] == f"{gap:.3g}"
    panel.use_current()  # B = A; then editing A compares the edit with the original
    window.editor.set_cell(0, "kernel", "4")
    settle(qtbot, window)
    qtbot.waitUntil(lambda: c.is_current("compare"), timeout=30000)
    assert c.compare.config.stack == a_config.stack and window.document.config.stack != a_config.stack
    window.tabs.setCurrentWidget(window.tile_panel)  # not shown: B is not computed on edits
    window.input_panel.seed.setValue(5)  # B runs with A's settings, so this makes B stale
    settle(qtbot, window)
    assert not c.is_current("compare") and c.compare.config.simulation.seed == 0


# ---------------------------------------------------------------------------------------------- Add 2
def test_add2_explanation_feeds_taps_footprints_and_scatter(window, qtbot):
    from checkerlab.app.gui.footprint import explain, footprints

    show_at(window, qtbot)
    panel, maps = window.explain_panel, window.maps
    config = window.document.config
    window.tabs.setCurrentWidget(panel)
    maps.select(3)  # after layer 2: the stack ConvT, ReLU, ConvT
    stack, pixel = config.stack[:3], (61, 38)
    window.hover.show(pixel)
    levels, taps = explain(stack, config.input_size, pixel)
    np.testing.assert_array_equal(panel.feeds.image.image, levels[0].weights().astype(float))
    count = overlap_map(stack, config.input_size)[pixel]
    assert panel.feeds.title.endswith(f"{count} paths")  # the paths add up to the overlap count
    assert [(t.index, t.rows, t.cols) for t in panel.taps.taps] == [(t.index, t.rows, t.cols) for t in taps]
    assert [t.index for t in taps] == [0, 2]
    maps.footprints.setChecked(True)
    window.hover.show(pixel)
    expected = footprints(stack, config.input_size, panel.sources())
    shown = [item.rect() for item in maps.exact_plot.outlines if item.isVisible()]
    assert [(r.top(), r.bottom() - 1, r.left(), r.right() - 1) for r in shown] == expected
    assert all(r.contains(pixel[1] + 0.5, pixel[0] + 0.5) for r in shown)  # every footprint covers the pixel
    window.hover.show(None)
    assert not any(item.isVisible() for item in maps.exact_plot.outlines)

    scatter = panel.scatter  # layer 2 is a ConvTranspose2d: its input is the exact map after layer 1
    assert scatter.source is not None and scatter.source.shape == (64, 64)
    scatter.speed.setValue(100)
    assert scatter.per_second == pytest.approx(1000)
    scatter.play.setChecked(True)
    assert scatter.timer.isActive()
    qtbot.waitUntil(lambda: scatter.done >= 100, timeout=10000)
    scatter.play.setChecked(False)
    scatter.step(scatter.source.size)  # the last frame is the layer's exact map
    np.testing.assert_array_equal(scatter.frame, overlap_map(stack, config.input_size))
    maps.select(2)  # a ReLU: nothing to scatter
    assert scatter.source is None and "ConvTranspose2d" in scatter.note.text()
