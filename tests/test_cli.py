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
    (["analyze"], "checkerlab: error: analyze needs a layer list, a .json config, a preset, a .onnx model or --torch"),
    (["frobnicate"], "checkerlab: error: argument COMMAND: invalid choice: 'frobnicate'"),
    ([], "checkerlab: error: missing COMMAND: one of analyze, formula, simulate, study, figure, run, gui"),
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


def test_top_level_help_lists_the_commands_and_presets(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("analyze", "formula", "simulate", "run", "gui"):
        assert f"\n    {command} " in out
    assert "pix2pix" in out and "SPEC is a layer list" in out


@pytest.mark.parametrize("argv, expect", [
    (["analyze", "pix2pix"], "size      8x8 -> 256x256"),
    (["analyze", "distill-k3s2", "--json"], '"contrast": "4"'),
    (["simulate", "distill-k4s2", "--input-size", "6", "6"], "output    3x12x12"),
    (["formula", "distill-stacked"], r"S &= 4"),
])
def test_presets_work_as_spec_everywhere(capsys, argv, expect):
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == "" and expect in out


def test_no_warning_reaches_the_terminal():
    """Odd literals make Python's parser warn (SyntaxWarning / DeprecationWarning); the user sees one error line."""
    spec = "Upsample(2, mode='\\d'), ReLU() is 1"
    cmd = [sys.executable, "-W", "always", "-m", "checkerlab.app.cli", "analyze", spec]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Warning" not in result.stderr


def test_a_bug_is_one_line_and_exit_1_not_a_traceback(capsys, monkeypatch):
    import checkerlab.app.cli as cli

    monkeypatch.setattr(cli, "analysis_report", lambda config: 1 / 0)
    code, out, err = run(capsys, "analyze", "ReLU()")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("checkerlab: internal error: ZeroDivisionError: division by zero (please report it")
    monkeypatch.setenv("CHECKERLAB_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["analyze", "ReLU()"])


def test_one_line_cuts_visibly():
    from checkerlab.app.cli import MAX_MESSAGE, one_line

    assert one_line("a\n  b\tc") == "a b c"
    cut = one_line("x" * 1000)
    assert len(cut) == MAX_MESSAGE and cut.endswith("[...]")
    assert one_line("\udcff") == "\\udcff"


def test_symbolic_deadline(capsys, monkeypatch):
    import time

    import checkerlab.analytics as analytics

    monkeypatch.setattr(analytics, "closed_form", lambda stack, axis: time.sleep(5))
    monkeypatch.setenv("CHECKERLAB_SYMBOLIC_SECONDS", "0.2")
    start = time.perf_counter()
    code, out, err = run(capsys, "formula", "ReLU()")
    assert code == 2 and time.perf_counter() - start < 3
    assert "deriving the closed form took longer than 0.2 s, its budget (CHECKERLAB_SYMBOLIC_SECONDS)" in err
    monkeypatch.setenv("CHECKERLAB_SYMBOLIC_SECONDS", "soon")
    code, out, err = run(capsys, "formula", "ReLU()")
    assert code == 2 and "CHECKERLAB_SYMBOLIC_SECONDS='soon' must be a number of seconds" in err


def test_bias_may_be_a_number(capsys):
    code, out, _ = run(capsys, "simulate", "ConvTranspose2d(3, stride=2)", "--bias", "0.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["simulation"]["bias"] == "constant" and data["simulation"]["bias_value"] == 0.5


def test_a_first_compile_is_explained_in_one_line_once(capsys):
    """On a terminal the CLI says why its first run pauses: Numba's compile event of one of our kernels
    (a cache miss) prints one line; other libraries' compiles and later kernels print nothing."""
    from numba.core import event

    from checkerlab.app import cli
    from checkerlab.kernels import gather

    def compiling(fn):
        return event.Event("numba:compile", event.EventStatus.START, data={"dispatcher": fn})

    class Foreign:  # a dispatcher of a function outside the package (the checkout's tests/ are inside it)
        py_func = staticmethod(json.dumps)

    cli._explain_first_compile()
    event.broadcast(compiling(Foreign()))
    assert capsys.readouterr().err == ""
    event.broadcast(compiling(gather._gather_conv))
    event.broadcast(compiling(gather._stage))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("checkerlab: compiling the kernels for their first run")
