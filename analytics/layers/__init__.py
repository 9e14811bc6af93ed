"""The layer model: PyTorch's layers with PyTorch's keywords, validation and shape rules, one module per family.

- `base`: `Layer`, the per-axis `AxisOp`, the argument checks every family shares;
- `kind`: what a network needs of a layer beyond that (exact per-axis tap tables for any input length, forward
  on the kernels, parameter shapes);
- one module per family, each listing its classes in `KINDS`: `conv` (ConvTranspose2d, Conv2d), `resample`
  (Upsample, PixelShuffle, PixelUnshuffle), `activation` (ReLU ... Mish, Dropout, Identity), `norm`
  (BatchNorm2d, InstanceNorm2d, GroupNorm, LayerNorm), `pad`, `pool`, `fir` (Upfirdn2d).

This module is the registry: `LAYER_TYPES`, `make_layer`, `layer_from_dict`. A new kind is a class in its
family's module, added to that module's `KINDS` (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from ..errors import LayerError, excerpt
from . import activation, conv, fir, norm, pad, pool, resample
from .activation import (
    ELU,
    GELU,
    Dropout,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    Mish,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Tanh,
)
from .base import AxisOp, Layer, is_symbolic
from .conv import Conv2d, ConvTranspose2d
from .fir import Upfirdn2d
from .kind import Kind
from .norm import BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .pad import CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .resample import PixelShuffle, PixelUnshuffle, Upsample

FAMILIES = (conv, resample, activation, norm, pad, pool, fir)
#: Every layer kind by its torch.nn class name, in menu order.
LAYER_TYPES: dict[str, type[Layer]] = {cls.__name__: cls for family in FAMILIES for cls in family.KINDS}


def allowed_kinds(name: Any = None) -> str:
    """The layer kinds for an error line: a close match first when there is one, then as many names as fit in
    about 90 characters and how many there are in all."""
    import difflib

    names = list(LAYER_TYPES)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) if isinstance(name, str) else []
    shown, size = [], 0
    for n in names:
        if size + len(n) + 2 > 90:
            break
        shown.append(n)
        size += len(n) + 2
    rest = f", ... ({len(names)} kinds: checkerlab.analytics.layers)" if len(shown) < len(names) else ""
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{hint}allowed: {', '.join(shown)}{rest}"


#: A valid value of each required parameter, for error messages.
_EXAMPLE = {"kernel_size": "3", "scale_factor": "2", "upscale_factor": "2", "downscale_factor": "2",
            "num_groups": "32", "normalized_shape": "64", "padding": "1", "output_size": "1",
            "kernel": "[1, 3, 3, 1]"}


def make_layer(type_name: str, **params: Any) -> Layer:
    """Build a layer by its torch.nn class name; unknown names or keywords give a LayerError."""
    cls = LAYER_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        plain = isinstance(type_name, str) and len(type_name) <= 40 and type_name.isprintable()
        shown = type_name if plain else excerpt(type_name)
        raise LayerError(shown, None, f"unknown layer type; {allowed_kinds(type_name)}")
    allowed = [f.name for f in fields(cls)]
    for key in params:
        if key not in allowed:
            raise LayerError(type_name, excerpt(key), f"unexpected keyword {excerpt(key)}; allowed: "
                             f"{', '.join(allowed) or 'none'}")
    for f in fields(cls):
        if f.name not in params and f.default is MISSING and f.default_factory is MISSING:
            raise LayerError(type_name, f.name, f"{f.name} is required (e.g. {type_name}({_EXAMPLE[f.name]}))")
    return cls(**params)


def layer_from_dict(data: dict) -> Layer:
    """Inverse of `Layer.to_dict`."""
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "type"}
    if "type" not in data:
        raise LayerError("?", "type", f"a layer object needs a 'type'; {allowed_kinds()}")
    return make_layer(data["type"], **params)


__all__ = [
    "LAYER_TYPES", "allowed_kinds", "AxisOp", "Kind", "Layer", "is_symbolic", "layer_from_dict", "make_layer",
    "AdaptiveAvgPool2d",
    "AvgPool2d", "BatchNorm2d", "CircularPad2d", "ConstantPad2d", "Conv2d", "ConvTranspose2d", "Dropout", "ELU",
    "GELU", "GroupNorm", "Hardsigmoid", "Hardswish", "Hardtanh", "Identity", "InstanceNorm2d", "LayerNorm",
    "LeakyReLU", "MaxPool2d", "Mish", "PReLU", "PixelShuffle", "PixelUnshuffle", "ReLU", "ReflectionPad2d",
    "ReplicationPad2d", "SiLU", "Sigmoid", "Tanh", "Upfirdn2d", "Upsample", "ZeroPad2d",
]
