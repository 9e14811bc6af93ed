"""overlap_map and overlap_pattern against the brute-force reference, the literature cases and PyTorch."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from naive_overlap import brute_overlap_map, minimal_period_1d, naive_profile
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


# ---------------------------------------------------------------- no silent wrong numbers (issue 10 item 6)


def _middle_period(layers, period, n):
    """One period of the interior read off the middle of a long naive Python-int profile, indexed by output
    coordinate mod period (the middle of a long enough profile is far from both borders)."""
    profile = naive_profile(layers, n)
    mid = len(profile) // 2
    return {i % period: profile[i] for i in range(mid, mid + period)}


def test_analytic_energy_of_a_deep_stack_against_python_ints():
    """ConvTranspose2d(3, stride=2) * 10 gave 6.82 (int64 overflow inside Fractions); the truth is 0.377."""
    from checkerlab.analytics.metrics import analytic_energy

    layers = [ConvTranspose2d(3, stride=2)] * 10
    t = _middle_period(layers, 1024, 8)
    t = [t[i] for i in range(1024)]
    s1 = s2 = 0
    for a in t:  # the 2D tile cell by cell: 1024 x 1024 Python-int products, no separability used
        for b in t:
            s1 += a * b
            s2 += (a * b) ** 2
    cells = 1024 * 1024
    truth = float(1 - Fraction(s1, cells) ** 2 / Fraction(s2, cells))
    got = analytic_energy(overlap_pattern(layers))
    assert got == pytest.approx(truth, rel=1e-12) and got == pytest.approx(0.377, abs=1e-3)


@pytest.mark.parametrize("spec, n", [
    ("ConvTranspose2d(3, stride=2) * 10, Conv2d(3, padding=1) * 20", 24),
    ("ConvTranspose2d(3, stride=2) * 4, Conv2d(3, padding=1) * 45", 120),
])
def test_deep_tiles_and_contrast_stay_exact_and_positive(spec, n):
    """The 2D tile and the contrast went negative (int64 wrap) on deep stacks."""
    stack = Stack(spec)
    p = overlap_pattern(stack)
    ph = p.period[0]
    truth = _middle_period(list(stack), ph, n)
    assert [int(v) for v in p.axes[0].tile] == [truth[i] for i in range(ph)]
    biggest = max(truth.values())
    assert biggest ** 2 > 2**63  # the 2D tile does not fit int64
    tile = p.tile
    assert tile.dtype == object and tile.min() > 0
    assert tile[ph - 1, ph - 1] == truth[ph - 1] ** 2 and tile.max() == biggest ** 2
    assert p.contrast == Fraction(biggest, min(truth.values())) ** 2 and p.contrast > 1


def test_stern_depth_twelve_is_exact_and_fast():
    """Depth 12: period 4096, 1D tile = Stern's diatomic sequence, contrast F(14)^2 = 377^2, JSON < 1 s."""
    import json
    import time

    start = time.perf_counter()
    p = overlap_pattern("ConvTranspose2d(3, stride=2) * 12", input_size=(1, 1))
    from checkerlab.analytics.presentation.data import to_dict

    text = json.dumps(to_dict(p))
    assert time.perf_counter() - start < 20  # generous: measured in benchmarks/bench_overlap.py (~0.05 s)
    data = json.loads(text)
    stern = [1, 1]  # Stern's diatomic sequence s(1), s(2), ...: s(2n) = s(n), s(2n+1) = s(n) + s(n+1)
    while len(stern) < 8192:
        n = len(stern) + 1
        stern.append(stern[n // 2 - 1] if n % 2 == 0 else stern[n // 2 - 1] + stern[n // 2])
    tile = data["profiles"][0]
    assert data["period"] == [4096, 4096] and sorted(tile) == sorted(stern[4096:8192])
    assert p.contrast == 377 ** 2 and data["tile"] is None  # 4096^2 cells: the outer product of the profiles
    assert data["artifact_count"] == p.artifact_count and len(data["artifact_frequencies"]) == 1024
    assert data["has_interior"] and data["interior"] == [1, 1]


def test_bilinear_chain_to_4096_is_exact_without_a_fraction_per_pixel():
    from checkerlab.analytics.rational import RationalArray

    stack = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1), Upsample(2, mode='bilinear') * 6")
    m = overlap_map(stack, (32, 32))
    assert isinstance(m, RationalArray) and m.shape == (4096, 4096) and m.numerators.dtype == np.int64
    assert m.denominator & (m.denominator - 1) == 0  # a power of two: (2s)^6 per axis, reduced
    rows = naive_profile(list(stack), 32)  # exact Fractions, layer by layer
    for i, j in [(0, 0), (1, 2), (100, 37), (4095, 4095), (2048, 17)]:
        assert m[i, j] == rows[i] * rows[j]
    assert np.asarray(m)[100, 37] == pytest.approx(float(rows[100] * rows[37]), rel=1e-15)


# ---------------------------------------------------------------- all border (issue 10 item 6)

NO_INTERIOR = {
    "dcgan-from-1x1": ("ConvTranspose2d(100, 512, 4, 1, 0, bias=False), ReLU(), ConvTranspose2d(512, 256, 4, 2, 1), "
                       "ReLU(), ConvTranspose2d(256, 128, 4, 2, 1), ReLU(), ConvTranspose2d(128, 64, 4, 2, 1), "
                       "ReLU(), ConvTranspose2d(64, 3, 4, 2, 1), Tanh()", 1),
    "pix2pix-from-1x1": ("pix2pix", 1),
    "stylegan2-4-to-256": ("(ConvTranspose2d(3, stride=2), Conv2d(4, padding=1), Conv2d(3, padding=1)) * 6", 4),
}


@pytest.mark.parametrize("name", list(NO_INTERIOR))
def test_an_output_that_is_all_border_says_so(name, capsys):
    import json

    from checkerlab.analytics.targets import load_target
    from checkerlab.app.cli import main

    spec, size = NO_INTERIOR[name]
    config = load_target(spec, size)
    p = overlap_pattern(config.stack, config.input_size)
    assert p.period == (1, 1) and not p.has_holes  # the stack is even inside a larger input...
    assert not p.has_interior and p.interior == (0, 0) and not p.is_even  # ...but this output has no inside
    (t, b), _ = p.edge
    assert t + b >= p.output_size[0]
    # brute force: no output row equals the interior count (every one sees padding or a partial kernel)
    rows = naive_profile(list(config.stack), size)
    assert all(v != p.axes[0].tile[0] for v in rows)
    assert main(["analyze", spec, "--input-size", str(size), str(size)]) == 0
    text = capsys.readouterr().out
    assert "even      no: there is no interior" in text and "every output pixel is border" in text
    assert "the interior is flat" not in text
    assert main(["analyze", spec, "--input-size", str(size), str(size), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["has_interior"] is False and data["is_even"] is False and data["interior"] == [0, 0]


def test_a_larger_input_has_an_interior():
    p = overlap_pattern("ConvTranspose2d(4, stride=2, padding=1) * 5", input_size=(8, 8))
    assert p.has_interior and p.is_even and p.interior == (256 - 62, 256 - 62)


# ---------------------------------------------------------------- the artifact listing is the 2D one


def _listing_2d(pattern):
    """The O(P^2) reference: every non-DC bin of the ph x pw plane, one per conjugate pair, sorted."""
    rel = np.multiply.outer(pattern.axes[0].spectrum, pattern.axes[1].spectrum)
    ph, pw = rel.shape

    def signed(m, p):
        f = Fraction(m, p)
        return f - 1 if f > Fraction(1, 2) else f

    found = [(signed(a, ph), signed(b, pw), float(rel[a, b])) for a in range(ph) for b in range(pw)
             if (a, b) != (0, 0) and rel[a, b] != 0]
    found = [f for f in found if not (f[0] < 0 or (f[0] in (0, Fraction(1, 2)) and f[1] < 0))]
    return sorted(found, key=lambda f: (-f[2], f[0], f[1]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks, st.integers(1, 40))
def test_strongest_artifacts_equal_the_full_2d_listing(layers, limit):
    p = overlap_pattern(Stack(layers))
    assume(p.period[0] * p.period[1] <= 4096)
    full = _listing_2d(p)
    assert p.artifact_count == len(full)
    got = p.strongest_artifacts(limit)
    # equal products of unequal factors may differ in their last bit: amplitudes agree to 1e-9, and every
    # listed frequency is an artifact (the order of such near-ties is not part of the contract)
    assert [round(a, 9) for *_, a in got] == [round(a, 9) for *_, a in full[:limit]]
    listed = {(fy, fx): a for fy, fx, a in full}
    assert all((fy, fx) in listed and abs(listed[fy, fx] - a) <= 1e-12 for fy, fx, a in got)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(layer, st.just(ReLU())), min_size=1, max_size=5))
def test_prefix_patterns_equal_one_pattern_per_prefix(layers):
    from checkerlab.analytics.overlap import prefix_patterns

    stack = Stack(layers)
    for i, got in enumerate(prefix_patterns(stack)):
        want = overlap_pattern(stack[: i + 1])
        assert got.period == want.period and got.edge == want.edge
        assert all(np.array_equal(g.tile, w.tile) for g, w in zip(got.axes, want.axes, strict=True))
