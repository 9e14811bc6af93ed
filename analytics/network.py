"""`Network`: a small, torch-free DAG of layers and tensor ops with their weights; a Stack is the chain case.

A `Node` holds an op - a checkerlab layer (`analytics.layers`) or a tensor op (`analytics.ops`) -, its
parameters and buffers by PyTorch's names, the names of its input nodes, the module path and type it came
from, its output shape for a batch of one, and whether its weights are fixed (buffers: a fixed FIR enters
the exact pattern with its real taps). Nodes are kept in topological order; every consumer comes after its
inputs. The exact engine (`overlap_pattern`) and the simulation (`Network.forward`) walk the same list.

A network is built for one input shape (C, H, W): imported graphs bake shapes into reshapes, as the traced
model did. `forward` runs each sample of a batch through the graph (the analysed models are in eval mode, so
samples are independent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .errors import CheckerlabError, LayerError
from .layers import Conv2d, ConvTranspose2d, Layer
from .layers.kind import Kind
from .stack import MAX_ELEMENTS, Stack, as_stack

#: Most nodes a network may have.
MAX_NODES = 100_000


@dataclass(frozen=True, eq=False)
class Node:
    """One operation of a network (see the module docstring)."""

    name: str
    op: Any
    inputs: tuple[str, ...] = ()
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    module: str = ""
    module_type: str = ""
    shape: tuple[int, ...] = ()
    fixed: bool = False

    @property
    def label(self) -> str:
        """What a layer list shows: the op's spec (a constant's value or shape) and where it came from."""
        value = self.params.get("value") if type(self.op).__name__ == "Constant" else None
        if value is not None:
            spec = f"constant {np.asarray(value).item():g}" if np.size(value) == 1 \
                else f"constant {tuple(np.shape(value))}"
        else:
            spec = self.op.spec() if hasattr(self.op, "spec") else repr(self.op)
        return f"{spec}  [{self.module}]" if self.module else spec


def is_layer(op: Any) -> bool:
    return isinstance(op, Layer)


def conv_weight_shape(layer: Layer, c_in: int) -> tuple[int, int, int, int]:
    """PyTorch's weight shape of a (transposed) convolution for c_in input channels."""
    c_out, g = layer.out_channels_for(c_in), layer.groups
    kh, kw = layer.kernel_size
    return (c_in, c_out // g, kh, kw) if isinstance(layer, ConvTranspose2d) else (c_out, c_in // g, kh, kw)


def layer_param_shapes(layer: Layer, c_in: int) -> dict[str, tuple[tuple[int, ...], bool]]:
    """name -> (shape, required) of a layer's parameters."""
    if isinstance(layer, (Conv2d, ConvTranspose2d)):
        if c_in % layer.groups or layer.out_channels_for(c_in) % layer.groups:
            raise LayerError(layer.type, "groups", f"groups={layer.groups} must divide in_channels ({c_in}) and "
                             f"out_channels ({layer.out_channels_for(c_in)})")
        shapes = {"weight": (conv_weight_shape(layer, c_in), True)}
        if layer.bias:
            shapes["bias"] = ((layer.out_channels_for(c_in),), False)
        return shapes
    if isinstance(layer, Kind):
        return layer.param_shapes(c_in)
    return {}


def layer_shape(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape of a layer for an input shape; pointwise layers accept any shape, others (1, C, H, W)."""
    if isinstance(layer, Kind) and layer.pointwise or layer.is_activation:
        return shape
    if len(shape) != 4:
        raise LayerError(layer.type, None, f"needs an (N, C, H, W) input, got shape {shape}")
    n, c, h, w = shape
    size = []
    for axis, length in enumerate((h, w)):
        for m in axis_maps(layer, axis, length):
            length = m.output_length(length)
        if length < 1:
            raise LayerError(layer.type, None, f"output would be empty along {'HW'[axis]} for an input of "
                             f"{h}x{w}")
        size.append(length)
    return (n, layer.out_channels_for(c), *size)


def axis_maps(layer: Layer, axis: int, n: int, taps=None) -> tuple:
    """The exact rule of `layer` along `axis` for input length n; `taps` (exact, per axis) replace the
    all-ones kernel of a fixed-filter convolution."""
    from .axis import Convolution, Resample, Transposed

    if isinstance(layer, Kind):
        return layer.axis_maps(axis, n)
    op = layer.axis_op(axis)
    if op.kind == "identity":
        return ()
    if op.kind == "map":  # Conv2d with a padding_mode: the same taps with another boundary
        if taps is None:
            return op.maps
        (m,) = op.maps
        return (Convolution.make(m.kernel, m.stride, m.pad_before, m.pad_after, m.dilation, taps, m.boundary),)
    if op.kind == "transposed":
        return (Transposed.make(op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation, taps),)
    if op.kind == "conv":
        return (Convolution.make(op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation, taps),)
    from fractions import Fraction

    return (Resample.make("nearest" if op.kind == "repeat" else "linear", Fraction(1, op.stride)),)


def layer_forward(layer: Layer, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """The layer on an (N, C, H, W) array (pointwise layers: any shape) with the kernels."""
    if isinstance(layer, Kind):
        return layer.forward(x, params)
    from .forward import apply_layer

    if isinstance(layer, (Conv2d, ConvTranspose2d)):
        b = params.get("bias")
        return apply_layer(layer, x, (params["weight"].astype(x.dtype, copy=False),
                                      None if b is None else b.astype(x.dtype, copy=False)))[0]
    return apply_layer(layer, x, None)[0]


class Network:
    """A DAG of nodes in topological order with one input and one output (see the module docstring)."""

    def __init__(self, nodes: Iterable[Node], output: str | None = None):
        nodes = tuple(nodes)
        if not nodes:
            raise CheckerlabError("a network needs at least its input node")
        if len(nodes) > MAX_NODES:
            raise CheckerlabError(f"{len(nodes):,} nodes exceed the budget of {MAX_NODES:,}")
        self.nodes = nodes
        self._index: dict[str, Node] = {}
        for node in nodes:
            if node.name in self._index:
                raise CheckerlabError(f"node name {node.name!r} is used twice")
            for i in node.inputs:
                if i not in self._index:
                    raise CheckerlabError(f"node {node.name!r} reads {i!r}, which is not an earlier node")
            self._index[node.name] = node
        from .ops import Input

        inputs = [n for n in nodes if isinstance(n.op, Input)]
        if len(inputs) != 1:
            raise CheckerlabError(f"a network needs exactly one input node, got {len(inputs)}")
        self.input = inputs[0].name
        self.output = output if output is not None else nodes[-1].name
        if self.output not in self._index:
            raise CheckerlabError(f"output {self.output!r} is not a node")
        self._check_shapes()

    # ------------------------------------------------------------------------------------------ structure
    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, name: str) -> Node:
        return self._index[name]

    def __repr__(self) -> str:
        return f"Network({len(self.nodes)} nodes, input {self.input_shape}, output {self.output_shape})"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self[self.input].shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self[self.output].shape

    def consumers(self) -> dict[str, list[str]]:
        """node -> the nodes that read it, in order."""
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for node in self.nodes:
            for i in node.inputs:
                out[i].append(node.name)
        return out

    def layer_list(self) -> list[tuple[int, Node]]:
        """(depth, node) for every node in order, for a layer list with the branches indented: depth 0 is the
        longest path from the input to the output; nodes off it form branches (connected groups of off-path
        nodes), each indented one level below the line it leaves, recursively. O(nodes + edges) per level."""
        depth: dict[str, int] = {}
        index = {n.name: i for i, n in enumerate(self.nodes)}

        def longest(names: set[str]) -> list[str]:
            best: dict[str, tuple[int, int, str | None]] = {}  # (length, -input position, predecessor)
            for n in sorted(names, key=index.get):
                preds = [(k, i) for k, i in enumerate(self[n].inputs) if i in names]
                best[n] = max(((best[p][0] + 1, -k, p) for k, p in preds), default=(1, 0, None))
            end = max(names, key=lambda n: (best[n][0], index[n]))
            path = []
            while end is not None:
                path.append(end)
                end = best[end][2]
            return path

        def assign(names: set[str], level: int) -> None:
            if not names:
                return
            line = longest(names)
            for n in line:
                depth[n] = level
            rest = names - set(line)
            neighbours = {n: set() for n in rest}
            for n in rest:
                for i in self[n].inputs:
                    if i in rest:
                        neighbours[n].add(i)
                        neighbours[i].add(n)
            while rest:
                stack, component = [min(rest, key=index.get)], set()
                while stack:
                    n = stack.pop()
                    if n not in component:
                        component.add(n)
                        stack += list(neighbours[n] - component)
                rest -= component
                assign(component, level + 1)

        main = set(self.prune_to(self.output))
        assign(main, 0)
        for n in self.nodes:  # nodes the output does not read (none after an import) go last, flagged deep
            depth.setdefault(n.name, max(depth.values(), default=0) + 1)
        return [(depth[n.name], n) for n in self.nodes]

    def prune_to(self, output: str) -> list[str]:
        """The names of the nodes `output` depends on, in order."""
        return [n.name for n in prune(list(self.nodes), output)]

    def is_chain(self) -> bool:
        """Every node reads the previous one only (a Stack)."""
        return all(n.inputs == (p.name,) for p, n in zip(self.nodes, self.nodes[1:], strict=False))

    def to_stack(self) -> Stack:
        """The layers of a chain network as a Stack."""
        if not self.is_chain() or not all(is_layer(n.op) for n in self.nodes[1:]):
            raise CheckerlabError("only a chain of layers is a Stack; this network branches or has tensor ops")
        return Stack([n.op for n in self.nodes[1:]])

    @classmethod
    def from_stack(cls, stack, input_shape, params: list | None = None) -> Network:
        """The chain network of a stack for an input (C, H, W) or (N, C, H, W); params as `simulate` takes
        them (per layer None or (weight, bias)), default: random as `init_params(seed=0)`."""
        from .ops import Input
        from .weights import init_params

        stack = as_stack(stack)
        shape = tuple(int(v) for v in input_shape)
        shape = (1, *shape[-3:])
        if params is None:
            params = init_params(stack, shape[1])
        nodes = [Node("input", Input(), shape=shape)]
        prev = nodes[0]
        for i, (layer, p) in enumerate(zip(stack, params, strict=True)):
            named = {} if p is None else {"weight": p[0], **({} if p[1] is None else {"bias": p[1]})}
            node = Node(f"{i}", layer, (prev.name,), named, shape=layer_shape(layer, prev.shape))
            nodes.append(node)
            prev = node
        return cls(nodes)

    def _check_shapes(self) -> None:
        """Every node's shape equals its op's rule applied to its inputs' shapes; parameters fit."""
        for node in self.nodes:
            if node.name == self.input:
                if len(node.shape) < 2 or any(not isinstance(v, int) or v < 1 for v in node.shape):
                    raise CheckerlabError(f"the input shape {node.shape} must be (N, C, ...) of positive ints")
                continue
            shapes = [self[i].shape for i in node.inputs]
            try:
                if is_layer(node.op):
                    if len(shapes) != 1:
                        raise CheckerlabError(f"a layer takes one input, got {len(shapes)}")
                    c_in = shapes[0][1] if len(shapes[0]) > 1 else 1
                    _check_params(node.op, c_in, node.params)
                    want = layer_shape(node.op, shapes[0])
                else:
                    want = node.op.infer_shape(shapes, node.params)
            except CheckerlabError as exc:
                raise CheckerlabError(f"node {node.name!r}{_where(node)}: {exc}") from None
            if node.shape and tuple(node.shape) != tuple(want):
                raise CheckerlabError(f"node {node.name!r}{_where(node)}: recorded shape {node.shape} differs "
                                      f"from the computed {want}")
            if int(np.prod(want, dtype=object)) > MAX_ELEMENTS:
                raise CheckerlabError(f"node {node.name!r}{_where(node)}: output {want} exceeds the memory "
                                      f"budget of {MAX_ELEMENTS:,} values")
            if not node.shape:
                object.__setattr__(node, "shape", tuple(want))

    # --------------------------------------------------------------------------------------------- run
    def run(self, x: np.ndarray, dtype=None, keep: bool = False) -> Run:
        """The network on x ((N, C, H, W), or (C, H, W) as a batch of one) in `dtype` (default: x's if float32
        or float64, else float32): a `Run` with the output and, with keep=True, every node's output."""
        x = np.asarray(x)
        if x.ndim == len(self.input_shape) - 1:
            x = x[None]
        dtype = np.dtype(dtype if dtype is not None else x.dtype if x.dtype in (np.float32, np.float64)
                         else np.float32)
        if dtype not in (np.float32, np.float64):
            raise CheckerlabError(f"dtype={dtype} must be float32 or float64")
        x = np.ascontiguousarray(x, dtype)
        if not np.all(np.isfinite(x)):
            raise CheckerlabError("the input has NaN or infinite values")
        values = self.forward(x, keep=True) if keep else {self.output: self.forward(x)}
        return Run(self, x, values[self.output], values if keep else {})

    def forward(self, x: np.ndarray, keep: bool = False) -> np.ndarray | dict[str, np.ndarray]:
        """The network on x (N, C, H, W) with the kernels: the output (N, ...), or with keep=True every
        node's output (name -> (N, ...)). float32 or float64, as x."""
        x = np.asarray(x)
        want = self.input_shape[1:]
        if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != tuple(want):
            raise CheckerlabError(f"the input must have shape (N, {', '.join(map(str, want))}), got {x.shape}")
        if x.dtype not in (np.float32, np.float64):
            raise CheckerlabError(f"the input must be float32 or float64, got {x.dtype}")
        runs = [self._run(x[i:i + 1], keep) for i in range(x.shape[0])]
        if keep:  # batch-dependent outputs are concatenated; constants are the same for every sample
            return {name: np.concatenate([r[name] for r in runs]) if self._batched(name) else runs[0][name]
                    for name in runs[0]}
        return np.concatenate(runs)

    def _batched(self, name: str) -> bool:
        from .ops import Constant

        node = self[name]
        return not isinstance(node.op, Constant) and len(node.shape) > 0 and node.shape[0] == 1

    def _plan(self, keep: bool) -> dict[str, tuple[tuple[str, ...], Any, Any]]:
        """conv or norm node -> (the nodes it also computes, folded eval BatchNorm or None, kernels.Activation or
        None).

        A BatchNorm2d in eval mode that alone reads a convolution is folded into its weights (w * g / s, with
        s = sqrt(var + eps); bias (b - mean) g / s + beta) and an activation that alone reads either runs in
        the convolution's output loop: one kernel call instead of three. With keep=True every node's own output
        is needed, so only the activation is fused (the kernel returns the pre-activation output too). An
        activation that alone reads a GroupNorm or InstanceNorm2d (``fuses_activation``) runs in the norm's
        output pass (keep=False only)."""
        from .forward import activation_of
        from .layers.norm import BatchNorm2d

        users = self.consumers()

        def only_reader(name):
            readers = users[name]
            return self[readers[0]] if len(readers) == 1 and self[readers[0]].inputs == (name,) else None

        def fused_activation(last):
            nxt = only_reader(last)
            if nxt is None or last == self.output or not is_layer(nxt.op) or not nxt.op.is_activation:
                return None, None
            w = nxt.params.get("weight")
            if type(nxt.op).__name__ == "PReLU" and w is None:
                return None, None
            return nxt, activation_of(nxt.op, (w,))

        plan = {}
        for node in self.nodes:
            if getattr(node.op, "fuses_activation", False) and not keep:
                nxt, fn = fused_activation(node.name)
                if fn is not None:
                    plan[node.name] = ((nxt.name,), None, fn)
                continue
            if not isinstance(node.op, (Conv2d, ConvTranspose2d)) or "weight" not in node.params:
                continue
            covered, bn = [], None
            nxt = only_reader(node.name)
            if not keep and nxt is not None and isinstance(nxt.op, BatchNorm2d) and nxt.op.track_running_stats \
                    and "running_mean" in nxt.params and node.name != self.output:
                bn = nxt
                covered.append(nxt.name)
            nxt, fn = fused_activation(covered[-1] if covered else node.name)
            if fn is not None:
                covered.append(nxt.name)
            if covered:
                plan[node.name] = (tuple(covered), bn, fn)
        return plan

    @cached_property
    def _plans(self) -> dict[bool, dict]:
        return {keep: self._plan(keep) for keep in (False, True)}

    def _conv_params(self, node: Node, bn: Node | None, dtype) -> tuple[np.ndarray, np.ndarray | None]:
        """The convolution's (weight, bias) in `dtype`, with an eval BatchNorm folded in (cached)."""
        key = (node.name, np.dtype(dtype).str)
        cache = self.__dict__.setdefault("_folded", {})
        if key not in cache:
            w, b = node.params["weight"], node.params.get("bias")
            if bn is not None:
                p = bn.params
                c = p["running_mean"].shape[0]
                scale = np.asarray(p.get("weight", np.ones(c)), np.float64) / np.sqrt(
                    np.asarray(p["running_var"], np.float64) + bn.op.eps)
                shift = np.asarray(p.get("bias", np.zeros(c)), np.float64) - np.asarray(p["running_mean"]) * scale
                w = np.asarray(w, np.float64)
                if isinstance(node.op, Conv2d):
                    w = w * scale[:, None, None, None]
                else:  # (C_in, C_out / g, kh, kw): output channel g * C_out/g + j
                    g = node.op.groups
                    w = (w.reshape(g, -1, *w.shape[1:]) * scale.reshape(g, 1, -1, 1, 1)).reshape(w.shape)
                b = (np.zeros(c) if b is None else np.asarray(b, np.float64)) * scale + shift
            cache[key] = (np.ascontiguousarray(w, dtype), None if b is None else np.asarray(b, dtype))
        return cache[key]

    def _run(self, x: np.ndarray, keep: bool):
        from .forward import apply_layer

        plan = self._plans[keep]
        left = {name: len(users) for name, users in self.consumers().items()}
        values: dict[str, np.ndarray] = {}
        done: set[str] = set()  # computed inside a fused convolution call
        for node in self.nodes:
            if node.name in done:
                continue
            if node.name == self.input:
                y = x
            elif node.name in plan and not isinstance(node.op, (Conv2d, ConvTranspose2d)):  # norm + activation
                (act,) = plan[node.name][0]
                done.add(act)
                values[act] = node.op.forward(values[node.inputs[0]], node.params, plan[node.name][2])
                self._release(values, left, node)
                continue
            elif node.name in plan:
                covered, bn, fn = plan[node.name]
                done.update(covered)
                results = apply_layer(node.op, values[node.inputs[0]], self._conv_params(node, bn, x.dtype), fn,
                                      preactivation=keep)
                if keep:  # (activation output, convolution output)
                    values[covered[-1]] = results[0]
                    y = results[-1]
                else:  # the last covered node's output only: nobody reads the others
                    values[covered[-1]] = results[0]
                    self._release(values, left, node)
                    for name in covered[:-1]:
                        self._release(values, left, self[name], own=name)
                    continue
            else:
                xs = [values[i] for i in node.inputs]
                y = layer_forward(node.op, xs[0], node.params) if is_layer(node.op) \
                    else node.op.forward(xs, node.params)
            values[node.name] = np.asarray(y, dtype=x.dtype) if np.ndim(y) else np.asarray(y, x.dtype)
            if not keep:
                self._release(values, left, node)
        return values if keep else values[self.output]

    def _release(self, values: dict, left: dict, node: Node, own: str | None = None) -> None:
        """Drop the inputs of `node` that nobody reads any more (memory of a forward pass); `own` is a node
        computed inside a fused call, whose value was never stored."""
        for i in node.inputs:
            left[i] -= 1
            if left[i] == 0 and i != self.output and i != own and i in values:
                del values[i]


def prune(nodes: list[Node], output: str) -> list[Node]:
    """The nodes `output` depends on (and the input), in their order: dead branches of a trace dropped."""
    from .ops import Input

    by = {n.name: n for n in nodes}
    needed, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack += list(by[name].inputs)
    return [n for n in nodes if n.name in needed or isinstance(n.op, Input)]


@dataclass(frozen=True, eq=False)
class Run:
    """One run of a network: its input (N, ...), output, and (when kept) every node's output by name."""

    network: Network
    input: np.ndarray
    output: np.ndarray
    activations: dict[str, np.ndarray] = field(default_factory=dict)


def _where(node: Node) -> str:
    return f" ({node.module_type} at {node.module})" if node.module else ""


def _check_params(layer: Layer, c_in: int, params: Mapping[str, Any]) -> None:
    shapes = layer_param_shapes(layer, c_in)
    if isinstance(layer, Kind):
        layer.check_params(c_in, dict(params))
        return
    for name, value in params.items():
        if name not in shapes:
            raise LayerError(layer.type, name, f"unexpected parameter {name!r}; expected {', '.join(shapes) or 'none'}")
        if tuple(np.shape(value)) != tuple(shapes[name][0]):
            raise LayerError(layer.type, name, f"{name} has shape {tuple(np.shape(value))}, expected "
                             f"{tuple(shapes[name][0])} for {c_in} input channels")
    for name, (_, required) in shapes.items():
        if required and name not in params:
            raise LayerError(layer.type, name, f"missing parameter {name!r}")


def fixed_taps(node: Node) -> tuple | None:
    """(row taps, col taps) of a fixed-filter convolution whose every nonzero (out, in) kernel is the same
    separable 2D filter; None otherwise (a learned convolution counts all-ones taps)."""
    from .layers.fir import separable_taps

    if not node.fixed or not isinstance(node.op, (Conv2d, ConvTranspose2d)) or "weight" not in node.params:
        return None
    w = np.asarray(node.params["weight"], dtype=np.float64)
    kernels = w.reshape(-1, *w.shape[2:])
    nonzero = kernels[np.any(kernels != 0, axis=(1, 2))]
    if not len(nonzero) or np.any(nonzero != nonzero[0]):
        return None
    try:
        return separable_taps(node.op.type, nonzero[0])
    except LayerError:
        return None


def diagonal(node: Node) -> bool:
    """A fixed convolution that maps each channel to its own outputs only (depthwise or an identity-like
    1x1): channel groups pass through it unmixed."""
    op, w = node.op, node.params.get("weight")
    if w is None or not node.fixed or not isinstance(op, (Conv2d, ConvTranspose2d)):
        return False
    c_in = w.shape[1] * op.groups if isinstance(op, Conv2d) else w.shape[0]
    if op.groups > 1 and op.groups == c_in:
        return True
    c_out, c_in = (w.shape[0], w.shape[1]) if isinstance(op, Conv2d) else (w.shape[1], w.shape[0])
    if c_out != c_in or op.groups != 1:
        return False
    mask = np.any(np.asarray(w) != 0, axis=(2, 3))
    return bool(np.array_equal(mask, np.eye(c_in, dtype=bool)))


