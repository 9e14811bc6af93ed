"""The GUI with the analytics that landed after it: ONNX models as DAGs (the Network tab: indented layer list,
paths, the per-layer checkerboard report), File › Open of every target the CLI takes (load_target), the
Studies tab (run off the GUI thread with progress and cancel, figure, numbers, files), and the tile summary's
artifact count."""

import numpy as np
import pytest
from gui_harness import open_window, settle

from checkerlab.analytics import Config, Stack, overlap_pattern

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path)


def window_on(qtbot, tmp_path, config):
    """A window on `config`, settled (the generator's shutdown runs when the test's qtbot closes it)."""
    gen = open_window(qtbot, tmp_path, config)
    return next(gen)


def residual_onnx(path):
    """x (1, 2, 8, 8) -> ConvTranspose(k3, s2, p1, op1) + nearest x2 -> y: two paths, one uneven, one even."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["t"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 1]),
             helper.make_node("Resize", ["x", "", "scales"], ["u"], mode="nearest"),
             helper.make_node("Add", ["t", "u"], ["y"])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 16, 16])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_opening_an_onnx_model_shows_its_dag_paths_and_report(window, qtbot, tmp_path):
    from checkerlab.analytics.network_pattern import network_pattern
    from checkerlab.analytics.onnx_import import from_onnx
    from checkerlab.analytics.report import checkerboard_report

    path = residual_onnx(tmp_path / "residual.onnx")
    assert window.file_actions.open_config(str(path))
    panel = window.network_panel
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20000)
    assert window.tabs.currentWidget() is panel
    net = from_onnx(path)
    # the layer list: every node, the branch indented one level below the line it leaves
    texts = [panel.layers.item(r).text() for r in range(panel.layers.count())]
    assert len(texts) == len(net)
    for (depth, node), text in zip(net.layer_list(), texts, strict=True):
        assert text == "    " * depth + f"{node.name}: {node.label}"
    assert {d for d, _ in net.layer_list()} == {0, 1}
    # the paths: the worst first, the uneven one through the transposed conv
    pattern = network_pattern(net)
    paths = [p for g in pattern.groups for p in g.paths]
    assert panel.path.count() == len(paths) == 2
    worst = panel.paths[0]
    assert worst.contrast == max(p.contrast for p in paths) > 1
    assert any(net[n].op.type == "ConvTranspose2d" for n in panel.chosen_nodes() if hasattr(net[n].op, "type"))
    bold = {name for name, row in panel.rows.items() if panel.layers.item(row).font().bold()}
    assert bold == set(worst.nodes)
    # the per-layer report: its rows and verdict
    report = checkerboard_report(net)
    assert panel.report.rowCount() == len(report.rows)
    assert [panel.report.item(r, 1).text() for r in range(len(report.rows))] == [r.role for r in report.rows]
    (k, up), = [(k, r) for k, r in enumerate(report.rows) if r.phase_gain is not None]  # the transposed conv
    gains = up.phase_gain  # (C, 2, 2): the sums of the polyphase sub-kernels, checked here by hand
    w = np.asarray(net[up.node].params["weight"], np.float64).sum(axis=0)  # (C_out, 3, 3), input channels summed
    taps = [[1], [0, 2]]  # k=3, s=2, p=1: phase 0 takes tap 1, phase 1 taps 0 and 2
    for a in range(2):
        for b in range(2):
            np.testing.assert_allclose(gains[:, a, b], w[:, taps[a]][:, :, taps[b]].sum(axis=(1, 2)), rtol=1e-9)
    tip = panel.report.item(k, 3).toolTip()
    assert tip.startswith("<pre>") and f"{gains[0, 0, 0]:9.3g}" in tip and f"{gains[1, 1, 1]:9.3g}" in tip
    assert panel.verdict.toPlainText() == pattern.verdict() + "\n\n" + report.verdict()
    # picking the path puts its layers into the editor: every view shows that path's exact pattern
    panel.choose_path()
    config = window.document.config
    assert config.input_size == (8, 8) and config.simulation.in_channels == 2
    assert [layer.type for layer in config.stack] == ["ConvTranspose2d"]
    settle(qtbot, window)
    assert window.controller.analytic.pattern.period == overlap_pattern(config.stack).period == worst.period
    assert window.controller.analytic.pattern.contrast == worst.contrast


def test_a_bad_model_file_is_one_line_and_the_last_model_stays(window, qtbot, tmp_path):
    good = residual_onnx(tmp_path / "good.onnx")
    window.file_actions.open_config(str(good))
    panel = window.network_panel
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20000)
    shown = panel.result
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is no protobuf" * 10)
    window.file_actions.open_config(str(bad))
    qtbot.waitUntil(lambda: "bad.onnx:" in window.statusBar().currentMessage(), timeout=20000)
    message = window.statusBar().currentMessage()
    assert "\n" not in message and len(message) <= 320
    assert panel.result is shown and panel.layers.count() == len(shown.network)


def test_dropping_an_onnx_file_opens_it(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    path = residual_onnx(tmp_path / "dropped.onnx")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.network_panel.result is not None, timeout=20000)
    assert window.network_panel.result.source == "dropped.onnx"


@pytest.mark.parametrize("target", ["dcgan-k3s2", "ConvTranspose2d(4, stride=2), ReLU()"])
def test_open_takes_what_the_cli_takes(window, qtbot, tmp_path, target):
    from checkerlab.analytics import load_target, save_config

    assert window.file_actions.open_config(target)
    assert window.document.config.stack == load_target(target).stack
    config = Config(Stack("ConvTranspose2d(5, stride=3)"), (20, 24))
    save_config(config, tmp_path / "c.json")
    assert window.file_actions.open_config(str(tmp_path / "c.json"))
    assert window.document.config.stack == config.stack and window.document.config.input_size == (20, 24)
    assert not window.file_actions.open_config("NoSuchLayer(3)")  # one line, nothing changes
    assert window.document.config.stack == config.stack
    assert "NoSuchLayer" in window.statusBar().currentMessage()


def test_a_study_runs_off_the_gui_thread_with_its_figure_numbers_and_files(window, qtbot, tmp_path):
    from checkerlab.analytics import studies
    from checkerlab.analytics.presentation.studies import study_table

    window.run_study("overlap-rule")
    panel = window.studies_panel
    assert window.tabs.currentWidget() is panel and not panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    expected = studies.run("overlap-rule")
    assert panel.result.rows == expected.rows and panel.result.verdict == expected.verdict
    assert panel.table.toPlainText() == study_table(expected)
    assert panel.figure.pixmap() is not None and not panel.figure.pixmap().isNull()
    paths = panel.save(str(tmp_path / "out"))
    assert sorted(p.name for p in paths) == sorted(f"{expected.study}.{x}" for x in ("csv", "json", "png", "svg"))
    assert all(p.stat().st_size > 0 for p in paths)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Studies")
    assert [a.text() for a in menu.actions()] == list(studies.NAMES)
    assert [a.toolTip() for a in menu.actions()] == [studies.claim(n) for n in studies.NAMES]


def test_a_monte_carlo_study_reports_progress_and_can_be_cancelled(window, qtbot):
    panel = window.studies_panel
    panel.select("smoothing")
    panel.draws.setValue(4096)
    shown = panel.result
    panel.run()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=60000)
    assert panel.result is shown  # nothing half-done is shown
    assert "cancelled" in window.statusBar().currentMessage()


def test_the_tile_summary_counts_every_artifact(qtbot, tmp_path):
    config = Config(Stack("ConvTranspose2d(3, stride=2), ConvTranspose2d(3, stride=2), "
                          "ConvTranspose2d(3, stride=2), ConvTranspose2d(3, stride=2)"), (16, 16))
    w = window_on(qtbot, tmp_path, config)
    pattern = overlap_pattern(config.stack)
    assert pattern.artifact_count > 3
    listed = min(3, len(pattern.artifact_frequencies))
    assert f"+{pattern.artifact_count - listed} more" in w.tile_panel.summary.text()


def test_a_layer_without_interior_says_so(qtbot, tmp_path):
    config = Config(Stack("ConvTranspose2d(7, stride=2)"), (2, 2))
    w = window_on(qtbot, tmp_path, config)
    if overlap_pattern(config.stack, config.input_size).has_interior:
        pytest.fail("the test needs a stack without interior at this size")
    assert "No interior at this input size" in w.tile_panel.summary.text()


@pytest.mark.parametrize("key", ["dcgan-bn", "pix2pix-resnet-up", "sd-vae-up", "stylegan2-blur", "edsr-up",
                                 "unet-maxpool"])
def test_every_model_preset_opens_in_the_window(window, qtbot, key):
    """The upsampling paths of real models (norms, reflection pads, pools, the FIR blur) in both halves."""
    from checkerlab.analytics.presets import MODEL_PRESETS
    from checkerlab.analytics.simulation import simulate_settings

    assert key in MODEL_PRESETS
    combo = window.presets.combo
    assert combo.findData(key) > 0
    window.load_preset(key)
    settle(qtbot, window)
    config = MODEL_PRESETS[key].config
    assert window.document.config.stack == config.stack
    assert window.controller.analytic.pattern.period == overlap_pattern(config.stack).period
    want = simulate_settings(config.stack, config.input_size, config.simulation.__class__(
        **{**config.simulation.__dict__, "draws": 1})).first.output
    np.testing.assert_allclose(window.controller.simulation.arrays[-1], want, rtol=1e-6, atol=1e-7)
    assert key in window.presets.note.text() or MODEL_PRESETS[key].title in window.presets.note.text()


def test_gui_command_with_a_bad_model_is_one_line_and_exit_2(tmp_path, capsys):
    from checkerlab.app.cli import main

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["gui", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.onnx" in err and len(err) <= 300
    assert not (tmp_path / "x.png").exists()


def test_gui_command_screenshots_a_model(tmp_path):
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    path = residual_onnx(tmp_path / "m.onnx")
    out = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "checkerlab.app.cli", "gui", str(path), "--screenshot", str(out),
                             "--size", "1280x800"], capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800) and "partial" not in result.stderr
