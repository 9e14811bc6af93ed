"""The random networks of the Monte Carlo studies: image decoders whose kernels preserve brightness on average.

PyTorch's default init draws zero-mean kernels: the output of a constant image then has a random sign and a
mean near zero, so "a bright output" means nothing. A decoder that was trained on images maps a brighter
input to a brighter output. The brightness and base studies therefore draw non-negative random kernels whose
expectation maps a constant image to itself: every weight of a layer is U(0, 2 m) with

    m = s_h s_w / (C_in/groups * k_h * k_w)   (transposed conv: the taps of all phases share the gain s_h s_w)
    m = 1 / (C_in/groups * k_h * k_w)         (conv)

so the sum of the taps reaching an output, averaged over the output phases, is 1 in expectation. The mean
kernel itself (every weight m) is the overlap-count network scaled to unit gain: the exact pattern.
"""

from __future__ import annotations

import numpy as np

from ..layers import ConvTranspose2d
from ..stack import Stack
from ..weights import Params, has_weights, weight_shape


def decoder_params(stack: Stack, in_channels: int, rng: np.random.Generator | None, bias: float = 0.0,
                   bias_spread: float = 0.0, dtype=np.float32) -> list[Params]:
    """Per layer None or (weight, bias) in PyTorch layout: weights U(0, 2 m) (see the module docstring), or
    the mean kernel m when rng is None; biases bias + U(-bias_spread, bias_spread). Draw order: per layer the
    weight, then the bias."""
    params: list[Params] = []
    c = in_channels
    for layer in stack:
        c_out = layer.out_channels_for(c)
        if not has_weights(layer):
            params.append(None)
            c = c_out
            continue
        shape = weight_shape(layer, c)
        kh, kw = layer.kernel_size
        gain = layer.stride[0] * layer.stride[1] if isinstance(layer, ConvTranspose2d) else 1
        m = gain / ((c // layer.groups) * kh * kw)
        w = np.full(shape, m) if rng is None else rng.uniform(0.0, 2 * m, shape)
        b = np.full(c_out, float(bias))
        if bias_spread and rng is not None:
            b += rng.uniform(-bias_spread, bias_spread, c_out)
        params.append((w.astype(dtype), b.astype(dtype)))
        c = c_out
    return params
