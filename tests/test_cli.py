"""The `checkerlab analyze` command: output, JSON, CSV and one-line errors with exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from checkerlab.app.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_prints_the_pattern(capsys):
    code, out, err = run(capsys, "analyze", "ConvTranspose2d(3, stride=2) * 2", "--input-size", "16", "16")
    assert code == 0 and err == ""
    assert "size      16x16 -> 67x67" in out
    assert "period    4 x 4" in out and "even      no" in out and "contrast  9 = 9" in out
    assert "  0 9 6 9 3" in out and "  3 3 2 3 1" in out
    assert "(0, 1/2)  0.3333" in out


def test_analyze_json_matches_engine(capsys):
    code, out, _ = run(capsys, "analyze", "ConvTranspose2d(3, stride=2), Upsample(2, mode='bilinear')", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["output_size"] == [130, 130] and data["period"] == [4, 4]
    # o -> src = (2o - 1)/4 over the tile [2, 1]: o = 0: 1/4*1 + 3/4*2 = 7/4, o = 1: 3/4*2 + 1/4*1, ...
    assert data["profiles"][0] == ["7/4", "7/4", "5/4", "5/4"]
    assert data["is_even"] is False and data["has_holes"] is False
    assert data["contrast"] == "49/25"


def test_analyze_csv_and_config(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"schema_version": 1, "spec": "ConvTranspose2d(3, stride=2)", "input_size": [4, 5]}))
    code, out, _ = run(capsys, "analyze", str(cfg), "--csv", str(tmp_path / "m.csv"))
    assert code == 0 and "4x5 -> 9x11" in out
    rows = np.loadtxt(tmp_path / "m.csv", delimiter=",")
    assert rows.shape == (9, 11) and rows[1, 1] == 1 and rows[2, 2] == 4


@pytest.mark.parametrize("argv, message", [
    (["analyze", "ConvTranspose2d(3, stride=2, output_padding=2)"],
     "checkerlab: error: layer 0 (ConvTranspose2d): output_padding=2 must be smaller than stride (2) or dilation (1)"),
    (["analyze", "Conv2d(9)", "--input-size", "4", "4"], "checkerlab: error: layer 0 (Conv2d): output would be empty"),
    (["analyze", "Foo()"], "checkerlab: error: layer 0: unknown layer 'Foo'"),
    (["analyze", "ReLU()", "--input-size", "0", "3"],
     "checkerlab analyze: error: argument --input-size: 0 is out of range; each input size is in 1..67108864"),
    (["analyze"], "checkerlab analyze: error: the following arguments are required: spec"),
    (["frobnicate"], "checkerlab: error: argument COMMAND: invalid choice: 'frobnicate'"),
    ([], "checkerlab: error: missing COMMAND: one of analyze, formula, simulate, run, gui"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_console_script_entry_point():
    cmd = [sys.executable, "-m", "checkerlab.app.cli", "analyze", "ConvTranspose2d(4, stride=2, padding=1)"]
    out = subprocess.run(cmd,
                         capture_output=True, text=True, check=True).stdout
    assert "even      yes" in out and "artifacts none" in out


def test_formula_reads_bare_names_as_integer_symbols(capsys):
    code, out, err = run(capsys, "formula", "ConvTranspose2d(k, stride=s, padding=p)")
    assert code == 0 and err == ""
    assert r"\begin{align*}" in out and r"\bmod s" in out and r"\frac{k}{s}" in out


def test_symbols_only_where_asked():
    from checkerlab.analytics import SpecError, parse_layers
    (layer,) = parse_layers("ConvTranspose2d((k, 3), stride=s, padding=p)", symbols=True)
    k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
    assert k.is_integer and k.is_positive and s.is_positive and p.is_nonnegative and not p.is_positive
    assert layer.kernel_size[1] == 3
    with pytest.raises(SpecError, match="'k' is not a literal value"):
        parse_layers("ConvTranspose2d(k)")
