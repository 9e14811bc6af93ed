"""The stack editor's Qt-free model: cell parsing, row <-> layer conversion and located validation."""

import pytest

from checkerlab.analytics import Config, SimulationSettings, Stack
from checkerlab.analytics.layers import make_layer
from checkerlab.app.gui.state import (
    CellError,
    Row,
    State,
    new_row,
    parse_activation,
    parse_int_pair,
    rows_from_stack,
    state_from_config,
    validate,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("3, 5", (3, 5)),
        ("(3,5)", (3, 5)),
        ("[3, 5]", (3, 5)),
        ("3x5", (3, 5)),
        ("-1", -1),
        ("same", "same"),
    ],
)
def test_parse_int_pair(text, value):
    assert parse_int_pair(text, "padding", allow=("same", "valid")) == value


@pytest.mark.parametrize("text", ["", "3.5", "a", "1,2,3", "same"])
def test_parse_int_pair_refuses(text):
    with pytest.raises(CellError, match="must be an integer or an \\(h, w\\) pair"):
        parse_int_pair(text, "kernel_size")


def test_parse_activation():
    assert parse_activation("") is None and parse_activation("—") is None
    assert parse_activation("relu") == {"type": "ReLU"}
    assert parse_activation("LeakyReLU(0.1)") == {"type": "LeakyReLU", "negative_slope": 0.1}
    assert parse_activation("lrelu(negative_slope=0.3)") == {"type": "LeakyReLU", "negative_slope": 0.3}
    with pytest.raises(CellError, match="Tanh takes no argument"):
        parse_activation("Tanh(2)")
    with pytest.raises(CellError, match="slope 'x' must be a number"):
        parse_activation("LeakyReLU(x)")


def test_changing_the_type_keeps_what_applies_and_fills_defaults():
    row = new_row("ConvTranspose2d")
    conv = row.with_cell("type", "Conv2d")
    assert (conv.kernel, conv.stride, conv.padding, conv.output_padding) == ("3", "2", "1", "")
    assert conv.uid == row.uid  # the same layer, edited
    up = conv.with_cell("type", "Upsample (bilinear)")
    assert up.stride == "2" and not up.applies("kernel") and not up.applies("groups")
    act = up.with_cell("type", "leakyrelu(0.1)")
    assert (act.type, act.slope, act.cell("type")) == ("LeakyReLU", "0.1", "LeakyReLU(0.1)")
    assert not act.applies("stride") and act.with_cell("type", "LeakyReLU(0.3)").slope == "0.3"
    assert row.copy() == row and row.copy().uid != row.uid


def test_one_row_per_layer_with_every_parameter():
    stack = Stack(
        "ReLU(), ConvTranspose2d(4, stride=2, padding=1, groups=2, bias=False, out_channels=4), "
        "Tanh(), Sigmoid(), Conv2d(3, padding='same'), LeakyReLU(0.2), PixelShuffle(2), "
        "Upsample(2, mode='bilinear')"
    )
    rows = rows_from_stack(stack)
    assert [r.type for r in rows] == [
        "ReLU", "ConvTranspose2d", "Tanh", "Sigmoid", "Conv2d", "LeakyReLU", "PixelShuffle", "Upsample (bilinear)",
    ]
    assert (rows[1].groups, rows[1].bias, rows[1].channels) == ("2", "False", "4")
    assert rows[5].cell("type") == "LeakyReLU(0.2)"
    v = validate(State(rows, (8, 8), SimulationSettings(in_channels=4)))
    assert v.ok and v.config.stack == stack


def test_groups_and_bias_are_editable():
    state = State((new_row("ConvTranspose2d"),), (8, 8), SimulationSettings(in_channels=4))
    row = state.rows[0].with_cell("groups", "2").with_cell("bias", "False").with_cell("channels", "6")
    layer = validate(state.with_row(0, row)).config.stack[0]
    assert (layer.groups, layer.bias, layer.out_channels) == (2, False, 6)
    bad = validate(state.with_row(0, row.with_cell("groups", "4")))
    assert not bad.ok and "must be divisible by groups=4" in bad.errors[(0, "groups")]
    assert bad.message.startswith("layer 0 (ConvTranspose2d): ")
    assert "must be True or False" in validate(state.with_row(0, row.with_cell("bias", "maybe"))).errors[(0, "bias")]


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (
            Row("ConvTranspose2d", kernel="3", stride="2", output_padding="2"),
            "output_padding",
            "must be smaller",
        ),
        (Row("Conv2d", kernel="3", stride="2", padding="same"), "padding", "padding='same' needs stride=1"),
        (Row("Upsample", stride="0"), "stride", "scale_factor=0 is out of range"),
        (Row("PixelShuffle", stride="two"), "stride", "upscale_factor='two' must be an integer"),
        (Row("Swish"), "type", "unknown layer type 'Swish'"),
        (Row("ConvTranspose2d", kernel="3", groups="x"), "groups", "groups='x' must be a positive integer"),
    ],
)
def test_validation_locates_the_cell_by_layer_index(row, column, fragment):
    v = validate(State((new_row(), row), (8, 8)))
    assert not v.ok and fragment in v.errors[(1, column)]
    assert v.message.startswith(f"layer 1 ({row.type}): ")  # the form of analytics' LayerError messages


def test_stack_level_errors_are_located_by_layer_index():
    state = State((new_row(), Row("PixelShuffle", stride="2")), (8, 8), SimulationSettings(in_channels=3))
    v = validate(state)  # 3 channels are not divisible by 4
    assert not v.ok and "divisible by upscale_factor^2 = 4" in v.errors[(1, "stride")]
    assert v.message == "layer 1 (PixelShuffle): " + v.errors[(1, "stride")]
    assert validate(State((), (8, 8))).message == "the stack is empty: add a layer"


def test_row_identity_survives_edits_and_finds_its_index():
    state = state_from_config(Config("ConvTranspose2d(3, stride=2), ReLU(), Conv2d(3)"))
    uid = state.rows[1].uid
    moved = state.with_rows((state.rows[2], state.rows[0], state.rows[1].with_cell("type", "Tanh")))
    assert moved.index_of(uid) == 2 and state.index_of(uid) == 1 and moved.index_of(-1) is None


def test_state_from_config_keeps_everything():
    config = Config(
        "ConvTranspose2d((3, 5), stride=(2, 3), dilation=2)",
        (9, 7),
        SimulationSettings(input="noise", seed=3, draws=2),
    )
    state = state_from_config(config)
    assert state.rows[0].kernel == "3, 5" and state.rows[0].stride == "2, 3"
    assert validate(state).config == config


def load_config_text(text: str) -> Config:
    import json

    from checkerlab.analytics.config import config_from_dict

    return config_from_dict(json.loads(text))


SPEC_LAYERS = ["GroupNorm(4)", "SiLU()", "ReflectionPad2d(1)", "Upsample(2, mode='bicubic')",
               "Conv2d(3, padding=1, padding_mode='reflect')", "Upfirdn2d((1, 3, 3, 1), up=2)", "Upfirdn2d((1.0,))",
               "Upfirdn2d((1, 1, 2))", "MaxPool2d(2)",
               "LeakyReLU(0.20000000298023224)", "BatchNorm2d()", "PixelUnshuffle(2)"]


@pytest.mark.parametrize("spec", SPEC_LAYERS)
def test_every_layer_kind_has_an_editor_row_that_gives_it_back(spec):
    """Issue 12 in the editor: a kind the columns cannot say becomes a row holding its spec; every layer
    comes back exactly (a Conv2d with padding_mode or a bicubic Upsample must not lose its argument)."""
    from checkerlab.analytics import parse_layers
    from checkerlab.app.gui.state import row_from_layer

    layer = parse_layers(spec)[0]
    stack = Stack([make_layer("Conv2d", kernel_size=1, out_channels=8), layer])
    state = state_from_config(Config(stack, (16, 16)))
    config = validate(state).config
    assert config.stack == stack
    assert load_config_text(config.to_json()).stack == stack  # what the session and the background process send
    row = row_from_layer(layer)
    assert (row.spec != "") == (layer.type not in ("Conv2d", "Upsample", "PixelShuffle", "LeakyReLU") or
                                "padding_mode" in spec or "bicubic" in spec or "0.2000" in spec)
    if row.spec:
        assert row.cell("type") == layer.spec() and not row.applies("kernel")


def test_typing_a_layer_spec_into_the_type_cell():
    row = new_row("ConvTranspose2d").with_cell("type", "GroupNorm(2)")
    assert row.type == "GroupNorm" and row.spec == "GroupNorm(2)" and not row.applies("stride")
    again = row.with_cell("type", "Conv2d")  # back to a column row: the columns get their defaults
    assert again.spec == "" and again.type == "Conv2d" and again.kernel == "3" and again.uid == row.uid
    bad = new_row().with_cell("type", "GroupNorm(")
    result = validate(State((bad,), (8, 8)))
    assert result.config is None and "layer 0" in result.message and result.errors.keys() == {(0, "type")}
