"""Studies: every exact row against a brute force (torch conv of ones, torch autograd, the box-filter formula, a
NumPy DFT), the Monte Carlo draws against torch forwards, reproducibility, the files and the CLI."""

import json
import math
import sys
from fractions import Fraction

import numpy as np
import pytest

from checkerlab.analytics import CheckerlabError, Conv2d, studies
from checkerlab.analytics.metrics import interiors
from checkerlab.analytics.presentation.studies import study_json, write_study
from checkerlab.analytics.stack import Stack
from checkerlab.analytics.studies import base, brightness, depth, gradient, overlap_rule, smoothing
from checkerlab.analytics.studies.montecarlo import child_rng, draw_seeds
from checkerlab.analytics.studies.networks import decoder_params
from checkerlab.analytics.studies.result import exact
from checkerlab.app.cli import main

# ------------------------------------------------------------------ brute-force references (independent of the engine)


def interior_period(row: np.ndarray, margin: int, max_period: int) -> list:
    """The minimal period and one period (indexed by coordinate mod period) of a 1D interior."""
    inner = np.arange(margin, len(row) - margin)
    assert len(inner) >= 3 * max_period, "too short for a reliable period"
    for p in range(1, max_period + 1):
        if all(row[i] == row[i + p] for i in inner[:-p]):
            first = inner[0]
            return [row[first + ((j - first) % p)] for j in range(p)]
    raise AssertionError("no period found")


def scatter_1d(n: int, layers) -> np.ndarray:
    """y[i*s + t*d] += x[i] for every layer (k, s, d), no padding, all ones: the literal definition."""
    x = np.ones(n, dtype=np.int64)
    for k, s, d in layers:
        y = np.zeros((len(x) - 1) * s + d * (k - 1) + 1, dtype=np.int64)
        for i, v in enumerate(x):
            for t in range(k):
                y[i * s + t * d] += v
        x = y
    return x


def torch_ones(layers, n: int, dims: int = 2) -> np.ndarray:
    """torch conv_transpose of an all-ones input with all-ones kernels, 1 channel, layers (k, s, d)."""
    torch = pytest.importorskip("torch")
    f = torch.nn.functional.conv_transpose2d if dims == 2 else torch.nn.functional.conv_transpose1d
    x = torch.ones((1, 1) + (n,) * dims, dtype=torch.float64)
    for k, s, d in layers:
        x = f(x, torch.ones((1, 1) + (k,) * dims, dtype=torch.float64), stride=s, dilation=d)
    return x[0, 0].numpy()


def dft_energy(x: np.ndarray, period: tuple[int, int]) -> float:
    """Energy at the artifact bins (multiples of H/ph, W/pw, not DC) over the total, by a NumPy DFT (0 for an
    all-zero output, as the library defines it)."""
    x = x.reshape(-1, *x.shape[-2:])
    h, w = x.shape[-2:]
    power = np.abs(np.fft.fft2(x.astype(np.float64))) ** 2
    bins = power[:, :: h // period[0], :: w // period[1]].sum() - power[:, 0, 0].sum()
    return float(bins / power.sum()) if power.sum() > 0 else 0.0


def whole_periods(x: np.ndarray, period, edge) -> np.ndarray:
    (t, b), (le, r) = edge
    h, w = x.shape[-2:]
    hh, ww = (h - t - b) // period[0] * period[0], (w - le - r) // period[1] * period[1]
    return x[..., t: t + hh, le: le + ww]


def stern(n: int) -> int:
    """Stern's diatomic sequence: s(0) = 0, s(1) = 1, s(2n) = s(n), s(2n+1) = s(n) + s(n+1)."""
    if n < 2:
        return n
    return stern(n // 2) if n % 2 == 0 else stern(n // 2) + stern(n // 2 + 1)


# ------------------------------------------------------------------ exact studies


def test_overlap_rule_rows_match_a_literal_scatter_and_torch():
    result = overlap_rule.run()
    assert len(result.rows) == 12 * 6 * 3
    assert list(result.rows[0]) == ["kernel_size", "stride", "dilation", "even", "period", "contrast"]
    for row in result.rows:
        k, s, d = row["kernel_size"], row["stride"], row["dilation"]
        tile = interior_period(scatter_1d(40, [(k, s, d)]), d * (k - 1), s)
        assert row["period"] == len(tile)
        assert row["even"] == (len(tile) == 1 and tile[0] > 0) == overlap_rule.rule_even(k, s, d)
        lo, hi = min(tile), max(tile)
        assert row["contrast"] == ("inf" if lo == 0 else exact(Fraction(hi, lo) ** 2))
    assert result.verdict.startswith("Confirmed exactly on all 216 layers: 70 are even")
    assert "ConvTranspose2d(3, stride=2), ConvTranspose2d(4, stride=2) is even" in result.verdict


def test_overlap_rule_rows_match_torch_2d():
    rows = {(r["kernel_size"], r["stride"], r["dilation"]): r for r in overlap_rule.run().rows}
    for (k, s, d), row in rows.items():
        m = torch_ones([(k, s, d)], 36)
        margin = d * (k - 1)
        inner = m[margin: m.shape[0] - margin, margin: m.shape[1] - margin]
        lo, hi = inner.min(), inner.max()
        assert row["contrast"] == ("inf" if lo == 0 else exact(Fraction(int(hi), int(lo))))
        assert row["even"] == (lo == hi > 0)


def test_depth_rows_match_torch_stern_fibonacci_and_a_numpy_dft():
    result = depth.run()
    assert [r["contrast"] for r in result.rows] == [4, 9, 25, 64, 169, 441, 1156, 3025]
    for row in result.rows:
        n = row["depth"]
        line = torch_ones([(3, 2, 1)] * n, 12, dims=1)
        tile = interior_period(line, 2 ** (n + 1), 2 ** n)
        assert tile == [stern(2 ** n + 1 + j) for j in range(2 ** n)]
        assert row["period"] == [2 ** n, 2 ** n]
        assert row["contrast"] == (max(tile) // min(tile)) ** 2 == depth.fibonacci(n + 2) ** 2
        t2 = np.multiply.outer(np.array(tile, dtype=np.int64), np.array(tile, dtype=np.int64))
        if n <= 4:  # the 2D tile straight from a 2D torch run
            m = torch_ones([(3, 2, 1)] * n, 12)
            first = 2 ** (n + 1)
            block = m[first: first + 2 ** n, first: first + 2 ** n]
            assert np.array_equal(np.roll(block, (first % 2 ** n,) * 2, axis=(0, 1)), t2)
        total, squares, size = int(t2.sum()), int((t2 * t2).sum()), t2.size
        assert row["energy"] == pytest.approx(float(1 - Fraction(total * total, size * squares)), abs=1e-12)
        spectrum = np.abs(np.fft.fft2(t2))
        spectrum[0, 0] = 0
        assert row["amplitude"] == pytest.approx(spectrum.max() / t2.sum(), abs=1e-12)
    assert "stays 0.3333 at every depth" in result.verdict and "F(depth+2)^2" in result.verdict


def test_depth_with_another_layer_and_its_budget():
    rows = depth.run(layer="ConvTranspose2d(5, stride=3)").rows
    assert [r["contrast"] for r in rows] == [4 ** n for n in range(1, 9)]  # tile [2, 2, 1] per axis, 2^n
    even = depth.run(layer="ConvTranspose2d(4, stride=2, padding=1)")
    assert {r["contrast"] for r in even.rows} == {1} and "is even" in even.verdict
    capped = depth.run(layer="ConvTranspose2d(5, stride=5)")
    assert [r["depth"] for r in capped.rows] == [1, 2, 3, 4, 5, 6] and "Stopped at depth 6" in capped.verdict
    with pytest.raises(CheckerlabError, match="applies to the depth study only"):
        studies.run("smoothing", layer="ConvTranspose2d(3, stride=2)")


def test_smoothing_exact_rows_match_torch_the_box_formula_and_a_numpy_dft():
    torch = pytest.importorskip("torch")
    rows = [r for r in smoothing.exact_rows()]
    up = torch.tensor(torch_ones([(3, 2, 1)] * 2, 12))[None, None]
    before = interior_period(up[0, 0, 20].numpy(), 8, 4)
    rel_before = np.abs(np.fft.fft(before)) / sum(before)
    for row in rows:
        k, f = row["head_kernel"], Fraction(row["frequency"])
        out = torch.nn.functional.conv2d(up, torch.ones((1, 1, k, k), dtype=torch.float64))[0, 0].numpy()
        after = interior_period(out[20], 8, 4)
        after = np.tile(after, 4 // len(after))  # a box of size 4 leaves period 1
        rel_after = np.abs(np.fft.fft(after)) / sum(after)
        m = int(f * 4)
        assert row["amplitude_before"] == pytest.approx(rel_before[m], abs=1e-12)
        assert row["amplitude_after"] == pytest.approx(rel_after[m], abs=1e-12)
        formula = abs(math.sin(math.pi * f * k) / (k * math.sin(math.pi * f)))
        assert row["ratio"] == pytest.approx(formula, abs=1e-12) and row["box_response"] == pytest.approx(formula)
    assert {(r["head_kernel"], r["frequency"]) for r in rows if r["amplitude_after"] == 0} == \
        {(2, "1/2"), (4, "1/4"), (4, "1/2"), (6, "1/2")}


def test_smoothing_random_head_draw_matches_torch_and_does_not_damp():
    torch = pytest.importorskip("torch")
    seed = draw_seeds(11, 2)[0]
    values = smoothing.random_head_draw(seed, 4).reshape(6, 3)
    rng = child_rng(seed, 0)
    x = torch.ones((1, 1, smoothing.INPUT_SIZE, smoothing.INPUT_SIZE), dtype=torch.float64)
    for _ in range(2):
        x = torch.nn.functional.conv_transpose2d(x, torch.ones((1, 1, 3, 3), dtype=torch.float64), stride=2)
    for i, k in enumerate(smoothing.HEAD_KERNELS):
        head = rng.uniform(-1 / k, 1 / k, (1, 1, k, k)).astype(np.float32)
        y = torch.nn.functional.conv2d(x, torch.tensor(head, dtype=torch.float64))[0, 0].numpy()
        stack = Stack([*Stack(smoothing.UPSAMPLER), Conv2d(k, bias=False)])
        win = whole_periods(y, (4, 4), interiors(stack, smoothing.INPUT_SIZE)[-1].edge)
        tile = win.reshape(win.shape[0] // 4, 4, win.shape[1] // 4, 4).mean(axis=(0, 2))
        expected = np.abs(np.fft.fft(tile.sum(axis=1))) ** 2  # |Y(m/4, 0)|^2
        # the row's phase origin differs from the window's by a shift: |DFT| is shift invariant
        np.testing.assert_allclose(values[i], [expected[1], expected[2], expected[0]], rtol=2e-4)
    rows = smoothing.random_rows(0, 64, workers=1)
    assert all(abs(r["ratio"] - 1) <= 4 * r["ratio_stderr"] for r in rows if r["ratio_stderr"] > 0)


# ------------------------------------------------------------------ Monte Carlo studies: draws against torch


def torch_forward(stack: Stack, params, x: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch")
    t = torch.tensor(x[None], dtype=torch.float64)
    for layer, p in zip(stack, params, strict=True):
        if p is None:
            t = torch.relu(t)
            continue
        w, b = (torch.tensor(v, dtype=torch.float64) for v in p)
        t = torch.nn.functional.conv_transpose2d(t, w, b, stride=layer.stride, padding=layer.padding,
                                                 output_padding=layer.output_padding)
    return t[0].numpy()


def test_brightness_draw_matches_torch_and_a_numpy_dft():
    seed = draw_seeds(4, 3)[2]
    values = brightness.draw(seed)
    nets = brightness.stacks()
    weights = decoder_params(nets["none"], 3, child_rng(seed, 0))
    for i, act in enumerate(brightness.ACTIVATIONS):
        for j, bias in enumerate(brightness.BIASES):
            for k in (0, 3, 10):
                level = brightness.BRIGHTNESS[k]
                params = brightness._params_for(nets[act], weights, bias)
                x = np.full((3, 6, 6), level, np.float32)
                y = torch_forward(nets[act], params, x)
                # a constant input: the interior is exactly periodic, any whole-period window gives the same
                expected = dft_energy(whole_periods(y, (4, 4), ((4, 4), (4, 4))), (4, 4))
                assert values[i, j, k] == pytest.approx(expected, rel=1e-4, abs=1e-9), (act, bias, level)
    zero = brightness.BIASES.index(0.0)
    assert np.ptp(values[:, zero, 1:], axis=-1).max() < 1e-6  # positively homogeneous: flat in brightness


def test_brightness_verdict_separates_the_causes():
    result = brightness.run(seed=0, draws=24, workers=1)
    assert len(result.rows) == 66 and list(result.rows[0]) == ["brightness", "bias", "activation",
                                                               "artifact_mean", "artifact_stderr"]
    assert "ReLU is not needed" in result.verdict and "dim inputs worse" in result.verdict
    assert "does not depend on brightness" in result.verdict


def test_base_draw_matches_torch_and_a_numpy_dft():
    seed = draw_seeds(9, 2)[1]
    values = base.draw(seed)
    from checkerlab.analytics import make_input
    image = make_input("natural", base.INPUT_SIZE, 3, seed=int(child_rng(seed, 1).integers(1 << 32)))
    rng = child_rng(seed, 0)
    for i, spec in enumerate(base.STACKS.values()):
        stack = Stack(spec)
        geometry = interiors(stack, base.INPUT_SIZE)[-1]
        for j, params in enumerate((decoder_params(stack, 3, rng, bias_spread=base.BIAS_SPREAD),
                                    decoder_params(stack, 3, None))):
            y = torch_forward(stack, params, image)
            expected = dft_energy(whole_periods(y, geometry.period, geometry.edge), geometry.period)
            assert values[i, j] == pytest.approx(expected, rel=1e-3, abs=1e-8)
    even_baseline = values[0, 1]
    assert even_baseline < 1e-3 < values[0, 0]  # flat overlap, yet random kernels paint a pattern


def test_gradient_rows_match_torch_autograd():
    torch = pytest.importorskip("torch")
    result = gradient.run(seed=0, draws=16, workers=1)
    for row in result.rows:
        k, s = row["kernel_size"], row["stride"]
        n = gradient.input_size(k, s)
        x = torch.ones((1, 1, n), dtype=torch.float64, requires_grad=True)  # per axis: the 2D count is c(i) c(j)
        torch.nn.functional.conv1d(x, torch.ones((1, 1, k), dtype=torch.float64), stride=s).sum().backward()
        tile = interior_period(x.grad[0, 0].numpy(), k, s)
        assert row["tile"] == [int(v) for v in tile] and row["period"] == len(tile)
        assert row["even"] == (k % s == 0)
        expected = np.tile(row["tile"], s // row["period"])
        assert all(abs(m - c) <= 4.5 * e if e > 0 else m == c
                   for m, c, e in zip(row["simulated"], expected, row["simulated_stderr"], strict=True))
    w = np.random.default_rng(1).uniform(0, 1, (4, 1, 3, 3)).astype(np.float32)
    x = torch.ones((1, 1, 13, 13), dtype=torch.float32, requires_grad=True)
    torch.nn.functional.conv2d(x, torch.tensor(w), stride=2).sum().backward()
    np.testing.assert_allclose(gradient.gradient(w, 13, 2), x.grad[0].numpy(), rtol=1e-6)


# ------------------------------------------------------------------ reproducibility, files, API, CLI


def test_same_seed_same_json_however_the_draws_are_split():
    one = study_json(studies.run("smoothing", seed=3, draws=10, workers=1))
    two = study_json(studies.run("smoothing", seed=3, draws=10, workers=1))
    pooled = study_json(studies.run("smoothing", seed=3, draws=10, workers=2))
    assert one == two == pooled
    assert study_json(studies.run("smoothing", seed=4, draws=10, workers=1)) != one
    data = json.loads(one)
    assert list(data) == ["study", "claim", "verdict", "settings", "rows"]
    assert data["settings"]["seed"] == 3 and data["settings"]["draws"] == 10


def test_api_is_reachable_from_the_package():
    import checkerlab
    assert checkerlab.studies is studies and callable(checkerlab.sweep)
    assert checkerlab.studies.run("depth").rows[1]["contrast"] == 9
    with pytest.raises(CheckerlabError, match="unknown study 'nope'"):
        studies.run("nope")
    with pytest.raises(CheckerlabError, match="draws=1 must be an integer in 2"):
        studies.run("base", draws=1)


def test_write_produces_json_csv_png_svg(tmp_path):
    result = studies.run("depth")
    paths = write_study(result, tmp_path)
    assert [p.name for p in paths] == ["depth.json", "depth.csv", "depth.png", "depth.svg"]
    assert (tmp_path / "depth.json").read_text() == study_json(result)
    lines = (tmp_path / "depth.csv").read_text().splitlines()
    assert lines[0] == "depth,period,contrast,energy,amplitude" and lines[1].startswith('1,"[2, 2]",4,0.19,')
    assert len(lines) == 9


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_study_prints_the_table_and_writes_the_files(tmp_path, capsys):
    code, out, err = run_cli(capsys, "study", "overlap-rule", "--out", str(tmp_path))
    assert code == 0 and err == ""
    assert "kernel_size  stride  dilation  even  period  contrast" in out and "verdict  Confirmed" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overlap-rule.csv", "overlap-rule.json",
                                                         "overlap-rule.png", "overlap-rule.svg"]


@pytest.mark.parametrize("argv, message", [
    (["study", "base", "--draws", "1"], "checkerlab: error: draws=1 must be an integer in 2..100,000"),
    (["study", "nope"], "checkerlab study: error: argument name: invalid choice: 'nope'"),
    (["study", "base", "--layer", "ConvTranspose2d(3, stride=2)"], "applies to the depth study only"),
    (["study", "depth", "--layer", "ConvTranspose2d(3, stride=0)"], "layer 0 (ConvTranspose2d): stride=0"),
    (["study", "base", "--seed", "-1"], "checkerlab: error: seed=-1 must be an integer in 0..2^64-1"),
    (["study", "base", "--workers", "0"], "checkerlab: error: workers=0 must be an integer in 1..1024"),
])
def test_cli_study_bad_input_is_one_line_exit_2(capsys, tmp_path, argv, message):
    code, out, err = run_cli(capsys, *argv, "--out", str(tmp_path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_cli_without_matplotlib_says_what_to_install(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    for argv in (["study", "depth", "--out", str(tmp_path)], ["figure", "ConvTranspose2d(3, stride=2)",
                                                              "--out", str(tmp_path / "f.svg")]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and err.strip() == "checkerlab: error: figures need matplotlib: pip install " \
                                            "'checkerlab[figures]'"
    assert list(tmp_path.iterdir()) == []


def test_docs_quote_the_committed_results_and_they_are_current():
    """docs/studies.md quotes every verdict of docs/studies/*.json; the exact ones (and smoothing) re-run equal."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    text = " ".join((root / "docs" / "studies.md").read_text().split())
    for name in studies.NAMES:
        committed = json.loads((root / "docs" / "studies" / f"{name}.json").read_text())
        assert " ".join(committed["verdict"].split()) in text, name
        assert (root / "docs" / "studies" / f"{name}.png").exists() and f"(studies/{name}.png)" in text
    for name in ("overlap-rule", "depth", "smoothing"):
        fresh = study_json(studies.run(name, seed=0, draws=studies.DEFAULT_DRAWS, workers=1))
        assert fresh == (root / "docs" / "studies" / f"{name}.json").read_text(), name


def test_decoder_kernels_preserve_brightness_on_average():
    """The mean kernel maps a constant image to itself (averaged over phases); random kernels have that mean."""
    from checkerlab.analytics.simulation import forward
    stack = Stack("ConvTranspose2d(3, stride=2, out_channels=8), ReLU(), Conv2d(3, out_channels=4, bias=False), "
                  "ConvTranspose2d(4, stride=2, groups=2, out_channels=6)")
    mean = decoder_params(stack, 3, None, bias=0.0)
    y = forward(stack, np.full((3, 12, 12), 0.7, np.float32), mean)[-1]
    geometry = interiors(stack, 12)[-1]
    assert whole_periods(y, geometry.period, geometry.edge).mean() == pytest.approx(0.7, rel=1e-6)
    assert mean[2][1] is None  # Conv2d(bias=False) keeps no bias
    draws = [decoder_params(stack, 3, np.random.default_rng(i), bias=0.1, bias_spread=0.05) for i in range(200)]
    for i in (0, 2, 3):
        w = np.stack([d[i][0] for d in draws])
        assert w.min() >= 0 and w.mean() == pytest.approx(mean[i][0].mean(), rel=0.02)
    b = np.stack([d[0][1] for d in draws])
    assert b.min() >= 0.05 and b.max() <= 0.15 and b.mean() == pytest.approx(0.1, abs=0.005)


def test_studies_compute_and_presentation_renders():
    """Arrows go down: the studies (domain) never import presentation, lazily or not; presentation may import
    them. Every module of analytics/studies/ is parsed for its imports."""
    import ast
    from pathlib import Path
    folder = Path(studies.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "presentation" not in (node.module or ""), f"{path.name}:{node.lineno}"
            elif isinstance(node, ast.Import):
                assert not any("presentation" in a.name for a in node.names), f"{path.name}:{node.lineno}"
    import checkerlab
    assert checkerlab.write_study is write_study and callable(checkerlab.study_table)
