"""The exact overlap pattern of a network (a DAG): what flows along each edge and how each node changes it.

The count model is the stack's, extended to graphs: every learned weight is 1, every bias 0, the input is 1
on every channel; pointwise ops (activations, norms, dropout, gains) are the identity; a fixed filter (a
buffer, e.g. StyleGAN2's blur) enters with its real taps. Along an edge flows one of three values:

- `Spatial`: a tensor whose entries depend on the position. It knows which tensor dims are channels ('C'),
  rows ('H'), columns ('W') or both flattened ('HW'), and splits its channels into `Group`s. A group holds
  the exact value of its channels - one period of the interior pattern (tile mode) or the whole finite map
  (map mode) -, the per-axis masks of the samples a border can influence, and the separable pattern of
  every distinct path from the input (`Path`).
- `Flat`: a tensor that does not depend on the position (a constant, a global pooling, an attention
  output: global mixing is modelled as uniform). Added it is a bias, multiplied a gain: it counts 0 in sums
  and 1 in products, so the path around it - the residual - carries the pattern.
- `Unknown`: the layout was lost (e.g. a reshape mixing rows with channels); the reason is kept and shown.

Rules: an add superposes the branches (their groups are summed channel by channel); a concat keeps them as
separate channel groups; a layer acts on every group per axis (`analytics.axis`); a channel-mixing layer (a
dense convolution, Linear) sums the groups weighted by their channel counts; a product multiplies.

Per path the pattern is separable (the outer product of a row and a column tile): paths with the same
normalised pattern are merged and counted, at most `MAX_PATH_PATTERNS` of them per node. Cost: O(nodes *
(tile size + paths * period) * taps).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import reduce
from math import gcd, lcm
from typing import Any

import numpy as np

from .axis import GlobalAxis, MaxAxis, room
from .errors import CheckerlabError

#: Distinct per-path patterns tracked at one node; beyond it paths are summarised by the groups only.
MAX_PATH_PATTERNS = 512
#: Largest tile (product of the periods) of one group.
MAX_TILE = 1 << 16

Exact = tuple[np.ndarray, int]


# ------------------------------------------------------------------------------------------ exact arrays
def normalise(num: np.ndarray) -> tuple[int, ...]:
    """A 1D pattern up to scale: the numerators divided by their gcd (a hashable key)."""
    ints = [int(v) for v in num]
    g = reduce(gcd, ints, 0) or 1
    return tuple(v // g for v in ints)


def minimal_period(seq: tuple[int, ...]) -> tuple[int, ...]:
    """The shortest prefix q (q | len) that repeats to `seq`."""
    p = len(seq)
    for q in range(1, p + 1):
        if p % q == 0 and seq == seq[:q] * (p // q):
            return seq[:q]
    return seq


def tile_to(num: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A 2D tile repeated to `shape` (each a multiple of its periods)."""
    return np.tile(num, (shape[0] // num.shape[0], shape[1] // num.shape[1]))


def add_exact(a: Exact, b: Exact, wa: int = 1, wb: int = 1, periodic: bool = True) -> Exact:
    """wa * a + wb * b, exactly; periodic tiles are first repeated to the common period."""
    (an, ad), (bn, bd) = a, b
    if periodic:
        shape = (lcm(an.shape[0], bn.shape[0]), lcm(an.shape[1], bn.shape[1]))
        an, bn = tile_to(an, shape), tile_to(bn, shape)
    elif an.shape != bn.shape:
        raise CheckerlabError(f"cannot add maps of shapes {an.shape} and {bn.shape}")
    den = lcm(ad, bd)
    fa, fb = wa * (den // ad), wb * (den // bd)
    return room(an, abs(fa) + 1) * fa + room(bn, abs(fb) + 1) * fb, den


def apply_axis(maps, value: Exact, axis: int, periodic: bool) -> Exact:
    """Axis maps applied along `axis` of a 2D exact array (tile or finite map); a tile is cut to its
    minimal period along that axis, so periods never grow beyond what the pattern needs."""
    num, den = value
    if not maps:
        return value
    if axis == 0:
        num = num.T
    for m in maps:
        num, den = m.tile((num, den)) if periodic else m.profile((num, den))
    if periodic:
        p = num.shape[-1]
        q = next(q for q in range(1, p + 1) if p % q == 0 and np.array_equal(num, np.tile(num[..., :q], p // q)))
        num = num[..., :q]
    return (num.T if axis == 0 else num), den


# ------------------------------------------------------------------------------------------------ paths
@dataclass(frozen=True)
class Path:
    """Every path from the input with one normalised separable pattern: `count` paths, one of them
    `nodes` (input first). `breaker` is the node after which that path's pattern last became uneven."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    count: int
    nodes: tuple[str, ...]
    breaker: str | None = None

    @property
    def key(self) -> tuple:
        return (self.rows, self.cols)

    @property
    def period(self) -> tuple[int, int]:
        return (len(self.rows), len(self.cols))

    @property
    def even(self) -> bool:
        return len(self.rows) == len(self.cols) == 1 and self.rows[0] != 0 and self.cols[0] != 0

    @property
    def contrast(self) -> Fraction | float:
        """max/min of the path's tile, exactly; inf with holes."""
        if min(self.rows) <= 0 or min(self.cols) <= 0:
            return float("inf")
        return Fraction(max(self.rows) * max(self.cols), min(self.rows) * min(self.cols))


Paths = dict  # key -> Path, or None once over budget


def merge_paths(*many: Paths | None) -> Paths | None:
    """Union of path sets: equal patterns add their counts (the first example is kept)."""
    if any(p is None for p in many):
        return None
    out: dict = {}
    for paths in many:
        for key, path in paths.items():
            if key in out:
                out[key] = replace(out[key], count=out[key].count + path.count)
            else:
                out[key] = path
    return out if len(out) <= MAX_PATH_PATTERNS else None


def step_paths(paths: Paths | None, node: str, maps_h, maps_w) -> Paths | None:
    """Every path extended by `node` (its axis maps applied to the path's row and column tiles)."""
    if paths is None:
        return None
    out: dict = {}
    for path in paths.values():
        rows, cols = path.rows, path.cols
        if maps_h or maps_w:
            r, _ = apply_axis_1d(maps_h, rows)
            c, _ = apply_axis_1d(maps_w, cols)
            rows, cols = minimal_period(normalise(r)), minimal_period(normalise(c))
        breaker = None if Path(rows, cols, 1, ()).even else (node if path.even else path.breaker)
        new = Path(rows, cols, path.count, path.nodes + (node,), breaker)
        key = new.key
        out[key] = replace(out[key], count=out[key].count + new.count) if key in out else new
    return out if len(out) <= MAX_PATH_PATTERNS else None


def apply_axis_1d(maps, tile: tuple[int, ...]) -> Exact:
    """Axis maps applied to a 1D periodic tile."""
    num, den = np.array(tile, dtype=object if max(map(abs, tile)) >= 1 << 62 else np.int64), 1
    for m in maps:
        num, den = m.tile((num, den))
    return num, den


def product_paths(a: Paths | None, b: Paths | None, node: str) -> Paths | None:
    """Paths of a product: every pair, patterns multiplied (periods to their lcm)."""
    if a is None or b is None or len(a) * len(b) > MAX_PATH_PATTERNS:
        return None
    out: dict = {}
    for pa in a.values():
        for pb in b.values():
            rows = _times(pa.rows, pb.rows)
            cols = _times(pa.cols, pb.cols)
            new = Path(rows, cols, pa.count * pb.count, pa.nodes + pb.nodes[1:] + (node,),
                       pa.breaker or pb.breaker)
            key = new.key
            out[key] = replace(out[key], count=out[key].count + new.count) if key in out else new
    return out


def _times(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    n = lcm(len(x), len(y))
    return minimal_period(normalise(np.array([x[i % len(x)] * y[i % len(y)] for i in range(n)], dtype=object)))


# ----------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Group:
    """Channels [start, stop) of a spatial value: their exact value, border masks and paths."""

    start: int
    stop: int
    value: Exact
    dirty: tuple[np.ndarray, np.ndarray]
    paths: Paths | None = field(default=None, compare=False)

    @property
    def channels(self) -> int:
        return self.stop - self.start

    def shifted(self, offset: int, scale: int = 1) -> Group:
        return replace(self, start=self.start * scale + offset, stop=self.stop * scale + offset)


@dataclass(frozen=True)
class Spatial:
    """A position-dependent tensor: dims labels ('C', 'H', 'W', 'HW' or None per tensor dim), the spatial
    size (H, W), the channel count, the channel groups (channels covered by no group are flat), and the
    generic period: the period of the interior for arbitrary weights (an axis map with steps (p, q) turns P
    into q P / gcd(P, p); merges take the lcm), which the all-ones tile's period divides."""

    dims: tuple[str | None, ...]
    size: tuple[int, int]
    channels: int
    groups: tuple[Group, ...]
    period: tuple[int, int] = (1, 1)

    def with_groups(self, groups, **changes) -> Spatial:
        return replace(self, groups=tuple(groups), **changes)


@dataclass(frozen=True)
class Flat:
    """A tensor that does not depend on the position (see the module docstring); `why` names its origin."""

    why: str = "a constant"


@dataclass(frozen=True)
class Unknown:
    """The pattern could not be followed through this node; `why` says where and why."""

    why: str


Value = Spatial | Flat | Unknown
NCHW = (None, "C", "H", "W")


@dataclass
class Context:
    """What a rule needs besides its inputs: the node, its input and output shapes, periodic or finite."""

    node: Any
    in_shapes: list[tuple[int, ...]]
    out_shape: tuple[int, ...]
    periodic: bool = True
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- group ops
def superpose(groups, start: int, stop: int, periodic: bool, weights=None) -> Group | None:
    """One group for channels [start, stop): the sum of `groups` weighted by `weights` (default: their
    channel counts, as an all-ones channel mix sums every channel)."""
    groups = list(groups)
    if not groups:
        return None
    weights = weights or [g.channels for g in groups]
    value = None
    for g, w in zip(groups, weights, strict=True):
        if value is None:
            num, den = g.value
            value = (room(num, w + 1) * w, den)
        else:
            value = add_exact(value, g.value, 1, w, periodic)
    dirty = tuple(np.logical_or.reduce([g.dirty[a] for g in groups]) for a in range(2))
    return Group(start, stop, value, dirty, merge_paths(*(g.paths for g in groups)))


def split_at(groups, cuts) -> list[Group]:
    """Groups split so that every cut position is a group boundary."""
    out = []
    for g in groups:
        edges = sorted({g.start, g.stop, *(c for c in cuts if g.start < c < g.stop)})
        out += [replace(g, start=a, stop=b) for a, b in zip(edges, edges[1:], strict=False)]
    return out


def sum_channelwise(groups, periodic: bool) -> tuple[Group, ...]:
    """Groups that may overlap in their channel ranges, summed channel by channel (each counted once)."""
    cuts = {g.start for g in groups} | {g.stop for g in groups}
    parts = split_at(groups, cuts)
    out = []
    for start in sorted({g.start for g in parts}):
        same = [g for g in parts if g.start == start]
        out.append(superpose(same, start, same[0].stop, periodic, weights=[1] * len(same)))
    return tuple(out)


def add_groups(a: Spatial, b: Spatial, periodic: bool) -> tuple[Group, ...]:
    """Channel-wise superposition of two spatial values with the same channels."""
    return sum_channelwise(a.groups + b.groups, periodic)


def merge_equal(groups) -> tuple[Group, ...]:
    """Adjacent groups with equal values and masks merged into one (paths united)."""
    out: list[Group] = []
    for g in sorted(groups, key=lambda g: g.start):
        if out and out[-1].stop == g.start and _same(out[-1], g):
            last = out[-1]
            out[-1] = replace(last, stop=g.stop, paths=merge_paths(last.paths, g.paths))
        else:
            out.append(g)
    return tuple(out)


def _same(a: Group, b: Group) -> bool:
    (an, ad), (bn, bd) = a.value, b.value
    return an.shape == bn.shape and ad == bd and bool(np.all(an == bn)) \
        and all(np.array_equal(x, y) for x, y in zip(a.dirty, b.dirty, strict=True))


def map_groups(value: Spatial, node: str, maps_h, maps_w, periodic: bool) -> Spatial:
    """A per-axis layer applied to every group: value, border masks and paths; the size follows."""
    h, w = value.size
    new_size = (h, w)
    period = list(value.period)
    for a, maps in enumerate((maps_h, maps_w)):
        for m in maps:
            period[a] = m.step_out * period[a] // gcd(period[a], m.step_in)
    groups = []
    for g in value.groups:
        v = apply_axis(maps_h, g.value, 0, periodic)
        v = apply_axis(maps_w, v, 1, periodic)
        dh, dw = g.dirty
        for m in maps_h:
            dh = m.dirty(dh)
        for m in maps_w:
            dw = m.dirty(dw)
        groups.append(replace(g, value=v, dirty=(dh, dw), paths=step_paths(g.paths, node, maps_h, maps_w)))
        new_size = (len(dh), len(dw))
    if not value.groups:
        for maps, a in ((maps_h, 0), (maps_w, 1)):
            n = value.size[a]
            for m in maps:
                n = m.output_length(n)
            new_size = (*new_size[:a], n, *new_size[a + 1:])
    return value.with_groups(groups, size=new_size, period=tuple(period))


def joint_period(*values) -> tuple[int, int]:
    """The generic period of a merge: per axis the lcm of the spatial inputs' periods."""
    periods = [v.period for v in values if isinstance(v, Spatial)]
    return (lcm(*(p[0] for p in periods)), lcm(*(p[1] for p in periods))) if periods else (1, 1)


def is_global(maps) -> bool:
    return any(isinstance(m, GlobalAxis) for m in maps)


def has_max(maps) -> bool:
    return any(isinstance(m, MaxAxis) for m in maps)


def input_value(channels: int, size: tuple[int, int], name: str, periodic: bool) -> Spatial:
    """The network input: all ones on every channel (one group), no border yet, one path."""
    h, w = size
    value = (np.ones((1, 1) if periodic else (h, w), np.int64), 1)
    path = Path((1,), (1,), 1, (name,))
    group = Group(0, channels, value, (np.zeros(h, bool), np.zeros(w, bool)), {path.key: path})
    return Spatial(NCHW, (h, w), channels, (group,))
