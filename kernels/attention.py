"""Scaled dot-product attention with PyTorch semantics: ``softmax(q kᵀ · scale + mask) v``, fused.

``scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)`` takes torch's
arguments in torch's order: query (..., L, E), key (..., S, E), value (..., S, Ev), batch dims broadcast; a
boolean mask hides its False entries, a float mask is added to the scores; ``is_causal`` hides key j from query
i when j > i (torch's top-left ``tril``); a query whose keys are all hidden gets 0, as torch's CPU kernels.

The algorithm is flash attention's online softmax (Dao et al. 2022; torch's own CPU kernel works this way):
a job owns one head and a block of ``4 * lanes`` queries (64 float32, 32 float64; `simd.Vec` lanes) and
walks the keys in blocks of ``KEY_BLOCK``, keeping per query the running maximum m, the running sum l of
exp(s - m) and the unnormalised output acc (Ev x queries), all in L1:

    s   = q kᵀ for the block           (4 keys x 4 query vectors in 16 registers over all of E)
    m'  = max(m, max_j s_j);  α = exp(m - m');  l = α l + Σ_j exp(s_j - m');  acc = α acc + v_blockᵀ exp(s - m')
    out = acc / l                      (at the end; l = 0 only for a query that sees no key: out = 0)

Everything is laid out with the queries along the vector lanes (q stored transposed, (E, L)), so the
products, the column maxima, the exponentials and the sums are all whole-vector operations with no
horizontal reduction; the products keep their accumulators in registers across the whole reduction
(over E for the scores, over the key block for the output, 4 value channels at a time). The exponential is
`kernels.exp.exp` (<= 1 ulp). The full (L, S) score matrix never exists: memory O(L*E + S*(E + Ev)) besides
the output, and the cost is O(heads * L * S * (E + Ev)) multiply-adds plus L*S exponentials; causal attention
skips the key blocks after a query block (about half). Masks are transposed once to the same layout, O(L*S).
Jobs (head, query block) run on the kernels' threads (`threads.parallel_for`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._args import FLOAT_DTYPES
from .exp import exp
from .jit import FASTMATH
from .simd import fma4x4, lanes, vadd, vload, vmax, vmul, vsplat, vstore, vsub
from .threads import claim, num_threads, run_jobs

QUERY_VECTORS = 4  # vectors of queries per job block (the register block's width)
KEY_BLOCK = 64  # keys per block of the online softmax: a (64, 4 vectors) score tile is 16 KB, in L1
PARALLEL_MIN = 1 << 18  # multiply-adds below which one thread is faster than waking another

# Layout of the int64 vector `dims` of `_attention`.
(D_L, D_LP, D_S, D_SP, D_E, D_EV, D_EVP, D_LANES, D_CAUSAL, D_MASK, D_SIZE) = range(11)


@njit(nogil=True, cache=True, inline="always")
def _store_block(a, r, row, lv, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33):
    """The 4 x 4 register block into 4 rows of ``a`` (``row`` apart) from ``r``: a_cj to a[r + c*row + j*lv :]."""
    vstore(a, r, a00), vstore(a, r + lv, a01), vstore(a, r + 2 * lv, a02), vstore(a, r + 3 * lv, a03)
    r += row
    vstore(a, r, a10), vstore(a, r + lv, a11), vstore(a, r + 2 * lv, a12), vstore(a, r + 3 * lv, a13)
    r += row
    vstore(a, r, a20), vstore(a, r + lv, a21), vstore(a, r + 2 * lv, a22), vstore(a, r + 3 * lv, a23)
    r += row
    vstore(a, r, a30), vstore(a, r + lv, a31), vstore(a, r + 2 * lv, a32), vstore(a, r + 3 * lv, a33)


@njit(nogil=True, cache=True, fastmath=set(FASTMATH))
def _attention(jobs, qt, k, v, mask, kidx, vidx, midx, out, dims):
    """The jobs (head b, query block) it claims (`threads.claim`): see the module docstring. Flat C arrays:
    ``qt`` (heads, E, Lp) the scaled queries transposed (padded queries are 0); ``k`` (heads_k, Sp, E) (padded
    keys are 0); ``v``
    (heads_v, S, Evp) (padded channels are 0); ``mask`` (heads_m, S, Lp) additive, transposed; ``kidx``,
    ``vidx``, ``midx``: the k, v and mask head of each head b; ``out`` (heads, L, Ev)."""
    n_l, lp, n_s, sp, n_e, n_ev, evp, lv = dims[D_L], dims[D_LP], dims[D_S], dims[D_SP], dims[D_E], dims[D_EV], \
        dims[D_EVP], dims[D_LANES]
    causal, has_mask = dims[D_CAUSAL] != 0, dims[D_MASK] != 0
    qb = QUERY_VECTORS * lv
    kb = KEY_BLOCK
    nq = lp // qb
    dt = qt.dtype.type
    zero, ninf = dt(0), dt(-np.inf)
    t = np.empty(kb * qb, qt.dtype)  # the score tile, rows = keys, then exp(s - m')
    acc = np.empty(evp * qb, qt.dtype)
    m = np.empty(qb, qt.dtype)
    l_sum = np.empty(qb, qt.dtype)
    ref = np.empty(qb, qt.dtype)
    alpha = np.empty(qb, qt.dtype)
    tmp = np.empty(qb, qt.dtype)
    l1, l2, l3 = lv, 2 * lv, 3 * lv
    while True:
        job = claim(jobs)
        if job < 0:
            break
        b = job // nq
        i0 = (job - b * nq) * qb
        acc[:] = zero
        m[:] = ninf
        l_sum[:] = zero
        qbase = b * n_e * lp + i0
        kbase = kidx[b] * sp * n_e
        vbase = vidx[b] * n_s * evp
        mbase = midx[b] * n_s * lp + i0
        j_end = min(n_s, i0 + qb) if causal else n_s  # causal: no query of the block sees a later key
        for j0 in range(0, j_end, kb):
            jn = min(kb, j_end - j0)
            # scores of 4 keys x 4 query vectors, accumulated over E in registers
            for jj in range(0, jn, 4):
                a00 = vsplat(zero)
                a01, a02, a03, a10, a11, a12, a13 = a00, a00, a00, a00, a00, a00, a00
                a20, a21, a22, a23, a30, a31, a32, a33 = a00, a00, a00, a00, a00, a00, a00, a00
                kr = kbase + (j0 + jj) * n_e
                for e in range(n_e):  # 4 query vectors of row e of qᵀ times k[j, e] of 4 keys
                    qo = qbase + e * lp
                    a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = fma4x4(
                        qt, qo, qo + l1, qo + l2, qo + l3, k, kr + e, n_e,
                        a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33)
                _store_block(t, jj * qb, qb, lv, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31,
                             a32, a33)
            if has_mask:
                for j in range(jn):
                    row = t[j * qb : (j + 1) * qb]
                    add = mask[mbase + (j0 + j) * lp : mbase + (j0 + j) * lp + qb]
                    for i in range(qb):
                        row[i] += add[i]
            if causal and j0 + jn - 1 > i0:  # key j0 + j is hidden from queries i0 + i < j0 + j
                for j in range(jn):
                    row = t[j * qb : j * qb + min(qb, max(0, j0 + j - i0))]
                    for i in range(row.shape[0]):
                        row[i] = ninf
            # running maximum, rescale factors and the reference m' (0 while a query has seen no key)
            x0, x1, x2, x3 = vload(m, 0), vload(m, l1), vload(m, l2), vload(m, l3)
            for j in range(jn):
                r = j * qb
                x0, x1 = vmax(vload(t, r), x0), vmax(vload(t, r + l1), x1)
                x2, x3 = vmax(vload(t, r + l2), x2), vmax(vload(t, r + l3), x3)
            vstore(tmp, 0, x0), vstore(tmp, l1, x1), vstore(tmp, l2, x2), vstore(tmp, l3, x3)
            for i in range(qb):
                mi = tmp[i]
                ri = mi if mi != ninf else zero
                alpha[i] = exp(m[i] - ri)
                ref[i] = ri
                m[i] = mi
            # exp(s - m') in place, and its column sums
            r0, r1, r2, r3 = vload(ref, 0), vload(ref, l1), vload(ref, l2), vload(ref, l3)
            s0 = vsplat(zero)
            s1, s2, s3 = s0, s0, s0
            for j in range(jn):
                r = j * qb
                p0, p1 = exp(vsub(vload(t, r), r0)), exp(vsub(vload(t, r + l1), r1))
                p2, p3 = exp(vsub(vload(t, r + l2), r2)), exp(vsub(vload(t, r + l3), r3))
                vstore(t, r, p0), vstore(t, r + l1, p1), vstore(t, r + l2, p2), vstore(t, r + l3, p3)
                s0, s1, s2, s3 = vadd(s0, p0), vadd(s1, p1), vadd(s2, p2), vadd(s3, p3)
            vstore(tmp, 0, s0), vstore(tmp, l1, s1), vstore(tmp, l2, s2), vstore(tmp, l3, s3)
            for i in range(qb):
                l_sum[i] = l_sum[i] * alpha[i] + tmp[i]
            # acc = alpha acc + v_blockᵀ p, 4 value channels x 4 query vectors in registers over the key block
            g0, g1, g2, g3 = vload(alpha, 0), vload(alpha, l1), vload(alpha, l2), vload(alpha, l3)
            for c0 in range(0, evp, 4):
                r = c0 * qb
                a00, a01 = vmul(vload(acc, r), g0), vmul(vload(acc, r + l1), g1)
                a02, a03 = vmul(vload(acc, r + l2), g2), vmul(vload(acc, r + l3), g3)
                r += qb
                a10, a11 = vmul(vload(acc, r), g0), vmul(vload(acc, r + l1), g1)
                a12, a13 = vmul(vload(acc, r + l2), g2), vmul(vload(acc, r + l3), g3)
                r += qb
                a20, a21 = vmul(vload(acc, r), g0), vmul(vload(acc, r + l1), g1)
                a22, a23 = vmul(vload(acc, r + l2), g2), vmul(vload(acc, r + l3), g3)
                r += qb
                a30, a31 = vmul(vload(acc, r), g0), vmul(vload(acc, r + l1), g1)
                a32, a33 = vmul(vload(acc, r + l2), g2), vmul(vload(acc, r + l3), g3)
                vr = vbase + j0 * evp + c0
                for j in range(jn):  # 4 query vectors of p's row j times v[j, c] of 4 channels
                    r = j * qb
                    a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33 = fma4x4(
                        t, r, r + l1, r + l2, r + l3, v, vr, 1,
                        a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33)
                    vr += evp
                _store_block(acc, c0 * qb, qb, lv, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31,
                             a32, a33)
        for i in range(min(qb, n_l - i0)):
            li = l_sum[i]
            w = 1 / li if li != zero else zero  # no visible key: acc is 0 too, the output 0
            o = (b * n_l + i0 + i) * n_ev
            for c in range(n_ev):
                out[o + c] = acc[c * qb + i] * w


def _heads(lead, shape_lead):
    """The index of each of the prod(lead) broadcast heads into an array with batch dims ``shape_lead``."""
    n = math.prod(shape_lead)
    return np.ascontiguousarray(np.broadcast_to(np.arange(n).reshape(shape_lead), lead).reshape(-1),
                                dtype=np.int64)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """``torch.nn.functional.scaled_dot_product_attention`` (same arguments and positional order):
    ``softmax(query keyᵀ * scale + mask) value`` over the last two axes, ``scale`` = 1/sqrt(E) by default; a
    boolean ``attn_mask`` keeps its True entries, a float one is added; ``is_causal`` hides key j from query i
    for j > i; a query that sees no key gets 0. ``dropout_p`` must be 0 (inference). float32 or float64 (the
    query's dtype; key and value are converted to it). See the module docstring for the algorithm and cost."""
    fn = "scaled_dot_product_attention"
    q, k, v = (np.asarray(a) for a in (query, key, value))
    if q.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: query must be float32 or float64, got {q.dtype}")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{fn}: query, key and value need at least 2 dims (..., L, E), got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: query {q.shape}, key {k.shape}, value {v.shape} do not fit (..., L, E), "
                         f"(..., S, E), (..., S, Ev)")
    if dropout_p != 0:
        raise ValueError(f"{fn}: dropout_p must be 0 (inference), got {dropout_p!r}")
    try:
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{fn}: the batch dims of query {q.shape}, key {k.shape}, value {v.shape} do not "
                         f"broadcast") from None
    dtype = q.dtype
    n_l, n_e = q.shape[-2:]
    n_s, n_ev = v.shape[-2:]
    heads = math.prod(lead)
    if scale is None:
        scale = 1 / math.sqrt(n_e) if n_e else 1.0
    lv = lanes(dtype)
    qb = QUERY_VECTORS * lv
    lp, sp, evp = -(-n_l // qb) * qb, -(-n_s // 4) * 4, -(-n_ev // 4) * 4
    # the layouts of `_attention`: queries scaled (before the product, as torch's math path) and transposed
    qt = np.zeros((heads, n_e, lp), dtype)
    qt[:, :, :n_l] = np.broadcast_to(q, (*lead, n_l, n_e)).reshape(heads, n_l, n_e).transpose(0, 2, 1)
    qt *= dtype.type(scale)
    kp = np.zeros((math.prod(k.shape[:-2]), sp, n_e), dtype)
    kp[:, :n_s] = k.reshape(-1, n_s, n_e)
    vp = np.zeros((math.prod(v.shape[:-2]), n_s, evp), dtype)
    vp[:, :, :n_ev] = v.reshape(-1, n_s, n_ev)
    if attn_mask is not None:
        a = np.asarray(attn_mask)
        if a.ndim < 2 or a.dtype.kind not in "bfiu":
            raise ValueError(f"{fn}: attn_mask must be a boolean or float array broadcastable to (..., L, S), "
                             f"got {a.dtype} {a.shape}")
        try:
            m_lead = np.broadcast_shapes(a.shape[:-2], lead)
            a = np.broadcast_to(a, (*a.shape[:-2], n_l, n_s))
        except ValueError:
            raise ValueError(f"{fn}: attn_mask of shape {a.shape} does not broadcast to {(*lead, n_l, n_s)}") \
                from None
        if m_lead != lead:
            raise ValueError(f"{fn}: attn_mask of shape {a.shape} does not broadcast to {(*lead, n_l, n_s)}")
        mask = np.zeros((math.prod(a.shape[:-2]), n_s, lp), dtype)
        add = np.where(a, dtype.type(0), dtype.type(-np.inf)) if a.dtype == bool else a
        mask[:, :, :n_l] = add.reshape(-1, n_l, n_s).transpose(0, 2, 1)
        midx = _heads(lead, a.shape[:-2])
    else:
        mask, midx = np.zeros(1, dtype), np.zeros(heads, np.int64)
    dims = np.zeros(D_SIZE, np.int64)
    dims[[D_L, D_LP, D_S, D_SP, D_E, D_EV, D_EVP, D_LANES, D_CAUSAL, D_MASK]] = \
        n_l, lp, n_s, sp, n_e, n_ev, evp, lv, bool(is_causal), attn_mask is not None
    out = np.empty((*lead, n_l, n_ev), dtype)
    n_jobs = heads * (lp // qb)
    threads = num_threads() if heads * n_l * n_s * (n_e + n_ev) >= PARALLEL_MIN else 1
    run_jobs(_attention, n_jobs, threads, qt.reshape(-1), kp.reshape(-1), vp.reshape(-1), mask.reshape(-1),
                 _heads(lead, k.shape[:-2]), _heads(lead, v.shape[:-2]), midx, out.reshape(-1), dims)
    return out
