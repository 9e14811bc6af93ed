"""How the kernels use several cores: `parallel_for` over a small pool of Python threads.

A kernel is one compiled ``nogil`` function over a range of its jobs, ``kernel(lo, hi, *args)``, that writes only
its own jobs' outputs. `parallel_for` cuts the jobs into pieces and hands them to whichever thread asks first:
the calling thread and ``threads - 1`` helpers. Why not Numba's ``parallel=True``: a ``prange`` driver is a
second compiled copy of the whole job (seconds of compile time each), its OpenMP/TBB workers spin between
calls, two threads calling parallel code at once can abort (the workqueue layer), and its thread count is a
per-thread setting anyway. Here the thread count is the caller's ``numba.get_num_threads()`` (the GUI worker
and each Monte Carlo worker set their own), several threads may run kernels at once, and a helper that the OS
schedules late on a busy machine costs nothing: the caller takes its pieces. Cost per call with helpers:
one queue hand-off per helper and a lock per piece (microseconds).
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager


class _Pool:
    """Persistent daemon threads that run the pieces of `parallel_for` calls."""

    def __init__(self):
        self.tasks = queue.SimpleQueue()
        self.size = 0
        self.lock = threading.Lock()

    def grow(self, n: int) -> None:
        with self.lock:
            while self.size < n:
                threading.Thread(target=self._work, name=f"checkerlab-kernel-{self.size}", daemon=True).start()
                self.size += 1

    def _work(self) -> None:
        while True:
            self.tasks.get()()


_pool = _Pool()


class _Pieces:
    """The pieces of one `parallel_for` call, handed out one at a time to whichever thread asks first."""

    def __init__(self, kernel, bounds, args):
        self.kernel, self.bounds, self.args = kernel, bounds, args
        self.next, self.running, self.error = 0, 0, None
        self.cond = threading.Condition()

    def run(self) -> None:
        """Take and run pieces until none is left (a helper that wakes up late finds nothing to do)."""
        while True:
            with self.cond:
                if self.next == len(self.bounds) - 1 or self.error is not None:
                    return
                i = self.next
                self.next += 1
                self.running += 1
            try:
                self.kernel(self.bounds[i], self.bounds[i + 1], *self.args)
            except BaseException as exc:  # handed to the caller, which re-raises it
                with self.cond:
                    self.error = self.error or exc
            with self.cond:
                self.running -= 1
                self.cond.notify_all()

    def wait(self) -> None:
        """Until every piece taken by any thread has finished."""
        with self.cond:
            while self.running:
                self.cond.wait()


def parallel_for(kernel, n_jobs: int, threads: int, *args) -> None:
    """``kernel(lo, hi, *args)`` over ``[0, n_jobs)``, in pieces shared by the calling thread and ``threads - 1``
    helpers. ``kernel`` must be a ``nogil`` compiled function that writes only its own jobs' outputs.

    ``2 * threads`` pieces (fewer for fewer jobs), each to whichever thread asks first (see the module
    docstring); re-raises the first error of any piece."""
    threads = max(1, min(threads, n_jobs))
    if threads == 1:
        kernel(0, n_jobs, *args)
        return
    n_pieces = min(n_jobs, 2 * threads)
    pieces = _Pieces(kernel, [n_jobs * i // n_pieces for i in range(n_pieces + 1)], args)
    _pool.grow(threads - 1)
    for _ in range(threads - 1):
        _pool.tasks.put(pieces.run)
    pieces.run()
    pieces.wait()
    if pieces.error is not None:
        raise pieces.error


_local = threading.local()


def num_threads() -> int:
    """The threads a kernel called from this thread may use: the limit set by `limited` on this thread, else
    ``numba.get_num_threads()`` (this thread's ``numba.set_num_threads``; all cores by default)."""
    n = getattr(_local, "n", 0)
    if n:
        return n
    import numba
    return numba.get_num_threads()


@contextmanager
def limited(n: int):
    """Kernels called from this thread inside the block use at most ``n`` threads (e.g. one per Monte Carlo
    worker). Unlike ``numba.set_num_threads`` it touches no Numba threading layer from the thread."""
    before = getattr(_local, "n", 0)
    _local.n = max(1, int(n))
    try:
        yield
    finally:
        _local.n = before
