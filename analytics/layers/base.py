"""The layer model: PyTorch's upsampling layers with PyTorch's keywords, validation and shape rules.

Every layer acts on the two spatial axes independently; `axis_op(axis)` reduces it to a 1D operation
(`AxisOp`) on which all the analytics work. Parameters may be SymPy integer symbols (see `symbolic`);
numeric checks then apply only to the numeric ones.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

from ..budget import MAX_PARAM
from ..errors import LayerError, excerpt

Pair = tuple[Any, Any]


def is_symbolic(value: Any) -> bool:
    """True for a SymPy expression that still contains symbols."""
    return bool(getattr(value, "free_symbols", None))


def _integer(layer: str, name: str, value: Any, minimum: int) -> Any:
    """`value` as an int in minimum..MAX_PARAM (SymPy integers become ints; symbols pass unchecked).

    The upper bound is a range, not a work budget: it keeps every size computation far from int64 overflow
    and every echo of the value short; what a value costs is checked where the work happens."""
    if is_symbolic(value):
        if getattr(value, "is_integer", None) is False:
            raise LayerError(layer, name, f"{name}={excerpt(value)} must be an integer symbol")
        return value
    if getattr(value, "is_Integer", False):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LayerError(layer, name, f"{name}={excerpt(value)} must be an integer in {minimum}..{MAX_PARAM}")
    if not minimum <= value <= MAX_PARAM:
        raise LayerError(layer, name, f"{name}={excerpt(int(value))} is out of range: must be an integer in "
                         f"{minimum}..{MAX_PARAM}")
    return int(value)


def _pair(layer: str, name: str, value: Any, minimum: int) -> Pair:
    """PyTorch's `_pair`: an int or an (h, w) pair, each an integer >= minimum."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise LayerError(layer, name, f"{name}={excerpt(tuple(value))} must be an int or an (h, w) pair")
        return (_integer(layer, f"{name}[0]", value[0], minimum),
                _integer(layer, f"{name}[1]", value[1], minimum))
    v = _integer(layer, name, value, minimum)
    return (v, v)


def _scale(layer: str, name: str, value: Any) -> Pair:
    """An integer scale factor per axis; 2.0 is accepted as 2, 1.5 is refused."""
    def one(v, label):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, float):
            raise LayerError(layer, label, f"{label}={v} must be a whole number in 1..{MAX_PARAM} "
                             "(a fractional scale has no fixed phase pattern)")
        return _integer(layer, label, v, 1)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise LayerError(layer, name, f"{name}={excerpt(tuple(value))} must be a number or an (h, w) pair")
        return (one(value[0], f"{name}[0]"), one(value[1], f"{name}[1]"))
    v = one(value, name)
    return (v, v)


def _compact(value: Pair) -> Any:
    """(3, 3) -> 3, (3, 5) -> (3, 5): the shortest PyTorch spelling of a pair."""
    return value[0] if value[0] == value[1] else tuple(value)


class AxisOp(NamedTuple):
    """A layer along one axis. kind: 'transposed' (y[i*s + t*d - pad_before] += x[i]),
    'conv' (y[o] = sum_t x[o*s + t*d - pad_before]), 'repeat' (nearest / pixel shuffle by s),
    'linear' (bilinear by s, align_corners=False) or 'identity'. pad_after is the crop (transposed)
    or the zero padding (conv) at the end of the axis."""

    kind: str
    kernel: Any = 1
    stride: Any = 1
    pad_before: Any = 0
    pad_after: Any = 0
    dilation: Any = 1

    def output_length(self, n: Any) -> Any:
        """PyTorch's output size along this axis for an input of length n (may be <= 0: empty)."""
        k, s, pb, pa, d = self.kernel, self.stride, self.pad_before, self.pad_after, self.dilation
        if self.kind == "transposed":
            return (n - 1) * s + d * (k - 1) + 1 - pb - pa
        if self.kind == "conv":
            span = n + pb + pa - d * (k - 1) - 1
            return span // s + 1 if not isinstance(span, int) or span >= 0 else 0
        if self.kind in ("repeat", "linear"):
            return n * s
        return n


@dataclass(frozen=True, repr=False)
class Layer:
    """Base class. Subclasses are frozen dataclasses named exactly like their torch.nn counterparts."""

    is_activation: ClassVar[bool] = False
    positional: ClassVar[tuple[str, ...]] = ()  # fields printed positionally by `spec()`

    @property
    def type(self) -> str:
        return type(self).__name__

    def axis_op(self, axis: int) -> AxisOp:
        return AxisOp("identity")

    def out_channels_for(self, in_channels: int) -> int:
        return in_channels

    def spec(self) -> str:
        """PyTorch-style text that `analytics.parse_layers` reads back to an equal layer."""
        args = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = _compact(value) if isinstance(value, tuple) and len(value) == 2 else value
            default = f.default
            if f.name in self.positional:
                args.append(repr(shown))
            elif value != default and shown != default:
                args.append(f"{f.name}={shown!r}")
        return f"{self.type}({', '.join(args)})"

    __repr__ = spec

    def to_dict(self) -> dict:
        """JSON-ready: the type and every non-default parameter; `layer_from_dict` inverts it exactly."""
        out = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self.positional or value != f.default:
                value = _compact(value) if isinstance(value, tuple) else value
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


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
    padding may also be 'valid' or 'same' (stride 1; an odd total is split with the extra at the end)."""

    string_params: ClassVar = ("padding",)
    kernel_size: Any
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    out_channels: int | None = field(default=None, kw_only=True)
    groups: int = field(default=1, kw_only=True)
    bias: bool = field(default=True, kw_only=True)

    def __post_init__(self):
        super().__post_init__()
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
        return AxisOp("conv", self.kernel_size[axis], self.stride[axis], pb, pa, self.dilation[axis])


@dataclass(frozen=True, repr=False)
class Upsample(Layer):
    """torch.nn.Upsample with an integer scale_factor: 'nearest' repeats each pixel s times;
    'bilinear' (align_corners=False) samples src = (o + 1/2)/s - 1/2, clamped at the edges."""

    positional: ClassVar = ("scale_factor",)
    scale_factor: Any
    mode: str = "nearest"
    align_corners: bool | None = None

    def __post_init__(self):
        name = self.type
        object.__setattr__(self, "scale_factor", _scale(name, "scale_factor", self.scale_factor))
        if not isinstance(self.mode, str) or self.mode not in ("nearest", "bilinear"):
            raise LayerError(name, "mode", f"mode={excerpt(self.mode)} is not supported: use 'nearest' or "
                             "'bilinear'")
        if self.align_corners is not None and not isinstance(self.align_corners, bool):
            raise LayerError(name, "align_corners", f"align_corners={excerpt(self.align_corners)} must be "
                             "None, True or False")
        if self.mode == "nearest" and self.align_corners is not None:
            raise LayerError(name, "align_corners", "align_corners only applies to mode='bilinear' "
                             "(as in PyTorch); leave it unset for 'nearest'")
        if self.align_corners:
            raise LayerError(name, "align_corners", "align_corners=True is not supported: its weights depend "
                             "on the input size, so there is no fixed pattern; use align_corners=False")

    def axis_op(self, axis: int) -> AxisOp:
        return AxisOp("repeat" if self.mode == "nearest" else "linear", stride=self.scale_factor[axis])


@dataclass(frozen=True, repr=False)
class PixelShuffle(Layer):
    """torch.nn.PixelShuffle(r): (C*r^2, H, W) -> (C, rH, rW); out[c, r*h + i, r*w + j] = in[c*r^2 + r*i + j, h, w]."""

    positional: ClassVar = ("upscale_factor",)
    upscale_factor: int

    def __post_init__(self):
        object.__setattr__(self, "upscale_factor", _integer(self.type, "upscale_factor", self.upscale_factor, 1))

    def axis_op(self, axis: int) -> AxisOp:
        return AxisOp("repeat", stride=self.upscale_factor)

    def out_channels_for(self, in_channels: int) -> int:
        r2 = self.upscale_factor ** 2
        if in_channels % r2:
            raise LayerError(self.type, "upscale_factor", f"needs input channels divisible by "
                             f"upscale_factor^2 = {r2}, got {in_channels} channels")
        return in_channels // r2


@dataclass(frozen=True, repr=False)
class ReLU(Layer):
    """max(x, 0)."""

    is_activation: ClassVar = True


@dataclass(frozen=True, repr=False)
class LeakyReLU(Layer):
    """max(x, 0) + negative_slope * min(x, 0)."""

    is_activation: ClassVar = True
    positional: ClassVar = ()
    negative_slope: float = 0.01

    def __post_init__(self):
        v = self.negative_slope
        try:
            ok = not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(float(v))
        except OverflowError:  # an integer beyond float range
            ok = False
        if not ok:
            raise LayerError(self.type, "negative_slope", f"negative_slope={excerpt(v)} must be a finite real "
                             "number")
        object.__setattr__(self, "negative_slope", float(v))


@dataclass(frozen=True, repr=False)
class Tanh(Layer):
    """tanh(x)."""

    is_activation: ClassVar = True


@dataclass(frozen=True, repr=False)
class Sigmoid(Layer):
    """1 / (1 + exp(-x))."""

    is_activation: ClassVar = True


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (ConvTranspose2d, Conv2d, Upsample, PixelShuffle, ReLU, LeakyReLU, Tanh, Sigmoid)
}


#: A valid value of each required parameter, for error messages.
_EXAMPLE = {"kernel_size": "3", "scale_factor": "2", "upscale_factor": "2"}


def make_layer(type_name: str, **params: Any) -> Layer:
    """Build a layer by its torch.nn class name; unknown names or keywords give a LayerError."""
    cls = LAYER_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        plain = isinstance(type_name, str) and len(type_name) <= 40 and type_name.isprintable()
        shown = type_name if plain else excerpt(type_name)
        raise LayerError(shown, None, f"unknown layer type; allowed: {', '.join(LAYER_TYPES)}")
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
        raise LayerError("?", "type", f"a layer object needs a 'type', one of {', '.join(LAYER_TYPES)}")
    return make_layer(data["type"], **params)
