"""`sweep`: results in grid order on every executor; a Dask LocalCluster gives the same results as the local
run, also when a worker is killed mid-sweep; cancel and Ctrl-C stop cleanly."""

import math
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from checkerlab.analytics import CheckerlabError
from checkerlab.analytics.simulation import Cancelled
from checkerlab.analytics.studies import base
from checkerlab.analytics.studies.montecarlo import draw_seeds, estimate, ratio_estimate, run_draws
from checkerlab.analytics.sweep import MAX_CHUNK, open_executor, sweep


def test_serial_pool_and_thread_executor_agree_in_grid_order():
    grid = list(range(-40, 40))
    expected = [math.factorial(abs(v)) for v in grid]
    assert sweep(grid, abs, workers=1) == [abs(v) for v in grid]
    seen = []
    assert sweep(grid, abs, workers=2, chunksize=3,
                 progress=lambda done, total: seen.append((done, total))) == [abs(v) for v in grid]
    assert seen[-1] == (80, 80) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with ThreadPoolExecutor(3) as pool:
        assert sweep([abs(v) for v in grid], math.factorial, pool, chunksize=7) == expected
    assert sweep([], abs) == []


def test_monte_carlo_draws_do_not_depend_on_the_split():
    serial = run_draws(base.draw, 7, 12, workers=1)
    with open_executor(None, 2) as pool:
        pooled = run_draws(base.draw, 7, 12, pool)
        chunked = np.stack(sweep(draw_seeds(7, 12), base.draw, pool, chunksize=5))
    assert serial.tobytes() == pooled.tobytes() == chunked.tobytes()
    assert serial.shape == (12, 2, 2)
    assert run_draws(base.draw, 8, 12, workers=1).tobytes() != serial.tobytes()  # the seed matters
    # draw d depends only on (seed, d): the first 5 of 12 are the 5 of a 5-draw run
    assert run_draws(base.draw, 7, 5, workers=1).tobytes() == serial[:5].tobytes()


def test_pool_workers_compile_their_kernels_in_an_empty_cache(tmp_path, monkeypatch):
    """A fresh install: every kernel compiles in the pool's workers. Their one-thread setting must already be
    Numba's configuration then (a compile reloads it; with the threads launched at the old count that raised
    "Cannot set NUMBA_NUM_THREADS ... once the threads have been launched", and `checkerlab study` failed)."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))  # the spawned workers' kernel cache: empty
    with open_executor(None, 2) as pool:
        pooled = run_draws(base.draw, 7, 4, pool)
    assert pooled.tobytes() == run_draws(base.draw, 7, 4, workers=1).tobytes()
    assert any(tmp_path.rglob("*.nbi"))  # the workers did compile (and cache) kernels there


def test_estimates_match_their_formulas():
    v = np.array([1.0, 2.0, 4.0, 7.0])
    e = estimate(v)
    assert e.mean == 3.5 and e.stderr == pytest.approx(np.sqrt(((v - 3.5) ** 2).sum() / 3) / 2) and e.draws == 4
    rng = np.random.default_rng(0)
    a, b = rng.normal(2, 0.1, 10_000), rng.normal(4, 0.1, 10_000)
    r = ratio_estimate(a, b)
    assert r.mean == pytest.approx(a.mean() / b.mean())
    # delta method against the spread of the ratio over independent batches
    batches = [ratio_estimate(a[i::20], b[i::20]).mean for i in range(20)]
    assert r.stderr == pytest.approx(np.std(batches, ddof=1) / np.sqrt(20), rel=0.5)


def test_cancel_stops_and_raises():
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled, match="cancelled after"):
        sweep(range(200), abs, workers=1, chunksize=10, cancel=cancel)
    with pytest.raises(Cancelled, match=r"cancelled after \d+ of 400 points"):
        with open_executor(None, 2) as pool:
            sweep(range(400), time.sleep, pool, chunksize=1, cancel=lambda: True)


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers=0 must be an integer in 1..1024"),
    ({"chunksize": 0}, "chunksize=0 must be a positive integer"),
    ({"executor": 3}, "executor: expected None, a concurrent.futures.Executor"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(CheckerlabError, match=message):
        sweep(range(3), abs, **kwargs)


def test_chunks_stay_short_for_a_prompt_stop():
    sizes = []
    sweep(range(5000), abs, workers=1, progress=lambda done, total: sizes.append(done))
    assert max(np.diff([0, *sizes])) <= MAX_CHUNK


def test_unreachable_scheduler_is_a_one_line_error(monkeypatch):
    module = sys.modules["checkerlab.analytics.sweep"]  # `checkerlab.analytics.sweep` is the function
    monkeypatch.setattr(module, "CONNECT_TIMEOUT", 1)
    with pytest.raises(CheckerlabError, match="cannot reach a Dask scheduler"):
        sweep(range(3), abs, "tcp://127.0.0.1:9")


# ------------------------------------------------------------------ Dask


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield cluster, client


def test_dask_matches_the_local_run_also_when_a_worker_dies(cluster):
    _, client = cluster
    seeds = draw_seeds(3, 120)
    local = sweep(seeds, base.draw, workers=1)
    before = client.run(os.getpid)
    killed = []

    def kill_one_worker(done, total):  # mid-sweep: after the first chunks, while others are running
        if not killed and done >= total // 4:
            pid = next(iter(before.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    remote = sweep(seeds, base.draw, client, chunksize=2, progress=kill_one_worker)
    assert killed and killed[0] not in client.run(os.getpid).values()  # it really died (the nanny restarts it)
    assert np.stack(remote).tobytes() == np.stack(local).tobytes()  # nothing lost, nothing counted twice


def test_dask_scheduler_address_gives_identical_study_json(cluster):
    from checkerlab.analytics import studies
    from checkerlab.analytics.presentation.studies import study_json
    local_cluster, client = cluster
    client.wait_for_workers(2, timeout=60)
    local = studies.run("gradient", seed=5, draws=6, workers=2)
    remote = studies.run("gradient", seed=5, draws=6, executor=local_cluster.scheduler_address)
    assert study_json(remote) == study_json(local)


def test_ctrl_c_stops_the_cli_cleanly(tmp_path):
    """SIGINT while a local pool runs: exit 130, one line, no files, no worker left behind."""
    exe = Path(sys.executable).with_name("checkerlab")
    # SIGINT at its default disposition, as in a terminal: a process started in the background (nohup, `&` in a
    # script) ignores it, and its children inherit that, so the CLI would rightly ignore the signal sent here
    argv = [str(exe), "study", "brightness", "--draws", "100000", "--out", str(tmp_path)]
    start = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", start, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    workers = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
    time.sleep(6)  # the workers are importing / computing draws
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(r"checkerlab: study brightness interrupted( after \d+ of 100000 points)?; its files were "
                        r"not written", lines[0]), err
    assert list(tmp_path.iterdir()) == []
    time.sleep(0.5)
    assert workers and not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                            and "zombie" not in Path(f"/proc/{pid}/status").read_text()]


def test_worker_start_imports_no_sympy():
    """Every pool worker starts with `import checkerlab`: the lazy part of the API (SymPy) must stay lazy."""
    code = ("import sys, checkerlab, checkerlab.analytics.studies; "
            "assert 'sympy' not in sys.modules, 'sympy imported'; assert callable(checkerlab.closed_form)")
    subprocess.run([sys.executable, "-c", code], check=True)
