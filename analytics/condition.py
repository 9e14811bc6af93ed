"""The checkerboard-free condition, decided exactly, with its proof and the layers that break it.

A linear upsampler of total stride S with effective kernel H(z) is free of checkerboard artifacts iff
H(w^m) = 0 for m = 1..S-1, i.e. iff the zero-order hold 1 + z + ... + z^(S-1) = prod_{q | S, q > 1} Phi_q(z)
divides H(z) (Sugawara, Shiota & Kiya 2018/2019). H is a product of per-layer factors and Phi_q is
irreducible, so the proof is a certificate: for every divisor q > 1 of S, a layer whose factor vanishes at
the primitive q-th roots of unity (`periods`). A period q with no such layer is an artifact; it is blamed on
the layer whose upsampling creates that frequency (q | s_i P_i but not P_i, P_i = product of the strides
after it). Cost: O(L d(S)) integer operations for a numeric stack (d(S): the number of divisors of S).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import gcd

import sympy as sp

from .closed_forms import ClosedForm, closed_form
from .layer_forms import same_axes
from .layers import Layer
from .periods import creates
from .stack import Stack, as_stack


@dataclass(frozen=True)
class Culprit:
    """Layer `index` creates the artifact periods `periods` along `axis` and no layer cancels them."""

    index: int
    layer: Layer
    axis: int
    periods: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class AxisVerdict:
    """The condition along one axis: `free` (None if undecided for symbols), the SymPy `condition`, and for
    numeric stacks the certificate `annihilators` {q: layers whose factor vanishes at order q}."""

    axis: int
    form: ClosedForm
    free: bool | None
    condition: sp.Basic
    annihilators: dict[int, tuple[int, ...]]
    culprits: tuple[Culprit, ...]

    @property
    def present_periods(self) -> tuple[int, ...]:
        return tuple(q for q, who in self.annihilators.items() if not who)


def _reason(layer: Layer, axis: int, folded: bool) -> str:
    if folded:
        return "the downsampling here folds an uneven pattern from the layers before it"
    op = layer.axis_op(axis)
    k, s, d = op.kernel, op.stride, op.dilation
    if gcd(d, s) > 1:
        return f"dilation {d} and stride {s} share the factor {gcd(d, s)}, leaving holes"
    if k % s:
        return f"kernel size {k} is not a multiple of stride {s}"
    return f"its factor does not cancel the frequencies its stride {s} creates"


def _axis_verdict(stack: Stack, axis: int) -> AxisVerdict:
    cf = closed_form(stack, axis)
    if cf.is_symbolic:
        cond = cf.even_condition
        free = True if cond is sp.true else False if cond is sp.false else None
        return AxisVerdict(axis, cf, free, cond, {}, ())
    ann = cf.annihilators
    culprits = {}
    for q, who in ann.items():
        if who:
            continue
        for f in cf.factors:
            if creates(f, q):
                culprits.setdefault(f.index, (f, []))[1].append(q)
                break
    out = tuple(Culprit(i, stack[i], axis, tuple(qs), _reason(stack[i], axis, f.zeros is None))
                for i, (f, qs) in sorted(culprits.items()))
    # A dead interior (a downsampling conv that samples only holes: mean 0) has no artifact but no signal
    # either; it is not called free.
    free = not any(not who for who in ann.values()) and cf.mean != 0
    return AxisVerdict(axis, cf, free, sp.true if free else sp.false, ann, out)


@dataclass(frozen=True)
class FreeVerdict:
    """`checkerboard_free(stack)`: per-axis verdicts; truthy iff free along both axes."""

    stack: Stack
    axes: tuple[AxisVerdict, ...]
    same_axes: bool = False

    @property
    def free(self) -> bool | None:
        values = [a.free for a in self.axes]
        if all(v is True for v in values):
            return True
        return False if any(v is False for v in values) else None

    def __bool__(self) -> bool:
        return self.free is True

    @property
    def culprits(self) -> tuple[Culprit, ...]:
        """Every layer that breaks the condition, per axis, with the periods it leaves."""
        return tuple(c for a in self.axes for c in a.culprits)

    @property
    def culprit_layers(self) -> tuple[int, ...]:
        return tuple(sorted({c.index for c in self.culprits}))

    def __repr__(self) -> str:
        state = {True: "free", False: "not free", None: "undecided"}[self.free]
        who = f", culprits {list(self.culprit_layers)}" if self.culprits else ""
        return f"FreeVerdict({str(self.stack)!r}: {state}{who})"


def checkerboard_free(stack) -> FreeVerdict:
    """Decide exactly whether 1 + z + ... + z^(S-1) divides H(z) on both axes; name the layers breaking it."""
    stack = as_stack(stack)
    axes = (0,) if same_axes(stack) else (0, 1)
    verdicts = tuple(_axis_verdict(stack, a) for a in axes)
    if axes == (0,):  # identical axes: the same verdict holds for columns
        v = verdicts[0]
        verdicts = (v, replace(v, axis=1, culprits=tuple(replace(c, axis=1) for c in v.culprits)))
    return FreeVerdict(stack, verdicts, axes == (0,))
