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
