"""The nearest checkerboard-free variants of a stack that breaks the condition, each proven free.

Three kinds of fix, nearest first: (1) kernel sizes made multiples of the stride, with padding and
output_padding that keep the output size; (2) resize-convolution (nearest or bilinear upsampling + Conv2d) in
place of the culprit transposed convolutions; (3) a zero-order-hold blur Conv2d(s, padding='same') after each
culprit (StyleGAN-style). Every fix is proven by `checkerboard_free` before it is returned.

The kernel search is a set cover. A stack of total stride S is free iff every divisor q > 1 of S is killed by
some factor of H(z) (`condition`), and changing a transposed layer's kernel changes only its own factor,
(1 - z^(k'd'P))/(1 - z^(d'P)) at its fixed P, so what each change kills is known in integer arithmetic. A
branch and bound over the transposed layers finds the fewest changes, then the cheapest: it prunes on
coverage, on a lower bound of the changes still needed, and on dominance (see `_cover`). Layers before a
downsampling convolution are folded into one exact pattern; they are tried one at a time. Cost: O(T o)
integer operations per node (T transposed layers, o <= 4 options), at most `budget` nodes; measured 0.04-0.15 s for
24 uneven layers (it took 40 s before the search knew the cover structure; see docs/performance.md). When
the budget or `cancel` stops it, the best fixes found so far are returned and `Fixes.complete` is False.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from math import gcd

import sympy as sp

from .closed_forms import ClosedForm
from .condition import FreeVerdict, checkerboard_free
from .errors import CheckerlabError
from .layer_forms import same_axes
from .layers import Conv2d, ConvTranspose2d, Layer, Upsample
from .overlap import overlap_pattern
from .periods import kills_int
from .stack import Stack, as_stack

#: Nodes the kernel-size search of `suggest_fixes` may visit (about 10 microseconds each).
SEARCH_BUDGET = 20_000


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


class Fixes(list):
    """`suggest_fixes`' answer: the fixes, nearest first. `complete` is False when the search budget or a
    cancel stopped the kernel-size search before it had proven that no nearer kernel fix exists."""

    complete: bool = True


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


# ------------------------------------------------------------------ the kernel-size search


@dataclass(frozen=True)
class _Item:
    """A transposed layer in the search: the kills of its factor as it is and of each option (bit masks)."""

    index: int
    kept: int
    options: tuple[tuple[int, int, int], ...]  # (cost, kills, option number)


def _folded(form: ClosedForm) -> int:
    """Index of the last layer folded into an exact pattern (a downsampling conv), -1 if none."""
    return max((f.index for f in form.factors if f.zeros is None), default=-1)


def _problem(stack: Stack, axes: tuple[int, ...], movable: list[int], options: dict) -> tuple[int, int, list]:
    """(full, fixed, items): the divisors q > 1 of S per axis as bits, the kills of the factors that do not
    move, and per movable layer its `_Item` (a kernel k' d' at stride product P kills q iff q | k'd'P and q
    does not divide d'P)."""
    bits, fixed, stretch = {}, 0, {}
    for a in axes:
        form = ClosedForm(stack, a)
        for q in sp.divisors(int(form.stride))[1:]:
            bits[(a, int(q))] = 1 << len(bits)
        for f in form.factors:
            if f.index in movable:
                stretch[(f.index, a)] = int(f.stretch)
                continue
            fixed |= sum(bit for (b, q), bit in bits.items() if b == a and kills_int(f, q))

    def kills(index: int, layer: Layer) -> int:
        mask = 0
        for a in axes:
            op = layer.axis_op(a)
            if (index, a) not in stretch or op.kind != "transposed":
                continue
            p = stretch[(index, a)]
            zeros = (op.kernel * op.dilation * p, op.dilation * p)
            mask |= sum(bit for (b, q), bit in bits.items() if b == a and zeros[0] % q == 0 and zeros[1] % q)
        return mask

    items = []
    for i in movable:
        choices = tuple((cost, kills(i, repl), n) for n, (cost, repl) in enumerate(options[i]))
        items.append(_Item(i, kills(i, stack[i]), choices))
    return sum(bits.values()), fixed, items


class _Budget:
    """The search nodes left and the cancel token, polled every 256 nodes."""

    def __init__(self, nodes: int, cancel: Callable[[], bool] | None):
        self.left, self.cancel, self.stopped = nodes, cancel, False

    def spend(self) -> bool:
        """Take one node; False (from then on) once the budget is spent or cancel() says so."""
        self.left -= 1
        if self.left < 0 or (self.cancel is not None and self.left % 256 == 0 and self.cancel()):
            self.stopped = True
        return not self.stopped


def _cover(full: int, fixed: int, items: list[_Item], start: tuple, found: list, keep: int, budget: _Budget):
    """Branch and bound over `items` in layer order: add to `found` (sorted, at most `keep`, all of the fewest
    changes) the assignments of options that cover `full`, keyed (changes, cost, layers, options).

    Prunes (1) when the layers left cannot cover what is missing, (2) on the lower bound: the fewest of the
    layers left whose best options together cover as many bits as are missing, and (3) on dominance: two
    partial assignments that reach layer j with the same cover have the same completions, so only the `keep`
    best prefixes (by the same key; later layers have larger indices) go on. Depth-first, with an explicit
    stack (a stack may have more layers than Python's recursion limit)."""
    n = len(items)
    kept, reach = [0] * (n + 1), [0] * (n + 1)
    for j in range(n - 1, -1, -1):
        it = items[j]
        kept[j] = kept[j + 1] | it.kept
        reach[j] = reach[j + 1] | it.kept
        for _, mask, _ in it.options:
            reach[j] |= mask
    best: dict[tuple[int, int], list] = {}
    todo = [(0, fixed, *start)]
    while todo and budget.spend():
        j, mask, cost, chosen = todo.pop()
        if (mask | reach[j]) != full:
            continue
        missing, bound = full & ~(mask | kept[j]), len(chosen)
        if missing:
            need = missing.bit_count()
            gains = sorted((max((m & missing).bit_count() for _, m, _ in it.options) for it in items[j:]),
                           reverse=True)
            for gain in gains:
                if need <= 0 or gain == 0:
                    break
                need, bound = need - gain, bound + 1
            if need > 0:
                continue
        if found:
            size, worst = found[0][0][0], found[-1][0][1]
            if bound > size or (bound == size and len(found) == keep and cost > worst):
                continue
        key = (len(chosen), cost, tuple(i for i, _ in chosen), tuple(o for _, o in chosen))
        prefixes = best.setdefault((j, mask), [])
        if len(prefixes) == keep and prefixes[-1] <= key:
            continue
        prefixes.append(key)
        prefixes.sort()
        del prefixes[keep:]
        if j == n:
            found.append((key, chosen))
            found.sort()
            found[:] = [f for f in found if f[0][0] == found[0][0][0]][:keep]
            continue
        it = items[j]
        children = [(j + 1, mask | it.kept, cost, chosen)]
        children += [(j + 1, mask | m, cost + c, chosen + ((it.index, o),)) for c, m, o in it.options]
        todo += reversed(children)  # keep the layer first, then its options in order


def _kernel_fixes(stack: Stack, options: dict, keep: int, budget: int, cancel) -> tuple[list, bool]:
    """The `keep` nearest kernel-size assignments [(key, ((layer, option), ...))], and whether the search
    finished. Layers folded before a downsampling conv are changed one at a time (each a separate problem)."""
    axes = (0,) if same_axes(stack) else (0, 1)
    last = max(_folded(ClosedForm(stack, a)) for a in axes)
    movable = [i for i in options if i > last]
    variants = [(stack, (0, ()))]
    for i in (i for i in options if i <= last):
        for n, (cost, repl) in enumerate(options[i]):
            variants.append((Stack([*stack[:i], repl, *stack[i + 1:]]), (cost, ((i, n),))))
    found: list = []
    spent = _Budget(budget, cancel)
    for variant, start in variants:
        try:
            full, fixed, items = _problem(variant, axes, movable, options)
        except CheckerlabError:  # a folded variant without an interior
            continue
        _cover(full, fixed, items, start, found, keep, spent)
    return found, not spent.stopped


def suggest_fixes(stack, input_size=(32, 32), limit: int = 5, *, budget: int = SEARCH_BUDGET,
                  cancel: Callable[[], bool] | None = None) -> Fixes:
    """The nearest checkerboard-free variants of a numeric stack, each proven even and with its output size:

    1. kernel sizes made multiples of the stride (fewest layers changed, then smallest change), with
       padding/output_padding that keep the output size; 2. resize-convolution (nearest, then bilinear
       upsampling + Conv2d) in place of the culprit transposed convs; 3. a zero-order-hold blur
       Conv2d(s, padding='same') after each culprit (StyleGAN-style: a fixed filter that contains
       1 + z + ... + z^(s-1)). The kernel search visits at most `budget` nodes and stops when `cancel()`
       returns True, keeping the best found (see the module docstring)."""
    stack = as_stack(stack)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise CheckerlabError(f"budget={budget!r} must be an integer >= 1")
    verdict = checkerboard_free(stack)
    if verdict.free is None:
        raise CheckerlabError("suggest_fixes needs numeric layer parameters: substitute values for the "
                              "symbols")
    if verdict.free:
        return Fixes()
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    input_size = tuple(input_size)
    original = output_size(stack, input_size)
    layers = list(stack)
    fixes = Fixes()

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

    # 1. kernel sizes: the fewest transposed layers changed, then the cheapest change
    options = {i: _layer_options(layer)[:4] for i, layer in enumerate(layers) if isinstance(layer, ConvTranspose2d)}
    found, fixes.complete = _kernel_fixes(stack, options, 2, budget, cancel)
    for (size, cost, _, _), chosen in found:
        new = layers[:]
        for i, n in chosen:
            new[i] = options[i][n][1]
        changes = [_describe(i, layers[i], [new[i]]) for i, _ in chosen]
        title = "kernel size a multiple of the stride" + ("" if size == 1 else f" ({size} layers)")
        add("kernel", title, new, changes, (0, size, cost))

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
    del fixes[limit:]
    return fixes


__all__ = ["Fix", "Fixes", "suggest_fixes"]

