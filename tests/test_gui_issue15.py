"""Issue 15: one test per defect of the GUI review (each failed before its fix) and per addition."""

import pytest
from gui_harness import open_window, settle
from PySide6.QtCore import Qt

from checkerlab.analytics import Stack


@pytest.fixture
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path)


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
    layers = [window.simulation_panel.layer.itemText(i) for i in range(window.simulation_panel.layer.count())]
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
