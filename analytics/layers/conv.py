"""Convolutions: ConvTranspose2d and Conv2d with PyTorch's arguments, validation and shape rules.

Exact rule per axis (`AxisOp`): a transposed convolution puts tap t of input i at output i*s + t*d - p,
a convolution reads x[o*s + t*d - p] (with Conv2d's padding_mode at the border); with all-ones kernels the
interior count is the polyphase sum of DESIGN.md section 4. The simulation runs them on the kernels'
conv_transpose2d / conv2d.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..axis import Convolution
from ..budget import MAX_PARAM
from ..errors import LayerError, excerpt
from .base import AxisOp, Layer, _compact, _integer, _pair, is_symbolic

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _Convolution(Layer):
    """What ConvTranspose2d and Conv2d share: (h, w) pairs with PyTorch's minima, channels, groups, bias."""

    positional: ClassVar = ("kernel_size",)
    minimum: ClassVar = {"kernel_size": 1, "stride": 1, "padding": 0, "output_padding": 0, "dilation": 1}
    #: Parameters that may also be a string, checked by the subclass (Conv2d's padding 'same' / 'valid').
    string_params: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self.minimum and not (isinstance(value, str) and f.name in self.string_params):
                object.__setattr__(self, f.name, _pair(self.type, f.name, value, self.minimum[f.name]))
        if self.out_channels is not None:
            object.__setattr__(self, "out_channels", _integer(self.type, "out_channels", self.out_channels, 1))
        object.__setattr__(self, "groups", _integer(self.type, "groups", self.groups, 1))
        if not isinstance(self.bias, bool):
            raise LayerError(self.type, "bias", f"bias={excerpt(self.bias)} must be True or False")
        if self.out_channels is not None and self.out_channels % self.groups:
            raise LayerError(self.type, "groups", f"out_channels={self.out_channels} must be divisible by "
                             f"groups={self.groups}")

    def out_channels_for(self, in_channels: int) -> int:
        return in_channels if self.out_channels is None else self.out_channels


@dataclass(frozen=True, repr=False)
class ConvTranspose2d(_Convolution):
    """torch.nn.ConvTranspose2d: y[i*s + t*d - p] += x[i] * w[t]; out = (n-1)s - 2p + d(k-1) + op + 1."""

    aliases: ClassVar = ("convtranspose", "convt", "deconv", "deconv2d", "tconv")
    torch_order: ClassVar = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
                             "groups", "bias", "dilation", "padding_mode")

    kernel_size: Any
    stride: Any = 1
    padding: Any = 0
    output_padding: Any = 0
    dilation: Any = 1
    out_channels: int | None = field(default=None, kw_only=True)
    groups: int = field(default=1, kw_only=True)
    bias: bool = field(default=True, kw_only=True)

    def __post_init__(self):
        super().__post_init__()
        for a in range(2):
            op, s, d = self.output_padding[a], self.stride[a], self.dilation[a]
            if any(map(is_symbolic, (op, s, d))):
                continue
            if op >= s and op >= d:
                raise LayerError(self.type, "output_padding",
                                 f"output_padding={_compact(self.output_padding)} must be smaller than "
                                 f"stride ({s}) or dilation ({d}): allowed 0..{max(s, d) - 1}")

    def axis_op(self, axis: int) -> AxisOp:
        p = self.padding[axis]
        return AxisOp("transposed", self.kernel_size[axis], self.stride[axis], p,
                      p - self.output_padding[axis], self.dilation[axis])


@dataclass(frozen=True, repr=False)
class Conv2d(_Convolution):
    """torch.nn.Conv2d: y[o] = sum_t x[o*s + t*d - p] * w[t]; out = floor((n + 2p - d(k-1) - 1)/s) + 1.
    padding may also be 'valid' or 'same' (stride 1; an odd total is split with the extra at the end);
    padding_mode 'reflect', 'replicate' or 'circular' reads mirrored, edge or wrapped samples instead of
    zeros (the border changes, the interior pattern does not)."""

    aliases: ClassVar = ("conv",)
    torch_order: ClassVar = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                             "bias", "padding_mode")

    string_params: ClassVar = ("padding",)
    kernel_size: Any
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    out_channels: int | None = field(default=None, kw_only=True)
    groups: int = field(default=1, kw_only=True)
    bias: bool = field(default=True, kw_only=True)
    padding_mode: str = field(default="zeros", kw_only=True)

    def __post_init__(self):
        super().__post_init__()
        if self.padding_mode not in PADDING_MODES:
            raise LayerError(self.type, "padding_mode", f"padding_mode={excerpt(self.padding_mode)} must be one "
                             f"of {', '.join(repr(m) for m in PADDING_MODES)}")
        if isinstance(self.padding, str):
            if self.padding not in ("same", "valid"):
                raise LayerError(self.type, "padding", f"padding={excerpt(self.padding)} must be an int in "
                                 f"0..{MAX_PARAM}, a pair, 'same' or 'valid'")
            if self.padding == "same" and self.stride != (1, 1):
                raise LayerError(self.type, "padding", "padding='same' needs stride=1 "
                                 f"(got stride={_compact(self.stride)}), as in PyTorch")

    def pads(self, axis: int) -> tuple[Any, Any]:
        """(before, after) zero padding along `axis`, resolving 'same' and 'valid' like PyTorch."""
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            total = self.dilation[axis] * (self.kernel_size[axis] - 1)
            return (total // 2, total - total // 2)
        return (self.padding[axis], self.padding[axis])

    def axis_op(self, axis: int) -> AxisOp:
        pb, pa = self.pads(axis)
        if self.padding_mode != "zeros":  # the same taps, reading reflected / replicated / wrapped samples
            return AxisOp("map", maps=(Convolution.make(self.kernel_size[axis], self.stride[axis], pb, pa,
                                                        self.dilation[axis], boundary=self.padding_mode),))
        return AxisOp("conv", self.kernel_size[axis], self.stride[axis], pb, pa, self.dilation[axis])


KINDS = (ConvTranspose2d, Conv2d)
