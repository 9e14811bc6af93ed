"""The layer model: PyTorch's upsampling layers with PyTorch's keywords, validation and shape rules.

Every layer acts on the two spatial axes independently; `axis_op(axis)` reduces it to a 1D operation
(`AxisOp`) on which all the analytics work. Parameters may be SymPy integer symbols (see `symbolic`);
numeric checks then apply only to the numeric ones.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
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
    'linear' (bilinear by s, align_corners=False), 'identity', or 'map': the tap tables `maps` of
    `analytics.axis` applied in order (every further layer kind: pads, pools, FIR filters, resampling modes).
    pad_after is the crop (transposed) or the zero padding (conv) at the end of the axis."""

    kind: str
    kernel: Any = 1
    stride: Any = 1
    pad_before: Any = 0
    pad_after: Any = 0
    dilation: Any = 1
    maps: tuple = ()

    @property
    def steps(self) -> tuple[int, int]:
        """(input step p, output step q) of a 'map': a periodic input of period P gives period q P / gcd(P, p)
        per map; returned for the whole chain as the product (p, q) of its maps."""
        p = q = 1
        for m in self.maps:
            p, q = p * m.step_in, q * m.step_out
        return p, q

    def output_length(self, n: Any) -> Any:
        """PyTorch's output size along this axis for an input of length n (may be <= 0: empty)."""
        k, s, pb, pa, d = self.kernel, self.stride, self.pad_before, self.pad_after, self.dilation
        if self.kind == "map":
            if is_symbolic(n):
                raise LayerError("AxisOp", None, "a layer of this kind has no closed form yet (closed forms cover "
                                 "transposed convolutions, convolutions, nearest and bilinear upsampling and pixel "
                                 "shuffle); its exact pattern is in analyze")
            for m in self.maps:
                n = m.output_length(n) if n > 0 else n
            return n
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

    @property
    def has_symbols(self) -> bool:
        """Whether any parameter (or element of a pair) is a SymPy expression with free symbols."""
        values = (getattr(self, f.name) for f in fields(self))
        return any(is_symbolic(x) for v in values for x in (v if isinstance(v, tuple) else (v,)))

    def axis_op(self, axis: int) -> AxisOp:
        return AxisOp("identity")

    def output_length(self, axis: int, n: int) -> int:
        """PyTorch's output length along `axis` for an input of length n (<= 0: empty)."""
        return self.axis_op(axis).output_length(n)

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
                pair = isinstance(value, tuple) and len(value) == 2 and f.name != "kernel"  # not a FIR's taps
                value = _compact(value) if pair else value
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out
