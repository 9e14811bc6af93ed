"""Numba CPU kernels with PyTorch semantics on plain NumPy arrays (NCHW or CHW, float32 or float64).

Knows nothing about layer stacks, SymPy or Qt. Every entry point returns a new array of the input's dtype
and raises ``ValueError`` naming the offending parameter. The compiled code is cached on disk and releases
the GIL; run it from one worker thread at a time (DESIGN.md §6).
"""

from .activations import leaky_relu, relu, sigmoid, tanh
from .conv import conv2d, conv_transpose2d
from .resample import pixel_shuffle, upsample_bilinear2d, upsample_nearest2d

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "leaky_relu",
    "pixel_shuffle",
    "relu",
    "sigmoid",
    "tanh",
    "upsample_bilinear2d",
    "upsample_nearest2d",
]
