"""Compilation options shared by every Numba entry point of :mod:`kernels`.

``parallel`` + ``prange`` for the two cores, ``nogil`` so a GUI worker thread can run a kernel while the
event loop keeps going, ``cache`` so a second process start compiles nothing. ``fastmath`` is the safe
subset only (no ``nnan``/``ninf``): NaN and Inf propagate exactly as in PyTorch.
"""

from numba import njit

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})

kernel = njit(parallel=True, nogil=True, cache=True, fastmath=set(FASTMATH))
"""Decorator for every Numba entry point of the package."""
