"""Artifact spectrum of a periodic pattern: the DFT of one period, relative to its DC term.

For a pattern of period S, energy at DFT bin m means an artifact at frequency m/S cycles per pixel.
Separable 2D patterns have separable spectra: C(m1, m2) = C_h(m1) C_w(m2), so everything here works on the
two 1D spectra and never builds the ph x pw plane: listing the strongest artifacts of a 4096 x 4096 period
costs O(P log P + K log P), not O(P^2).
"""

from __future__ import annotations

import heapq
from fractions import Fraction

import numpy as np

#: Amplitudes below this fraction of DC are exact zeros blurred by floating point.
ZERO = 1e-9


def _as_float(tile: np.ndarray) -> np.ndarray:
    """An exact tile (int64, Python ints or Fractions) as float64 scaled by 1/max|tile|, so that counts of
    thousands of digits neither overflow nor lose relative precision. O(size)."""
    tile = np.asarray(tile)
    if tile.dtype != object:
        return tile.astype(float)
    top = max((abs(v) for v in tile.ravel()), default=0)
    if top == 0:
        return np.zeros(tile.shape)
    return np.array([v / top for v in tile.ravel()], dtype=float).reshape(tile.shape)


def relative_amplitudes(tile: np.ndarray) -> np.ndarray:
    """|DFT(tile)| / |DFT(tile)[0, ...]| along every axis of `tile`; exact zeros are returned as 0.0.

    A real tile has |C(m)| = |C(-m)| exactly; the FFT's rounding is symmetrized so that conjugate bins tie
    exactly (listings then order them by frequency, not by the last bit). O(P log P) for P cells (an FFT of
    the float image of the exact tile, see `_as_float`)."""
    c = np.abs(np.fft.fftn(_as_float(tile)))
    axes = tuple(range(c.ndim))
    c = (c + np.roll(np.flip(c, axis=axes), 1, axis=axes)) / 2
    dc = c.flat[0]
    if dc <= 0:
        return np.zeros_like(c)
    rel = c / dc
    rel[rel < ZERO] = 0.0
    return rel


def _listed_rows(ph: int) -> range:
    """Row bins m1 with fy = m1/ph in [0, 1/2]: one of each conjugate pair (m, -m) of a real pattern."""
    return range(ph // 2 + 1)


def _signed(m: np.ndarray, p: int) -> np.ndarray:
    """Bin m as a signed multiple of 1/p in (-1/2, 1/2]."""
    return np.where(2 * m <= p, m, m - p)


def count_artifacts(rows: np.ndarray, cols: np.ndarray) -> int:
    """How many entries `strongest_artifacts(rows, cols, limit=None)` lists, in O(ph + pw)."""
    ph, pw = len(rows), len(cols)
    m2 = np.arange(pw)
    every = int(np.count_nonzero(cols > 0))
    half = int(np.count_nonzero((cols > 0) & (2 * m2 <= pw)))
    total = 0
    for m1 in (0, ph // 2) if ph % 2 == 0 and ph > 1 else (0,):
        if rows[m1] > 0:
            total += half - (1 if m1 == 0 and cols[0] > 0 else 0)
    middle = rows[1: (ph + 1) // 2]
    return total + int(np.count_nonzero(middle > 0)) * every


def strongest_artifacts(rows: np.ndarray, cols: np.ndarray, limit: int | None = None
                        ) -> list[tuple[Fraction, Fraction, float]]:
    """(fy, fx, amplitude) of the separable relative spectrum rows (x) cols, strongest first, at most `limit`.

    Every non-DC bin that carries energy, in cycles/pixel in (-1/2, 1/2]; of a conjugate pair (a real
    pattern's bins m and -m are one artifact) only the one with fy > 0, or fy in {0, 1/2} and fx >= 0.
    Sorted by (-amplitude, fy, fx); amplitude = rows[m1] * cols[m2] in float64.

    A k-way merge over the rows, each a stream of columns in descending amplitude: O(pw log pw + (ph + K)
    log ph) for K listed entries, never the ph x pw plane."""
    ph, pw = len(rows), len(cols)
    m2 = np.arange(pw)
    sfx = _signed(m2, pw)
    order = np.lexsort((sfx, -cols))
    order = order[cols[order] > 0]
    every = order.tolist()
    half = [c for c in every if 2 * c <= pw]
    streams = {}
    heap = []
    for m1 in _listed_rows(ph):
        if rows[m1] <= 0:
            continue
        cols_m1 = half if m1 == 0 or 2 * m1 == ph else every
        if m1 == 0:
            cols_m1 = [c for c in cols_m1 if c != 0]
        if cols_m1:
            streams[m1] = cols_m1
            c = cols_m1[0]
            heap.append((-float(rows[m1] * cols[c]), m1, int(sfx[c]), 0))
    heapq.heapify(heap)
    found = []
    while heap and (limit is None or len(found) < limit):
        neg, m1, fx, pos = heapq.heappop(heap)
        found.append((Fraction(m1, ph), Fraction(fx, pw), -neg))
        if pos + 1 < len(streams[m1]):
            c = streams[m1][pos + 1]
            heapq.heappush(heap, (-float(rows[m1] * cols[c]), m1, int(sfx[c]), pos + 1))
    return found


def plane_artifacts(rel: np.ndarray, limit: int | None = None) -> list[tuple[Fraction, Fraction, float]]:
    """(fy, fx, amplitude) of a 2D relative spectrum that need not be separable (a network's superposed
    tile), with `strongest_artifacts`' conventions: every non-DC bin with energy, one of each conjugate pair,
    strongest first. O(P log P) for the P cells of the plane (network tiles are bounded, see graph_overlap)."""
    ph, pw = rel.shape
    m1, m2 = np.arange(ph)[:, None], np.arange(pw)[None, :]
    fx = _signed(m2, pw)
    keep = (rel > 0) & (2 * m1 <= ph) & ~(((m1 == 0) | (2 * m1 == ph)) & (fx < 0))
    keep[0, 0] = False
    found = [(Fraction(int(a), ph), Fraction(int(_signed(b, pw)), pw), float(rel[a, b]))
             for a, b in np.argwhere(keep)]
    found.sort(key=lambda f: (-f[2], f[0], f[1]))
    return found if limit is None else found[:limit]
