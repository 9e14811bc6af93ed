"""2-D convolution and transposed convolution with PyTorch semantics (NCHW, zero padding, groups), with an
optional fused bias + activation epilogue.

Three routes, chosen per shape (`_register_route`, `_depthwise_pays`, `_lowers`, with their measured
crossovers): register-blocked direct kernels on explicit SIMD vectors (`kernels.direct`: `Direct` for dense
conv2d of strides 1-3 and unit-stride transposed ops on rows of 32+ outputs, `Lanes` for narrow and strided
ops with 32+ output channels, `Depthwise` for depthwise conv2d; `kernels.pointwise.Pointwise` for 1x1 ops
with up to 128 channels, `_streams`); the direct kernel `kernels.gather.gather`
for the other strided and small ops; and matrix products
(`kernels.gemm`: `Lowering`, im2col + BLAS as jobs of the kernels' threads, for the other dense ops with 16+
output channels per group; one product per image for pointwise ops on every core). All share the geometry below,
computed once per shape. The transposed convolution is computed in polyphase form: output phase
``(r_h, r_w)`` (outputs ``y[r_h + s_h*m_h, r_w + s_w*m_w]``) receives ``x[m_h - q_h, m_w - q_w]`` from exactly
the taps ``t`` with ``t*d - p = q*s + r`` per axis, so no multiply is spent on the zeros a scatter formulation
would insert. The convolution reads its input split into its ``s_h * s_w`` stride phases, so that every tap
again reads a contiguous slice (each job stages the rows it needs, zero-padded).

Per call: the arguments are checked in plain Python, and everything that depends only on the shapes and
hyper-parameters (validation, tap tables, job split) is a `Plan` cached by those values, so a repeated call
costs a dictionary lookup, the output allocation and the compiled kernel. Inputs that are already
C-contiguous and of x's dtype are never copied (a read-only array is, once: compiled code takes writable
arrays only).
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from . import gather as _g
from . import gemm
from ._args import as_batch, as_int, bias1, pair, unbatch, weight4
from .activations import IDENTITY, apply, as_activation
from .direct import Depthwise, Direct, Lanes
from .gather import BLOCK, PARALLEL_MIN, gather
from .pointwise import Pointwise
from .threads import blas_serial, num_threads

CHUNK_BYTES = 2048  # accumulator row per pass: BLOCK rows of this stay in L1
STAGE_BYTES = 1 << 18  # staged input rows per job: stays in L2
MIN_JOBS = 4 * numba.config.NUMBA_NUM_THREADS  # share channel blocks, then rows, until there are this many
MIN_LENGTH = 1024  # elements per row block at least (short vectors pay the per-pass overhead)
GEMM_MIN_CHANNELS = 16  # a pointwise op runs as a matrix product from this many channels per group ...
GEMM_MIN_WORK = 1 << 22  # ... and multiply-adds (BLAS on two threads of an oversubscribed machine can stall)
LOWER_MIN_CHANNELS = 16  # a dense op runs as im2col + matrix products (gemm.Lowering) from this many output
LOWER_MIN_K = 64  # ... channels per group, this many (input channel, tap) terms per output ...
LOWER_MIN_WORK = 1 << 18  # ... and multiply-adds
SIMD_MIN_WORK = 1 << 17  # multiply-adds from which the register-blocked direct kernel runs dense ops ...
SIMD_MIN_WIDTH = 8  # ... with rows of at least this many outputs
NARROW = 32  # rows of fewer outputs are narrow: with 32+ channels, `direct.Lanes` fills its lanes better
LANES_MIN_CHANNELS = 32  # output channels per group from which narrow or strided ops put channels in the lanes
STREAM_MAX_CHANNELS = 128  # input channels per group up to which pointwise ops run on `pointwise.Pointwise`


def _phase_taps(k, s, d, p):
    """Polyphase tap tables of one axis of a transposed convolution.

    Tap ``t`` sends input ``i`` to output ``i*s + t*d - p = (i + q_t)*s + r_t``. Returns ``taps[r]`` and
    ``q[r]``: lists of the taps that reach output phase ``r`` and their shifts.
    """
    taps, qs = [[] for _ in range(s)], [[] for _ in range(s)]
    for t in range(k):
        q, r = divmod(t * d - p, s)
        taps[r].append(t)
        qs[r].append(q)
    return taps, qs


def _phase_pads(qs, n_in, n_out, s):
    """Zero padding (before, after) such that x[m - q + before] exists for every tap and m of its phase."""
    allq = [q for phase in qs for q in phase]
    m_max = -(-n_out // s)
    if not allq:
        return 0, max(0, m_max - n_in)
    before = max(0, max(allq))
    after = max(0, m_max - min(allq) - n_in, m_max - n_in - before)
    return before, after


def _plane_tables(planes):
    """Pack [(r_h, r_w, m_h, m_w, [(offset, t_h, t_w), ...]), ...] into the kernel's arrays."""
    width = max(1, max(len(p[4]) for p in planes))
    n = len(planes)
    p_r = np.zeros((n, 2), np.int64)
    p_m = np.zeros((n, 2), np.int64)
    p_cnt = np.zeros(n, np.int64)
    p_off = np.zeros((n, width), np.int64)
    p_tap = np.zeros((n, width, 2), np.int64)
    for i, (r_h, r_w, m_h, m_w, taps) in enumerate(planes):
        p_r[i] = r_h, r_w
        p_m[i] = m_h, m_w
        p_cnt[i] = len(taps)
        for a, (off, th, tw) in enumerate(taps):
            p_off[i, a] = off
            p_tap[i, a] = th, tw
    return p_r, p_m, p_cnt, p_off, p_tap


class Plan:
    """Everything about one call that depends only on shapes and hyper-parameters: the output shape, the
    direct kernel's job split (geometry vector and plane tables) for one thread and for several, whether the
    op is pointwise and worth a matrix product, its `gemm.Lowering` where products beat the direct kernel,
    and the work (multiply-adds) that decides the threading."""

    __slots__ = ("out_shape", "c_out", "dtype", "serial", "parallel", "work", "pointwise", "lowering", "simd",
                 "empty", "no_table", "no_bias")

    def __init__(self, out_shape, dtype, serial, parallel, work):
        self.out_shape, self.c_out, self.dtype = out_shape, out_shape[1], dtype
        self.serial, self.parallel, self.work, self.pointwise = serial, parallel, work, False
        self.lowering = None  # a gemm.Lowering where im2col + matrix products beat the direct kernel
        self.simd = None  # a direct.Direct or direct.Lanes where SIMD register blocks beat both
        self.empty = np.empty((0, 0, 0, 0), dtype)
        self.no_table = np.zeros((1, 2), dtype)
        self.no_bias = np.zeros(self.c_out, dtype)

    def run(self, x4, w, b, activation, return_preactivation):
        """The output (and the pre-activation output if asked) of the planned op on x4, w, b (None: no bias)."""
        if activation is not None and not activation.fused:  # a pass of its own (`activations.SEPARATE`)
            y = self.run(x4, w, b, None, False)
            out = apply(activation, y)
            return (out, y) if return_preactivation else out
        y = np.empty(self.out_shape, self.dtype)
        pre = np.empty(self.out_shape, self.dtype) if return_preactivation and activation is not None \
            else self.empty
        if activation is None:
            code, table = IDENTITY, self.no_table
        else:
            code, table = activation.code, activation.parameters(self.c_out, self.dtype)
        # this thread's setting (threads.limited or numba.set_num_threads), asked only when the work could use it
        budget = 1 if self.work < PARALLEL_MIN else num_threads()
        threads = budget
        geo, tables = self.serial if threads == 1 else self.parallel
        all_cores = budget == numba.config.NUMBA_NUM_THREADS
        if self.simd is not None:
            self.simd.run(x4, w, self.no_bias if b is None else b, y, pre, code, table, threads)
        elif self.lowering is not None and blas_serial():  # products as jobs of our threads, one BLAS thread each
            self.lowering.run(x4, w, self.no_bias if b is None else b, y, pre, code, table, threads)
        elif self.pointwise and all_cores:  # no control of BLAS's threads: one product per image on all of them
            gemm.pointwise(x4, w, b, y, pre, code, table, int(geo[_g.GROUPS]), bool(geo[_g.TRANSPOSED]),
                           self.no_bias)
        elif self.lowering is not None and all_cores:
            self.lowering.run(x4, w, self.no_bias if b is None else b, y, pre, code, table, threads)
        else:
            gather(x4, w, self.no_bias if b is None else b, y, pre, code, table, geo, tables, threads)
        if return_preactivation:
            return y, (pre if activation is not None else y)
        return y


def _pointwise(c_ig, c_og, work):
    """Whether a pointwise op pays as a matrix product: enough input channels (the product's K) and output
    rows (its M) to run BLAS near its peak, and enough work to amortise the call (measured crossovers,
    benchmarks/bench_kernels.py)."""
    return c_ig >= GEMM_MIN_CHANNELS and c_og >= GEMM_MIN_CHANNELS and work >= GEMM_MIN_WORK


def _lowers(c_ig, c_og, taps, work):
    """Whether a dense op pays as im2col + matrix products (`gemm.Lowering`) rather than the direct kernel:
    at least LOWER_MIN_CHANNELS output channels per group (the product's M; depthwise and the tool's 1-8
    channel layers stay direct), LOWER_MIN_K terms (input channel, tap) per output and LOWER_MIN_WORK
    multiply-adds. Measured on the bench_kernels grid (float32, one thread, interleaved in one run): of its
    53 dense shapes with 32+ channels the lowered route is faster on 47 (conv2d on 28 of 28, geomean 1.98x
    faster; conv_transpose2d on 19 of 25, 1.29x; the six exceptions, mostly 32-channel transposed convs,
    within 17 %); with 8 channels the direct kernel's 4x4 register blocks keep up with a product this thin."""
    return c_og >= LOWER_MIN_CHANNELS and c_ig * taps >= LOWER_MIN_K and work >= LOWER_MIN_WORK


ROUTE = None  # "rows", "lanes", "pointwise" or "other": force the route (tests compare them on any shape);
# None: measured


def _streams(c_ig):
    """Whether a pointwise op (1x1 taps, unit stride, no padding) runs on `pointwise.Pointwise`: up to
    STREAM_MAX_CHANNELS input channels per group, else as BLAS products (`_pointwise`) or the gather kernel.
    Measured against the routes they took before, in one run (2 threads; scratch timing, not a benchmark):
    float64 1x1x256^2 0.066 -> 0.024 ms (torch 0.030), 4x3x256^2 0.58 -> 0.40 (torch 0.35), 4x8x128^2
    0.45 -> 0.28 (torch 0.23); the BLAS products it replaces up to 128 channels took 1.3-3.6x its time
    (float64 2x128x32^2 2.14 -> 1.10 ms, float32 2x32x128^2 1.88 -> 0.52, torch 0.62); from 256 channels
    BLAS is 1.2-2.5x faster (float64 1x256x32^2 1.87 against 4.59 ms)."""
    if ROUTE is not None:
        return ROUTE == "pointwise"
    return c_ig <= STREAM_MAX_CHANNELS


def _register_route(c_og, taps, work, w_out, stride, transposed):
    """The register-blocked route of a dense op: "rows" (`direct.Direct`, output positions in the lanes),
    "lanes" (`direct.Lanes`, output channels in the lanes) or None (the gather kernel or matrix products).
    Lanes takes ops with 32+ output channels per group (its block) and 2+ taps that are narrow (rows under
    NARROW outputs), strided transposed, or of stride 3+: measured on the bench_kernels grid against
    both other routes in one run (float32, 2 threads), 0.3-0.6x their time on 8x8 images with 32-128 channels
    and 0.5-0.9x on stride-3 ops of 32 channels. A stride-2 conv2d with rows of 32+ outputs stays on rows:
    0.5-0.85x lanes' time with 32-128 channels, both dtypes (e.g. float32 4x32x256^2 k3: 8.4 against 18.0 ms;
    stride 3 is even, 0.9-1.3x). Pointwise ops stay BLAS products or `pointwise.Pointwise`."""
    if ROUTE is not None:
        return ROUTE if ROUTE in ("rows", "lanes") and c_og > 1 else None
    wide_stride2 = not transposed and max(stride) == 2 and w_out >= NARROW
    if c_og >= LANES_MIN_CHANNELS and taps > 1 and work >= SIMD_MIN_WORK and not wide_stride2 and \
            (w_out < NARROW or stride != (1, 1)):
        return "lanes"
    return "rows" if _simd_pays(c_og, taps, work, w_out, stride, transposed) else None


def _register_block(route, *geometry):
    """The `direct.Direct` or `direct.Lanes` of a route chosen by `_register_route` (None: neither), built on
    the op's geometry (their shared arguments)."""
    if route == "rows":
        return Direct(*geometry, STAGE_BYTES, MIN_JOBS)
    return Lanes(*geometry) if route == "lanes" else None


def _depthwise_pays(taps, stride):
    """Whether a depthwise conv2d runs on `direct.Depthwise`'s register tiles rather than the gather kernel:
    more than one tap (a 1x1 depthwise op is a scale per channel, one pass either way) and strides up to 3
    (`direct._stage`'s de-interleaving). Measured against the gather kernel in one run (float32, 2 threads):
    0.33-0.6x its time on 3x3 and 5x5 ops with 3-128 channels, 8x8 to 256x256 images, strides 1-3. A dense
    op of one input and one output channel is the same op: 0.55-1.0x the gather kernel's time on the
    bench_kernels grid's 1-channel conv2d shapes of 128^2 and 256^2 (float32 2x1x128^2 k5 0.094 -> 0.052 ms,
    float64 4x1x128^2 k3 0.200 -> 0.116), 1 us slower on 8x8 images."""
    if ROUTE is not None:
        return ROUTE == "rows"
    return taps > 1 and max(stride) <= 3


def _simd_pays(c_og, taps, work, w_out, stride, transposed):
    """Whether a dense op runs on `direct.Direct`'s register blocks: unit stride or a conv2d of stride 2 or 3
    (larger strides and strided transposed ops pay more for their phase staging or for interleaving their
    output planes), more than one tap (pointwise ops: `_streams`), 2+ output channels per group (a
    depthwise op has `direct.Depthwise`), rows of SIMD_MIN_WIDTH+ outputs and SIMD_MIN_WORK multiply-adds.
    Measured per shape against the other routes in one run (float32, 2 threads, the bench_kernels grid):
    0.46-0.83x their time on unit-stride 3x3 and 5x5 ops with 3-128 channels and 32+ wide rows; on stride-2
    3x3 conv2d 0.55-0.94x with 32 channels and 0.63-0.86x with 3-8, on stride-3 5x5 conv2d with 3-8 channels
    0.67-1.07x (its staging de-interleaves with shuffles); strided transposed ops 1.1-1.9x. Rows of 8-31
    outputs (since the helpers start without waiting for the GIL, `threads`): 0.5-0.8x the gather kernel's
    time on 4x8x8^2 to 4x8x16^2 3x3 ops of both kinds and dtypes, 0.4-0.5x the lowered products on 4x16x8^2
    k3, 0.6x on 4x8x32^2 k3 s2; below SIMD_MIN_WORK (1x8x8^2 k3) the gather kernel is faster."""
    unit = stride == (1, 1) or (transposed is False and max(stride) <= 3)
    return c_og > 1 and taps > 1 and unit and w_out >= SIMD_MIN_WIDTH and work >= SIMD_MIN_WORK


def _plan(out_shape, dtype, planes, c_ig, groups, pitch, halo, si, stage_top, pad_t, pad_l, transposed, work,
          direct=False, pointwise=False):
    """The `Plan` of one op; ``planes``: [(r_h, r_w, m_h, m_w, [((phase, row, column), t_h, t_w), ...])]: each
    tap reads the staged input phase ``phase`` shifted by (row, column); ``halo``: staged rows beyond a
    block's own (the kernel's extent), in plane rows; ``direct``: the op reads x itself, unstaged (no padding,
    unit stride, pitch = x's width)."""
    args = (out_shape, dtype, planes, c_ig, groups, pitch, halo, si, stage_top, pad_t, pad_l, transposed, direct)
    serial = _jobs(*args, 1)
    plan = Plan(out_shape, dtype, serial, _jobs(*args, MIN_JOBS) if work >= PARALLEL_MIN else serial, work)
    c_og = out_shape[1] // groups
    plan.pointwise = pointwise
    if pointwise or _lowers(c_ig, c_og, max(len(p[4]) for p in planes), work):
        geo = _jobs(*args[:-1], False, 1)[0]  # staged unless pointwise (then the columns are x itself)
        plan.lowering = gemm.Lowering(transposed, groups, c_og, c_ig, planes, out_shape[0], geo, halo,
                                      np.dtype(dtype).itemsize, MIN_JOBS, pointwise)
    return plan


def _jobs(out_shape, dtype, planes, c_ig, groups, pitch, halo, si, stage_top, pad_t, pad_l, transposed, direct,
          min_jobs):
    """(geometry vector, plane tables) of a job split with at least ``min_jobs`` jobs where the shape allows:
    rows per job as many as fit `STAGE_BYTES` of staged input, then the output-channel blocks shared among
    jobs (not for strided inputs), then shorter row blocks."""
    n_batch, c_out = out_shape[0], out_shape[1]
    itemsize = np.dtype(dtype).itemsize
    m_max = max(1, max(p[2] for p in planes))
    base = n_batch * groups
    rows = max(1, min(m_max, STAGE_BYTES // (c_ig * si[0] * si[1] * pitch * itemsize) - halo))
    n_rb = -(-m_max // rows)
    n_ob = -(-(c_out // groups) // BLOCK)
    # first share the channel blocks (no extra halo; each job stages the same rows: cheap contiguous copies),
    # except for strided input phases, whose staging (a gather) costs as much as a channel block's multiplies
    n_og = 1 if si != (1, 1) else min(n_ob, -(-min_jobs // (base * n_rb)))
    if base * n_rb * n_og < min_jobs:  # then shorter row blocks, of at least MIN_LENGTH elements
        want = -(-min_jobs // (base * n_og))
        rows = max(1, min(rows, max(-(-MIN_LENGTH // pitch), -(-m_max // want))))
        n_rb = -(-m_max // rows)
    rows_q = rows + halo
    longest = max([(min(rows, m_h) - 1) * pitch + m_w for _, _, m_h, m_w, _ in planes if m_h > 0], default=1)
    chunk = min(CHUNK_BYTES // itemsize, -(-longest // 16) * 16)  # no bigger than a block needs
    tables = _plane_tables([(r_h, r_w, m_h, m_w, [((a * rows_q + i) * pitch + j, th, tw) for (a, i, j), th, tw in taps])
                            for r_h, r_w, m_h, m_w, taps in planes])
    geo = np.zeros(_g.GEO_SIZE, np.int64)
    geo[[_g.GROUPS, _g.PITCH, _g.CHUNK, _g.ROWS, _g.N_RB, _g.N_OG, _g.SO_H, _g.SO_W, _g.SI_H, _g.SI_W, _g.ROWS_Q,
         _g.STAGE_TOP, _g.PAD_T, _g.PAD_L, _g.TRANSPOSED, _g.N_JOBS, _g.DIRECT, _g.STAGED]] = (
        groups, pitch, chunk, rows, n_rb, n_og, max(p[0] for p in planes) + 1,
        len(planes) // (max(p[0] for p in planes) + 1), si[0], si[1], rows_q, stage_top, pad_t, pad_l,
        transposed, base * n_rb * n_og, direct, 0 if direct else c_ig * si[0] * si[1] * rows_q * pitch)
    return geo, tables


def _key(v):
    """A hashable form of an int-or-sequence hyper-parameter (for the plan cache)."""
    if type(v) is int:  # the common case first: this runs four times per call
        return v
    return tuple(v) if isinstance(v, (list, np.ndarray)) else v


@functools.lru_cache(maxsize=1024)
def _transposed_plan(x_shape, dtype, w_shape, stride, padding, output_padding, dilation, groups):
    fn = "conv_transpose2d"
    sh, sw = pair(fn, "stride", stride, 1)
    ph, pw = pair(fn, "padding", padding, 0)
    oph, opw = pair(fn, "output_padding", output_padding, 0)
    dh, dw = pair(fn, "dilation", dilation, 1)
    groups = as_int(fn, "groups", groups, 1)
    n_batch, c_in, h_in, w_in = x_shape
    if c_in % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_in} input channels of x")
    if w_shape[0] != c_in:
        raise ValueError(f"{fn}: weight has {w_shape[0]} input channels but x has {c_in}")
    for axis, op_, s_, d_ in ((0, oph, sh, dh), (1, opw, sw, dw)):
        if op_ >= max(s_, d_):
            raise ValueError(f"{fn}: output_padding[{axis}]={op_} must be smaller than either stride ({s_}) "
                             f"or dilation ({d_})")
    c_og, kh, kw = w_shape[1], w_shape[2], w_shape[3]
    c_ig, c_out = c_in // groups, c_og * groups
    h_out = (h_in - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w_out = (w_in - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the output size ({h_out}, {w_out}) must be positive; reduce padding")
    taps_h, qs_h = _phase_taps(kh, sh, dh, ph)
    taps_w, qs_w = _phase_taps(kw, sw, dw, pw)
    top, bottom = _phase_pads(qs_h, h_in, h_out, sh)
    left, right = _phase_pads(qs_w, w_in, w_out, sw)
    wp = w_in + left + right
    all_qh = [q for phase in qs_h for q in phase]
    halo = top - min(all_qh, default=top)  # block rows m0..m0+R-1 read input rows m0 - top .. m0+R-1 - min q
    planes = []
    for r_h in range(sh):
        for r_w in range(sw):
            taps = [((0, top - q_h, left - q_w), t_h, t_w)
                    for t_h, q_h in zip(taps_h[r_h], qs_h[r_h], strict=True)
                    for t_w, q_w in zip(taps_w[r_w], qs_w[r_w], strict=True)]
            planes.append((r_h, r_w, max(0, -(-(h_out - r_h) // sh)), max(0, -(-(w_out - r_w) // sw)), taps))
    work = n_batch * c_out * c_ig * kh * kw * h_in * w_in
    pointwise = (kh, kw) == (sh, sw) and (ph, pw, oph, opw, dh, dw) == (0, 0, 0, 0, 1, 1) and \
        _pointwise(c_ig, c_og * kh * kw, work)
    plan = _plan((n_batch, c_out, h_out, w_out), dtype, planes, c_ig, groups, wp, halo, (1, 1), top, 0, left,
                 1, work, direct=(top, bottom, left, right) == (0, 0, 0, 0), pointwise=pointwise)
    if (kh, kw, sh, sw, ph, pw, oph, opw) == (1, 1, 1, 1, 0, 0, 0, 0) and _streams(c_ig):
        plan.simd = Pointwise(True, groups, c_in, c_og, plan.out_shape, dtype, MIN_JOBS)
        return plan
    plan.simd = _register_block(_register_route(c_og, kh * kw, work, w_out, (sh, sw), True), True, groups, c_in,
                                c_og, planes, plan.out_shape, (h_in, w_in), (1, 1), (top, left), (sh, sw), dtype)
    return plan


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1, *,
                     activation=None, return_preactivation=False):
    """Transposed 2-D convolution, exactly ``torch.nn.functional.conv_transpose2d``, then ``activation``.

    Per spatial axis ``y[n, g*C_og + o, i*s + t*d - p] += x[n, g*C_ig + c, i] * w[g*C_ig + c, o, t]``, plus
    ``bias[o]``; output size ``(H - 1)*s - 2p + d*(k - 1) + op + 1``. ``x`` is NCHW (or CHW, giving CHW),
    ``weight`` ``(C_in, C_out/groups, kH, kW)``; the result has ``x``'s dtype (float32 or float64).
    ``activation`` (None, a name such as ``"relu"``, or an `Activation`) is applied in the same pass;
    ``return_preactivation=True`` returns ``(y, pre)`` with ``pre`` the output before the activation.
    """
    fn = "conv_transpose2d"
    x4, squeeze = as_batch(fn, x)
    dtype = x4.dtype
    w = weight4(fn, weight, dtype)
    plan = _transposed_plan(x4.shape, dtype, w.shape, _key(stride), _key(padding), _key(output_padding),
                            _key(dilation), groups)
    b = None if bias is None else bias1(fn, bias, plan.c_out, dtype)
    out = plan.run(x4, w, b, as_activation(activation), return_preactivation)
    if return_preactivation:
        return unbatch(out[0], squeeze), unbatch(out[1], squeeze)
    return unbatch(out, squeeze)


def _padding4(fn, padding):
    """padding as (top, bottom, left, right) from an int, a pair (h, w), or a 4-tuple."""
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) == 4:
        return tuple(as_int(fn, "padding", v, 0) for v in padding)
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) != 2:
        raise ValueError(f"{fn}: padding must be an int, a pair (h, w) or (top, bottom, left, right), "
                         f"got {padding!r}")
    ph, pw = pair(fn, "padding", padding, 0)
    return ph, ph, pw, pw


@functools.lru_cache(maxsize=1024)
def _conv_plan(x_shape, dtype, w_shape, stride, padding, dilation, groups):
    fn = "conv2d"
    sh, sw = pair(fn, "stride", stride, 1)
    pt, pb, pl, pr = _padding4(fn, padding)
    dh, dw = pair(fn, "dilation", dilation, 1)
    groups = as_int(fn, "groups", groups, 1)
    n_batch, c_in, h_in, w_in = x_shape
    c_out, c_ig, kh, kw = w_shape
    if c_in % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_in} input channels of x")
    if c_out % groups:
        raise ValueError(f"{fn}: groups={groups} must divide the {c_out} output channels of weight")
    if c_ig * groups != c_in:
        raise ValueError(f"{fn}: weight has {c_ig} input channels per group but x has {c_in // groups} "
                         f"({c_in} channels in {groups} group(s))")
    h_out = (h_in + pt + pb - dh * (kh - 1) - 1) // sh + 1
    w_out = (w_in + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{fn}: the padded input ({h_in + pt + pb}, {w_in + pl + pr}) is smaller than the "
                         f"dilated kernel ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1})")
    # Stride phases of the padded input: xs[c, a, b, i, j] = xpad[c, i*s_h + a, j*s_w + b].
    wq = -(-(w_in + pl + pr) // sw)
    taps = []
    for th in range(kh):
        qh, ah = divmod(th * dh, sh)
        for tw in range(kw):
            qw, aw = divmod(tw * dw, sw)
            taps.append(((ah * sw + aw, qh, qw), th, tw))
    halo = (kh - 1) * dh // sh
    c_og = c_out // groups
    work = n_batch * c_out * c_ig * kh * kw * h_out * w_out
    one_by_one = (kh, kw, sh, sw, pt, pb, pl, pr) == (1, 1, 1, 1, 0, 0, 0, 0)
    plan = _plan((n_batch, c_out, h_out, w_out), dtype, [(0, 0, h_out, w_out, taps)], c_ig, groups, wq, halo,
                 (sh, sw), 0, pt, pl, 0, work, direct=(sh, sw, pt, pb, pl, pr) == (1, 1, 0, 0, 0, 0),
                 pointwise=one_by_one and _pointwise(c_ig, c_og, work))
    if one_by_one and _streams(c_ig):
        plan.simd = Pointwise(False, groups, c_in, c_og, plan.out_shape, dtype, MIN_JOBS)
        return plan
    if c_ig == 1 and c_og == 1:  # depthwise (a one-channel dense op too)
        if _depthwise_pays(kh * kw, (sh, sw)):
            plan.simd = Depthwise(groups, [(0, 0, h_out, w_out, taps)], plan.out_shape, (h_in, w_in), (sh, sw),
                                  (pt, pl), dtype, STAGE_BYTES, MIN_JOBS)
        return plan
    plan.simd = _register_block(_register_route(c_og, kh * kw, work, w_out, (sh, sw), False), False, groups, c_in,
                                c_og, [(0, 0, h_out, w_out, taps)], plan.out_shape, (h_in, w_in), (sh, sw),
                                (pt, pl), (1, 1), dtype)
    return plan


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, activation=None,
           return_preactivation=False):
    """2-D convolution (cross-correlation), exactly ``torch.nn.functional.conv2d`` with zero padding, then
    ``activation``.

    Per spatial axis ``y[n, g*C_og + o, i] = bias[o] + sum_{c, t} w[g*C_og + o, c, t] * xpad[n, g*C_ig + c,
    i*s + t*d]``; ``padding`` is an int, a pair, or ``(top, bottom, left, right)``; output size
    ``(H + p_before + p_after - d*(k - 1) - 1) // s + 1``; ``weight`` is ``(C_out, C_in/groups, kH, kW)``.
    ``activation`` and ``return_preactivation`` as in `conv_transpose2d`.
    """
    fn = "conv2d"
    x4, squeeze = as_batch(fn, x)
    dtype = x4.dtype
    w = weight4(fn, weight, dtype)
    plan = _conv_plan(x4.shape, dtype, w.shape, _key(stride), _key(padding), _key(dilation), groups)
    b = None if bias is None else bias1(fn, bias, plan.c_out, dtype)
    out = plan.run(x4, w, b, as_activation(activation), return_preactivation)
    if return_preactivation:
        return unbatch(out[0], squeeze), unbatch(out[1], squeeze)
    return unbatch(out, squeeze)
