"""Tensor ops of imported graphs: the glue between layers (arithmetic, reshapes, concatenation, reductions,
matrix products, softmax, attention), each with its NumPy forward, its shape rule and its exact-pattern rule.

Layers (convolutions, resampling, norms, activations) live in `analytics.layers` and run on the Numba
kernels; these ops have a direct NumPy equivalent and run in NumPy. Each op's `pattern` docstring states its
rule in the count model of `analytics.graph_overlap`: pointwise and channel-wise operations keep the
geometry, a constant or position-independent operand is a bias (in sums) or a gain (in products), global
mixing over positions (matrix products or softmax over positions, attention, reductions over H or W)
makes the result flat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

import numpy as np

from ..kernels import attention, gemm
from .errors import CheckerlabError
from .graph_overlap import (
    Context,
    Flat,
    Group,
    Spatial,
    Unknown,
    add_groups,
    joint_period,
    map_groups,
    merge_equal,
    product_paths,
    split_at,
    sum_channelwise,
    superpose,
)

SPATIAL_LABELS = ("H", "W", "HW")


def _op_error(op, message: str) -> CheckerlabError:
    return CheckerlabError(f"{type(op).__name__}: {message}")


def _broadcast(op, shapes) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise _op_error(op, f"shapes {', '.join(map(str, shapes))} do not broadcast") from None


def _dim(op, dim: int, ndim: int) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise _op_error(op, f"dim={dim} is out of range for a {ndim}-D tensor")
    return dim % max(ndim, 1)


class TensorOp:
    """Base: spec text, and a default pattern rule (flat in, flat out; otherwise unknown)."""

    def spec(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({args})"

    __repr__ = spec

    def pattern(self, values, ctx: Context):
        """Flat inputs give a flat output; anything else is not modelled by this op."""
        if all(isinstance(v, Flat) for v in values):
            return Flat(values[0].why if values else "a constant")
        return _unknown(values, f"{type(self).__name__} at {ctx.node.name} is not modelled")


def _unknown(values, why: str):
    for v in values:
        if isinstance(v, Unknown):
            return v
    return Unknown(why)


# ------------------------------------------------------------------------------------------ sources
@dataclass(frozen=True, repr=False)
class Input(TensorOp):
    """The network input; its pattern is all ones on every channel (the engine's `input_value`)."""

    def infer_shape(self, shapes, params):
        raise CheckerlabError("the input node's shape must be given")

    def forward(self, xs, params):  # pragma: no cover - the network feeds the input itself
        raise CheckerlabError("the input node is fed by Network.forward")


@dataclass(frozen=True, repr=False)
class Constant(TensorOp):
    """A constant tensor (params['value']): folded weights, embeddings, scalars. Pattern: flat."""

    def infer_shape(self, shapes, params):
        if "value" not in params:
            raise _op_error(self, "needs params['value']")
        return tuple(np.shape(params["value"]))

    def forward(self, xs, params):
        return params["value"]

    def pattern(self, values, ctx):
        """A constant does not depend on the position: flat."""
        return Flat(f"constant {ctx.node.name}")


# -------------------------------------------------------------------------------------- arithmetic
_UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "abs": np.abs, "reciprocal": np.reciprocal, "square": np.square,
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "sign": np.sign, "log1p": np.log1p,
    "expm1": np.expm1, "exp2": np.exp2, "log2": np.log2, "tan": np.tan, "atan": np.arctan,
    "erf": lambda x: _erf(x).astype(x.dtype, copy=False),
}


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise (math.erf, exact to double precision; NumPy has none)."""
    from math import erf

    return np.frompyfunc(erf, 1, 1)(x.astype(np.float64)).astype(np.float64)


@dataclass(frozen=True, repr=False)
class Unary(TensorOp):
    """An elementwise function (neg, exp, log, sin, cos, sqrt, rsqrt, abs, ...)."""

    fn: str

    def __post_init__(self):
        if self.fn not in _UNARY:
            raise _op_error(self, f"unknown function {self.fn!r}; supported: {', '.join(_UNARY)}")

    def spec(self):
        return f"{self.fn}()"

    def infer_shape(self, shapes, params):
        return tuple(shapes[0])

    def forward(self, xs, params):
        with np.errstate(all="ignore"):
            return _UNARY[self.fn](xs[0])

    def pattern(self, values, ctx):
        """Pointwise: the geometry is unchanged."""
        return values[0]


_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "floor_divide": np.floor_divide, "remainder": np.mod,
}


@dataclass(frozen=True, repr=False)
class Binary(TensorOp):
    """An elementwise operation of two tensors with NumPy/PyTorch broadcasting (add, sub, mul, div, pow,
    maximum, minimum); scalars enter as Constant inputs."""

    fn: str

    def __post_init__(self):
        if self.fn not in _BINARY:
            raise _op_error(self, f"unknown operation {self.fn!r}; supported: {', '.join(_BINARY)}")

    def spec(self):
        return {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}.get(self.fn, self.fn)

    def infer_shape(self, shapes, params):
        if len(shapes) != 2:
            raise _op_error(self, f"takes 2 inputs, got {len(shapes)}")
        return _broadcast(self, shapes)

    def forward(self, xs, params):
        a, b = xs
        dtype = np.result_type(a.dtype if np.ndim(a) else np.float32, b.dtype if np.ndim(b) else np.float32)
        if self.fn in ("mul", "div") and np.ndim(b) == 0 and b == 1 and np.ndim(a) and a.dtype == dtype:
            return a  # x * 1 and x / 1 are x exactly (NaN, inf, -0 too): no pass (diffusers' (x + h) / 1.0)
        with np.errstate(all="ignore"):
            return _BINARY[self.fn](np.asarray(a, dtype), np.asarray(b, dtype))

    def pattern(self, values, ctx):
        """add/sub: the branches superpose (a flat operand is a bias and counts 0, so an attention or
        pooled branch leaves the pattern to the residual); mul: a flat operand is a gain (x 1), two spatial
        operands multiply; div, pow, maximum, minimum: with a flat operand pointwise, else not modelled. An
        operation of a value with a pointwise function of itself (x * sigmoid(x)) is pointwise."""
        if values[0] is values[1] and isinstance(values[0], Spatial):
            return values[0]  # x * f(x) with f pointwise (ONNX's SiLU: x * Sigmoid(x)): pointwise
        a, b = (_broadcast_value(v, s, ctx.out_shape) for v, s in zip(values, ctx.in_shapes, strict=True))
        for v in (a, b):
            if isinstance(v, Unknown):
                return v
        if isinstance(a, Flat) and isinstance(b, Flat):
            return a
        if self.fn in ("add", "sub"):
            if isinstance(a, Flat) or isinstance(b, Flat):
                return b if isinstance(a, Flat) else a
            if a.channels != b.channels or a.size != b.size or a.dims != b.dims:
                return Unknown(f"{ctx.node.name}: adding values of different layouts")
            return a.with_groups(merge_equal(add_groups(a, b, ctx.periodic)), period=joint_period(a, b))
        if self.fn == "mul":
            if isinstance(a, Flat) or isinstance(b, Flat):
                return b if isinstance(a, Flat) else a
            if a.channels != b.channels or a.size != b.size or a.dims != b.dims:
                return Unknown(f"{ctx.node.name}: multiplying values of different layouts")
            return a.with_groups(_multiply(a, b, ctx), period=joint_period(a, b))
        spatial_first = isinstance(b, Flat)
        if self.fn in ("div", "pow", "floor_divide", "remainder") and spatial_first:
            return a
        if self.fn in ("maximum", "minimum") and (isinstance(a, Flat) or isinstance(b, Flat)):
            return b if isinstance(a, Flat) else a
        return Unknown(f"{ctx.node.name}: {self.fn} of two position-dependent values is not modelled")


def _multiply(a: Spatial, b: Spatial, ctx: Context) -> tuple[Group, ...]:
    """Channel-wise product of two spatial values: values multiplied exactly, masks united."""
    from .graph_overlap import tile_to

    cuts = {g.start for g in a.groups + b.groups} | {g.stop for g in a.groups + b.groups}
    pa, pb = split_at(a.groups, cuts), split_at(b.groups, cuts)
    out = []
    for ga in pa:
        for gb in pb:
            if (ga.start, ga.stop) != (gb.start, gb.stop):
                continue
            (an, ad), (bn, bd) = ga.value, gb.value
            if ctx.periodic:
                shape = (np.lcm(an.shape[0], bn.shape[0]), np.lcm(an.shape[1], bn.shape[1]))
                an, bn = tile_to(an, shape), tile_to(bn, shape)
            num = an.astype(object) * bn.astype(object)
            dirty = tuple(x | y for x, y in zip(ga.dirty, gb.dirty, strict=True))
            out.append(Group(ga.start, ga.stop, (num, ad * bd), dirty,
                             product_paths(ga.paths, gb.paths, ctx.node.name)))
    return merge_equal(out)


def _broadcast_value(v, shape, out_shape):
    """A spatial value as it broadcasts to out_shape: new leading dims unlabelled; a channel dim of size 1
    broadcast to C spreads its group over all C channels; a broadcast spatial dim is not modelled."""
    if not isinstance(v, Spatial) or tuple(shape) == tuple(out_shape):
        return v
    lead = len(out_shape) - len(shape)
    dims = (None,) * lead + tuple(v.dims)
    full = (1,) * lead + tuple(shape)
    channels, groups = v.channels, v.groups
    for d, (n, m) in enumerate(zip(full, out_shape, strict=True)):
        if n == m:
            continue
        if dims[d] == "C" and channels == 1:
            channels = m
            groups = tuple(replace(g, start=0, stop=m) for g in groups)
        elif dims[d] in SPATIAL_LABELS:
            return Unknown("a position-dependent value broadcast along a spatial axis")
    return replace(v, dims=dims, channels=channels, groups=groups)


# --------------------------------------------------------------------------------------------- shapes
def _relabel(dims, in_shape, out_shape, value: Spatial):
    """Labels of out_shape's dims after a reshape of in_shape with labels dims, or None if the layout is
    lost. Blocks of equal product are matched; channels may split or merge, rows and columns may flatten
    into 'HW' and come back; unit dims carry no label."""
    h, w = value.size
    if (h, w) == (1, 1):  # a point: only channels can be told apart
        return _relabel_point(in_shape, out_shape, value.channels)
    src = [(n, d) for n, d in zip(in_shape, dims, strict=True) if n != 1]
    dst = [i for i, n in enumerate(out_shape) if n != 1]
    labels: list = [None] * len(out_shape)
    i = j = 0
    while i < len(src) or j < len(dst):
        if i >= len(src) or j >= len(dst):
            return None
        block_in, block_out = [src[i]], [dst[j]]
        pi, pj = src[i][0], out_shape[dst[j]]
        i, j = i + 1, j + 1
        while pi != pj:
            if pi < pj:
                if i >= len(src):
                    return None
                block_in.append(src[i])
                pi *= src[i][0]
                i += 1
            else:
                if j >= len(dst):
                    return None
                block_out.append(dst[j])
                pj *= out_shape[dst[j]]
                j += 1
        names = [d for _, d in block_in]
        sizes = [out_shape[k] for k in block_out]
        if len(names) == 1 and len(sizes) == 1:
            new = names
        elif all(d == "C" for d in names):
            new = ["C"] * len(sizes)
        elif names == ["H", "W"] and len(sizes) == 1:
            new = ["HW"]
        elif names == ["HW"] and sizes == [h, w]:
            new = ["H", "W"]
        else:
            return None
        for k, label in zip(block_out, new, strict=True):
            labels[k] = label
    return tuple(labels)


def _relabel_point(in_shape, out_shape, channels):
    """A 1 x 1 spatial value (e.g. a latent vector): channels are the dims of product C; a 4D result is
    NCHW."""
    if len(out_shape) == 4 and out_shape[1] == channels and out_shape[2] == out_shape[3] == 1:
        return (None, "C", "H", "W")
    non_unit = [i for i, n in enumerate(out_shape) if n != 1]
    if prod(out_shape[i] for i in non_unit) != channels:
        return None
    return tuple("C" if i in non_unit else None for i in range(len(out_shape)))


@dataclass(frozen=True, repr=False)
class Reshape(TensorOp):
    """view / reshape / flatten / squeeze / unsqueeze to a fixed shape (-1 allowed once)."""

    shape: tuple[int, ...]

    def spec(self):
        return f"reshape{self.shape}"

    def infer_shape(self, shapes, params):
        n = prod(shapes[0])
        shape = list(self.shape)
        if shape.count(-1) > 1 or any(v < -1 for v in shape):
            raise _op_error(self, f"shape {self.shape} is invalid")
        if -1 in shape:
            rest = prod(v for v in shape if v != -1)
            if rest == 0 or n % rest:
                raise _op_error(self, f"cannot reshape {tuple(shapes[0])} to {self.shape}")
            shape[shape.index(-1)] = n // rest
        if prod(shape) != n:
            raise _op_error(self, f"cannot reshape {tuple(shapes[0])} ({n} values) to {self.shape}")
        return tuple(shape)

    def forward(self, xs, params):
        return xs[0].reshape(self.shape)

    def pattern(self, values, ctx):
        """Follows the layout: channels may split or merge (their order is kept), H and W may flatten into
        one axis of positions and come back; any other mix of positions loses the layout."""
        v = values[0]
        if not isinstance(v, Spatial):
            return v
        dims = _relabel(v.dims, ctx.in_shapes[0], ctx.out_shape, v)
        if dims is None:
            return Unknown(f"{ctx.node.name}: reshape {tuple(ctx.in_shapes[0])} -> {ctx.out_shape} mixes "
                           "positions with other dims")
        return replace(v, dims=dims)


@dataclass(frozen=True, repr=False)
class Permute(TensorOp):
    """permute / transpose / movedim: out dim i is input dim dims[i]."""

    dims: tuple[int, ...]

    def spec(self):
        return f"permute{self.dims}"

    def infer_shape(self, shapes, params):
        shape = shapes[0]
        if sorted(d % max(len(shape), 1) for d in self.dims) != list(range(len(shape))):
            raise _op_error(self, f"dims {self.dims} is not a permutation of the {len(shape)} dims")
        return tuple(shape[d] for d in self.dims)

    def forward(self, xs, params):
        return np.ascontiguousarray(np.transpose(xs[0], self.dims))

    def pattern(self, values, ctx):
        """Positions and channels keep their labels; swapping two channel dims reorders the channels, which
        only a value with one channel group survives."""
        v = values[0]
        if not isinstance(v, Spatial):
            return v
        order = [d % len(v.dims) for d in self.dims]
        cdims = [d for d in order if v.dims[d] == "C"]
        if cdims != sorted(cdims) and len(v.groups) > 1:
            return Unknown(f"{ctx.node.name}: permute reorders channels of several groups")
        return replace(v, dims=tuple(v.dims[d] for d in order))


@dataclass(frozen=True, repr=False)
class Expand(TensorOp):
    """expand / broadcast_to / expand_as to a fixed shape."""

    shape: tuple[int, ...]

    def infer_shape(self, shapes, params):
        return _broadcast(self, [shapes[0], self.shape])

    def forward(self, xs, params):
        return np.ascontiguousarray(np.broadcast_to(xs[0], self.shape))

    def pattern(self, values, ctx):
        """Broadcasting copies: a channel dim of size 1 spreads its group over all channels."""
        return _broadcast_value(values[0], ctx.in_shapes[0], ctx.out_shape)


@dataclass(frozen=True, repr=False)
class Slice(TensorOp):
    """x[..., start:stop:step, ...] along `dim` (chunk, split, narrow and basic indexing become slices)."""

    dim: int
    start: int
    stop: int
    step: int = 1

    def spec(self):
        return f"slice(dim={self.dim}, {self.start}:{self.stop}:{self.step})"

    def infer_shape(self, shapes, params):
        shape = list(shapes[0])
        d = _dim(self, self.dim, len(shape))
        if self.step < 1:
            raise _op_error(self, f"step={self.step} must be >= 1")
        shape[d] = len(range(*slice(self.start, self.stop, self.step).indices(shape[d])))
        return tuple(shape)

    def forward(self, xs, params):
        x = xs[0]
        index = [slice(None)] * x.ndim
        index[self.dim % x.ndim] = slice(self.start, self.stop, self.step)
        return np.ascontiguousarray(x[tuple(index)])

    def pattern(self, values, ctx):
        """Along channels: the groups that fall in the slice; along H or W: a crop and a stride, i.e. the
        axis map x[start + o * step] (the phase moves by start, the period divides by gcd(P, step))."""
        from .axis import Convolution

        v = values[0]
        if not isinstance(v, Spatial):
            return v
        shape = ctx.in_shapes[0]
        d = self.dim % len(shape)
        start, stop, step = slice(self.start, self.stop, self.step).indices(shape[d])
        label = v.dims[d]
        if label == "C":
            groups = []
            for g in v.groups:
                lo = max(g.start, start)
                hi = min(g.stop, stop)
                first = -(-(lo - start) // step)
                last = -(-(hi - start) // step)
                if last > first:
                    groups.append(replace(g, start=first, stop=last))
            return v.with_groups(groups, channels=ctx.out_shape[d])
        if label in ("H", "W"):
            axis = 0 if label == "H" else 1
            n = shape[d]
            maps = (Convolution.make(1, step, -start, -(n - stop)),)
            return map_groups(v, ctx.node.name, maps if axis == 0 else (), maps if axis == 1 else (), ctx.periodic)
        if label == "HW":
            return Unknown(f"{ctx.node.name}: a slice of flattened positions")
        return v


@dataclass(frozen=True, repr=False)
class Cat(TensorOp):
    """torch.cat along `dim` (torch.stack is unsqueeze + cat)."""

    dim: int

    def spec(self):
        return f"cat(dim={self.dim})"

    def infer_shape(self, shapes, params):
        if not shapes:
            raise _op_error(self, "needs at least one input")
        nd = len(shapes[0])
        d = _dim(self, self.dim, nd)
        for s in shapes:
            if len(s) != nd or any(a != b for i, (a, b) in enumerate(zip(s, shapes[0], strict=True)) if i != d):
                raise _op_error(self, f"shapes {', '.join(map(str, shapes))} differ outside dim {d}")
        return tuple(sum(s[d] for s in shapes) if i == d else n for i, n in enumerate(shapes[0]))

    def forward(self, xs, params):
        return np.concatenate(xs, axis=self.dim)

    def pattern(self, values, ctx):
        """Along the outermost channel dim: the inputs' groups side by side (a U-Net skip keeps its own
        pattern until a convolution sums the channels); flat inputs add channels without a pattern. Along a
        new unit dim (torch.stack) the same, the stack index becoming the outermost channel dim. Along other
        dims only flat inputs are modelled."""
        spatial = [v for v in values if isinstance(v, Spatial)]
        for v in values:
            if isinstance(v, Unknown):
                return v
        if not spatial:
            return Flat(values[0].why)
        d = self.dim % len(ctx.out_shape)
        ref = spatial[0]
        stacking = ref.dims[d] is None and all(s[d] == 1 for s in ctx.in_shapes)
        dims = tuple("C" if i == d and stacking else label for i, label in enumerate(ref.dims))
        cdims = [i for i, label in enumerate(dims) if label == "C"]
        if any(v.dims != ref.dims or v.size != ref.size for v in spatial) or dims[d] != "C" or d != cdims[0]:
            return Unknown(f"{ctx.node.name}: concatenation along a dim that is not the outermost channels")
        inner = prod(ctx.out_shape[i] for i in cdims[1:])
        groups, offset = [], 0
        for v, shape in zip(values, ctx.in_shapes, strict=True):
            if isinstance(v, Spatial):
                groups += [g.shifted(offset) for g in v.groups]
            offset += shape[d] * inner
        return replace(ref, dims=dims, channels=prod(ctx.out_shape[i] for i in cdims), groups=merge_equal(groups),
                       period=joint_period(*spatial))


@dataclass(frozen=True, repr=False)
class PadND(TensorOp):
    """F.pad with a constant on any dims: pads = (last_before, last_after, second_last_before, ...) as
    PyTorch; negative values crop."""

    pads: tuple[int, ...]
    value: float = 0.0

    def spec(self):
        return f"pad{self.pads}"

    def _widths(self, ndim):
        if len(self.pads) % 2 or len(self.pads) // 2 > ndim:
            raise _op_error(self, f"pads {self.pads} do not fit a {ndim}-D tensor")
        widths = [(0, 0)] * ndim
        for k in range(len(self.pads) // 2):
            widths[ndim - 1 - k] = (self.pads[2 * k], self.pads[2 * k + 1])
        return widths

    def infer_shape(self, shapes, params):
        shape = [n + a + b for n, (a, b) in zip(shapes[0], self._widths(len(shapes[0])), strict=True)]
        if min(shape, default=1) < 0:
            raise _op_error(self, f"pads {self.pads} crop more than the input {tuple(shapes[0])}")
        return tuple(shape)

    def forward(self, xs, params):
        x = xs[0]
        widths = self._widths(x.ndim)
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths, strict=True))
        x = x[crop]
        return np.pad(x, [(max(a, 0), max(b, 0)) for a, b in widths], constant_values=self.value)

    def pattern(self, values, ctx):
        """Along H or W: zero padding (a shifted phase, zeros at the border); along channels: zero channels
        without a pattern; along an unlabelled dim: not modelled (StyleGAN2's zero insertion pads unit dims
        between a reshape and its inverse - `analytics.fusion` turns that into Upfirdn2d first)."""
        from .axis import Convolution

        v = values[0]
        if not isinstance(v, Spatial):
            return v
        widths = self._widths(len(v.dims))
        out = v
        for d, (a, b) in enumerate(widths):
            if (a, b) == (0, 0):
                continue
            label = v.dims[d]
            if label == "C":
                out = out.with_groups([g.shifted(a) for g in out.groups], channels=ctx.out_shape[d])
            elif label in ("H", "W"):
                maps = (Convolution.make(1, 1, a, b),)
                out = map_groups(out, ctx.node.name, maps if label == "H" else (), maps if label == "W" else (),
                                 ctx.periodic)
            else:
                return Unknown(f"{ctx.node.name}: padding of an unlabelled dim")
        return out


_REDUCE = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min}


@dataclass(frozen=True, repr=False)
class Reduce(TensorOp):
    """sum / mean / amax / amin over `dims` (None: all), keepdim as PyTorch."""

    fn: str
    dims: tuple[int, ...] | None = None
    keepdim: bool = False

    def spec(self):
        return f"{self.fn}(dims={self.dims}, keepdim={self.keepdim})"

    def infer_shape(self, shapes, params):
        shape = shapes[0]
        dims = range(len(shape)) if self.dims is None else [_dim(self, d, len(shape)) for d in self.dims]
        if self.keepdim:
            return tuple(1 if i in dims else n for i, n in enumerate(shape))
        return tuple(n for i, n in enumerate(shape) if i not in dims)

    def forward(self, xs, params):
        axis = None if self.dims is None else tuple(d % xs[0].ndim for d in self.dims)
        return np.asarray(_REDUCE[self.fn](xs[0], axis=axis, keepdims=self.keepdim))

    def pattern(self, values, ctx):
        """Over positions: global mixing, flat. Over all channels, or over the outer channel dims (e.g. the
        index of a torch.stack): the groups superpose channel by channel, exactly (a mean divides by the
        count). Over other dims: unchanged."""
        v = values[0]
        if not isinstance(v, Spatial):
            return v
        nd = len(v.dims)
        dims = set(range(nd)) if self.dims is None else {d % nd for d in self.dims}
        labels = {v.dims[d] for d in dims}
        if labels & set(SPATIAL_LABELS):
            return Flat(f"{self.fn} over positions at {ctx.node.name}")
        keep = tuple(None if i in dims else v.dims[i] for i in range(nd) if i not in dims or self.keepdim)
        if "C" not in labels:
            return replace(v, dims=keep)
        if self.fn not in ("sum", "mean"):
            return Unknown(f"{ctx.node.name}: {self.fn} over channels is not modelled")
        shape = ctx.in_shapes[0]
        cdims = [i for i in range(nd) if v.dims[i] == "C"]
        reduced = [i for i in cdims if i in dims]
        if reduced != cdims[:len(reduced)]:
            return Unknown(f"{ctx.node.name}: {self.fn} over inner channel dims is not modelled")
        inner = prod(shape[i] for i in cdims[len(reduced):])
        outer = prod(shape[i] for i in reduced)
        parts = []
        for k in range(outer):
            lo, hi = k * inner, (k + 1) * inner
            parts += [replace(g, start=max(g.start, lo) - lo, stop=min(g.stop, hi) - lo)
                      for g in v.groups if g.start < hi and g.stop > lo]
        groups = sum_channelwise(parts, ctx.periodic)
        if self.fn == "mean":
            groups = [replace(g, value=(g.value[0], g.value[1] * outer)) for g in groups]
        return replace(v, dims=keep, channels=inner, groups=merge_equal(groups))


# ------------------------------------------------------------------------------------------- mixing
def _mix_channels(v: Spatial, channels: int, ctx: Context, dims=None) -> Spatial:
    """All groups superposed into one group over the new channel count (an all-ones channel mix)."""
    g = superpose(v.groups, 0, channels, ctx.periodic)
    return replace(v, dims=v.dims if dims is None else dims, channels=channels, groups=(g,) if g else ())


@dataclass(frozen=True, repr=False)
class Linear(TensorOp):
    """F.linear: y = x W^T + b over the last dim (params weight (out, in), bias (out,))."""

    def spec(self):
        return "Linear()"

    def infer_shape(self, shapes, params):
        w = params.get("weight")
        if w is None or np.ndim(w) != 2:
            raise _op_error(self, "needs a 2D params['weight']")
        if shapes[0][-1] != np.shape(w)[1]:
            raise _op_error(self, f"input has {shapes[0][-1]} features, weight expects {np.shape(w)[1]}")
        b = params.get("bias")
        if b is not None and np.shape(b) != (np.shape(w)[0],):
            raise _op_error(self, f"bias has shape {np.shape(b)}, expected ({np.shape(w)[0]},)")
        return (*shapes[0][:-1], np.shape(w)[0])

    def forward(self, xs, params):
        x = xs[0]
        y = gemm.matmul(x, params["weight"].astype(x.dtype, copy=False).T)
        b = params.get("bias")
        return y + b.astype(x.dtype, copy=False) if b is not None else y

    def pattern(self, values, ctx):
        """Over channels (a channels-last sequence, as attention's q/k/v projections): channel mixing, the
        groups superpose; over a spatial dim: not modelled."""
        v = values[0]
        if not isinstance(v, Spatial):
            return v
        if v.dims[-1] != "C":
            return Unknown(f"{ctx.node.name}: Linear over a dim that is not the channels")
        return _mix_channels(v, ctx.out_shape[-1], ctx)


@dataclass(frozen=True, repr=False)
class MatMul(TensorOp):
    """torch.matmul / bmm with NumPy's broadcasting rules."""

    def spec(self):
        return "matmul()"

    def infer_shape(self, shapes, params):
        a, b = shapes
        if len(a) < 2 or len(b) < 2 or a[-1] != b[-2]:
            raise _op_error(self, f"cannot multiply {tuple(a)} by {tuple(b)}")
        return (*_broadcast(self, [a[:-2], b[:-2]]), a[-2], b[-1])

    def forward(self, xs, params):
        a, b = xs
        return gemm.matmul(a, b)

    def pattern(self, values, ctx):
        """Contracting positions, or a product of two position-dependent operands (attention scores):
        global mixing, flat. Contracting channels with a flat matrix: channel mixing."""
        a, b = values
        if isinstance(a, Unknown) or isinstance(b, Unknown):
            return _unknown(values, "")
        if isinstance(a, Flat) and isinstance(b, Flat):
            return a
        if isinstance(a, Spatial) and isinstance(b, Spatial):
            return Flat(f"attention-like product at {ctx.node.name}")
        if isinstance(a, Spatial):
            k = a.dims[-1]
            if k in SPATIAL_LABELS:
                return Flat(f"product over positions at {ctx.node.name}")
            if k == "C":
                return _mix_channels(a, ctx.out_shape[-1], ctx)
            return Unknown(f"{ctx.node.name}: matmul over an unlabelled dim")
        k = b.dims[-2]
        if k in SPATIAL_LABELS:
            return Flat(f"product over positions at {ctx.node.name}")
        return Unknown(f"{ctx.node.name}: a matrix applied to the left of a position-dependent value")


@dataclass(frozen=True, repr=False)
class Softmax(TensorOp):
    """softmax along `dim` (max-subtracted, as PyTorch)."""

    dim: int

    def spec(self):
        return f"softmax(dim={self.dim})"

    def infer_shape(self, shapes, params):
        _dim(self, self.dim, len(shapes[0]))
        return tuple(shapes[0])

    def forward(self, xs, params):
        x = xs[0]
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def pattern(self, values, ctx):
        """Along positions: global mixing, flat. Along channels: a per-position normalisation, geometry kept."""
        v = values[0]
        if not isinstance(v, Spatial):
            return v
        if v.dims[self.dim % len(v.dims)] in SPATIAL_LABELS:
            return Flat(f"softmax over positions at {ctx.node.name}")
        return v


@dataclass(frozen=True, repr=False)
class Attention(TensorOp):
    """F.scaled_dot_product_attention(q, k, v[, mask]): softmax(q k^T * scale + mask) v, scale 1/sqrt(E)
    by default; a boolean mask hides the False entries."""

    scale: float | None = None
    is_causal: bool = False

    def spec(self):
        return "scaled_dot_product_attention()"

    def infer_shape(self, shapes, params):
        q, k, v = shapes[:3]
        if q[-1] != k[-1] or k[-2] != v[-2]:
            raise _op_error(self, f"q {tuple(q)}, k {tuple(k)}, v {tuple(v)} do not fit")
        lead = _broadcast(self, [q[:-2], k[:-2], v[:-2]])
        scores = (*lead, q[-2], k[-2])
        if len(shapes) > 3:
            try:
                fits = np.broadcast_shapes(tuple(shapes[3]), scores) == scores
            except ValueError:
                fits = False
            if not fits:
                raise _op_error(self, f"the mask {tuple(shapes[3])} does not broadcast to the scores {scores}")
        return (*lead, q[-2], v[-1])

    def forward(self, xs, params):
        """The fused flash-attention kernel `kernels.attention.scaled_dot_product_attention` (online softmax
        over key blocks, the scores never stored whole; a fully masked query gives 0, as PyTorch).
        Cost O(heads * L * S * (E + Ev))."""
        mask = xs[3] if len(xs) > 3 else None
        return attention.scaled_dot_product_attention(*xs[:3], mask, 0.0, self.is_causal, self.scale)

    def pattern(self, values, ctx):
        """Attention mixes every position with every other: the output is flat, and the residual path
        around the attention block carries the pattern."""
        return Flat(f"attention at {ctx.node.name}")


@dataclass(frozen=True, repr=False)
class Baddbmm(TensorOp):
    """torch.baddbmm(input, b1, b2, beta, alpha) = beta * input + alpha * (b1 @ b2)."""

    beta: float = 1.0
    alpha: float = 1.0

    def infer_shape(self, shapes, params):
        a, b1, b2 = shapes
        return _broadcast(self, [a, MatMul().infer_shape([b1, b2], {})])

    def forward(self, xs, params):
        a, b1, b2 = xs
        out = gemm.matmul(b1, b2) * b1.dtype.type(self.alpha)
        return out + a * b1.dtype.type(self.beta) if self.beta else out

    def pattern(self, values, ctx):
        """As matmul (attention scores are flat), then a flat bias."""
        prod_value = MatMul().pattern(values[1:], ctx)
        if isinstance(prod_value, Spatial) and isinstance(values[0], Spatial):
            return Unknown(f"{ctx.node.name}: baddbmm of position-dependent values")
        return prod_value if not isinstance(values[0], Unknown) else values[0]


OPS = (Input, Constant, Unary, Binary, Reshape, Permute, Expand, Slice, Cat, PadND, Reduce, Linear, MatMul,
       Softmax, Attention, Baddbmm)

__all__ = [cls.__name__ for cls in OPS] + ["TensorOp"]
