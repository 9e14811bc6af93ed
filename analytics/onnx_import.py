"""`from_onnx(path)`: an ONNX model as a checkerlab Network.

The file is loaded and validated by `onnx_loading` (bounded, counted before parsing, external data confined
to the model's folder, checked by the ONNX checker). Conversion walks the nodes in order. A node whose inputs
are all constants (initializers, Constant nodes, shapes - every shape is static here) is folded with ONNX's
reference implementation, after a size check of what it would allocate. Every other node maps to a layer or
tensor op with ONNX's exact semantics: ConvTranspose's `pads`, `output_padding`, `output_shape` and
`auto_pad` (SAME_UPPER / SAME_LOWER put the odd pixel at the end / start, as Keras and TensorFlow's
asymmetric "same"), Conv's and the pools' asymmetric pads, Resize's modes and coordinate transformations,
DepthToSpace's CRD (PyTorch) and DCR (TensorFlow) orders. Asymmetric padding becomes a symmetric layer plus a
crop or pad, so the geometry stays exact. Module paths come from PyTorch's node names
("/decoder/up/up.0/conv/Conv" -> "decoder.up.0.conv"). Cost: O(1) per node plus its folded constants.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .errors import CheckerlabError, LayerError
from .fusion import fuse
from .layers import Conv2d, ConvTranspose2d, LeakyReLU, PixelShuffle, ReLU, Sigmoid, Tanh
from .layers.activation import ELU, GELU, Dropout, Hardsigmoid, Hardswish, Hardtanh, Identity, Mish, PReLU
from .layers.norm import BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .layers.pad import CircularPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from .layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .layers.resample import Upsample
from .network import Network, Node, is_layer, layer_shape, prune
from .onnx_loading import MAX_TENSOR_BYTES, load_model, onnx_package
from .ops import Binary, Cat, Expand, Input, Linear, MatMul, PadND, Permute, Reduce, Reshape, Slice, Softmax, Unary
from .stack import MAX_ELEMENTS

SUPPORTED = ("Conv, ConvTranspose, Resize, Upsample, DepthToSpace, Pad, MaxPool, AveragePool, GlobalAveragePool, "
             "BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization, activations, "
             "elementwise math, MatMul, Gemm, Softmax, reshapes, Concat, Split, Slice, Gather, ReduceMean/Sum")
#: The supported families, short enough for a one-line error (the full list is SUPPORTED).
SUPPORTED_SHORT = ("Conv, ConvTranspose, Resize, DepthToSpace, Pad, pools, norms, activations, elementwise math, "
                   "MatMul, Gemm, Softmax, reshapes, Concat/Split/Slice/Gather, reductions")

#: Node types that map to one op without attributes: pointwise layers, unary and binary math, reductions.
_SIMPLE = {"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh, "HardSwish": Hardswish, "Mish": Mish,
           "Identity": Identity, "Dropout": Dropout}
_UNARY = {"Neg": "neg", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Reciprocal": "reciprocal", "Abs": "abs",
          "Sin": "sin", "Cos": "cos", "Erf": "erf", "Floor": "floor", "Ceil": "ceil"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow"}
_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax"}


def _attrs(onnx, node) -> dict:
    """A node's attributes; a FLOAT (stored as float32) as the shortest decimal that rounds to the same float32
    (eps 1e-05, slope 0.2: PyTorch's own numbers, not 9.999999747378752e-06)."""
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = float(np.format_float_positional(np.float32(v), unique=True, trim="0")) \
            if a.type == onnx.AttributeProto.FLOAT else v
    return out


def _module_path(node) -> str:
    """PyTorch's module path of an exported node. torch.onnx names a node by the scopes of the modules that ran,
    each by the module's name from its last non-numeric part on: "/main/main.0/ConvTranspose" is main.0 (a
    Sequential's child repeats its parent's name), "/mid.0/conv1/Conv" is mid.0.conv1 (a ModuleList never runs,
    so it has no scope of its own). Limits of the names: a module called through another method than forward
    (vae.decode) has no scope either, and a module called twice carries torch's suffix (relu_1)."""
    parts = [p for p in node.name.strip("/").split("/") if p][:-1]
    path: list[str] = []
    for scope in parts:
        atoms = scope.split(".")
        path += atoms[1:] if len(atoms) > 1 and path and path[-1] == atoms[0] else atoms
    return ".".join(path)


def _grown_count(op_type: str, vals: list) -> int | None:
    """The output size of ConstantOfShape, Expand, Tile and Range from their constant inputs (None for other
    ops): the ops that make a large tensor from small inputs, for when shape inference cannot tell."""
    if op_type == "ConstantOfShape":
        return math.prod(int(v) for v in np.ravel(vals[0]))
    if op_type == "Expand":
        target = [int(v) for v in np.ravel(vals[1])]
        return math.prod(max(a, b) for a, b in zip(
            [1] * (len(target) - vals[0].ndim) + list(vals[0].shape), target, strict=False))
    if op_type == "Tile":
        return vals[0].size * math.prod(int(v) for v in np.ravel(vals[1]))
    if op_type == "Range":
        start, limit, delta = (float(np.ravel(v)[0]) for v in vals)
        return 0 if delta == 0 else max(0, math.ceil((limit - start) / delta))
    return None


class _Converter:
    def __init__(self, onnx, model, input_shape):
        self.onnx = onnx
        self.model = model
        self.opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
        self.consts: dict[str, np.ndarray] = {}
        self.refs: dict[str, str] = {}  # ONNX tensor name -> node name
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.nodes: list[Node] = []
        self.used: set[str] = set()
        self.count = 0
        for t in model.graph.initializer:
            self.consts[t.name] = onnx.numpy_helper.to_array(t)
        real = [i for i in model.graph.input if i.name not in self.consts]
        if len(real) != 1:
            raise CheckerlabError(f"the model has {len(real)} inputs ({', '.join(i.name[:30] for i in real[:4])}); "
                                  "checkerlab analyses models of one image input")
        inp = real[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if input_shape is not None:
            shape = tuple(int(v) for v in input_shape)
            if len(shape) != len(dims) or any(d is not None and d != s for d, s in zip(dims, shape, strict=True)
                                              if d != 0):
                raise CheckerlabError(f"input_shape={shape} does not fit the model's input {dims}")
        elif any(d is None or d == 0 for d in dims):
            raise CheckerlabError(f"the model's input {inp.name[:40]!r} has dynamic dims {dims}: give input_shape, "
                                  "e.g. --input-shape 1 3 64 64")
        else:
            shape = tuple(dims)
        if len(shape) < 2 or any(v < 1 for v in shape) or math.prod(shape[1:]) > MAX_ELEMENTS:
            raise CheckerlabError(f"input shape {shape} must be (N, C, ...) of positive ints within the memory "
                                  f"budget of {MAX_ELEMENTS:,} values")
        shape = (1, *shape[1:])
        self.nodes.append(Node("input", Input(), shape=shape))
        self.refs[inp.name] = "input"
        self.shapes["input"] = shape
        self.used.add("input")

    # --------------------------------------------------------------------------------------------- helpers
    def fail(self, node, what: str) -> CheckerlabError:
        """One line naming the node; what is supported is listed when something is not (SUPPORTED_SHORT, so
        that the line stays within 300 characters)."""
        name = node.name.strip("/")
        where = f"node {name[:60]!r} ({node.op_type[:30]})" if name else f"a {node.op_type[:30]} node"
        listed = f"; supported: {SUPPORTED_SHORT}" if "not supported" in what else ""
        return CheckerlabError(f"{where}: {what[:160]}{listed}")

    def name(self, node, suffix: str = "") -> str:
        base = (node.name.strip("/") or node.output[0] or node.op_type) + suffix
        name, k = base, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def const(self, name: str):
        return self.consts.get(name) if name else None

    def ref(self, name: str) -> str:
        """The node of a tensor, making a Constant node for a constant one."""
        if name in self.refs:
            return self.refs[name]
        value = self.consts[name]
        from .ops import Constant

        node = f"const:{name[:60]}"
        node, k = node, 2
        while node in self.used:
            node, k = f"const:{name[:60]}_{k}", k + 1
        self.used.add(node)
        self.add(Node(node, Constant(), (), {"value": value}, shape=tuple(value.shape)))
        self.refs[name] = node
        return node

    def add(self, node: Node) -> None:
        if not node.shape:
            shapes = [self.shapes[i] for i in node.inputs]
            shape = layer_shape(node.op, shapes[0]) if is_layer(node.op) \
                else node.op.infer_shape(shapes, node.params)
            node = Node(node.name, node.op, node.inputs, node.params, node.module, node.module_type, tuple(shape),
                        node.fixed)
        self.nodes.append(node)
        self.shapes[node.name] = tuple(node.shape)

    def emit(self, onnx_node, op, inputs, params=None, output: str | None = None, fixed=False) -> str:
        """A network node for an ONNX node's output (the last of a chain carries the output name)."""
        name = self.name(onnx_node, "" if output is None else f"~{len(self.nodes)}")
        self.add(Node(name, op, tuple(inputs), params or {}, _module_path(onnx_node), onnx_node.op_type,
                      fixed=fixed))
        if output is None:
            self.refs[onnx_node.output[0]] = name
        return name

    def shape(self, tensor: str) -> tuple[int, ...]:
        if tensor in self.refs:
            return self.shapes[self.refs[tensor]]
        return tuple(self.consts[tensor].shape)

    # -------------------------------------------------------------------------------------------- folding
    def fold(self, node) -> None:
        from onnx.reference import ReferenceEvaluator

        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            raise self.fail(node, "control flow (subgraphs) is not supported")
        inputs = {n: self.consts[n] for n in node.input if n}
        self._guard(node, inputs)
        try:
            outs = ReferenceEvaluator(node).run(None, inputs)
        except Exception as exc:  # noqa: BLE001 - the reference implementation rejects the node
            raise self.fail(node, f"cannot be evaluated: {type(exc).__name__}: {exc}") from None
        for name, value in zip(node.output, outs, strict=False):
            value = np.asarray(value)
            if value.nbytes > MAX_TENSOR_BYTES:
                raise self.fail(node, f"folds to {value.nbytes:,} bytes, more than the budget")
            self.consts[name] = value

    def _inferred_count(self, node, inputs) -> int | None:
        """The number of values a fold's outputs would hold, from ONNX's shape inference on the node with its
        constant inputs (a Resize to 10^5 x 10^5, a broadcast product, a MatMul of a column by a row); None
        when inference cannot tell."""
        onnx = self.onnx
        try:
            schema = onnx.defs.get_schema(node.op_type, self.opset, node.domain)
            types = {n: onnx.helper.make_tensor_type_proto(onnx.helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                     for n, v in inputs.items()}
            data = {n: onnx.numpy_helper.from_array(v, n) for n, v in inputs.items() if v.size <= 1 << 16}
            outs = onnx.shape_inference.infer_node_outputs(schema, node, types, data,
                                                           opset_imports=[onnx.helper.make_opsetid("", self.opset)])
        except Exception:  # noqa: BLE001 - no schema, no inference for this op, or inconsistent inputs
            return None
        total = 0
        for t in outs.values():
            dims = t.tensor_type.shape.dim if t.HasField("tensor_type") and t.tensor_type.HasField("shape") else None
            if dims is None or any(not d.HasField("dim_value") for d in dims):
                return None
            total += math.prod(d.dim_value for d in dims)
        return total

    def _guard(self, node, inputs) -> None:
        """Refuse a fold that would allocate more than the budget: the inferred output size, else the rule of
        an op that makes a large tensor from small inputs."""
        count = self._inferred_count(node, inputs)
        if count is None:
            count = _grown_count(node.op_type, [inputs.get(n) for n in node.input])
        if count is not None and count * 8 > MAX_TENSOR_BYTES:
            raise self.fail(node, f"would allocate {count:,} values, more than the budget")

    # ------------------------------------------------------------------------------------------ dispatch
    def convert(self, node) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise self.fail(node, f"domain {node.domain!r} is not supported")
        if all(not n or n in self.consts for n in node.input):
            self.fold(node)
            return
        op = node.op_type
        if op in _SIMPLE:
            self._act(node, _SIMPLE[op]())
            return
        if op in _UNARY:
            self.emit(node, Unary(_UNARY[op]), [self.x(node)])
            return
        if op in _BINARY:
            self.emit(node, Binary(_BINARY[op]), [self.refs.get(i) or self.ref(i) for i in node.input])
            return
        if op in _REDUCE:
            self._reduce(node, _attrs(self.onnx, node), _REDUCE[op])
            return
        handler = getattr(self, f"on_{op}", None)
        if handler is None:
            raise self.fail(node, "is not supported")
        try:
            handler(node, _attrs(self.onnx, node))
        except LayerError as exc:
            raise self.fail(node, str(exc)) from None
        except CheckerlabError as exc:
            raise self.fail(node, str(exc)) from None

    def x(self, node) -> str:
        return self.refs[node.input[0]] if node.input[0] in self.refs else self.ref(node.input[0])

    # ------------------------------------------------------------------------------------- convolutions
    def _pads(self, a, x_shape, kernel, strides, dilations, transposed=False, out_shape=None):
        """(top, bottom), (left, right) after auto_pad (ONNX's rule for SAME_UPPER / SAME_LOWER)."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if auto in ("NOTSET", "VALID"):
            if auto == "VALID":
                pads = [0, 0, 0, 0]
            return ((pads[0], pads[2]), (pads[1], pads[3]))
        out = []
        for i in range(2):
            n, k, s, d = x_shape[2 + i], kernel[i], strides[i], dilations[i]
            if transposed:
                target = n * s if out_shape is None else out_shape[i]
                total = s * (n - 1) + a.get("output_padding", [0, 0])[i] + (k - 1) * d + 1 - target
            else:
                target = -(-n // s)
                total = max((target - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return tuple(out)

    def _crop_or_pad(self, node, src: str, pads) -> str:
        """A ZeroPad2d after src for ((top, bottom), (left, right)) extra padding (negative: crop)."""
        (t, b), (le, r) = pads
        if (t, b, le, r) == (0, 0, 0, 0):
            return src
        name = self.name(node, "~crop")
        self.add(Node(name, ZeroPad2d((le, r, t, b)), (src,), {}, _module_path(node), node.op_type))
        return name

    def _conv_params(self, node):
        w = self.const(node.input[1])
        if w is None:
            raise CheckerlabError("the weight depends on the input")
        b = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if w.ndim != 4:
            raise CheckerlabError(f"only 2D convolutions are supported (weight {w.shape})")
        params = {"weight": w}
        if b is not None:
            params["bias"] = b
        return params

    def on_Conv(self, node, a):
        params = self._conv_params(node)
        w = params["weight"]
        x = self.x(node)
        kernel, strides = tuple(w.shape[2:]), tuple(a.get("strides", [1, 1]))
        dil, group = tuple(a.get("dilations", [1, 1])), a.get("group", 1)
        (t, b), (le, r) = self._pads(a, self.shapes[x], kernel, strides, dil)
        sym = (min(t, b), min(le, r))
        x = self._crop_or_pad(node, x, ((t - sym[0], b - sym[0]), (le - sym[1], r - sym[1])))
        layer = Conv2d(kernel, strides, sym, dil, out_channels=w.shape[0], groups=group, bias="bias" in params)
        self.emit(node, layer, [x], params)

    def on_ConvTranspose(self, node, a):
        params = self._conv_params(node)
        w = params["weight"]
        x = self.x(node)
        group = a.get("group", 1)
        kernel, strides = tuple(w.shape[2:]), tuple(a.get("strides", [1, 1]))
        dil = tuple(a.get("dilations", [1, 1]))
        out_pad = list(a.get("output_padding", [0, 0]))
        out_shape = a.get("output_shape")
        out_shape = list(out_shape)[-2:] if out_shape is not None else None
        n = self.shapes[x]
        if out_shape is not None and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"):
            a = {**a, "auto_pad": "SAME_UPPER"}  # ONNX: with output_shape, pads are computed (upper by default)
        (t, b), (le, r) = self._pads(a, n, kernel, strides, dil, transposed=True, out_shape=out_shape)
        # torch crops p at the start and p - output_padding at the end of the full output; ONNX crops
        # pads_start and pads_end - output_padding (negative: the output extends beyond the full one)
        padding, op, extra = [], [], []
        for (start, end), s, d, opad in (((t, b), strides[0], dil[0], out_pad[0]),
                                         ((le, r), strides[1], dil[1], out_pad[1])):
            end -= opad
            most = max(s, d)
            if 0 <= start - end < most:
                choice, extra_axis = (start, start - end), (0, 0)
            elif end > start:  # crop the rest at the end
                choice, extra_axis = (start, 0), (0, start - end)
            else:  # crop the rest at the start; output_padding covers an extension at the end
                fits = [(end + o, o) for o in range(most) if 0 <= end + o <= start]
                if not fits:
                    raise CheckerlabError(f"pads and output_padding extend the output by {-end} beyond what "
                                          f"PyTorch's output_padding (< {most}) can express")
                choice = max(fits)
                extra_axis = (choice[0] - start, 0)
            padding.append(choice[0])
            op.append(choice[1])
            extra.append(extra_axis)
        layer = ConvTranspose2d(kernel, strides, tuple(padding), tuple(op), dil, out_channels=w.shape[1] * group,
                                groups=group, bias="bias" in params)
        if extra == [(0, 0), (0, 0)]:
            self.emit(node, layer, [x], params)
        else:
            mid = self.emit(node, layer, [x], params, output="~")
            self.refs[node.output[0]] = self._crop_or_pad(node, mid, tuple(extra))

    def on_Gemm(self, node, a):
        w = self.const(node.input[1])
        c = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if w is None or a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise CheckerlabError("only Gemm(x, constant W, b) with alpha = beta = 1 and transA = 0 is supported")
        w = w if a.get("transB", 0) else w.T
        params = {"weight": np.ascontiguousarray(w)}
        if c is not None:
            params["bias"] = np.broadcast_to(c, (w.shape[0],)).copy()
        self.emit(node, Linear(), [self.x(node)], params)

    def on_MatMul(self, node, a):
        self.emit(node, MatMul(), [self.refs.get(i) or self.ref(i) for i in node.input])

    # -------------------------------------------------------------------------------------- resampling
    def on_Resize(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        if len(shape) != 4:
            raise CheckerlabError(f"only 4D inputs are supported, got {shape}")
        scales = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        sizes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        self._resize(node, a, x, shape, scales, sizes)

    def on_Upsample(self, node, a):
        x = self.x(node)
        self._resize(node, {"mode": a.get("mode", b"nearest"), "coordinate_transformation_mode": b"asymmetric",
                            "nearest_mode": b"floor"}, x, self.shapes[x], self.const(node.input[1]), None)

    def _resize(self, node, a, x, shape, scales, sizes):
        def text(key, default):
            v = a.get(key, default)
            return v.decode() if isinstance(v, bytes) else v
        mode, ctm = text("mode", "nearest"), text("coordinate_transformation_mode", "half_pixel")
        nearest = text("nearest_mode", "round_prefer_floor")
        if a.get("antialias", 0) or a.get("exclude_outside", 0):
            raise CheckerlabError("antialias and exclude_outside are not supported")
        if sizes is not None and sizes.size:
            size = tuple(int(v) for v in sizes[-2:])
            factor = None
            if tuple(int(v) for v in sizes[:2]) != shape[:2]:
                raise CheckerlabError("resizing the batch or channel dims is not supported")
        elif scales is not None and scales.size:
            if tuple(float(v) for v in scales[:2]) != (1.0, 1.0):
                raise CheckerlabError("resizing the batch or channel dims is not supported")
            factor, size = tuple(float(v) for v in scales[-2:]), None
        else:
            raise CheckerlabError("Resize needs scales or sizes")
        if mode == "nearest":
            ratios = [Fraction(n, m) for n, m in zip(shape[2:], size, strict=True)] if size \
                else [1 / Fraction(f) for f in factor]
            ties = any(r.numerator % 2 == 0 for r in ratios)  # (o + 1/2) r - 1/2 can be a half-integer
            if ctm == "asymmetric" and nearest == "floor":
                torch_mode = "nearest"
            elif ctm in ("half_pixel", "pytorch_half_pixel") and (
                    nearest == "round_prefer_ceil" or nearest == "round_prefer_floor" and not ties) \
                    or ctm == "tf_half_pixel_for_nn" and nearest == "floor":
                torch_mode = "nearest-exact"
            else:
                raise CheckerlabError(f"nearest with coordinate_transformation_mode={ctm!r}, nearest_mode={nearest!r}"
                                      " is not supported")
            align = None
        elif mode in ("linear", "cubic"):
            if mode == "cubic" and float(a.get("cubic_coeff_a", -0.75)) != -0.75:
                raise CheckerlabError("only cubic_coeff_a=-0.75 (PyTorch's) is supported")
            if ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
                raise CheckerlabError(f"coordinate_transformation_mode={ctm!r} is not supported for {mode}")
            torch_mode = "bilinear" if mode == "linear" else "bicubic"
            align = ctm == "align_corners"
        else:
            raise CheckerlabError(f"mode={mode!r} is not supported")
        self.emit(node, Upsample(factor, torch_mode, align, size=size), [x])

    def on_DepthToSpace(self, node, a):
        r = int(a["blocksize"])
        mode = a.get("mode", b"DCR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        x = self.x(node)
        n, c, h, w = self.shapes[x]
        if mode == "DCR":  # channel (i r + j) C' + c -> c r^2 + i r + j: a channel reorder, then CRD
            cp = c // (r * r)
            x = self._chain(node, x, [Reshape((n, r * r, cp, h, w)), Permute((0, 2, 1, 3, 4)), Reshape((n, c, h, w))])
        self.emit(node, PixelShuffle(r), [x])

    def _chain(self, node, x, ops) -> str:
        for i, op in enumerate(ops):
            name = self.name(node, f"~{i}")
            self.add(Node(name, op, (x,), {}, _module_path(node), node.op_type))
            x = name
        return x

    # ----------------------------------------------------------------------------------------- padding
    def on_Pad(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        pads = self.const(node.input[1]) if len(node.input) > 1 else np.array(a.get("pads", []))
        value = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        axes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        if pads is None:
            raise CheckerlabError("the pads depend on the input")
        pads = [int(v) for v in np.ravel(pads)]
        nd = len(shape)
        axes = list(range(nd)) if axes is None else [int(v) % nd for v in np.ravel(axes)]
        begin, end = [0] * nd, [0] * nd
        for i, ax in enumerate(axes):
            begin[ax], end[ax] = pads[i], pads[i + len(axes)]
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        v = 0.0 if value is None or not np.size(value) else float(np.ravel(value)[0])
        if nd == 4 and not any(begin[:2] + end[:2]):
            pad4 = (begin[3], end[3], begin[2], end[2])
            layer = {"reflect": ReflectionPad2d, "edge": ReplicationPad2d, "wrap": CircularPad2d}.get(mode)
            if layer is None and mode == "constant":
                from .layers.pad import ConstantPad2d

                layer = (lambda p: ZeroPad2d(p)) if v == 0 else (lambda p: ConstantPad2d(p, v))
            if layer is None:
                raise CheckerlabError(f"mode={mode!r} is not supported")
            self.emit(node, layer(pad4), [x])
            return
        if mode != "constant":
            raise CheckerlabError(f"{mode} padding of dims other than H and W is not supported")
        torch_pads = []
        for d in reversed(range(nd)):
            torch_pads += [begin[d], end[d]]
        while torch_pads[-2:] == [0, 0] and len(torch_pads) > 2:
            torch_pads = torch_pads[:-2]
        self.emit(node, PadND(tuple(torch_pads), v), [x])

    # ------------------------------------------------------------------------------------------- pooling
    def _pool(self, node, a, cls):
        x = self.x(node)
        kernel = tuple(a["kernel_shape"])
        strides = tuple(a.get("strides", [1, 1]))
        dil = tuple(a.get("dilations", [1, 1]))
        (t, b), (le, r) = self._pads(a, self.shapes[x], kernel, strides, dil)
        sym = (min(t, b), min(le, r))
        if (t, b, le, r) != (sym[0], sym[0], sym[1], sym[1]):
            raise CheckerlabError(f"asymmetric pooling pads {(t, le, b, r)} are not supported")
        ceil = bool(a.get("ceil_mode", 0))
        if cls is MaxPool2d:
            layer = MaxPool2d(kernel, strides, sym, dil, ceil)
        else:
            if dil != (1, 1):
                raise CheckerlabError("dilated average pooling is not supported")
            layer = AvgPool2d(kernel, strides, sym, ceil, bool(a.get("count_include_pad", 0)))
        self.emit(node, layer, [x])

    def on_MaxPool(self, node, a):
        if len(node.output) > 1 and node.output[1]:
            raise CheckerlabError("MaxPool's indices output is not supported")
        self._pool(node, a, MaxPool2d)

    def on_AveragePool(self, node, a):
        self._pool(node, a, AvgPool2d)

    def on_GlobalAveragePool(self, node, a):
        self.emit(node, AdaptiveAvgPool2d(1), [self.x(node)])

    # --------------------------------------------------------------------------------------------- norms
    def _inputs_const(self, node, names):
        out = {}
        for key, name in zip(names, node.input[1:], strict=False):
            if name:
                value = self.const(name)
                if value is None:
                    raise CheckerlabError(f"the {key} depends on the input")
                out[key] = value
        return out

    def on_BatchNormalization(self, node, a):
        p = self._inputs_const(node, ("weight", "bias", "running_mean", "running_var"))
        self.emit(node, BatchNorm2d(eps=float(a.get("epsilon", 1e-5))), [self.x(node)], p)

    def on_InstanceNormalization(self, node, a):
        p = self._inputs_const(node, ("weight", "bias"))
        self.emit(node, InstanceNorm2d(eps=float(a.get("epsilon", 1e-5)), affine=True), [self.x(node)], p)

    def on_LayerNormalization(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        axis = int(a.get("axis", -1)) % len(shape)
        p = self._inputs_const(node, ("weight", "bias"))
        normalized = shape[axis:]
        p = {k: np.broadcast_to(v, normalized).copy() for k, v in p.items()}
        self.emit(node, LayerNorm(normalized, float(a.get("epsilon", 1e-5)), True, "bias" in p), [x], p)

    def on_GroupNormalization(self, node, a):
        x = self.x(node)
        c = self.shapes[x][1]
        g = int(a["num_groups"])
        p = self._inputs_const(node, ("weight", "bias"))
        p = {k: np.repeat(v, c // g) if v.size == g else v for k, v in p.items()}  # opset 18's per-group scale
        self.emit(node, GroupNorm(g, eps=float(a.get("epsilon", 1e-5))), [x], p)

    # ------------------------------------------------------------------------------------- activations
    def _act(self, node, layer, params=None):
        self.emit(node, layer, [self.x(node)], params)

    def on_LeakyRelu(self, node, a):
        self._act(node, LeakyReLU(float(a.get("alpha", 0.01))))

    def on_PRelu(self, node, a):
        slope = self.const(node.input[1])
        if slope is None:
            raise CheckerlabError("the slope depends on the input")
        slope = np.ravel(slope)
        self._act(node, PReLU(slope.size), {"weight": slope})

    def on_Elu(self, node, a):
        self._act(node, ELU(float(a.get("alpha", 1.0))))

    def on_HardSigmoid(self, node, a):
        if not (math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-6) and a.get("beta", 0.5) == 0.5):
            raise CheckerlabError("only PyTorch's HardSigmoid (alpha = 1/6, beta = 1/2) is supported")
        self._act(node, Hardsigmoid())

    def on_Gelu(self, node, a):
        approx = a.get("approximate", b"none")
        self._act(node, GELU(approx.decode() if isinstance(approx, bytes) else approx))

    def on_Clip(self, node, a):
        lo = self.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("min")
        hi = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("max")
        lo = -math.inf if lo is None else float(np.ravel(lo)[0])
        hi = math.inf if hi is None else float(np.ravel(hi)[0])
        self._act(node, Hardtanh(lo, hi))

    def on_Cast(self, node, a):
        to = self.onnx.helper.tensor_dtype_to_np_dtype(a["to"])
        if not np.issubdtype(to, np.floating):
            raise CheckerlabError(f"a cast of the signal to {np.dtype(to)} is not supported")
        self._act(node, Identity())

    # --------------------------------------------------------------------------------------- arithmetic
    def on_Max(self, node, a):
        self._variadic(node, "maximum")

    def on_Min(self, node, a):
        self._variadic(node, "minimum")

    def on_Sum(self, node, a):
        self._variadic(node, "add")

    def _variadic(self, node, fn):
        names = [self.refs.get(i) or self.ref(i) for i in node.input]
        acc = names[0]
        for i, other in enumerate(names[1:]):
            last = i == len(names) - 2
            acc = self.emit(node, Binary(fn), [acc, other], output=None if last else "~")
        if len(names) == 1:
            self.emit(node, Identity(), [acc])

    # -------------------------------------------------------------------------------------------- shapes
    def _reshape_to(self, node, shape):
        self.emit(node, Reshape(tuple(int(v) for v in shape)), [self.x(node)])

    def on_Reshape(self, node, a):
        target = self.const(node.input[1])
        if target is None:
            raise CheckerlabError("the target shape depends on the input")
        shape = self.shapes[self.x(node)]
        target = [int(v) for v in np.ravel(target)]
        if not a.get("allowzero", 0):
            target = [shape[i] if v == 0 else v for i, v in enumerate(target)]
        self._reshape_to(node, target)

    def on_Flatten(self, node, a):
        shape = self.shapes[self.x(node)]
        axis = int(a.get("axis", 1)) % (len(shape) + 1)
        self._reshape_to(node, (math.prod(shape[:axis]), math.prod(shape[axis:])))

    def _axes(self, node, a):
        axes = self.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("axes")
        return None if axes is None else [int(v) for v in np.ravel(axes)]

    def on_Squeeze(self, node, a):
        shape = self.shapes[self.x(node)]
        axes = self._axes(node, a)
        axes = [i for i, n in enumerate(shape) if n == 1] if axes is None else [v % len(shape) for v in axes]
        self._reshape_to(node, [n for i, n in enumerate(shape) if i not in axes])

    def on_Unsqueeze(self, node, a):
        shape = list(self.shapes[self.x(node)])
        axes = sorted(v % (len(shape) + len(self._axes(node, a))) for v in self._axes(node, a))
        for ax in axes:
            shape.insert(ax, 1)
        self._reshape_to(node, shape)

    def on_Transpose(self, node, a):
        shape = self.shapes[self.x(node)]
        perm = tuple(a.get("perm", list(range(len(shape)))[::-1]))
        self.emit(node, Permute(tuple(int(p) for p in perm)), [self.x(node)])

    def on_Expand(self, node, a):
        target = self.const(node.input[1])
        shape = self.shapes[self.x(node)]
        out = np.broadcast_shapes(shape, tuple(int(v) for v in np.ravel(target)))
        self.emit(node, Expand(tuple(out)), [self.x(node)])

    def on_Tile(self, node, a):
        reps = [int(v) for v in np.ravel(self.const(node.input[1]))]
        x = self.x(node)
        shape = self.shapes[x]
        if len(reps) != len(shape) or min(reps, default=1) < 0:
            raise CheckerlabError(f"repeats {reps[:8]} do not fit the input's shape {shape}")
        if math.prod(shape) * math.prod(reps) > MAX_ELEMENTS:
            raise CheckerlabError(f"repeats {reps[:8]} of {shape} exceed the memory budget of {MAX_ELEMENTS:,} values")
        for d, r in enumerate(reps):
            if r > 1:
                name = self.name(node, f"~tile{d}")
                self.add(Node(name, Cat(d), (x,) * r, {}, _module_path(node), node.op_type))
                x = name
        self.emit(node, Identity(), [x])

    def on_Concat(self, node, a):
        self.emit(node, Cat(int(a["axis"])), [self.refs.get(i) or self.ref(i) for i in node.input])

    def on_Slice(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        starts, ends = (np.ravel(self.const(n)) for n in node.input[1:3])
        axes = np.ravel(self.const(node.input[3])) if len(node.input) > 3 and node.input[3] else range(len(starts))
        steps = np.ravel(self.const(node.input[4])) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        ops = []
        for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
            ax = int(ax) % len(shape)
            st = int(st)
            if st < 1:
                raise CheckerlabError("negative slice steps are not supported")
            start, stop, _ = slice(int(s), int(min(e, 1 << 62)), st).indices(shape[ax])
            ops.append(Slice(ax, start, stop, st))
        last = self._chain(node, x, ops[:-1]) if len(ops) > 1 else x
        self.emit(node, ops[-1], [last])

    def on_Split(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        axis = int(a.get("axis", 0)) % len(shape)
        split = self.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("split")
        if split is None:
            k = len(node.output)
            size = -(-shape[axis] // k)
            split = [min(size, shape[axis] - i * size) for i in range(k)]
        start = 0
        for out, n in zip(node.output, np.ravel(split), strict=True):
            name = self.name(node, f"~{out[:20]}")
            self.add(Node(name, Slice(axis, start, start + int(n)), (x,), {}, _module_path(node), node.op_type))
            self.refs[out] = name
            start += int(n)

    def on_Gather(self, node, a):
        x = self.x(node)
        shape = self.shapes[x]
        index = self.const(node.input[1])
        axis = int(a.get("axis", 0)) % len(shape)
        if index is None or index.ndim > 0:
            raise CheckerlabError("only a constant scalar index is supported")
        i = int(index) % shape[axis]
        sliced = self._chain(node, x, [Slice(axis, i, i + 1)])
        self.emit(node, Reshape(shape[:axis] + shape[axis + 1:]), [sliced])

    def on_Shape(self, node, a):
        shape = np.array(self.shapes[self.x(node)], np.int64)
        start, end = int(a.get("start", 0)), a.get("end")
        self.consts[node.output[0]] = shape[start:None if end is None else int(end)]

    def on_Softmax(self, node, a):
        self.emit(node, Softmax(int(a.get("axis", -1))), [self.x(node)])

    def _reduce(self, node, a, fn):
        axes = self._axes(node, a)
        if axes is None and a.get("noop_with_empty_axes", 0):
            self.emit(node, Identity(), [self.x(node)])
            return
        self.emit(node, Reduce(fn, None if axes is None else tuple(axes), bool(a.get("keepdims", 1))),
                  [self.x(node)])





def from_onnx(path, input_shape=None) -> Network:
    """The network of an ONNX model file (see the module docstring); `input_shape` (N, C, H, W) is needed
    when the model's input has dynamic dims."""
    onnx = onnx_package()
    model = load_model(path)
    conv = _Converter(onnx, model, input_shape)
    for node in model.graph.node:
        conv.convert(node)
    out = model.graph.output[0].name
    if out not in conv.refs:
        raise CheckerlabError(f"the output {out[:60]!r} does not depend on the input")
    return fuse(Network(prune(conv.nodes, conv.refs[out]), conv.refs[out]))
