"""Layer model: PyTorch shape rules, validation messages, spec round trip."""

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerlab.analytics import (
    CheckerlabError,
    Conv2d,
    ConvTranspose2d,
    LayerError,
    LeakyReLU,
    PixelShuffle,
    ReLU,
    Sigmoid,
    SpecError,
    Stack,
    Tanh,
    Upsample,
    parse_layers,
)
from checkerlab.analytics.layers import layer_from_dict, make_layer

# ---------------------------------------------------------------- output sizes match PyTorch


def test_output_sizes_follow_pytorch_formulas():
    s = Stack("ConvTranspose2d((3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2)),"
              " Conv2d(3, stride=2, padding=1), Upsample((2, 3)), PixelShuffle(2), Conv2d(4, padding='same')")
    h, w = 7, 5
    h, w = (h - 1) * 2 - 2 + 2 + 1 + 1, (w - 1) * 3 - 0 + 6 + 2 + 1
    h, w = (h + 2 - 2 - 1) // 2 + 1, (w + 2 - 2 - 1) // 2 + 1
    h, w = h * 2 * 2, w * 3 * 2
    assert s.output_size((7, 5)) == (h, w)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3), st.integers(1, 12))
def test_sizes_against_torch(k, s, p, d, n):
    torch = pytest.importorskip("torch")
    op = min(s, d) - 1 if max(s, d) > 1 else 0
    layer = ConvTranspose2d(k, stride=s, padding=p, output_padding=op, dilation=d)
    try:
        ours = Stack([layer]).output_size(n)
    except LayerError:
        ours = None
    try:
        y = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, n, n), torch.ones(1, 1, k, k), stride=s,
                                                 padding=p, output_padding=op, dilation=d)
        theirs = tuple(y.shape[2:]) if y.numel() else None  # torch returns an empty tensor; we refuse
    except RuntimeError:
        theirs = None
    assert ours == theirs
    conv = Conv2d(k, stride=s, padding=p, dilation=d)
    try:
        ours = Stack([conv]).output_size(n)
    except LayerError:
        ours = None
    try:
        theirs = tuple(torch.nn.functional.conv2d(torch.ones(1, 1, n, n), torch.ones(1, 1, k, k), stride=s,
                                                  padding=p, dilation=d).shape[2:])
    except RuntimeError:
        theirs = None
    assert ours == theirs


def test_shapes_track_channels():
    s = Stack("ConvTranspose2d(4, stride=2, padding=1, out_channels=16), ReLU(), Conv2d(3, padding=1, "
              "out_channels=12), PixelShuffle(2), Conv2d(1)")
    assert s.shapes((3, 8, 8)) == [(3, 8, 8), (16, 16, 16), (16, 16, 16), (12, 16, 16), (3, 32, 32), (3, 32, 32)]


# ---------------------------------------------------------------- every validation message

LAYER_ERRORS = [
    (lambda: ConvTranspose2d(0),
     r"^ConvTranspose2d: kernel_size=0 is out of range: must be an integer in 1\.\.1048576$"),
    (lambda: ConvTranspose2d(3, stride=0), r"stride=0 is out of range: must be an integer in 1\.\.1048576"),
    (lambda: ConvTranspose2d(3, padding=-1), r"padding=-1 is out of range: must be an integer in 0\.\.1048576"),
    (lambda: ConvTranspose2d(3, dilation=(1, 0)), r"dilation\[1\]=0 is out of range"),
    (lambda: ConvTranspose2d(2.5), r"kernel_size=2.5 must be an integer in 1\.\.1048576"),
    (lambda: ConvTranspose2d(True), r"kernel_size=True must be an integer in 1\.\.1048576"),
    (lambda: ConvTranspose2d((3, 3, 3)), r"kernel_size=\(3, 3, 3\) must be an int or an \(h, w\) pair"),
    (lambda: ConvTranspose2d(3, stride=2, output_padding=2),
     r"output_padding=2 must be smaller than stride \(2\) or dilation \(1\): allowed 0\.\.1"),
    (lambda: ConvTranspose2d(3, stride=1, output_padding=1), r"output_padding=1 must be smaller than stride \(1\)"),
    (lambda: ConvTranspose2d(3, out_channels=0), r"out_channels=0 is out of range: must be an integer in 1\.\.1048576"),
    (lambda: ConvTranspose2d(3, groups=0), r"groups=0 is out of range"),
    (lambda: ConvTranspose2d(3, out_channels=6, groups=4), r"out_channels=6 must be divisible by groups=4"),
    (lambda: ConvTranspose2d(3, bias="yes"), r"bias='yes' must be True or False"),
    (lambda: ConvTranspose2d(sympy.Symbol("k", integer=False)), r"kernel_size=k must be an integer symbol"),
    (lambda: Conv2d(3, padding="full"), r"padding='full' must be an int in 0\.\.1048576, a pair, 'same' or 'valid'"),
    (lambda: Conv2d(3, stride=2, padding="same"), r"padding='same' needs stride=1 \(got stride=2\)"),
    (lambda: Upsample(1 / 3), r"scale_factor=0\.333+ is not a ratio of small integers"),
    (lambda: Upsample((2, 2, 2)), r"scale_factor=\(2, 2, 2\) must be a number or an \(h, w\) pair"),
    (lambda: Upsample(0), r"scale_factor=0 is out of range: must be a positive finite number"),
    (lambda: Upsample(2, mode="trilinear"), r"mode='trilinear' is not supported: use one of 'nearest', "),
    (lambda: Upsample(2, align_corners=False), r"align_corners only applies to mode='bilinear'"),
    (lambda: Upsample(2, align_corners=True), r"align_corners only applies to mode='bilinear' or 'bicubic'"),
    (lambda: PixelShuffle(0), r"upscale_factor=0 is out of range"),
    (lambda: LeakyReLU("x"), r"negative_slope='x' must be a finite real number"),
    (lambda: make_layer("Conv3d", kernel_size=3),
     r"^Conv3d: unknown layer type; did you mean Conv2d\? allowed: ConvTranspose2d, Conv2d"),
    (lambda: make_layer("Conv2d", kernel_size=3, foo=1), r"unexpected keyword 'foo'; allowed: kernel_size"),
    (lambda: make_layer("Conv2d"), r"^Conv2d: kernel_size is required \(e\.g\. Conv2d\(3\)\)$"),
    (lambda: ConvTranspose2d("3"), r"kernel_size='3' must be an integer in 1\.\.1048576"),
    (lambda: ConvTranspose2d(3, padding="same"), r"padding='same' must be an integer in 0\.\.1048576"),
    (lambda: ConvTranspose2d(3, stride=2**63), r"stride=9223372036854775808 is out of range: must be an integer in"),
    (lambda: ConvTranspose2d(10**5000), r"kernel_size=<an integer of 16,610 bits> is out of range"),
    (lambda: PixelShuffle(10**9), r"upscale_factor=1000000000 is out of range: must be an integer in 1\.\.1048576"),
    (lambda: Upsample(2, mode="bilinear", align_corners="yes"), r"align_corners='yes' must be None, True or False"),
    (lambda: LeakyReLU(float("inf")), r"negative_slope=inf must be a finite real number"),
    (lambda: LeakyReLU(10**400), r"negative_slope=1000.*000 must be a finite real number"),
    (lambda: make_layer(["Conv2d"]), r"^\['Conv2d'\]: unknown layer type"),
    (lambda: layer_from_dict({"kernel_size": 3}), r"a layer object needs a 'type'"),
]


@pytest.mark.parametrize("make, message", LAYER_ERRORS)
def test_layer_validation_messages(make, message):
    with pytest.raises(LayerError, match=message):
        make()


STACK_ERRORS = [
    (lambda: Stack([ConvTranspose2d(3), 3]), CheckerlabError, r"^layer 1: expected a layer .* got int"),
    (lambda: Stack("Conv2d(5)").output_size(3), LayerError,
     r"^layer 0 \(Conv2d\): output would be empty: length 3 -> 0 along H; use a larger input_size$"),
    (lambda: Stack("ReLU(), Conv2d(3, stride=2)").output_size((5, 2)), LayerError,
     r"^layer 1 \(Conv2d\): output would be empty: length 2 -> 0 along W"),
    (lambda: Stack("ConvTranspose2d(8, stride=8) * 3").output_size(64), LayerError,
     r"^layer 2 \(ConvTranspose2d\): output 32768x32768 \(1,073,741,824 pixels\) exceeds the memory budget"),
    (lambda: Stack("PixelShuffle(2)").shapes((3, 4, 4)), LayerError,
     r"^layer 0 \(PixelShuffle\): needs input channels divisible by upscale_factor\^2 = 4, got 3"),
    (lambda: Stack("ReLU(), Conv2d(3, groups=2, out_channels=4)").shapes((3, 8, 8)), LayerError,
     r"^layer 1 \(Conv2d\): groups=2 must divide in_channels \(3\) and out_channels \(4\)"),
    (lambda: Stack("ConvTranspose2d(3, stride=4, out_channels=4096) * 2").shapes((3, 32, 32)), LayerError,
     r"^layer 1 \(ConvTranspose2d\): activation 4096x.* exceeds the memory budget"),
    (lambda: Stack("ReLU()").output_size((0, 3)), CheckerlabError, r"input_size=\(0, 3\) must be a positive int"),
    (lambda: Stack("ReLU()").output_size("big"), CheckerlabError, r"input_size='big'"),
]


@pytest.mark.parametrize("make, kind, message", STACK_ERRORS)
def test_stack_validation_messages(make, kind, message):
    with pytest.raises(kind, match=message):
        make()


SPEC_ERRORS = [
    ("", r"empty layer list"),
    ("ConvTranspose2d(3,", r"syntax error: .*\(at column \d+\)"),
    ("Foo(3)", r"^layer 0: unknown layer 'Foo'; allowed: ConvTranspose2d.*\(at column 1\)$"),
    ("ReLU(), ConvT(k)", r"^'k' is not a literal value .*\(at column 15\)$"),
    ("ConvT(3, 2, 1, 1, 1, 0, 1, True, 1, 'zeros', 9)",
     r"layer 0 \(ConvTranspose2d\): takes at most 10 positional arguments"),
    ("ConvT(3, 2, 1, 0, 1, 9)", r"layer 0 \(ConvTranspose2d\): stride=0 is out of range"),  # PyTorch's order
    ("ConvT(3, **opts)", r"\*\*kwargs are not supported"),
    ("ConvT(3, kernel_size=4)", r"kernel_size given twice"),
    ("nn.ConvTranspose2d(3, 8, 3, padding_mode='reflect')",
     r"^layer 0 \(ConvTranspose2d\): padding_mode='reflect' is not supported by ConvTranspose2d"),
    ("nn.Upsample(64, 2)", r"^layer 0 \(Upsample\): give exactly one of size and scale_factor"),
    ("nn.UpsamplingBilinear2d(scale_factor=2, align_corners=False)",
     r"UpsamplingBilinear2d has align_corners=True \(use Upsample for another\)"),
    ("ReLU() * 1.5", r"a repeat `layer \* n` needs an integer n"),
    ("ReLU() * 5000", r"a repeat `layer \* n` needs an integer n in 1\.\.1000"),
    ("Foo(1) * 0", r"a repeat `layer \* n` needs an integer n in 1\.\.1000"),
    ("ReLU() * 1000 * 1000", r"the number of layers would be 1,000,000, over the budget of 4,096"),
    ("ReLU(), 3", r"expected a layer such as ConvTranspose2d\(3, stride=2\), got '3'"),
    ("ReLU(), ConvT(3, stride=0)", r"^layer 1 \(ConvTranspose2d\): stride=0 is out of range"),
]


@pytest.mark.parametrize("text, message", SPEC_ERRORS)
def test_spec_error_messages(text, message):
    with pytest.raises(CheckerlabError, match=message):
        parse_layers(text)


# ---------------------------------------------------------------- spec and dict round trips


def test_pytorch_spelling_and_aliases():
    torch_style = parse_layers("nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), "
                               "nn.ReLU(inplace=True), nn.Upsample(scale_factor=2, mode='nearest'))")
    assert torch_style == [ConvTranspose2d(4, stride=2, padding=1, out_channels=32, bias=False), ReLU(),
                           Upsample(2)]
    assert parse_layers("deconv(3, 2), conv(3, padding=1), up(2), ps(2), lrelu(0.2), tanh(), sigmoid()") == [
        ConvTranspose2d(3, stride=2), Conv2d(3, padding=1), Upsample(2), PixelShuffle(2), LeakyReLU(0.2), Tanh(),
        Sigmoid()]
    assert parse_layers("3 * ConvT(3, 2)") == [ConvTranspose2d(3, stride=2)] * 3


layer_strategy = st.one_of(
    st.builds(lambda k, s, p, d, c, b: ConvTranspose2d(k, stride=s, padding=p, dilation=d, out_channels=c, bias=b),
              st.one_of(st.integers(1, 7), st.tuples(st.integers(1, 7), st.integers(1, 7))), st.integers(1, 4),
              st.integers(0, 3), st.integers(1, 3), st.none() | st.integers(1, 64), st.booleans()),
    st.builds(lambda k, s, p: Conv2d(k, stride=s, padding=p), st.integers(1, 7), st.integers(1, 3),
              st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)), st.just("valid"))),
    st.builds(Upsample, st.integers(1, 4), st.sampled_from(["nearest", "bilinear"])),
    st.builds(PixelShuffle, st.integers(1, 4)),
    st.builds(LeakyReLU, st.floats(-2, 2, allow_nan=False)),
    st.sampled_from([ReLU(), Tanh(), Sigmoid()]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=6))
def test_spec_and_dict_round_trip(layers):
    stack = Stack(layers)
    assert Stack(str(stack)) == stack
    assert [layer_from_dict(layer.to_dict()) for layer in stack] == layers


def test_repeats_collapse_when_printed():
    s = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, Conv2d(3, padding=1)")
    assert str(s) == "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, Conv2d(3, padding=1)"
    assert len(s) == 4 and isinstance(s[1:], Stack) and s[0] == s[2]


def test_symbolic_parameters_are_accepted():
    k, s = sympy.symbols("k s", integer=True, positive=True)
    layer = ConvTranspose2d(k, stride=s, padding=1)
    assert layer.kernel_size == (k, k) and layer.axis_op(0).kernel == k
    n = sympy.Symbol("n")
    assert sympy.simplify(layer.axis_op(0).output_length(n) - ((n - 1) * s + k - 2)) == 0
    assert np.array_equal(ConvTranspose2d(sympy.Integer(3)).kernel_size, (3, 3))


# ---------------------------------------------------------------- the PyTorch positional trap (issue 10 item 7)

TORCH_READINGS = [
    # pasted PyTorch code, every spelling: bare, nn., torch.nn., aliases, Sequential; -> the layer PyTorch builds
    ("ConvTranspose2d(64, 32, 4, 2, 1)", ConvTranspose2d(4, stride=2, padding=1, out_channels=32)),
    ("nn.ConvTranspose2d(64, 32, 4, 2, 1)", ConvTranspose2d(4, stride=2, padding=1, out_channels=32)),
    ("torch.nn.ConvTranspose2d(64, 32, 4, 2, 1)", ConvTranspose2d(4, stride=2, padding=1, out_channels=32)),
    ("Deconv(64, 32, 4, 2, 1)", ConvTranspose2d(4, stride=2, padding=1, out_channels=32)),
    ("convt(512, 256, 4, 2, 1, 0, 1, False)", ConvTranspose2d(4, stride=2, padding=1, out_channels=256, bias=False)),
    ("nn.Sequential(ConvTranspose2d(100, 512, 4, 1, 0, bias=False))", ConvTranspose2d(4, out_channels=512,
                                                                                         bias=False)),
    ("ConvTranspose2d(64, 3, kernel_size=4, stride=2, padding=1)",
     ConvTranspose2d(4, stride=2, padding=1, out_channels=3)),
    ("ConvTranspose2d(3, 64, 4, 2, 1)", ConvTranspose2d(4, stride=2, padding=1, out_channels=64)),  # 64 > 16
    ("Conv2d(64, 64, 3, padding=1)", Conv2d(3, padding=1, out_channels=64)),  # short form: padding twice
    ("conv(3, 64, 3, 1, 1)", Conv2d(3, padding=1, out_channels=64)),  # 5 positionals: more than the short form
    ("Conv2d(256, 128, 1)", Conv2d(1, out_channels=128)),
    ("ConvTranspose2d(32, 16, 2, 2)", ConvTranspose2d(2, stride=2, out_channels=16)),
    ("Conv2d(3, 8, 3, 1, 1, 1, 1, True, 'zeros')", Conv2d(3, padding=1, out_channels=8)),
    # the short form keeps its meaning where PyTorch's order cannot apply
    ("ConvTranspose2d(3, 2)", ConvTranspose2d(3, stride=2)),
    ("ConvT(4, stride=2, padding=1)", ConvTranspose2d(4, stride=2, padding=1)),
    ("Conv2d(3, padding=1, in_channels=8)", Conv2d(3, padding=1)),
]


@pytest.mark.parametrize("text, layer", TORCH_READINGS)
def test_pasted_pytorch_code_is_read_in_pytorch_order(text, layer):
    assert parse_layers(text) == [layer]


@pytest.mark.parametrize("text, short, torch_reading", [
    ("ConvTranspose2d(4, 2, 1)", "ConvTranspose2d(4, stride=2, padding=1)", "ConvTranspose2d(1, out_channels=2)"),
    ("ConvTranspose2d(16, 8, 4)", "ConvTranspose2d(16, stride=8, padding=4)", "ConvTranspose2d(4, out_channels=8)"),
    ("Deconv(8, 4, 4, 2, 1)", "ConvTranspose2d(8, stride=4, padding=4, output_padding=2)",
     "ConvTranspose2d(4, stride=2, padding=1, out_channels=4)"),
    ("conv(3, 8, 3, 1)", "Conv2d(3, stride=8, padding=3)", "Conv2d(3, out_channels=8)"),
])
def test_ambiguous_positionals_are_refused_with_both_readings(text, short, torch_reading):
    with pytest.raises(SpecError) as info:
        parse_layers(text)
    message = str(info.value)
    assert "ambiguous positionals" in message and len(message) <= 280
    assert f"{short} (short form)" in message and f"{torch_reading} with in_channels=" in message
    assert parse_layers(short) != parse_layers(torch_reading)  # the two readings really differ


def test_pytorch_prefix_needs_pytorch_arguments():
    with pytest.raises(SpecError, match=r"nn\.ConvTranspose2d takes \(in_channels, out_channels, kernel_size"):
        parse_layers("nn.ConvTranspose2d(3, stride=2)")
    with pytest.raises(SpecError, match=r"PyTorch's order needs in_channels, out_channels and kernel_size"):
        parse_layers("nn.Conv2d(3, kernel_size=3)")


# ---------------------------------------------------------------- hostile spec text


@pytest.mark.parametrize("text, message", [
    ("ReLU()\ud800", r"invalid character U\+D800, a lone surrogate"),
    ("ReLU()\x07", r"invalid character U\+0007, a control character"),
    ("ConvT(" + "9" * 4301 + ")", r"an integer literal has more than 4,300 digits"),
    ("ConvT(" + "-" * 5000 + "3)", r"nested too deeply"),
    ("ReLU()" + " *1" * 5000, r"nested too deeply|nesting depth"),
    ("x" * 100_001, r"the spec's length in characters would be 100,001, over the budget of 100,000"),
    ("ConvT(" + "9" * 4000 + ")", r"kernel_size=<an integer of 13,288 bits> is out of range"),
    ("Upsample(2, mode='\\d' * 3)", r"is not a literal value"),
])
def test_hostile_text_gives_one_short_line(text, message):
    with pytest.raises(CheckerlabError, match=message) as info:
        parse_layers(text)
    assert len(str(info.value)) <= 200 and "\n" not in str(info.value)


def test_parsing_never_warns():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckerlabError):
            parse_layers("Upsample(2, mode='\\d')")
        with pytest.raises(CheckerlabError):
            parse_layers("ReLU() is 1")


def test_excerpt_keeps_echoes_short_and_printable():
    from checkerlab.analytics.errors import excerpt

    assert excerpt("abc") == "'abc'"
    long = excerpt("a" * 1000)
    assert len(long) == 40 and "…" in long and long.startswith("'aaa") and long.endswith("aaa'")
    assert excerpt("\udcff\n") == "'\\udcff\\n'"
    assert excerpt(10**5000) == "<an integer of 16,610 bits>"
    assert len(excerpt(list(range(10**4)))) == 40
