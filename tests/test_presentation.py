"""Presentation: the README's CLI outputs stay byte-identical, the renderers dispatch, the exact vs simulated
comparison is right layer by layer, and Jupyter displays results as LaTeX without any method on them."""

import json
import sys
import types
from fractions import Fraction
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
from naive_overlap import brute_overlap_map, minimal_period_1d

import checkerlab
from checkerlab.analytics import (
    CheckerlabError,
    Config,
    SimulationSettings,
    closed_form,
    compare,
    overlap_pattern,
    to_dict,
    to_latex,
    to_text,
)
from checkerlab.analytics.presentation.latex import to_jupyter
from checkerlab.analytics.presentation.text import closed_form_text, comparison_text, exact_text
from checkerlab.analytics.simulation import simulate_settings
from checkerlab.app.cli import main

README = Path(__file__).parent / "data" / "readme"


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


# ---------------------------------------------------------------- README examples, byte for byte


def test_readme_cli_outputs_are_unchanged(capsys):
    """Recorded before the presentation moved out of the domain and the CLI (tests/data/readme)."""
    config = str(README / "config.json")
    assert run(capsys, "analyze", "ConvTranspose2d(3, stride=2) * 2", "--input-size", "32", "32") == \
        (README / "analyze.txt").read_text()
    assert run(capsys, "analyze", config) == (README / "analyze_config.txt").read_text()
    assert run(capsys, "analyze", config, "--json") == (README / "analyze_config.json").read_text()
    assert run(capsys, "formula", "ConvTranspose2d(k, stride=s, padding=p)") == (README / "formula.tex").read_text()


# ---------------------------------------------------------------- patterns, models and per-layer reports

MODEL = "ConvTranspose2d(3, stride=2), ReLU(), Conv2d(3, padding=1)"


def test_to_text_of_an_overlap_pattern_is_what_analyze_prints(capsys):
    """With an input size, the CLI's text; without one, the same less the size line (no output size)."""
    spec = "ConvTranspose2d(3, stride=2) * 2"
    cli = run(capsys, "analyze", spec, "--input-size", "32", "32")
    assert to_text(overlap_pattern(spec, (32, 32))) + "\n" == cli
    free = to_text(overlap_pattern(spec))
    assert free.splitlines() == [line for line in cli.splitlines() if not line.startswith("size ")]
    assert "period    4 x 4" in free and "  3 3 2 3 1" in free  # ConvT(3, 2): counts 2 1 per axis, squared


def _model():
    from checkerlab.analytics.network import Network
    from checkerlab.analytics.network_pattern import network_pattern
    from checkerlab.analytics.stack import Stack

    net = Network.from_stack(Stack(MODEL), (1, 2, 12, 12))
    return net, network_pattern(net)


def test_to_dict_and_to_text_of_a_network_pattern(capsys):
    from checkerlab.analytics.presentation.data import model_report
    from checkerlab.analytics.presentation.text import model_text

    net, pattern = _model()
    data = to_dict(pattern)
    assert json.loads(json.dumps(data)) == data
    # ConvT(3, stride 2) counts 2, 1 per axis; Conv2d(3) sums three neighbours: 4, 5; the 2D tile is their
    # outer product, and the stack engine (an independent code path) agrees
    assert data["groups"][0]["tile"] == [[16, 20], [20, 25]] == overlap_pattern(MODEL).tile.tolist()
    assert (data["nodes"], data["input_shape"], data["output_shape"]) == (4, [1, 2, 12, 12], [1, 2, 25, 25])
    assert data["groups"][0]["contrast"] == "25/16" and data["is_even"] is False
    text = to_text(pattern)
    assert text.splitlines()[:2] == ["graph     4 nodes, input 2x12x12 -> output 2x25x25",
                                     "channels  0..1: period 2 x 2, even no, contrast 25/16"]
    assert "verdict   evenness breaks at node 0: ConvTranspose2d(3, stride=2)" in text
    report = model_report(pattern, "m")
    assert list(report) == ["model", *data] and model_text(report) == "model     m\n" + text


def test_to_dict_and_to_text_of_a_checkerboard_report():
    from checkerlab.analytics.report import checkerboard_report

    net, _ = _model()
    report = checkerboard_report(net)
    data = to_dict(report)
    assert json.loads(json.dumps(data)) == data
    assert [(r["node"], r["role"]) for r in data["layers"]] == [(r.node, r.role) for r in report.rows]
    assert [r["role"] for r in data["layers"]] == ["introduces", "damps", "amplifies"]
    conv_t = data["layers"][0]
    assert conv_t["phase_gain"] == report.rows[0].phase_gain.tolist() and conv_t["response"] is None
    text = to_text(report).splitlines()
    assert text[0] == "per layer (the model's weights, on a constant input of ones):"
    assert text[2].split()[:4] == ["0", "ConvTranspose2d(3,", "stride=2)", "introduces"]
    assert text[-len(report.verdict().splitlines()):] == ["report    " + v for v in report.verdict().splitlines()]


# ---------------------------------------------------------------- dispatch


def test_renderers_dispatch_on_the_result_and_refuse_the_rest():
    cf = closed_form("ConvTranspose2d(3, stride=2) * 2")
    assert to_text(cf) == closed_form_text(cf) and "total stride S = 4" in to_text(cf)
    assert to_latex(cf).startswith(r"\begin{align*}") and to_jupyter(cf).startswith(r"$$\begin{aligned}")
    pattern = overlap_pattern("ConvTranspose2d(3, stride=2) * 2")
    data = to_dict(pattern)
    assert json.loads(json.dumps(data)) == data
    assert [[Fraction(v) for v in row] for row in data["tile"]] == [[Fraction(v) for v in row] for row in pattern.tile]
    for render in (to_text, to_latex, to_dict):
        with pytest.raises(TypeError, match="no .* form for int"):
            render(3)


def test_exact_text_is_the_one_number_formatter():
    assert [exact_text(v) for v in (3, np.int64(-2), Fraction(7, 4), Fraction(8, 4))] == ["3", "-2", "7/4", "2"]


# ---------------------------------------------------------------- the exact vs simulated comparison


SPEC = "ConvTranspose2d(3, stride=2, out_channels=2), ReLU(), ConvTranspose2d(3, stride=2, out_channels=2), Conv2d(2)"


def brute_interior(layers, period):
    """A 2-period block from the middle of the brute-force overlap map of `layers` (the interior)."""
    full = brute_overlap_map(layers, (10, 10))
    h, w = full.shape
    ph, pw = period
    return full[h // 2 - ph: h // 2 + ph, w // 2 - pw: w // 2 + pw]


def test_comparison_is_exact_per_layer_and_carries_the_simulation():
    config = Config(SPEC, input_size=(10, 10), simulation=SimulationSettings(draws=3))
    mc = simulate_settings(config.stack, config.input_size, config.simulation)
    comparison = compare(config, mc)
    assert comparison.simulated and comparison.draws == 3 and len(comparison.layers) == 4
    spatial = [layer for layer in config.stack if not layer.is_activation]
    for row, upto in zip(comparison.layers, (1, 1, 2, 3), strict=True):
        assert row.shape == config.stack.shapes((3, 10, 10))[row.index + 1]
        block = brute_interior(spatial[:upto], row.pattern.period)
        values = [Fraction(v) for v in block.ravel()]
        assert row.pattern.period[0] == minimal_period_1d(list(block[:, 0]))
        assert row.pattern.contrast == max(values) / min(values)
        mean, mean_sq = sum(values) / len(values), sum(v * v for v in values) / len(values)
        assert abs(row.exact_energy - float(1 - mean * mean / mean_sq)) < 1e-12
        assert row.stats is mc.layers[row.index] and row.simulated_period == mc.first.metrics[row.index].period
    report = to_dict(comparison)
    assert json.loads(json.dumps(report)) == report and report["draws"] == 3
    assert report["layers"][2]["exact"] == {"period": [4, 4], "contrast": "9", "contrast_float": 9.0,
                                            "artifact_energy": comparison.layers[2].exact_energy}
    lines = comparison_text(report).splitlines()
    assert len(lines) == 5 + 4 and lines[-1].startswith(" 3 Conv2d") and to_text(comparison) == "\n".join(lines)


def test_comparison_without_a_run_has_the_exact_half_only():
    config = Config(SPEC, input_size=(10, 10))
    comparison = compare(config)
    assert not comparison.simulated and all(row.stats is None for row in comparison.layers)
    assert all(row.pattern is not None for row in comparison.layers)
    text = to_text(comparison)
    assert text.splitlines()[-1].split()[-4:-2] == ["-", "25/16"]  # simulated contrast '-', exact 5^2/4^2
    other = simulate_settings("ConvTranspose2d(3, stride=2)", (10, 10), config.simulation)
    with pytest.raises(CheckerlabError, match="another stack"):
        compare(config, other)


# ---------------------------------------------------------------- Jupyter


def test_jupyter_displays_results_as_latex(monkeypatch):
    registered = {}

    class Formatter:
        def for_type_by_name(self, module, name, func):
            registered[(module, name)] = func

    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(formatters={"text/latex": Formatter()}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    checkerlab._register_notebook_display()
    assert len(registered) == 4
    for module, name in registered:
        assert isinstance(getattr(import_module(module), name), type)  # the names point at real classes
    cf = closed_form("ConvTranspose2d(3, stride=2)")
    assert registered[(type(cf).__module__, "ClosedForm")](cf) == to_jupyter(cf)
