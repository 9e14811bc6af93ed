"""`checkerlab analyze` on models: ONNX files and PyTorch factories with trained weights, the per-layer
report, and hostile or broken model and weight files (exit code 2 and one line each, never a traceback)."""

import json
import pickle
import struct
import sys
import textwrap

import numpy as np
import pytest

from checkerlab.app.cli import main

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("checkerlab: error: ") and err.count("\n") == 1 and len(err) <= 300, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def factory(tmp_path, monkeypatch):
    """A user's module with a factory, importable from the current directory as `checkerlab analyze` runs."""
    (tmp_path / "usermodels.py").write_text(textwrap.dedent("""
        import torch

        def decoder():
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.ConvTranspose2d(4, 8, 3, 2, 1, 1), torch.nn.GroupNorm(2, 8), torch.nn.ReLU(),
                torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(8, 3, 3, padding=1))

        def broken():
            raise RuntimeError("no such checkpoint")
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "usermodels", raising=False)
    yield tmp_path
    sys.modules.pop("usermodels", None)


def _user(factory_dir):
    """The user's module, loaded from its file (the CLI itself imports it from the current directory)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("usermodels_copy", factory_dir / "usermodels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_safetensors(state, path):
    """The safetensors format written by hand (8-byte header length, JSON header, raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    for k, v in state.items():
        arr = v.detach().cpu().numpy().astype("<f4")
        header[k] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    head = json.dumps(header).encode()
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def _export(path, module, shape):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.randn(shape), str(path), dynamo=False, opset_version=17)


def test_analyze_an_onnx_model(capsys, tmp_path):
    path = tmp_path / "up.onnx"
    _export(path, torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3, 2), torch.nn.ReLU()), (1, 2, 8, 8))
    code, out, err = run(capsys, "analyze", path)
    assert code == 0 and err == ""
    assert "graph     3 nodes, input 2x8x8 -> output 2x17x17" in out
    assert "period 2 x 2, even no, contrast 4" in out and "evenness breaks at node" in out
    code, out, _ = run(capsys, "analyze", path, "--json", "--per-layer")
    data = json.loads(out)
    assert data["groups"][0]["tile"] == [[4, 2], [2, 1]] and data["per_layer"]["layers"][0]["role"] == "introduces"
    gains = np.array(data["per_layer"]["layers"][0]["phase_gain"])  # (C, 2, 2): the outputs of a constant input
    conv, bias = (onnx.numpy_helper.to_array(t).copy() for t in onnx.load(str(path)).graph.initializer)
    with torch.no_grad():
        y = torch.nn.functional.conv_transpose2d(torch.ones(1, 2, 8, 8), torch.from_numpy(conv), stride=2)
    np.testing.assert_allclose(gains, (y[0, :, 4:6, 4:6] + torch.from_numpy(bias)[:, None, None]).numpy(),
                               rtol=1e-5)
    code, out, _ = run(capsys, "analyze", path, "--per-layer")
    assert "phase gains (channel mean) [" in out and "introduced by: 0 (ConvTranspose2d)" in out


def test_analyze_prints_module_paths_and_survives_astronomical_path_counts(capsys, tmp_path):
    """The VAE decoder's attention products make its path count thousands of digits long (Python refuses
    str() of such ints): the verdict gives it as ~m.mme+N, the table names PyTorch module paths, JSON parses."""
    from models.architectures import ARCHITECTURES

    factory, shape = ARCHITECTURES["sd-vae-decoder"]
    module = factory()
    path = tmp_path / "vae.onnx"
    _export(path, module, shape)
    code, out, err = run(capsys, "analyze", path, "--per-layer")
    assert code == 0 and err == "", err
    assert "path(s)" in out and "~" in out.split("path(s)")[0].splitlines()[-1]
    modules = {name for name, _ in module.named_modules()}
    table = out[out.index("module "):out.index("spread: ")].splitlines()[1:]
    names = [line.split()[0] for line in table if line and not line.startswith((" ", "("))]
    assert names and set(names) - {"Mul", "Div"} <= modules, set(names) - modules  # top-level ops keep their name
    assert "up.0.2.conv" in names and "9.999999" not in out
    assert "pointwise layers and tensor ops that pass the artifact unchanged, or are unmeasured, are left out" in out
    code, out, _ = run(capsys, "analyze", path, "--per-layer", "--json")
    data = json.loads(out)
    assert data["per_layer"]["layers"] and isinstance(data["groups"][0]["paths"][0]["count"], (int, str))


def test_analyze_a_torch_factory_with_weights(capsys, factory):
    decoder = _user(factory).decoder

    code, out, err = run(capsys, "analyze", "--torch", "usermodels:decoder", "--input-shape", 1, 4, 12, 12,
                         "--per-layer")
    assert code == 0 and err == "", err
    assert "input 4x12x12 -> output 3x48x48" in out and "introduces" in out
    trained = decoder()
    with torch.no_grad():  # "trained": make the two sub-kernel sums per phase equal -> no spread
        w = trained[0].weight
        w.zero_()
        w[:, :, 1, 1] = 1.0
    save_safetensors(trained.state_dict(), factory / "w.safetensors")
    torch.save(trained.state_dict(), factory / "w.pt")
    for name in ("w.safetensors", "w.pt"):
        code, out, err = run(capsys, "analyze", "--torch", "usermodels:decoder", "--input-shape", 1, 4, 12, 12,
                             "--weights", name, "--per-layer", "--json")
        assert code == 0, err
        first = json.loads(out)["per_layer"]["layers"][0]
        assert first["layer"].startswith("ConvTranspose2d") and first["gain_spread"] > 0  # one tap of 4 phases


def test_model_arguments_are_checked(capsys, factory):
    assert "--torch needs --input-shape" in one_line_error(capsys, "analyze", "--torch", "usermodels:decoder")
    assert "write it as package.module:factory" in one_line_error(capsys, "analyze", "--torch", "usermodels",
                                                                   "--input-shape", 1, 4, 8, 8)
    assert "cannot import 'nosuchmodule'" in one_line_error(capsys, "analyze", "--torch", "nosuchmodule:f",
                                                            "--input-shape", 1, 4, 8, 8)
    assert "broken() failed: RuntimeError: no such checkpoint" in one_line_error(
        capsys, "analyze", "--torch", "usermodels:broken", "--input-shape", 1, 4, 8, 8)
    assert "forward failed" in one_line_error(capsys, "analyze", "--torch", "usermodels:decoder",
                                              "--input-shape", 1, 5, 8, 8)
    assert "needs a layer list" in one_line_error(capsys, "analyze")


def _weights_error(capsys, path):
    return one_line_error(capsys, "analyze", "--torch", "usermodels:decoder", "--input-shape", 1, 4, 8, 8,
                          "--weights", path)


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_hostile_and_broken_weight_files(capsys, factory):
    decoder = _user(factory).decoder

    good = decoder().state_dict()
    evil = factory / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"state_dict": Exploit()}, fh)
    err = _weights_error(capsys, evil)
    assert "weights_only=True) refuses it" in err and "never unpickles" in err
    torch.save(good, factory / "good.pt")
    data = (factory / "good.pt").read_bytes()
    (factory / "cut.pt").write_bytes(data[: len(data) // 2])
    assert "not a readable PyTorch checkpoint" in _weights_error(capsys, factory / "cut.pt")
    torch.save({k: v for k, v in good.items() if "0.weight" not in k}, factory / "missing.pt")
    assert "1 missing (e.g. '0.weight')" in _weights_error(capsys, factory / "missing.pt")
    torch.save({**good, "0.weight": torch.zeros(1)}, factory / "shape.pt")
    assert "'0.weight' has shape (1,)" in _weights_error(capsys, factory / "shape.pt")
    save_safetensors(good, factory / "ok.safetensors")
    raw = (factory / "ok.safetensors").read_bytes()
    (factory / "cut.safetensors").write_bytes(raw[: len(raw) - 16])
    assert "bad shape or offsets" in _weights_error(capsys, factory / "cut.safetensors")
    (factory / "huge.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    assert "header length" in _weights_error(capsys, factory / "huge.safetensors")
    header = b'{"a": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 8]}}'
    (factory / "absurd.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    assert "does not fill" in _weights_error(capsys, factory / "absurd.safetensors")
    (factory / "junk.safetensors").write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{x")
    assert "not JSON" in _weights_error(capsys, factory / "junk.safetensors")
    (factory / "w.npz").write_bytes(b"x")
    assert "use a .safetensors or a .pt/.pth" in _weights_error(capsys, factory / "w.npz")


def test_hostile_and_broken_onnx_files(capsys, tmp_path):
    (tmp_path / "junk.onnx").write_bytes(np.random.default_rng(0).bytes(2048))
    assert "not a valid ONNX model" in one_line_error(capsys, "analyze", tmp_path / "junk.onnx")
    good = tmp_path / "good.onnx"
    _export(good, torch.nn.Conv2d(2, 2, 3), (1, 2, 8, 8))
    data = good.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 3])
    one_line_error(capsys, "analyze", tmp_path / "cut.onnx")
    one_line_error(capsys, "analyze", tmp_path / "nothere.onnx")
    model = onnx.load(str(good))
    t = model.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    (tmp_path / "ext.onnx").write_bytes(model.SerializeToString())
    assert "external data file 'weights.bin' is missing" in one_line_error(capsys, "analyze", tmp_path / "ext.onnx")
    model = onnx.load(str(good))
    model.graph.initializer[0].dims[:] = [10 ** 9, 10 ** 9, 3, 3]
    (tmp_path / "dims.onnx").write_bytes(model.SerializeToString())
    assert "more than the budget" in one_line_error(capsys, "analyze", tmp_path / "dims.onnx")
    assert "--weights goes with --torch" in one_line_error(capsys, "analyze", good, "--weights", "x.pt")
    assert "--latex needs a layer stack" in one_line_error(capsys, "analyze", good, "--latex", "x.tex")


def test_mutated_weight_files_give_tensors_or_one_line(tmp_path):
    """Random byte mutations of a safetensors file and a torch.save checkpoint: each reads, or fails with one
    CheckerlabError line - never another exception (and never an unpickled object)."""
    import random

    from mutations import mutate

    from checkerlab.analytics import CheckerlabError
    from checkerlab.analytics.state_dict import read_weights

    state = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GroupNorm(2, 4)).state_dict()
    save_safetensors(state, tmp_path / "s.safetensors")
    torch.save(state, tmp_path / "s.pt")
    rng = random.Random(0)
    for suffix in (".safetensors", ".pt"):
        seed = (tmp_path / f"s{suffix}").read_bytes()
        for i in range(100):
            data = mutate(seed, rng)
            path = tmp_path / f"m{i}{suffix}"
            path.write_bytes(data)
            try:
                out = read_weights(path)
                assert all(hasattr(v, "shape") for v in out.values())
            except CheckerlabError as exc:
                assert "\n" not in str(exc) and len(str(exc)) <= 300


def test_a_spec_with_size_dependent_layers_is_analysed_at_its_input_size(capsys):
    code, out, err = run(capsys, "analyze", "ConvTranspose2d(3, stride=2), Upsample(size=(40, 40), mode='bilinear')",
                         "--input-size", 15, 15, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["output_shape"] == [1, 3, 40, 40] and data["groups"][0]["period"] == [80, 80]  # 3 input channels
    err = one_line_error(capsys, "analyze", "Upsample(size=8)", "--latex", "x.tex")
    assert "--latex needs a stack without size-dependent layers" in err


def test_model_presets_are_specs_everywhere(capsys):
    code, out, _ = run(capsys, "analyze", "pix2pix-resnet-up")
    assert code == 0 and "period    4 x 4" in out
    code, out, _ = run(capsys, "simulate", "stylegan2-blur", "--draws", 1)
    assert code == 0 and "Upfirdn2d" in out


# ------------------------------------------------------------------------ hostile files, in the sandbox
def _saved(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _zip_declaring(data: bytes, size: int) -> bytes:
    """A zip (torch.save's format) whose central directory declares `size` uncompressed bytes per entry: what
    a zip bomb looks like before it is inflated."""
    out, i = bytearray(data), 0
    while (i := out.find(b"PK\x01\x02", i)) >= 0:
        struct.pack_into("<I", out, i + 24, size)
        i += 4
    return bytes(out)


def _zip_listing(data: bytes, entries: int) -> bytes:
    """The zip64 end record of torch.save's zip patched to list `entries` entries (a central directory that
    would build millions of objects)."""
    out = bytearray(data)
    i = out.rfind(b"PK\x06\x06")
    struct.pack_into("<QQ", out, i + 24, entries, entries)
    return bytes(out)


def _legacy_storage_of(size: int) -> bytes:
    """torch.save's legacy (non-zip) format whose storage declares `size` elements (it holds 288): the reader
    allocates the declared size before it reads a byte."""
    import io
    import pickletools

    buffer = io.BytesIO()
    torch.save({"0.weight": torch.zeros(8, 4, 3, 3)}, buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    buffer.seek(0)
    for _ in range(3):  # magic number, protocol version, system info; then the pickle of the object
        pickle.load(buffer)
    start = buffer.tell()
    pos = start + next(p for op, arg, p in pickletools.genops(data[start:]) if arg == 288)
    assert data[pos:pos + 1] == b"M"  # BININT2 288
    return data[:pos] + b"J" + struct.pack("<i", size) + data[pos + 3:]


def _onnx_bytes(nodes, inits, in_shape) -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [f"d{i}" for i in
                                                                                       range(len(in_shape))])],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _weight_cases() -> dict:
    """name -> (file bytes, what the one line must say) for --weights."""
    torch.manual_seed(0)
    good = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 8, 3, 2, 1, 1), torch.nn.GroupNorm(2, 8)).state_dict()
    deep = leaf = {}
    for _ in range(100):
        leaf["a"] = {}
        leaf = leaf["a"]
    loop = {"w": torch.zeros(1)}
    loop["self"] = loop
    shared = {"w": torch.zeros(1)}
    for _ in range(40):  # 2^40 paths through 40 dicts
        shared = {"a": shared, "b": shared}
    sparse, nan = dict(good), dict(good)
    sparse["0.weight"] = good["0.weight"].to_sparse()
    nan["0.weight"] = good["0.weight"].clone()
    nan["0.weight"][0, 0, 0, 0] = float("nan")
    digits = b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'
    listed = b'{"a": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}'
    return {
        "bomb.pt": (_zip_declaring(_saved(good), 0xFFFFFFF0), "declares .* bytes uncompressed, more than the budget"),
        "entries.pt": (_zip_listing(_saved(good), 2_000_000), "lists 2,000,000 entries, more than 100,000"),
        "legacy-storage.pt": (_legacy_storage_of(2 ** 31 - 1), "not a readable PyTorch checkpoint \\(RuntimeError"),
        "deep.pt": (_saved(deep), "nests dicts more than 32 deep"),
        "loop.pt": (_saved(loop), "nests dicts more than 32 deep"),
        "shared.pt": (_saved(shared), "nests dicts more than 32 deep"),
        "intkey.pt": (_saved({1: torch.zeros(1)}), "a key of the checkpoint is a int"),
        "list.pt": (_saved([good["0.weight"]]), "holds no state dict of tensors"),
        "sparse.pt": (_saved(sparse), "'0.weight' is a torch.sparse_coo"),
        "nan.pt": (_saved(nan), "'0.weight' holds NaN or infinite values"),
        "exploit.pt": (pickle.dumps({"state_dict": Exploit()}, protocol=2), "weights_only=True\\) refuses it .*print"),
        "digits.safetensors": (struct.pack("<Q", len(digits)) + digits + b"\0" * 4, "the header is not JSON"),
        "dtype.safetensors": (struct.pack("<Q", len(listed)) + listed + b"\0" * 4, "tensor 'a' has an unknown dtype"),
        "huge.safetensors": (struct.pack("<Q", 1 << 40) + b"{}", "header length 1,099,511,627,776 exceeds"),
    }


def _onnx_cases() -> dict:
    """name -> (file bytes, what the one line must say) for `analyze model.onnx`."""
    from onnx import helper, numpy_helper

    def const(name, value, dtype=np.int64):
        return numpy_helper.from_array(np.array(value, dtype), name)

    ones = numpy_helper.from_array(np.ones((3, 3, 3, 3), np.float32), "w")
    short = numpy_helper.from_array(np.ones((3, 3, 3, 3), np.float32), "w")
    short.raw_data = short.raw_data[:10]
    column, row = const("a", np.ones((10 ** 5, 1)), np.float32), const("b", np.ones((1, 10 ** 5)), np.float32)
    folded = [helper.make_node("ReduceSum", ["c"], ["s"], keepdims=0), helper.make_node("Add", ["x", "s"], ["y"])]
    good = _onnx_bytes([helper.make_node("Conv", ["x", "w"], ["y"])], [ones], [1, 3, 8, 8])

    def external(location):
        model = onnx.load_model_from_string(good)
        t = model.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = onnx.TensorProto.EXTERNAL
        entry = t.external_data.add()
        entry.key, entry.value = "location", location
        return model.SerializeToString()
    return {
        "missing-external.onnx": (external("weights.bin"), "external data file 'weights.bin' is missing"),
        "escaping-external.onnx": (external("../../etc/passwd"), "is outside the model's folder"),
        "junk.onnx": (np.random.default_rng(0).bytes(2048), "not a valid ONNX model"),
        "cut.onnx": (good[: len(good) // 3], "not a valid ONNX model \\(bad protobuf"),
        "input-dims.onnx": (_onnx_bytes([helper.make_node("Relu", ["x"], ["y"])], [], [1, 3, 10 ** 9, 10 ** 9]),
                            "within the memory budget"),
        "short-raw.onnx": (_onnx_bytes([helper.make_node("Conv", ["x", "w"], ["y"])], [short], [1, 3, 8, 8]),
                           "raw_data size \\(10 bytes\\) is too small"),
        "stride.onnx": (_onnx_bytes([helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[10 ** 9] * 2)],
                                    [ones], [1, 3, 8, 8]), "stride\\[0\\]=1000000000 is out of range"),
        "scales.onnx": (_onnx_bytes([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear")],
                                    [const("s", [1, 1, 1e6, 1e6], np.float32)], [1, 3, 8, 8]),
                        "scale_factor: the sampling repeats every 1,000,000 output pixels"),
        "tile.onnx": (_onnx_bytes([helper.make_node("Tile", ["x", "r"], ["y"])], [const("r", [1, 1, 10 ** 5, 10 ** 5])],
                                  [1, 3, 8, 8]), "exceed the memory budget"),
        "constant-of-shape.onnx": (_onnx_bytes([helper.make_node("ConstantOfShape", ["s"], ["c"]),
                                                helper.make_node("Add", ["x", "c"], ["y"])],
                                               [const("s", [10 ** 6] * 3)], [1, 1, 1]), "would allocate"),
        "broadcast-fold.onnx": (_onnx_bytes([helper.make_node("Mul", ["a", "b"], ["c"]), *folded], [column, row],
                                            [1, 3, 8, 8]), "Mul node: would allocate 10,000,000,000 values"),
        "matmul-fold.onnx": (_onnx_bytes([helper.make_node("MatMul", ["a", "b"], ["c"]), *folded], [column, row],
                                         [1, 3, 8, 8]), "MatMul node: would allocate 10,000,000,000 values"),
    }


@pytest.fixture(scope="module")
def sandbox():
    if sys.platform == "win32":
        pytest.skip("optional: the CLI sandbox needs fork()")
    from sandbox import Sandbox

    box = Sandbox()
    yield box
    box.close()


def test_hostile_files_get_one_line_within_time_and_memory(sandbox):
    """Every hostile weights or model file, run by the CLI in a forked child limited to 4 GB and 20 s: exit 2
    and one line that says what is wrong - never a traceback, a hang or a memory blow-up."""
    import re

    from sandbox import contract_violation

    factory = textwrap.dedent("""
        import torch

        def decoder():
            return torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 8, 3, 2, 1, 1), torch.nn.GroupNorm(2, 8))
    """)
    cases = [(["analyze", "--torch", "usermodels:decoder", "--input-shape", "1", "4", "8", "8", "--weights",
               "{dir}/" + name], {"usermodels.py": factory, name: {"hex": data.hex()}}, want)
             for name, (data, want) in _weight_cases().items()]
    cases += [(["analyze", "{dir}/" + name], {name: {"hex": data.hex()}}, want)
              for name, (data, want) in _onnx_cases().items()]
    for argv, files, want in cases:
        result = sandbox.run(argv, files)
        assert contract_violation(result) is None, (argv[-1], contract_violation(result), result)
        assert result["code"] == 2 and re.search(want, result["stderr"]), (argv[-1], result["stderr"])
