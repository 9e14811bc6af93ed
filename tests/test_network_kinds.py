"""Every layer kind in the spec language and in stacks: spec and dict round trips, the stack engine's exact
pattern against the network engine and a brute-force count in PyTorch, and `simulate` against PyTorch."""

from dataclasses import fields

import numpy as np
import pytest

from checkerlab.analytics import CheckerlabError, Stack, overlap_map, overlap_pattern, parse_layers, simulate
from checkerlab.analytics.layers import LAYER_TYPES, layer_from_dict
from checkerlab.analytics.network import Network
from checkerlab.analytics.network_pattern import network_map, network_pattern

EXAMPLES = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1)", "Conv2d(3, padding=1, padding_mode='reflect')",
    "Upsample(2)", "Upsample(1.5, mode='bilinear')", "Upsample(size=(24, 20), mode='bicubic', align_corners=True)",
    "Upsample(3, mode='nearest-exact')", "PixelShuffle(2)", "PixelUnshuffle(2)", "ReLU()", "LeakyReLU(0.2)",
    "Tanh()", "Sigmoid()", "PReLU(num_parameters=4, init=0.1)", "ELU(alpha=0.5)", "SiLU()", "GELU(approximate='tanh')",
    "Hardtanh(min_val=-2.0, max_val=2.0)", "Hardswish()", "Hardsigmoid()", "Mish()", "Dropout(p=0.1)", "Identity()",
    "BatchNorm2d(eps=0.001)", "InstanceNorm2d(affine=True)", "GroupNorm(2)", "LayerNorm((4, 8, 8))",
    "ZeroPad2d((1, 2, 0, -1))", "ConstantPad2d(1, 0.5)", "ReflectionPad2d(2)", "ReplicationPad2d((1, 0, 2, 1))",
    "CircularPad2d(1)", "AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
    "MaxPool2d(3, stride=2, padding=1, dilation=1)", "AdaptiveAvgPool2d((4, 5))",
    "Upfirdn2d([1, 3, 3, 1], up=2, padding=(2, 1), gain=4.0, normalize=True)",
]


def test_every_kind_has_an_example():
    assert {parse_layers(e)[0].type for e in EXAMPLES} == set(LAYER_TYPES)


@pytest.mark.parametrize("text", EXAMPLES)
def test_every_kind_round_trips_through_spec_and_dict(text):
    (layer,) = parse_layers(text)
    assert parse_layers(layer.spec()) == [layer]
    assert layer_from_dict(layer.to_dict()) == layer
    assert Stack(str(Stack([layer]))) == Stack([layer])


STACKS = [
    "ConvTranspose2d(3, stride=2), ReflectionPad2d(1), Conv2d(3)",
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1), GroupNorm(1), SiLU(), AvgPool2d(2)",
    "Upsample(2, mode='bicubic'), Conv2d(3, padding=1, padding_mode='replicate')",
    "ConvTranspose2d(3, stride=2), Upfirdn2d([1, 3, 3, 1], padding=(1, 1, 1, 1), gain=4, normalize=True)",
    "ConvTranspose2d(3, stride=2), Upsample(1.5, mode='bilinear'), MaxPool2d(2)",
    "ConvTranspose2d(4, stride=2, padding=1), ReplicationPad2d((1, 0, 2, 1)), Conv2d(3, padding_mode='circular', "
    "padding=1)", "Upsample(3, mode='nearest-exact'), CircularPad2d(1), Conv2d(2), ZeroPad2d((1, -1, 0, 2))",
    "ConvTranspose2d(3, stride=2), AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
]


@pytest.mark.parametrize("spec", STACKS)
def test_stack_engine_equals_the_network_engine(spec):
    """Two engines, one rule: the stack's per-axis profiles and tile against the network's 2D propagation."""
    stack = Stack(spec)
    size = (13, 11)
    want = network_map(Network.from_stack(stack, (1, *size)))[0][1]
    got = overlap_map(stack, size)
    got = got.to_fractions() if hasattr(got, "to_fractions") else got
    np.testing.assert_array_equal(np.asarray(got, dtype=object), np.asarray(want, dtype=object))
    p, q = overlap_pattern(stack), network_pattern(Network.from_stack(stack, (1, 48, 48)))
    assert p.period == q.period
    tile = np.asarray(p.tile, dtype=object)
    scale = tile.flat[0] / q.tile.flat[0]
    assert all(a == b * scale for a, b in zip(tile.ravel(), q.tile.ravel(), strict=True))


def _torch_layer(torch, layer, c_in, params):
    """The torch.nn module of a checkerlab layer with its simulation params (weights) or torch's defaults."""
    from models.architectures import upfirdn2d

    nn = torch.nn
    kind = layer.type
    if kind in ("ConvTranspose2d", "Conv2d"):
        w, b = params
        c_out = layer.out_channels_for(c_in)
        kw = dict(stride=layer.stride, dilation=layer.dilation, groups=layer.groups, bias=b is not None)
        if kind == "Conv2d":
            m = nn.Conv2d(c_in, c_out, layer.kernel_size, padding=layer.padding, padding_mode=layer.padding_mode, **kw)
        else:
            m = nn.ConvTranspose2d(c_in, c_out, layer.kernel_size, padding=layer.padding,
                                   output_padding=layer.output_padding, **kw)
        m = m.double()
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(w))
            if b is not None:
                m.bias.copy_(torch.from_numpy(b))
        return m
    if kind == "Upfirdn2d":
        f = torch.from_numpy(layer.filter2d())
        (p0, p1), _ = ((layer.padding[0], layer.padding[1]), None) if isinstance(layer.padding, tuple) else \
            ((layer.padding, layer.padding), None)
        pads = layer.padding if isinstance(layer.padding, tuple) and len(layer.padding) == 4 else (p0, p1, p0, p1)
        return lambda x: upfirdn2d(x, f, up=layer.up, down=layer.down, pad=pads)
    if kind == "Upsample":
        sf = None if layer.scale_factor is None else tuple(float(s) for s in layer.scale_factor)
        return nn.Upsample(layer.size, sf, layer.mode, layer.align_corners)
    if kind in ("BatchNorm2d", "InstanceNorm2d"):
        return getattr(nn, kind)(c_in, eps=layer.eps, affine=layer.affine).double().eval()
    if kind == "GroupNorm":
        return nn.GroupNorm(layer.num_groups, c_in, eps=layer.eps).double()
    args = {f.name: getattr(layer, f.name) for f in fields(layer)}
    return getattr(nn, kind)(**args)


@pytest.mark.parametrize("spec", STACKS + ["Conv2d(3, padding=1, out_channels=4), BatchNorm2d(), ELU(), "
                                           "PixelUnshuffle(2), Hardswish(), PixelShuffle(2), Mish(), GELU()"])
def test_stacks_of_new_kinds_simulate_like_torch(spec):
    torch = pytest.importorskip("torch")
    stack = Stack(spec)
    x = np.random.default_rng(0).standard_normal((4, 14, 12))
    sim = simulate(stack, x, bias="random", dtype=np.float64)
    h, c = torch.from_numpy(x)[None], 4
    for layer, p in zip(stack, sim.params, strict=True):
        h = _torch_layer(torch, layer, c, p)(h)
        c = h.shape[1]
    np.testing.assert_allclose(sim.output, h[0].detach().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("spec", STACKS[:4])
def test_stack_maps_equal_a_brute_force_count_in_torch(spec):
    """The count network in PyTorch: all-ones kernels, zero bias, norms and activations skipped."""
    torch = pytest.importorskip("torch")
    stack = Stack(spec)
    size = (11, 9)
    h, c = torch.ones(1, 1, *size, dtype=torch.float64), 1
    for layer in stack:
        if layer.is_activation or layer.type in ("GroupNorm", "BatchNorm2d"):
            continue
        params = None
        if layer.type in ("ConvTranspose2d", "Conv2d"):
            w = np.ones((1, 1, *layer.kernel_size))
            params = (w, None)
        h = _torch_layer(torch, layer, c, params)(h)
    got = overlap_map(stack, size)
    got = got.to_fractions() if hasattr(got, "to_fractions") else got
    np.testing.assert_allclose(np.asarray(got, dtype=float), h[0, 0].detach().numpy(), rtol=1e-12)


def test_size_dependent_layers_need_an_input_size():
    stack = Stack("ConvTranspose2d(3, stride=2), Upsample(size=(40, 40), mode='bicubic')")
    with pytest.raises(CheckerlabError, match=r"layer 1 \(Upsample\).*depends on the input size; analyse it with"):
        overlap_pattern(stack)
    p = network_pattern(Network.from_stack(stack, (1, 15, 15)))  # 31 -> 40: a step of 31/40 on period 2
    assert p.period == (80, 80)  # q P / gcd(P, p) = 40 * 2 / gcd(2, 31)
    assert Stack(str(stack)).output_size((15, 15)) == (40, 40)
    with pytest.raises(CheckerlabError, match=r"layer 0 \(AdaptiveAvgPool2d\).*pools every position into one"):
        overlap_pattern("AdaptiveAvgPool2d(1)")
    with pytest.raises(CheckerlabError, match=r"reflection padding 3 must be smaller than the input length 2"):
        Stack("ReflectionPad2d(3)").output_size((2, 8))


def test_every_model_preset_has_the_same_pattern_in_both_engines_and_simulates():
    from checkerlab.analytics.presets import MODEL_PRESETS, get_preset

    for key, preset in MODEL_PRESETS.items():
        config = preset.config
        assert get_preset(key) is preset
        p = overlap_pattern(config.stack)
        net = Network.from_stack(config.stack, (1, config.simulation.in_channels, *config.input_size))
        q = network_pattern(net)
        assert p.period == q.period and p.is_even == q.is_even, key
        out = simulate(config.stack, np.ones((config.simulation.in_channels, *config.input_size))).output
        assert out.shape == net.output_shape[1:] and np.all(np.isfinite(out)), key


def test_closed_forms_cover_the_classic_kinds_and_refuse_the_rest_in_one_line():
    from checkerlab.analytics import closed_form, to_latex

    assert "H(z)" in to_latex(closed_form("ConvTranspose2d(3, stride=2), GroupNorm(1), SiLU(), Dropout()"))
    for spec in ("ConvTranspose2d(3, stride=2), ReflectionPad2d(1)", "Upsample(2, mode='bicubic')",
                 "Conv2d(3, padding=1, padding_mode='reflect')"):
        with pytest.raises(CheckerlabError, match=r"has no closed form yet .*its exact pattern is in analyze"):
            closed_form(spec)
