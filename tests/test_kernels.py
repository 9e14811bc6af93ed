"""Tests of kernels/: properties against tests/naive_kernels.py, cross-checks against PyTorch (skipped when
torch is absent), validation messages, and the on-disk compile cache."""

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import naive_kernels as naive
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numba import njit

from checkerlab import kernels
from checkerlab.kernels.simd import copy_n, lanes, vdeal2_n, vdeal3_n, vstore_n
from checkerlab.kernels.threads import ME, _load, claim

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


def case_arrays(case, transposed):
    """x, weight, bias (or None) of a drawn case, in its dtype."""
    rng = np.random.default_rng(case["seed"])
    g, dtype = case["groups"], case["dtype"]
    x = rng.standard_normal((case["n"], g * case["c_ig"], *case["hw"])).astype(dtype)
    w_shape = (g * case["c_ig"], case["c_og"]) if transposed else (g * case["c_og"], case["c_ig"])
    w = rng.standard_normal((*w_shape, *case["k"])).astype(dtype)
    b = rng.standard_normal(g * case["c_og"]).astype(dtype) if case["bias"] else None
    return x, w, b


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


SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 3.0, -3.0, 20.0, -20.0, 88.0, -88.0,
                     1000.0, -1000.0])
# (name, keyword arguments) of every activation, as torch.nn.functional calls them
ACTIVATIONS = [("relu", {}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
               ("elu", {}), ("elu", {"alpha": 0.5}), ("silu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
               ("tanh", {}), ("sigmoid", {}), ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
               ("hardswish", {}), ("hardsigmoid", {}), ("mish", {})]


def activation_input(dtype, seed=0, n=400):
    x = np.concatenate([SPECIALS, np.random.default_rng(seed).standard_normal(n) * 6])
    return x.astype(dtype).reshape(1, -1, 1)


def assert_activation_close(got, ref, dtype):
    """NaN where the reference is NaN, else within a few ulp of the float64 formula (absolute near 0)."""
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    tol = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, ref.astype(dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, kw", ACTIVATIONS)
def test_activations_match_formulas(name, kw, dtype):
    x = activation_input(dtype)
    before = x.copy()
    got = getattr(kernels, name)(x, **kw)
    assert got.shape == x.shape and not np.shares_memory(got, x)
    assert_activation_close(got, getattr(naive, name)(x, **kw), dtype)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", FLOATS)
def test_prelu_is_per_channel(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    w = np.array([0.1, -2.0, 0.5])
    assert_activation_close(kernels.prelu(x, w), naive.prelu(x, w), dtype)
    assert_activation_close(kernels.prelu(x, [0.25]), naive.prelu(x, [0.25]), dtype)  # one shared weight
    assert_activation_close(kernels.prelu(x[0, 0, 0], [0.25]), naive.prelu(x[0, 0, 0], [0.25]), dtype)
    with pytest.raises(ValueError, match=r"prelu: weight has 2 values; it needs 1 or 3"):
        kernels.prelu(x, [1.0, 2.0])


def test_activations_large_arrays_run_in_parallel_chunks():
    """Arrays above PARALLEL_MIN are split into chunks across threads: the same values as small pieces."""
    from checkerlab.kernels import activations
    x = np.random.default_rng(2).standard_normal((3, 5, 97, 101)).astype(np.float32)
    assert x.size > activations.PARALLEL_MIN and x[0, 0].size < activations.PARALLEL_MIN
    pieces = np.array([[kernels.silu(x[n, c]) for c in range(5)] for n in range(3)])
    np.testing.assert_array_equal(kernels.silu(x), pieces)
    np.testing.assert_array_equal(kernels.prelu(x, np.arange(5) / 5)[:, 2], kernels.prelu(x[:, 2:3], [0.4])[:, 0])


def test_the_issue_13_activations_run_in_the_conv_output_loop():
    """ReLU, LeakyReLU (and PReLU), SiLU, GELU and Tanh are applied inside the convolutions' output loop (no
    pass of their own); the rare elu/hardswish/hardsigmoid and the ufunc ones run after it."""
    from checkerlab.kernels.activations import Activation
    for name in ("relu", "leaky_relu", "silu", "gelu", "tanh", "sigmoid", "hardtanh", "relu6"):
        assert Activation(name).fused, name
    assert Activation("prelu", weight=[0.2]).fused
    for name in ("elu", "hardswish", "hardsigmoid", "mish"):
        assert not Activation(name).fused, name
    assert not Activation("gelu", approximate="tanh").fused


@pytest.mark.parametrize("dtype", FLOATS)
def test_tanh_is_within_a_few_ulp_everywhere(dtype):
    """The vectorised tanh (Cephes' rational form below |x| = 0.625, 1 - 2/(exp(2x) + 1) above) against
    float64 NumPy over the whole range, both sides of the switch, tiny, huge, signed zeros, inf and NaN."""
    tiny = np.finfo(dtype).tiny
    x = np.concatenate([np.linspace(-25, 25, 100001), np.geomspace(tiny, 20, 5000), -np.geomspace(tiny, 20, 5000),
                        np.nextafter(dtype(0.625), dtype([0, 1])), [0.0, -0.0, 1e30, -1e30]]).astype(dtype)
    got, ref = kernels.tanh(x), np.tanh(x.astype(np.float64))
    ulp = np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), tiny).astype(dtype))
    assert ulp.max() <= 3, x[ulp.argmax()]
    np.testing.assert_array_equal(kernels.tanh(np.array([np.inf, -np.inf], dtype)), [1, -1])
    assert np.isnan(kernels.tanh(np.array([np.nan], dtype))).all()


@pytest.mark.parametrize("name, kw", [("gelu", {"approximate": "tanh"}), ("mish", {})])
def test_vectorised_activations_split_over_threads(name, kw):
    """The NumPy-ufunc activations above UFUNC_PARALLEL_MIN run in blocks on the kernels' threads: bit for bit
    the values of small single-threaded pieces, within a few ulp of the float64 formula, input untouched."""
    from checkerlab.kernels import activations
    x = np.random.default_rng(3).standard_normal((3, 9, 197, 101)).astype(np.float32) * 6
    x[1, 2, 3, 4], x[2, 8, 0, 0] = np.nan, -np.inf
    assert x.size > activations.UFUNC_PARALLEL_MIN > x[0].size and activations.Activation(name, **kw).vectorised
    before = x.copy()
    f = getattr(kernels, name)
    got = f(x[:, ::-1], **kw)  # a non-contiguous view
    np.testing.assert_array_equal(got, np.array([f(x[n, ::-1], **kw) for n in range(3)]))
    assert_activation_close(got, getattr(naive, name)(x[:, ::-1].astype(np.float64), **kw), np.float32)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, kw", [*ACTIVATIONS, ("prelu", {"weight": [0.1, -0.5, 2.0, 0.3, 0.0]})])
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "depthwise"])
def test_fused_activation_equals_the_standalone_pass(op, name, kw, dtype):
    """bias + activation fused into the conv give bit for bit the conv followed by the standalone activation (in
    the output loop, or for the `VECTORISED` ones as the same NumPy ufunc pass after it), and
    return_preactivation gives the conv's own output alongside."""
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((2, 5, 9, 11)) * 3).astype(dtype)
    x[0, 1, 2, 3] = np.nan
    b = rng.standard_normal(5).astype(dtype)
    if op == "conv2d":
        f, w, hyper = kernels.conv2d, rng.standard_normal((5, 5, 3, 3)).astype(dtype), dict(padding=1)
    elif op == "depthwise":
        f, w, hyper = kernels.conv2d, rng.standard_normal((5, 1, 3, 3)).astype(dtype), dict(padding=1, groups=5)
    else:
        f, w, hyper = kernels.conv_transpose2d, rng.standard_normal((5, 5, 3, 3)).astype(dtype), dict(stride=2)
    plain = f(x, w, b, **hyper)
    act = kernels.Activation(name, **kw)
    expected = getattr(kernels, name)(plain, **kw)
    same = np.testing.assert_array_equal
    same(f(x, w, b, **hyper, activation=act), expected)
    y, pre = f(x, w, b, **hyper, activation=act, return_preactivation=True)
    same(y, expected)
    np.testing.assert_array_equal(pre, plain)
    if not kw:  # a plain name works too
        same(f(x[0], w, b, **hyper, activation=name), expected[0])


def test_return_preactivation_without_activation_is_the_output_twice():
    x = np.ones((1, 2, 4, 4))
    y, pre = kernels.conv2d(x, np.ones((3, 2, 3, 3)), return_preactivation=True)
    assert y is pre and y.shape == (1, 3, 2, 2)


@pytest.mark.parametrize("activation, message", [
    ("swish", r"activation must be one of relu, relu6, leaky_relu, prelu, elu, silu, gelu"),
    (3, r"activation must be None, a name such as 'relu' or an Activation, got 3"),
])
def test_bad_activation_argument(activation, message):
    with pytest.raises(ValueError, match=message):
        kernels.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 1, 1)), activation=activation)


@pytest.mark.parametrize("name, kw, message", [
    ("gelu", {"approximate": "fast"}, r"gelu: approximate must be 'none' or 'tanh', got 'fast'"),
    ("leaky_relu", {"slope": 0.1}, r"leaky_relu: unexpected keyword 'slope'; allowed: negative_slope"),
    ("relu", {"inplace": True}, r"relu: unexpected keyword 'inplace'; allowed: none"),
    ("elu", {"alpha": float("nan")}, r"elu: alpha must be a finite real number, got nan"),
    ("hardtanh", {"min_val": 1.0, "max_val": -1.0}, r"hardtanh: max_val \(-1.0\) must be >= min_val \(1.0\)"),
    ("prelu", {}, r"prelu: weight must be a 1-D real array of 1 or C values, got None"),
    ("prelu", {"weight": np.ones((2, 2))}, r"prelu: weight must be a 1-D real array of 1 or C values, got \(2, 2\)"),
])
def test_activation_validation(name, kw, message):
    with pytest.raises(ValueError, match=message):
        kernels.Activation(name, **kw)


@pytest.fixture
def matrix_products(monkeypatch):
    """Every pointwise op of any size takes the matrix-product path (kernels/gemm.py)."""
    from checkerlab.kernels import conv
    monkeypatch.setattr(conv, "GEMM_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv, "GEMM_MIN_WORK", 0)
    monkeypatch.setattr(conv, "STREAM_MAX_CHANNELS", 0)  # not `pointwise.Pointwise`
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()
    yield
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("transposed, k, groups", [(False, 1, 1), (False, 1, 3), (True, 2, 1), (True, (3, 2), 3),
                                                   (True, 1, 1)])
@pytest.mark.parametrize("blas_control", [True, False])
def test_pointwise_matrix_product_path(matrix_products, monkeypatch, blas_control, transposed, k, groups, dtype):
    """1x1 conv2d and kernel == stride transposed convs as BLAS products, with bias, activation and
    pre-activation, equal the definitions: as lowered jobs reading x itself (numpy's OpenBLAS held to one
    thread per job) or, without control of the BLAS threads, as one product per image and group on every core
    and the direct kernel for a caller limited to fewer threads."""
    from checkerlab.kernels import conv, threads
    if not blas_control:
        monkeypatch.setitem(threads._blas, "fns", None)
    elif threads._openblas() is None:
        pytest.skip("numpy's BLAS is not a bundled OpenBLAS")
    rng = np.random.default_rng(14)
    k2 = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((2, 3 * groups, 5, 7)).astype(dtype)
    b = rng.standard_normal(2 * groups).astype(dtype)
    if transposed:
        w = rng.standard_normal((3 * groups, 2, *k2)).astype(dtype)
        f, kw = kernels.conv_transpose2d, dict(stride=k2, groups=groups)
        ref = naive.conv_transpose2d(x, w, b, **kw)
        assert conv._transposed_plan(x.shape, x.dtype, w.shape, k2, 0, 0, 1, groups).pointwise
    else:
        w = rng.standard_normal((2 * groups, 3, 1, 1)).astype(dtype)
        f, kw = kernels.conv2d, dict(groups=groups)
        ref = naive.conv2d(x, w, b, **kw)
        assert conv._conv_plan(x.shape, x.dtype, w.shape, 1, 0, 1, groups).pointwise
    y, pre = f(x, w, b, **kw, activation="leaky_relu", return_preactivation=True)
    assert_close(pre, ref, dtype)
    assert_close(y, naive.leaky_relu(ref), dtype)
    assert_close(f(x[0], w, b, **kw), ref[0], dtype)
    no_bias = naive.conv_transpose2d(x, w, None, **kw) if transposed else naive.conv2d(x, w, None, **kw)
    assert_close(f(x, w, None, **kw), no_bias, dtype)  # a 1x1 conv without bias is the product alone
    from checkerlab.kernels import gemm
    ran = []
    run = gemm.Lowering.run
    monkeypatch.setattr(gemm.Lowering, "run", lambda self, *a: ran.append(1) or run(self, *a))
    with threads.limited(1):  # the caller limits the threads: lowered jobs reading x, or the direct kernel
        assert_close(f(x, w, b, **kw, activation="leaky_relu"), naive.leaky_relu(ref), dtype)
        assert_close(f(x, w, None, **kw), no_bias, dtype)
    assert len(ran) == (2 if blas_control else 0)


@pytest.fixture(params=["rows", "lanes"])
def simd_route(monkeypatch, request):
    """Every dense op with 2+ output channels per group takes one of the SIMD register-block routes
    (kernels/direct.py: output positions or output channels in the vector lanes), whatever its size or
    stride."""
    from checkerlab.kernels import conv
    monkeypatch.setattr(conv, "ROUTE", request.param)
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()
    yield
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()


@st.composite
def wide_cases(draw):
    """Shapes for the SIMD route's boundaries: rows narrower and wider than its 4-vector tiles, several bands,
    input-channel blocks (up to 40 channels), channel remainders of its 4-channel and 32-channel blocks, any
    stride, dilation and padding."""
    groups = draw(st.integers(1, 2))
    c_ig, c_og = draw(st.sampled_from([1, 3, 40])), draw(st.sampled_from([2, 3, 5, 9, 17, 33, 40]))
    k, s, d, p = draw(pairs(1, 4)), draw(pairs(1, 3)), draw(pairs(1, 2)), draw(pairs(0, 2))
    hw = (draw(st.integers(1, 24)), draw(st.integers(1, 80)))
    return dict(n=draw(st.integers(1, 2)), groups=groups, c_ig=c_ig, c_og=c_og, k=k, s=s, d=d, p=p, hw=hw,
                dtype=draw(st.sampled_from(FLOATS)), seed=draw(st.integers(0, 99)),
                activation=draw(st.sampled_from([None, "relu", "leaky_relu", "elu", "silu"])))


@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=wide_cases(), transposed=st.booleans())
def test_simd_route_matches_definitions(simd_route, case, transposed):
    """Each SIMD route (forced) with bias, activation and pre-activation equals the scatter/direct
    definitions, including the output phases of strided transposed convs."""
    rng = np.random.default_rng(case["seed"])
    g, dtype, act = case["groups"], case["dtype"], case["activation"]
    x = rng.standard_normal((case["n"], g * case["c_ig"], *case["hw"])).astype(dtype)
    b = rng.standard_normal(g * case["c_og"]).astype(dtype)
    if transposed:
        op = tuple(min(1, max(si, di) - 1) for si, di in zip(case["s"], case["d"], strict=True))
        out = [(case["hw"][a] - 1) * case["s"][a] - 2 * case["p"][a] + case["d"][a] * (case["k"][a] - 1) + op[a] + 1
               for a in range(2)]
        assume(min(out) >= 1)
        w = rng.standard_normal((g * case["c_ig"], case["c_og"], *case["k"])).astype(dtype)
        kw = dict(stride=case["s"], padding=case["p"], output_padding=op, dilation=case["d"], groups=g)
        f, ref = kernels.conv_transpose2d, naive.conv_transpose2d(x, w, b, **kw)
    else:
        assume(all(case["hw"][a] + 2 * case["p"][a] >= case["d"][a] * (case["k"][a] - 1) + 1 for a in range(2)))
        w = rng.standard_normal((g * case["c_og"], case["c_ig"], *case["k"])).astype(dtype)
        kw = dict(stride=case["s"], padding=case["p"], dilation=case["d"], groups=g)
        f, ref = kernels.conv2d, naive.conv2d(x, w, b, **kw)
    if act is None:
        assert_close(f(x, w, b, **kw), ref, dtype)
        return
    y, pre = f(x, w, b, **kw, activation=act, return_preactivation=True)
    assert_close(pre, ref, dtype)
    assert_close(y, getattr(naive, act)(ref), dtype)


@njit
def _deal_all(a, n, k, out):
    """The vectors of `simd.vdeal2_n` (k = 2) or `simd.vdeal3_n` (k = 3) of a[0:n], stored in out[p]."""
    if k == 2:
        v0, v1 = vdeal2_n(a, 0, n)
        vstore_n(out[0], 0, v0, out.shape[1])
        vstore_n(out[1], 0, v1, out.shape[1])
    else:
        v0, v1, v2 = vdeal3_n(a, 0, n)
        vstore_n(out[0], 0, v0, out.shape[1])
        vstore_n(out[1], 0, v1, out.shape[1])
        vstore_n(out[2], 0, v2, out.shape[1])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k", [2, 3])
def test_vdeal_n_deals_every_kth_element_of_the_first_n(dtype, k):
    """vector p holds a[p], a[p + k], ... of a[0:n], 0 past them (the masked load reads nothing beyond n)."""
    lv = lanes(dtype)
    for n in range(k * lv + 1):
        a = np.arange(1, n + 1, dtype=dtype)  # exactly n elements: nothing past them to read
        out = np.full((k, lv), -1, dtype)
        _deal_all(a, n, k, out)
        want = np.zeros(k * lv, dtype)
        want[:n] = a
        np.testing.assert_array_equal(out, want.reshape(lv, k).T)


@njit
def _copy(dst, d, src, s, n):
    copy_n(dst, d, src, s, n)


@pytest.mark.parametrize("dtype", FLOATS)
def test_copy_n_copies_exactly_n_elements_and_nothing_when_n_is_not_positive(dtype):
    src = np.arange(1, 11, dtype=dtype)
    for d, s, n in [(0, 0, 10), (2, 3, 5), (9, 0, 1), (4, 4, 0), (4, 4, -3)]:
        dst = np.full(10, -1, dtype)
        _copy(dst, d, src, s, n)
        want = np.full(10, -1, dtype)
        want[d : d + max(n, 0)] = src[s : s + max(n, 0)]
        np.testing.assert_array_equal(dst, want)


@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 2), c=st.integers(1, 5), hw=st.tuples(st.integers(1, 20), st.integers(1, 70)),
       k=pairs(1, 5), s=pairs(1, 3), d=pairs(1, 2), p=pairs(0, 2), dtype=st.sampled_from(FLOATS),
       activation=st.sampled_from([None, "relu", "silu"]), seed=st.integers(0, 99))
def test_depthwise_route_matches_definition(simd_route, n, c, hw, k, s, d, p, dtype, activation, seed):
    """Depthwise conv2d (groups = C_in = C_out) forced onto `direct.Depthwise` (the "rows" route; "lanes"
    leaves it on the gather kernel): rows narrower and wider than its 8-vector tiles, any stride, dilation
    and padding, bias, activation and pre-activation, against the direct definition."""
    assume(all(hw[a] + 2 * p[a] >= d[a] * (k[a] - 1) + 1 for a in range(2)))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((c, 1, *k)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    kw = dict(stride=s, padding=p, dilation=d, groups=c)
    ref = naive.conv2d(x, w, b, **kw)
    if activation is None:
        assert_close(kernels.conv2d(x, w, b, **kw), ref, dtype)
        return
    y, pre = kernels.conv2d(x, w, b, **kw, activation=activation, return_preactivation=True)
    assert_close(pre, ref, dtype)
    assert_close(y, getattr(naive, activation)(ref), dtype)


@pytest.fixture
def pointwise_route(monkeypatch):
    """1x1 unit-stride unpadded ops forced onto `pointwise.Pointwise` (as they are unless BLAS takes them)."""
    from checkerlab.kernels import conv
    monkeypatch.setattr(conv, "ROUTE", "pointwise")
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()
    yield
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()


@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 3), groups=st.integers(1, 3), c_ig=st.integers(1, 20), c_og=st.integers(1, 9),
       hw=st.tuples(st.integers(1, 40), st.integers(1, 90)), d=pairs(1, 2), transposed=st.booleans(),
       dtype=st.sampled_from(FLOATS), activation=st.sampled_from([None, "relu", "silu", "tanh", "elu"]),
       seed=st.integers(0, 99))
def test_pointwise_route_matches_definition(pointwise_route, n, groups, c_ig, c_og, hw, d, transposed, dtype,
                                            activation, seed):
    """Pointwise ops on `pointwise.Pointwise`: planes cut into several chunks and a partial last tile (any
    width), channel counts off its 4-channel blocks, groups, both ops, bias, activation and pre-activation,
    against the definitions."""
    from checkerlab.kernels import conv
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * c_ig, *hw)).astype(dtype)
    b = rng.standard_normal(groups * c_og).astype(dtype)
    if transposed:
        w = rng.standard_normal((groups * c_ig, c_og, 1, 1)).astype(dtype)
        kw = dict(dilation=d, groups=groups)
        f, ref = kernels.conv_transpose2d, naive.conv_transpose2d(x, w, b, **kw)
        plan = conv._transposed_plan(x.shape, x.dtype, w.shape, 1, 0, 0, d, groups)
    else:
        w = rng.standard_normal((groups * c_og, c_ig, 1, 1)).astype(dtype)
        kw = dict(dilation=d, groups=groups)
        f, ref = kernels.conv2d, naive.conv2d(x, w, b, **kw)
        plan = conv._conv_plan(x.shape, x.dtype, w.shape, 1, 0, d, groups)
    assert type(plan.simd).__name__ == "Pointwise"
    if activation is None:
        assert_close(f(x, w, b, **kw), ref, dtype)
        assert_close(f(x, w, None, **kw), ref - b[:, None, None], dtype)
        return
    y, pre = f(x, w, b, **kw, activation=activation, return_preactivation=True)
    assert_close(pre, ref, dtype)
    assert_close(y, getattr(naive, activation)(ref), dtype)


def test_pointwise_route_splits_large_planes(pointwise_route):
    """A plane longer than a job's chunk (`pointwise.CHUNK`) is several jobs, each writing only its own."""
    from checkerlab.kernels import conv, pointwise
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 3, 97, 131)).astype(np.float32)
    w = rng.standard_normal((5, 3, 1, 1)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    plan = conv._conv_plan(x.shape, x.dtype, w.shape, 1, 0, 1, 1)
    assert plan.simd.n_jobs >= -(-97 * 131 // pointwise.CHUNK) > 1
    assert_close(kernels.conv2d(x, w, b, activation="relu"), naive.relu(naive.conv2d(x, w, b)), np.float32)


@pytest.mark.parametrize("transposed", [False, True])
def test_simd_route_repacks_weights_changed_in_place(simd_route, transposed):
    """The SIMD routes keep small packed weights between calls (`direct.Packing`): weights written in place,
    or another array with other values, are packed again; equal values in a new array reuse the packing."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 9, 40)).astype(np.float32)
    w = rng.standard_normal((3, 5, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    f, ref = (kernels.conv_transpose2d, naive.conv_transpose2d) if transposed else (kernels.conv2d, naive.conv2d)
    if not transposed:
        w = w.transpose(1, 0, 2, 3).copy()  # (C_out, C_in, kh, kw)
    for step in range(4):
        if step == 1:
            w[0, 1, 2, 0] += 1.5  # in place: same array, same id, same data pointer
        elif step == 2:
            w = w.copy()  # a new array with the same values
        elif step == 3:
            w = -w
        assert_close(f(x, w, b, stride=2, padding=1), ref(x, w, b, stride=2, padding=1), np.float32)


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


TORCH_TOL = {np.float32: 1e-4, np.float64: 1e-10}  # relative to the largest |output| (issue 13)


@SETTINGS
@given(transposed_cases(), st.sampled_from([None, "relu", "silu"]))
def test_conv_transpose2d_random_shapes_match_torch(case, activation):
    torch = pytest.importorskip("torch")
    x, w, b = case_arrays(case, transposed=True)
    kw = dict(stride=case["s"], padding=case["p"], output_padding=case["op"], dilation=case["d"],
              groups=case["groups"])
    got = kernels.conv_transpose2d(x, w, b, **kw, activation=activation)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w),
                                               None if b is None else torch.from_numpy(b), **kw)
    ref = (ref if activation is None else getattr(torch.nn.functional, activation)(ref)).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=TORCH_TOL[x.dtype.type] * max(1.0, np.abs(ref).max()))


@SETTINGS
@given(conv_cases(), st.sampled_from([None, "relu", "gelu"]))
def test_conv2d_random_shapes_match_torch(case, activation):
    torch = pytest.importorskip("torch")
    x, w, b = case_arrays(case, transposed=False)
    g, dtype = case["groups"], x.dtype.type
    pad = case["padding"]
    pad4 = (pad,) * 4 if isinstance(pad, int) else (pad[0], pad[0], pad[1], pad[1]) if len(pad) == 2 else pad
    got = kernels.conv2d(x, w, b, stride=case["s"], padding=pad, dilation=case["d"], groups=g, activation=activation)
    xt = torch.nn.functional.pad(torch.from_numpy(x), (pad4[2], pad4[3], pad4[0], pad4[1]))
    ref = torch.nn.functional.conv2d(xt, torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                                     stride=case["s"], dilation=case["d"], groups=g)
    ref = (ref if activation is None else getattr(torch.nn.functional, activation)(ref)).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=TORCH_TOL[dtype] * max(1.0, np.abs(ref).max()))


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
@pytest.mark.parametrize("name, kw", ACTIVATIONS)
def test_activations_match_torch(name, kw, dtype):
    torch = pytest.importorskip("torch")
    x = activation_input(dtype, seed=11)
    if name == "gelu" and not kw:  # torch's vectorised erf gives gelu(+inf) = NaN (its scalar path: inf); ours: inf
        x = x[x != np.inf].reshape(1, -1, 1)
    ref = getattr(torch.nn.functional, name)(torch.from_numpy(x), **kw).numpy()
    got = getattr(kernels, name)(x, **kw)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    tol = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_prelu_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(12).standard_normal((2, 4, 3, 3)).astype(np.float32)
    w = np.array([0.1, -0.3, 0.25, 2.0], np.float32)
    ref = torch.nn.functional.prelu(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    np.testing.assert_array_equal(kernels.prelu(x, w), ref)


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
    (lambda: kernels.leaky_relu(X, "a"), r"leaky_relu: negative_slope must be a finite real number, got 'a'"),
])
def test_validation_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------------------


def compiled_dispatchers():
    """Every Numba dispatcher defined in the kernels package."""
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import checkerlab.kernels as pkg
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"checkerlab.kernels.{info.name}")
        found += [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
    return found


def test_kernels_are_nogil_cached_and_safe_fastmath():
    dispatchers = compiled_dispatchers()
    names = {d.py_func.__name__ for d in dispatchers}
    assert names >= {"_gather", "_stage", "_store_rows", "_store_phases", "activate", "_rows"}
    for d in dispatchers:
        assert d.targetoptions["nogil"] is True, d
        assert d._cache.__class__.__name__ == "FunctionCache", d  # cache=True
        assert not {"nnan", "ninf", "fast"} & set(d.targetoptions.get("fastmath", ())), d
        if d.py_func.__module__.rsplit(".", 1)[-1] in ("gather", "gemm", "activations"):
            assert not d.targetoptions.get("parallel"), d  # the convs' threads come from jit.parallel_for


@pytest.mark.parametrize("platform, environ, expected", [
    ("linux", {}, "/home/u/.cache/checkerlab/numba"),
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/checkerlab/numba"),
    ("linux", {"XDG_CACHE_HOME": "relative/dir"}, "/home/u/.cache/checkerlab/numba"),  # XDG: relative is invalid
    ("darwin", {"XDG_CACHE_HOME": "/xdg"}, "/home/u/Library/Caches/checkerlab/numba"),
    ("win32", {"LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "C:/Users/u/AppData/Local/checkerlab/Cache/numba"),
])
def test_user_cache_dir_follows_the_platform(platform, environ, expected):
    from checkerlab.kernels.jit import user_cache_dir
    assert user_cache_dir(environ, platform, "/home/u").replace("\\", "/") == expected


PROBE = r"""
import json, sys
import numpy as np
from checkerlab import kernels
from checkerlab.kernels import activations, gather
from checkerlab.kernels.jit import on_first_compile
notices = []
on_first_compile(notices.append)
x = np.ones((1, 2, 5, 5), np.float32)
kernels.conv_transpose2d(x, np.ones((2, 3, 3, 3)), stride=2)
kernels.conv2d(x, np.ones((3, 2, 3, 3)), padding=1, activation="silu")
kernels.gelu(x)
ops = (gather._gather_transposed, gather._gather_conv)
stats = [d.stats for d in (*ops, activations._rows)]
print(json.dumps({"hits": sum(sum(s.cache_hits.values()) for s in stats),
                  "misses": sum(sum(s.cache_misses.values()) for s in stats),
                  "signatures": [str(s) for d in ops for s in d.signatures],
                  "paths": sorted({s.cache_path for s in stats}), "notices": notices}))
"""


def run_probe(env):
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_cache_goes_to_the_user_cache_dir_and_a_second_process_compiles_nothing(tmp_path):
    """Without NUMBA_CACHE_DIR the cache lives under $XDG_CACHE_HOME/checkerlab/numba, never in the package; the
    first process compiles float32 only (lazy per dtype), the second loads everything from the cache."""
    package = ROOT / "kernels"
    before = set(package.rglob("*.nb[ic]"))
    env = {"NUMBA_CACHE_DIR": None, "XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path / "home")}
    first, second = run_probe(env), run_probe(env)
    # each op's gather kernel (`gather._gather_for`: one cache index, an entry per op) and _rows, float32 only
    assert first["misses"] == 3 and first["hits"] == 0
    assert len(first["signatures"]) == 2 and all("float32" in s for s in first["signatures"])
    assert second["misses"] == 0 and second["hits"] == 3
    # the CLI's "compiling the kernels for their first run" line: once in the first process, not in the second
    assert first["notices"] == [str(tmp_path / "checkerlab" / "numba")] and second["notices"] == []
    assert all(p.startswith(str(tmp_path / "checkerlab" / "numba")) for p in first["paths"])
    assert any((tmp_path / "checkerlab" / "numba").rglob("*.nbi"))
    assert set(package.rglob("*.nb[ic]")) == before  # nothing written into the source tree


def test_numba_cache_dir_is_honoured(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    result = run_probe(env)
    assert all(p.startswith(str(tmp_path / "numba")) for p in result["paths"])
    assert not (tmp_path / "xdg").exists()


def test_the_locator_claims_only_this_package(tmp_path):
    """Other libraries' cached functions keep Numba's own locators."""
    from checkerlab.kernels.jit import UserCacheLocator
    module = tmp_path / "elsewhere.py"
    module.write_text("def f():\n    return 1\n")
    namespace = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    assert UserCacheLocator.from_function(namespace["f"], str(module)) is None


def test_an_edit_of_a_sibling_module_invalidates_the_cache(tmp_path):
    """A cached kernel's stamp covers every module of its package: editing the module of an inlined helper
    (exp.py for the attention kernel) changes the stamp Numba compares before loading, so the caller
    recompiles (Numba's own stamp is the caller's file alone, and kept a stale copy of the helper)."""
    from checkerlab.kernels import attention
    from checkerlab.kernels.jit import UserCacheLocator, package_stamp
    for name in ("caller.py", "helper.py", "notes.txt"):
        (tmp_path / name).write_text("x = 1\n")
    before = package_stamp(str(tmp_path))
    assert [entry[0] for entry in before] == ["caller.py", "helper.py"]
    (tmp_path / "notes.txt").write_text("not a module\n")
    assert package_stamp(str(tmp_path)) == before
    (tmp_path / "helper.py").write_text("x = 22\n")
    assert package_stamp(str(tmp_path)) != before
    f = attention._attention.py_func
    locator = UserCacheLocator(f, f.__code__.co_filename, root=str(tmp_path / "cache"))
    assert locator.get_source_stamp() == package_stamp(str(ROOT / "kernels"))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_parallel_for_covers_every_job_once(threads):
    from numba import njit

    from checkerlab.kernels.threads import parallel_for

    @njit(nogil=True)
    def mark(lo, hi, out):
        for j in range(lo, hi):
            out[j] += j + 1

    out = np.zeros(10, np.int64)
    parallel_for(mark, 10, threads, out)
    np.testing.assert_array_equal(out, np.arange(1, 11))


@njit(nogil=True)
def _mark_jobs(jobs, out, who):
    while True:
        j = claim(jobs)
        if j < 0:
            break
        out[j] += j + 1
        who[j] = jobs[ME]


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
@pytest.mark.parametrize("n_jobs", [1, 2, 7, 100])
def test_run_jobs_runs_every_job_once(threads, n_jobs):
    from checkerlab.kernels.threads import run_jobs

    for _ in range(20):  # different interleavings of the threads
        out, who = np.zeros(n_jobs, np.int64), np.full(n_jobs, -1, np.int64)
        run_jobs(_mark_jobs, n_jobs, threads, out, who)
        np.testing.assert_array_equal(out, np.arange(1, n_jobs + 1))
        assert who.min() >= 0 and who.max() < min(threads, n_jobs)


@njit(nogil=True)
def _stuck_first_job(jobs, out, who):
    """Job 0 waits until another thread has taken job 1 (of the caller's share): the helper must steal it."""
    while True:
        j = claim(jobs)
        if j < 0:
            break
        if j == 0:
            for _ in range(1 << 32):  # seconds at most: without stealing job 1 is the caller's, after this
                if _load(out, 1) != 0:
                    break
        out[j] = j + 1
        who[j] = jobs[ME]


def test_run_jobs_lets_a_free_thread_take_a_busy_threads_share():
    from checkerlab.kernels.threads import run_jobs

    out, who = np.zeros(8, np.int64), np.full(8, -1, np.int64)
    run_jobs(_stuck_first_job, 8, 2, out, who)  # the caller's share is jobs 0-3, the helper's 4-7
    np.testing.assert_array_equal(out, np.arange(1, 9))
    assert who[0] == 0 and who[1] == 1 and (who[4:] == 1).all()


def test_run_jobs_reraises_a_helper_error_and_stops_the_others():
    from checkerlab.kernels.threads import run_jobs

    @njit(nogil=True)
    def fail(jobs, out):
        while True:
            j = claim(jobs)
            if j < 0:
                break
            if j == 5:
                raise ZeroDivisionError("in job 5")
            out[j] = 1

    out = np.zeros(8, np.int64)
    with pytest.raises(ZeroDivisionError, match="in job 5"):
        run_jobs(fail, 8, 2, out)
    out = np.zeros(8, np.int64)
    run_jobs(fail, 5, 2, out)  # a table is per call: the next call runs every job
    assert out[:5].sum() == 5


def _quiet_pool(threads) -> bool:
    """Whether every task put has been rung and taken (within a second)."""
    for _ in range(1000):
        if threads._pool.tasks.empty() and threads._pool.bell[0] == threads._pool.bell[1]:
            return True
        time.sleep(1e-3)
    return False


def test_run_jobs_rings_its_helpers_once_even_when_the_kernel_fails_before_claiming():
    """The caller's kernel rings its helpers' bell at its first claim (`threads._ring`); a kernel that fails
    before it gets rung for by run_jobs, so no task is left queued and unrung (the next call's helpers would
    take it instead of their own)."""
    from checkerlab.kernels import threads

    @njit(nogil=True)
    def fail_first(jobs, out):
        if jobs[ME] == 0:
            raise ValueError("before any claim")
        while claim(jobs) >= 0:
            out[0] += 1

    out = np.zeros(1, np.int64)
    for _ in range(5):
        with pytest.raises(ValueError, match="before any claim"):
            threads.run_jobs(fail_first, 8, 2, out)
        assert _quiet_pool(threads)
    for _ in range(20):
        out, who = np.zeros(64, np.int64), np.full(64, -1, np.int64)
        threads.run_jobs(_mark_jobs, 64, 2, out, who)
        np.testing.assert_array_equal(out, np.arange(1, 65))
    assert _quiet_pool(threads)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="optional: os.fork is POSIX only")
def test_run_jobs_in_a_forked_child_starts_its_own_helpers():
    """A forked child has none of its parent's helper threads: its pool starts empty and its calls still run
    every job (the parent's pool size would have stopped it from starting any, and queued tasks forever)."""
    from checkerlab.kernels import threads

    out, who = np.zeros(64, np.int64), np.full(64, -1, np.int64)
    threads.run_jobs(_mark_jobs, 64, 2, out, who)  # the parent has a helper now
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if all is well
        ok = threads._pool.size == 0
        out[:] = 0
        threads.run_jobs(_mark_jobs, 64, 2, out, who)
        ok = ok and (out == np.arange(1, 65)).all() and threads._pool.size == 1
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_call_nudges_only_helpers_that_missed_it_waking_up(monkeypatch):
    """`_Pool.check` at the end of a call: a nudge when a helper is waking from the queue (not yet running)
    and a task is still queued, once per wake-up; never for a helper that is awake (it spins on its own
    core: a short call that ends before it arrives is normal)."""
    from checkerlab.kernels import threads

    pool = threads._Pool()  # no threads of its own: its state is set by hand
    nudged = []
    monkeypatch.setattr(pool, "nudge", lambda: (nudged.append(1), pool.nudged.update(pool.waking)))
    pool.check()  # nothing queued, nobody waking
    pool.tasks.put(lambda: False)
    pool.check()  # queued, but its helper is awake
    assert nudged == []
    pool.waking.add(12345)
    pool.check()
    pool.check()  # the same wake-up: nudged already
    assert nudged == [1]
    pool.tasks.get()
    pool.waking.add(12346)
    pool.check()  # a second helper waking, but no task left queued: it has taken the call's task
    assert nudged == [1]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="optional: CPU masks are Linux only")
def test_nudge_moves_waking_helpers_once_and_leaves_their_cpu_masks_as_they_were():
    from checkerlab.kernels import threads

    def all_waking():  # every helper spins about half a millisecond after its last task, then blocks
        for _ in range(2000):
            if len(threads._pool.waking) == threads._pool.size:
                return set(threads._pool.waking)
            time.sleep(1e-3)
        raise AssertionError(f"{threads._pool.size} helpers, {len(threads._pool.waking)} blocked")

    threads.run_jobs(_mark_jobs, 64, 2, np.zeros(64, np.int64), np.full(64, -1, np.int64))
    waking = all_waking()
    if threads._current_cpu() < 0:
        pytest.skip("optional: this libc has no sched_getcpu (the nudge does nothing)")
    before = {tid: os.sched_getaffinity(tid) for tid in waking}
    threads._pool.nudge()
    assert {tid: os.sched_getaffinity(tid) for tid in waking} == before
    assert threads._pool.nudged == waking  # each once: until it blocks again
    threads.run_jobs(_mark_jobs, 64, 2, np.zeros(64, np.int64), np.full(64, -1, np.int64))  # wakes a helper
    assert _quiet_pool(threads)  # which has taken the call's task
    assert all_waking() - threads._pool.nudged  # and blocked again: a new wake-up, not nudged yet


def test_a_nudge_interrupted_between_its_two_calls_still_restores_the_mask(monkeypatch):
    """Ctrl-C landing right after the narrowing call must not leave a helper on fewer CPUs for good."""
    from checkerlab.kernels import threads

    threads.run_jobs(_mark_jobs, 64, 2, np.zeros(64, np.int64), np.full(64, -1, np.int64))
    assert _quiet_pool(threads)
    for _ in range(2000):  # every helper blocked on the queue again, so not nudged since (see the test above)
        waking = set(threads._pool.waking) - threads._pool.nudged
        if threads._pool.size and len(waking) == threads._pool.size:
            break
        time.sleep(1e-3)
    if threads._current_cpu() < 0 or len(os.sched_getaffinity(0)) < 2 or not waking:
        pytest.skip("optional: the nudge needs sched_getcpu, two CPUs and a blocked helper")
    before = {tid: os.sched_getaffinity(tid) for tid in waking}
    real, calls = os.sched_setaffinity, []

    def interrupted(tid, mask):
        real(tid, mask)
        calls.append(set(mask))
        if len(calls) == 1:  # after narrowing the first helper's mask
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "sched_setaffinity", interrupted)
    with pytest.raises(KeyboardInterrupt):
        threads._pool.nudge()
    monkeypatch.undo()
    assert len(calls) == 2 and calls[1] in before.values()  # narrowed, then restored in the finally
    assert {tid: os.sched_getaffinity(tid) for tid in waking} == before


def test_scratch_buffers_are_reused_never_shared_and_bounded():
    from checkerlab.kernels import threads

    with threads.scratch(2, 1000, np.float32) as a:
        with threads.scratch(2, 10, np.float32) as b:  # in use at once: two buffers
            assert a is not b and a.shape[0] >= 2 and a.shape[1] >= 1000
        with threads.scratch(1, 10, np.float32) as c:  # b is free again and fits
            assert c is b
    with threads.scratch(3, 1000, np.float32) as d:  # no free one has 3 rows
        assert d is not a and d.shape[0] >= 3
    with threads.scratch(2, 1000, np.float64) as e:  # per dtype
        assert e.dtype == np.float64
    bufs = []
    for size in range(10):  # many at once, then all back: a few are kept
        cm = threads.scratch(1, 100 + size, np.int32)
        bufs.append((cm, cm.__enter__()))
    for cm, _ in bufs:
        cm.__exit__(None, None, None)
    assert len(threads._free[np.dtype(np.int32)]) == threads.FREE_KEPT


def test_parallel_for_reraises_a_worker_error():
    from checkerlab.kernels.threads import parallel_for

    def fail(lo, hi):
        if lo > 0:
            raise ZeroDivisionError("in a worker")

    with pytest.raises(ZeroDivisionError, match="in a worker"):
        parallel_for(fail, 4, 2)


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


# ---------------------------------------------------------------------------------------------------------
# Dense convolutions as im2col + matrix products (kernels/gemm.py `Lowering`)
# ---------------------------------------------------------------------------------------------------------


@contextmanager
def forced_lowering(col_bytes=256):
    """Every conv of any size takes the im2col + matrix-product route, in column blocks of ``col_bytes`` (so
    that even tiny shapes are cut into several row blocks and output-channel blocks)."""
    from checkerlab.kernels import conv, gemm
    saved = (conv.LOWER_MIN_CHANNELS, conv.LOWER_MIN_K, conv.LOWER_MIN_WORK, gemm.COL_BYTES, gemm.SPLIT_COLS,
             gemm.SPLIT_ROWS)
    conv.LOWER_MIN_CHANNELS, conv.LOWER_MIN_K, conv.LOWER_MIN_WORK = 1, 1, 0
    gemm.COL_BYTES, gemm.SPLIT_COLS, gemm.SPLIT_ROWS = col_bytes, 8, 2
    conv._conv_plan.cache_clear()
    conv._transposed_plan.cache_clear()
    try:
        yield
    finally:
        (conv.LOWER_MIN_CHANNELS, conv.LOWER_MIN_K, conv.LOWER_MIN_WORK, gemm.COL_BYTES, gemm.SPLIT_COLS,
         gemm.SPLIT_ROWS) = saved
        conv._conv_plan.cache_clear()
        conv._transposed_plan.cache_clear()


@SETTINGS
@given(transposed_cases(), st.sampled_from([256, 1 << 20]), st.sampled_from([None, "silu"]))
def test_lowered_conv_transpose2d_matches_scatter_definition(case, col_bytes, activation):
    """Every polyphase plane as im2col + product (groups, dilation, output padding, strides 1-4, planes with
    no tap, blocks cut by rows and output channels) equals the scatter definition, with the fused bias and
    activation and the pre-activation output."""
    from checkerlab.kernels import conv
    x, w, b = case_arrays(case, transposed=True)
    kw = dict(stride=case["s"], padding=case["p"], output_padding=case["op"], dilation=case["d"],
              groups=case["groups"])
    ref = naive.conv_transpose2d(x, w, b, **kw)
    with forced_lowering(col_bytes):
        assert conv._transposed_plan(x.shape, x.dtype, w.shape, case["s"], case["p"], case["op"], case["d"],
                                     case["groups"]).lowering is not None
        y, pre = kernels.conv_transpose2d(x, w, b, **kw, activation=activation, return_preactivation=True)
    assert_close(pre, ref, x.dtype.type)
    assert_close(y, ref if activation is None else naive.silu(ref), x.dtype.type)


@SETTINGS
@given(conv_cases(), st.sampled_from([256, 1 << 20]), st.sampled_from([None, "relu"]))
def test_lowered_conv2d_matches_direct_definition(case, col_bytes, activation):
    """conv2d as im2col + product (strides through the staged input's phases, asymmetric padding, dilation,
    groups, batch > 1) equals the direct definition."""
    x, w, b = case_arrays(case, transposed=False)
    kw = dict(stride=case["s"], padding=case["padding"], dilation=case["d"], groups=case["groups"])
    ref = naive.conv2d(x, w, b, **kw)
    with forced_lowering(col_bytes):
        y, pre = kernels.conv2d(x, w, b, **kw, activation=activation, return_preactivation=True)
    assert_close(pre, ref, x.dtype.type)
    assert_close(y, ref if activation is None else naive.relu(ref), x.dtype.type)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("transposed", [False, True])
def test_lowering_dispatch_threshold_both_sides(transposed, dtype):
    """Just below LOWER_MIN_CHANNELS output channels per group the direct kernel runs, from it the lowered
    route; both equal the definition, on 1 and 2 threads (non-contiguous input, batch 3, 2 groups)."""
    from checkerlab.kernels import conv
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(21)
    x = rng.standard_normal((3, 2 * 24, 13, 22)).astype(dtype)[:, :, :, ::2]
    assert not x.flags.c_contiguous
    for c_og, lowered in ((conv.LOWER_MIN_CHANNELS - 1, False), (conv.LOWER_MIN_CHANNELS, True)):
        if transposed:
            w = rng.standard_normal((48, c_og, 4, 3)).astype(dtype)
            kw = dict(stride=2, padding=1, output_padding=(1, 0), dilation=(1, 2), groups=2)
            f, ref_f = kernels.conv_transpose2d, naive.conv_transpose2d
            plan = conv._transposed_plan(x.shape, x.dtype, w.shape, 2, 1, (1, 0), (1, 2), 2)
        else:
            w = rng.standard_normal((2 * c_og, 24, 3, 3)).astype(dtype)
            kw = dict(stride=(1, 2), padding=(2, 1, 0, 1), dilation=(2, 1), groups=2)
            f, ref_f = kernels.conv2d, naive.conv2d
            plan = conv._conv_plan(x.shape, x.dtype, w.shape, (1, 2), (2, 1, 0, 1), (2, 1), 2)
        assert (plan.lowering is not None) == lowered
        b = rng.standard_normal(2 * c_og).astype(dtype)
        ref = ref_f(np.ascontiguousarray(x), w, b, **kw)
        for threads in (1, 2):
            numba.set_num_threads(threads)
            try:
                assert_close(f(x, w, b, **kw), ref, dtype)
            finally:
                numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_lowered_scratch_is_reused_without_stale_padding():
    """A thread keeps its scratch buffer between calls: a padded conv after one whose staged rows filled the
    same memory with data must still read zeros in its padding."""
    rng = np.random.default_rng(22)
    with forced_lowering(4096):
        x1 = rng.standard_normal((1, 8, 20, 20))
        w1 = rng.standard_normal((8, 8, 3, 3))
        kernels.conv2d(x1, w1)  # no padding: the staged rows are data everywhere
        x2 = rng.standard_normal((1, 8, 9, 9))
        for kw in (dict(padding=2), dict(padding=1, stride=2)):
            assert_close(kernels.conv2d(x2, w1, **kw), naive.conv2d(x2, w1, **kw), np.float64)
            kernels.conv2d(x1, w1)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_lowered_conv_after_a_padding_mode_matches_torch(mode):
    """Conv2d(padding_mode=...) as the network runs it (kernels.pad, then an unpadded conv) at network
    channel counts, on the lowered route."""
    torch = pytest.importorskip("torch")
    from checkerlab.kernels import conv
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 32, 17, 15)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32) / 10
    b = rng.standard_normal(32).astype(np.float32)
    xp = kernels.pad(x, (1, 1, 1, 1), mode)
    assert conv._conv_plan(xp.shape, xp.dtype, w.shape, 1, 0, 1, 1).lowering is not None
    got = kernels.conv2d(xp, w, b)
    m = torch.nn.Conv2d(32, 32, 3, padding=1, padding_mode=mode)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        m.bias.copy_(torch.from_numpy(b))
        ref = m(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * max(1.0, np.abs(ref).max()))


def test_lowered_net_shapes_match_torch():
    """Network-sized layers on the real dispatch (3x3 convs at 64 channels, a strided conv, a k4 s2
    transposed conv, a 5x5), float32 within 1e-4 and float64 within 1e-10 of torch."""
    torch = pytest.importorskip("torch")
    from checkerlab.kernels import conv
    rng = np.random.default_rng(24)
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-10)):
        x = rng.standard_normal((2, 64, 19, 23)).astype(dtype)
        for transposed, k, s, p in ((False, 3, 1, 1), (False, 3, 2, 1), (False, 5, 1, 2), (True, 4, 2, 1),
                                    (True, 3, 2, 1)):
            w = rng.standard_normal((64, 48, k, k)).astype(dtype) / 10
            b = rng.standard_normal(48).astype(dtype)
            xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
            if transposed:
                plan = conv._transposed_plan(x.shape, x.dtype, w.shape, s, p, 0, 1, 1)
                got, ref = kernels.conv_transpose2d(x, w, b, s, p), torch.nn.functional.conv_transpose2d(xt, wt, bt,
                                                                                                        s, p)
            else:
                w = np.ascontiguousarray(w.transpose(1, 0, 2, 3))
                plan = conv._conv_plan(x.shape, x.dtype, w.shape, s, p, 1, 1)
                got, ref = kernels.conv2d(x, w, b, s, p), torch.nn.functional.conv2d(xt, torch.from_numpy(w), bt, s, p)
            assert plan.lowering is not None
            ref = ref.numpy()
            np.testing.assert_allclose(got, ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()))


def test_lowering_buffers_are_bounded_whatever_the_image():
    """The column and product blocks of a job stay within COL_BYTES however large the image, rows wider than
    that being cut into column windows (a plan allocates nothing); the staged block holds at most the input
    rows one output row reads."""
    from checkerlab.kernels import conv, gemm
    for h, w in ((64, 64), (4096, 4096), (8, 1 << 16)):
        plan = conv._conv_plan((4, 64, h, w), np.dtype(np.float32), (64, 64, 3, 3), 1, 1, 1, 1)
        low = plan.lowering
        assert low is not None
        assert 0 < low.col_size * 4 <= gemm.COL_BYTES and 0 < low.prod_size * 4 <= gemm.COL_BYTES
        assert low.stage_size * 4 <= max(gemm.COL_BYTES, 64 * 3 * (w + 2) * 4)


def test_lowered_column_windows_match_definition():
    """Rows wider than a column block: one row per job, cut into column windows (strided and transposed
    too)."""
    rng = np.random.default_rng(26)
    x = rng.standard_normal((2, 3, 4, 41))
    from checkerlab.kernels import conv
    with forced_lowering(col_bytes=3 * 9 * 8 * 5):  # a window of ~5 columns
        w = rng.standard_normal((4, 3, 3, 3))
        assert len(conv._conv_plan(x.shape, x.dtype, w.shape, 1, 1, 1, 1).lowering.windows) > 1
        for kw in (dict(padding=1), dict(padding=(0, 2), stride=(1, 2), dilation=(1, 2))):
            assert_close(kernels.conv2d(x, w, **kw), naive.conv2d(x, w, **kw), np.float64)
        wt = rng.standard_normal((3, 4, 4, 4))
        kw = dict(stride=2, padding=1)
        assert_close(kernels.conv_transpose2d(x, wt, **kw), naive.conv_transpose2d(x, wt, **kw), np.float64)


def test_serial_blas_restores_the_thread_count_and_nests():
    """serial_blas sets numpy's OpenBLAS to one thread while any caller is inside, and restores it after the
    last one leaves, from several threads at once; it changes nothing when the BLAS is not OpenBLAS."""
    import threading

    from checkerlab.kernels import threads
    fns = threads._openblas()
    if fns is None:
        with threads.serial_blas() as ours:
            assert not ours
        return
    get, _ = fns
    before = get()
    inside = []
    barrier = threading.Barrier(3)

    def worker():
        with threads.serial_blas() as ours:
            barrier.wait()
            inside.append((ours, get()))
            barrier.wait()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for t in workers:
        t.start()
    barrier.wait()
    barrier.wait()
    for t in workers:
        t.join()
    assert inside == [(True, 1), (True, 1)]
    assert get() == before


def test_lowering_without_blas_control_falls_back(monkeypatch):
    """Without control of the BLAS threads the lowered route runs only when the caller allows every core (its
    products then use BLAS's own threads); a caller limited to fewer threads gets the direct kernel."""
    from checkerlab.kernels import conv, gemm, threads
    monkeypatch.setitem(threads._blas, "fns", None)
    monkeypatch.setattr(conv, "ROUTE", "other")  # not the SIMD routes, which take this shape by default
    conv._conv_plan.cache_clear()
    rng = np.random.default_rng(25)
    x = rng.standard_normal((1, 32, 12, 12))
    w = rng.standard_normal((32, 32, 3, 3))
    ref = naive.conv2d(x, w, padding=1)
    ran = []
    run, direct = gemm.Lowering.run, conv.gather
    monkeypatch.setattr(gemm.Lowering, "run", lambda self, *a: ran.append("lowered") or run(self, *a))
    monkeypatch.setattr(conv, "gather", lambda *a: ran.append("direct") or direct(*a))
    assert conv._conv_plan(x.shape, x.dtype, w.shape, 1, 1, 1, 1).lowering is not None
    assert_close(kernels.conv2d(x, w, padding=1), ref, np.float64)
    with threads.limited(1):
        assert_close(kernels.conv2d(x, w, padding=1), ref, np.float64)
    import numba
    assert ran == ["lowered", "lowered" if numba.config.NUMBA_NUM_THREADS == 1 else "direct"]
    conv._conv_plan.cache_clear()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("a_shape, b_shape", [((1, 4096, 32), (32, 32)), ((2, 3, 50, 7), (7, 9)),
                                              ((2, 3, 50, 7), (3, 7, 9)), ((5, 7), (7, 3)),
                                              ((4, 300, 64), (4, 64, 200)), ((1, 2048, 256), (256, 256))])
def test_matmul_on_the_kernel_threads_is_numpys(a_shape, b_shape, dtype, monkeypatch):
    """gemm.matmul (products as row-block jobs, one BLAS thread each) equals np.matmul: broadcasting, b cast
    to a's dtype, non-contiguous a, blocks smaller than a product (PRODUCT_JOB lowered)."""
    from checkerlab.kernels import gemm
    monkeypatch.setattr(gemm, "PRODUCT_JOB", 1 << 12)
    rng = np.random.default_rng(27)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape)
    for lhs in (a, np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)):
        got, ref = gemm.matmul(lhs, b), np.matmul(lhs, b.astype(dtype))
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert_close(got, ref, dtype)


@settings(SETTINGS)
@given(c=st.integers(1, 5), h=st.integers(1, 40), w=st.integers(1, 70), ph=st.integers(1, 6), pw=st.integers(1, 17),
       top=st.integers(0, 5), left=st.integers(0, 5), dtype=st.sampled_from([np.float32, np.float64, np.int16]),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 99))
def test_phase_moments_match_a_brute_force(c, h, w, ph, pw, top, left, dtype, threads, seed):
    """`kernels.phases.phase_moments`: per-phase sums and the sum of squares of a window, in float64, against
    a loop over every pixel (any dtype, window anywhere in the plane, one or two threads)."""
    from unittest import mock

    from checkerlab.kernels import phases
    from checkerlab.kernels.threads import limited

    hi, wi = (h - top) // ph * ph, (w - left) // pw * pw
    assume(hi > 0 and wi > 0)
    x = (np.random.default_rng(seed).standard_normal((c, h, w)) * 100).astype(dtype)
    with limited(threads), mock.patch.object(phases, "PARALLEL_MIN", 0):  # small planes on two threads too
        sums, squares = phases.phase_moments(x, top, left, hi, wi, (ph, pw))
    want, want_sq = np.zeros((c, ph, pw)), np.zeros(c)
    for i in range(hi):
        for j in range(wi):
            v = x[:, top + i, left + j].astype(np.float64)
            want[:, i % ph, j % pw] += v
            want_sq += v * v
    np.testing.assert_allclose(sums, want, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(squares, want_sq, rtol=1e-12)
