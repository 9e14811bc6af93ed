"""overlap_map and overlap_pattern against the brute-force reference, the literature cases and PyTorch."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from naive_overlap import brute_overlap_map, minimal_period_1d
from reference_cases import load_cases

from checkerlab.analytics import (
    CheckerlabError,
    Conv2d,
    ConvTranspose2d,
    LayerError,
    PixelShuffle,
    ReLU,
    Stack,
    Upsample,
    overlap_map,
    overlap_pattern,
    overlap_profiles,
)
from checkerlab.analytics.rational import RationalArray

# ---------------------------------------------------------------- strategies


def pairs(lo, hi):
    """An int or an (h, w) pair: rectangular kernels, strides, paddings ..."""
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


@st.composite
def conv_transpose(draw):
    k, s, d = draw(pairs(1, 5)), draw(pairs(1, 3)), draw(pairs(1, 2))
    kk, ss, dd = (v if isinstance(v, tuple) else (v, v) for v in (k, s, d))
    op = tuple(draw(st.integers(0, max(ss[a], dd[a]) - 1)) for a in range(2))
    return ConvTranspose2d(k, stride=s, padding=draw(pairs(0, 2)), output_padding=op, dilation=d)


conv = st.builds(lambda k, s, p, d: Conv2d(k, stride=s, padding=p, dilation=d),
                 pairs(1, 3), pairs(1, 2), st.one_of(pairs(0, 1), st.just("valid")), pairs(1, 2))
same_conv = st.builds(lambda k, d: Conv2d(k, padding="same", dilation=d), pairs(1, 4), pairs(1, 2))
upsample = st.builds(lambda s, m: Upsample(s, mode=m), pairs(1, 3), st.sampled_from(["nearest", "bilinear"]))
shuffle = st.builds(PixelShuffle, st.integers(1, 3))
layer = st.one_of(conv_transpose(), conv_transpose(), conv, same_conv, upsample, shuffle, st.just(ReLU()))
stacks = st.lists(layer, min_size=1, max_size=3)


def _valid_size(stack, size):
    try:
        stack.sizes(size)
    except LayerError:
        return False
    return True


# ---------------------------------------------------------------- brute force


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks, st.integers(1, 5), st.integers(1, 5))
def test_overlap_map_equals_brute_force(layers, h, w):
    stack = Stack(layers)
    assume(_valid_size(stack, (h, w)))
    oh, ow = stack.output_size((h, w))
    assume(oh * ow <= 4000)
    got = overlap_map(stack, (h, w))
    want = brute_overlap_map(layers, (h, w))
    assert got.shape == want.shape == (oh, ow)
    if isinstance(got, RationalArray):  # rational only where bilinear weights enter
        assert any(isinstance(x, Upsample) and x.mode == "bilinear" for x in layers)
        assert np.array_equal(got.to_fractions(), want)
        assert np.array_equal(np.asarray(got), want.astype(float))
    else:
        assert got.dtype == np.int64 and np.array_equal(got, want)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks)
def test_pattern_tiles_the_interior(layers):
    """tile[i % ph, j % pw] == map[i, j] at every interior pixel, for several input sizes."""
    stack = Stack(layers)
    pattern = overlap_pattern(stack)
    (top, bottom), (left, right) = pattern.edge
    ph, pw = pattern.period
    rows, cols = pattern.axes[0].tile, pattern.axes[1].tile
    for n in (24, 31):
        assume(_valid_size(stack, (n, n)))
        r, c = overlap_profiles(stack, (n, n))
        assume(len(r) - top - bottom >= 2 * ph and len(c) - left - right >= 2 * pw)
        i = np.arange(top, len(r) - bottom)
        j = np.arange(left, len(c) - right)
        assert np.array_equal(r[i], rows[i % ph]) and np.array_equal(c[j], cols[j % pw])
        # minimal: the observed interior has exactly this period
        assert minimal_period_1d(r[i]) == ph and minimal_period_1d(c[j]) == pw
        # and the leading edge is tight: the sample just before it differs from the periodic extension
        # (the trailing edge is the worst case over input lengths, tight for some length only)
        if top:
            assert r[top - 1] != rows[(top - 1) % ph]


def test_map_is_outer_product_of_tiles_in_2d():
    stack = Stack("ConvTranspose2d((3, 5), stride=(2, 3), padding=(1, 0))")
    m = overlap_map(stack, (20, 20))
    p = overlap_pattern(stack)
    (t, b), (le, ri) = p.edge
    ii, jj = np.meshgrid(np.arange(t, m.shape[0] - b), np.arange(le, m.shape[1] - ri), indexing="ij")
    assert np.array_equal(m[ii, jj], p.tile[ii % p.period[0], jj % p.period[1]])


# ---------------------------------------------------------------- literature cases


def _case_layers(case):
    out = []
    for spec in case["layers"]:
        kw = {k: v for k, v in spec.items() if k != "type"}
        out.append(ConvTranspose2d(**kw) if spec["type"] == "ConvTranspose" else Conv2d(**kw))
    return out


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c["name"])
def test_literature_case(case):
    p = overlap_pattern(_case_layers(case))
    assert p.axes[0].tile.tolist() == case["tile"]
    assert p.period == (case["period"], case["period"])
    assert p.is_even == case["even"]
    assert p.has_holes == case["holes"]
    assert p.tile.tolist() == np.multiply.outer(case["tile"], case["tile"]).tolist()
    # the stated tile holds on the profile of a length-40 input, as in the case file (the profiles are
    # checked against the brute force above)
    m, _ = overlap_profiles(_case_layers(case), (40, 1))
    (t, b), _ = p.edge
    idx = np.arange(t, len(m) - b)
    assert [int(v) for v in m[idx]] == [case["tile"][i % case["period"]] for i in idx]


# ---------------------------------------------------------------- properties of the pattern


def test_single_layer_formula_dilation_1():
    """c(r) = floor((k - 1 - r)/s) + 1 for r < k, 0 otherwise, with r = (n + p) mod s."""
    for k in range(1, 10):
        for s in range(1, 6):
            for p in range(0, 3):
                tile = overlap_pattern(ConvTranspose2d(k, stride=s, padding=p)).axes[0].tile
                full = [((k - 1 - (n + p) % s) // s + 1) if (n + p) % s < k else 0 for n in range(s)]
                q = minimal_period_1d(full + full)
                assert tile.tolist() == full[:q]


def test_even_and_holes_rules():
    """Even iff gcd(d, s) = 1 and s | k; holes iff gcd(d, s) > 1 or k < s / gcd(d, s)."""
    from math import gcd
    for k in range(1, 9):
        for s in range(1, 5):
            for d in range(1, 4):
                p = overlap_pattern(ConvTranspose2d(k, stride=s, dilation=d))
                g = gcd(d, s)
                assert p.is_even == (g == 1 and k % s == 0), (k, s, d)
                assert p.has_holes == (g > 1 or k < s // g), (k, s, d)


def test_contrast_spectrum_and_frequencies():
    p = overlap_pattern("ConvTranspose2d(3, stride=2)")
    assert p.contrast == 4  # tile [[4, 2], [2, 1]]
    assert p.spectrum.shape == (2, 2) and p.spectrum[0, 0] == 1
    # DFT of [2, 1] is [3, 1]: amplitude 1/3 at 1/2 cycles/pixel on each axis, 1/9 on the diagonal
    freqs = {(fy, fx): a for fy, fx, a in p.artifact_frequencies}
    assert freqs == pytest.approx({(Fraction(1, 2), 0): 1 / 3, (0, Fraction(1, 2)): 1 / 3,
                                   (Fraction(1, 2), Fraction(1, 2)): 1 / 9})
    even = overlap_pattern("ConvTranspose2d(4, stride=2, padding=1)")
    assert even.is_even and even.contrast == 1 and even.artifact_frequencies == []
    holes = overlap_pattern("ConvTranspose2d(1, stride=2)")
    assert holes.has_holes and holes.contrast == float("inf") and not holes.is_even


def test_bilinear_is_exact_rational():
    p = overlap_pattern("ConvTranspose2d(3, stride=2), Upsample(2, mode='bilinear')")
    assert p.axes[0].tile.dtype == object
    assert all(isinstance(v, Fraction) for v in p.axes[0].tile)
    assert sum(p.axes[0].tile) == Fraction(6)  # interpolation preserves the mean: 3 per input pixel * 2


def test_downsampling_after_upsampling_period():
    """A conv of stride s after period P samples every s-th phase: period P / gcd(P, s) at most."""
    up = overlap_pattern("ConvTranspose2d(3, stride=2) * 2")
    assert up.axes[0].tile.tolist() == [3, 2, 3, 1]
    # phases 0, 2 -> [3, 3]: even; phases 3, 1 -> [1, 2]
    assert overlap_pattern("ConvTranspose2d(3, stride=2) * 2, Conv2d(1, stride=2)").is_even
    assert overlap_pattern("ConvTranspose2d(3, stride=2) * 2, Conv2d(1, stride=2, padding=1)").axes[0].tile.tolist() \
        == [1, 2]
    assert overlap_pattern("ConvTranspose2d(3, stride=2) * 2, Conv2d(1, stride=3)").period == (4, 4)
    assert overlap_pattern("ConvTranspose2d(3, stride=2) * 2, Conv2d(2, stride=4)").is_even


def test_activation_only_and_pixelshuffle():
    assert overlap_pattern([ReLU()]).is_even
    assert overlap_pattern("PixelShuffle(3)").is_even
    assert overlap_pattern("ConvTranspose2d(3, stride=2), PixelShuffle(2)").period == (4, 4)


def test_refuses_empty_and_oversized_outputs():
    with pytest.raises(LayerError, match=r"layer 1 \(Conv2d\): output would be empty"):
        overlap_map("ConvTranspose2d(2, stride=2), Conv2d(5)", (1, 1))
    with pytest.raises(LayerError, match=r"exceeds the memory budget .* pixels"):
        overlap_map("ConvTranspose2d(4, stride=4) * 3", (200, 200))
    with pytest.raises(CheckerlabError, match="input_size"):
        overlap_map("ConvTranspose2d(3, stride=2)", (0, 4))


def test_large_values_stay_exact():
    """Deep stacks overflow int64: the engine switches to Python ints instead of wrapping."""
    stack = Stack("ConvTranspose2d(9, stride=1) * 22")
    r, _ = overlap_profiles(stack, (1, 1))
    assert int(max(r)) > 2**63  # 9**22 > int64
    assert int(sum(r)) == 9**22


# ---------------------------------------------------------------- PyTorch cross-check


@pytest.mark.parametrize("spec", [
    "ConvTranspose2d((3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2))",
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3, Conv2d(3, padding=1)",
    "Upsample(2, mode='bilinear'), Conv2d(3, padding='same'), ConvTranspose2d(5, stride=3)",
    "Conv2d(4, padding='same', dilation=2), PixelShuffle(2), Conv2d(3, stride=2)",
])
def test_against_torch(spec):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    stack = Stack(spec)
    x = torch.ones(1, 1, 9, 11, dtype=torch.float64)
    for layer in stack:
        if isinstance(layer, ConvTranspose2d):
            w = torch.ones(1, 1, *layer.kernel_size, dtype=torch.float64)
            x = F.conv_transpose2d(x, w, stride=layer.stride, padding=layer.padding,
                                   output_padding=layer.output_padding, dilation=layer.dilation)
        elif isinstance(layer, Conv2d):
            w = torch.ones(1, 1, *layer.kernel_size, dtype=torch.float64)
            x = F.conv2d(x, w, stride=layer.stride, padding=layer.padding if isinstance(layer.padding, str)
                         else layer.padding, dilation=layer.dilation)
        elif isinstance(layer, Upsample):
            x = F.interpolate(x, scale_factor=layer.scale_factor, mode=layer.mode,
                              align_corners=False if layer.mode == "bilinear" else None)
        elif isinstance(layer, PixelShuffle):
            x = F.pixel_shuffle(x.repeat(1, layer.upscale_factor ** 2, 1, 1), layer.upscale_factor)
    ours = overlap_map(stack, (9, 11)).astype(float)
    assert ours.shape == tuple(x.shape[2:])
    np.testing.assert_allclose(ours, x[0, 0].numpy(), rtol=1e-12, atol=1e-12)
