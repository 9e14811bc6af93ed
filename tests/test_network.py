"""The Network DAG and its exact pattern (torch-free): chains equal stacks, residual adds superpose, concats
keep channel groups, flat branches count nothing, and every check against an independent brute force."""

from fractions import Fraction

import naive_ops
import numpy as np
import pytest
from naive_overlap import brute_overlap_map

from checkerlab.analytics import CheckerlabError, Stack, overlap_pattern, simulate
from checkerlab.analytics.layers import Conv2d, ConvTranspose2d, Upsample
from checkerlab.analytics.layers.pool import AdaptiveAvgPool2d
from checkerlab.analytics.network import Network, Node
from checkerlab.analytics.network_pattern import MAX_TILE, network_map, network_pattern
from checkerlab.analytics.ops import Binary, Cat, Constant, Input, Reshape


def _net(input_shape, spec):
    """Nodes from [(name, op, inputs, params)]; shapes computed."""
    nodes = [Node("x", Input(), shape=input_shape)]
    for name, op, inputs, *params in spec:
        nodes.append(Node(name, op, tuple(inputs), params[0] if params else {}))
    return Network(nodes)


def _ones(layer, c_in):
    from checkerlab.analytics.network import layer_param_shapes

    return {k: np.ones(s, np.float32) for k, (s, req) in layer_param_shapes(layer, c_in).items() if req}


CHAINS = ["ConvTranspose2d(3, stride=2)", "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2",
          "ConvTranspose2d(3, stride=2) * 2, Conv2d(2)", "Upsample(2, mode='bilinear'), Conv2d(3, padding=1)",
          "Conv2d(3, padding=1, out_channels=8), PixelShuffle(2)", "ConvTranspose2d(5, stride=3, dilation=2)",
          "Conv2d(3, stride=2), ConvTranspose2d(4, stride=2, padding=1)"]


@pytest.mark.parametrize("spec", CHAINS)
def test_a_chain_network_has_the_stack_pattern(spec):
    stack = Stack(spec)
    want = overlap_pattern(stack)
    got = network_pattern(Network.from_stack(stack, (1, 40, 40)))
    tile = np.asarray(want.tile, dtype=object)
    g = np.gcd.reduce([int(v) for v in tile.ravel()]) if all(Fraction(v).denominator == 1 for v in tile.ravel()) \
        else None
    assert got.period == want.period
    if g:
        assert np.array_equal(got.tile, (tile // g).astype(np.int64))
    assert got.is_even == want.is_even
    assert got.contrast == want.contrast
    # the generic interior contains the all-ones interior
    for (gb, ga), (wb, wa) in zip(got.groups[0].edge, want.edge, strict=True):
        assert gb >= wb and ga >= wa


@pytest.mark.parametrize("spec", CHAINS[:4])
def test_a_chain_network_map_is_the_brute_force_map(spec):
    stack = Stack(spec)
    net = Network.from_stack(stack, (1, 7, 6))
    (channels, m), = network_map(net)
    assert np.array_equal(np.asarray(m, dtype=object), brute_overlap_map(stack.layers, (7, 6)))


def test_a_chain_network_runs_like_simulate():
    stack = Stack("ConvTranspose2d(3, stride=2, out_channels=4), ReLU(), Conv2d(3, padding=1, out_channels=2)")
    sim = simulate(stack, np.random.default_rng(0).standard_normal((3, 9, 9)))
    net = Network.from_stack(stack, (3, 9, 9), sim.params)
    y = net.forward(sim.input[None])
    np.testing.assert_allclose(y[0], sim.output, rtol=1e-6, atol=1e-6)


def _residual():
    up = ConvTranspose2d(3, 2, out_channels=2)
    conv = Conv2d(3, padding=1, out_channels=2)
    return _net((1, 1, 6, 6), [("up", up, ["x"], _ones(up, 1)), ("conv", conv, ["up"], _ones(conv, 2)),
                               ("sum", Binary("add"), ["conv", "up"])])


def test_a_residual_add_superposes_the_branches_exactly():
    """map(conv(up) + up) == brute(up, conv) + brute(up), channel by channel (the conv sums 2 channels)."""
    net = _residual()
    (channels, m), = network_map(net)
    up, conv = ConvTranspose2d(3, 2), Conv2d(3, padding=1)
    want = 2 * brute_overlap_map([up, conv], (6, 6)) + brute_overlap_map([up], (6, 6))
    assert channels == (0, 2)
    assert np.array_equal(np.asarray(m, dtype=object), want)


def test_a_residual_network_lists_both_paths_and_names_the_breaker():
    p = network_pattern(_residual())
    g, = p.groups
    assert sum(path.count for path in g.paths) == 2
    assert {path.nodes[1:] for path in g.paths} == {("up", "conv", "sum"), ("up", "sum")}
    assert p.worst_path.breaker == "up"
    assert "evenness breaks at node up" in p.verdict()
    # the superposed tile, by output phase: 2 * [4,5]x[4,5] of conv(up) (two channels summed) + [2,1]x[2,1] of up
    rows_conv, rows_up = np.array([4, 5]), np.array([2, 1])
    want = 2 * np.multiply.outer(rows_conv, rows_conv) + np.multiply.outer(rows_up, rows_up)
    assert np.array_equal(g.tile, want // np.gcd.reduce(want.ravel()))


def test_a_concat_keeps_channel_groups_until_a_conv_sums_them():
    near = Upsample(2)
    mix = Conv2d(1, out_channels=1)
    # padding=1, output_padding=1: the transposed conv gives 16 x 16 like the nearest upsampling
    up = ConvTranspose2d(3, 2, 1, 1, out_channels=1)
    net = _net((1, 1, 8, 8), [("up", up, ["x"], _ones(up, 1)), ("near", near, ["x"]), ("cat", Cat(1), ["up", "near"]),
                              ("mix", mix, ["cat"], _ones(Conv2d(1, out_channels=1), 2))])
    values = network_pattern(Network(net.nodes[:4]))
    assert [g.channels for g in values.groups] == [(0, 1), (1, 2)]
    assert values.groups[0].period == (2, 2) and values.groups[1].is_even
    (ch, m), = network_map(net)
    want = brute_overlap_map([ConvTranspose2d(3, 2, 1, 1)], (8, 8)) + brute_overlap_map([near], (8, 8))
    assert np.array_equal(np.asarray(m, dtype=object), want)


def test_flat_branches_are_biases_and_gains():
    """x * pool(x) keeps the pattern of x (a gain); x + constant keeps it (a bias); notes say why."""
    up = ConvTranspose2d(3, 2, out_channels=2)
    net = _net((1, 1, 6, 6), [("up", up, ["x"], _ones(up, 1)), ("pool", AdaptiveAvgPool2d(1), ["up"]),
                              ("gate", Binary("mul"), ["up", "pool"]),
                              ("c", Constant(), [], {"value": np.float64(3.0)}),
                              ("out", Binary("add"), ["gate", "c"])])
    p = network_pattern(net)
    alone = network_pattern(_net((1, 1, 6, 6), [("up", up, ["x"], _ones(up, 1))]))
    assert np.array_equal(p.groups[0].tile, alone.groups[0].tile)
    assert any("global pooling at pool" in n for n in p.notes)


def test_a_flat_output_and_a_lost_layout_are_said_plainly():
    net = _net((1, 2, 4, 4), [("pool", AdaptiveAvgPool2d(1), ["x"])])
    assert network_pattern(net).kind == "flat"
    net = _net((1, 2, 4, 4), [("r", Reshape((1, 4, 8)), ["x"])])  # mixes channels with rows
    p = network_pattern(net)
    assert p.kind == "unknown" and "mixes positions" in p.verdict()


def test_network_validation_gives_one_line_errors():
    conv = Conv2d(3, out_channels=2)
    with pytest.raises(CheckerlabError, match="reads 'y', which is not an earlier node"):
        _net((1, 1, 6, 6), [("a", conv, ["y"], _ones(conv, 1))])
    with pytest.raises(CheckerlabError, match="used twice"):
        _net((1, 1, 6, 6), [("x", conv, ["x"], _ones(conv, 1))])
    with pytest.raises(CheckerlabError, match=r"weight has shape \(2, 3, 3, 3\), expected \(2, 1, 3, 3\)"):
        _net((1, 1, 6, 6), [("a", conv, ["x"], {"weight": np.ones((2, 3, 3, 3))})])
    with pytest.raises(CheckerlabError, match="missing parameter 'weight'"):
        _net((1, 1, 6, 6), [("a", conv, ["x"], {})])
    with pytest.raises(CheckerlabError, match="cannot reshape"):
        _net((1, 1, 6, 6), [("a", Reshape((1, 7, 5)), ["x"])])
    with pytest.raises(CheckerlabError, match="input must have shape"):
        _residual().forward(np.zeros((1, 2, 6, 6), np.float32))


def test_tiles_have_a_budget():
    stack = Stack("ConvTranspose2d(3, stride=2)")
    net = Network.from_stack(Stack(list(stack) * 1), (1, 4, 4))
    assert network_pattern(net).period == (2, 2)
    assert MAX_TILE >= 1 << 16


def test_the_layer_list_indents_branches():
    """The longest path is depth 0; a side branch (here a 1x1 projection added back) is indented."""
    up = ConvTranspose2d(3, 2, out_channels=2)
    conv = Conv2d(3, padding=1, out_channels=2)
    side = Conv2d(1, out_channels=2)
    net = _net((1, 1, 6, 6), [("up", up, ["x"], _ones(up, 1)), ("a", conv, ["up"], _ones(conv, 2)),
                              ("b", conv, ["a"], _ones(conv, 2)), ("proj", side, ["up"], _ones(side, 2)),
                              ("c", Constant(), [], {"value": np.float64(0.5)}),
                              ("scaled", Binary("mul"), ["proj", "c"]), ("sum", Binary("add"), ["b", "scaled"])])
    rows = {n.name: d for d, n in net.layer_list()}
    assert [rows[k] for k in ("x", "up", "a", "b", "sum")] == [0] * 5
    assert rows["proj"] == rows["scaled"] == 1 and rows["c"] == 2  # the constant branches off the branch
    assert net["c"].label == "constant 0.5"


def test_the_attention_op_runs_the_fused_kernel():
    """ops.Attention (heads broadcast, bool and float masks, causal, scale) equals the float64 definition."""
    from checkerlab.analytics import ops

    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 50, 8)), rng.standard_normal((1, 3, 90, 8)), rng.standard_normal((2, 1, 90, 5))
    mask = rng.random((50, 90)) > 0.3
    mask[4] = False  # a fully masked query row
    bias = rng.standard_normal((3, 50, 90))
    for xs, causal, scale in [((q, k, v), False, None), ((q, k, v, mask), False, 0.3), ((q, k, v, bias), False, None),
                              ((q, q, v[..., :50, :]), True, None)]:
        got = ops.Attention(scale, causal).forward(list(xs), {})
        want = naive_ops.scaled_dot_product_attention(*xs[:3], *xs[3:], is_causal=causal, scale=scale)
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert not ops.Attention().forward([q, k, v, mask], {})[:, :, 4].any()
    with pytest.raises(CheckerlabError, match="mask"):
        ops.Attention().infer_shape([q.shape, k.shape, v.shape, (50, 91)], {})


def test_multiplying_or_dividing_by_one_is_the_input_itself():
    """x / 1.0 and x * 1 (diffusers' residual `(x + h) / output_scale_factor`) return x without a pass; any other
    constant, a dtype change or a broadcast computes."""
    x = np.array([[1.5, -0.0, np.nan, np.inf]], np.float32)
    for fn in ("mul", "div"):
        assert Binary(fn).forward([x, np.asarray(1.0)], {}) is x
        y = Binary(fn).forward([x, np.asarray(2.0)], {})
        np.testing.assert_array_equal(y, x * 2 if fn == "mul" else x / 2)
        assert Binary(fn).forward([x, np.ones((2, 1))], {}).shape == (2, 4)
        assert Binary(fn).forward([x.astype(np.float64), np.asarray(1.0)], {}).dtype == np.float64
    assert Binary("add").forward([x, np.asarray(0.0)], {}) is not x  # -0.0 + 0 is +0.0
