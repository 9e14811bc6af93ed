"""The k × s atlas: for the layers before one convolution of the stack, the exact tile of every variant of that
convolution with kernel k = 1..8 and stride s = 1..4, so that one look shows which choices checkerboard.
Qt-free: computed in the background process.

A variant keeps the layer's padding, dilation, groups, bias and channels; its output_padding is lowered to
the largest value the new stride allows (PyTorch requires output_padding < max(stride, dilation)), and a
Conv2d's padding='same' becomes its symmetric equivalent when the stride is not 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...analytics import CheckerlabError, Conv2d, ConvTranspose2d, Layer, Stack, overlap_pattern
from .compute import exact_str, to_float

KERNELS = range(1, 9)
STRIDES = range(1, 5)


@dataclass(frozen=True, eq=False)
class AtlasCell:
    """One variant: its kernel and stride, the exact tile of the stack up to it (float, None when there is no
    periodic interior or the variant is invalid), its period and contrast, or why it has none."""

    kernel: int
    stride: int
    tile: np.ndarray | None
    period: tuple[int, int] | None
    contrast: str
    problem: str = ""


def variant(layer: Layer, kernel: int, stride: int) -> Layer:
    """`layer` (a ConvTranspose2d or Conv2d) with kernel_size and stride replaced."""
    changes = {"kernel_size": (kernel, kernel), "stride": (stride, stride)}
    if isinstance(layer, ConvTranspose2d):
        changes["output_padding"] = tuple(min(op, max(stride, d) - 1)
                                          for op, d in zip(layer.output_padding, layer.dilation, strict=True))
    if isinstance(layer, Conv2d) and layer.padding == "same" and stride != 1:  # 'same' needs stride 1 in PyTorch
        changes["padding"] = tuple(d * (kernel - 1) // 2 for d in layer.dilation)
    return replace(layer, **changes)


def atlas(stack: Stack, index: int) -> list[AtlasCell]:
    """The cells, row by row (k = 1..8) and column by column (s = 1..4), for layer `index` of `stack` and the
    layers before it. O(32 × the cost of one overlap_pattern)."""
    layer = stack[index]
    if not isinstance(layer, (ConvTranspose2d, Conv2d)):
        raise CheckerlabError(f"layer {index} ({layer.type}): the atlas varies a ConvTranspose2d or Conv2d")
    prefix = list(stack[:index])
    cells = []
    for k in KERNELS:
        for s in STRIDES:
            try:
                pattern = overlap_pattern(Stack(prefix + [variant(layer, k, s)]))
            except CheckerlabError as exc:
                cells.append(AtlasCell(k, s, None, None, "", str(exc)))
                continue
            contrast = "∞" if pattern.has_holes else exact_str(pattern.contrast)
            cells.append(AtlasCell(k, s, to_float(pattern.tile), pattern.period, contrast))
    return cells
