"""Tests of kernels.pad, pool, norm and resample (issue 12): random shapes (hypothesis) against the slow
references in tests/naive_ops.py and against PyTorch (skipped without torch; CI sets CHECKERLAB_NO_SKIP),
validation messages, allocation and compilation properties.

Tolerances are relative to the largest reference value (at least 1): float32 1e-4, float64 1e-10; copies
(padding, nearest, pixel unshuffle, max pooling) must be bit-identical.
"""

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import naive_ops as naive
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checkerlab import kernels
from checkerlab.kernels.pad import MODES as PAD_MODES

ROOT = Path(__file__).resolve().parents[1]
FLOATS = [np.float32, np.float64]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


def assert_close(got, ref, dtype):
    ref = np.asarray(ref, np.float64)
    assert got.dtype == dtype and got.shape == ref.shape
    finite = np.isfinite(ref)
    scale = max(1.0, float(np.abs(ref[finite]).max(initial=0)))
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL[np.dtype(dtype)] * scale, equal_nan=True)


def torch_or_skip():
    return pytest.importorskip("torch")


def image(draw, dtype, n=(1, 2), c=(1, 3), h=(1, 7), w=(1, 7)):
    shape = tuple(draw(st.integers(*r)) for r in (n, c, h, w))
    return np.random.default_rng(draw(st.integers(0, 999))).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------------------


def pad_allowed(mode, n, before, after):
    """PyTorch's rule for one axis (the circular crop-then-wrap beyond the cropped size is refused: PyTorch
    reads memory it never wrote there)."""
    kept = n + min(before, 0) + min(after, 0)
    if n + before + after < 0 or (kept < 0 and mode in ("constant", "circular")):
        return False
    if mode == "reflect":
        return before < n and after < n
    if mode == "circular":
        return before <= kept and after <= kept
    return True


@st.composite
def pad_cases(draw):
    dtype = draw(st.sampled_from(FLOATS))
    x = image(draw, dtype)
    mode = draw(st.sampled_from(PAD_MODES))
    h, w = x.shape[2:]
    p = tuple(draw(st.integers(-n - 1, n + 1)) for n in (w, w, h, h))
    assume(pad_allowed(mode, w, p[0], p[1]) and pad_allowed(mode, h, p[2], p[3]))
    assume(mode not in ("reflect", "replicate") or h + p[2] + p[3] > 0 or w + p[0] + p[1] > 0)
    value = draw(st.sampled_from([None, 0.0, -2.5])) if mode == "constant" else None
    return x, p, mode, value


@SETTINGS
@given(pad_cases())
def test_pad_matches_definition(case):
    x, p, mode, value = case
    got = kernels.pad(x, p, mode, value)
    ref = naive.pad(x, p, mode, 0.0 if value is None else value)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(kernels.pad(x[0], p, mode, value), ref[0])  # CHW in, CHW out


@SETTINGS
@given(mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]), hw=st.tuples(*[st.integers(1, 6)] * 2),
       p=st.tuples(*[st.integers(-7, 7)] * 4), seed=st.integers(0, 99))
def test_pad_matches_torch_and_its_limits(mode, hw, p, seed):
    torch = torch_or_skip()
    x = np.random.default_rng(seed).standard_normal((2, 3, *hw))
    allowed = pad_allowed(mode, hw[1], p[0], p[1]) and pad_allowed(mode, hw[0], p[2], p[3])
    if mode in ("reflect", "replicate") and hw[0] + p[2] + p[3] == hw[1] + p[0] + p[1] == 0:
        allowed = False  # PyTorch's rule for these two modes: at most one axis may end up empty
    try:
        ref = torch.nn.functional.pad(torch.from_numpy(x), p, mode=mode).numpy()
    except (RuntimeError, ValueError):
        ref = None
    if not allowed:
        with pytest.raises(ValueError, match=r"^pad: "):
            kernels.pad(x, p, mode)
        assert ref is None or mode == "circular"  # torch accepts only its crop-then-wrap overreach
        return
    assert ref is not None
    np.testing.assert_array_equal(kernels.pad(x, p, mode), ref)


def test_pad_modules_semantics():
    """The module forms: ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d on a known array."""
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(kernels.pad(x, (2, 1, 0, 0), "reflect")[0, 0, 0], [2, 1, 0, 1, 2, 1])
    np.testing.assert_array_equal(kernels.pad(x, (2, 1, 0, 0), "replicate")[0, 0, 0], [0, 0, 0, 1, 2, 2])
    np.testing.assert_array_equal(kernels.pad(x, (2, 1, 0, 0), "circular")[0, 0, 0], [1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(kernels.pad(x, (1, -1, 1, 0), value=7)[0, 0, :, :],
                                  [[7, 7, 7], [7, 0, 1], [7, 3, 4]])


# ---------------------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------------------


@st.composite
def pool_cases(draw):
    dtype = draw(st.sampled_from(FLOATS))
    x = image(draw, dtype, h=(1, 9), w=(1, 9))
    k = tuple(draw(st.integers(1, 4)) for _ in range(2))
    s = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(draw(st.integers(1, 3)) for _ in range(2))
    ceil = draw(st.booleans())
    sizes = [naive.pool_output_size(n, k[a], (s or k)[a], p[a], d[a], ceil) for a, n in enumerate(x.shape[2:])]
    return dict(x=x, k=k, s=s, p=p, d=d, ceil=ceil, include=draw(st.booleans()),
                divisor=draw(st.sampled_from([None, 3, -2])), sizes=sizes)


@SETTINGS
@given(pool_cases())
def test_avg_pool2d_matches_definition(c):
    sizes = [naive.pool_output_size(n, c["k"][a], (c["s"] or c["k"])[a], c["p"][a], 1, c["ceil"])
             for a, n in enumerate(c["x"].shape[2:])]
    assume(min(sizes) >= 1)
    args = (c["k"], c["s"], c["p"], c["ceil"], c["include"], c["divisor"])
    assert_close(kernels.avg_pool2d(c["x"], *args), naive.avg_pool2d(c["x"], *args), c["x"].dtype)


@SETTINGS
@given(pool_cases(), st.booleans())
def test_max_pool2d_matches_definition_with_nan(c, with_nan):
    assume(min(c["sizes"]) >= 1)
    x = c["x"].copy()
    if with_nan:
        x.flat[x.size // 2] = np.nan
    args = (c["k"], c["s"], c["p"], c["d"], c["ceil"])
    got, ref = kernels.max_pool2d(x, *args), naive.max_pool2d(x, *args)
    np.testing.assert_array_equal(got, ref.astype(x.dtype))  # a max is a copy: exact, NaN and -inf included


@SETTINGS
@given(pool_cases())
def test_pooling_matches_torch(c):
    torch = torch_or_skip()
    f = torch.nn.functional
    x, xt = c["x"], torch.from_numpy(c["x"])
    args = (c["k"], c["s"] or c["k"], c["p"])
    try:
        ref = f.avg_pool2d(xt, *args, c["ceil"], c["include"], c["divisor"]).numpy()
    except RuntimeError:
        ref = None
    if ref is None:
        with pytest.raises(ValueError, match="^avg_pool2d: "):
            kernels.avg_pool2d(x, *args, c["ceil"], c["include"], c["divisor"])
    else:
        assert_close(kernels.avg_pool2d(x, *args, c["ceil"], c["include"], c["divisor"]), ref, x.dtype)
    try:
        ref = f.max_pool2d(xt, *args, c["d"], c["ceil"]).numpy()
    except RuntimeError:
        ref = None
    if ref is None:
        with pytest.raises(ValueError, match="^max_pool2d: "):
            kernels.max_pool2d(x, *args, c["d"], c["ceil"])
    else:
        np.testing.assert_array_equal(kernels.max_pool2d(x, *args, c["d"], c["ceil"]), ref)


@SETTINGS
@given(dtype=st.sampled_from(FLOATS), data=st.data(),
       size=st.tuples(st.one_of(st.none(), st.integers(1, 12)), st.integers(1, 12)))
def test_adaptive_pooling_matches_definition_and_torch(dtype, data, size):
    x = image(data.draw, dtype, h=(1, 11), w=(1, 11))
    assert_close(kernels.adaptive_avg_pool2d(x, size), naive.adaptive_avg_pool2d(x, size), dtype)
    np.testing.assert_array_equal(kernels.adaptive_max_pool2d(x, size), naive.adaptive_max_pool2d(x, size))
    torch = pytest.importorskip("torch")
    xt = torch.from_numpy(x)
    assert_close(kernels.adaptive_avg_pool2d(x, size), torch.nn.functional.adaptive_avg_pool2d(xt, size).numpy(),
                 dtype)
    np.testing.assert_array_equal(kernels.adaptive_max_pool2d(x, size),
                                  torch.nn.functional.adaptive_max_pool2d(xt, size).numpy())


def test_global_pooling_is_the_mean_and_max():
    x = np.random.default_rng(1).standard_normal((2, 5, 33, 17))
    np.testing.assert_allclose(kernels.adaptive_avg_pool2d(x, 1), x.mean((2, 3), keepdims=True), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(kernels.adaptive_max_pool2d(x, 1), x.max((2, 3), keepdims=True))


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------


@st.composite
def norm_cases(draw):
    dtype = draw(st.sampled_from(FLOATS))
    c = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    x = image(draw, dtype, n=(1, 3), c=(c, c), h=(1, 6), w=(2, 6)) * draw(st.sampled_from([1.0, 50.0])) + draw(
        st.sampled_from([0.0, 3.0]))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    affine = draw(st.booleans())
    w, b = (rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)) if affine else (None, None)
    return dict(x=x.astype(dtype), c=c, w=w, b=b, eps=draw(st.sampled_from([1e-5, 1e-3])), rng=rng)


@SETTINGS
@given(norm_cases())
def test_norms_match_definition(k):
    x, c, w, b, eps, dtype = k["x"], k["c"], k["w"], k["b"], k["eps"], k["x"].dtype
    rm, rv = k["rng"].standard_normal(c), k["rng"].uniform(0.2, 3, c)
    assert_close(kernels.batch_norm(x, rm, rv, w, b, eps=eps), naive.batch_norm(x, rm, rv, w, b, eps=eps), dtype)
    if x.shape[0] * x.shape[2] * x.shape[3] > 1:
        assert_close(kernels.batch_norm(x, None, None, w, b, True, eps=eps),
                     naive.batch_norm(x, None, None, w, b, True, eps=eps), dtype)
    assert_close(kernels.instance_norm(x, weight=w, bias=b, eps=eps), naive.instance_norm(x, w, b, eps), dtype)
    for g in (d for d in (1, 2, c) if c % d == 0):
        assert_close(kernels.group_norm(x, g, w, b, eps), naive.group_norm(x, g, w, b, eps), dtype)
    assert_close(kernels.channel_layer_norm(x, w, b, eps), naive.channel_layer_norm(x, w, b, eps), dtype)
    for shape in (x.shape[1:], x.shape[2:], x.shape[3:]):
        lw = k["rng"].standard_normal(shape)
        assert_close(kernels.layer_norm(x, shape, lw, None, eps), naive.layer_norm(x, shape, lw, None, eps), dtype)


@SETTINGS
@given(norm_cases())
def test_norms_match_torch(k):
    """PyTorch evaluated in float64 on the same values is the reference for both dtypes: its float32 group and
    layer norms lose digits when a group's variance is small, ours accumulate in float64."""
    torch = torch_or_skip()
    f = torch.nn.functional
    x, c, eps, dtype = k["x"], k["c"], k["eps"], k["x"].dtype
    t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    xt, w, b = t(x), t(k["w"]), t(k["b"])
    rm, rv = k["rng"].standard_normal(c), k["rng"].uniform(0.2, 3, c)
    assert_close(kernels.batch_norm(x, rm, rv, k["w"], k["b"], eps=eps), f.batch_norm(xt, t(rm), t(rv), w, b, eps=eps),
                 dtype)
    if x.shape[0] * x.shape[2] * x.shape[3] > 1:
        assert_close(kernels.batch_norm(x, rm, rv, k["w"], k["b"], True, eps=eps),
                     f.batch_norm(xt, t(rm).clone(), t(rv).clone(), w, b, True, eps=eps), dtype)
        assert_close(kernels.instance_norm(x, None, None, k["w"], k["b"], eps=eps),
                     f.instance_norm(xt, weight=w, bias=b, eps=eps), dtype)
    assert_close(kernels.instance_norm(x, rm, rv, k["w"], k["b"], False, eps=eps),
                 f.instance_norm(xt, t(rm), t(rv), w, b, False, eps=eps), dtype)
    for g in (d for d in (1, 2, c) if c % d == 0):
        assert_close(kernels.group_norm(x, g, k["w"], k["b"], eps), f.group_norm(xt, g, w, b, eps), dtype)
    assert_close(kernels.channel_layer_norm(x, k["w"], k["b"], eps),
                 f.layer_norm(xt.permute(0, 2, 3, 1), (c,), w, b, eps).permute(0, 3, 1, 2), dtype)
    shape = x.shape[1:]
    lw, lb = k["rng"].standard_normal(shape), k["rng"].standard_normal(shape)
    assert_close(kernels.layer_norm(x, shape, lw, lb, eps), f.layer_norm(xt, shape, t(lw), t(lb), eps), dtype)
    assert_close(kernels.layer_norm(x[0], shape, lw, lb, eps), f.layer_norm(xt[0], shape, t(lw), t(lb), eps), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_norms_are_stable_for_a_large_mean(dtype):
    """A plane with mean 1e4 and spread 1e-2: one-pass E[x²] - E[x]² in float32 would be pure rounding."""
    rng = np.random.default_rng(2)
    x = (1e4 + 1e-2 * rng.standard_normal((1, 4, 16, 16))).astype(dtype)
    ref = naive.instance_norm(x)
    assert_close(kernels.instance_norm(x), ref, dtype)
    assert_close(kernels.group_norm(x, 2), naive.group_norm(x, 2), dtype)
    assert_close(kernels.layer_norm(x, x.shape[1:]), naive.layer_norm(x, x.shape[1:]), dtype)


FUSED = [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}), ("silu", {}), ("gelu", {}),
         ("sigmoid", {}), ("tanh", {}), ("hardswish", {}), ("mish", {}), ("prelu", {"weight": np.linspace(-1, 1, 6)})]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, kw", FUSED, ids=[n for n, _ in FUSED])
def test_norm_with_activation_equals_the_two_passes(name, kw, dtype):
    """group_norm / instance_norm with activation= give bit for bit the norm followed by the standalone
    activation (per-channel PReLU included), for planes of many pixels and of one (a (N, C, 1, 1) input)."""
    rng = np.random.default_rng(5)
    act = kernels.Activation(name, **kw)
    for shape in [(2, 6, 9, 13), (3, 6, 1, 1)]:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        w, b = rng.standard_normal(6), rng.standard_normal(6)
        for norm, args in [(kernels.group_norm, (3, w, b)), (kernels.instance_norm, (None, None, w, b))]:
            if norm is kernels.instance_norm and shape[2] == 1:
                continue  # instance norm needs more than one pixel
            two = getattr(kernels, name)(norm(x, *args), **kw)
            np.testing.assert_array_equal(norm(x, *args, activation=act), two, err_msg=f"{norm.__name__} {shape}")
            if not kw:
                np.testing.assert_array_equal(norm(x[0], *args, activation=name), two[0])


# ---------------------------------------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------------------------------------

INTERP = [("nearest", False), ("nearest-exact", False), ("bilinear", False), ("bicubic", False), ("area", False),
          ("bilinear", True), ("bicubic", True), ("lanczos", True)]


@st.composite
def interp_cases(draw, max_size=40):
    dtype = draw(st.sampled_from(FLOATS))
    x = image(draw, dtype, h=(1, 12), w=(1, 12))
    mode, antialias = draw(st.sampled_from(INTERP))
    align = None if mode in ("nearest", "nearest-exact", "area") else (
        False if mode == "lanczos" else draw(st.booleans()))
    kw = dict(mode=mode, align_corners=align, antialias=antialias)
    if draw(st.booleans()):
        kw["size"] = draw(st.tuples(st.integers(1, max_size), st.integers(1, max_size)))
    else:
        factor = st.one_of(st.integers(1, 4), st.sampled_from([0.5, 1.5, 2.5, 1 / 3, 2.0029]),
                           st.floats(0.25, 4, allow_nan=False))
        kw["scale_factor"] = draw(st.tuples(factor, factor))
        assume(int(x.shape[2] * kw["scale_factor"][0]) >= 1 and int(x.shape[3] * kw["scale_factor"][1]) >= 1)
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return x, kw


@SETTINGS
@given(interp_cases())
def test_interpolate_matches_definition(case):
    x, kw = case
    got, ref = kernels.interpolate(x, **kw), naive.interpolate(x, **kw)
    if kw["mode"].startswith("nearest"):
        np.testing.assert_array_equal(got, ref)
    else:
        assert_close(got, ref, x.dtype)
    np.testing.assert_array_equal(kernels.interpolate(x[0], **kw), got[0])  # CHW is one image


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interp_cases(max_size=160))
def test_interpolate_matches_torch(case):
    torch = torch_or_skip()
    x, kw = case
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), **kw).numpy()
    h_out, w_out = ref.shape[2:]
    # PyTorch 2.13 bug: antialiased resizing to width 1 skips the height pass (returns the first rows);
    # there the definition (test above) is the reference.
    assume(not (kw["antialias"] and w_out == 1 and h_out != x.shape[2]))
    got = kernels.interpolate(x, **kw)
    if kw["mode"].startswith("nearest"):
        np.testing.assert_array_equal(got, ref)
    else:
        assert_close(got, ref, x.dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("h_out", [2, 7, 100])
@pytest.mark.parametrize("n_in, n_out, factor", [(36, 114, None), (42, 133, None), (72, None, 2.0029),
                                                 (42, None, 2.0114), (2, 107, None), (29, None, 3.7)])
def test_nearest_index_regimes_match_torch(n_in, n_out, factor, h_out, dtype):
    """PyTorch rounds nearest indices in float32 for small outputs (H_out + W_out <= 128, with exact
    shortcuts for sizes n and 2n) and in the input dtype otherwise (with an FMA in nearest-exact): the cases
    here sit on the ties where the two differ."""
    torch = torch_or_skip()
    x = np.broadcast_to(np.arange(n_in, dtype=dtype), (1, 2, 3, n_in)).copy()
    kw = dict(size=(h_out, n_out)) if n_out else dict(scale_factor=(h_out / 3, factor))
    for mode in ("nearest", "nearest-exact"):
        ref = torch.nn.functional.interpolate(torch.from_numpy(x), mode=mode, **kw).numpy()
        np.testing.assert_array_equal(kernels.interpolate(x, mode=mode, **kw), ref)


@pytest.mark.parametrize("dtype", FLOATS)
def test_legacy_upsampling_api(dtype):
    """upsample_nearest2d / upsample_bilinear2d (called by analytics.simulation) are interpolate by an integer
    factor."""
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4)).astype(dtype)
    np.testing.assert_array_equal(kernels.upsample_nearest2d(x, (2, 3)),
                                  kernels.interpolate(x, scale_factor=(2, 3), mode="nearest"))
    np.testing.assert_array_equal(kernels.upsample_bilinear2d(x, 2),
                                  kernels.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


def test_interpolation_replicates_torch_nan_and_inf():
    """Zero-weight taps still multiply (0 * inf = NaN), as in PyTorch: the tables keep them."""
    x = np.zeros((1, 2, 3, 4))
    x[0, 0, 1, 1] = np.inf
    got = kernels.interpolate(x, size=(3, 8), mode="bilinear")
    assert np.isnan(got[0, 0, 1, :5]).all() and (got[0, 0, 1, 5:] == 0).all() and (got[0, 0, [0, 2]] == 0).all()
    torch = pytest.importorskip("torch")
    for mode in ("bilinear", "bicubic"):
        ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(3, 8), mode=mode).numpy()
        np.testing.assert_array_equal(kernels.interpolate(x, size=(3, 8), mode=mode), ref)


# ---------------------------------------------------------------------------------------------------------
# Pixel unshuffle, upfirdn2d
# ---------------------------------------------------------------------------------------------------------


@SETTINGS
@given(r=st.integers(1, 3), dtype=st.sampled_from(FLOATS), data=st.data())
def test_pixel_unshuffle_matches_definition_and_inverts_shuffle(r, dtype, data):
    x = image(data.draw, dtype, h=(1, 3), w=(1, 3))
    x = np.repeat(np.repeat(x, r, 2), r, 3) + np.random.default_rng(0).standard_normal((1, 1, 1, x.shape[3] * r))
    x = x.astype(dtype)
    got = kernels.pixel_unshuffle(x, r)
    np.testing.assert_array_equal(got, naive.pixel_unshuffle(x, r))
    np.testing.assert_array_equal(kernels.pixel_shuffle(got, r), x)
    np.testing.assert_array_equal(kernels.pixel_unshuffle(x[0], r), got[0])
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(got, torch.nn.functional.pixel_unshuffle(torch.from_numpy(x), r).numpy())


def upfirdn2d_torch(x, f, up, down, padding, flip_filter, gain):
    """StyleGAN2's reference formula (``_upfirdn2d_ref``) in torch ops: zero insertion, pad or crop,
    depthwise convolution with the (flipped) filter, W then H for 1-D filters, subsampling."""
    torch = pytest.importorskip("torch")
    f_ = torch.nn.functional
    (upx, upy), (dx, dy) = naive._pair(up), naive._pair(down)
    p = [padding] * 4 if isinstance(padding, int) else (
        [padding[0], padding[0], padding[1], padding[1]] if len(padding) == 2 else list(padding))
    n, c, h, w = x.shape
    z = torch.zeros(n, c, h * upy, w * upx, dtype=x.dtype)
    z[:, :, ::upy, ::upx] = x
    z = f_.pad(z, [max(p[0], 0), max(p[1], 0), max(p[2], 0), max(p[3], 0)])
    z = z[:, :, max(-p[2], 0) : z.shape[2] - max(-p[3], 0), max(-p[0], 0) : z.shape[3] - max(-p[1], 0)]
    f = torch.ones(1, 1) if f is None else torch.as_tensor(f)
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        z = f_.conv2d(z, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        z = f_.conv2d(z, f[None, None, None].repeat(c, 1, 1, 1), groups=c)
        z = f_.conv2d(z, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    return z[:, :, ::dy, ::dx].numpy()


@st.composite
def upfirdn_cases(draw):
    dtype = draw(st.sampled_from(FLOATS))
    x = image(draw, dtype, h=(1, 8), w=(1, 8))
    xy = st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2))
    up, down = draw(xy), draw(xy)
    padding = draw(st.one_of(st.integers(-2, 4), st.lists(st.integers(-2, 4), min_size=2, max_size=2),
                             st.lists(st.integers(-3, 4), min_size=4, max_size=4)))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    kind = draw(st.sampled_from(["none", "1d", "2d", "outer"]))  # outer: a separable 2-D filter (StyleGAN2)
    f = None if kind == "none" else rng.standard_normal(
        draw(st.integers(1, 5)) if kind == "1d" else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    ).astype(np.float32)
    if kind == "outer":
        f = np.outer(f[:, 0], f[0]).astype(np.float32)
    flip, gain = draw(st.booleans()), draw(st.sampled_from([1, 4, 2.5]))
    fh, fw = (1, 1) if f is None else (f.shape * 2 if f.ndim == 1 else f.shape)
    (upx, upy), p = naive._pair(up), ([padding] * 4 if isinstance(padding, int) else (
        [padding[0], padding[0], padding[1], padding[1]] if len(padding) == 2 else padding))
    assume(x.shape[3] * upx + p[0] + p[1] >= fw and x.shape[2] * upy + p[2] + p[3] >= fh)
    return x, f, up, down, padding, flip, gain


@SETTINGS
@given(upfirdn_cases())
def test_upfirdn2d_matches_definition_and_stylegan_reference(case):
    x, *args = case
    got = kernels.upfirdn2d(x, *args)
    assert_close(got, naive.upfirdn2d(x, *args), x.dtype)
    np.testing.assert_array_equal(kernels.upfirdn2d(x[0], *args), got[0])
    torch = pytest.importorskip("torch")
    assert_close(got, upfirdn2d_torch(torch.from_numpy(x), *args), x.dtype)


def test_stylegan2_upsample_blur_is_a_transposed_conv_with_the_blur_kernel():
    """StyleGAN2's upsample2d(x, [1, 3, 3, 1], up=2): pad ((4 + 1) // 2, (4 - 2) // 2), gain up² = 4, i.e. the
    depthwise transposed convolution with outer([1, 3, 3, 1])/16 * 4, stride 2, padding 1."""
    x = np.random.default_rng(4).standard_normal((1, 3, 6, 5))
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0
    got = kernels.upfirdn2d(x, f, up=2, padding=[2, 1, 2, 1], gain=4)
    ref = kernels.conv_transpose2d(x, np.broadcast_to(4 * f, (3, 1, 4, 4)), stride=2, padding=1, groups=3)
    assert got.shape == (1, 3, 12, 10)
    assert_close(got, ref, np.float64)
    from checkerlab.kernels.resample import _rank_one

    for dtype in FLOATS:  # the blur is an outer product: it runs as two 1-D passes in both dtypes
        u, v = _rank_one(np.asarray(f, dtype))
        assert u is not None and np.array_equal(np.outer(u, v), f)
    assert _rank_one(np.eye(3))[0] is None


# ---------------------------------------------------------------------------------------------------------
# Validation: one line, naming the function, the parameter and the allowed range
# ---------------------------------------------------------------------------------------------------------

X = np.zeros((1, 4, 5, 6), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: kernels.pad(X, (1, 1, 1)), r"pad: pad must be a tuple \(left, right\) or \(left, right, top, bottom\)"),
    (lambda: kernels.pad(X, (6, 0, 0, 0), "reflect"), r"pad: reflect padding must be smaller than the input width 6"),
    (lambda: kernels.pad(X, (7, 0, 0, 0), "circular"), r"pad: circular padding must be at most the width 6"),
    (lambda: kernels.pad(X, (-7, 0, 0, 0)), r"pad: pad \(-7, 0\) crops more than the width 6 of x"),
    (lambda: kernels.pad(X, (1, 1), "reflect"), r"pad: reflect padding of 4-D x needs pad = \(left, right, top"),
    (lambda: kernels.pad(X, (1, 1, 1, 1), "wrap"), r"pad: mode must be one of constant, reflect, replicate"),
    (lambda: kernels.pad(X, (1, 1, 1, 1), "reflect", 2.0), r"pad: padding mode 'reflect' takes no value"),
    (lambda: kernels.pad(X, (1.5, 1)), r"pad: pad entries must be integers"),
    (lambda: kernels.avg_pool2d(X, 3, padding=2), r"avg_pool2d: padding \(2, 2\) must be at most half the kernel"),
    (lambda: kernels.avg_pool2d(X, 7), r"avg_pool2d: the input \(5, 6\) with padding \(0, 0\) is smaller than"),
    (lambda: kernels.avg_pool2d(X, 2, divisor_override=0), r"avg_pool2d: divisor_override must be a nonzero"),
    (lambda: kernels.max_pool2d(X, 0), r"max_pool2d: kernel_size must be an integer >= 1, got 0"),
    (lambda: kernels.max_pool2d(X, 3, dilation=3), r"max_pool2d: .* smaller than the dilated kernel \(7, 7\)"),
    (lambda: kernels.adaptive_avg_pool2d(X, (1, 2, 3)), r"adaptive_avg_pool2d: output_size must be an int or a pair"),
    (lambda: kernels.adaptive_max_pool2d(X, 0), r"adaptive_max_pool2d: output_size must be an integer >= 1"),
    (lambda: kernels.batch_norm(X, np.zeros(3), np.ones(4)), r"batch_norm: running_mean must be a real vector of "
                                                             r"shape \(4,\)"),
    (lambda: kernels.batch_norm(X, None, None), r"batch_norm: running_mean and running_var are required unless"),
    (lambda: kernels.batch_norm(X[:, :, :1, :1], None, None, training=True), r"batch_norm: training needs more"),
    (lambda: kernels.instance_norm(X[:, :, :1, :1]), r"instance_norm: needs more than 1 spatial element"),
    (lambda: kernels.group_norm(X, 3), r"group_norm: num_groups must be a positive integer dividing the 4 "),
    (lambda: kernels.group_norm(X, 2, eps=-1), r"group_norm: eps must be a non-negative number"),
    (lambda: kernels.layer_norm(X, (5, 5)), r"layer_norm: normalized_shape must be the trailing axes of x"),
    (lambda: kernels.layer_norm(X, 6, weight=np.ones(5)), r"layer_norm: weight must be a real array of shape "
                                                          r"\(6,\)"),
    (lambda: kernels.channel_layer_norm(X, bias=np.ones(3)), r"channel_layer_norm: bias must be a real vector"),
    (lambda: kernels.interpolate(X), r"interpolate: either size or scale_factor should be defined"),
    (lambda: kernels.interpolate(X, 3, 2.0), r"interpolate: only one of size or scale_factor"),
    (lambda: kernels.interpolate(X, (3, 0)), r"interpolate: size must be an integer >= 1, got 0"),
    (lambda: kernels.interpolate(X, scale_factor=0.1), r"interpolate: scale_factor 0.1 gives an empty output"),
    (lambda: kernels.interpolate(X, scale_factor=float("inf")), r"interpolate: scale_factor must be positive and"),
    (lambda: kernels.interpolate(X, 3, mode="linear"), r"interpolate: mode 'linear' is for 3-D input"),
    (lambda: kernels.interpolate(X, 3, mode="area", align_corners=True), r"interpolate: align_corners can only"),
    (lambda: kernels.interpolate(X, 3, mode="lanczos"), r"interpolate: mode 'lanczos' requires antialias=True"),
    (lambda: kernels.interpolate(X, 3, mode="nearest", antialias=True), r"interpolate: antialias is restricted"),
    (lambda: kernels.interpolate(X, 3, recompute_scale_factor=True), r"interpolate: recompute_scale_factor is not"),
    (lambda: kernels.pixel_unshuffle(X, 2), r"pixel_unshuffle: the height 5 and width 6 of x must be divisible"),
    (lambda: kernels.upfirdn2d(X, np.ones((2, 2, 2))), r"upfirdn2d: f must be a non-empty 1-D \(separable\) or 2-D"),
    (lambda: kernels.upfirdn2d(X, [1, 2], padding=(1, 2, 3)), r"upfirdn2d: padding must be an int, \[x, y\] or"),
    (lambda: kernels.upfirdn2d(X, np.ones(9)), r"upfirdn2d: the upsampled and padded height 5 is smaller than the"),
    (lambda: kernels.upfirdn2d(X, None, up=0), r"upfirdn2d: up must be an integer >= 1, got 0"),
    (lambda: kernels.avg_pool2d(X.astype(np.int32), 2), r"avg_pool2d: x must be float32 or float64, got int32"),
])
def test_validation_messages(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value) and len(str(info.value)) <= 300


# ---------------------------------------------------------------------------------------------------------
# Inputs: never modified, never copied when already C-contiguous of the right dtype, any layout accepted
# ---------------------------------------------------------------------------------------------------------

CALLS = {
    "pad": lambda x: kernels.pad(x, (2, 2, 2, 2), "reflect"),
    "avg_pool2d": lambda x: kernels.avg_pool2d(x, 2),
    "max_pool2d": lambda x: kernels.max_pool2d(x, 3, 2, 1),
    "adaptive_avg_pool2d": lambda x: kernels.adaptive_avg_pool2d(x, 7),
    "batch_norm": lambda x: kernels.batch_norm(x, np.zeros(x.shape[1]), np.ones(x.shape[1])),
    "instance_norm": lambda x: kernels.instance_norm(x),
    "group_norm": lambda x: kernels.group_norm(x, 2),
    "layer_norm": lambda x: kernels.layer_norm(x, x.shape[1:]),
    "channel_layer_norm": lambda x: kernels.channel_layer_norm(x),
    "interpolate": lambda x: kernels.interpolate(x, scale_factor=0.5, mode="bilinear"),
    "upfirdn2d": lambda x: kernels.upfirdn2d(x, [1, 3, 3, 1], down=2),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_inputs_are_untouched_and_not_copied(name):
    x = np.random.default_rng(5).standard_normal((1, 4, 256, 256)).astype(np.float32)
    before = x.copy()
    CALLS[name](x)  # compile outside the measurement
    tracemalloc.start()
    y = CALLS[name](x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(x, before)
    # the result plus at most one intermediate pass of half the input: a copy of x would add x.nbytes more
    assert peak <= y.nbytes + 0.75 * x.nbytes, (peak, y.nbytes, x.nbytes)
    assert not np.shares_memory(y, x)
    strided = np.ascontiguousarray(np.repeat(x, 2, axis=3))[:, :, :, ::2]  # same values, non-contiguous
    np.testing.assert_array_equal(CALLS[name](strided), y)
    assert y.dtype == np.float32 and CALLS[name](x.astype(np.float64)).dtype == np.float64


# ---------------------------------------------------------------------------------------------------------
# Compilation: nogil, cached, safe fastmath, lazily per dtype
# ---------------------------------------------------------------------------------------------------------

PROBE = r"""
import json
import numpy as np
from checkerlab import kernels
from checkerlab.kernels.pad import MODES as PAD_MODES
from checkerlab.kernels import norm, resample, separable
x = np.ones((1, 4, 6, 6), np.float32)
kernels.avg_pool2d(x, 2)
kernels.group_norm(x, 2)
dispatchers = {"pass_w": separable._pass_w, "pass_h": separable._pass_h, "gather": separable._gather,
               "fir2d": resample._fir2d, "partial_sums": norm._partial_sums, "affine_rows": norm._affine_rows,
               "norm_rows": norm._norm_rows, "channel_norm": norm._channel_norm}
print(json.dumps({k: [str(s) for s in d.signatures] for k, d in dispatchers.items()}))
"""


def test_kernels_compile_lazily_per_op_and_dtype(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    sigs = json.loads(out.strip().splitlines()[-1])
    assert len(sigs["pass_w"]) == len(sigs["pass_h"]) == 1 and "float32" in sigs["pass_w"][0]
    assert len(sigs["norm_rows"]) == 1 and "float32" in sigs["norm_rows"][0]
    never_called = ("gather", "fir2d", "partial_sums", "affine_rows", "channel_norm")
    assert all(sigs[k] == [] for k in never_called)  # never called: never compiled


def test_entry_points_are_nogil_cached_serial_and_safe_fastmath():
    """Each runs a range of its jobs; threads.parallel_for shares them (no Numba threading layer)."""
    from checkerlab.kernels import norm, resample, separable

    for d in (separable._gather, separable._pass_w, separable._pass_h, resample._fir2d, norm._partial_sums,
              norm._affine_rows, norm._norm_rows, norm._channel_norm):
        assert d.targetoptions["nogil"] is True
        assert not d.targetoptions.get("parallel")
        assert d._cache.__class__.__name__ == "FunctionCache"  # cache=True
        assert not {"nnan", "ninf", "fast"} & set(d.targetoptions.get("fastmath", ()) or ())
