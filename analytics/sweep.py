"""`sweep(grid, fn)`: evaluate fn at every point of a grid, in parallel, results in grid order.

Where it runs (`executor=`):
- None: a local pool of `workers` processes (concurrent.futures, 'spawn' start method: a fork of a process
  whose Numba/OpenMP or Qt threads are running is unsafe); one worker runs in this process, no pool.
- a `concurrent.futures.Executor` (e.g. `local_pool()`, kept open across several sweeps);
- a Dask cluster: a `distributed.Client`, or the scheduler's address ('tcp://host:8786'), for which a
  client is opened and closed here (the optional `cluster` extra: pip install 'checkerlab[cluster]').

The grid is cut into contiguous chunks, one task each; every task runs with ONE Numba thread, so that
workers x threads never exceeds the cores. Results are placed by grid index whatever the order in which
chunks finish or the worker that ran them: if Dask loses a worker it re-runs that worker's tasks elsewhere,
and each point still contributes exactly once. fn must be a module-level function (picklable by name for a
process pool; Dask also ships closures) and deterministic in its point: then the result does not depend on
the executor, the number of workers or the chunking.

Cost: len(grid) calls of fn plus O(chunks) task overhead (~1 ms each locally, a few ms on Dask).
"""

from __future__ import annotations

import math
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from contextlib import contextmanager
from typing import Any

from .errors import CheckerlabError
from .simulation import Cancelled

#: Most grid points one sweep accepts (the results are held in memory).
MAX_POINTS = 10_000_000
#: Chunks per worker: enough for load balance, progress and a prompt stop; few enough to keep overhead low.
CHUNKS_PER_WORKER = 8
#: Most points per chunk: a stop (Ctrl-C, cancel) waits for the running chunks, so they must stay short.
MAX_CHUNK = 32
#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT = 10
#: Seconds between two polls of cancel() while chunks run.
POLL = 0.25

Progress = Callable[[int, int], None]


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def one_numba_thread() -> None:
    """Make the calling thread run Numba kernels on one thread (`set_num_threads` is per thread; the process
    environment is left alone: a thread pool may run in the user's own process)."""
    import numba
    numba.set_num_threads(1)


def _worker_init() -> None:
    """A local pool worker (our own process): Ctrl-C is the parent's to handle; kernels run on one thread.

    Numba read its configuration when this process imported it (unpickling this function imports the
    package): the new NUMBA_NUM_THREADS is loaded at once, before anything launches its threads. Otherwise
    they launched with the old count and the worker's first compile (a cache miss: every kernel of a fresh
    install) reloaded the configuration and raised "Cannot set NUMBA_NUM_THREADS ... once the threads have
    been launched". Numba's own threading layer (unused by our kernels, which have their pool) keeps the
    thread count it read at import; `run_chunk` sets one thread for the kernels (`one_numba_thread`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["NUMBA_NUM_THREADS"] = "1"
    from numba.core import config
    config.reload_config()


def _load_kernels() -> None:
    """Warm a pool worker while the caller does other work: import the kernels and load their compiled code."""
    import numpy as np

    from .. import kernels
    one_numba_thread()
    kernels.conv_transpose2d(np.ones((1, 2, 2), np.float32), np.ones((1, 1, 2, 2), np.float32), stride=2)


def run_chunk(fn: Callable[[Any], Any], points: Sequence[Any]) -> list[Any]:
    """fn at each point of one chunk, in order, with one Numba thread (the task every executor runs)."""
    one_numba_thread()
    return [fn(p) for p in points]


def local_pool(workers: int | None = None) -> Executor:
    """A process pool for `sweep`: `workers` processes (default: the usable cores), 'spawn' start method,
    each with one Numba thread and SIGINT ignored. To share one across sweeps use `open_executor`, which also
    cancels the queued work when the block is left by an exception (Ctrl-C)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(_workers(workers), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init)


@contextmanager
def _owned_pool(workers: int | None) -> Iterator[Executor]:
    """`local_pool` for the duration of a block; on exit the queued tasks are cancelled, the running ones
    finish (a chunk is short), and the workers exit."""
    pool = local_pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def open_executor(executor: Any = None, workers: int | None = None) -> Iterator[Any]:
    """An executor to share across several sweeps: None opens a local pool (or, for one worker, stays None:
    the sweeps then run in this process); a scheduler address opens a Dask client; anything else is used as
    given. Whatever was opened here is closed on exit."""
    dask = _dask_client(executor)
    if dask is not None:
        client, owned = dask
        try:
            yield client
        finally:
            if owned:
                client.close()
    elif executor is None and _workers(workers) > 1:
        with _owned_pool(workers) as pool:
            for _ in range(_workers(workers)):  # the workers start and warm up in the background
                pool.submit(_load_kernels)
            yield pool
    else:
        yield executor


def _workers(workers: int | None) -> int:
    if workers is None:
        return usable_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise CheckerlabError(f"workers={workers!r} must be an integer in 1..1024")
    return workers


def _chunks(n: int, parallelism: int, chunksize: int | None) -> list[range]:
    if chunksize is None:
        chunksize = min(MAX_CHUNK, max(1, math.ceil(n / (parallelism * CHUNKS_PER_WORKER))))
    elif isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise CheckerlabError(f"chunksize={chunksize!r} must be a positive integer")
    return [range(i, min(n, i + chunksize)) for i in range(0, n, chunksize)]


def _dask_client(executor: Any) -> tuple[Any, bool] | None:
    """(client, owned) if `executor` is a distributed.Client or a scheduler address, else None."""
    is_address = isinstance(executor, str)
    if not is_address and not type(executor).__module__.startswith("distributed"):
        return None
    try:
        import distributed
    except ImportError:
        raise CheckerlabError("a Dask scheduler needs the cluster extra: pip install 'checkerlab[cluster]'") \
            from None
    if not is_address:
        if not isinstance(executor, distributed.Client):
            raise CheckerlabError(f"executor: expected a distributed.Client, got {type(executor).__name__}")
        return executor, False
    try:
        return distributed.Client(executor, timeout=CONNECT_TIMEOUT), True
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise CheckerlabError(f"--scheduler {executor}: cannot reach a Dask scheduler there ({reason})") from None


def sweep(grid: Iterable[Any], fn: Callable[[Any], Any], executor: Any = None, *, workers: int | None = None,
          chunksize: int | None = None, progress: Progress | None = None,
          cancel: Callable[[], bool] | None = None) -> list[Any]:
    """[fn(p) for p in grid], computed in parallel (see the module docstring for `executor`).

    progress(done, total) is called as chunks finish; cancel() is polled every POLL seconds: when it returns True,
    or on Ctrl-C, the chunks not yet started are cancelled, the running ones are waited for (a chunk is
    short), and `Cancelled` (respectively KeyboardInterrupt) is raised with how far the sweep got."""
    points = list(grid)
    n = len(points)
    if n > MAX_POINTS:
        raise CheckerlabError(f"the grid has {n:,} points; at most {MAX_POINTS:,} fit in one sweep")
    if n == 0:
        return []
    dask = _dask_client(executor)
    if dask is not None:
        client, owned = dask
        try:
            parallelism = max(1, sum(client.nthreads().values()))
            return _gather(_DaskTasks(client), points, fn, _chunks(n, parallelism, chunksize), progress, cancel)
        finally:
            if owned:
                client.close()
    if executor is not None:
        if not isinstance(executor, Executor):
            raise CheckerlabError(f"executor: expected None, a concurrent.futures.Executor, a distributed.Client "
                                  f"or a scheduler address, got {type(executor).__name__}")
        return _gather(_FutureTasks(executor), points, fn, _chunks(n, _workers(workers), chunksize),
                       progress, cancel)
    count = min(_workers(workers), n)
    if count == 1:
        return _serial(points, fn, chunksize, progress, cancel)
    with _owned_pool(count) as pool:
        return _gather(_FutureTasks(pool), points, fn, _chunks(n, count, chunksize), progress, cancel)


def _serial(points, fn, chunksize, progress, cancel) -> list[Any]:
    """One worker: this process, the same chunks, one Numba thread (restored afterwards)."""
    import numba
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    out: list[Any] = []
    try:
        for chunk in _chunks(len(points), 1, chunksize):
            if cancel is not None and cancel():
                raise Cancelled(f"cancelled after {len(out)} of {len(points)} points")
            try:
                out.extend(fn(points[i]) for i in chunk)
            except KeyboardInterrupt:
                raise KeyboardInterrupt(f"interrupted after {len(out)} of {len(points)} points") from None
            if progress is not None:
                progress(len(out), len(points))
    finally:
        numba.set_num_threads(threads)
    return out


class _FutureTasks:
    """Chunks as concurrent.futures futures."""

    def __init__(self, executor: Executor):
        self.executor = executor

    def submit(self, fn, points):
        return self.executor.submit(run_chunk, fn, points)

    def wait(self, pending, timeout):
        return wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)[0]

    def cancel(self, futures):
        for f in futures:
            f.cancel()
        wait(futures)  # the running chunks finish; the rest never start


class _DaskTasks:
    """Chunks as Dask futures; a chunk lost with its worker is re-run by the scheduler."""

    def __init__(self, client):
        self.client = client

    def submit(self, fn, points):
        return self.client.submit(run_chunk, fn, points, pure=False)

    def wait(self, pending, timeout):
        from distributed import wait as dask_wait
        try:
            return dask_wait(list(pending), timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return set()

    def cancel(self, futures):
        self.client.cancel(list(futures))


@contextmanager
def _sigint_as_flag() -> Iterator[Callable[[], bool]]:
    """While the sweep waits on the main thread, Ctrl-C sets a flag that the loop polls instead of raising
    KeyboardInterrupt wherever the main thread happens to be: raised inside concurrent.futures' `wait`, which
    acquires every pending future's lock in turn, it left a lock held and the pool's manager thread blocked
    on it, so the process hung after Ctrl-C. Yields `interrupted()`; elsewhere (another thread, a handler
    already installed by the caller) it changes nothing and `interrupted()` stays False."""
    hit = []
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield lambda: False
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: hit.append(signum))
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)


def _gather(tasks, points, fn, chunks, progress, cancel) -> list[Any]:
    """Submit every chunk, collect results by grid index as chunks finish; Ctrl-C and cancel() are polled every
    POLL seconds, then the chunks not started are cancelled and the running ones waited for."""
    results: list[Any] = [None] * len(points)
    index: dict[Any, range] = {}
    pending: set[Any] = set()
    done = 0
    with _sigint_as_flag() as interrupted:
        try:
            for chunk in chunks:
                if interrupted():
                    break
                future = tasks.submit(fn, [points[i] for i in chunk])
                index[future] = chunk
                pending.add(future)
            while pending:
                if interrupted():
                    raise KeyboardInterrupt
                if cancel is not None and cancel():
                    raise Cancelled(f"cancelled after {done} of {len(points)} points")
                for future in tasks.wait(pending, POLL):
                    pending.discard(future)
                    chunk = index[future]
                    results[chunk.start: chunk.stop] = future.result()
                    done += len(chunk)
                    if progress is not None:
                        progress(done, len(points))
            if interrupted():
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            tasks.cancel(pending)
            raise KeyboardInterrupt(f"interrupted after {done} of {len(points)} points") from None
        except BaseException:
            tasks.cancel(pending)
            raise
    return results


__all__ = ["MAX_POINTS", "local_pool", "open_executor", "run_chunk", "sweep", "usable_cores"]
