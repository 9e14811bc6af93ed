"""`Stack`: an ordered list of layers with PyTorch's shape arithmetic and a memory budget."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from .budget import MAX_ELEMENTS, MAX_LAYERS, MAX_PIXELS, check
from .errors import CheckerlabError, LayerError, excerpt
from .layers import Layer

__all__ = ["MAX_ELEMENTS", "MAX_PIXELS", "Stack", "as_stack"]


def _size_pair(input_size: Any) -> tuple[int, int]:
    """An int or an (H, W) pair of whole numbers in 1..MAX_PIXELS, as ints."""
    pair = (input_size, input_size) if isinstance(input_size, numbers.Number) else input_size
    try:
        h, w = pair
        ok = all(not isinstance(v, bool) and int(v) == v and 1 <= v <= MAX_PIXELS for v in (h, w))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise CheckerlabError(f"input_size={excerpt(input_size)} must be a positive int or an (H, W) pair of "
                              f"ints in 1..{MAX_PIXELS}")
    return int(h), int(w)


class Stack(Sequence):
    """An immutable sequence of layers, applied first to last. Accepts layers or a spec string.

    `str(stack)` is a spec that `Stack(str(stack)) == stack` parses back.
    """

    def __init__(self, layers: Iterable[Layer] | str = ()):
        if isinstance(layers, str):
            from .spec import parse_layers
            layers = parse_layers(layers)
        layers = tuple(layers)
        check(len(layers), MAX_LAYERS, "the number of layers", "use a shorter stack")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise CheckerlabError(f"layer {i}: expected a layer such as ConvTranspose2d(3, stride=2), "
                                      f"got {type(layer).__name__}")
        self.layers: tuple[Layer, ...] = layers

    def __getitem__(self, index):
        return Stack(self.layers[index]) if isinstance(index, slice) else self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __eq__(self, other) -> bool:
        return isinstance(other, Stack) and self.layers == other.layers

    def __hash__(self) -> int:
        return hash(self.layers)

    def __str__(self) -> str:
        from .spec import format_layers
        return format_layers(self.layers)

    def __repr__(self) -> str:
        return f"Stack({str(self)!r})"

    @property
    def spatial_layers(self) -> list[tuple[int, Layer]]:
        """(index, layer) of every layer that changes geometry (activations left out)."""
        return [(i, layer) for i, layer in enumerate(self.layers) if not layer.is_activation]

    def lengths(self, n: int, axis: int) -> list[int]:
        """Length along `axis` before the first layer and after each layer; refuses an empty output."""
        out = [n]
        for i, layer in enumerate(self.layers):
            try:
                m = layer.output_length(axis, out[-1])
            except LayerError as exc:
                raise exc.at(i) from None
            if m < 1:
                raise LayerError(layer.type, None, f"output would be empty: length {out[-1]} -> {m} along "
                                 f"{'HW'[axis]}; use a larger input_size", i)
            out.append(m)
        return out

    def sizes(self, input_size: Any) -> list[tuple[int, int]]:
        """(H, W) of the input and after each layer, with PyTorch's rules, within `MAX_PIXELS`."""
        h, w = _size_pair(input_size)
        if h * w > MAX_PIXELS:
            raise CheckerlabError(f"input_size {h}x{w} ({h * w:,} pixels) exceeds the memory budget of "
                                  f"{MAX_PIXELS:,} pixels; use a smaller input_size")
        sizes = list(zip(self.lengths(h, 0), self.lengths(w, 1), strict=True))
        for i, (sh, sw) in enumerate(sizes[1:]):
            if sh * sw > MAX_PIXELS:
                raise LayerError(self.layers[i].type, None, f"output {sh}x{sw} ({sh * sw:,} pixels) exceeds the "
                                 f"memory budget of {MAX_PIXELS:,} pixels; use a smaller input_size (or smaller "
                                 "kernels and strides)", i)
        return sizes

    def output_size(self, input_size: Any) -> tuple[int, int]:
        """(H_out, W_out) of the whole stack for an (H, W) input."""
        return self.sizes(input_size)[-1]

    def macs(self, input_shape: tuple[int, int, int]) -> int:
        """Multiply-adds of one forward pass on a (C, H, W) input (validates like `shapes`). O(layers)."""
        shapes = self.shapes(input_shape)
        return sum(_macs(layer, a[0], b[0], a[1:], b[1:])
                   for layer, a, b in zip(self.layers, shapes, shapes[1:], strict=False))

    def shapes(self, input_shape: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        """(C, H, W) of the input and after each layer; channels follow `out_channels`, PixelShuffle
        divides by r^2, groups must divide both channel counts. Refuses more than `MAX_ELEMENTS`."""
        c, h, w = input_shape
        shapes = [(int(c), h, w)]
        if int(c) * h * w > MAX_ELEMENTS:
            raise CheckerlabError(f"input {c}x{h}x{w} ({int(c) * h * w:,} values) exceeds the memory budget of "
                                  f"{MAX_ELEMENTS:,}; use a smaller input or fewer channels")
        for i, ((sh, sw), layer) in enumerate(zip(self.sizes((h, w))[1:], self.layers, strict=True)):
            c_in = shapes[-1][0]
            try:
                c_out = layer.out_channels_for(c_in)
            except LayerError as exc:
                raise exc.at(i) from None
            groups = getattr(layer, "groups", 1)
            if c_in % groups or c_out % groups:
                raise LayerError(layer.type, "groups", f"groups={groups} must divide in_channels ({c_in}) and "
                                 f"out_channels ({c_out})", i)
            if c_out * sh * sw > MAX_ELEMENTS:
                raise LayerError(layer.type, None, f"activation {c_out}x{sh}x{sw} ({c_out * sh * sw:,} values) "
                                 f"exceeds the memory budget of {MAX_ELEMENTS:,}; use a smaller input or fewer "
                                 "channels", i)
            shapes.append((c_out, sh, sw))
        return shapes


def _macs(layer: Layer, c_in: int, c_out: int, size_in: tuple[int, int], size_out: tuple[int, int]) -> int:
    """Multiply-adds of one layer: per output (conv) or input (transposed) pixel, k_h k_w C / groups each."""
    kernel = getattr(layer, "kernel_size", None)
    if kernel is None or isinstance(kernel[0], str):
        return c_out * size_out[0] * size_out[1]  # resampling and activations: about one op per value
    groups = getattr(layer, "groups", c_in)  # pools: one window per channel
    if layer.type == "ConvTranspose2d":
        return c_in * size_in[0] * size_in[1] * kernel[0] * kernel[1] * (c_out // groups)
    return c_out * size_out[0] * size_out[1] * kernel[0] * kernel[1] * (c_in // groups)


def as_stack(stack: Stack | Iterable[Layer] | Layer | str) -> Stack:
    """Accept a Stack, a list of layers, a single layer or a spec string."""
    if isinstance(stack, Stack):
        return stack
    if isinstance(stack, Layer):
        return Stack([stack])
    return Stack(stack)
