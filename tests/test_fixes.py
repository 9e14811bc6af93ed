"""checkerboard_free (the exact Sugawara-Shiota-Kiya condition) and suggest_fixes against overlap_pattern."""

import itertools
from math import gcd

import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reference_cases import load_cases

from checkerlab.analytics import (
    CheckerlabError,
    Conv2d,
    ConvTranspose2d,
    PixelShuffle,
    Stack,
    Upsample,
    checkerboard_free,
    overlap_pattern,
    suggest_fixes,
)
from checkerlab.analytics.fixes import Fixes, _layer_options, output_size


def pairs(lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


transposed = st.builds(lambda k, s, p, d: ConvTranspose2d(k, stride=s, padding=p, dilation=d),
                       pairs(1, 6), pairs(1, 4), pairs(0, 2), pairs(1, 3))
conv = st.builds(lambda k, s, d: Conv2d(k, stride=s, padding="valid", dilation=d),
                 pairs(1, 4), pairs(1, 2), pairs(1, 2))
upsample = st.builds(lambda s, m: Upsample(s, mode=m), pairs(1, 3), st.sampled_from(["nearest", "bilinear"]))
shuffle = st.builds(PixelShuffle, st.integers(1, 3))
layer = st.one_of(transposed, transposed, transposed, conv, upsample, shuffle)


def stack_from_case(case):
    out = []
    for spec in case["layers"]:
        kw = {key: spec[key] for key in ("stride", "padding", "output_padding", "dilation") if key in spec}
        cls = ConvTranspose2d if spec["type"] == "ConvTranspose" else Conv2d
        out.append(cls(spec["kernel_size"], **kw))
    return Stack(out)


def cyclotomic_divides(q, factor, z):
    return sp.rem(sp.Poly(sp.expand(factor), z), sp.Poly(sp.cyclotomic_poly(q, z), z)).is_zero


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(layer, min_size=1, max_size=3))
def test_condition_decides_evenness_exactly(layers):
    stack = Stack(layers)
    verdict = checkerboard_free(stack)
    pattern = overlap_pattern(stack)
    assert verdict.free == pattern.is_even
    for a in verdict.axes:
        axis = pattern.axes[a.axis]
        assert a.free == (axis.period == 1 and axis.tile.min() > 0)
        blamed = sorted(q for c in a.culprits for q in c.periods)
        assert blamed == sorted(a.present_periods)  # every uncancelled period is blamed on exactly one layer
        for c in a.culprits:
            assert c.layer is stack[c.index] and c.reason


def test_certificate_is_a_proof():
    """Each Phi_q named in the certificate really divides the named layer's factor of H(z)."""
    for spec in ["ConvTranspose2d(4, stride=2, padding=1) * 4", "ConvTranspose2d(3, stride=2) * 2, Conv2d(4)",
                 "ConvTranspose2d(3, stride=2), ConvTranspose2d(4, stride=2)",
                 "Upsample(3, mode='bilinear'), Conv2d(2)", "ConvTranspose2d(3, stride=2) * 2, Conv2d(2)",
                 "ConvTranspose2d(5, stride=3), Conv2d(3, stride=2)"]:
        verdict = checkerboard_free(spec)
        for a in verdict.axes:
            z = a.form.z
            factors = {f.index: f for f in a.form.factors}
            for q, who in a.annihilators.items():
                for i in who:
                    assert cyclotomic_divides(q, factors[i].expr, z), (spec, q, i)
                others = [f for f in a.form.factors if f.index not in who]
                assert not any(cyclotomic_divides(q, f.expr, z) for f in others), (spec, q)


def test_culprits_are_named():
    v = checkerboard_free("ConvTranspose2d(3, stride=2) * 2, Conv2d(2)")
    assert not v and v.culprit_layers == (0,)
    assert [c.periods for c in v.culprits] == [(4,), (4,)] and "multiple of stride 2" in v.culprits[0].reason
    v = checkerboard_free("ConvTranspose2d(4, stride=2), ConvTranspose2d(3, stride=2)")
    assert v.culprit_layers == (1,) and v.culprits[0].periods == (2,)
    v = checkerboard_free("ConvTranspose2d(3, stride=2, dilation=2)")
    assert "dilation 2" in v.culprits[0].reason
    v = checkerboard_free("ConvTranspose2d((3, 4), stride=2)")
    assert [(c.index, c.axis) for c in v.culprits] == [(0, 0)]
    v = checkerboard_free("ConvTranspose2d(3, stride=2), ConvTranspose2d(4, stride=2)")
    assert v and v.culprits == () and v.free is True


def test_literature_cases():
    for case in load_cases():
        assert bool(checkerboard_free(stack_from_case(case))) == case["even"], case["name"]


def test_symbolic_condition():
    k, s = sp.symbols("k s", integer=True, positive=True)
    v = checkerboard_free(ConvTranspose2d(k, stride=s))
    assert v.free is None and not v
    cond = v.axes[0].condition
    for kk in range(1, 9):
        for ss in range(1, 5):
            assert bool(cond.subs({k: kk, s: ss})) == overlap_pattern(ConvTranspose2d(kk, stride=ss)).is_even
    with pytest.raises(CheckerlabError, match="numeric"):
        suggest_fixes(ConvTranspose2d(k, stride=s))


UNEVEN = ["ConvTranspose2d(3, stride=2)", "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3",
          "ConvTranspose2d(3, stride=2) * 2, Conv2d(2)",
          "ConvTranspose2d(5, stride=3), ConvTranspose2d(3, stride=2)",
          "ConvTranspose2d(3, stride=2, dilation=2)", "ConvTranspose2d((3, 4), stride=(2, 2), padding=1)",
          "ConvTranspose2d(7, stride=4, padding=2, output_padding=1), Conv2d(3, padding=1)",
          "Upsample(2), ConvTranspose2d(1, stride=3)",
          "ConvTranspose2d(3, stride=2), Conv2d(3, stride=2), ConvTranspose2d(5, stride=2)"]


def test_fixes_are_even_keep_the_size_and_are_nearest():
    for spec in UNEVEN:
        stack = Stack(spec)
        fixes = suggest_fixes(stack, (17, 16))
        kinds = [f.kind for f in fixes]
        assert "kernel" in kinds and "blur" in kinds, spec
        assert kinds.index("kernel") == 0, spec  # the nearest fix changes only kernel sizes
        for fix in fixes:
            pattern = overlap_pattern(fix.stack)
            assert pattern.is_even and fix.is_even and bool(fix.verdict), (spec, fix.stack)
            assert fix.pattern.period == (1, 1)
            assert fix.output_size == fix.stack.output_size((17, 16))
            assert fix.original_output_size == stack.output_size((17, 16))
            assert fix.same_size, (spec, fix.stack)
            assert fix.changes
        for fix in fixes:
            if fix.kind != "kernel":
                continue
            changed = [i for i, (old, new) in enumerate(zip(stack, fix.stack, strict=True)) if old != new]
            assert len(changed) == len(fix.changes) >= 1
            for i in changed:
                for a in (0, 1):
                    op = fix.stack[i].axis_op(a)
                    assert op.kernel % op.stride == 0 and gcd(op.dilation, op.stride) == 1, (spec, fix.stack)


def test_fewest_layers_changed():
    fixes = suggest_fixes("ConvTranspose2d(3, stride=2) * 2")
    best = fixes[0]
    assert best.kind == "kernel" and len(best.changes) == 1  # (3,2),(4,2) is even: one change is enough
    fixes = suggest_fixes("ConvTranspose2d(3, stride=2)")
    assert str(fixes[0].stack) == "ConvTranspose2d(4, stride=2, padding=1, output_padding=1)"


def test_even_stacks_need_no_fix():
    assert suggest_fixes("ConvTranspose2d(4, stride=2, padding=1) * 3") == []
    assert suggest_fixes("Upsample(2), Conv2d(3, padding=1)") == []


# ---------------------------------------------------------------- the kernel-size search


def brute_kernel_fixes(stack, input_size):
    """Every assignment of the (at most 4) kernel options to every subset of transposed layers, proven by
    checkerboard_free, ordered by (changes, cost, layers, options): the two nearest stacks of the fewest
    changes whose output size exists."""
    layers = list(stack)
    options = {i: _layer_options(layer)[:4] for i, layer in enumerate(layers) if isinstance(layer, ConvTranspose2d)}
    for size in range(1, len(options) + 1):
        found = []
        for subset in itertools.combinations(sorted(options), size):
            for choice in itertools.product(*(range(len(options[i])) for i in subset)):
                new = layers[:]
                for i, n in zip(subset, choice, strict=True):
                    new[i] = options[i][n][1]
                if checkerboard_free(Stack(new)):
                    cost = sum(options[i][n][0] for i, n in zip(subset, choice, strict=True))
                    found.append(((size, cost, subset, choice), Stack(new)))
        if found:
            found = [new for _, new in sorted(found, key=lambda f: f[0])[:2]]
            return [new for new in found if _has_size(new, input_size)]
    return []


def _has_size(stack, input_size) -> bool:
    try:
        output_size(stack, input_size)
    except CheckerlabError:
        return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(transposed, transposed, upsample, st.builds(lambda k: Conv2d(k), st.integers(1, 3))),
                min_size=1, max_size=3))
@example([ConvTranspose2d(1, padding=2), Conv2d(2), ConvTranspose2d(1, stride=(1, 2), padding=2)])  # empty at 9x9
def test_kernel_search_finds_the_nearest_like_the_exhaustive_search(layers):
    stack = Stack(layers)
    if checkerboard_free(stack).free is not False:
        return
    if not _has_size(stack, (9, 9)):  # e.g. padding=2 on 1x1 kernels: empty at 9x9, suggest_fixes says so
        with pytest.raises(CheckerlabError, match="output would be empty"):
            suggest_fixes(stack, (9, 9))
        return
    kernel = [f.stack for f in suggest_fixes(stack, (9, 9)) if f.kind == "kernel"]
    assert kernel == brute_kernel_fixes(stack, (9, 9)), stack


def test_24_uneven_layers_within_the_budget():
    """Each ConvTranspose2d(4, stride=2) at depth i kills the orders 2^(24-i) and 2^(25-i) of S = 2^24, and k3
    kills none: at least 12 changes, and the search proves that 12 (every other layer) is the fewest."""
    fixes = suggest_fixes("ConvTranspose2d(3, stride=2) * 24", (4, 4))
    assert isinstance(fixes, Fixes) and fixes.complete
    kernel = fixes[0]
    assert kernel.kind == "kernel" and len(kernel.changes) == 12 and kernel.is_even
    assert [i for i, layer in enumerate(kernel.stack) if layer.kernel_size == (4, 4)] == list(range(1, 24, 2))
    mixed = ", ".join(["ConvTranspose2d(5, stride=3)", "ConvTranspose2d(3, stride=2)",
                       "ConvTranspose2d(7, stride=4, padding=2, output_padding=1)"] * 8)
    fixes = suggest_fixes(mixed, (4, 4))
    assert fixes.complete and fixes[0].kind == "kernel" and all(f.is_even for f in fixes)


def test_budget_and_cancel_keep_the_best_so_far():
    spec = ", ".join(["ConvTranspose2d((3, 5), stride=(2, 3))", "ConvTranspose2d(3, stride=2)"] * 12)
    full = suggest_fixes(spec, (4, 4))
    assert full.complete and full[0].kind == "kernel"
    small = suggest_fixes(spec, (4, 4), budget=300)
    assert not small.complete and all(f.is_even for f in small)
    assert [f.kind for f in small if f.kind != "kernel"] == [f.kind for f in full if f.kind != "kernel"]
    polls = []
    cancelled = suggest_fixes(spec, (4, 4), cancel=lambda: polls.append(1) or True)
    assert not cancelled.complete and polls == [1] and all(f.is_even for f in cancelled)
    with pytest.raises(CheckerlabError, match="budget=0"):
        suggest_fixes(spec, budget=0)
