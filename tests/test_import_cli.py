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
