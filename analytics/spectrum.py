"""Artifact spectrum of a periodic pattern: the DFT of one period, relative to its DC term.

For a pattern of period S, energy at DFT bin m means an artifact at frequency m/S cycles per pixel.
Separable 2D patterns have separable spectra: C(m1, m2) = C_h(m1) C_w(m2).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: Amplitudes below this fraction of DC are exact zeros blurred by floating point.
ZERO = 1e-9


def relative_amplitudes(tile: np.ndarray) -> np.ndarray:
    """|DFT(tile)| / |DFT(tile)[0, ...]| along every axis of `tile`; exact zeros are returned as 0.0."""
    c = np.abs(np.fft.fftn(np.asarray(tile, dtype=float)))
    dc = c.flat[0]
    if dc <= 0:
        return np.zeros_like(c)
    rel = c / dc
    rel[rel < ZERO] = 0.0
    return rel


def artifact_frequencies(rel: np.ndarray) -> list[tuple[Fraction, Fraction, float]]:
    """(fy, fx, amplitude) for every non-DC bin of a 2D relative spectrum that carries energy.

    Frequencies are signed cycles/pixel in (-1/2, 1/2]; of a conjugate pair (a real pattern's bins m and -m
    are one artifact) only the one with fy > 0, or fy in {0, 1/2} and fx >= 0, is listed."""
    ph, pw = rel.shape
    half = Fraction(1, 2)

    def signed(m: int, p: int) -> Fraction:
        f = Fraction(m, p)
        return f - 1 if f > half else f

    found = []
    for m1 in range(ph):
        for m2 in range(pw):
            fy, fx = signed(m1, ph), signed(m2, pw)
            if (m1, m2) == (0, 0) or rel[m1, m2] == 0 or fy < 0 or (fy in (0, half) and fx < 0):
                continue  # DC, no energy, or the conjugate of a listed bin
            found.append((fy, fx, float(rel[m1, m2])))
    return sorted(found, key=lambda f: (-f[2], f[0], f[1]))
