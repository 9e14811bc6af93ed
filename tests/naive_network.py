"""A stack run as a network on the slow NumPy kernel references (tests/naive_kernels.py): float64, (C, H, W)."""

import naive_kernels as naive
import numpy as np

from checkerlab.analytics.layers import Conv2d, ConvTranspose2d, LeakyReLU, PixelShuffle, ReLU, Sigmoid, Tanh, Upsample


def activation(layer, x):
    """The reference activation of an activation layer."""
    if isinstance(layer, ReLU):
        return naive.relu(x)
    if isinstance(layer, LeakyReLU):
        return naive.leaky_relu(x, layer.negative_slope)
    if isinstance(layer, Tanh):
        return naive.tanh(x)
    if isinstance(layer, Sigmoid):
        return naive.sigmoid(x)
    raise AssertionError(layer)


def layer_forward(layer, x, params):
    """One layer on a (C, H, W) array; params is None or (weight, bias-or-None) in PyTorch layout."""
    if isinstance(layer, ConvTranspose2d):
        w, b = params
        return naive.conv_transpose2d(x[None], w, b, layer.stride, layer.padding, layer.output_padding,
                                      layer.dilation, layer.groups)[0]
    if isinstance(layer, Conv2d):
        w, b = params
        return naive.conv2d(x[None], w, b, layer.stride, (*layer.pads(0), *layer.pads(1)), layer.dilation,
                            layer.groups)[0]
    if isinstance(layer, Upsample):
        up = naive.upsample_nearest2d if layer.mode == "nearest" else naive.upsample_bilinear2d
        return up(x, layer.scale_factor)
    if isinstance(layer, PixelShuffle):
        return naive.pixel_shuffle(x, layer.upscale_factor)
    return activation(layer, x)


def network_forward(stack, x, params):
    """Every layer's output, first to last."""
    x = np.asarray(x, np.float64)
    out = []
    for layer, p in zip(stack, params, strict=True):
        x = layer_forward(layer, x, p)
        out.append(x)
    return out
