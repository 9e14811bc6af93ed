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
from ..weights import Params, init_params


def decoder_params(stack: Stack, in_channels: int, rng: np.random.Generator | None, bias: float = 0.0,
                   bias_spread: float = 0.0, dtype=np.float32) -> list[Params]:
    """Per layer None or (weight, bias) in PyTorch layout: weights U(0, 2 m) (see the module docstring), or
    the mean kernel m when rng is None; biases bias + U(-bias_spread, bias_spread). Draw order: the weights
    layer by layer (`init_params` with init='uniform', scaled by 2 m), then the biases layer by layer."""
    unit = init_params(stack, in_channels, "ones" if rng is None else "uniform", "zero", seed=rng or 0,
                       dtype=np.float64)
    params: list[Params] = []
    for layer, p in zip(stack, unit, strict=True):
        if p is None:
            params.append(None)
            continue
        w = p[0]
        kh, kw = layer.kernel_size
        if isinstance(layer, ConvTranspose2d):  # (C_in, C_out/groups, kH, kW): C_in/groups inputs per output
            m = layer.stride[0] * layer.stride[1] / (w.shape[0] // layer.groups * kh * kw)
        else:  # (C_out, C_in/groups, kH, kW)
            m = 1 / (w.shape[1] * kh * kw)
        b = None if p[1] is None else np.full(len(p[1]), float(bias))  # a layer built with bias=False has none
        params.append([w * (m if rng is None else 2 * m), b])
    if bias_spread and rng is not None:
        for p in params:
            if p is not None and p[1] is not None:
                p[1] = p[1] + rng.uniform(-bias_spread, bias_spread, len(p[1]))
    return [None if p is None else (p[0].astype(dtype), None if p[1] is None else p[1].astype(dtype))
            for p in params]
