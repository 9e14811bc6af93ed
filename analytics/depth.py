"""Depth laws: period, evenness, contrast and artifact amplitude of L identical blocks as functions of L.

L copies of a block of stride S_b and kernel H_b(z) (no downsampling) form one upsampler of stride S_b^L
with H_L(z) = prod_{j<L} H_b(z^(S_b^j)), i.e. H_L(z) = H_b(z) H_{L-1}(z^(S_b)). Consequences, for all L >= 1:
- even iff the block is even (an even block maps a constant to a constant; an uneven block leaves some
  q | S_b uncancelled at every depth, because H_b(z^(S_b^j)) is H_b(1) != 0 there for j >= 1);
- holes iff the block has holes (the last block's empty phases stay empty);
- mean count (H_b(1)/S_b)^L;
- the largest artifact amplitude |H_L(w)|/H_L(1) is the block's own: |H_b(w)| <= H_b(1) for non-negative
  kernels, so a new (lower) frequency f has amplitude |H_b(e^(2 pi i f))|/H_b(1) times that of S_b f;
- period S_b^L whenever H_b vanishes at no primitive S_b^e-th root of unity (e >= 1); in general
  P_L = lcm{q | S_b^L : for every j >= 0, H_b does not vanish at the primitive q/gcd(q, S_b^j)-th roots}.
Min, max and contrast have no closed form in general (their growth is a joint spectral radius); they are
given as an exact table with the ratio of the last two depths as the growth rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import gcd, lcm

import sympy as sp

from .closed_forms import closed_form
from .errors import CheckerlabError
from .overlap import overlap_pattern
from .periods import kills_int
from .stack import Stack, as_stack

#: Largest total stride S_b^L tabulated (the tile of that depth is computed exactly).
MAX_TABLE_STRIDE = 1 << 14


@dataclass(frozen=True)
class DepthRow:
    """One depth of the table: exact counts, float amplitude (max non-DC |DFT| / DC)."""

    depth: int
    period: int
    minimum: Fraction
    maximum: Fraction
    mean: Fraction
    contrast: Fraction | float
    amplitude: float


class DepthLaw:
    """`depth_law(block)`: laws in the depth symbol `L` where they exist, and an exact table."""

    def __init__(self, block, max_depth: int = 6, axis: int = 0):
        self.block = as_stack(block)
        if not isinstance(max_depth, int) or isinstance(max_depth, bool) or not 1 <= max_depth <= 64:
            raise CheckerlabError(f"max_depth={max_depth!r} must be an integer in 1..64")
        self.max_depth, self.axis = max_depth, axis
        self.form = closed_form(self.block, axis)
        if self.form.is_symbolic:
            raise CheckerlabError("depth_law needs numeric layer parameters (the depth L is the symbol); "
                                  "substitute values for " + ", ".join(sorted(map(str, self.form.symbols))))
        self.L = sp.Symbol("L", integer=True, positive=True)
        self.downsamples = any(f.zeros is None for f in self.form.factors)
        self.stride = int(self.form.stride)
        self.even = bool(self.form.even_condition)  # at every depth unless the block downsamples
        self.holes = bool(self.form.holes_condition)

    # ---- exact laws

    def _vanishes(self, order: int) -> bool:
        """H_b vanishes at the primitive order-th roots of unity."""
        return order > 1 and any(kills_int(f, order) for f in self.form.factors)

    def period_at(self, depth: int) -> int:
        """The exact minimal period at `depth`: lcm of the q | S_b^depth that no H_b(z^(S_b^j)) cancels."""
        if self.downsamples:
            raise CheckerlabError("period_at needs a block without downsampling convolutions")
        total, present = self.stride ** depth, []
        for q in sp.divisors(total):
            q = int(q)
            if q == 1:
                continue
            orders, j = set(), 0
            while True:
                o = q // gcd(q, self.stride ** j)
                if o == 1:
                    break
                orders.add(o)
                j += 1
            if not any(self._vanishes(o) for o in orders):
                present.append(q)
        return lcm(*present) if present else 1

    @cached_property
    def period(self) -> sp.Expr | None:
        """Closed form in L: 1 if even; S_b^L if H_b vanishes at no primitive S_b^e-th root; else None."""
        if self.downsamples:
            return None
        if self.even or self.stride == 1:
            return sp.Integer(1)
        degree = sum(f.power * (int(f.zeros[0]) - int(f.zeros[1])) + int(f.extra) * int(f.stretch)
                     for f in self.form.factors)
        e = 1
        while sp.totient(self.stride ** e) <= degree:
            if self._vanishes(self.stride ** e):
                return None
            e += 1
        return sp.Integer(self.stride) ** self.L

    @cached_property
    def mean(self) -> sp.Expr:
        """The mean interior count (H_b(1)/S_b)^L."""
        return self.form.mean ** self.L

    @cached_property
    def contrast(self) -> sp.Expr | None:
        """max/min: 1 if even, oo with holes, else no closed form (see `table` and `growth`)."""
        if self.even:
            return sp.Integer(1)
        if self.holes:
            return sp.oo
        return None

    @cached_property
    def amplitude(self) -> sp.Expr | None:
        """The largest relative artifact amplitude, the same at every depth: max_m |H_b(w^m)|/H_b(1)."""
        if self.downsamples:
            return None
        amps = [a for a in self.form.amplitudes[1:] if a != 0]
        return max(amps, key=lambda a: sp.N(a, 30)) if amps else sp.Integer(0)

    @cached_property
    def lowest_amplitude(self) -> sp.Expr | None:
        """Amplitude of the lowest frequency 1/S_b^L: prod_{j=1..L} |H_b(e^(-2 pi i/S_b^j))| / H_b(1)."""
        if self.downsamples or self.stride == 1:
            return None
        z, j = self.form.z, sp.Symbol("j", integer=True, positive=True)
        poly = sp.Poly(sp.expand(self.form.generating_function), z)
        value = sp.Add(*[c * sp.exp(-2 * sp.pi * sp.I * e[0] / self.stride ** j) for e, c in poly.terms()])
        return sp.Product(sp.Abs(value, evaluate=False) / poly.eval(1), (j, 1, self.L))

    # ---- the table

    @cached_property
    def table(self) -> tuple[DepthRow, ...]:
        """Exact rows for L = 1..max_depth (stopping once S_b^L exceeds MAX_TABLE_STRIDE)."""
        rows = []
        for depth in range(1, self.max_depth + 1):
            if self.stride ** depth > MAX_TABLE_STRIDE and depth > 1:
                break
            axis = overlap_pattern(Stack(list(self.block) * depth)).axes[self.axis]
            tile = [Fraction(v) for v in axis.tile]
            lo, hi = min(tile), max(tile)
            spectrum = axis.spectrum
            amp = float(max(spectrum[1:])) if len(spectrum) > 1 else 0.0
            contrast = float("inf") if lo == 0 else hi / lo
            mean = sum(tile, Fraction(0)) / len(tile)
            rows.append(DepthRow(depth, axis.period, lo, hi, mean, contrast, amp))
        return tuple(rows)

    @property
    def growth(self) -> dict[str, Fraction | float | None]:
        """Ratios of the last two depths of the table (exact): the observed growth factor per block."""
        if len(self.table) < 2:
            return {}
        a, b = self.table[-2], self.table[-1]

        def ratio(x, y):
            if x == 0 or x == float("inf") or y == float("inf"):
                return None
            return Fraction(y) / Fraction(x)
        return {"period": ratio(a.period, b.period), "maximum": ratio(a.maximum, b.maximum),
                "minimum": ratio(a.minimum, b.minimum), "contrast": ratio(a.contrast, b.contrast),
                "mean": ratio(a.mean, b.mean)}

    def __repr__(self) -> str:
        return f"DepthLaw({str(self.block)!r}, max_depth={self.max_depth}, axis={self.axis})"


def depth_law(block, max_depth: int = 6, axis: int = 0) -> DepthLaw:
    """Period, evenness, contrast and artifact amplitude of `block` repeated L times, as laws in L where a
    closed form exists and as an exact table up to `max_depth` (see the module docstring)."""
    return DepthLaw(block, max_depth, axis)


__all__ = ["DepthLaw", "DepthRow", "depth_law"]
