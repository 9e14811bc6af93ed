"""One layer along one axis in closed form: its generating polynomial and its interior count recursion.

Per axis every spatial layer is one of (DESIGN.md §4): a transposed convolution
y[i*s + t*d - p] += x[i] with polynomial H(z) = sum_{t<k} z^(t d) = (1 - z^(k d))/(1 - z^d); a stride-1
convolution (the same polynomial, no upsampling); nearest upsampling by s, a transposed convolution with
k = s; bilinear upsampling by s (align_corners=False), the kernel Z_s(z)^2 ((1 + z)/2)^(1 - s mod 2) / s in
the interior; or a strided convolution (numeric only: it folds the pattern, see `closed_forms`).
Parameters may be SymPy integer symbols. Cost: O(1) SymPy operations per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .errors import CheckerlabError, LayerError
from .layers import is_symbolic
from .stack import Stack
from .symbols import Divides, IntGcd, IntMod, ModInverse

#: Numeric polynomial factors up to this many terms are written out (1 + z + z^2), longer ones as quotients.
MAX_WRITTEN_TERMS = 8


@dataclass(frozen=True)
class Step:
    """One spatial layer along one axis, in the generating-function form.

    kind: 'transposed', 'conv' (stride 1), 'down' (strided conv, numeric only), 'repeat' or 'linear'.
    up: its upsampling factor (1 for convs); shift: its offset term (off <- off*up + shift)."""

    index: int
    layer: Any
    kind: str
    kernel: Any
    stride: Any
    pad: Any
    dilation: Any

    @property
    def up(self):
        return 1 if self.kind in ("conv", "down") else self.stride

    @property
    def shift(self):
        if self.kind == "transposed":
            return self.pad
        if self.kind == "conv":
            return (self.kernel - 1) * self.dilation - self.pad
        if self.kind == "linear":
            return sp.floor(sp.sympify(self.stride) / 2) if is_symbolic(self.stride) else self.stride // 2
        return 0

    @property
    def zeros(self) -> tuple[Any, Any]:
        """(a, b): before stretching, the layer's polynomial vanishes exactly at the a-th roots of unity
        that are not b-th roots: sum_t z^(t d) = (1 - z^(kd))/(1 - z^d); nearest and bilinear by s: (s, 1)."""
        if self.kind in ("repeat", "linear"):
            return (self.stride, 1)
        return (self.kernel * self.dilation, self.dilation)

    @property
    def extra(self):
        """Bilinear by an even s has the extra factor (1 + z)/2 (its kernel has even length 2s): 1 - s mod 2."""
        return 1 - IntMod(sp.sympify(self.stride), 2) if self.kind == "linear" else 0

    def polynomial(self, z, stretch) -> sp.Expr:
        """The layer's polynomial at z^stretch, without the bilinear 1/s scale: Z_k(z^(d P)) for convs,
        Z_s(z^P) for nearest, Z_s(z^P)^2 ((1 + z^P)/2)^(1 - s mod 2) for bilinear."""
        if self.kind == "linear":
            return geometric(sp.sympify(self.stride), stretch, z) ** 2 * ((1 + z ** stretch) / 2) ** self.extra
        if self.kind == "repeat":
            return geometric(self.stride, stretch, z)
        return geometric(self.kernel, self.dilation * stretch, z)

    def count(self, prev: sp.Expr, x: sp.Symbol, j: sp.Symbol) -> sp.Expr:
        """Interior count after this layer at output index x, from the count `prev` (a function of x) before."""
        const = x not in prev.free_symbols

        def at(m):
            return prev.xreplace({x: m})

        k, s, d = (sp.sympify(v) for v in (self.kernel, self.stride, self.dilation))
        if self.kind == "transposed":  # y[i*s + t*d - p] += x[i]: taps t = t0 + j*s/g for g | (x + p)
            y = x + self.pad
            if d == 1:
                last, first, step, hit = sp.floor((k - 1 - IntMod(y, s)) / s), sp.floor(y / s), 1, 1
            else:
                g = IntGcd(d, s)
                t0 = IntMod(y / g * ModInverse(d / g, s / g), s / g)
                last, first, step, hit = sp.floor((k - 1 - t0) / (s / g)), (y - t0 * d) / s, d / g, Divides(g, y)
            body = prev * (last + 1) if const else sp.Sum(at(first - j * step), (j, 0, last))
            return hit * body
        if self.kind == "conv":  # y[o] = sum_t x[o + t*d - p]
            return prev * k if const else sp.Sum(at(x + j * d - self.pad), (j, 0, k - 1))
        if self.kind == "repeat":
            return prev if const else at(sp.floor(x / s))
        if self.kind == "linear":  # align_corners=False, interior: src = (2x + 1 - s) / 2s
            if const:
                return prev
            src = 2 * x + 1 - s
            i0, frac = sp.floor(src / (2 * s)), IntMod(src, 2 * s)
            return ((2 * s - frac) * at(i0) + frac * at(i0 + 1)) / (2 * s)
        raise self.downsampling_error()

    def downsampling_error(self) -> LayerError:
        return LayerError(self.layer.type, "stride", f"stride={self.stride} downsamples: symbolic closed forms "
                          "need stride-1 convolutions (numeric stacks are handled)", self.index)


def geometric(count, step, z) -> sp.Expr:
    """sum_{t<count} z^(t*step): written out for short numeric counts, else (1 - z^(c*step))/(1 - z^step)."""
    if not is_symbolic(count) and int(count) <= MAX_WRITTEN_TERMS:
        return sp.Add(*[z ** (t * step) for t in range(int(count))])
    return (1 - z ** (count * step)) / (1 - z ** step)


def same_axes(stack: Stack) -> bool:
    """Every layer acts alike on rows and columns, so the closed forms of one axis hold for both."""
    return all(layer.axis_op(0) == layer.axis_op(1) for layer in stack)


def check_axis(axis) -> None:
    """Refuse anything but 0 (rows, H) and 1 (columns, W)."""
    if axis not in (0, 1):
        raise CheckerlabError(f"axis={axis!r} must be 0 (rows, H) or 1 (columns, W)")


def axis_steps(stack: Stack, axis: int) -> list[Step]:
    """The spatial layers of `stack` along `axis` as `Step`s (identity layers and activations left out)."""
    check_axis(axis)
    steps = []
    for index, layer in stack.spatial_layers:
        op = layer.axis_op(axis)
        if op.kind == "identity":
            continue
        if op.kind == "map":
            raise LayerError(layer.type, None, "has no closed form yet (closed forms cover transposed "
                             "convolutions, convolutions, nearest and bilinear upsampling and pixel shuffle); its "
                             "exact pattern is in analyze", index)
        kind = op.kind
        if kind == "conv" and op.stride != 1:
            if is_symbolic(op.stride):
                raise LayerError(layer.type, "stride", f"stride={op.stride} is symbolic: closed forms need a "
                                 "numeric conv stride (1, or > 1 in a fully numeric stack)", index)
            kind = "down"
        steps.append(Step(index, layer, kind, op.kernel, op.stride, op.pad_before, op.dilation))
    return steps
