"""The checkerboard-free condition, decided exactly, and the nearest fixes of a stack that breaks it.

A linear upsampler of total stride S with effective kernel H(z) is free of checkerboard artifacts iff
H(w^m) = 0 for m = 1..S-1, i.e. iff the zero-order hold 1 + z + ... + z^(S-1) = prod_{q | S, q > 1} Phi_q(z)
divides H(z) (Sugawara, Shiota & Kiya 2018/2019). H is a product of per-layer factors and Phi_q is
irreducible, so the proof is a certificate: for every divisor q > 1 of S, a layer whose factor vanishes at
the primitive q-th roots of unity. A period q with no such layer is an artifact; it is blamed on the layer
whose upsampling creates that frequency (q | s_i P_i but not P_i, P_i = product of the strides after it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cached_property
from math import gcd

import sympy as sp

from .errors import CheckerlabError
from .layers import Conv2d, ConvTranspose2d, Layer, Upsample
from .stack import Stack, as_stack
from .symbolic import ClosedForm, closed_form

#: Most candidate stacks tried by the kernel-size search of `suggest_fixes`.
MAX_CANDIDATES = 400


# ------------------------------------------------------------------ the condition


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
            if f.creates(q):
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
    def _shown(self) -> tuple[tuple[str, AxisVerdict], ...]:
        """(label, verdict) to print: one for identical axes."""
        if self.same_axes:
            return (("", self.axes[0]),)
        return tuple((f"axis {a.axis}", a) for a in self.axes)

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

    def rows(self) -> list[tuple[str, str]]:
        from .latex import latex
        rows = []
        for label, a in self._shown:
            cf, tag = a.form, (rf"\text{{{label}: }}" if label else "")
            zoh = r"\frac{1 - z^{" + latex(cf.stride) + r"}}{1 - z}"
            rows.append((tag + r"\text{free}", r"\iff " + zoh + r" \text{ divides } H(z)"))
            if cf.is_symbolic:
                rows.append((r"", r"\iff " + latex(a.condition)))
                continue
            rows += [(lhs, rhs) for lhs, rhs in _certificate(a)]
            verdict = (r"\text{yes: } c(n) = H(1)/S = " + latex(cf.mean)) if a.free else r"\text{no}"
            rows.append((tag + r"\text{checkerboard-free}", r": " + verdict))
        return rows

    def latex(self) -> str:
        """amsmath align*: the condition and its certificate (Phi_q | factor of layer i) per axis."""
        from .latex import math_block
        return math_block(self.rows())

    def _repr_latex_(self) -> str:
        from .latex import jupyter_block
        return jupyter_block(self.rows())

    def document(self, intro: bool = True) -> str:
        """Prose and displays for `export_latex` (`intro`: state the condition first)."""
        from .latex import display, latex, math_block, tex_text
        parts = [INTRO] if intro else []
        for label, a in self._shown:
            cf = a.form
            head = f"{label.capitalize()}: " if label else ""
            if cf.is_symbolic:
                parts += [head + "free iff", display(latex(a.condition))]
                continue
            if a.free:
                parts.append(head + f"free: $S = {latex(cf.stride)}$ and every $\\Phi_q$, $q \\mid S$, "
                             "$q > 1$, divides a factor of $H(z)$, so $c(n) = H(1)/S = " + latex(cf.mean)
                             + "$ everywhere.")
            elif not a.present_periods:
                parts.append(head + "not free: the interior is identically zero (every pixel is a hole).")
            else:
                parts.append(head + "not free. Artifact periods present: "
                             + ", ".join(f"${q}$" for q in a.present_periods) + ".")
            if a.annihilators:
                parts.append(math_block(_certificate(a)))
            for c in a.culprits:
                parts.append(f"Layer {c.index} (\\texttt{{{tex_text(c.layer.spec())}}}) breaks it: "
                             f"{tex_text(c.reason)}; it creates the period(s) "
                             + ", ".join(f"${q}$" for q in c.periods) + " that no layer cancels.")
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        state = {True: "free", False: "not free", None: "undecided"}[self.free]
        who = f", culprits {list(self.culprit_layers)}" if self.culprits else ""
        return f"FreeVerdict({str(self.stack)!r}: {state}{who})"


INTRO = (r"A linear upsampler of total stride $S$ is free of checkerboard artifacts iff its effective kernel "
         r"vanishes at every non-trivial $S$-th root of unity, $H(\omega^m) = 0$ for $0 < m < S$, i.e.\ iff "
         r"$H(z)$ contains the zero-order hold "
         r"$1 + z + \dots + z^{S-1} = \prod_{q \mid S,\, q > 1} \Phi_q(z)$ "
         r"(Sugawara, Shiota \& Kiya). Each cyclotomic polynomial $\Phi_q$ is irreducible, so it must divide "
         r"the factor $H_i(z^{P_i})$ of some layer $i$.")


def _certificate(a: AxisVerdict) -> list[tuple[str, str]]:
    """Rows Phi_q(z) = ... | factor of layer i (or: does not divide H): the exact proof, q | S, q > 1."""
    from .latex import latex
    z = a.form.z
    rows = []
    for q, who in a.annihilators.items():
        phi = rf"\Phi_{{{q}}}(z) = {latex(sp.cyclotomic_poly(q, z))}"
        if who:
            f = next(f for f in a.form.factors if f.index == who[0])
            rows.append((phi, rf"\mid {latex(f.scale * f.expr)} \quad \text{{(layer {who[0]})}}"))
        else:
            rows.append((phi, rf"\not\mid H(z) \quad \text{{(period {q} present)}}"))
    return rows


def checkerboard_free(stack) -> FreeVerdict:
    """Decide exactly whether 1 + z + ... + z^(S-1) divides H(z) on both axes; name the layers breaking it."""
    stack = as_stack(stack)
    axes = (0,) if all(layer.axis_op(0) == layer.axis_op(1) for layer in stack) else (0, 1)
    verdicts = tuple(_axis_verdict(stack, a) for a in axes)
    if axes == (0,):  # identical axes: the same verdict holds for columns
        v = verdicts[0]
        verdicts = (v, replace(v, axis=1, culprits=tuple(replace(c, axis=1) for c in v.culprits)))
    return FreeVerdict(stack, verdicts, axes == (0,))


# ------------------------------------------------------------------ fixes


@dataclass(frozen=True)
class Fix:
    """A modified stack that is checkerboard-free: what changed, its output size, pattern and proof."""

    kind: str
    title: str
    stack: Stack
    changes: tuple[str, ...]
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    original_output_size: tuple[int, int]
    cost: tuple

    @property
    def same_size(self) -> bool:
        return self.output_size == self.original_output_size

    @cached_property
    def verdict(self) -> FreeVerdict:
        """The exact proof: every Phi_q, q | S, q > 1, divides a named layer's factor."""
        return checkerboard_free(self.stack)

    @property
    def is_even(self) -> bool:
        return bool(self.verdict)

    @cached_property
    def pattern(self):
        from .overlap import overlap_pattern
        return overlap_pattern(self.stack)

    def rows(self) -> list[tuple[str, str]]:
        from .latex import exact, tex_text
        (h, w), (oh, ow) = self.input_size, self.output_size
        rows = [(r"\text{stack}", r": \text{\texttt{" + tex_text(str(self.stack)) + "}}"),
                (r"\text{size}", rf": {h} \times {w} \to {oh} \times {ow}"
                 + (r" \text{ (unchanged)}" if self.same_size else r" \text{ (changed)}")),
                (r"\text{tile}", r": " + exact(self.pattern.tile[0, 0])
                 + r" \text{ everywhere (period } 1 \times 1)")]
        return rows + self.verdict.rows()

    def latex(self) -> str:
        from .latex import math_block
        return math_block(self.rows())

    def _repr_latex_(self) -> str:
        from .latex import jupyter_block
        return jupyter_block(self.rows())

    def document(self) -> str:
        from .latex import exact, tex_text
        (h, w), (oh, ow) = self.input_size, self.output_size
        (bh, bw) = self.original_output_size
        lines = [r"\texttt{" + tex_text(str(self.stack)) + "}", r"\begin{itemize}"]
        lines += [r"\item " + tex_text(c) for c in self.changes]
        size = "unchanged" if self.same_size else f"was ${bh} \\times {bw}$"
        lines += [rf"\item output ${oh} \times {ow}$ for a ${h} \times {w}$ input ({size})",
                  r"\item interior count $" + exact(self.pattern.tile[0, 0])
                  + r"$ at every pixel (period $1 \times 1$)",
                  r"\end{itemize}", "Proof:", self.verdict.document(intro=False)]
        return "\n".join(lines)


def _keep_size(k2: int, d2: int, s: int, target: int) -> tuple[int, int, bool]:
    """(padding, output_padding, exact) with d2(k2-1) - 2p + op == target, 0 <= op < max(s, d2), p >= 0."""
    for op in range(max(s, d2)):
        twice = d2 * (k2 - 1) + op - target
        if twice >= 0 and twice % 2 == 0:
            return twice // 2, op, True
    return 0, max(s, d2) - 1, False


def _kernel_options(layer: ConvTranspose2d, axis: int) -> list[tuple[int, int, int, int, int]]:
    """Even replacements along one axis: (cost, k', p', op', d') with s | k', gcd(d', s) = 1, size kept."""
    op_ = layer.axis_op(axis)
    k, s, p, d = op_.kernel, op_.stride, op_.pad_before, op_.dilation
    outpad = layer.output_padding[axis]
    target = d * (k - 1) - 2 * p + outpad
    d2 = d if gcd(d, s) == 1 else 1
    ks = sorted({m * s for m in (k // s, -(-k // s), k // s + 1, -(-k // s) + 1) if m >= 1})
    out = []
    for k2 in ks:
        if (k2, d2) == (k, d):
            continue
        p2, op2, exact = _keep_size(k2, d2, s, target)
        # cost: the kernel change (growing preferred on ties), a dilation reset, a changed output size
        out.append((2 * abs(k2 - k) + (k2 < k) + 2 * (d2 != d) + (0 if exact else 20), k2, p2, op2, d2))
    return sorted(out)


def _with_kernels(layer: ConvTranspose2d, per_axis: list[tuple | None]) -> ConvTranspose2d:
    names = ("kernel_size", "padding", "output_padding", "dilation")
    k, p, op, d = (list(getattr(layer, n)) for n in names)  # layers hold (h, w) pairs
    for a, choice in enumerate(per_axis):
        if choice is not None:
            _, k[a], p[a], op[a], d[a] = choice
    return replace(layer, kernel_size=tuple(k), padding=tuple(p), output_padding=tuple(op), dilation=tuple(d))


def _layer_options(layer: ConvTranspose2d) -> list[tuple[int, ConvTranspose2d]]:
    """(cost, replacement) for one transposed layer; square layers change both axes alike."""
    if layer.axis_op(0) == layer.axis_op(1) and layer.output_padding[0] == layer.output_padding[1]:
        return [(2 * o[0], _with_kernels(layer, [o, o])) for o in _kernel_options(layer, 0)]
    rows, cols = ([None] + _kernel_options(layer, a)[:3] for a in (0, 1))
    out = []
    for r, c in itertools.product(rows, cols):
        if r is None and c is None:
            continue
        out.append(((r[0] if r else 0) + (c[0] if c else 0), _with_kernels(layer, [r, c])))
    return sorted(out, key=lambda t: t[0])


def _free(stack: Stack) -> bool:
    try:
        return bool(checkerboard_free(stack))
    except CheckerlabError:
        return False


def _describe(i: int, old: Layer, new: list[Layer]) -> str:
    return f"layer {i}: {old.spec()} -> " + ", ".join(x.spec() for x in new)


def _resize_conv(layer: ConvTranspose2d, mode: str) -> list[Layer]:
    """Upsample(s) + Conv2d(k_c, padding=p_c) with the transposed conv's output size: 2 p_c = k_c - 1 + D,
    D = d(k-1) - 2p + op + 1 - s; k_c nearest to k (odd preferred)."""
    ks, pads = [], []
    for a in (0, 1):
        op_ = layer.axis_op(a)
        k, s, p, d = op_.kernel, op_.stride, op_.pad_before, op_.dilation
        D = d * (k - 1) - 2 * p + layer.output_padding[a] + 1 - s
        options = [kc for kc in range(1, k + 2 * abs(D) + 4) if kc - 1 + D >= 0 and (kc - 1 + D) % 2 == 0]
        kc = min(options, key=lambda c: (abs(c - k), c % 2 == 0, c))
        ks.append(kc)
        pads.append((kc - 1 + D) // 2)
    up = Upsample(tuple(layer.stride), mode=mode)
    conv = Conv2d(tuple(ks), padding=tuple(pads), out_channels=layer.out_channels, groups=layer.groups,
                  bias=layer.bias)
    return [up, conv]


def output_size(stack: Stack, input_size: tuple[int, int]) -> tuple[int, int]:
    """PyTorch's output size, without the memory budget of `Stack.sizes` (nothing is allocated here)."""
    return (stack.lengths(input_size[0], 0)[-1], stack.lengths(input_size[1], 1)[-1])


def suggest_fixes(stack, input_size=(32, 32), limit: int = 5) -> list[Fix]:
    """The nearest checkerboard-free variants of a numeric stack, each proven even and with its output size:

    1. kernel sizes made multiples of the stride (fewest layers changed, then smallest change), with
       padding/output_padding that keep the output size; 2. resize-convolution (nearest, then bilinear
       upsampling + Conv2d) in place of the culprit transposed convs; 3. a zero-order-hold blur
       Conv2d(s, padding='same') after each culprit (StyleGAN-style: a fixed filter that contains
       1 + z + ... + z^(s-1))."""
    stack = as_stack(stack)
    verdict = checkerboard_free(stack)
    if verdict.free is None:
        raise CheckerlabError("suggest_fixes needs numeric layer parameters: substitute values for the "
                              "symbols")
    if verdict.free:
        return []
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    input_size = tuple(input_size)
    original = output_size(stack, input_size)
    layers = list(stack)
    fixes: list[Fix] = []

    def add(kind, title, new_layers, changes, cost):
        new = Stack(new_layers)
        if not _free(new):
            return
        try:
            size = output_size(new, input_size)
        except CheckerlabError:
            return
        size_cost = 0 if size == original else 1
        fixes.append(Fix(kind, title, new, tuple(changes), input_size, size, original, (size_cost, *cost)))

    # 1. kernel sizes: search subsets of transposed layers, fewest changes first
    transposed = [i for i, layer in enumerate(layers) if isinstance(layer, ConvTranspose2d)]
    options = {i: _layer_options(layers[i])[:4] for i in transposed}
    found, tried = [], 0
    for size in range(1, len(transposed) + 1):
        for subset in itertools.combinations(transposed, size):
            for choice in itertools.product(*(options[i] for i in subset)):
                tried += 1
                if tried > MAX_CANDIDATES:
                    break
                new = layers[:]
                for i, (_, repl) in zip(subset, choice, strict=True):
                    new[i] = repl
                if _free(Stack(new)):
                    cost = sum(c for c, _ in choice)
                    found.append((cost, subset, [r for _, r in choice], new))
        if found:
            break
    for cost, subset, repls, new in sorted(found, key=lambda f: f[0])[:2]:
        changes = [_describe(i, layers[i], [r]) for i, r in zip(subset, repls, strict=True)]
        title = "kernel size a multiple of the stride"
        title += "" if len(subset) == 1 else f" ({len(subset)} layers)"
        add("kernel", title, new, changes, (0, len(subset), cost))

    # 2. resize-convolution in place of the culprit transposed convs
    culprits = [i for i in verdict.culprit_layers if isinstance(layers[i], ConvTranspose2d)]
    for rank, mode in enumerate(("nearest", "bilinear")):
        if not culprits:
            break
        new, changes = [], []
        for i, layer in enumerate(layers):
            if i in culprits:
                repl = _resize_conv(layer, mode)
                new += repl
                changes.append(_describe(i, layer, repl))
            else:
                new.append(layer)
        add(f"resize-conv-{mode}", f"resize-convolution ({mode} upsampling + Conv2d)", new, changes,
            (1 + rank, len(culprits), 0))

    # 3. a zero-order-hold blur after each culprit
    new, changes = [], []
    blame = {c.index: {} for c in verdict.culprits}
    for a in verdict.axes:
        for c in a.culprits:
            f = next(f for f in a.form.factors if f.index == c.index)
            blame[c.index][a.axis] = int(f.up)
    for i, layer in enumerate(layers):
        new.append(layer)
        if i in blame:
            size = tuple((blame[i].get(0, 1), blame[i].get(1, 1)))
            blur = Conv2d(size, padding="same", bias=False)
            new.append(blur)
            changes.append(f"after layer {i}: add {blur.spec()} with fixed weights 1/s (a zero-order hold; "
                           "StyleGAN uses the binomial [1, 3, 3, 1]/8, which contains it)")
    if blame:
        add("blur", "zero-order-hold blur after the culprit layers", new, changes, (3, len(blame), 0))
    fixes.sort(key=lambda f: f.cost)
    return fixes[:limit]


__all__ = ["AxisVerdict", "Culprit", "Fix", "FreeVerdict", "checkerboard_free", "suggest_fixes"]

