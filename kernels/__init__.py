"""Numba CPU kernels with PyTorch semantics on plain NumPy arrays (NCHW or CHW, float32 or float64).

Knows nothing about layer stacks, SymPy or Qt. Every entry point returns a new array of the input's dtype
and raises ``ValueError`` naming the offending parameter. The compiled code is built on first use per op and
dtype, cached on disk in the user's cache directory (`kernels.jit`), and releases the GIL. A call uses the
calling thread's ``numba.get_num_threads()`` threads (`kernels.threads`, not Numba's threading layer), so
several threads may run kernels at once, each with its own thread count.
"""

from .jit import install_cache_locator

install_cache_locator()  # before any kernel module defines a cached function

from .activations import (  # noqa: E402
    Activation,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    mish,
    prelu,
    relu,
    relu6,
    sigmoid,
    silu,
    tanh,
)
from .attention import scaled_dot_product_attention  # noqa: E402
from .conv import conv2d, conv_transpose2d  # noqa: E402
from .norm import batch_norm, channel_layer_norm, group_norm, instance_norm, layer_norm  # noqa: E402
from .pad import pad  # noqa: E402
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d  # noqa: E402
from .resample import (  # noqa: E402
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upfirdn2d,
    upsample_bilinear2d,
    upsample_nearest2d,
)

__all__ = [
    "Activation",
    "conv2d",
    "conv_transpose2d",
    "elu",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "mish",
    "pixel_shuffle",
    "prelu",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
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
    # attention (issue 12's VAE mid block)
    "scaled_dot_product_attention",
]
