"""Weight and bias initialisation for running a stack as a network, in PyTorch's layouts.

Transposed-conv weights are (C_in, C_out/groups, kH, kW), conv weights (C_out, C_in/groups, kH, kW).
fan_in is PyTorch's: weight.shape[1] * kH * kW (for a transposed conv that is C_out/groups * kH * kW).

Inits (`init=`):
- 'kaiming_uniform': PyTorch's default for Conv2d/ConvTranspose2d (kaiming_uniform_ with a = sqrt 5),
  i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
- 'ones': every weight 1 (the overlap-count network of DESIGN.md §4).
- 'uniform': U(0, 1), 'normal': N(0, 1) (torch.nn.init.uniform_ / normal_ defaults).
- 'icnr' (Aitken et al. 2017): a Conv2d whose next non-activation layer is PixelShuffle(r) gets a
  kaiming_uniform kernel with out_channels / r^2 filters, each repeated r^2 times, so the r^2 sub-kernels
  that PixelShuffle interleaves are equal (nearest-neighbour upsampling followed by a conv). Every other
  layer falls back to kaiming_uniform.
- 'bilinear': a ConvTranspose2d gets the FCN bilinear-interpolation kernel, per channel ("diagonal"):
  output channel o of a group reads input channel o mod (C_in/groups) of that group. Every other layer
  falls back to kaiming_uniform.

Biases (`bias=`), only for layers built with bias=True (otherwise None): 'zero'; 'constant' (bias_value
everywhere); 'random' (PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); repeated like the weights
for an ICNR layer, so its sub-pixel phases stay equal).
"""

from __future__ import annotations

import math

import numpy as np

from .config import BIAS_KINDS, INITS
from .errors import CheckerlabError
from .layers import Conv2d, ConvTranspose2d, Layer, PixelShuffle
from .stack import Stack, as_stack

Params = tuple[np.ndarray, np.ndarray | None] | None


def has_weights(layer: Layer) -> bool:
    """True for the layers that own a weight (and maybe a bias): Conv2d and ConvTranspose2d."""
    return isinstance(layer, (Conv2d, ConvTranspose2d))


def weight_shape(layer: Layer, c_in: int) -> tuple[int, int, int, int]:
    """PyTorch's weight shape of `layer` for `c_in` input channels."""
    c_out, g = layer.out_channels_for(c_in), layer.groups
    kh, kw = layer.kernel_size
    if isinstance(layer, ConvTranspose2d):
        return (c_in, c_out // g, kh, kw)
    return (c_out, c_in // g, kh, kw)


def fan_in(shape: tuple[int, ...]) -> int:
    """PyTorch's fan_in of a conv weight: shape[1] * kH * kW."""
    return int(np.prod(shape[1:]))


def bilinear_kernel(kernel_size: tuple[int, int]) -> np.ndarray:
    """The FCN bilinear upsampling kernel: per axis 1 - |t - c| / f with f = ceil(k/2),
    c = f - 1 (k odd) or f - 1/2 (k even); the 2D kernel is the outer product."""
    def axis(k: int) -> np.ndarray:
        f = (k + 1) // 2
        c = f - 1 if k % 2 == 1 else f - 0.5
        return 1 - np.abs(np.arange(k) - c) / f
    return np.multiply.outer(axis(kernel_size[0]), axis(kernel_size[1]))


def icnr_factor(stack: Stack, index: int) -> int | None:
    """r if layer `index` is a Conv2d whose next non-activation layer is PixelShuffle(r), else None."""
    if not isinstance(stack[index], Conv2d):
        return None
    for layer in stack.layers[index + 1:]:
        if not layer.is_activation:
            return layer.upscale_factor if isinstance(layer, PixelShuffle) else None
    return None


def init_params(stack, in_channels: int, init: str = "kaiming_uniform", bias: str = "zero",
                bias_value: float = 0.1, seed: int | np.random.Generator = 0,
                dtype=np.float32) -> list[Params]:
    """Per layer: None, or (weight, bias-or-None) in PyTorch layout, drawn from `seed` (a numpy Generator
    seed) layer by layer, weight then bias. See the module docstring for the inits and bias kinds."""
    stack = as_stack(stack)
    if init not in INITS:
        raise CheckerlabError(f"init={init!r} must be one of {', '.join(INITS)}")
    if bias not in BIAS_KINDS:
        raise CheckerlabError(f"bias={bias!r} must be one of {', '.join(BIAS_KINDS)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    params: list[Params] = []
    c = int(in_channels)
    for i, layer in enumerate(stack):
        c_out = layer.out_channels_for(c)
        if not has_weights(layer):
            params.append(None)
            c = c_out
            continue
        shape = weight_shape(layer, c)
        bound = 1 / math.sqrt(fan_in(shape))
        r = icnr_factor(stack, i) if init == "icnr" else None
        repeat = r * r if r and c_out % (r * r) == 0 else 1
        if init == "ones":
            w = np.ones(shape)
        elif init == "uniform":
            w = rng.uniform(0.0, 1.0, shape)
        elif init == "normal":
            w = rng.standard_normal(shape)
        elif init == "bilinear" and isinstance(layer, ConvTranspose2d):
            w = np.zeros(shape)
            c_ig = c // layer.groups
            for ch in range(c):
                for o in range(shape[1]):
                    if o % c_ig == ch % c_ig:
                        w[ch, o] = bilinear_kernel(layer.kernel_size)
        else:  # kaiming_uniform, and the icnr / bilinear fallbacks
            base = rng.uniform(-bound, bound, (shape[0] // repeat, *shape[1:]))
            w = np.repeat(base, repeat, axis=0)
        b = None
        if layer.bias:
            if bias == "zero":
                b = np.zeros(c_out)
            elif bias == "constant":
                b = np.full(c_out, float(bias_value))
            else:
                b = np.repeat(rng.uniform(-bound, bound, c_out // repeat), repeat)
        params.append((np.ascontiguousarray(w, dtype=dtype), None if b is None else b.astype(dtype)))
        c = c_out
    return params
