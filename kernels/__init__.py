"""Numba CPU kernels with PyTorch semantics on plain NumPy arrays (NCHW or CHW, float32 or float64).

Knows nothing about layer stacks, SymPy or Qt. Every entry point returns a new array of the input's dtype
and raises ``ValueError`` naming the offending parameter. The compiled code is cached on disk and releases
the GIL; run it from one worker thread at a time (DESIGN.md §6).
"""

from .activations import leaky_relu, relu, sigmoid, tanh
from .conv import conv2d, conv_transpose2d
from .norm import batch_norm, channel_layer_norm, group_norm, instance_norm, layer_norm
from .pad import pad
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from .resample import interpolate, pixel_shuffle, pixel_unshuffle, upfirdn2d, upsample_bilinear2d, upsample_nearest2d

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
    # padding, pooling, normalisation and resampling (issue 12)
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "channel_layer_norm",
    "group_norm",
    "instance_norm",
    "interpolate",
    "layer_norm",
    "max_pool2d",
    "pad",
    "pixel_unshuffle",
    "upfirdn2d",
]
