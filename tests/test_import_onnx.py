"""from_onnx: PyTorch exports of the test architectures equal torch and from_torch; hand-made ONNX graphs
with ConvTranspose auto_pad / output_shape / asymmetric pads, Resize modes and DepthToSpace orders equal ONNX's
reference implementation (onnx.reference), both in the simulation and in the exact counts (the reference run
with all-ones weights); corrupt, truncated and hostile files give one-line errors."""

import os
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from checkerlab.analytics import CheckerlabError  # noqa: E402
from checkerlab.analytics.network_pattern import network_map, network_pattern  # noqa: E402
from checkerlab.analytics.onnx_import import from_onnx  # noqa: E402


def _model(nodes, inits, in_shape, opset=17, out="y"):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["n", "c", "h", "w"])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _ones_like(inits):
    """All-ones weights (w...), zero biases (b...), the rest as it is: the count model of the graph."""
    return {k: np.ones_like(v) if k.startswith("w") else np.zeros_like(v) if k.startswith("b") else v
            for k, v in inits.items()}


def _check(tmp_path, nodes, inits, in_shape, counts=True):
    """Simulation against the reference run; exact counts against the reference run of the count model
    (only for graphs whose ops are all linear: the count model drops norms and activations)."""
    model = _model(nodes, inits, in_shape)
    net = from_onnx(_save(tmp_path, model))
    x = np.random.default_rng(0).standard_normal(in_shape).astype(np.float32)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = net.forward(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    if not counts:
        return net
    ones = _model(nodes, _ones_like(inits), in_shape)
    count = ReferenceEvaluator(ones).run(None, {"x": np.ones(in_shape, np.float32)})[0][0]
    for (a, b), m in network_map(net):
        for c in range(a, b):
            np.testing.assert_allclose(np.asarray(m, dtype=float), count[c], rtol=1e-5)
    return net


W = np.random.default_rng(1).standard_normal((2, 3, 3, 3)).astype(np.float32)
B = np.random.default_rng(2).standard_normal(3).astype(np.float32)


@pytest.mark.parametrize("attrs", [
    {"strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"strides": [2, 2], "auto_pad": "SAME_LOWER"},
    {"strides": [2, 2], "pads": [0, 1, 1, 0]},
    {"strides": [2, 2], "pads": [1, 1, 0, 0], "output_padding": [1, 0]},
    {"strides": [2, 2], "pads": [2, 0, 0, 1], "output_padding": [1, 1]},
    {"strides": [3, 2], "pads": [2, 0, 0, 2], "dilations": [2, 1]},
    {"strides": [2, 2], "auto_pad": "VALID"},
], ids=str)
def test_conv_transpose_geometry_equals_onnx(tmp_path, attrs):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)
    _check(tmp_path, [node], {"w": W, "b": B}, [1, 2, 7, 6])


@pytest.mark.parametrize("output_shape,auto_pad",
                         [((13, 12), None), ((14, 14), "SAME_LOWER"), ((15, 13), "SAME_UPPER")])
def test_conv_transpose_output_shape_follows_the_onnx_formula(tmp_path, output_shape, auto_pad):
    """output_shape: total padding = s (n - 1) + output_padding + (k - 1) d + 1 - out, split with the odd
    pixel at the end (SAME_UPPER, also the default) or the start (SAME_LOWER) - the same network as the
    explicit pads of the ONNX spec's formula (onnx.reference does not implement output_shape)."""
    attrs = {"strides": [2, 2], "output_shape": list(output_shape)}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    pads = []
    for n, out in zip((7, 6), output_shape, strict=True):
        total = 2 * (n - 1) + 2 + 1 - out
        small, big = total // 2, total - total // 2
        pads.append((big, small) if auto_pad == "SAME_LOWER" else (small, big))
    explicit = {"strides": [2, 2], "pads": [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]}
    a = from_onnx(_save(tmp_path, _model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)],
                                         {"w": W, "b": B}, [1, 2, 7, 6]), "a.onnx"))
    b = _check(tmp_path, [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **explicit)], {"w": W, "b": B},
               [1, 2, 7, 6])
    assert a.output_shape == (1, 3, *output_shape)
    x = np.random.default_rng(0).standard_normal((1, 2, 7, 6)).astype(np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_keras_same_transposed_conv_crops_the_extra_pixel_at_the_end(tmp_path):
    """Keras/TF 'same': output n*s; with k=3, s=2 the total crop is 1, at the end (SAME_UPPER): the kept
    samples start at phase 0 of the full output, so the period-2 pattern starts with the 2-count phase."""
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")
    net = _check(tmp_path, [node], {"w": np.ones((1, 1, 3, 3), np.float32)}, [1, 1, 8, 8])
    assert net.output_shape == (1, 1, 16, 16)
    assert network_pattern(net).tile.tolist() == [[4, 2], [2, 1]]


@pytest.mark.parametrize("attrs", [{"pads": [1, 0, 2, 1]}, {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
                                   {"auto_pad": "SAME_LOWER", "strides": [2, 1]}, {"pads": [1, 1, 1, 1],
                                                                                   "dilations": [2, 2]}], ids=str)
def test_conv_geometry_equals_onnx(tmp_path, attrs):
    w = np.random.default_rng(3).standard_normal((3, 2, 3, 3)).astype(np.float32)
    _check(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], **attrs)], {"w": w}, [1, 2, 9, 8])


@pytest.mark.parametrize("mode,ctm,nearest,scales,sizes", [
    ("nearest", "asymmetric", "floor", [1, 1, 2, 2], None),
    ("nearest", "half_pixel", "round_prefer_ceil", [1, 1, 3, 2], None),
    ("nearest", "half_pixel", "round_prefer_floor", [1, 1, 2, 3], None),
    ("linear", "half_pixel", None, [1, 1, 2, 2], None),
    ("linear", "pytorch_half_pixel", None, None, [1, 2, 13, 9]),
    ("linear", "align_corners", None, [1, 1, 2, 2], None),
    ("cubic", "half_pixel", None, [1, 1, 2, 2], None),
    ("cubic", "align_corners", None, None, [1, 2, 11, 10]),
], ids=str)
def test_resize_equals_onnx(tmp_path, mode, ctm, nearest, scales, sizes):
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
    if nearest:
        attrs["nearest_mode"] = nearest
    inits = {"roi": np.zeros(0, np.float32)}
    if scales is not None:
        inits["scales"] = np.array(scales, np.float32)
        node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], **attrs)
    else:
        inits["scales"] = np.zeros(0, np.float32)
        inits["sizes"] = np.array(sizes, np.int64)
        node = helper.make_node("Resize", ["x", "roi", "scales", "sizes"], ["y"], **attrs)
    conv = helper.make_node("Conv", ["y", "w"], ["z"], pads=[1, 1, 1, 1])
    model_nodes = [node, conv]
    inits["w"] = np.ones((2, 2, 3, 3), np.float32)
    # output z: rename through an Identity so the graph output is "y"
    nodes = [helper.make_node(n.op_type, list(n.input), ["r" if o == "y" else o for o in n.output],
                              **{a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in model_nodes]
    nodes[1].input[0] = "r"
    nodes.append(helper.make_node("Identity", ["z"], ["y"]))
    _check(tmp_path, nodes, inits, [1, 2, 5, 4])


@pytest.mark.parametrize("mode", ["CRD", "DCR"])
def test_depth_to_space_equals_onnx(tmp_path, mode):
    _check(tmp_path, [helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=mode)], {}, [1, 8, 3, 4])


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_equals_onnx(tmp_path, mode):
    inits = {"pads": np.array([0, 0, 2, 1, 0, 0, 1, 2], np.int64)}
    _check(tmp_path, [helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode)], inits, [1, 2, 5, 6])


def test_pools_and_norms_equal_onnx(tmp_path):
    c = 3
    inits = {"s": np.full(c, 1.5, np.float32), "bb": np.full(c, 0.2, np.float32),
             "m": np.full(c, 0.1, np.float32), "v": np.full(c, 2.0, np.float32)}
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "bb", "m", "v"], ["a"]),
             helper.make_node("AveragePool", ["a"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                              ceil_mode=1),
             helper.make_node("MaxPool", ["p"], ["q"], kernel_shape=[2, 2], strides=[1, 1]),
             helper.make_node("InstanceNormalization", ["q", "s", "bb"], ["y"])]
    _check(tmp_path, nodes, inits, [1, c, 11, 10], counts=False)


def test_dynamic_input_dims_need_an_input_shape(tmp_path):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {}, ["N", 3, "H", "W"])
    path = _save(tmp_path, model)
    with pytest.raises(CheckerlabError, match="dynamic dims .* give input_shape"):
        from_onnx(path)
    assert from_onnx(path, input_shape=(1, 3, 8, 8)).output_shape == (1, 3, 8, 8)


def test_torch_exports_equal_torch_and_from_torch(tmp_path):
    """Every test architecture through torch.onnx.export: the same simulation and the same exact pattern."""
    torch = pytest.importorskip("torch")
    from models.architectures import ARCHITECTURES

    from checkerlab.analytics.torch_import import from_torch

    for name, (factory, shape) in ARCHITECTURES.items():
        module = factory()
        path = tmp_path / f"{name}.onnx"
        with warnings.catch_warnings():  # the exporter's own tracer and deprecation warnings
            warnings.simplefilter("ignore")
            torch.onnx.export(module, torch.randn(shape), str(path), dynamo=False, opset_version=17)
        net = from_onnx(path)
        modules = {name for name, _ in module.named_modules()}
        assert {n.module for n in net.nodes} <= modules, (name, {n.module for n in net.nodes} - modules)
        a, b = network_pattern(net), network_pattern(from_torch(module, shape))
        assert (a.kind, a.period, a.contrast) == (b.kind, b.period, b.contrast), name
        assert [(g.channels, g.edge, g.tile.tolist()) for g in a.groups] == \
            [(g.channels, g.edge, g.tile.tolist()) for g in b.groups], name
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = module(torch.from_numpy(x)).numpy()
        assert np.abs(net.forward(x) - want).max() <= 1e-4 * np.abs(want).max(), name


# ------------------------------------------------------------------------------------- hostile files
def _one_line(exc):
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) <= 300, msg
    return msg


def test_corrupt_truncated_and_empty_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(bad)
    assert "not a valid ONNX model" in _one_line(exc)
    good = _model([helper.make_node("Conv", ["x", "w"], ["y"])], {"w": W.transpose(1, 0, 2, 3)}, [1, 2, 8, 8])
    data = good.SerializeToString()
    for cut in (len(data) // 2, len(data) - 3, 7):
        t = tmp_path / f"cut{cut}.onnx"
        t.write_bytes(data[:cut])
        with pytest.raises(CheckerlabError) as exc:
            from_onnx(t)
        _one_line(exc)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(CheckerlabError, match="empty file"):
        from_onnx(empty)
    with pytest.raises(CheckerlabError, match="No such file"):
        from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(CheckerlabError, match="not a file"):
        from_onnx(tmp_path)


def _external_model(tmp_path, location, length=None):
    w = np.ones((3, 2, 3, 3), np.float32)
    t = numpy_helper.from_array(w, "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length or w.nbytes))):
        entry = t.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])], [t])
    path = tmp_path / "ext.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path, w


def test_external_data_is_loaded_only_from_inside_the_folder(tmp_path):
    path, w = _external_model(tmp_path, "w.bin")
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(path)
    assert "external data file 'w.bin' is missing" in _one_line(exc)
    (tmp_path / "w.bin").write_bytes(w.tobytes())
    assert from_onnx(path).output_shape == (1, 3, 6, 6)
    path, _ = _external_model(tmp_path, "../secret.bin")
    with pytest.raises(CheckerlabError, match="outside the model's folder"):
        from_onnx(path)
    path, _ = _external_model(tmp_path, "w.bin", length=10)
    with pytest.raises(CheckerlabError, match="holds 10 bytes"):
        from_onnx(path)


def test_absurd_dimensions_are_refused_before_anything_is_allocated(tmp_path):
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[100000, 100000, 3, 3])
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])], [t])
    path = tmp_path / "huge.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(path)
    assert "more than the budget" in _one_line(exc)
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {}, [1, 3, 10 ** 6, 10 ** 6])
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(_save(tmp_path, model, "wide.onnx"))
    assert "memory budget" in _one_line(exc)
    inits = {"roi": np.zeros(0, np.float32), "scales": np.zeros(0, np.float32),
             "sizes": np.array([1, 3, 10 ** 6, 10 ** 6], np.int64)}
    model = _model([helper.make_node("Resize", ["x", "roi", "scales", "sizes"], ["y"], mode="linear")], inits,
                   [1, 3, 8, 8])
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(_save(tmp_path, model, "resize.onnx"))
    assert "budget" in _one_line(exc)
    shape = {"s": np.array([10 ** 6, 10 ** 6, 10 ** 3], np.int64)}
    nodes = [helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])]
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(_save(tmp_path, _model(nodes, shape, [1, 3, 8, 8]), "const.onnx"))
    assert "budget" in _one_line(exc)


def test_unsupported_nodes_name_the_node_and_list_what_is_supported(tmp_path):
    model = _model([helper.make_node("CumSum", ["x", "axis"], ["y"], name="/body/cumsum/CumSum")],
                   {"axis": np.array(1, np.int64)}, [1, 3, 8, 8])
    with pytest.raises(CheckerlabError) as exc:
        from_onnx(_save(tmp_path, model))
    assert _one_line(exc).startswith("node 'body/cumsum/CumSum' (CumSum): is not supported; supported: Conv")


def test_mutated_files_give_a_network_or_one_line(tmp_path):
    """200 random byte mutations (flips, cuts, insertions, truncations) of a valid model: each loads, or fails
    with one CheckerlabError line - never another exception."""
    import random

    from mutations import mutate

    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["t"], strides=[2, 2], auto_pad="SAME_UPPER"),
             helper.make_node("Relu", ["t"], ["r"]),
             helper.make_node("DepthToSpace", ["r"], ["y"], blocksize=1)]
    seed = _model(nodes, {"w": W, "b": B}, [1, 2, 7, 6]).SerializeToString()
    rng = random.Random(0)
    loaded = 0
    for i in range(200):
        data = mutate(seed, rng)
        path = tmp_path / f"m{i}.onnx"
        path.write_bytes(data)
        try:
            network_pattern(from_onnx(path))
            loaded += 1
        except CheckerlabError as exc:
            assert "\n" not in str(exc) and len(str(exc)) <= 300
    assert 0 < loaded < 200


def test_a_file_of_too_many_tiny_nodes_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """The wire-format count of nodes, attributes and tensors (nested subgraphs included) against its budget:
    protobuf holds tiny nodes in about 15 times their file size, so the count comes before the parse."""
    from checkerlab.analytics import onnx_loading

    relu = [helper.make_node("Relu", ["x" if i == 0 else f"t{i - 1}"], [f"t{i}" if i < 149 else "y"])
            for i in range(150)]
    path = _save(tmp_path, _model(relu, {}, [1, 3, 8, 8]))
    assert from_onnx(path).output_shape == (1, 3, 8, 8)
    monkeypatch.setattr(onnx_loading, "MAX_PROTO_ENTRIES", 100)
    with pytest.raises(CheckerlabError, match="more than 100 nodes, attributes, tensors and value infos") as exc:
        from_onnx(path)
    _one_line(exc)
    inner = helper.make_graph(relu[:120], "inner", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    branch = helper.make_node("If", ["c"], ["z"], then_branch=inner, else_branch=inner)  # 2 x 120 nested nodes
    path = _save(tmp_path, _model([helper.make_node("Relu", ["x"], ["y"]), branch], {}, [1, 3, 8, 8]), "if.onnx")
    with pytest.raises(CheckerlabError, match="more than 100 nodes"):
        from_onnx(path)
    monkeypatch.setattr(onnx_loading, "MAX_PROTO_ENTRIES", 1_000_000)
    with pytest.raises(CheckerlabError, match="checker refuses"):  # within the budget: parsed, then checked
        from_onnx(path)
