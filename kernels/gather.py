"""The one parallel Numba kernel of the package: a blocked, race-free polyphase gather.

Every spatial operator here (transposed convolution, convolution, bilinear upsampling) computes output
*planes*: a transposed convolution with stride ``s`` has ``s_h * s_w`` of them (its phases
``y[r_h + s_h*m_h, r_w + s_w*m_w]``), a convolution one. Inside a plane every tap reads the zero-padded
input at a fixed offset, so with the plane flattened at the input's row pitch ``P`` (``l = m_h*P + m_w``)

    plane[o, l] = bias[o] + sum_{c, tap} w[o, c, tap] * xf[base(n, c) + off(tap) + l]

is a sum of *contiguous* slices of the flat input: no bounds tests (the caller pads), long vectors (the
columns ``m_w >= M_w`` between rows are computed and dropped). A parallel job owns one (image, block of
4 output channels, row of planes, run of chunks of ``l``) and writes only its own outputs: no races.
Each pass over a chunk adds 4 terms to 4 output channels (16 FMAs per 4 input loads) in an accumulator
that stays in L1; the column phases of a row are written back together (interleaved for stride 2).

Compilation: on first use, once per dtype (float32, float64), cached on disk (``cache=True``): a second
process start compiles nothing. The per-job worker has an explicit signature and the parallel driver calls
it through a function pointer, so the driver does not link in, re-optimise and re-emit the worker's code
(which would double the compile time).
Both are ``nogil`` (a GUI worker thread can run them) and use only the safe ``fastmath`` subset: no
``nnan``/``ninf``, so NaN and Inf propagate as in PyTorch.
"""

import threading

import numpy as np
from numba import njit, prange, types

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})

BLOCK = 4  # output channels per job (the register block of the inner loop)
DTYPES = (np.float32, np.float64)


def _signatures(dtype):
    """(worker, driver) signatures for one float dtype."""
    f = types.float32 if dtype == np.float32 else types.float64
    i, arr = types.int64, types.Array

    def args(*head):
        return (*head, arr(f, 1, "C"), i, i, i, arr(f, 4, "C"), arr(f, 1, "C"), arr(f, 4, "C"), i, i, i, i, i,
                arr(i, 2, "C"), arr(i, 2, "C"), arr(i, 1, "C"), arr(i, 2, "C"), arr(i, 3, "C"), i, i)

    worker = types.void(*args(i))
    return worker, types.void(*args(types.FunctionType(worker), i))


def _plane_job(job, xf, xs_n, xs_c, zero_at, wk, b, y, groups, pitch, chunk, n_chunks, per_job,
               p_r, p_m, p_cnt, p_off, p_tap, so_h, so_w):
    # Planes are ordered p = r_h * so_w + r_w with p_r[p] = (r_h, r_w); a job takes all column phases of
    # one row phase, so that every output row segment is completed by one thread while it is in cache.
    n_rows = p_cnt.shape[0] // so_w
    c_out = y.shape[1]
    c_ig = wk.shape[1]
    c_og = c_out // groups
    n_ob = (c_og + BLOCK - 1) // BLOCK
    n_runs = (n_chunks + per_job - 1) // per_job
    run = job % n_runs
    rest = job // n_runs
    prow = rest % n_rows
    rest //= n_rows
    ob = rest % n_ob
    rest //= n_ob
    g = rest % groups
    n = rest // groups
    o0 = g * c_og + ob * BLOCK
    nb = min(BLOCK, (g + 1) * c_og - o0)
    n_pad = (c_ig * p_off.shape[1] + 3) // 4 * 4
    offs = np.empty(so_w * n_pad, dtype=np.int64)  # [rw, term]; -1: padding, reads the zero slice
    ws = np.empty(so_w * n_pad * BLOCK, dtype=y.dtype)  # [rw, term, q]
    for t in range(so_w * n_pad):
        offs[t] = -1
    for t in range(so_w * n_pad * BLOCK):
        ws[t] = 0
    for rw in range(so_w):
        p = prow * so_w + rw
        t = rw * n_pad
        for c in range(c_ig):
            base = n * xs_n + (g * c_ig + c) * xs_c
            for a in range(p_cnt[p]):
                offs[t] = base + p_off[p, a]
                th, tw = p_tap[p, a, 0], p_tap[p, a, 1]
                for q in range(nb):
                    ws[t * BLOCK + q] = wk[o0 + q, c, th, tw]
                t += 1
    acc = np.empty((so_w, BLOCK, chunk), dtype=y.dtype)
    sizes = np.empty(so_w, dtype=np.int64)
    r_h = p_r[prow * so_w, 0]
    m_h = p_m[prow * so_w, 0]  # the same for every column phase of the row phase
    for k in range(run * per_job, min(n_chunks, (run + 1) * per_job)):
        l0 = k * chunk
        l_end = l0
        for rw in range(so_w):
            p = prow * so_w + rw
            m_w = p_m[p, 1]
            size = min(chunk, (m_h - 1) * pitch + m_w - l0)
            sizes[rw] = size if m_h > 0 and m_w > 0 else 0
            if sizes[rw] <= 0:
                continue
            l_end = max(l_end, l0 + size)
            a0, a1, a2, a3 = acc[rw, 0], acc[rw, 1], acc[rw, 2], acc[rw, 3]
            for q in range(BLOCK):
                bq = b[o0 + q] if q < nb else 0.0
                aq = acc[rw, q]
                for i in range(size):
                    aq[i] = bq
            for j in range(rw * n_pad, rw * n_pad + (c_ig * p_cnt[p] + 3) // 4 * 4, 4):
                s0 = offs[j] + l0 if offs[j] >= 0 else zero_at
                s1 = offs[j + 1] + l0 if offs[j + 1] >= 0 else zero_at
                s2 = offs[j + 2] + l0 if offs[j + 2] >= 0 else zero_at
                s3 = offs[j + 3] + l0 if offs[j + 3] >= 0 else zero_at
                x0 = xf[s0 : s0 + size]
                x1 = xf[s1 : s1 + size]
                x2 = xf[s2 : s2 + size]
                x3 = xf[s3 : s3 + size]
                w00, w01, w02, w03, w10, w11, w12, w13 = ws[4 * j : 4 * j + 8]
                w20, w21, w22, w23, w30, w31, w32, w33 = ws[4 * j + 8 : 4 * j + 16]
                for i in range(size):
                    v0, v1, v2, v3 = x0[i], x1[i], x2[i], x3[i]
                    a0[i] += (w00 * v0 + w10 * v1) + (w20 * v2 + w30 * v3)
                    a1[i] += (w01 * v0 + w11 * v1) + (w21 * v2 + w31 * v3)
                    a2[i] += (w02 * v0 + w12 * v1) + (w22 * v2 + w32 * v3)
                    a3[i] += (w03 * v0 + w13 * v1) + (w23 * v2 + w33 * v3)
        # Write back row by row; with two column phases the pair is stored interleaved (vectorises).
        for mh in range(l0 // pitch, (l_end - 1) // pitch + 1):
            lo = max(0, l0 - mh * pitch)
            shift = mh * pitch - l0
            row = r_h + so_h * mh
            hi0 = min(p_m[prow * so_w, 1], l0 + sizes[0] - mh * pitch)
            both = lo
            if so_w == 2:
                both = max(lo, min(hi0, p_m[prow * so_w + 1, 1], l0 + sizes[1] - mh * pitch))
            for q in range(nb):
                yrow = y[n, o0 + q, row]
                if so_w == 2:
                    e0, e1 = acc[0, q], acc[1, q]
                    for mw in range(lo, both):
                        yrow[2 * mw] = e0[shift + mw]
                        yrow[2 * mw + 1] = e1[shift + mw]
                for rw in range(so_w):
                    hi = min(p_m[prow * so_w + rw, 1], l0 + sizes[rw] - mh * pitch)
                    r_w = p_r[prow * so_w + rw, 1]
                    aq = acc[rw, q]
                    for mw in range(both, hi):
                        yrow[r_w + so_w * mw] = aq[shift + mw]


def _gather_planes(worker, n_jobs, xf, xs_n, xs_c, zero_at, wk, b, y, groups, pitch, chunk, n_chunks, per_job,
                   p_r, p_m, p_cnt, p_off, p_tap, so_h, so_w):
    for job in prange(n_jobs):
        worker(np.int64(job), xf, xs_n, xs_c, zero_at, wk, b, y, groups, pitch, chunk, n_chunks, per_job,
               p_r, p_m, p_cnt, p_off, p_tap, so_h, so_w)


_lock = threading.Lock()
_jitted = []


def compiled():
    """The (worker, driver) dispatchers, compiled (or loaded from the cache) on first use."""
    with _lock:
        if not _jitted:
            sigs = [_signatures(dt) for dt in DTYPES]
            worker = njit([s[0] for s in sigs], nogil=True, cache=True, fastmath=set(FASTMATH))(_plane_job)
            driver = njit([s[1] for s in sigs], parallel=True, nogil=True, cache=True,
                          fastmath=set(FASTMATH))(_gather_planes)
            _jitted.extend((worker, driver))
    return _jitted[0], _jitted[1]


MIN_JOBS = 16  # split planes into runs of chunks until there are at least this many jobs


def gather_planes(xf, xs_n, xs_c, zero_at, wk, b, y, groups, pitch, chunk, p_r, p_m, p_cnt, p_off, p_tap,
                  so_h, so_w):
    """For every image ``n``, output channel ``o`` (group ``g``), plane ``p`` and ``l = m_h*pitch + m_w``:

    ``y[n, o, p_r[p,0] + so_h*m_h, p_r[p,1] + so_w*m_w] = b[o] + sum_{c < C_ig, a < p_cnt[p]}
    wk[o, c, p_tap[p,a,0], p_tap[p,a,1]] * xf[n*xs_n + (g*C_ig + c)*xs_c + p_off[p, a] + l]``

    for ``m_h < p_m[p,0]``, ``m_w < p_m[p,1]``. ``xf`` is flat, holds every slice read (the caller pads)
    and ``chunk`` zeros from ``zero_at``; ``wk`` is ``(C_out, C_ig, kH, kW)``. Planes are ordered
    ``p = r_h*so_w + r_w`` with ``p_r[p] = (r_h, r_w)``.
    """
    lengths = [(int(mh) - 1) * pitch + int(mw) for mh, mw in p_m if mh > 0 and mw > 0]
    n_chunks = max(1, -(-max(lengths, default=1) // chunk))
    n_ob = -(-(y.shape[1] // groups) // BLOCK)
    blocks = y.shape[0] * groups * n_ob * (len(p_m) // so_w)
    per_job = max(1, -(-n_chunks * blocks // MIN_JOBS)) if blocks < MIN_JOBS else n_chunks
    per_job = min(per_job, n_chunks)
    n_jobs = blocks * -(-n_chunks // per_job)
    worker, driver = compiled()
    driver(worker, n_jobs, xf, xs_n, xs_c, zero_at, wk, b, y, groups, pitch, chunk, n_chunks, per_job,
            p_r, p_m, p_cnt, p_off, p_tap, so_h, so_w)
