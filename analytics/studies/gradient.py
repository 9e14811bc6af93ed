"""Study `gradient`: strided convolutions paint checkerboards into gradients (Distill 2016, last section).

The input gradient of y = Conv2d(k, stride=s)(x) is the adjoint map: per axis
    dL/dx[i] = sum_{o, t : o*s + t = i} dL/dy[o] w[t],
a ConvTranspose2d(k, stride=s) applied to dL/dy with the same weights. With a uniform upstream gradient and
all-ones weights, dL/dx[i] counts the taps that reach input i: exactly the transposed-conv overlap,
c(r) = #{t < k : t = r mod s} for r = i mod s, even iff s | k, holes iff k < s. Exact rows: k = 1..8,
s = 1..4, with the minimal period and the 1D periodic tile of this count (from `overlap_pattern`).

Monte Carlo check, on a simulated gradient: a Conv2d(k, stride=s) from 1 to 4 channels with random weights
U(0, 1) (mean 1/2), L = sum of its outputs; the gradient dL/dx = conv_transpose2d(ones, w) is computed with
the simulation kernels (PyTorch's autograd computes it the same way; the tests compare with torch). Its
phase-mean tile T (period s x s) satisfies E[T(r, r')] = 4 * 1/2 * c(r) c(r'), and sum_r' c(r') = k, so

    u(r) = sum_r' T(r, r') / (4 * 1/2 * k)   has   E[u(r)] = c(r):

`simulated` is the mean of u over draws (indexed r = i mod s, length s) and `simulated_stderr` its error.

Cost: exact part 32 one-layer patterns; Monte Carlo 32 small transposed convolutions per draw.
"""

from __future__ import annotations

import numpy as np

from ..layers import ConvTranspose2d
from ..metrics import interiors, phase_mean_tile
from ..overlap import overlap_pattern
from ..stack import Stack
from .montecarlo import child_rng, estimate, run_draws
from .result import StudyResult, rounded

NAME = "gradient"
CLAIM = ("The backward pass of a strided Conv2d(k, stride=s) is a ConvTranspose2d(k, stride=s): gradients get "
         "the same checkerboard.")
KERNEL_SIZES, STRIDES = range(1, 9), range(1, 5)
OUT_CHANNELS, WEIGHT_MEAN = 4, 0.5


def adjoint(k: int, s: int) -> ConvTranspose2d:
    """The layer whose overlap is the input-gradient count of Conv2d(k, stride=s) (same k, s; no padding)."""
    return ConvTranspose2d(k, stride=s)


def input_size(k: int, s: int) -> int:
    """An input length whose gradient interior holds several periods."""
    return 6 * s + 2 * k


def gradient(weight: np.ndarray, n: int, s: int) -> np.ndarray:
    """dL/dx of L = sum Conv2d(weight, stride=s)(x) for an (C_in, n, n) input x: the transposed convolution of
    an all-ones upstream gradient with the same weight (output_padding restores the input size)."""
    from ... import kernels

    k = weight.shape[-1]
    m = (n - k) // s + 1
    upstream = np.ones((weight.shape[0], m, m), weight.dtype)
    return kernels.conv_transpose2d(upstream, weight, None, stride=s, output_padding=(n - k) % s)


def draw(seed: np.random.SeedSequence) -> np.ndarray:
    """One draw: u(r) for every (k, s) row, padded with NaN to length max(s): shape (rows, max stride)."""
    rng = child_rng(seed, 0)
    out = np.full((len(KERNEL_SIZES) * len(STRIDES), max(STRIDES)), np.nan)
    for row, (k, s) in enumerate((k, s) for s in STRIDES for k in KERNEL_SIZES):  # the order of exact_rows
        n = input_size(k, s)
        w = rng.uniform(0.0, 2 * WEIGHT_MEAN, (OUT_CHANNELS, 1, k, k)).astype(np.float32)
        g = gradient(w, n, s)[0]
        m = (n - k) // s + 1
        edge = interiors(Stack([ConvTranspose2d(k, stride=s, output_padding=(n - k) % s)]), (m, m))[-1].edge
        tile = phase_mean_tile(g, (s, s), edge)
        out[row, :s] = tile.sum(axis=1) / (OUT_CHANNELS * WEIGHT_MEAN * k)
    return out


def exact_rows() -> list[dict]:
    """kernel_size, stride, even, period and the 1D tile of the input-gradient count, for every (k, s)."""
    rows = []
    for s in STRIDES:
        for k in KERNEL_SIZES:
            axis = overlap_pattern(Stack([adjoint(k, s)])).axes[0]
            tile = [int(v) for v in axis.tile]
            rows.append({"kernel_size": k, "stride": s, "even": len(tile) == 1 and tile[0] > 0,
                         "period": len(tile), "tile": tile})
    return rows


def run(*, seed: int = 0, draws: int = 256, executor=None, **sweep_options) -> StudyResult:
    values = run_draws(draw, seed, draws, executor, **sweep_options)  # (draws, rows, max stride)
    rows, worst = exact_rows(), 0.0
    for i, row in enumerate(rows):
        s = row["stride"]
        sim = [estimate(values[:, i, r]) for r in range(s)]
        for e, c in zip(sim, np.tile(row["tile"], s // row["period"]), strict=True):
            worst = max(worst, abs(e.mean - c) / e.stderr if e.stderr > 0 else (0.0 if e.mean == c else np.inf))
        row.update(simulated=[rounded(e.mean, 9) for e in sim], simulated_stderr=[rounded(e.stderr, 9) for e in sim])
    even = [r for r in rows if r["even"]]
    strided_even = [i for i, r in enumerate(rows) if r["even"] and r["stride"] > 1]
    spread = estimate(np.mean([np.ptp(values[:, i, :rows[i]["stride"]], axis=1) for i in strided_even], axis=0))
    rule = all(r["even"] == (r["kernel_size"] % r["stride"] == 0) for r in rows)
    holes = [r for r in rows if min(r["tile"]) == 0]
    verdict = (
        f"{'Confirmed' if rule and worst < 4 else 'NOT confirmed'}: the input gradient of Conv2d(k, stride=s) "
        f"counts taps exactly like ConvTranspose2d(k, stride=s): {len(even)} of {len(rows)} layers give an even "
        f"gradient, {'precisely' if rule else 'NOT precisely'} those with s | k; {len(holes)} leave input pixels "
        f"with no gradient at all (k < s). The simulated gradient of a random strided convolution "
        f"({draws} draws) {'agrees with' if worst < 4 else 'DISAGREES with'} the exact tile, its expectation, in every "
        f"phase of every row (largest deviation {worst:.2f} standard errors). Draw by draw, random weights give "
        "every phase its own sum, so even "
        f"strided layers paint gradient checkerboards too: mean spread max - min of u over the phases {spread} "
        "(exactly 0 for all-ones weights).")
    settings = {"layer": "Conv2d(kernel_size, stride=stride), no padding; its adjoint ConvTranspose2d(kernel_size, "
                         "stride=stride)",
                "kernel_size": [KERNEL_SIZES.start, KERNEL_SIZES.stop - 1],
                "stride": [STRIDES.start, STRIDES.stop - 1],
                "tile": "exact input-gradient count per phase i mod period (all-ones weights, dL/dy = 1)",
                "simulated": f"Conv2d 1 -> {OUT_CHANNELS} channels, weights U(0, 1), L = sum of outputs; mean "
                             "over draws of the row sums of the gradient's phase-mean tile / (4 * 1/2 * k), "
                             "indexed i mod stride",
                "seed": seed, "draws": draws}
    return StudyResult(NAME, CLAIM, verdict, settings, rows)
