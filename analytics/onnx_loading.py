"""Loading an ONNX model file defensively, with the `onnx` package (imported here; `onnx_import` imports only
its reference evaluator).

A model file may be corrupt, truncated or hostile: the file size is bounded (MAX_FILE_BYTES), its graphs,
nodes, attributes, tensors and value infos are counted from the protobuf wire format before it is parsed
(MAX_PROTO_ENTRIES), the protobuf must parse, every name must be text, external data must be a regular file
inside the model's folder whose byte range matches the tensor's declared shape, every initializer's shape is
checked against a budget (MAX_TENSOR_BYTES) before its data is read, and the ONNX checker must accept the
graph. Each failure is one CheckerlabError line. Cost: O(file size) for the scan, then onnx's parse and check.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import CheckerlabError
from .network import MAX_NODES
from .state_dict import checked_file

#: Largest model file read.
MAX_FILE_BYTES = 2 << 30
#: Largest single tensor (initializer, external data or folded constant), in bytes.
MAX_TENSOR_BYTES = 1 << 30


def onnx_package():
    """The onnx package, or one CheckerlabError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise CheckerlabError("from_onnx needs the onnx package: pip install 'checkerlab[onnx]'") from None
    return onnx


def _tensor_bytes(onnx, t) -> int:
    """Declared size of a TensorProto in bytes (dims product times item size), checked before reading."""
    if any(d < 0 for d in t.dims):
        raise CheckerlabError(f"initializer {t.name[:60]!r} has a negative dimension {list(t.dims)}")
    count = math.prod(int(d) for d in t.dims)
    try:
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        raise CheckerlabError(f"initializer {t.name[:60]!r} has an unknown data type {t.data_type}") from None
    size = count * itemsize
    if size > MAX_TENSOR_BYTES:
        raise CheckerlabError(f"initializer {t.name[:60]!r} declares {list(t.dims)} ({size:,} bytes), more than "
                              f"the budget of {MAX_TENSOR_BYTES:,} bytes")
    return size


def _external(onnx, model, folder: Path) -> None:
    """Validate and load external data: a relative path inside the model's folder, a regular file, and a byte
    range that exists and matches the declared tensor size."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    root = folder.resolve()
    for t in _all_tensors(model):
        size = _tensor_bytes(onnx, t)
        if not uses_external_data(t):
            continue
        info = ExternalDataInfo(t)
        loc = Path(info.location)
        target = (root / loc).resolve()
        if loc.is_absolute() or ".." in loc.parts or root not in target.parents:
            raise CheckerlabError(f"initializer {t.name[:60]!r}: external data {info.location[:80]!r} is outside "
                                  "the model's folder")
        if not target.is_file():
            raise CheckerlabError(f"initializer {t.name[:60]!r}: external data file {info.location[:80]!r} is "
                                  "missing")
        offset = int(info.offset or 0)
        length = int(info.length) if info.length is not None else target.stat().st_size - offset
        if offset < 0 or offset + length > target.stat().st_size or length != size:
            raise CheckerlabError(f"initializer {t.name[:60]!r}: external data {info.location[:80]!r} holds "
                                  f"{length:,} bytes at offset {offset:,}, the tensor needs {size:,}")
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(root))
    except (OSError, ValueError) as exc:
        raise CheckerlabError(f"cannot read the external data: {exc}") from None


def _all_tensors(model):
    yield from model.graph.initializer
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t


#: Most graphs, nodes, attributes, tensors and value infos in a model file, counted before it is parsed.
MAX_PROTO_ENTRIES = 1_000_000
#: The submessages counted by `_scan`, per message kind: {field number: kind}. ModelProto: graph, functions;
#: GraphProto: node, initializer, input, output, value_info, sparse_initializer; FunctionProto: node;
#: NodeProto: attribute; AttributeProto: t, g, tensors, graphs.
_SUBMESSAGES = {"model": {7: "graph", 25: "function"},
                "graph": {1: "node", 5: "leaf", 11: "leaf", 12: "leaf", 13: "leaf", 15: "leaf"},
                "function": {3: "node"}, "node": {5: "attribute"},
                "attribute": {5: "leaf", 6: "graph", 10: "leaf", 11: "graph"}}


def _varint(data, i: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= end or shift > 63:
            raise CheckerlabError("not a valid ONNX model (bad protobuf: a truncated or overlong varint)")
        b = data[i]
        value |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if b < 0x80:
            return value, i


def _scan(data, name: str) -> None:
    """Count the model's graphs, nodes, attributes, tensors and value infos from the protobuf wire format,
    before parsing: protobuf holds a parsed model in about 15 times its file size when it is made of tiny
    nodes, so a 2 GB file of them would need 30 GB. Tensor and string payloads are skipped by their lengths.
    O(min(entries, MAX_PROTO_ENTRIES) * fields per entry)."""
    todo, count = [("model", 0, len(data))], 0
    while todo:
        kind, i, end = todo.pop()
        children = _SUBMESSAGES[kind]
        while i < end:
            tag, i = _varint(data, i, end)
            wire = tag & 7
            if wire == 0:
                _, i = _varint(data, i, end)
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            elif wire == 2:
                length, i = _varint(data, i, end)
                child = children.get(tag >> 3)
                if child is not None:
                    count += 1
                    if count > MAX_PROTO_ENTRIES:
                        raise CheckerlabError(f"{name}: more than {MAX_PROTO_ENTRIES:,} nodes, attributes, tensors "
                                              "and value infos, beyond the budget")
                    if child != "leaf":
                        todo.append((child, i, min(i + length, end)))
                i += length
            else:
                return  # groups are not ONNX's: the parser says what is wrong
        if i > end:
            return  # a field runs past its message: the parser says what is wrong


def load_model(path):
    """The parsed and checked ModelProto of an ONNX file (see the module docstring)."""
    onnx = onnx_package()
    from google.protobuf.message import DecodeError

    p, size = checked_file(path, MAX_FILE_BYTES)
    if size == 0:
        raise CheckerlabError(f"{p.name[:80]}: empty file, not an ONNX model")
    import mmap

    with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            _scan(data, p.name[:80])
        except CheckerlabError as exc:
            raise CheckerlabError(f"{p.name[:80]}: {exc}" if str(exc).startswith("not a valid") else str(exc)) \
                from None
    try:
        model = onnx.load_model(str(p), load_external_data=False)
    except (DecodeError, ValueError, TypeError, RuntimeError, UnicodeDecodeError) as exc:
        msg = " ".join(str(exc).split())[:120]
        raise CheckerlabError(f"{p.name[:80]}: not a valid ONNX model (bad protobuf: {msg})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise CheckerlabError(f"{p.name[:80]}: not a valid ONNX model (no graph; truncated or not ONNX)")
    if len(model.graph.node) > 2 * MAX_NODES:  # constants fold away, the rest must fit a Network
        raise CheckerlabError(f"{p.name[:80]}: {len(model.graph.node):,} nodes exceed the budget of "
                              f"{2 * MAX_NODES:,}")
    graph = model.graph
    names = [*(n.name for n in graph.node), *(n.op_type for n in graph.node), *(n.domain for n in graph.node),
             *(i for n in graph.node for i in (*n.input, *n.output)), *(v.name for v in graph.input),
             *(v.name for v in graph.output), *(t.name for t in graph.initializer)]
    if any(not isinstance(v, str) for v in names):  # protobuf hands back bytes for invalid UTF-8
        raise CheckerlabError(f"{p.name[:80]}: not a valid ONNX model (a name is not UTF-8 text; corrupt file)")
    _external(onnx, model, p.parent)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises ValidationError and friends
        msg = " ".join(str(exc).split())[:160]
        raise CheckerlabError(f"{p.name[:80]}: the ONNX checker refuses the model: {msg}") from None
    return model
