"""The nearest checkerboard-free variants of a stack that breaks the condition, each proven free.

Three kinds of fix, nearest first: (1) kernel sizes made multiples of the stride, with padding and
output_padding that keep the output size; (2) resize-convolution (nearest or bilinear upsampling + Conv2d) in
place of the culprit transposed convolutions; (3) a zero-order-hold blur Conv2d(s, padding='same') after each
culprit (StyleGAN-style). Every fix is proven by `checkerboard_free` before it is returned.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cached_property
from math import gcd

from .condition import FreeVerdict, checkerboard_free
from .errors import CheckerlabError
from .layers import Conv2d, ConvTranspose2d, Layer, Upsample
from .overlap import overlap_pattern
from .stack import Stack, as_stack

#: Most candidate stacks tried by the kernel-size search of `suggest_fixes`.
MAX_CANDIDATES = 400


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
        return overlap_pattern(self.stack)


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


__all__ = ["Fix", "suggest_fixes"]

