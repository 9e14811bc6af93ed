"""Tests of kernels/: properties against tests/naive_kernels.py, cross-checks against PyTorch (skipped when
torch is absent), validation messages, and the on-disk compile cache."""

import json
import os
import subprocess
import sys
from pathlib import Path

import naive_kernels as naive
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checkerlab import kernels
from checkerlab.kernels import gather

ROOT = Path(__file__).resolve().parents[1]
FLOATS = [np.float32, np.float64]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_close(got, ref, dtype):
    """float64 to ~1e-12, float32 to ~1e-5, relative to the size of the terms."""
    scale = max(1.0, float(np.abs(ref).max()))
    tol = 1e-11 if dtype == np.float64 else 2e-5
    assert got.dtype == dtype
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol * scale)


def pairs(lo, hi):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


@st.composite
def transposed_cases(draw):
    groups = draw(st.integers(1, 3))
    c_ig, c_og = draw(st.integers(1, 3)), draw(st.integers(1, 6))  # c_og 5, 6: a 4-block plus a remainder
    k = draw(pairs(1, 5))
    s = draw(pairs(1, 4))
    d = draw(pairs(1, 3))
    p = draw(pairs(0, 3))
    op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d, strict=True))
    hw = draw(pairs(1, 6))
    out = [(hw[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1 for a in range(2)]
    assume(min(out) >= 1)
    return dict(n=draw(st.integers(1, 2)), groups=groups, c_ig=c_ig, c_og=c_og, k=k, s=s, d=d, p=p, op=op,
                hw=hw, dtype=draw(st.sampled_from(FLOATS)), bias=draw(st.booleans()),
                seed=draw(st.integers(0, 99)))


@SETTINGS
@given(transposed_cases())
def test_conv_transpose2d_matches_scatter_definition(case):
    rng = np.random.default_rng(case["seed"])
    g, dtype = case["groups"], case["dtype"]
    x = rng.standard_normal((case["n"], g * case["c_ig"], *case["hw"])).astype(dtype)
    w = rng.standard_normal((g * case["c_ig"], case["c_og"], *case["k"]))
    b = rng.standard_normal(g * case["c_og"]) if case["bias"] else None
    kw = dict(stride=case["s"], padding=case["p"], output_padding=case["op"], dilation=case["d"], groups=g)
    got = kernels.conv_transpose2d(x, w, b, **kw)
    ref = naive.conv_transpose2d(x, w.astype(dtype), None if b is None else b.astype(dtype), **kw)
    assert_close(got, ref, dtype)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    c_ig, c_og = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    k = draw(pairs(1, 4))
    s = draw(pairs(1, 3))
    d = draw(pairs(1, 3))
    padding = draw(st.one_of(st.integers(0, 3), pairs(0, 3), st.tuples(*[st.integers(0, 3)] * 4)))
    hw = draw(pairs(1, 8))
    pad4 = ((padding,) * 4 if isinstance(padding, int) else
            (padding[0], padding[0], padding[1], padding[1]) if len(padding) == 2 else padding)
    assume(hw[0] + pad4[0] + pad4[1] >= d[0] * (k[0] - 1) + 1)
    assume(hw[1] + pad4[2] + pad4[3] >= d[1] * (k[1] - 1) + 1)
    return dict(n=draw(st.integers(1, 2)), groups=groups, c_ig=c_ig, c_og=c_og, k=k, s=s, d=d,
                padding=padding, hw=hw, dtype=draw(st.sampled_from(FLOATS)), bias=draw(st.booleans()),
                seed=draw(st.integers(0, 99)))


@SETTINGS
@given(conv_cases())
def test_conv2d_matches_direct_definition(case):
    rng = np.random.default_rng(case["seed"])
    g, dtype = case["groups"], case["dtype"]
    x = rng.standard_normal((case["n"], g * case["c_ig"], *case["hw"])).astype(dtype)
    w = rng.standard_normal((g * case["c_og"], case["c_ig"], *case["k"]))
    b = rng.standard_normal(g * case["c_og"]) if case["bias"] else None
    kw = dict(stride=case["s"], padding=case["padding"], dilation=case["d"], groups=g)
    got = kernels.conv2d(x, w, b, **kw)
    ref = naive.conv2d(x, w.astype(dtype), None if b is None else b.astype(dtype), **kw)
    assert_close(got, ref, dtype)


@SETTINGS
@given(scale=st.one_of(st.integers(1, 5), pairs(1, 5)), hw=pairs(1, 7), lead=st.sampled_from([(3,), (2, 3)]),
       dtype=st.sampled_from(FLOATS), seed=st.integers(0, 99))
def test_upsampling_matches_index_formulas(scale, hw, lead, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((*lead, *hw)).astype(dtype)
    near = kernels.upsample_nearest2d(x, scale)
    assert near.dtype == dtype
    np.testing.assert_array_equal(near, naive.upsample_nearest2d(x, scale))  # pure copy: exact
    assert_close(kernels.upsample_bilinear2d(x, scale), naive.upsample_bilinear2d(x, scale), dtype)


@SETTINGS
@given(r=st.integers(1, 4), c=st.integers(1, 3), hw=pairs(1, 5), batched=st.booleans(),
       dtype=st.sampled_from(FLOATS), seed=st.integers(0, 99))
def test_pixel_shuffle_matches_index_formula(r, c, hw, batched, dtype, seed):
    shape = ((2,) if batched else ()) + (c * r * r, *hw)
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    got = kernels.pixel_shuffle(x, r)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, naive.pixel_shuffle(x, r))


SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 1000.0, -1000.0])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, args", [("relu", ()), ("leaky_relu", ()), ("leaky_relu", (0.2,)),
                                        ("tanh", ()), ("sigmoid", ())])
def test_activations_match_formulas(name, args, dtype):
    x = np.concatenate([SPECIALS, np.random.default_rng(0).standard_normal(200) * 10]).astype(dtype)
    x = x.reshape(1, 1, 211)
    before = x.copy()
    got = getattr(kernels, name)(x, *args)
    ref = getattr(naive, name)(x, *args)
    assert got.dtype == dtype and got.shape == x.shape
    assert got is not x and not np.shares_memory(got, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref.astype(dtype), rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_array_equal(x, before)


def test_overlap_map_is_exact_integer_counts():
    """All-ones input and kernels give exact integer overlap counts (DESIGN.md sections 4 and 5)."""
    y = kernels.conv_transpose2d(np.ones((1, 1, 16, 16), np.float32), np.ones((1, 1, 3, 3)), stride=2)
    np.testing.assert_array_equal(y[0, 0, 2:6, 2:6], np.outer([2, 1, 2, 1], [2, 1, 2, 1]))  # k3 s2: [2, 1]
    # two (3, 2) layers then a stride-1 k=2 conv: the period-2 artifact goes, the period-4 one leaks
    z = np.ones((1, 1, 12, 12))
    for _ in range(2):
        z = kernels.conv_transpose2d(z, np.ones((1, 1, 3, 3)), stride=2)
    z = kernels.conv2d(z, np.ones((1, 1, 2, 2)))
    tile = z[0, 0, 20:24, 20:24]
    v = np.sqrt(np.diag(tile))
    np.testing.assert_array_equal(tile, np.outer(v, v))  # separable
    assert any(np.array_equal(np.roll(v, r), [5, 5, 4, 4]) for r in range(4))
    np.testing.assert_array_equal(z[0, 0, 24:28, 20:24], tile)  # period 4


def test_infinities_propagate_without_spurious_nan():
    """A zero-weight padding term must never multiply real data (0 * inf would be NaN)."""
    x = np.zeros((1, 1, 5, 6), np.float32)
    x[0, 0, 2, 3] = np.inf
    w = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    got = kernels.conv_transpose2d(x, w, stride=2)
    ref = naive.conv_transpose2d(x, w, stride=2)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(got, ref.astype(np.float32))
    assert np.isinf(got).sum() == 9 and not np.isnan(got).any()


@pytest.mark.parametrize("dtype", FLOATS)
def test_chw_in_chw_out_and_input_untouched(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 7)).astype(dtype)
    before = x.copy()
    w_t = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)  # weights are cast to x's dtype
    y = kernels.conv_transpose2d(x, w_t, stride=2)
    assert y.shape == (3, 11, 15) and y.dtype == dtype
    assert_close(y, naive.conv_transpose2d(x[None], w_t.astype(dtype), stride=2)[0], dtype)
    y = kernels.conv2d(x, rng.standard_normal((4, 2, 3, 3)), padding=1)
    assert y.shape == (4, 5, 7) and y.dtype == dtype
    for f in (kernels.upsample_nearest2d, kernels.upsample_bilinear2d):
        assert f(x, 2).shape == (2, 10, 14)
    np.testing.assert_array_equal(x, before)


def test_non_contiguous_input():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((1, 4, 9, 16))
    x = base[:, ::2, :, ::2]
    w = rng.standard_normal((2, 3, 4, 4))
    assert_close(kernels.conv_transpose2d(x, w, stride=2, padding=1),
                 naive.conv_transpose2d(np.ascontiguousarray(x), w, stride=2, padding=1), np.float64)


@pytest.mark.parametrize("dtype, stride, dilation, padding", [(np.float32, 2, 1, 1), (np.float64, (3, 2), (1, 2), 2)])
def test_planes_longer_than_a_chunk(dtype, stride, dilation, padding):
    """Planes spanning several accumulator chunks and runs of chunks, with a 4-block plus a remainder."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((1, 2, 18, 50)).astype(dtype)
    w = rng.standard_normal((2, 5, 3, 4))
    b = rng.standard_normal(5)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    assert_close(kernels.conv_transpose2d(x, w, b, **kw), naive.conv_transpose2d(x, w.astype(dtype),
                                                                                  b.astype(dtype), **kw), dtype)
    wc = rng.standard_normal((5, 2, 3, 3))
    kw = dict(padding=padding, dilation=dilation)  # stride 1: one plane of ~1000 elements
    assert_close(kernels.conv2d(x, wc, b, **kw), naive.conv2d(x, wc.astype(dtype), b.astype(dtype), **kw), dtype)


def test_large_shapes_block_and_chunk_boundaries():
    """Many channels (several 4-channel blocks), planes longer than one chunk, batch > 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 40, 70)).astype(np.float32)
    w = rng.standard_normal((9, 7, 4, 4)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    got = kernels.conv_transpose2d(x, w, b, stride=2, padding=1)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                               stride=2, padding=1).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)
    wc = rng.standard_normal((11, 9, 3, 3)).astype(np.float32)
    got = kernels.conv2d(x, wc, padding=1)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(wc), padding=1).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------------------------------------
# Cross-checks against PyTorch
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k, s, p, op, d, groups", [
    (3, 2, 0, 0, 1, 1), (4, 2, 1, 0, 1, 1), (3, 2, 1, 1, 1, 1), (5, 3, 2, 2, 1, 1), ((3, 4), (2, 3), (1, 0),
                                                                                      (1, 2), (1, 1), 1),
    (3, 2, 1, 0, 2, 1), (2, 1, 0, 0, 3, 1), (4, 2, 1, 0, 1, 2), (3, 2, 0, 1, 1, 4), (1, 4, 0, 3, 1, 1),
])
def test_conv_transpose2d_matches_torch(k, s, p, op, d, groups, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 11, 13)).astype(dtype)
    w = rng.standard_normal((4, 5, *((k, k) if isinstance(k, int) else k))).astype(dtype)
    b = rng.standard_normal(5 * groups).astype(dtype)
    got = kernels.conv_transpose2d(x, w, b, s, p, op, d, groups)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                               s, p, op, groups, d).numpy()
    assert_close(got, ref.astype(np.float64), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k, s, p, d, groups", [
    (3, 1, 1, 1, 1), (4, 2, 1, 1, 1), (3, 2, 0, 2, 2), ((2, 5), (3, 1), (0, 2), (1, 2), 1), (1, 1, 0, 1, 4),
])
def test_conv2d_matches_torch(k, s, p, d, groups, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 12, 9)).astype(dtype)
    w = rng.standard_normal((8, 4 // groups, *((k, k) if isinstance(k, int) else k))).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    got = kernels.conv2d(x, w, b, s, p, d, groups)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                     s, p, d, groups).numpy()
    assert_close(got, ref.astype(np.float64), dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k, d", [(2, 1), (4, 1), (3, 2), (4, 3)])
def test_conv2d_asymmetric_padding_is_torch_same(k, d):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 10, 7))
    w = rng.standard_normal((3, 2, k, k))
    total = d * (k - 1)
    before = total // 2
    got = kernels.conv2d(x, w, padding=(before, total - before, before, total - before), dilation=d)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=d)
    assert got.shape == x.shape[:1] + (3,) + x.shape[2:]
    assert_close(got, ref.numpy(), np.float64)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("scale", [1, 2, 3, 4, (2, 3), (5, 1)])
def test_upsampling_matches_torch(scale, dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).standard_normal((2, 3, 5, 6)).astype(dtype)
    xt = torch.from_numpy(x)
    sf = scale if isinstance(scale, tuple) else (scale, scale)
    near = torch.nn.functional.interpolate(xt, scale_factor=sf, mode="nearest").numpy()
    np.testing.assert_array_equal(kernels.upsample_nearest2d(x, scale), near)
    bil = torch.nn.functional.interpolate(xt, scale_factor=sf, mode="bilinear", align_corners=False).numpy()
    # torch forms the source coordinate with a rounded 1/s; float32 agrees to a few ulp
    np.testing.assert_allclose(kernels.upsample_bilinear2d(x, scale), bil, rtol=0,
                               atol=1e-12 if dtype == np.float64 else 2e-6)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_pixel_shuffle_matches_torch(r):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(10).standard_normal((2, 2 * r * r, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(kernels.pixel_shuffle(x, r),
                                  torch.nn.functional.pixel_shuffle(torch.from_numpy(x), r).numpy())


@pytest.mark.parametrize("dtype", FLOATS)
def test_activations_match_torch(dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([SPECIALS, np.random.default_rng(11).standard_normal(100) * 20]).astype(dtype)
    xt = torch.from_numpy(x)
    f = torch.nn.functional
    for ours, ref in [(kernels.relu(x), torch.relu(xt)), (kernels.leaky_relu(x), f.leaky_relu(xt)),
                      (kernels.leaky_relu(x, 0.3), f.leaky_relu(xt, 0.3)), (kernels.tanh(x), torch.tanh(xt)),
                      (kernels.sigmoid(x), torch.sigmoid(xt))]:
        np.testing.assert_allclose(ours, ref.numpy(), rtol=4 * np.finfo(dtype).eps, atol=0)


# ---------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------

X = np.zeros((1, 3, 4, 4), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: kernels.conv_transpose2d(X, np.zeros((4, 2, 3, 3))),
     r"conv_transpose2d: weight has 4 input channels but x has 3"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding\[0\]=2 must be smaller than either stride \(2\) or dilation \(1\)"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), stride=0),
     r"conv_transpose2d: stride must be an integer >= 1, got 0"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), padding=(1, -1)),
     r"conv_transpose2d: padding must be an integer >= 0, got -1"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), dilation=(1, 2, 3)),
     r"conv_transpose2d: dilation must be an int or a pair \(h, w\)"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), groups=2),
     r"conv_transpose2d: groups=2 must divide the 3 input channels of x"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), padding=5),
     r"conv_transpose2d: the output size \(-4, -4\) must be positive"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3, 3)), bias=np.zeros(3)),
     r"conv_transpose2d: bias must have shape \(2,\)"),
    (lambda: kernels.conv_transpose2d(X, np.zeros((3, 2, 3))), r"conv_transpose2d: weight must be 4-D"),
    (lambda: kernels.conv_transpose2d(X.astype(np.int64), np.zeros((3, 2, 3, 3))),
     r"conv_transpose2d: x must be float32 or float64, got int64"),
    (lambda: kernels.conv_transpose2d(X[0, 0], np.zeros((3, 2, 3, 3))),
     r"conv_transpose2d: x must be 3-D \(C, H, W\) or 4-D \(N, C, H, W\)"),
    (lambda: kernels.conv2d(X, np.zeros((2, 2, 3, 3))),
     r"conv2d: weight has 2 input channels per group but x has 3"),
    (lambda: kernels.conv2d(X, np.zeros((3, 1, 3, 3)), groups=3, stride=(1, 0)),
     r"conv2d: stride must be an integer >= 1, got 0"),
    (lambda: kernels.conv2d(X, np.zeros((4, 1, 3, 3)), groups=3),
     r"conv2d: groups=3 must divide the 4 output channels of weight"),
    (lambda: kernels.conv2d(X, np.zeros((2, 3, 5, 5))), r"conv2d: the padded input \(4, 4\) is smaller than"),
    (lambda: kernels.conv2d(X, np.zeros((2, 3, 3, 3)), padding=(1, 1, 1)),
     r"conv2d: padding must be an int, a pair \(h, w\) or \(top, bottom, left, right\)"),
    (lambda: kernels.upsample_bilinear2d(X, 0), r"upsample_bilinear2d: scale must be an integer >= 1, got 0"),
    (lambda: kernels.upsample_nearest2d(X, 1.5), r"upsample_nearest2d: scale must be an integer >= 1"),
    (lambda: kernels.pixel_shuffle(X, 2),
     r"pixel_shuffle: the 3 channels of x must be divisible by r\^2 = 4"),
    (lambda: kernels.relu([1, 2]), r"relu: x must be float32 or float64, got int64"),
    (lambda: kernels.leaky_relu(X, "a"), r"leaky_relu: negative_slope must be a real number"),
])
def test_validation_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------------------


def test_entry_points_are_nogil_parallel_cached_and_safe_fastmath():
    worker, driver = gather.compiled()
    for d in (worker, driver):
        assert d.targetoptions["nogil"] is True
        assert d._cache.__class__.__name__ == "FunctionCache"  # cache=True
        assert not {"nnan", "ninf", "fast"} & set(d.targetoptions["fastmath"])
    assert driver.targetoptions["parallel"] is True
    assert len(worker.signatures) == len(driver.signatures) == 2  # one per dtype, nothing else


PROBE = r"""
import json
import numpy as np
from checkerlab import kernels
from checkerlab.kernels import gather
for dt in (np.float32, np.float64):
    x = np.ones((1, 2, 5, 5), dt)
    kernels.conv_transpose2d(x, np.ones((2, 3, 3, 3)), stride=2)
    kernels.conv2d(x, np.ones((3, 2, 3, 3)), padding=1)
    kernels.upsample_bilinear2d(x, 2)
stats = [d.stats for d in gather.compiled()]
hits = sum(sum(s.cache_hits.values()) for s in stats)
print(json.dumps([hits, sum(sum(s.cache_misses.values()) for s in stats)]))
"""


def test_second_process_compiles_nothing(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    results = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    (hits1, misses1), (hits2, misses2) = results
    assert misses1 == 4 and hits1 == 0  # empty cache: worker + driver, float32 + float64
    assert misses2 == 0 and hits2 == 4
    assert any(tmp_path.rglob("*.nbi"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_read_only_inputs_are_accepted(dtype):
    """np.broadcast_to views and frombuffer data are read-only; the compiled kernels must still take them."""
    x = np.broadcast_to(np.ones((1, 1, 1, 1), dtype), (1, 1, 5, 6))
    w = np.broadcast_to(np.ones((1, 1, 1, 1), dtype), (1, 1, 3, 3))
    b = np.zeros(1, dtype)
    b.flags.writeable = False
    ones_x, ones_w = np.ones((1, 1, 5, 6)), np.ones((1, 1, 3, 3))
    assert np.array_equal(kernels.conv_transpose2d(x, w, b, stride=2), naive.conv_transpose2d(ones_x, ones_w, stride=2))
    assert np.array_equal(kernels.conv2d(x, w, b), naive.conv2d(ones_x, ones_w))
    assert kernels.upsample_bilinear2d(x[0], 2).shape == (1, 10, 12)
