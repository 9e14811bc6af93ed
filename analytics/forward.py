"""One layer on the kernels: the single place that maps a layer to its kernel calls, shared by the stack
simulation (`analytics.simulation`) and networks (`Network.forward`).

Convolutions run on conv2d / conv_transpose2d (with an activation fused into their output loop when one
follows), PixelShuffle on pixel_shuffle, activations on the kernels' activation table, and every further kind
(`layers.Kind`) on its own `forward`. Cost: the kernels' (one pass over the output per layer).
"""

from __future__ import annotations

import numpy as np

from .errors import CheckerlabError
from .layers import Conv2d, ConvTranspose2d, Kind, Layer, PixelShuffle

#: A layer's parameters as the simulation holds them: None or (weight, bias-or-None), PyTorch layout.
Params = tuple[np.ndarray, np.ndarray | None] | None

# torch.nn activation class -> (torch.nn.functional name, the layer fields that are its keywords)
ACTIVATIONS = {
    "ReLU": ("relu", ()), "ReLU6": ("relu6", ()), "LeakyReLU": ("leaky_relu", ("negative_slope",)),
    "PReLU": ("prelu", ()), "ELU": ("elu", ("alpha",)), "SiLU": ("silu", ()), "GELU": ("gelu", ("approximate",)),
    "Tanh": ("tanh", ()), "Sigmoid": ("sigmoid", ()), "Hardtanh": ("hardtanh", ("min_val", "max_val")),
    "Hardswish": ("hardswish", ()), "Hardsigmoid": ("hardsigmoid", ()), "Mish": ("mish", ()),
}


def activation_of(layer: Layer, params: Params = None):
    """The `kernels.Activation` an activation layer computes (PReLU's weight from its params), or None."""
    from .. import kernels

    spec = ACTIVATIONS.get(layer.type)
    if spec is None:
        return None
    name, fields = spec
    kw = {f: getattr(layer, f) for f in fields}
    if name == "prelu":
        kw["weight"] = params[0]
    return kernels.Activation(name, **kw)


def apply_layer(layer: Layer, x: np.ndarray, params: Params, activation=None,
                preactivation: bool = True) -> tuple[np.ndarray, ...]:
    """One layer on a (C, H, W) array with the kernels: (output,), or (output, pre-activation output) when a
    convolution is followed by ``activation`` (fused by the kernel: in its output loop, or as a pass of its own
    when not ``activation.fused``) and ``preactivation`` asks for it: without, the kernel writes one array, not
    two (0.29 against 0.67 ms for a 3->16 conv + relu at 128x128). The one place that maps layers to kernels."""
    from .. import kernels

    fused = dict(activation=activation, return_preactivation=preactivation) if activation is not None else {}
    if isinstance(layer, ConvTranspose2d):
        w, b = params
        y = kernels.conv_transpose2d(x, w, b, stride=layer.stride, padding=layer.padding,
                                     output_padding=layer.output_padding, dilation=layer.dilation,
                                     groups=layer.groups, **fused)
    elif isinstance(layer, Conv2d):
        w, b = params
        (pt, pb), (pl, pr) = layer.pads(0), layer.pads(1)
        if layer.padding_mode != "zeros":  # as torch: pad with the mode, then a convolution without padding
            x = kernels.pad(x, (pl, pr, pt, pb), mode=layer.padding_mode)
            pt = pb = pl = pr = 0
        y = kernels.conv2d(x, w, b, stride=layer.stride, padding=(pt, pb, pl, pr), dilation=layer.dilation,
                           groups=layer.groups, **fused)
    elif isinstance(layer, PixelShuffle):
        y = kernels.pixel_shuffle(x, layer.upscale_factor)
    elif (act := activation_of(layer, params)) is not None:
        y = kernels.activations.apply(act, x)
    elif isinstance(layer, Kind):  # every further kind runs its own forward on (N, C, H, W)
        named = {} if params is None else dict(zip(("weight", "bias"), params, strict=False))
        y = layer.forward(x[None], named)[0] if x.ndim == 3 else layer.forward(x, named)
    else:
        raise CheckerlabError(f"{layer.type} cannot be simulated")
    return y if isinstance(y, tuple) else (y,)
