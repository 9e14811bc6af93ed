"""The simulation: forward pass against a slow NumPy reference and PyTorch (built from `.params`), the
all-ones network against `overlap_map`, weight inits, determinism, Monte Carlo progress and cancellation."""

import numpy as np
import pytest
from naive_network import network_forward

from checkerlab.analytics import (
    Cancelled,
    CheckerlabError,
    LayerError,
    Simulation,
    SimulationSettings,
    Stack,
    make_input,
    monte_carlo,
    overlap_map,
    simulate,
)
from checkerlab.analytics.layers import Conv2d, ConvTranspose2d, LeakyReLU, PixelShuffle, Upsample
from checkerlab.analytics.simulation import simulate_settings
from checkerlab.analytics.weights import bilinear_kernel, init_params

# The slow reference: tests/naive_network.py runs the stack on the NumPy kernel references.

STACKS = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=4), ReLU(), "
    "ConvTranspose2d(3, stride=2, out_channels=2)",
    "ConvTranspose2d((4, 3), stride=(2, 3), padding=(1, 0), dilation=(1, 2), out_channels=4, groups=2), "
    "Tanh()",
    "ConvTranspose2d(5, stride=3, padding=2, output_padding=2, bias=False, out_channels=3), Sigmoid()",
    "Upsample(2), Conv2d(3, padding=1, out_channels=5), LeakyReLU(0.2)",
    "Upsample((2, 3), mode='bilinear'), Conv2d((2, 3), padding='same', out_channels=2)",
    "Conv2d(3, padding=1, out_channels=8), PixelShuffle(2), Conv2d(3, stride=2, dilation=2, padding=2)",
    "Conv2d(3, padding='valid', out_channels=4, groups=2), ConvTranspose2d(2, stride=2, groups=4)",
]


@pytest.mark.parametrize("spec", STACKS)
@pytest.mark.parametrize("init, bias", [("kaiming_uniform", "random"), ("normal", "constant")])
def test_forward_matches_the_numpy_reference(spec, init, bias):
    x = np.random.default_rng(0).standard_normal((2, 5, 6))
    sim = simulate(spec, x, init=init, bias=bias, bias_value=-0.3, seed=4, dtype=np.float64)
    ref = network_forward(sim.stack, x, sim.params)
    assert len(sim.activations) == len(sim.stack)
    for got, want in zip(sim.activations, ref, strict=True):
        assert got.shape == want.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert sim.output is sim.activations[-1]


def torch_network(stack, params, c_in):
    """torch.nn.Sequential rebuilt from the stack and `.params` alone (the PyTorch-layout claim)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    modules = []
    for layer, p in zip(stack, params, strict=True):
        if isinstance(layer, (ConvTranspose2d, Conv2d)):
            w, b = (torch.from_numpy(np.asarray(a)) if a is not None else None for a in p)
            c_out = layer.out_channels_for(c_in)
            if isinstance(layer, ConvTranspose2d):
                m = nn.ConvTranspose2d(c_in, c_out, layer.kernel_size, layer.stride, layer.padding,
                                       layer.output_padding, layer.groups, b is not None, layer.dilation)
            else:
                m = nn.Conv2d(c_in, c_out, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                              layer.groups, b is not None)
            assert tuple(m.weight.shape) == tuple(w.shape)
            with torch.no_grad():
                m.weight.copy_(w)
                if b is not None:
                    m.bias.copy_(b)
        elif isinstance(layer, Upsample):
            m = nn.Upsample(scale_factor=layer.scale_factor, mode=layer.mode,
                            align_corners=False if layer.mode == "bilinear" else None)
        elif isinstance(layer, PixelShuffle):
            m = nn.PixelShuffle(layer.upscale_factor)
        elif isinstance(layer, LeakyReLU):
            m = nn.LeakyReLU(layer.negative_slope)
        else:
            m = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid}[layer.type]()
        modules.append(m)
        c_in = layer.out_channels_for(c_in)
    return nn.Sequential(*modules)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("spec", STACKS + ["(ConvTranspose2d(3, stride=2, padding=1, output_padding=1, "
                                           "out_channels=8), ReLU()) * 4"])
def test_params_rebuild_the_same_network_in_pytorch(spec):
    torch = pytest.importorskip("torch")
    x = make_input("natural", (9, 8), channels=4, seed=2)
    sim = simulate(spec, x, bias="random", seed=11)
    net = torch_network(sim.stack, sim.params, 4)
    with torch.no_grad():
        want = net(torch.from_numpy(x)[None])[0].numpy()
    assert want.shape == sim.output.shape
    np.testing.assert_allclose(sim.output, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max()))


ONES_STACKS = [
    "ConvTranspose2d(3, stride=2)",
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, ReLU()",
    "ConvTranspose2d((5, 4), stride=(3, 2), dilation=(1, 2)), ConvTranspose2d(3, stride=2), Conv2d(3)",
    "ConvTranspose2d(3, stride=2), ConvTranspose2d(3, stride=2), Conv2d(2, padding=1), Tanh()",
    "Upsample(2), Conv2d(3, padding=1), ConvTranspose2d(1, stride=2)",
    "Upsample(2, mode='bilinear'), ConvTranspose2d(4, stride=2, padding=1), "
    "Conv2d(3, stride=2, padding='valid')",
    "Conv2d(3, padding=1, out_channels=4), PixelShuffle(2), ConvTranspose2d(3, stride=2, out_channels=1)",
]


@pytest.mark.parametrize("spec", ONES_STACKS)
def test_ones_weights_zero_bias_ones_image_is_the_overlap_map(spec):
    """Activations are ignored by the overlap map; with all-ones weights every pre-activation is >= 0, so ReLU
    is the identity; Tanh is not, so the map is compared before it."""
    stack = Stack(spec)
    linear = stack[:-1] if stack[-1].type == "Tanh" else stack
    sim = simulate(stack, np.ones((1, 7, 6)), init="ones", bias="zero", dtype=np.float64)
    expected = overlap_map(linear, (7, 6))
    ones_channels = sim.activations[len(linear) - 1]
    assert ones_channels.shape[0] == 1
    if expected.dtype == object:  # bilinear weights: exact Fractions, compared after rounding once
        expected = np.vectorize(float)(expected)
        np.testing.assert_allclose(ones_channels[0], expected, rtol=1e-13)
    else:
        np.testing.assert_array_equal(ones_channels[0], expected)


def test_ones_weights_sum_the_channels():
    """Each weighted layer with all-ones kernels sums its C_in/groups input channels: the output is the
    overlap map times the product of those counts; PixelShuffle moves r^2 identical channels."""
    spec = ("ConvTranspose2d(3, stride=2, out_channels=4), Conv2d(3, padding=1, out_channels=8, groups=2), "
            "PixelShuffle(2), ConvTranspose2d(2, stride=2, out_channels=5)")
    sim = simulate(spec, np.ones((3, 6, 5)), init="ones")
    expected = overlap_map(spec, (6, 5)) * 3 * (4 // 2) * 2
    assert sim.output.shape == (5, *expected.shape)
    for channel in sim.output:
        np.testing.assert_array_equal(channel, expected)


def test_a_brightness_scales_the_ones_network():
    sim = simulate("ConvTranspose2d(3, stride=2) * 2", make_input("constant", 8, channels=1, brightness=0.5),
                   init="ones")
    np.testing.assert_array_equal(sim.output[0], 0.5 * overlap_map("ConvTranspose2d(3, stride=2) * 2", 8))


def test_same_seed_same_network_other_seed_other_network():
    spec = "ConvTranspose2d(3, stride=2, out_channels=4), ReLU(), Conv2d(3, padding=1, out_channels=2)"
    x = make_input("noise", 8, seed=1)
    for init in ("kaiming_uniform", "uniform", "normal", "icnr"):
        a = simulate(spec, x, init=init, bias="random", seed=5)
        b = simulate(spec, x, init=init, bias="random", seed=5)
        c = simulate(spec, x, init=init, bias="random", seed=6)
        np.testing.assert_array_equal(a.output, b.output)
        for pa, pb in zip(a.params, b.params, strict=True):
            assert (pa is None) == (pb is None)
            if pa is not None:
                np.testing.assert_array_equal(pa[0], pb[0])
                np.testing.assert_array_equal(pa[1], pb[1])
        assert not np.array_equal(a.output, c.output)


def test_params_layout_and_pytorch_default_bounds():
    torch = pytest.importorskip("torch")
    spec = ("ConvTranspose2d((3, 5), stride=2, out_channels=6, groups=3), "
            "Conv2d(3, out_channels=4, groups=2), Conv2d(1, bias=False), ReLU(), Upsample(2)")
    stack = Stack(spec)
    params = init_params(stack, 9, "kaiming_uniform", "random", seed=0, dtype=np.float64)
    shapes = [(9, 2, 3, 5), (4, 3, 3, 3), (4, 4, 1, 1)]
    for (w, b), shape, c_out in zip(params[:3], shapes, (6, 4, None), strict=True):
        assert w.shape == shape and w.dtype == np.float64
        fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
        if c_out is None:
            assert b is None
        else:
            assert b.shape == (c_out,) and np.abs(b).max() <= bound
    assert params[3] is None and params[4] is None


def test_simple_inits_and_bias_kinds():
    stack = Stack("ConvTranspose2d(3, stride=2, out_channels=64)")
    (w, b), = init_params(stack, 64, "uniform", "constant", bias_value=0.25, seed=0)
    assert w.dtype == np.float32 and 0 <= w.min() and w.max() < 1 and abs(w.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(b, np.full(64, 0.25, np.float32))
    (w, b), = init_params(stack, 64, "normal", "zero", seed=0)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    np.testing.assert_array_equal(b, np.zeros(64))
    (w, b), = init_params(stack, 64, "ones", "zero", seed=0)
    assert np.all(w == 1)


def test_icnr_makes_the_sub_pixel_kernels_equal():
    """Aitken et al. 2017: the conv feeding PixelShuffle(r) repeats each filter r^2 times, so on a constant
    input its sub-pixel phases agree and the shuffled output is flat in the interior."""
    spec = ("Conv2d(3, padding=1, out_channels=8), Tanh(), Conv2d(3, padding=1, out_channels=12), "
            "PixelShuffle(2)")
    x = make_input("constant", 12, channels=3)
    icnr = simulate(spec, x, init="icnr", bias="random", seed=3)
    w, b = icnr.params[2]
    for k in range(4):
        np.testing.assert_array_equal(w[k::4], w[0::4])
        np.testing.assert_array_equal(b[k::4], b[0::4])
    first = icnr.params[0][0]  # not before a PixelShuffle: kaiming_uniform, no repetition
    assert not np.array_equal(first[0], first[1])
    plain = simulate(spec, x, init="kaiming_uniform", bias="random", seed=3)
    out, m_icnr, m_plain = icnr.output, icnr.metrics[-1], plain.metrics[-1]
    interior = out[:, 4:-4, 4:-4]
    np.testing.assert_allclose(interior, np.broadcast_to(interior[:, :1, :1], interior.shape), atol=1e-6)
    assert m_icnr.artifact_energy < 1e-10 < 1e-3 < m_plain.artifact_energy


def test_bilinear_init_is_bilinear_upsampling_in_the_interior():
    """The FCN kernel k=4, s=2, p=1 (per channel) equals Upsample(2, mode='bilinear') away from the border."""
    np.testing.assert_allclose(bilinear_kernel((4, 4)), np.multiply.outer(*[[0.25, 0.75, 0.75, 0.25]] * 2))
    x = make_input("natural", 10, channels=3, seed=1, dtype=np.float64)
    for groups in (1, 3):
        spec = f"ConvTranspose2d(4, stride=2, padding=1, groups={groups})"
        deconv = simulate(spec, x, init="bilinear", dtype=np.float64)
        up = simulate("Upsample(2, mode='bilinear')", x, dtype=np.float64)
        np.testing.assert_allclose(deconv.output[:, 1:-1, 1:-1], up.output[:, 1:-1, 1:-1], atol=1e-12)
    w = simulate("ConvTranspose2d(4, stride=2, padding=1, out_channels=5)", x, init="bilinear").params[0][0]
    for o in range(5):  # output o reads input o mod 3 only
        assert [c for c in range(3) if w[c, o].any()] == [o % 3]
    other = simulate("Conv2d(3, out_channels=2)", x, init="bilinear", seed=1).params[0][0]
    np.testing.assert_array_equal(other, simulate("Conv2d(3, out_channels=2)", x, seed=1).params[0][0])


def test_monte_carlo_progress_first_draw_and_statistics():
    spec = "ConvTranspose2d(3, stride=2, out_channels=3), ReLU(), ConvTranspose2d(4, stride=2, padding=1)"
    x = make_input("natural", 12, seed=0)
    calls = []
    mc = monte_carlo(spec, x, draws=4, seed=10, bias="random", progress=lambda d, n: calls.append((d, n)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert isinstance(mc.first, Simulation) and mc.draws == 4
    np.testing.assert_array_equal(mc.first.output, simulate(spec, x, seed=10, bias="random").output)
    sims = [simulate(spec, x, seed=10 + d, bias="random") for d in range(4)]
    for i, stats in enumerate(mc.layers):
        energies = [s.metrics[i].artifact_energy for s in sims]
        assert stats.energy_mean == pytest.approx(np.mean(energies), rel=1e-12)
        assert stats.energy_std == pytest.approx(np.std(energies), rel=1e-9, abs=1e-15)
        tiles = [s.metrics[i].tile for s in sims]
        np.testing.assert_allclose(stats.tile_mean, np.mean(tiles, axis=0), rtol=1e-12)
        assert stats.modulation_mean == pytest.approx(np.mean([s.metrics[i].modulation for s in sims]))
    assert mc.layers[2].energy_std > 0  # draws differ


def test_monte_carlo_cancel_stops_between_draws():
    calls = []
    with pytest.raises(Cancelled):
        monte_carlo("ConvTranspose2d(3, stride=2)", np.ones((1, 8, 8)), draws=10,
                    progress=lambda d, n: calls.append(d), cancel=lambda: len(calls) >= 3)
    assert calls == [1, 2, 3]
    assert issubclass(Cancelled, Exception)


def test_simulate_settings_builds_the_input_and_runs_the_draws():
    settings = SimulationSettings(input="gradient", brightness=2.0, in_channels=2, init="normal",
                                  bias="constant", bias_value=0.5, seed=3, draws=2)
    mc = simulate_settings("ConvTranspose2d(3, stride=2)", (6, 7), settings)
    assert mc.draws == 2 and mc.first.input.shape == (2, 6, 7) and mc.first.input.max() == pytest.approx(2.0)
    np.testing.assert_array_equal(mc.first.params[0][1], [0.5, 0.5])
    image = np.random.default_rng(0).random((3, 20, 20))
    settings = SimulationSettings(input="image", image_path="x.png", in_channels=3)
    mc = simulate_settings("Upsample(2)", 10, settings, image=image)
    np.testing.assert_allclose(mc.first.input, image.reshape(3, 10, 2, 10, 2).mean(axis=(2, 4)), rtol=1e-6)
    with pytest.raises(CheckerlabError, match="needs an image"):
        simulate_settings("Upsample(2)", 10, SimulationSettings(input="image", image_path="x.png"))


def test_float64_and_empty_and_bad_arguments():
    sim = simulate(Stack([]), np.ones((2, 3)))
    assert sim.output.shape == (1, 2, 3) and sim.activations == [] and sim.metrics == []
    with pytest.raises(LayerError, match="layer 1 .*PixelShuffle"):
        simulate("ConvTranspose2d(3, stride=2, out_channels=3), PixelShuffle(2)", np.ones((1, 4, 4)))
    with pytest.raises(CheckerlabError, match="init"):
        simulate("Upsample(2)", np.ones((1, 4, 4)), init="xavier")
    with pytest.raises(CheckerlabError, match="bias"):
        simulate("Upsample(2)", np.ones((1, 4, 4)), bias="big")
    with pytest.raises(CheckerlabError, match="dtype"):
        simulate("Upsample(2)", np.ones((1, 4, 4)), dtype=np.float16)
    with pytest.raises(CheckerlabError, match="shape"):
        simulate("Upsample(2)", np.ones((1, 1, 4, 4)))
    with pytest.raises(CheckerlabError, match="NaN"):
        simulate("Upsample(2)", np.full((1, 4, 4), np.nan))
    with pytest.raises(CheckerlabError, match="draws"):
        monte_carlo("Upsample(2)", np.ones((1, 4, 4)), draws=0)
    with pytest.raises(LayerError, match="memory budget"):
        simulate("ConvTranspose2d(3, stride=2, out_channels=4096)", np.ones((1, 256, 256)))



def test_analytics_simulate_is_the_function_even_after_importing_the_submodule():
    import checkerlab.analytics.simulation  # noqa: F401
    from checkerlab import analytics

    sim = analytics.simulate("Upsample(2)", np.ones((1, 2, 2)))
    assert isinstance(sim, Simulation) and sim.output.shape == (1, 4, 4)


def test_cli_simulate_prints_metrics_next_to_the_exact_pattern(tmp_path, capsys):
    import json

    from checkerlab.app.cli import main

    out = tmp_path / "out.npy"
    spec = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2, ReLU()"
    args = ["--input-size", "12", "12", "--init", "ones", "--draws", "2", "--out", str(out), "--json"]
    assert main(["simulate", spec, *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output_shape"] == [3, 48, 48] and report["draws"] == 2
    last = report["layers"][-1]
    assert last["contrast"]["mean"] == pytest.approx(9.0) and last["exact"]["contrast"] == "9"
    assert last["artifact_energy"]["mean"] == pytest.approx(last["exact"]["artifact_energy"], rel=1e-6)
    assert np.load(out).shape == (3, 48, 48)
    assert main(["simulate", "Upsample(2)", "--input", "noise", "--bias", "random"]) == 0
    assert "ReLU" not in capsys.readouterr().out
    assert main(["simulate", "Upsample(2)", "--draws", "0"]) == 2
    assert main(["simulate", "Upsample(2)", "--input", "image"]) == 2


def test_an_activation_after_a_conv_runs_in_the_conv_and_keeps_both_outputs(monkeypatch):
    """No separate activation pass: the kernels' standalone activation is never called for conv + ReLU, yet
    every layer's output is there (the conv's own from return_preactivation)."""
    from checkerlab import kernels

    spec = "ConvTranspose2d(3, stride=2, out_channels=3), ReLU(), Conv2d(3, padding=1), LeakyReLU(0.1), Tanh()"
    x = np.random.default_rng(1).standard_normal((2, 6, 5))
    reference = simulate(spec, x, bias="random", seed=2, dtype=np.float64)
    calls = []
    original = kernels.activations.apply
    monkeypatch.setattr(kernels.activations, "apply", lambda act, a: calls.append(act.name) or original(act, a))
    sim = simulate(spec, x, bias="random", seed=2, dtype=np.float64)
    assert calls == ["tanh"]  # the activation that follows another activation, not a conv
    ref = network_forward(sim.stack, x, sim.params)
    for got, want, same in zip(sim.activations, ref, reference.activations, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(got, same)


def test_memory_budget_counts_all_live_activations(monkeypatch):
    """Every tensor is small, but together they exceed the budget: the layer that crosses it is named."""
    from checkerlab.analytics import simulation

    spec = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=4), ReLU()"
    x = np.ones((1, 16, 16), np.float32)
    # input 1x16x16, then 4x32x32 twice: 1024 + 16384 + 16384 bytes in float32
    monkeypatch.setattr(simulation, "MAX_LIVE_BYTES", 1024 + 16384 + 16000)
    with pytest.raises(LayerError, match=r"layer 1 \(ReLU\).*33,792 bytes.*memory budget of 33,408 bytes"):
        simulate(spec, x)
    assert simulation.live_bytes([(1, 16, 16), (4, 32, 32), (4, 32, 32)], 4) == 33792
    simulate(spec, x[:, :8, :8])  # a quarter of it fits
    # Monte Carlo holds one set per worker: it runs fewer workers when the budget says so ...
    monkeypatch.setattr(simulation, "MAX_LIVE_BYTES", 40000)
    mc = monte_carlo(spec, x, draws=3, workers=2, bias="random")
    assert mc.draws == 3
    # ... and refuses when not even one fits
    with pytest.raises(LayerError, match="memory budget"):
        monte_carlo(spec, np.ones((1, 32, 32), np.float32), draws=3)


def test_monte_carlo_workers_share_the_callers_threads_and_give_the_same_result(monkeypatch):
    from checkerlab.analytics import simulation
    from checkerlab.kernels import threads

    spec = "ConvTranspose2d(3, stride=2, out_channels=3), ReLU(), ConvTranspose2d(4, stride=2, padding=1)"
    x = make_input("natural", 12, seed=0)
    seen = []
    original = simulation.simulate

    def spy(*args, **kwargs):
        seen.append(threads.num_threads())  # what the draw's kernels may use
        return original(*args, **kwargs)

    monkeypatch.setattr(simulation, "simulate", spy)
    caller = threads.num_threads()
    serial = monte_carlo(spec, x, draws=5, seed=3, bias="random", workers=1)
    assert seen == [caller] * 5
    seen.clear()
    parallel = monte_carlo(spec, x, draws=5, seed=3, bias="random", workers=2)
    assert seen == [max(1, caller // 2)] * 5  # workers x threads <= the caller's threads
    with threads.limited(1):  # a caller limited to one thread gets one worker
        seen.clear()
        monte_carlo(spec, x, draws=3, seed=3, bias="random")
        assert seen == [1] * 3
    for a in ("contrast", "modulation", "artifact_energy"):
        np.testing.assert_array_equal(getattr(serial, a), getattr(parallel, a))
    for t1, t2 in zip(serial.tile_sum, parallel.tile_sum, strict=True):
        np.testing.assert_array_equal(t1, t2)  # reduced in draw order
    np.testing.assert_array_equal(serial.first.output, parallel.first.output)


@pytest.mark.parametrize("seed, message", [(-1, r"seed=-1 must be an integer in 0\.\.9223372036854775807"),
                                           ("3", r"seed='3' must be an integer"), (1.5, r"seed=1\.5 must be"),
                                           (True, r"seed=True must be"), (2**64, r"seed=18446744073709551616")])
def test_seed_is_validated(seed, message):
    with pytest.raises(CheckerlabError, match=message):
        simulate("Upsample(2)", np.ones((1, 4, 4)), seed=seed)
    with pytest.raises(CheckerlabError, match=message):
        monte_carlo("Upsample(2)", np.ones((1, 4, 4)), draws=2, seed=seed)


def test_a_number_as_bias_is_a_constant_bias():
    x = np.ones((2, 5, 5))
    a = simulate("ConvTranspose2d(3, stride=2, out_channels=3)", x, bias=0.25, seed=3)
    b = simulate("ConvTranspose2d(3, stride=2, out_channels=3)", x, bias="constant", bias_value=0.25, seed=3)
    assert np.array_equal(a.output, b.output) and a.params[0][1].tolist() == [0.25] * 3
    with pytest.raises(CheckerlabError, match=r"bias_value=nan must be a finite number"):
        simulate("Upsample(2)", x, bias=float("nan"))


def test_work_budget_before_any_weight_is_drawn(monkeypatch):
    monkeypatch.setattr("checkerlab.analytics.simulation.init_params", lambda *a, **k: pytest.fail("weights drawn"))
    with pytest.raises(CheckerlabError, match=r"the simulation's work \(multiply-adds, all draws\) would be "
                                              r".* over the budget of 34,359,738,368; use a smaller input"):
        simulate("Conv2d(3, padding=1, out_channels=4096) * 3", np.ones((3, 32, 32)))
    with pytest.raises(CheckerlabError, match=r"the simulation's work"):
        monte_carlo("ConvTranspose2d(3, stride=2) * 3", np.ones((1, 8, 8)), draws=10000)


def test_a_cancellable_monte_carlo_has_no_work_budget():
    """The GUI can stop a long run, so only memory is checked up front; the first draw runs."""
    calls = []
    with pytest.raises(Cancelled):
        monte_carlo("ConvTranspose2d(3, stride=2) * 3", np.ones((1, 8, 8)), draws=10000,
                    cancel=lambda: len(calls) > 0, progress=lambda d, n: calls.append(d))
    assert calls == [1]
