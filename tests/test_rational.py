"""RationalArray: exact rationals over one common denominator, without a Fraction per element."""

from fractions import Fraction

import numpy as np
import pytest

from checkerlab.analytics.rational import RationalArray


def test_elements_are_exact_and_arrays_are_floats():
    a = RationalArray(np.array([[1, 2, 3], [4, 6, 9]]), 6)
    assert a.shape == (2, 3) and a.ndim == 2 and a.size == 6 and len(a) == 2
    assert a[0, 0] == Fraction(1, 6) and a[1, 1] == 1 and isinstance(a[1, 2], Fraction)
    row = a[1]
    assert isinstance(row, RationalArray) and row.tolist() == [Fraction(2, 3), 1, Fraction(3, 2)]
    assert np.asarray(a).dtype == np.float64 and np.asarray(a)[0, 1] == 1 / 3
    assert a.astype(float).tolist() == (np.array([[1, 2, 3], [4, 6, 9]]) / 6).tolist()
    assert a.to_fractions().dtype == object and a.astype(object)[1, 2] == Fraction(3, 2)
    assert (a.min(), a.max()) == (Fraction(1, 6), Fraction(3, 2))


def test_python_int_numerators_round_correctly():
    big = RationalArray(np.array([10**400 + 1, 3], dtype=object), 10**400)
    assert big[0] == Fraction(10**400 + 1, 10**400) and np.asarray(big).tolist() == [1.0, 3 / 10**400]


def test_denominator_must_be_positive():
    with pytest.raises(ValueError, match="denominator=0"):
        RationalArray(np.zeros(2), 0)
