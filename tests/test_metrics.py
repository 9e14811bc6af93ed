"""Artifact metrics: the all-ones network reproduces the analytic pattern exactly; random weights reproduce
the prediction computed from the drawn weights; bias and ReLU effects; the energy is a true DFT energy."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from naive_network import activation
from reference_cases import load_cases

from checkerlab.analytics import (
    CheckerlabError,
    LayerError,
    Stack,
    artifact_metrics,
    make_input,
    overlap_map,
    overlap_pattern,
    phase_mean_tile,
)
from checkerlab.analytics.layers import Conv2d, ConvTranspose2d, PixelShuffle, Upsample
from checkerlab.analytics.metrics import analytic_energy, interiors, layer_patterns, tile_contrast, tile_modulation
from checkerlab.analytics.simulation import simulate

# ------------------------------------------------------------------------------------------------------
# Independent prediction: propagate one period of the infinite, periodic response through the drawn
# network (no borders at all), straight from each layer's definition.
# ------------------------------------------------------------------------------------------------------


def periodic_layer(layer, x, p):
    """x: (C, P1, P2), one period of an infinite periodic signal -> one period of the layer's output."""
    c, p1, p2 = x.shape
    if isinstance(layer, ConvTranspose2d):  # y[o, n] = b + sum_{c,t} w[c, o, t] x[c, (n + p - t d)/s]
        w, b = p
        (s1, s2), (q1, q2), (d1, d2) = layer.stride, layer.padding, layer.dilation
        c_og, g = w.shape[1], layer.groups
        c_ig = c // g
        n1, n2 = np.arange(p1 * s1)[:, None], np.arange(p2 * s2)[None, :]
        y = np.zeros((c_og * g, p1 * s1, p2 * s2))
        for t1 in range(layer.kernel_size[0]):
            for t2 in range(layer.kernel_size[1]):
                a1, a2 = n1 + q1 - t1 * d1, n2 + q2 - t2 * d2
                hit = (a1 % s1 == 0) & (a2 % s2 == 0)
                src = x[:, (a1 // s1) % p1, (a2 // s2) % p2] * hit  # (C, Q1, Q2)
                for ci in range(c):
                    grp = ci // c_ig
                    y[grp * c_og: (grp + 1) * c_og] += w[ci, :, t1, t2][:, None, None] * src[ci]
        return y if b is None else y + b[:, None, None]
    if isinstance(layer, Conv2d):  # y[o, m] = b + sum_{c,t} w[o, c, t] x[c, m s + t d - p_before]
        w, b = p
        (s1, s2), (d1, d2) = layer.stride, layer.dilation
        pb1, pb2 = layer.pads(0)[0], layer.pads(1)[0]
        q1, q2 = p1 // math.gcd(p1, s1), p2 // math.gcd(p2, s2)
        m1, m2 = np.arange(q1)[:, None], np.arange(q2)[None, :]
        c_out, c_ig = w.shape[:2]
        c_og = c_out // layer.groups
        y = np.zeros((c_out, q1, q2))
        for o in range(c_out):
            grp = o // c_og
            for ci in range(c_ig):
                for t1 in range(layer.kernel_size[0]):
                    for t2 in range(layer.kernel_size[1]):
                        y[o] += w[o, ci, t1, t2] * x[grp * c_ig + ci, (m1 * s1 + t1 * d1 - pb1) % p1,
                                                      (m2 * s2 + t2 * d2 - pb2) % p2]
        return y if b is None else y + b[:, None, None]
    if isinstance(layer, Upsample):
        s1, s2 = layer.scale_factor
        if layer.mode == "nearest":
            return x[:, (np.arange(p1 * s1) // s1)[:, None], (np.arange(p2 * s2) // s2)[None, :]]
        out = x
        for axis, (s, n) in enumerate(((s1, p1), (s2, p2))):  # no clamping in an infinite signal
            src = (np.arange(n * s) + 0.5) / s - 0.5
            i0 = np.floor(src).astype(int)
            f = src - i0
            a, b = np.take(out, i0 % n, axis=axis + 1), np.take(out, (i0 + 1) % n, axis=axis + 1)
            shape = [1, 1, 1]
            shape[axis + 1] = -1
            out = (1 - f.reshape(shape)) * a + f.reshape(shape) * b
        return out
    if isinstance(layer, PixelShuffle):
        r = layer.upscale_factor
        n1, n2 = np.arange(p1 * r)[:, None], np.arange(p2 * r)[None, :]
        return np.stack([x[ch * r * r + (n1 % r) * r + n2 % r, (n1 // r) % p1, (n2 // r) % p2]
                         for ch in range(c // (r * r))])
    return activation(layer, x)


def periodic_prediction(stack, params, value, channels):
    """Per layer, one period of the network's response to the constant input `value`."""
    x = np.full((channels, 1, 1), float(value))
    out = []
    for layer, p in zip(stack, params, strict=True):
        p = None if p is None else tuple(None if a is None else np.asarray(a, np.float64) for a in p)
        x = periodic_layer(layer, x, p)
        out.append(x)
    return out


def as_float(a):
    return np.vectorize(float, otypes=[float])(a) if np.asarray(a).dtype == object else np.asarray(a, float)


def case_stack(case) -> Stack:
    kinds = {"ConvTranspose": ConvTranspose2d, "Conv": Conv2d}
    return Stack([kinds[d["type"]](**{k: v for k, v in d.items() if k != "type"}) for d in case["layers"]])


# ------------------------------------------------------------------------------------------------------
# phase_mean_tile and the contrast definitions
# ------------------------------------------------------------------------------------------------------


def test_phase_mean_tile_is_indexed_by_output_coordinate_and_ignores_the_border():
    rng = np.random.default_rng(0)
    tile = rng.random((2, 3, 4))
    x = np.tile(tile, (1, 10, 8))[:, :29, :31]
    edge = ((4, 2), (5, 3))
    noisy = x + 100 * rng.random(x.shape)
    noisy[:, 4:-2, 5:-3] = x[:, 4:-2, 5:-3]
    np.testing.assert_allclose(phase_mean_tile(noisy, (3, 4), edge), tile, rtol=1e-14)
    np.testing.assert_allclose(phase_mean_tile(noisy[1], (3, 4), edge), tile[1], rtol=1e-14)


def test_phase_mean_tile_averages_every_phase_over_whole_periods():
    x = np.arange(7 * 5, dtype=np.float32).reshape(7, 5)  # x[i, j] = 5 i + j
    # interior rows 1..5 -> whole periods rows 1..4 (period 2): phase 0 = rows {2, 4}, phase 1 = rows {1, 3}
    tile = phase_mean_tile(x, (2, 1), ((1, 1), (0, 0)))
    np.testing.assert_array_equal(tile, [[5 * 3 + 2], [5 * 2 + 2]])
    assert tile.dtype == np.float64
    with pytest.raises(CheckerlabError, match="no whole"):
        phase_mean_tile(x, (4, 1), ((2, 2), (0, 0)))


def test_contrast_and_modulation_definitions():
    assert tile_contrast(np.array([[4.0, 2.0], [2.0, 1.0]])) == 4
    assert tile_contrast(np.array([[-4.0, -2.0]])) == 2
    assert tile_contrast(np.zeros((2, 2))) == 1
    assert tile_contrast(np.array([[1.0, 0.0]])) == math.inf
    assert tile_contrast(np.array([[1.0, -1.0]])) == math.inf
    assert tile_modulation(np.array([[1.0, -1.0]])) == 2
    assert tile_modulation(np.array([[3.0, 1.0]])) == 1
    assert tile_modulation(np.zeros(3)) == 0


# ------------------------------------------------------------------------------------------------------
# All-ones weights, zero bias, constant input: the analytic pattern exactly
# ------------------------------------------------------------------------------------------------------

EXTRA = [
    "Upsample(2, mode='bilinear'), ConvTranspose2d(3, stride=2)",
    "ConvTranspose2d(3, stride=2) * 2, Conv2d(3, stride=2)",
    "Upsample(3), Conv2d((2, 3), padding=1), ConvTranspose2d(4, stride=2, padding=1)",
    "ConvTranspose2d((3, 4), stride=(2, 3)), PixelShuffle(1)",
]


@pytest.mark.parametrize("stack", [case_stack(c) for c in load_cases()] + [Stack(s) for s in EXTRA], ids=str)
def test_ones_metrics_equal_the_analytic_pattern(stack):
    pattern = overlap_pattern(stack)
    x = as_float(overlap_map(stack, (29, 26)))
    m = artifact_metrics(x, pattern)
    ph, pw = pattern.period
    assert m.period[0] % ph == 0 and m.period[1] % pw == 0  # the generic period is a multiple
    reps = (m.period[0] // ph, m.period[1] // pw)
    np.testing.assert_array_equal(m.tile, np.tile(as_float(pattern.tile), reps))
    assert m.contrast == (math.inf if pattern.has_holes else float(pattern.contrast))
    assert m.artifact_energy == pytest.approx(analytic_energy(pattern), rel=1e-12, abs=1e-15)
    assert m.edge[0][0] >= pattern.edge[0][0] and m.edge[1][1] >= pattern.edge[1][1]


def test_analytic_energy_is_the_spectrum_energy_off_dc():
    pattern = overlap_pattern("ConvTranspose2d(3, stride=2) * 2")
    power = pattern.spectrum ** 2
    assert analytic_energy(pattern) == pytest.approx(1 - 1 / power.sum(), rel=1e-12)
    assert analytic_energy(overlap_pattern("ConvTranspose2d(4, stride=2)")) == 0


def test_simulated_ones_network_per_layer_equals_the_prefix_patterns():
    spec = ("ConvTranspose2d(3, stride=2, padding=1, output_padding=1), ReLU(), "
            "ConvTranspose2d(5, stride=3), Upsample(2), Conv2d(2)")
    sim = simulate(spec, np.ones((1, 20, 20)), init="ones", bias="zero")
    patterns = layer_patterns(sim.stack)
    assert patterns[1] is patterns[0]  # cached: the ReLU does not change the prefix pattern
    for m, pattern in zip(sim.metrics, patterns, strict=True):
        reps = (m.period[0] // pattern.period[0], m.period[1] // pattern.period[1])
        np.testing.assert_array_equal(m.tile[0], np.tile(as_float(pattern.tile), reps))
        assert m.contrast == float(pattern.contrast)
        assert m.artifact_energy == pytest.approx(analytic_energy(pattern), rel=1e-6)


# ------------------------------------------------------------------------------------------------------
# Random weights, constant input: the prediction from the drawn weights
# ------------------------------------------------------------------------------------------------------

LINEAR = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=4) * 2, "
    "Conv2d(3, padding=1, out_channels=2)",
    "ConvTranspose2d(4, stride=2, padding=1, out_channels=3)",
    "Upsample(2), Conv2d(3, padding=1, out_channels=4), PixelShuffle(2)",
    "ConvTranspose2d((5, 3), stride=(3, 2), dilation=(1, 2), out_channels=4), "
    "Conv2d(2, stride=2, out_channels=2)",
    "ConvTranspose2d(3, stride=2, out_channels=4), ConvTranspose2d(2, stride=2, groups=2, out_channels=6)",
]
NONLINEAR = [
    "Conv2d(3, padding=1, out_channels=8), PixelShuffle(2), Upsample(2, mode='bilinear'), "
    "Conv2d(3, stride=3)",
    "ConvTranspose2d(3, stride=2, out_channels=4), ReLU(), ConvTranspose2d(3, stride=2, out_channels=2), "
    "Tanh()",
]


@pytest.mark.parametrize("spec", LINEAR + NONLINEAR)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_weights_phase_means_equal_the_prediction_from_the_drawn_weights(spec, dtype):
    x = make_input("constant", (17, 19), channels=2, brightness=0.7, dtype=np.float64)
    sim = simulate(spec, x, init="kaiming_uniform", bias="random", seed=7, dtype=dtype)
    predicted = periodic_prediction(sim.stack, sim.params, 0.7, 2)
    for m, pred in zip(sim.metrics, predicted, strict=True):
        assert m.tile.shape == pred.shape
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(m.tile, pred, rtol=tol, atol=tol * np.abs(pred).max())


@pytest.mark.parametrize("spec", LINEAR + NONLINEAR)
def test_every_interior_pixel_is_periodic_and_linear_interiors_are_tight(spec):
    """The interior holds the infinite-input response pixel by pixel; for a linear stack with generic weights
    every border pixel differs from it, so the interior is as large as it can be."""
    x = np.full((2, 17, 19), 0.7)
    sim = simulate(spec, x, init="kaiming_uniform", bias="random", seed=3, dtype=np.float64)
    for geometry, act, pred in zip(interiors(sim.stack, (17, 19)), sim.activations,
                                   periodic_prediction(sim.stack, sim.params, 0.7, 2), strict=True):
        (top, bottom), (left, right) = geometry.edge
        h, w = act.shape[1:]
        i, j = np.arange(h)[:, None], np.arange(w)[None, :]
        periodic = pred[:, i % pred.shape[1], j % pred.shape[2]]
        same = np.all(np.isclose(act, periodic, rtol=1e-12, atol=1e-12), axis=0)
        assert same[top: h - bottom, left: w - right].all()
        if spec in LINEAR:
            differs = ~same
            assert top == 0 or differs[top - 1, left: w - right].any()
            assert bottom == 0 or differs[h - bottom, left: w - right].any()
            assert left == 0 or differs[top: h - bottom, left - 1].any()
            assert right == 0 or differs[top: h - bottom, w - right].any()


@st.composite
def random_layer(draw):
    kind = draw(st.sampled_from(["ct", "ct", "conv", "up", "bilinear", "shuffle"]))
    if kind == "ct":
        k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        p = draw(st.integers(0, max(0, d * (k - 1))))
        op = draw(st.integers(0, max(s, d) - 1))
        return ConvTranspose2d(k, stride=s, padding=p, output_padding=op, dilation=d, out_channels=2)
    if kind == "conv":
        k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        return Conv2d(k, stride=s, padding=draw(st.integers(0, k - 1)), out_channels=2)
    if kind == "up":
        return Upsample(draw(st.integers(1, 3)))
    if kind == "bilinear":
        return Upsample(2, mode="bilinear")
    return [Conv2d(1, out_channels=8), PixelShuffle(2)]


def flatten(layers):
    out = []
    for item in layers:
        out.extend(item if isinstance(item, list) else [item])
    return Stack(out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_layer(), min_size=1, max_size=3).map(flatten), st.integers(0, 2**31))
@example(Stack([ConvTranspose2d(2, stride=2, padding=1, dilation=2), Conv2d(1, stride=2)]), 0)  # a dead stack
def test_random_stacks_interiors_and_phase_means(stack, seed):
    """Any stack: the interior holds the infinite-input response pixel by pixel (random weights), the phase
    means equal the prediction from the drawn weights; with ones weights the metrics are the analytic ones."""
    try:
        stack.shapes((2, 9, 10))
    except LayerError:
        assume(False)
    x = np.full((2, 9, 10), 0.5)
    sim = simulate(stack, x, bias="random", seed=seed, dtype=np.float64)
    assume(sim.metrics[-1] is not None)
    pred = periodic_prediction(stack, sim.params, 0.5, 2)[-1]
    (top, bottom), (left, right) = sim.metrics[-1].edge
    out = sim.output
    h, w = out.shape[1:]
    i, j = np.arange(h)[:, None], np.arange(w)[None, :]
    scale = max(1.0, np.abs(pred).max())
    interior = (slice(None), slice(top, h - bottom), slice(left, w - right))
    np.testing.assert_allclose(out[interior], pred[:, i % pred.shape[1], j % pred.shape[2]][interior],
                               atol=1e-12 * scale)
    np.testing.assert_allclose(sim.metrics[-1].tile, pred, atol=1e-12 * scale)
    ones = simulate(stack, x * 2, init="ones", dtype=np.float64).metrics[-1]
    pattern = overlap_pattern(stack)
    reps = (ones.period[0] // pattern.period[0], ones.period[1] // pattern.period[1])
    if not np.any(as_float(pattern.tile)):  # every pixel a hole: the stack passes nothing at all. The exact
        assert pattern.contrast == math.inf  # engine flags its holes; the image itself is flat zero (contrast 1)
        assert not np.any(ones.tile) and ones.contrast == 1.0
    else:
        np.testing.assert_allclose(ones.tile[0] / ones.tile[0].mean(), np.tile(as_float(pattern.tile), reps)
                                   / as_float(pattern.tile).mean(), rtol=1e-12)
        exact = math.inf if pattern.has_holes else float(pattern.contrast)
        assert ones.contrast == pytest.approx(exact, rel=1e-12)
    assert ones.artifact_energy == pytest.approx(analytic_energy(pattern), rel=1e-9, abs=1e-15)


def test_an_even_pattern_still_shows_random_weight_artifacts():
    """k=4, s=2: even overlap (period 1), but random sub-kernels give each phase its own sum."""
    spec = "ConvTranspose2d(4, stride=2, padding=1, out_channels=3)"
    assert overlap_pattern(spec).is_even
    sim = simulate(spec, make_input("constant", 16), seed=1)
    assert sim.metrics[0].period == (2, 2) and sim.metrics[0].artifact_energy > 1e-3
    ones = simulate(spec, make_input("constant", 16), init="ones")
    assert ones.metrics[0].artifact_energy == 0 and ones.metrics[0].contrast == 1


# ------------------------------------------------------------------------------------------------------
# The energy is the DFT energy at the artifact frequencies; input size inference
# ------------------------------------------------------------------------------------------------------


def test_artifact_energy_is_the_fft_energy_at_the_artifact_bins():
    spec = "ConvTranspose2d(3, stride=2, out_channels=3), ReLU(), ConvTranspose2d(3, stride=3, padding=1)"
    x = make_input("natural", (21, 18), seed=4, dtype=np.float64)
    sim = simulate(spec, x, seed=2, dtype=np.float64)
    m = artifact_metrics(sim.output, overlap_pattern(spec))
    (top, _), (left, _) = m.edge
    (ph, pw) = m.period
    h, w = m.edge[0], m.edge[1]
    rows = (sim.output.shape[1] - sum(h)) // ph * ph
    cols = (sim.output.shape[2] - sum(w)) // pw * pw
    win = sim.output[:, top: top + rows, left: left + cols]
    power = np.abs(np.fft.fft2(win)) ** 2
    k1, k2 = rows // ph, cols // pw
    at = power[:, ::k1, ::k2].sum() - power[:, 0, 0].sum()
    assert m.artifact_energy == pytest.approx(at / power.sum(), rel=1e-10)
    assert 0 < m.artifact_energy < 1
    f32 = artifact_metrics(sim.output.astype(np.float32), overlap_pattern(spec))
    assert f32.artifact_energy == pytest.approx(m.artifact_energy, rel=1e-5)


def test_input_size_is_inferred_from_the_output_shape():
    spec = "ConvTranspose2d(3, stride=2), Conv2d(3, stride=2), ConvTranspose2d(5, stride=3, padding=1)"
    pattern = overlap_pattern(spec)
    x = simulate(spec, make_input("noise", (13, 14)), seed=0).output
    inferred = artifact_metrics(x, pattern)
    explicit = artifact_metrics(x, pattern, input_size=(13, 14))
    assert inferred.edge >= explicit.edge or inferred.edge == explicit.edge
    assert inferred.period == explicit.period
    with pytest.raises(CheckerlabError, match="gives a"):
        artifact_metrics(x, pattern, input_size=(12, 12))
    with pytest.raises(CheckerlabError, match="no input size"):
        artifact_metrics(np.zeros((6, 6)), overlap_pattern("ConvTranspose2d(3, stride=2)"))


def test_interiors_contain_the_analytic_ones():
    for case in load_cases():
        stack = case_stack(case)
        got = interiors(stack, (40, 40))[-1]
        ref = overlap_pattern(stack)
        assert all(got.edge[a][e] >= ref.edge[a][e] for a in range(2) for e in range(2)), case["name"]


# ------------------------------------------------------------------------------------------------------
# Bias and ReLU (DESIGN.md §4)
# ------------------------------------------------------------------------------------------------------


def test_an_intermediate_bias_recreates_the_pattern_on_a_black_input():
    """Layer 1 outputs its bias b everywhere (flat); layer 2 sees a constant input b, so it paints
    b * (one-layer overlap) + b: with ones weights the tile is b * [[1, 2], [2, 4]] + b, contrast 5/2."""
    spec = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2"
    black = make_input("constant", 16, channels=1, brightness=0.0)
    sim = simulate(spec, black, init="ones", bias="constant", bias_value=0.5)
    first, second = sim.metrics
    assert first.contrast == 1 and first.artifact_energy == 0
    np.testing.assert_array_equal(first.tile, np.full((1, 2, 2), 0.5))
    one_layer = as_float(overlap_pattern("ConvTranspose2d(3, stride=2, padding=1, output_padding=1)").tile)
    np.testing.assert_array_equal(second.tile[0], np.tile(0.5 * one_layer + 0.5, (2, 2)))
    assert second.contrast == Fraction(5, 2)
    zero = simulate(spec, black, init="ones", bias="zero")
    assert not zero.output.any() and zero.metrics[1].artifact_energy == 0
    rand = simulate(spec.replace(") * 2", ", out_channels=4) * 2"), make_input("constant", 16, brightness=0),
                    bias="random", seed=5)
    assert rand.metrics[0].artifact_energy < 1e-12 < 1e-3 < rand.metrics[1].artifact_energy


@pytest.mark.parametrize("brightness, regime", [(0.01, "hidden"), (0.024, "hidden"), (0.026, "clipped"),
                                                (0.09, "clipped"), (0.11, "passes"), (10.0, "passes")])
def test_relu_hides_the_pattern_on_dark_inputs_and_passes_it_on_bright_ones(brightness, regime):
    """One k=3, s=2, p=1 layer with ones weights and bias -beta (beta = 0.1) on a constant input B: the
    pre-activation tile is B * [[1, 2], [2, 4]] - beta. B < beta/4: every phase is negative and ReLU outputs
    zero (pattern hidden); beta/4 < B < beta: the weak phases are clipped to zero (contrast inf);
    B > beta: every phase is positive and the pattern passes unchanged."""
    beta = 0.1
    spec = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1), ReLU()"
    x = make_input("constant", 16, channels=1, brightness=brightness, dtype=np.float64)
    sim = simulate(spec, x, init="ones", bias="constant", bias_value=-beta, dtype=np.float64)
    pre, post = sim.metrics
    expected_pre = brightness * np.array([[1.0, 2.0], [2.0, 4.0]]) - beta
    np.testing.assert_array_equal(overlap_pattern(spec).tile, [[1, 2], [2, 4]])
    np.testing.assert_allclose(pre.tile[0], expected_pre, rtol=1e-12)
    if regime == "hidden":
        assert not sim.output.any() and post.artifact_energy == 0 and post.contrast == 1
    elif regime == "clipped":
        assert post.contrast == math.inf and post.tile[0, 0, 0] == 0 < post.tile[0, 1, 1]
    else:
        np.testing.assert_array_equal(post.tile, pre.tile)
        assert post.contrast == pytest.approx((4 * brightness - beta) / (brightness - beta), rel=1e-12)


def test_relu_with_random_positive_weights_hides_or_passes_by_brightness():
    """Two U(0, 1)-weight layers with bias -0.1 and ReLUs, 3 input channels. Dark (B = 1e-3): a
    pre-activation is at most B * 3 channels * 4 taps * 1 - 0.1 < 0, so everything is clipped. Bright
    (B = 1e3): the smallest layer-1 phase sum of the drawn weights times B is far above 0.1, so ReLU is the
    identity in the interior and the output equals the same network without ReLUs."""
    linear = "ConvTranspose2d(3, stride=2, out_channels=4), ConvTranspose2d(3, stride=2, out_channels=2)"
    spec = linear.replace("), C", "), ReLU(), C") + ", ReLU()"
    kw = dict(init="uniform", bias="constant", bias_value=-0.1, seed=9, dtype=np.float64)
    dark = simulate(spec, make_input("constant", 12, brightness=1e-3, dtype=np.float64), **kw)
    assert not dark.output.any() and dark.metrics[-1].artifact_energy == 0
    bright_x = make_input("constant", 12, brightness=1e3, dtype=np.float64)
    bright = simulate(spec, bright_x, **kw)
    lin = simulate(linear, bright_x, **kw)
    assert periodic_prediction(Stack(linear), lin.params, 1e3, 3)[0].min() > 10
    np.testing.assert_allclose(bright.metrics[-1].tile, lin.metrics[-1].tile, rtol=1e-12)
    assert bright.metrics[-1].artifact_energy == pytest.approx(lin.metrics[-1].artifact_energy, rel=1e-12)
    assert lin.metrics[-1].artifact_energy > 1e-3
