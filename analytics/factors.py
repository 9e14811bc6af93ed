"""Stack composition: a stack of upsamplers and stride-1 convolutions is ONE transposed convolution per axis.

By the noble identity (upsampling and filtering commute), layers 1..L with strides s_i and polynomials
H_i(z) act like one layer of total stride S = prod s_i and effective kernel H(z) = prod_i H_i(z^(P_i)),
P_i = product of the strides after layer i; the phase offset folds as off <- off*s_i + shift_i
(DESIGN.md §4). Each `Factor` is one layer's H_i(z^(P_i)); a numeric prefix that ends in a downsampling
convolution enters as one folded factor: its exact periodic pattern, which acts like a layer whose stride is
its period and whose kernel is one period. Cost: O(L) SymPy operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .layer_forms import Step


@dataclass(frozen=True)
class Factor:
    """Layer `index` contributes `scale * expr` to H(z): its polynomial stretched to z^stretch.

    `zeros` = (a, b): the factor vanishes at a primitive q-th root of unity iff q | a and q does not divide
    b. Bilinear by s is (1/s) Z_s(z^P)^2 ((1 + z^P)/2)^(1 - s mod 2): power 2 and that `extra` exponent.
    A folded pattern (after a downsampling conv) has zeros=None and its integer `coefficients`."""

    index: int
    expr: sp.Expr
    stretch: Any
    zeros: tuple[Any, Any] | None
    scale: Any = 1
    power: int = 1
    extra: Any = 0
    coefficients: tuple[int, ...] = ()
    up: Any = 1

    @property
    def at_one(self) -> sp.Expr:
        """The factor's value at z = 1 (its total weight)."""
        if self.zeros is None:
            return self.scale * sum(self.coefficients)
        a, b = self.zeros
        return self.scale * (a / b) ** self.power


def compose(steps: list[Step], z, base: tuple | None = None) -> tuple[list[Factor], Any, Any]:
    """(factors, S, off) of `steps`, after an optional folded pattern base = (index, coefficients, den,
    period): a periodic count acts like one layer of stride `period` whose kernel is one period."""
    strides = [sp.sympify(st.up) for st in steps]
    after = [sp.Integer(1)] * len(steps)
    for i in range(len(steps) - 2, -1, -1):
        after[i] = after[i + 1] * strides[i + 1]
    total = after[0] * strides[0] if steps else sp.Integer(1)
    out = []
    if base is not None:
        index, coeffs, den, period = base
        expr = sp.Add(*[c * z ** (j * total) for j, c in enumerate(coeffs)])
        out.append(Factor(index, expr, total, None, sp.Rational(1, den), coefficients=tuple(coeffs), up=period))
        total = total * period
    off = sp.Integer(0)
    for st, P in zip(steps, after, strict=True):
        a, b = st.zeros
        expr = st.polynomial(z, P)
        if st.kind == "linear":
            out.append(Factor(st.index, expr, P, (a * P, b * P), 1 / sp.sympify(st.stride), 2, st.extra, up=st.up))
        else:
            out.append(Factor(st.index, expr, P, (a * P, b * P), up=st.up))
        off = off * st.up + st.shift
    return out, sp.sympify(total), sp.sympify(off)
