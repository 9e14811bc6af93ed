"""`RationalArray`: exact rationals as integer numerators over ONE common denominator.

Bilinear layers make overlap counts rational with a denominator (2s)^depth shared by every pixel, so a map
is stored as an int64 (or Python-int) numerator array plus one int: the same memory and speed as an integer
map, and never a Fraction object per pixel. Indexing one element gives an exact `Fraction`;
`np.asarray(a)` gives float64 (each value correctly rounded); `to_fractions()` builds the object array of
Fractions explicitly, O(size), for small arrays.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np


class RationalArray:
    """numerators / denominator, elementwise, with a common denominator > 0."""

    __slots__ = ("numerators", "denominator")

    def __init__(self, numerators: np.ndarray, denominator: int):
        if int(denominator) < 1:
            raise ValueError(f"denominator={denominator} must be a positive integer")
        self.numerators = np.asarray(numerators)
        self.denominator = int(denominator)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.numerators.shape

    @property
    def ndim(self) -> int:
        return self.numerators.ndim

    @property
    def size(self) -> int:
        return self.numerators.size

    def __len__(self) -> int:
        return len(self.numerators)

    def __getitem__(self, key) -> Fraction | RationalArray:
        part = self.numerators[key]
        if isinstance(part, np.ndarray):
            return RationalArray(part, self.denominator)
        return Fraction(int(part), self.denominator)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """float64 values (each correctly rounded); dtype=object gives exact Fractions."""
        if dtype is not None and np.dtype(dtype) == object:
            return self.to_fractions()
        if self.numerators.dtype != object:
            out = self.numerators / self.denominator
        else:
            den = self.denominator
            out = np.fromiter((int(v) / den for v in self.numerators.ravel()), float,
                              self.numerators.size).reshape(self.shape)
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype) -> np.ndarray:
        """np.asarray(self, dtype): float values, or exact Fractions for dtype=object."""
        return self.__array__(dtype)

    def to_fractions(self) -> np.ndarray:
        """An object array of Fractions, O(size)."""
        den = self.denominator
        flat = [Fraction(int(v), den) for v in self.numerators.ravel()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(self.shape)

    def tolist(self) -> list[Any]:
        return self.to_fractions().tolist()

    def min(self) -> Fraction:
        return Fraction(int(self.numerators.min()), self.denominator)

    def max(self) -> Fraction:
        return Fraction(int(self.numerators.max()), self.denominator)

    def __repr__(self) -> str:
        return f"RationalArray(shape={self.shape}, denominator={self.denominator})"
