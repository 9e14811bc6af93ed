"""Graph rewrites applied to imported networks, so that the exact engine sees layers instead of tricks.

- Zero insertion (StyleGAN2's upfirdn2d in NVlabs' reference form): reshape (N, C, H, W) -> (N, C, H, 1, W, 1),
  pad the two unit dims to up_y and up_x (zeros after each sample), reshape to (N, C, H up_y, W up_x). The
  three nodes become one `Upfirdn2d((1.0,), up=(up_x, up_y))`, a transposed convolution with a single tap:
  the same values, and a per-axis exact rule. PyTorch's ONNX export produces the same three nodes.

- GroupNorm as exported to ONNX (opset < 18): reshape (N, C, H, W) -> (N, G, C/G H W), InstanceNormalization
  with unit scale and zero bias, reshape back (also for (N, C, L) sequences) - one `GroupNorm(G)`; a
  following multiply and add by per-channel constants (the affine) become its weight and bias.

Each rewrite keeps the node order (the new node takes the last node's place) and its name and module path.
Cost O(nodes).
"""

from __future__ import annotations

import numpy as np

from .layers.fir import Upfirdn2d
from .layers.norm import GroupNorm, InstanceNorm2d
from .network import Network, Node
from .ops import Binary, Constant, PadND, Reshape


def _zero_insertion(net: Network, users: dict[str, list[str]], node: Node):
    """(nodes to drop, replacement) if `node` is the final reshape of a zero insertion, else None."""
    if not isinstance(node.op, Reshape) or len(node.inputs) != 1:
        return None
    pad = net[node.inputs[0]]
    if not isinstance(pad.op, PadND) or pad.op.value != 0 or users[pad.name] != [node.name]:
        return None
    first = net[pad.inputs[0]]
    if not isinstance(first.op, Reshape) or users[first.name] != [pad.name]:
        return None
    src = net[first.inputs[0]].shape
    if len(src) != 4 or tuple(first.shape) != (src[0], src[1], src[2], 1, src[3], 1):
        return None
    p = tuple(pad.op.pads) + (0,) * (12 - len(pad.op.pads))
    if len(p) != 12 or any(p[6:]) or p[0] or p[2] or p[3] or p[4] or p[5] < 0 or p[1] < 0:
        return None
    up_x, up_y = p[1] + 1, p[5] + 1
    if tuple(node.shape) != (src[0], src[1], src[2] * up_y, src[3] * up_x):
        return None
    layer = Upfirdn2d((1.0,), up=(up_x, up_y))
    return {first.name, pad.name}, Node(node.name, layer, first.inputs, {}, node.module, node.module_type,
                                       node.shape, True)


def _channel_constant(net: Network, other: str, c: int, spatial_dims: int) -> np.ndarray | None:
    """The per-channel vector of a Constant shaped (C, 1, ...) or (1, C, 1, ...) for a tensor with
    `spatial_dims` dims after the channels, else None."""
    const = net[other]
    if not isinstance(const.op, Constant):
        return None
    v = np.asarray(const.params["value"])
    if v.size != c or v.ndim < spatial_dims + 1 or v.shape[v.ndim - spatial_dims:] != (1,) * spatial_dims:
        return None
    return v.reshape(c)


def _group_norm(net: Network, users: dict[str, list[str]], node: Node):
    """(nodes to drop, replacement) if `node` ends an exported GroupNorm (see the module docstring)."""
    if not isinstance(node.op, Reshape):
        return None
    norm = net[node.inputs[0]]
    if not isinstance(norm.op, InstanceNorm2d) or users[norm.name] != [node.name]:
        return None
    first = net[norm.inputs[0]]
    if not isinstance(first.op, Reshape) or users[first.name] != [norm.name]:
        return None
    src = tuple(net[first.inputs[0]].shape)
    if len(src) < 3 or tuple(node.shape) != src or len(first.shape) != 3 or first.shape[0] != src[0]:
        return None
    g = first.shape[1]
    if src[1] % g:
        return None
    w, b = norm.params.get("weight"), norm.params.get("bias")
    if w is not None and np.any(w != 1) or b is not None and np.any(b != 0) or norm.op.track_running_stats:
        return None
    drop, last, params = {first.name, norm.name}, node, {}
    for kind in ("mul", "add"):  # the affine that follows, if any
        nxt = users[last.name]
        if len(nxt) != 1 or not isinstance(net[nxt[0]].op, Binary) or net[nxt[0]].op.fn != kind:
            break
        op = net[nxt[0]]
        other = op.inputs[1] if op.inputs[0] == last.name else op.inputs[0]
        vec = _channel_constant(net, other, src[1], len(src) - 2)
        if vec is None or tuple(op.shape) != tuple(src):
            break
        params["weight" if kind == "mul" else "bias"] = vec.astype(np.float32)
        drop.add(last.name)
        last = op
    if params:
        params.setdefault("weight", np.ones(src[1], np.float32))
        params.setdefault("bias", np.zeros(src[1], np.float32))
    layer = GroupNorm(g, eps=norm.op.eps, affine=bool(params))
    return drop, last.name, Node(last.name, layer, first.inputs, params, node.module, "GroupNorm", tuple(src))


def fuse(net: Network) -> Network:
    """The network with every rewrite of the module docstring applied."""
    users = net.consumers()
    drop: set[str] = set()
    replace: dict[str, Node] = {}
    for node in net.nodes:
        if node.name in drop:
            continue
        found = _zero_insertion(net, users, node)
        if found:
            gone, new = found
            drop |= gone
            replace[node.name] = new
            continue
        found = _group_norm(net, users, node)
        if found:
            gone, last, new = found
            drop |= gone
            replace[last] = new
    if not replace:
        return net
    nodes = [replace.get(n.name, n) for n in net.nodes if n.name not in drop]
    return Network(nodes, net.output)
