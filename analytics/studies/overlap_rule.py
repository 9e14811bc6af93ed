"""Study `overlap-rule`: a transposed convolution overlaps unevenly unless the stride divides the kernel.

One ConvTranspose2d(k, stride=s, dilation=d) for every k in 1..12, s in 1..6, d in 1..3, analysed exactly
(`overlap_pattern`): whether its interior is even, its minimal period per axis and its 2D contrast max/min.
The rule checked row by row (DESIGN.md §4): a layer is even iff gcd(d, s) = 1 and s | k, since the taps
t*d (t < k) then hit every phase r mod s exactly k/s times; it has holes iff gcd(d, s) > 1 or
k < s / gcd(d, s). For stacks the per-layer rule is sufficient, not necessary: the study also checks
ConvTranspose2d(3, stride=2) followed by ConvTranspose2d(4, stride=2), which is even.

Cost: 216 exact patterns of one layer, O(k s) each: well under a second.
"""

from __future__ import annotations

from math import gcd

from ..layers import ConvTranspose2d
from ..overlap import overlap_pattern
from ..stack import Stack
from .result import StudyResult, exact

NAME = "overlap-rule"
CLAIM = "A transposed convolution overlaps unevenly (a checkerboard) when kernel_size mod stride != 0."
KERNEL_SIZES, STRIDES, DILATIONS = range(1, 13), range(1, 7), range(1, 4)
#: An uneven layer followed by one that evens it out (DESIGN.md §4).
STACK_EXCEPTION = "ConvTranspose2d(3, stride=2), ConvTranspose2d(4, stride=2)"


def rule_even(k: int, s: int, d: int) -> bool:
    """The closed-form rule: even iff gcd(d, s) = 1 and s | k."""
    return gcd(d, s) == 1 and k % s == 0


def rule_holes(k: int, s: int, d: int) -> bool:
    """The closed-form rule: some phase gets no tap iff gcd(d, s) > 1 or k < s / gcd(d, s)."""
    return gcd(d, s) > 1 or k < s // gcd(d, s)


def rows() -> list[dict]:
    out = []
    for d in DILATIONS:
        for s in STRIDES:
            for k in KERNEL_SIZES:
                p = overlap_pattern(Stack([ConvTranspose2d(k, stride=s, dilation=d)]))
                out.append({"kernel_size": k, "stride": s, "dilation": d, "even": p.is_even,
                            "period": p.period[0], "contrast": exact(p.contrast)})
    return out


def run(**_) -> StudyResult:
    table = rows()
    even = [r for r in table if r["even"]]
    mismatch = [r for r in table if r["even"] != rule_even(r["kernel_size"], r["stride"], r["dilation"])]
    holes = [r for r in table if r["contrast"] == "inf"]
    hole_mismatch = [r for r in table
                     if (r["contrast"] == "inf") != rule_holes(r["kernel_size"], r["stride"], r["dilation"])]
    period_mismatch = [r for r in table if r["stride"] % r["period"] or (r["period"] == 1) != r["even"]
                       and r["contrast"] != "inf"]
    stack = overlap_pattern(STACK_EXCEPTION)
    if mismatch or hole_mismatch or period_mismatch:
        verdict = (f"REFUTED: {len(mismatch)} rows contradict 'even iff gcd(dilation, stride) = 1 and stride | "
                   f"kernel_size', {len(hole_mismatch)} the holes rule, {len(period_mismatch)} have a period that "
                   "does not divide the stride")
    else:
        verdict = (f"Confirmed exactly on all {len(table)} layers: {len(even)} are even, precisely those with "
                   "gcd(dilation, stride) = 1 and stride | kernel_size (with dilation 1: kernel_size mod stride = "
                   f"0); the other {len(table) - len(even)} paint a checkerboard whose period divides the stride, "
                   f"{len(holes)} of them with holes (exactly when gcd(dilation, stride) > 1 or kernel_size < "
                   "stride / gcd(dilation, stride)). For a stack the per-layer rule is sufficient, not necessary: "
                   f"{STACK_EXCEPTION} is {'even' if stack.is_even else 'NOT even'} although its first layer is "
                   "not.")
    settings = {"layer": "ConvTranspose2d(kernel_size, stride=stride, dilation=dilation)",
                "kernel_size": [KERNEL_SIZES.start, KERNEL_SIZES.stop - 1],
                "stride": [STRIDES.start, STRIDES.stop - 1], "dilation": [DILATIONS.start, DILATIONS.stop - 1],
                "period": "minimal period along each axis (the layer is square)",
                "contrast": "max/min of the 2D periodic tile, exact; inf with holes"}
    return StudyResult(NAME, CLAIM, verdict, settings, table)
