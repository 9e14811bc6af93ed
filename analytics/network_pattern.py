"""`overlap_pattern` of a Network: the exact interior pattern per output channel group, every path's own
pattern, and a verdict that names the worst path and the layer on it that breaks evenness.

The engine walks the nodes in topological order with the values and rules of `analytics.graph_overlap`:
layers act per axis (`axis_maps`), tensor ops apply their own `pattern` rule (`analytics.ops`). A group's
tile is the exact superposition of its paths (an add sums the branches, a channel-mixing layer sums the
channels), so it is in general not separable; each path's pattern is. The interior of a group is where no
border reaches for any weights (its edge is that of the generic interior, as the simulation's metrics use).

Cost: O(nodes * (tile + paths * period) * taps) for the pattern; `network_map` is O(nodes * H * W * taps).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import reduce
from math import floor, gcd, log10
from typing import Any

import numpy as np

from .errors import CheckerlabError
from .graph_overlap import (
    MAX_TILE,
    NCHW,
    Context,
    Flat,
    Group,
    Path,
    Spatial,
    Unknown,
    input_value,
    is_global,
    map_groups,
    merge_equal,
    superpose,
)
from .layers import Conv2d, ConvTranspose2d, PixelShuffle
from .layers.kind import Kind
from .layers.resample import PixelUnshuffle
from .network import Network, axis_maps, diagonal, fixed_taps, is_layer
from .ops import Input
from .rational import RationalArray
from .spectrum import plane_artifacts, relative_amplitudes


# ------------------------------------------------------------------------------------------ layer rule
def _nchw(v: Spatial, shape) -> Spatial | None:
    """The value with NCHW labels if its layout is (N, C, H, W) (or a 1 x 1 point reshaped to it)."""
    if len(shape) != 4:
        return None
    if v.dims == NCHW or (v.dims[1:] == ("C", "H", "W") and shape[0] == 1):
        return v if v.dims == NCHW else replace(v, dims=NCHW)
    if v.size == (1, 1) and shape[1] == v.channels and shape[2] == shape[3] == 1:
        return replace(v, dims=NCHW)
    return None


def _blocks(v: Spatial, c_in: int, c_out: int, blocks: int, periodic: bool) -> list[Group]:
    """A grouped all-ones channel mix: output block j sums input block j (weighted by channel counts)."""
    out = []
    bi, bo = c_in // blocks, c_out // blocks
    for j in range(blocks):
        lo, hi = j * bi, (j + 1) * bi
        parts = [(g, min(g.stop, hi) - max(g.start, lo)) for g in v.groups if g.start < hi and g.stop > lo]
        g = superpose([p for p, _ in parts], j * bo, (j + 1) * bo, periodic, [n for _, n in parts]) if parts \
            else None
        if g is not None:
            out.append(g)
    return out


def layer_rule(node, v, ctx: Context):
    """A layer on a value: pointwise kinds keep it; others act per axis on every group after their channel
    rule (a convolution sums its input channels, per block when grouped; a fixed depthwise filter keeps the
    groups apart; PixelShuffle / PixelUnshuffle regroup the channels)."""
    layer = node.op
    if not isinstance(v, Spatial):
        return v
    if (isinstance(layer, Kind) and layer.pointwise) or layer.is_activation:
        return v
    shape = ctx.in_shapes[0]
    v4 = _nchw(v, shape)
    if v4 is None:
        return Unknown(f"{node.name}: {layer.type} on a tensor of layout {v.dims}, not (N, C, H, W)")
    taps = fixed_taps(node)
    maps_h = axis_maps(layer, 0, shape[2], taps[0] if taps else None)
    maps_w = axis_maps(layer, 1, shape[3], taps[1] if taps else None)
    if is_global(maps_h) or is_global(maps_w):
        return Flat(f"global pooling at {node.name}")
    c_in, c_out = shape[1], ctx.out_shape[1]
    groups = list(v4.groups)
    if isinstance(layer, (Conv2d, ConvTranspose2d)):
        if diagonal(node):
            mult = c_out // c_in
            groups = [g.shifted(0, mult) for g in groups]
        else:
            groups = _blocks(v4, c_in, c_out, layer.groups, ctx.periodic)
    elif isinstance(layer, PixelShuffle):
        r2 = layer.upscale_factor ** 2
        if all(g.start % r2 == 0 and g.stop % r2 == 0 for g in groups):
            groups = [replace(g, start=g.start // r2, stop=g.stop // r2) for g in groups]
        else:  # a group boundary inside an r^2 block: that output channel's phases come from several groups
            groups = _blocks(v4, c_in, c_out, c_out, ctx.periodic)
    elif isinstance(layer, PixelUnshuffle):
        groups = [g.shifted(0, layer.downscale_factor ** 2) for g in groups]
    out = map_groups(replace(v4, channels=c_out, groups=tuple(groups)), node.name, maps_h, maps_w, ctx.periodic)
    return out.with_groups(merge_equal(out.groups))


def propagate(net: Network, periodic: bool = True, keep: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The value of the output (every node's with keep=True; tile mode or finite-map mode) and the notes of
    the rules that applied."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    left = {name: len(users) for name, users in net.consumers().items()}
    for node in net.nodes:
        in_shapes = [net[i].shape for i in node.inputs]
        ctx = Context(node, in_shapes, node.shape, periodic, notes)
        if isinstance(node.op, Input):
            shape = node.shape
            if len(shape) == 4:
                values[node.name] = input_value(shape[1], (shape[2], shape[3]), node.name, periodic)
            else:
                v = input_value(int(np.prod(shape[1:])), (1, 1), node.name, periodic)
                values[node.name] = Spatial(tuple(None if n == 1 else "C" for n in shape), (1, 1), v.channels,
                                            v.groups)
            continue
        ins = [values[i] for i in node.inputs]
        value = layer_rule(node, ins[0], ctx) if is_layer(node.op) else node.op.pattern(ins, ctx)
        if any(isinstance(v, Spatial) for v in ins) and isinstance(value, Flat):
            notes.append(f"{value.why}: mixes every position, so this branch is flat; a residual around it "
                         "carries the pattern")
        if isinstance(value, Spatial):
            value = value.with_groups(_extended(g, node.name) for g in value.groups)
            for g in value.groups:
                if periodic and g.value[0].size > MAX_TILE:
                    raise CheckerlabError(f"node {node.name!r}: the tile {g.value[0].shape} exceeds the budget of "
                                          f"{MAX_TILE:,} values")
        values[node.name] = value
        for i in node.inputs:
            left[i] -= 1
            if left[i] == 0 and i != net.output and not keep:
                del values[i]
    return values, notes


def _extended(g: Group, name: str) -> Group:
    """Every path of the group ends at node `name` (ops that keep the geometry add themselves here)."""
    if g.paths is None:
        return g
    paths = {k: p if p.nodes[-1] == name else replace(p, nodes=p.nodes + (name,)) for k, p in g.paths.items()}
    return replace(g, paths=paths)


# ---------------------------------------------------------------------------------------------- results
def number_text(value, digits: int = 40) -> str:
    """An int or Fraction as exact decimal text when numerator and denominator have at most `digits` digits,
    else '~m.mme+N' (or e-N) from log10 (path counts multiply at every product and reach thousands of digits, which
    str() refuses beyond 4,300). O(1) for the approximation."""
    f = Fraction(value)
    limit = 10 ** digits
    if abs(f.numerator) < limit and f.denominator < limit:
        return str(f)
    exp10 = log10(abs(f.numerator)) - log10(f.denominator)
    e = floor(exp10)
    return f"~{'-' if f < 0 else ''}{10 ** (exp10 - e):.3g}e{e:+d}"


def _exact2d(num: np.ndarray, den: int) -> np.ndarray:
    """num/den normalised to gcd 1 (ints) - the pattern up to scale - as int64 or Python ints."""
    g = reduce(gcd, (int(v) for v in num.ravel()), 0) or 1
    out = np.array([int(v) // g for v in num.ravel()], dtype=object).reshape(num.shape)
    if all(abs(v) < 1 << 62 for v in out.ravel()):
        out = out.astype(np.int64)
    return out


def _min_period2d(t: np.ndarray) -> np.ndarray:
    ph, pw = t.shape
    qh = next(q for q in range(1, ph + 1) if ph % q == 0 and np.array_equal(t, np.tile(t[:q], (ph // q, 1))))
    t = t[:qh]
    qw = next(q for q in range(1, pw + 1) if pw % q == 0 and np.array_equal(t, np.tile(t[:, :q], (1, pw // q))))
    return t[:, :qw]


def _edge(dirty: np.ndarray) -> tuple[int, int]:
    """(before, after): dirty samples in the first and second half, counted to the farthest one."""
    n = len(dirty)
    bad = np.flatnonzero(dirty)
    first, second = bad[bad < n // 2], bad[bad >= n // 2]
    return (int(first.max()) + 1 if first.size else 0, n - int(second.min()) if second.size else 0)


@dataclass(frozen=True)
class GroupPattern:
    """The interior pattern of output channels [start, stop): tile[i % ph, j % pw] (normalised to gcd 1)
    is the exact count in the interior; `edge` ((top, bottom), (left, right)) the border widths; `paths`
    every distinct path pattern, worst first (None when there were too many to track)."""

    channels: tuple[int, int]
    tile: np.ndarray
    edge: tuple[tuple[int, int], tuple[int, int]]
    size: tuple[int, int]
    paths: tuple[Path, ...] | None

    @property
    def period(self) -> tuple[int, int]:
        return tuple(self.tile.shape)

    @property
    def has_interior(self) -> bool:
        """Some output pixels are out of reach of every border."""
        (t, b), (le, r) = self.edge
        return t + b < self.size[0] and le + r < self.size[1]

    @property
    def has_holes(self) -> bool:
        return bool(self.tile.min() <= 0)

    @property
    def is_even(self) -> bool:
        """One count everywhere in a nonempty interior, and not zero."""
        return self.has_interior and self.period == (1, 1) and not self.has_holes

    @property
    def contrast(self) -> Fraction | float:
        if self.has_holes:
            return float("inf")
        return Fraction(int(self.tile.max()), int(self.tile.min()))

    @property
    def spectrum(self) -> np.ndarray:
        return relative_amplitudes(self.tile)

    @property
    def artifact_frequencies(self):
        return plane_artifacts(self.spectrum)


def _rank(path: Path):
    c = path.contrast
    return (float("inf") if c == float("inf") else float(c), len(path.rows) * len(path.cols))


@dataclass(frozen=True)
class NetworkPattern:
    """The exact pattern of a network's output: one `GroupPattern` per output channel group, the kind of
    the output value ('spatial', 'flat' or 'unknown' with `why`), and the notes of the rules that applied."""

    network: Network
    groups: tuple[GroupPattern, ...]
    kind: str = "spatial"
    why: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def worst(self) -> GroupPattern | None:
        """The group with the largest contrast (holes first)."""
        if not self.groups:
            return None
        return max(self.groups, key=lambda g: (float(g.contrast), g.period[0] * g.period[1]))

    @property
    def worst_path(self) -> Path | None:
        paths = [p for g in self.groups for p in (g.paths or ())]
        return max(paths, key=_rank) if paths else None

    @property
    def period(self) -> tuple[int, int]:
        return self.worst.period if self.worst else (1, 1)

    @property
    def tile(self) -> np.ndarray:
        return self.worst.tile if self.worst else np.ones((1, 1), np.int64)

    @property
    def is_even(self) -> bool:
        return self.kind == "spatial" and bool(self.groups) and all(g.is_even for g in self.groups)

    @property
    def has_holes(self) -> bool:
        return any(g.has_holes for g in self.groups)

    @property
    def contrast(self):
        return self.worst.contrast if self.worst else Fraction(1)

    def verdict(self) -> str:
        """One paragraph: even or not, the worst path, the layer on it that breaks evenness, the rules."""
        net = self.network
        if self.kind != "spatial":
            return f"no spatial pattern at the output: {self.why}"
        if not self.groups:
            return "the output does not depend on the input's position (every path is flat)"
        g = self.worst
        lines = []
        if not g.has_interior:
            lines.append(f"no interior: every output pixel of channels {g.channels[0]}..{g.channels[1] - 1} "
                         "is within reach of the border")
        elif self.is_even:
            lines.append("even: every interior pixel receives the same count")
        else:
            c = "inf (holes)" if g.has_holes else number_text(g.contrast)
            lines.append(f"uneven: period {g.period[0]}x{g.period[1]}, contrast {c} (channels "
                         f"{g.channels[0]}..{g.channels[1] - 1})")
        path = self.worst_path
        if path is not None:
            pc = "inf" if path.contrast == float("inf") else number_text(path.contrast)
            total = number_text(sum(p.count for gg in self.groups for p in (gg.paths or ())))
            lines.append(f"worst of {total} path(s): contrast {pc}, period {path.period[0]}x{path.period[1]}, "
                         f"{len(path.nodes) - 1} nodes from {path.nodes[0]} to {path.nodes[-1]}")
            if path.breaker is not None:
                node = net[path.breaker]
                where = f" at {node.module} ({node.module_type})" if node.module else ""
                lines.append(f"evenness breaks at node {node.name}: {node.op.spec()}{where}")
        elif any(gg.paths is None for gg in self.groups):
            lines.append("too many distinct paths to list; the group patterns above are exact")
        lines += sorted(set(self.notes))
        return "\n".join(lines)


def network_pattern(net: Network) -> NetworkPattern:
    """The exact interior pattern of every output channel group (see the module docstring)."""
    values, notes = propagate(net, periodic=True)
    out = values[net.output]
    if isinstance(out, Flat):
        return NetworkPattern(net, (), "flat", out.why, tuple(notes))
    if isinstance(out, Unknown):
        return NetworkPattern(net, (), "unknown", out.why, tuple(notes))
    groups = []
    for g in out.groups:
        num, den = g.value
        tile = _min_period2d(_exact2d(num, den))
        edge = (_edge(g.dirty[0]), _edge(g.dirty[1]))
        paths = None if g.paths is None else tuple(sorted(g.paths.values(), key=_rank, reverse=True))
        groups.append(GroupPattern((g.start, g.stop), tile, edge, out.size, paths))
    return NetworkPattern(net, tuple(groups), "spatial", "", tuple(notes))


def node_interiors(net: Network) -> dict[str, tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]]:
    """node -> (generic period, ((top, bottom), (left, right)) border) of every position-dependent NCHW output:
    where and with which period a simulated activation is periodic for any weights."""
    values, _ = propagate(net, periodic=True, keep=True)
    out = {}
    for name, v in values.items():
        if isinstance(v, Spatial) and v.groups and len(net[name].shape) == 4:
            dirty = [np.logical_or.reduce([g.dirty[a] for g in v.groups]) for a in range(2)]
            out[name] = (v.period, (_edge(dirty[0]), _edge(dirty[1])))
    return out


def network_map(net: Network) -> list[tuple[tuple[int, int], np.ndarray]]:
    """The exact finite count map of every output channel group at the network's input size:
    [((start, stop), map (H, W) as num/den exact)], in the count model of `analytics.graph_overlap`."""
    values, _ = propagate(net, periodic=False)
    out = values[net.output]
    if not isinstance(out, Spatial):
        raise CheckerlabError(f"the output has no spatial pattern: {out.why}")
    return [((g.start, g.stop), _exact_map(*g.value)) for g in out.groups]


def _exact_map(num: np.ndarray, den: int) -> np.ndarray | RationalArray:
    """num/den as an integer array when den divides every numerator, else a `RationalArray` (integer
    numerators over one denominator), as `overlap_map` returns them."""
    g = reduce(gcd, (int(v) for v in np.unique(num)), den) if den > 1 else 1
    num, den = (num // g, den // g) if g > 1 else (num, den)
    return num if den == 1 else RationalArray(num, den)
