"""The benchmark scripts stay runnable: `make test` never times anything, but it imports every script and runs
the cheap exact-path pieces on tiny inputs, so an API change cannot break `make bench` silently (it did twice:
results stopped rendering themselves, and bench_overlap and plot.py still called `.to_dict()`)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py"))


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the scripts run only under __main__
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_imports(name):
    if name in ("bench_import", "bench_kernels", "bench_ops", "bench_simulate"):
        pytest.importorskip("torch", reason="optional: this benchmark compares against the torch extra")
    _load(name)


def test_plot_exact_series_run_on_small_stacks(monkeypatch):
    plot = _load("plot")
    monkeypatch.setattr(plot, "MAX_DEPTH", 2)
    for label, points in plot.exact_series():
        assert [(n, error) for n, _, error in points] == [(1, ""), (2, "")], label


def test_overlap_exports_agree_on_a_small_stack():
    bench = _load("bench_overlap")
    new = json.loads(bench.new_export("ConvTranspose2d(3, stride=2) * 2"))
    old = json.loads(bench.old_export("ConvTranspose2d(3, stride=2) * 2"))
    assert new["artifact_energy"] == old["artifact_energy"]  # the checks bench_overlap makes before timing
    assert new["artifact_frequencies"] == old["artifact_frequencies"][:1024]
    assert new["artifact_count"] == len(old["artifact_frequencies"]) > 0


def test_kernel_goals_give_each_verdict_from_the_figures():
    pytest.importorskip("torch", reason="optional: this benchmark compares against the torch extra")
    bench = _load("bench_kernels")
    rows = [dict(op=op, dtype=d, cls=cls, ratio=ratio, gflops=gf)
            for op in bench.OPS for d in ("float32", "float64")
            for cls, ratio, gf in (("tool", 0.4, 10.0), ("net", 0.9, 80.0))]
    peaks = {"float32": 100.0, "float64": 100.0}
    overhead = [dict(ratio=1.5)]
    compiled = [dict(what="import", first_cpu=9.0), dict(what="conv2d float32", first_cpu=4.0)]
    line = bench.goals(rows, peaks, overhead, compiled)
    assert "FAIL" not in line and "first compile <= 5 s: **pass** (the slowest first call 4.00 s" in line
    # a call that compiled little after the ones before it is judged by its first call in a cache of its own
    compiled.append(dict(what="conv_transpose2d float32", first_cpu=0.01, alone_cpu=5.2))
    assert "**FAIL** (the slowest first call 5.20 s of compiler CPU time, conv_transpose2d float32" in \
        bench.goals(rows, peaks, overhead, compiled)
    compiled.pop()
    rows[0]["ratio"] = 4.0  # one group's tool shape: geomean sqrt(4.0 * 0.9) = 1.90 over its shapes
    compiled[1]["first_cpu"] = 5.5
    line = bench.goals(rows, peaks, [dict(ratio=2.5)], compiled)
    assert line.count("**FAIL**") == 4 and "(worst 1.90)" in line and "(worst 4.00)" in line
    assert "(worst 2.50x)" in line
    assert "**pass** (the lower dtype 80%)" in line
