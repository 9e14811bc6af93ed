"""One layer on exact 1D signals (analytics.exact) against the definitions, written out literally: kernels
and dilations larger than the signal, so that the prefix sums wrap around whole orbits of a period."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerlab.analytics.exact import period_step, profile_step
from checkerlab.analytics.layers import AxisOp

ops = st.builds(
    lambda kind, k, s, pb, pa, d: AxisOp(kind, k, s, pb, pa, d),
    st.sampled_from(["transposed", "conv"]), st.integers(1, 40), st.integers(1, 5), st.integers(0, 12),
    st.integers(-3, 12), st.integers(1, 7))
signals = st.lists(st.one_of(st.integers(0, 9), st.just(3**45)), min_size=1, max_size=12)


def naive_profile(op, x):
    """PyTorch's definitions on a list: y[i*s + t*d - pb] += x[i]; y[o] = sum_t x[o*s + t*d - pb]."""
    n, out = len(x), op.output_length(len(x))
    y = [0] * max(out, 0)
    for o in range(len(y)):
        for t in range(op.kernel):
            if op.kind == "transposed":
                q = o + op.pad_before - t * op.dilation
                if q % op.stride == 0 and 0 <= q // op.stride < n:
                    y[o] += x[q // op.stride]
            else:
                i = o * op.stride + t * op.dilation - op.pad_before
                if 0 <= i < n:
                    y[o] += x[i]
    return y


def naive_period(op, c):
    """The infinite periodic signal c[n % P] through the layer, one period of the result."""
    p = len(c)
    if op.kind == "transposed":
        return [sum(c[((n + op.pad_before - t * op.dilation) // op.stride) % p] for t in range(op.kernel)
                    if (n + op.pad_before - t * op.dilation) % op.stride == 0) for n in range(p * op.stride)]
    return [sum(c[(o * op.stride + t * op.dilation - op.pad_before) % p] for t in range(op.kernel))
            for o in range(p // np.gcd(p, op.stride))]


def as_array(values):
    return np.array(values, dtype=object) if max(values) > 2**62 else np.array(values, dtype=np.int64)


@settings(max_examples=800, deadline=None)
@given(ops, signals)
def test_profile_step_is_the_definition(op, x):
    if op.output_length(len(x)) < 1:
        return
    y, den = profile_step(op, as_array(x), 1)
    assert den == 1 and [int(v) for v in y] == naive_profile(op, x)


@settings(max_examples=800, deadline=None)
@given(ops, signals)
def test_period_step_is_the_definition(op, c):
    y, den = period_step(op, as_array(c), 1)
    assert den == 1 and [int(v) for v in y] == naive_period(op, c)


def test_long_kernels_wrap_whole_orbits():
    """20,011 taps dilated by 7 on a period of 6: k // L whole orbits plus a run, against the literal sum."""
    for op in (AxisOp("transposed", 20011, 3, 5, 0, 7), AxisOp("conv", 20011, 2, 4, 4, 9)):
        c = [1, 2, 5]
        y, _ = period_step(op, np.array(c, dtype=np.int64), 1)
        assert [int(v) for v in y] == naive_period(op, c)
    op = AxisOp("transposed", 301, 3, 40, -5, 7)
    y, _ = profile_step(op, np.arange(1, 20, dtype=np.int64), 1)
    assert [int(v) for v in y] == naive_profile(op, list(range(1, 20)))
