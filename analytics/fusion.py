"""Graph rewrites applied to imported networks, so that the exact engine sees layers instead of tricks.

- Zero insertion (StyleGAN2's upfirdn2d in NVlabs' reference form): reshape (N, C, H, W) -> (N, C, H, 1, W, 1),
  pad the two unit dims to up_y and up_x (zeros after each sample), reshape to (N, C, H up_y, W up_x). The
  three nodes become one `Upfirdn2d((1.0,), up=(up_x, up_y))`, a transposed convolution with a single tap:
  the same values, and a per-axis exact rule. PyTorch's ONNX export produces the same three nodes.

Each rewrite keeps the node order (the new node takes the last node's place) and its name and module path.
Cost O(nodes).
"""

from __future__ import annotations

from .layers.fir import Upfirdn2d
from .network import Network, Node
from .ops import PadND, Reshape


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


def fuse(net: Network) -> Network:
    """The network with every rewrite of the module docstring applied."""
    users = net.consumers()
    drop: set[str] = set()
    replace: dict[str, Node] = {}
    for node in net.nodes:
        found = _zero_insertion(net, users, node)
        if found:
            gone, new = found
            drop |= gone
            replace[node.name] = new
    if not replace:
        return net
    nodes = [replace.get(n.name, n) for n in net.nodes if n.name not in drop]
    return Network(nodes, net.output)
