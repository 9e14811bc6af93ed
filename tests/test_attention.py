"""The fused attention kernel (kernels.attention) and its exponential (kernels.exp) against slow references:
NumPy float64 with the whole score matrix (naive_ops), the float64 (or extended) exponential, and torch
(optional)."""

import numpy as np
import pytest
from naive_ops import scaled_dot_product_attention as naive_attention
from numba import njit

from checkerlab.kernels import threads
from checkerlab.kernels.attention import KEY_BLOCK, scaled_dot_product_attention
from checkerlab.kernels.exp import exp
from checkerlab.kernels.jit import FASTMATH
from checkerlab.kernels.simd import lanes, vload, vstore

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional extra
    torch = None


@njit(fastmath=set(FASTMATH))
def _exp_loop(x, y):
    for i in range(x.shape[0]):  # the loop vectoriser widens the scalar form
        y[i] = exp(x[i])


@njit
def _exp_vectors(x, y, lv):
    for i in range(0, x.shape[0], lv):
        vstore(y, i, exp(vload(x, i)))


SPECIAL = [-np.inf, np.inf, np.nan, 0.0, -0.0, 1.0, -1.0, 88.72, 88.73, -87.3, -103.9, -103.97, -104.0, -110.0,
           -745.1, -745.2, 709.7, 709.8, -1e30, 1e30]


def _exps(dtype, lo, hi, count):
    x = np.concatenate([np.linspace(lo, hi, count), SPECIAL]).astype(dtype)
    x = np.concatenate([x, np.zeros(-x.size % lanes(dtype), dtype)])
    y, yv = np.empty_like(x), np.empty_like(x)
    _exp_loop(x, y)
    _exp_vectors(x, yv, lanes(dtype))
    return x, y, yv


@pytest.mark.parametrize("dtype, lo, hi", [(np.float32, -110, 90), (np.float64, -750, 712)])
def test_exp_is_within_one_ulp_over_the_whole_range(dtype, lo, hi):
    """Every value of a fine grid over the whole range (overflow, the subnormal results, underflow to 0) and the
    special values, scalar and vector forms alike, against the exponential in a wider type."""
    x, y, yv = _exps(dtype, lo, hi, 2_000_001)
    np.testing.assert_array_equal(y, yv)  # the vector form is the same arithmetic
    wide = np.longdouble if np.finfo(np.longdouble).nmant > np.finfo(dtype).nmant + 8 else np.float64
    if dtype == np.float64 and wide is np.float64:
        pytest.skip("optional: no extended precision long double on this platform for the float64 reference")
    with np.errstate(over="ignore", invalid="ignore"):
        ref = np.exp(x.astype(wide))
        rounded = ref.astype(dtype)
        finite = np.isfinite(rounded)
        ulp = np.spacing(np.abs(rounded[finite])).astype(wide)
        err = np.abs(y[finite].astype(wide) - ref[finite]) / ulp
    assert err.max() <= 1.0, (err.max(), x[finite][err.argmax()])
    assert np.all(np.isposinf(y[np.isposinf(rounded)]))  # overflow
    assert np.all(np.isnan(y[np.isnan(x)]))
    assert y[x == -np.inf].tolist() == [0.0] and np.all(y[x < -800] == 0)
    tiny = (rounded > 0) & (rounded < np.finfo(dtype).tiny)  # subnormal results are rounded, not flushed
    assert tiny.sum() > 1000 and np.all(y[tiny] > 0)


def _case(rng, q_shape, k_shape, v_shape, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape)]


CASES = [  # q, k, v shapes: block edges (64 queries, 4 keys, 4 value channels, KEY_BLOCK keys), E = 1, L != S
    ((1, 1, 1), (1, 1, 1), (1, 1, 1)),
    ((3, 1), (5, 1), (5, 2)),
    ((2, 70, 5), (2, 33, 5), (2, 33, 7)),
    ((2, 3, 65, 16), (2, 3, 130, 16), (2, 3, 130, 3)),
    ((1, 2, 128, 32), (1, 2, 64, 32), (1, 2, 64, 32)),
    ((2, 1, 40, 8), (1, 3, 2 * KEY_BLOCK + 3, 8), (2, 3, 2 * KEY_BLOCK + 3, 9)),  # heads broadcast
]


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("shapes", CASES)
def test_attention_equals_the_definition(shapes, dtype, tol):
    rng = np.random.default_rng(len(shapes[0]) + shapes[1][-2])
    q, k, v = _case(rng, *shapes, dtype)
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    n_l, n_s = q.shape[-2], k.shape[-2]
    bool_mask = rng.random((*lead, n_l, n_s)) > 0.4
    bool_mask[..., 0, :] = False  # a fully hidden query: 0
    float_mask = rng.standard_normal((n_l, n_s)).astype(dtype)
    float_mask[-1, : n_s // 2] = -np.inf
    for mask, causal, scale in [(None, False, None), (None, True, None), (bool_mask, False, 0.7),
                                (float_mask, False, None), (bool_mask, True, None), (float_mask, True, 2.0)]:
        got = scaled_dot_product_attention(q, k, v, mask, is_causal=causal, scale=scale)
        want = naive_attention(q, k, v, mask, is_causal=causal, scale=scale)
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"mask {mask is not None}, causal {causal}")
    hidden = scaled_dot_product_attention(q, k, v, bool_mask)
    assert not hidden[..., 0, :].any()


def test_attention_takes_views_and_matches_on_one_or_more_threads():
    """Non-contiguous inputs (transposed views, strided slices) give the same as contiguous copies; the jobs
    split over threads give the same bits as one thread."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((2, 16, 300)).astype(np.float32)
    q = base.transpose(0, 2, 1)[:, ::2]  # (2, 150, 16), strided
    k = base.transpose(0, 2, 1)[:, 1::3]  # (2, 100, 16)
    v = rng.standard_normal((2, 12, 100)).astype(np.float32).transpose(0, 2, 1)
    got = scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(got, scaled_dot_product_attention(*map(np.ascontiguousarray, (q, k, v))))
    np.testing.assert_allclose(got, naive_attention(q, k, v), rtol=2e-6, atol=2e-6)
    big = _case(rng, (1, 2, 300, 32), (1, 2, 300, 32), (1, 2, 300, 32), np.float32)
    with threads.limited(1):
        one = scaled_dot_product_attention(*big)
    with threads.limited(2):
        np.testing.assert_array_equal(scaled_dot_product_attention(*big), one)


def test_attention_propagates_nan_and_rejects_bad_arguments():
    rng = np.random.default_rng(4)
    q, k, v = _case(rng, (6, 4), (5, 4), (5, 3), np.float32)
    q[2, 1] = np.nan
    out = scaled_dot_product_attention(q, k, v)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()
    bad = [((q, k, v[:4]), {}, "do not fit"), ((k.astype(np.int32), k, v), {}, "float32 or float64"),
           ((q, k, v), {"dropout_p": 0.1}, "dropout_p"), ((q, k, v), {"attn_mask": np.ones((6, 4), bool)}, "attn_mask"),
           ((q[0], k, v), {}, "at least 2 dims"), ((q[None].repeat(2, 0), k[None].repeat(3, 0), v), {}, "broadcast")]
    for args, kw, text in bad:
        with pytest.raises(ValueError, match=text):
            scaled_dot_product_attention(*args, **kw)


@pytest.mark.skipif(torch is None, reason="optional: torch is not installed")
@pytest.mark.parametrize("e", [1, 16, 32, 64])
def test_attention_equals_torch(e):
    """float32 against torch's own kernel (its CPU flash attention), decoder-like and odd shapes, masks, causal."""
    rng = np.random.default_rng(e)
    for q_shape, s in [((1, 1, 1024, e), 1024), ((2, 3, 77, e), 50)]:
        q = rng.standard_normal(q_shape).astype(np.float32)
        k = rng.standard_normal((*q_shape[:-2], s, e)).astype(np.float32)
        v = rng.standard_normal((*q_shape[:-2], s, e + 3)).astype(np.float32)
        mask = rng.random((q_shape[-2], s)) > 0.2
        for kw in [{}, {"is_causal": True}, {"attn_mask": mask}, {"attn_mask": np.where(mask, 0.5, -2.0)}]:
            tk = {key: torch.from_numpy(np.asarray(val, np.float32) if key == "attn_mask" and val.dtype != bool
                                        else val) if key == "attn_mask" else val for key, val in kw.items()}
            want = F.scaled_dot_product_attention(*map(torch.from_numpy, (q, k, v)), **tk).numpy()
            got = scaled_dot_product_attention(q, k, v, **kw)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=str(kw.keys()))
