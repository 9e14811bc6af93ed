"""closed_form and depth_law against the brute-force reference, overlap_pattern and the literature cases.

Symbolic formulas are substituted over the issue's grid (k <= 12, s <= 6, d <= 3, p <= 3) and a depth-2 stack
with k1, s1, k2, s2 (and p, d) symbolic; counts and minimal periods must equal the reference exactly.
Evaluation uses `analytics.evaluation.evaluate` (exact integers); `test_subs_agrees_with_evaluate` checks that
it equals SymPy's own `subs(...).doit()`.
"""

import cmath
import itertools
import random
from fractions import Fraction
from math import gcd, lcm

import numpy as np
import pytest
import sympy as sp
from naive_overlap import brute_overlap_map, minimal_period_1d
from reference_cases import load_cases

from checkerlab.analytics import (
    CheckerlabError,
    Conv2d,
    ConvTranspose2d,
    LayerError,
    PixelShuffle,
    Stack,
    Upsample,
    closed_form,
    depth_law,
    overlap_pattern,
)
from checkerlab.analytics.evaluation import evaluate
from checkerlab.analytics.symbols import Divides, DivisorLcm, IntGcd, IntMod, ModInverse, substitute

k, s, d = sp.symbols("k s d", integer=True, positive=True)
p = sp.Symbol("p", integer=True, nonnegative=True)
k1, s1, k2, s2, d1, d2 = sp.symbols("k1 s1 k2 s2 d1 d2", integer=True, positive=True)
p1, p2 = sp.symbols("p1 p2", integer=True, nonnegative=True)

SINGLE = closed_form(ConvTranspose2d(k, stride=s, padding=p, dilation=d))
DEPTH2 = closed_form(Stack([ConvTranspose2d(k1, stride=s1), ConvTranspose2d(k2, stride=s2)]))
DEPTH2_FULL = closed_form(Stack([ConvTranspose2d(k1, stride=s1, padding=p1, dilation=d1),
                                 ConvTranspose2d(k2, stride=s2, padding=p2, dilation=d2)]))


def brute_profile(layers_1d, n_in):
    """The brute-force 1D profile: every layer given as (k, s, p, d) along rows only (width 1)."""
    layers = [ConvTranspose2d((kk, 1), stride=(ss, 1), padding=(pp, 0), dilation=(dd, 1))
              for kk, ss, pp, dd in layers_1d]
    return [int(v) for v in brute_overlap_map(layers, (n_in, 1))[:, 0]]


def interior(layers_1d, n_in):
    """(start, stop): output indices whose every tap reads a real input sample (no border effect)."""
    lo, hi, length = 0, n_in - 1, n_in
    for kk, ss, pp, dd in layers_1d:
        length = (length - 1) * ss + dd * (kk - 1) + 1 - 2 * pp
        lo, hi = max(lo * ss + (kk - 1) * dd - pp, 0), min(hi * ss - pp, length - 1)
    return lo, hi + 1


def counts(form, values, ns):
    return [evaluate(form.count, {**values, "n": n}) for n in ns]


def periodic(axis_pattern, length):
    """The reference interior counts at n = 0..length-1 from overlap_pattern's tile."""
    return [Fraction(axis_pattern.tile[n % axis_pattern.period]) for n in range(length)]


def draw(rng, k, s, d, p):
    """Random values for the depth-2 symbols k1, s1, d1, p1, k2, s2, d2, p2."""
    return {f"{name}{i}": rng.randint(0 if name == "p" else 1, top)
            for i in (1, 2) for name, top in (("k", k), ("s", s), ("d", d), ("p", p))}


# ---------------------------------------------------------------- one symbolic layer: the full grid


GRID = list(itertools.product(range(1, 13), range(1, 7), range(1, 4), range(4)))  # (k, s, d, p)


def test_single_layer_grid_against_brute_force():
    """count(n), the minimal period and both conditions, for every k<=12, s<=6, d<=3, p<=3."""
    for kk, ss, dd, pp in GRID:
        values = {"k": kk, "s": ss, "d": dd, "p": pp}
        n_in = ((kk - 1) * dd + 2 * pp + 4 * ss) // ss + 2
        profile = brute_profile([(kk, ss, pp, dd)], n_in)
        lo, hi = interior([(kk, ss, pp, dd)], n_in)
        assert hi - lo >= 3 * ss, values
        want = profile[lo:hi]
        assert counts(SINGLE, values, range(lo, hi)) == want, values
        period = evaluate(SINGLE.period, values)
        assert period == minimal_period_1d(want), values
        assert evaluate(SINGLE.even_condition, values) == (period == 1 and min(want) > 0), values
        assert evaluate(SINGLE.holes_condition, values) == (min(want) == 0), values


def test_single_layer_period_law_is_the_stated_one():
    """period = g if (s/g) | k else s, g = gcd(d, s); checked against overlap_pattern on the same grid."""
    for kk, ss, dd, pp in GRID:
        g = gcd(dd, ss)
        law = g if kk % (ss // g) == 0 else ss
        got = overlap_pattern(ConvTranspose2d(kk, stride=ss, padding=pp, dilation=dd)).period[0]
        assert got == law == evaluate(SINGLE.period, {"k": kk, "s": ss, "d": dd, "p": pp})


def test_single_layer_d1_is_the_textbook_floor_formula():
    """With d = 1: c(n) = floor((k - 1 - r)/s) + 1, r = (n + p) mod s (DESIGN.md §4)."""
    form = closed_form(ConvTranspose2d(k, stride=s, padding=p))
    n = form.n
    textbook = sp.floor((k - 1 - IntMod(n + p, s)) / s) + 1
    assert sp.simplify(form.count - textbook) == 0
    assert form.period == sp.Piecewise((1, sp.Eq(IntMod(k, s), 0)), (s, True))


# ---------------------------------------------------------------- depth 2, all four parameters symbolic


def test_depth2_symbolic_grid_against_overlap_and_brute_force():
    sampled = 0
    for a, b, c, e in itertools.product(range(1, 8), range(1, 5), range(1, 8), range(1, 5)):
        values = {"k1": a, "s1": b, "k2": c, "s2": e}
        pattern = overlap_pattern(Stack([ConvTranspose2d(a, stride=b), ConvTranspose2d(c, stride=e)])).axes[0]
        total = b * e
        assert counts(DEPTH2, values, range(total)) == periodic(pattern, total)
        assert evaluate(DEPTH2.period, values) == pattern.period, values
        assert evaluate(DEPTH2.even_condition, values) == (pattern.period == 1), values
        assert evaluate(DEPTH2.holes_condition, values) == (pattern.tile.min() == 0), values
        if (a + b + c + e) % 7 == 0:  # a sample straight against the brute force
            sampled += 1
            layers = [(a, b, 0, 1), (c, e, 0, 1)]
            n_in = (a + c) // 2 + 8
            lo, hi = interior(layers, n_in)
            want = brute_profile(layers, n_in)[lo:hi]
            assert counts(DEPTH2, values, range(lo, hi)) == want, values
            assert minimal_period_1d(want) == pattern.period
    assert sampled > 50


def test_depth2_with_padding_and_dilation_symbolic():
    rng = random.Random(3)
    for _ in range(250):
        v = draw(rng, k=9, s=4, d=3, p=3)
        stack = substitute(DEPTH2_FULL.stack, v)
        pattern = overlap_pattern(stack).axes[0]
        total = v["s1"] * v["s2"]
        assert counts(DEPTH2_FULL, v, range(total)) == periodic(pattern, total), v
        assert evaluate(DEPTH2_FULL.period, v) == pattern.period, v
        assert evaluate(DEPTH2_FULL.holes_condition, v) == (pattern.tile.min() == 0), v


def test_subs_agrees_with_evaluate():
    """The formulas are plain SymPy: subs(...).doit() gives the same exact values as `evaluate`."""
    rng = random.Random(5)
    for form, names in ((SINGLE, "kspd"), (DEPTH2_FULL, None)):
        syms = {str(x): x for x in form.symbols}
        for _ in range(3):
            if names:
                v = {"k": rng.randint(1, 12), "s": rng.randint(1, 6), "p": rng.randint(0, 3),
                     "d": rng.randint(1, 3)}
            else:
                v = draw(rng, k=6, s=3, d=3, p=2)
            sv = {syms[key]: val for key, val in v.items()}
            for n in range(2):
                assert form.count.subs({**sv, form.n: n}).doit() == evaluate(form.count, {**v, "n": n})
            assert form.period.subs(sv) == evaluate(form.period, v)
            assert bool(form.even_condition.subs(sv)) == evaluate(form.even_condition, v)
        if names:  # the depth-2 holes product is slow through SymPy; the single layer's is a closed form
            assert bool(form.holes_condition.subs(sv)) == evaluate(form.holes_condition, v)


def test_mixed_symbolic_layers():
    """Symbolic nearest/bilinear scales and stride-1 convs next to transposed convs."""
    stacks = [
        [Upsample(s, mode="bilinear"), Conv2d(k)],
        [ConvTranspose2d(k, stride=s), Upsample(2, mode="bilinear"), Conv2d(3, padding=1)],
        [Upsample(s), ConvTranspose2d(k, stride=2, dilation=d)],
        [ConvTranspose2d(k, stride=2), Conv2d(k, dilation=d, padding=p), PixelShuffle(2)],
    ]
    for layers in stacks:
        form = closed_form(Stack(layers))
        for kk in range(1, 7):
            for ss in range(1, 5):
                v = {"k": kk, "s": ss, "d": 1 + kk % 3, "p": kk % 2}
                pattern = overlap_pattern(substitute(form.stack, v)).axes[0]
                total = evaluate(form.stride, v)
                got = counts(form, v, range(total))
                assert got == [pattern.tile[n % pattern.period] for n in range(total)], (layers, v)
                assert evaluate(form.period, v) == pattern.period, (layers, v)
                assert evaluate(form.mean, v) == sum(Fraction(x) for x in pattern.tile) / pattern.period


def test_symbolic_amplitudes_match_the_numeric_spectrum():
    for kk, ss, dd in [(3, 2, 1), (5, 3, 1), (7, 4, 3), (6, 4, 1), (3, 2, 2), (4, 6, 1)]:
        sub = {k: kk, s: ss, d: dd, p: 0}
        numeric = overlap_pattern(ConvTranspose2d(kk, stride=ss, dilation=dd)).axes[0]
        full = np.tile(numeric.tile.astype(float), ss // numeric.period)
        want = np.abs(np.fft.fft(full)) / full.sum()
        for m in range(ss):
            got = complex(SINGLE.amplitudes.subs(sub).subs(SINGLE.m, m).evalf())
            assert abs(got - want[m]) < 1e-9, (kk, ss, dd, m)


# ---------------------------------------------------------------- integer functions


def test_integer_functions_evaluate_once_numeric():
    assert sp.gcd(k, s) == 1  # SymPy's polynomial gcd: the trap the issue mentions
    assert IntGcd(k, s) != 1 and IntGcd(k, s).subs({k: 12, s: 18}) == 6 and IntGcd(k, s).is_integer
    assert IntGcd(1, s) == 1 and IntGcd(s, s) == s and IntGcd(k, s) == IntGcd(s, k)
    x = sp.Symbol("x", integer=True)
    nested = IntMod(2 * IntMod(x, 3), 3)
    assert [nested.subs(x, v) for v in range(6)] == [(2 * (v % 3)) % 3 for v in range(6)]
    assert evaluate(nested, {x: 2}) == 1
    assert ModInverse(3, 7) == 5 and ModInverse(5, 1) == 0 and ModInverse(k, s).subs({k: 3, s: 10}) == 7
    assert Divides(3, 9) == 1 and Divides(3, 10) == 0 and Divides(2, sp.Rational(1, 2)) == 0
    q = sp.Dummy("q", integer=True, positive=True)
    big = DivisorLcm(sp.Piecewise((q, sp.Eq(IntMod(k, q), 0)), (1, True)), q, s)  # = gcd(k, s)
    assert big.free_symbols == {k, s}
    for kk, ss in [(3, 12), (12, 12), (4, 12), (7, 5), (8, 12)]:
        assert big.subs({k: kk, s: ss}) == evaluate(big, {"k": kk, "s": ss}) == gcd(kk, ss)


def test_evaluate_is_exact_and_refuses_what_it_cannot_do():
    assert evaluate(sp.Rational(3, 4) * k, {k: 2}) == Fraction(3, 2)
    assert evaluate(sp.Sum(k, (k, 1, s)), {s: 4}) == 10
    assert evaluate(sp.Sum(k, (k, 1, s)), {s: -2}) == sp.Sum(k, (k, 1, -2)).doit()  # Karr's convention
    with pytest.raises(CheckerlabError, match="no value"):
        evaluate(k + 1, {})
    with pytest.raises(CheckerlabError, match="no exact"):
        evaluate(sp.sin(k), {k: 1})


# ---------------------------------------------------------------- numeric stacks, any depth


NUMERIC = [
    "ConvTranspose2d(3, stride=2)",
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 4",
    "ConvTranspose2d(5, stride=3), ConvTranspose2d(3, stride=2), Conv2d(2)",
    "ConvTranspose2d(4, stride=4, dilation=2), Conv2d(3, padding=1)",
    "Upsample(2, mode='bilinear'), Conv2d(3, padding=1), ConvTranspose2d(5, stride=3)",
    "Upsample(3, mode='bilinear'), ConvTranspose2d(2, stride=2)",
    "PixelShuffle(2), ConvTranspose2d(3, stride=2, dilation=3), Upsample(2)",
    "ConvTranspose2d(5, stride=3), Conv2d(3, stride=2), ConvTranspose2d(3, stride=2)",
    "ConvTranspose2d(3, stride=2), Conv2d(2, stride=2, padding=1), ConvTranspose2d(6, stride=4, padding=1)",
    "ConvTranspose2d((3, 5), stride=(2, 3), padding=(1, 2))",
    "Conv2d(3, padding=1)",
]


def _phase_sums(form):
    """Fold the expanded H(z) mod z^S - 1 and shift by the offset: an independent route to the tile."""
    total, off = int(form.stride), int(form.offset)
    poly = sp.Poly(sp.expand(form.generating_function), form.z)
    a = [sp.Integer(0)] * total
    for (e,), c in poly.terms():
        a[e % total] += c
    return [a[(n + off) % total] for n in range(total)]


@pytest.mark.parametrize("spec", NUMERIC)
def test_numeric_closed_forms_against_overlap(spec):
    for axis in (0, 1):
        form = closed_form(spec, axis)
        pattern = overlap_pattern(spec).axes[axis]
        tile = [Fraction(v) for v in pattern.tile]
        total = int(form.stride)
        assert total % pattern.period == 0
        assert [Fraction(str(v)) for v in form.tile] == tile
        assert [evaluate(form.count, {"n": n}) for n in range(2 * total)] == periodic(pattern, 2 * total)
        assert _phase_sums(form) == [sp.Rational(str(tile[n % len(tile)])) for n in range(total)]
        present = form.present_periods
        assert (lcm(*present) if present else 1) == pattern.period == form.period
        assert form.mean == sp.Rational(str(sum(tile) / len(tile)))
        assert bool(form.even_condition) == (pattern.period == 1 and min(tile) > 0)
        assert bool(form.holes_condition) == (min(tile) == 0)
        full = np.tile(np.array([float(v) for v in tile]), total // len(tile))
        dft = np.fft.fft(full)
        for m in range(total):
            amp, value = form.amplitudes[m], form.spectrum[m]
            assert abs(float(amp) - abs(dft[m]) / dft[0].real) < 1e-9
            assert (amp == 0) == (abs(dft[m]) < 1e-9 * dft[0].real)
            phase = cmath.exp(-2j * cmath.pi * m * int(form.offset) / total)  # H(w^m) = w^(m off) DFT[m]
            assert abs(complex(value) - phase * dft[m]) < 1e-9 * dft[0].real
        want = [(Fraction(m, total), abs(dft[m]) / dft[0].real) for m in range(1, total // 2 + 1)
                if abs(dft[m]) > 1e-9 * dft[0].real]
        got = form.artifact_frequencies
        assert [f for f, _ in got] == [f for f, _ in want]
        assert all(abs(float(a) - b) < 1e-9 for (_, a), (_, b) in zip(got, want, strict=True))


def test_spectrum_is_exact_algebraic():
    form = closed_form("ConvTranspose2d(3, stride=2) * 2, Conv2d(2)")
    assert form.spectrum == (18, -1 - sp.I, 0, -1 + sp.I)
    assert form.amplitudes[1] == sp.sqrt(2) / 18 and form.amplitudes[2] == 0
    assert form.artifact_frequencies == [(Fraction(1, 4), sp.sqrt(2) / 18)]


def test_spectrum_is_a_product_of_dirichlet_kernels():
    """|H(w^m)|/H(1) = prod_i |sin(pi m a_i/S) / sin(pi m b_i/S)| / (a_i/b_i): ConvTranspose2d(5, stride=3) * 2
    has H(z) = Z_5(z^3) Z_5(z), S = 9; at m = 1 the first factor is |sin(5 pi/3)/sin(pi/3)| = 1."""
    form = closed_form("ConvTranspose2d(5, stride=3) * 2")
    assert form.amplitudes[1] == sp.sin(4 * sp.pi / 9) / (25 * sp.sin(sp.pi / 9))
    assert form.amplitudes[3] == sp.Rational(1, 5) and form.amplitudes[8] == form.amplitudes[1]


def test_deep_spectrum_is_exact_against_a_high_precision_dft():
    """ConvTranspose2d(5, stride=3) * 5 (S = P = 243): every exact value and amplitude against a 50-digit DFT
    of the exact integer tile (mpmath, independent of the factorization), zeros decided exactly."""
    import mpmath

    form = closed_form("ConvTranspose2d(5, stride=3) * 5")
    tile = [int(v) for v in form.tile]
    total, off = int(form.stride), int(form.offset)
    assert total == len(tile) == 243
    mpmath.mp.dps = 50
    try:
        dc = mpmath.mpf(sum(tile))
        for m in range(0, total, 7):
            w = [mpmath.expj(-2 * mpmath.pi * m * n / total) for n in range(total)]
            dft = mpmath.fsum(t * wn for t, wn in zip(tile, w, strict=True))
            want = dft * mpmath.expj(-2 * mpmath.pi * m * off / total)  # H(w^m) = w^(m off) DFT[m]
            re, im = form.spectrum[m].evalf(50).as_real_imag()
            assert abs(mpmath.mpc(mpmath.mpf(str(re)), mpmath.mpf(str(im))) - want) < mpmath.mpf(10) ** -40 * dc
            assert abs(mpmath.mpf(str(form.amplitudes[m].evalf(50))) - abs(dft) / dc) < mpmath.mpf(10) ** -40
            assert (form.amplitudes[m] == 0) == (abs(dft) < 1e-30 * dc)
    finally:
        mpmath.mp.dps = 15


def test_exact_spectrum_budget():
    with pytest.raises(CheckerlabError, match=r"S = 4096, 24576\); use overlap_pattern") as info:
        closed_form("ConvTranspose2d(3, stride=2) * 12").amplitudes  # noqa: B018
    assert "\n" not in str(info.value) and len(str(info.value)) < 300
    even = closed_form("ConvTranspose2d(4, stride=2, padding=1) * 16")  # S = 65536, nothing present
    assert even.amplitudes[0] == 1 and not any(even.amplitudes[1:]) and len(even.spectrum) == 1 << 16


def test_literature_cases_through_closed_form():
    """Every literature case (tests/data), numerically and through the symbolic formula with the case's values."""
    for case in load_cases():
        layers, sym_layers, values = [], [], {}
        for i, spec in enumerate(case["layers"]):
            kw = {key: spec[key] for key in ("stride", "padding", "output_padding", "dilation")
                  if key in spec}
            ks = sp.Symbol(f"k{i}", integer=True, positive=True)
            values[f"k{i}"] = spec["kernel_size"]
            if spec["type"] == "ConvTranspose":
                layers.append(ConvTranspose2d(spec["kernel_size"], **kw))
                ss = sp.Symbol(f"s{i}", integer=True, positive=True)
                values[f"s{i}"] = kw.pop("stride", 1)
                sym_layers.append(ConvTranspose2d(ks, stride=ss, **kw))
            else:
                layers.append(Conv2d(spec["kernel_size"], **kw))
                sym_layers.append(Conv2d(ks, **kw))
        form = closed_form(Stack(layers))
        assert [int(v) for v in form.tile] == case["tile"], case["name"]
        assert form.period == case["period"] and bool(form.even_condition) == case["even"], case["name"]
        assert bool(form.holes_condition) == case["holes"], case["name"]
        sym = closed_form(Stack(sym_layers))
        assert sym.is_symbolic
        assert evaluate(sym.period, values) == case["period"], case["name"]
        got = [evaluate(sym.count, {**values, "n": n}) for n in range(2 * case["period"])]
        assert got == [case["tile"][n % case["period"]] for n in range(2 * case["period"])], case["name"]


def test_errors_name_the_layer_and_the_range():
    with pytest.raises(CheckerlabError, match="axis=2"):
        closed_form("ConvTranspose2d(3, stride=2)", axis=2)
    with pytest.raises(LayerError, match=r"layer 1 \(Conv2d\).*stride"):
        closed_form(Stack([ConvTranspose2d(k, stride=2), Conv2d(3, stride=s)]))
    with pytest.raises(LayerError, match=r"layer 1 \(Conv2d\).*stride=2 downsamples"):
        closed_form(Stack([ConvTranspose2d(k, stride=2), Conv2d(3, stride=2)]))
    with pytest.raises(CheckerlabError, match="numeric"):
        SINGLE.tile  # noqa: B018
    with pytest.raises(LayerError, match="kernel_size") as info:
        SINGLE.subs({"k": 0, "s": 2, "p": 0, "d": 1})
    assert "\n" not in str(info.value)


def test_subs_gives_the_numeric_closed_form():
    numeric = SINGLE.subs({"k": 3, "s": 2, "p": 1, "d": 1})
    assert not numeric.is_symbolic and [int(v) for v in numeric.tile] == [1, 2]


# ---------------------------------------------------------------- depth laws


BLOCKS = ["ConvTranspose2d(3, stride=2)", "ConvTranspose2d(4, stride=2, padding=1)",
          "ConvTranspose2d(5, stride=3)",
          "ConvTranspose2d(3, stride=2, dilation=2)", "ConvTranspose2d(2, stride=4, dilation=2)",
          "ConvTranspose2d(3, stride=6, dilation=4)", "ConvTranspose2d(3, stride=2), Conv2d(3, padding=1)",
          "Upsample(2, mode='bilinear'), Conv2d(2)", "ConvTranspose2d(1, stride=2)",
          "ConvTranspose2d(6, stride=4)"]


@pytest.mark.parametrize("block", BLOCKS)
def test_depth_law_against_stacks_of_copies(block):
    law = depth_law(block, max_depth=5)
    assert law.table, block
    single = overlap_pattern(block).axes[0]
    for row in law.table:
        pattern = overlap_pattern(Stack(list(Stack(block)) * row.depth)).axes[0]
        tile = [Fraction(v) for v in pattern.tile]
        assert row.period == pattern.period == law.period_at(row.depth)
        if law.period is not None:
            assert law.period.subs(law.L, row.depth) == row.period
        assert (row.minimum, row.maximum) == (min(tile), max(tile))
        assert law.mean.subs(law.L, row.depth) == sp.Rational(str(row.mean))
        assert law.even == (pattern.period == 1) == (single.period == 1)
        assert law.holes == (min(tile) == 0) == (single.tile.min() == 0)
        if law.contrast is not None:
            assert (law.contrast == sp.oo and row.contrast == float("inf")) or law.contrast == row.contrast
        assert abs(float(law.amplitude) - row.amplitude) < 1e-9  # the same at every depth
        if law.lowest_amplitude is not None:
            full = np.tile(np.array([float(v) for v in tile]), law.stride ** row.depth // len(tile))
            dft = np.abs(np.fft.fft(full))
            got = complex(law.lowest_amplitude.subs(law.L, row.depth).doit().evalf())
            assert abs(got - dft[1] / dft[0]) < 1e-9


def test_depth_law_contrast_grows_like_fibonacci_for_k3_s2():
    """k3 s2 repeated is Stern's diatomic sequence: the max count at depth L is F(L+2), the min is 1."""
    law = depth_law("ConvTranspose2d(3, stride=2)", max_depth=9)
    fib = [1, 1]
    while len(fib) < 12:
        fib.append(fib[-1] + fib[-2])
    assert [r.maximum for r in law.table] == fib[2:11] and all(r.minimum == 1 for r in law.table)
    assert law.growth["contrast"] == Fraction(fib[10], fib[9])
    assert law.period == 2 ** law.L and law.contrast is None


def test_depth_law_refuses_symbols_and_bad_depths():
    with pytest.raises(CheckerlabError, match="numeric"):
        depth_law(ConvTranspose2d(k, stride=2))
    with pytest.raises(CheckerlabError, match="max_depth"):
        depth_law("ConvTranspose2d(3, stride=2)", max_depth=0)


def test_closed_form_keeps_a_bounded_cache():
    """The report, the fixes and the GUI ask for the same closed form several times: it is built once, and the
    cache holds at most CACHE_SIZE of them (least recently used dropped first)."""
    from checkerlab.analytics import closed_forms

    first = closed_form("ConvTranspose2d(3, stride=2) * 2")
    assert closed_form(Stack("ConvTranspose2d(3, stride=2) * 2")) is first
    assert closed_form("ConvTranspose2d(3, stride=2) * 2", axis=1) is not first
    for kk in range(1, closed_forms.CACHE_SIZE + 2):
        closed_form(ConvTranspose2d(kk, stride=3))
    assert closed_forms._closed_form.cache_info().currsize == closed_forms.CACHE_SIZE
    assert closed_form("ConvTranspose2d(3, stride=2) * 2") is not first  # evicted, rebuilt
    with pytest.raises(CheckerlabError, match=r"axis=\[0\]"):
        closed_form("ConvTranspose2d(3, stride=2)", axis=[0])
