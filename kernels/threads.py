"""How the kernels use several cores: `run_jobs` and `parallel_for` over a small pool of Python threads.

A compiled kernel is one ``nogil`` function over its jobs, ``kernel(jobs, *args)``, that takes jobs with
`claim` (one atomic add each) until none is left and writes only those jobs' outputs. `run_jobs` calls it on
the calling thread and on ``threads - 1`` helpers at once: every thread enters the kernel once, the jobs go
to whichever thread is free (a helper that starts late takes fewer, or none), and the caller, once its own
claims fail, spins for the helpers' last jobs (an atomic count of threads inside). No Python runs per job
and no thread waits on a lock: the rows kernel on 2x8x128^2 k3 (8 jobs) takes 0.55x its one-thread time on
2 threads (200 against 360 us), where Python-level pieces took 0.82x. Nor does a helper block on the GIL
(a blocked thread's wake-up is slow on a VM): the caller's kernel rings for its helpers once it runs
native code (its first `claim`), and a helper leaves the kernel only when the next call rings (`_leave`),
so each takes the GIL while the caller is inside a kernel. A helper now enters 5-10 us after the caller
(15-20 us before), and the 1x8x256^2 k3 s2 conv's caller leaves its kernel at 189 us instead of 206.
`parallel_for` does the same for a callable over a range of jobs, ``kernel(lo, hi, *args)`` (Python code,
BLAS calls): it cuts the jobs into pieces and hands them to whichever thread asks first. Why not Numba's
``parallel=True``: a ``prange`` driver is a second compiled copy of the whole job (seconds of compile time
each), its OpenMP/TBB workers spin between calls, two threads calling parallel code at once can abort (the
workqueue layer), and its thread count is a per-thread setting anyway. Here the thread count is the
caller's ``numba.get_num_threads()`` (the GUI worker and each Monte Carlo worker set their own), several
threads may run kernels at once, and a helper that the OS schedules late on a busy machine costs nothing:
the caller takes its jobs. A helper that wakes from the queue and misses a call is moved off the caller's
CPU, where the OS may have queued it behind the caller (`_Pool.nudge`). Cost per call with helpers: one
queue hand-off per helper (and for `parallel_for` a lock per piece), microseconds.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from contextlib import contextmanager

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


class _Pool:
    """Persistent daemon threads that run the tasks of `run_jobs` and `parallel_for` calls.

    A helper spends its idle time spinning natively (without the GIL) on the pool's bell, the counts of
    tasks rung (slot 0) and taken (slot 1), for about half a millisecond, then blocks on the queue: a call
    that follows another, as a network's layers do, finds its helpers awake. A `run_jobs` task is rung by
    the caller's kernel itself (`claim`), once the caller runs native code and has let the GIL go, and its
    helpers leave the kernel only at the next ring (or after the spin): a helper then never blocks on the
    GIL, whose hand-off wakes a sleeping thread (slow on a VM). Measured on 70-200 us conv calls: a helper
    had entered its kernel 15-20 us after the caller (its Python part began 35-75 us after the task was
    queued), now 5-10 us."""

    def __init__(self):
        self.tasks = queue.SimpleQueue()
        self.bell = np.zeros(8, np.int64)  # tasks rung (slot 0) and taken (slot 1) so far: a cache line
        _bells.append(self.bell)  # never freed: a kernel may hold its address (`BELL`)
        self.size = 0
        self.lock = threading.Lock()
        self.waking: set = set()  # thread ids of the helpers blocked on the queue, or woken and not yet running
        self.nudged: set = set()  # those of them nudged since they blocked (`nudge`: once per wake-up)
        self.nudging = threading.Lock()

    def put(self, task, ring: bool = True) -> None:
        """Queue ``task``; ``ring=False``: the caller rings the bell later (`BELL`, `RINGS`)."""
        self.tasks.put(task)
        if ring:
            _add(self.bell, 0, 1)  # after the put: a helper that sees the count change finds the task

    def grow(self, n: int) -> None:
        with self.lock:
            while self.size < n:
                threading.Thread(target=self._work, name=f"checkerlab-kernel-{self.size}", daemon=True).start()
                self.size += 1

    def check(self) -> None:
        """At the end of a call that queued tasks: `nudge` the helpers that missed it while waking up from the
        queue (its tasks still queued). A helper that spins (awake, on its own core) is left alone: a short
        call often ends before its helper arrives, and moving a running thread costs 10-25 us."""
        if self.tasks.qsize() and self.waking - self.nudged:
            self.nudge()

    def nudge(self) -> None:
        """Move the waking helpers off the calling thread's CPU, where the OS may have queued them behind it.

        A helper blocked on the queue (idle for over its spin) is woken by the next call's `put`; on this VM
        Linux then often queued it on the caller's CPU, behind the caller, which never blocks (it runs the
        helper's share itself and returns), while the other core stayed idle: the helper ran only once the
        scheduler rebalanced, milliseconds later. 27 of 40 bursts of 12 conv calls after a 30 ms pause had the
        helper runnable on the caller's CPU for the whole burst. The helper's CPU mask briefly excludes the
        caller's CPU (the kernel moves the queued thread to an allowed CPU), then is restored, so the
        scheduler stays free to place it later; once per wake-up. With it 2 of 40 such bursts had the helper
        stuck. Calls 5-10 after a 30 ms pause, median of 30 bursts (float32, 2 threads; scratch timing):
        1x8x128^2 k5 s3 147-149 -> 101-113 us, 2x8x128^2 k3 s2 187-234 -> 137-142 us, 2x8x64^2 k3 221-240 ->
        100-135 us (one thread: 113); the first call 0.6-1.2 -> 0.5-0.6 ms. Linux only (``sched_getcpu``,
        ``sched_setaffinity``); elsewhere it does nothing. Cost: three system calls per waking helper, 20-70
        us here (the queued thread's runqueue is locked), once per wake-up of a helper that missed a call."""
        cpu = _current_cpu()
        if cpu < 0 or not self.nudging.acquire(blocking=False):  # another caller is nudging them
            return
        try:
            for tid in list(self.waking - self.nudged):
                self.nudged.add(tid)
                allowed = os.sched_getaffinity(tid)
                if cpu in allowed and len(allowed) > 1:
                    try:
                        os.sched_setaffinity(tid, allowed - {cpu})
                    finally:  # also when a signal's exception (Ctrl-C) lands between the two calls: a mask
                        os.sched_setaffinity(tid, allowed)  # left narrowed would read as `allowed` next time
        except OSError:  # a thread that has exited, or a mask we may not set: leave it to the scheduler
            pass
        finally:
            self.nudging.release()

    def _work(self) -> None:
        tid = threading.get_native_id()
        while True:
            try:
                task = self.tasks.get_nowait()
            except queue.Empty:
                self.nudged.discard(tid)
                self.waking.add(tid)
                task = self.tasks.get()
                self.waking.discard(tid)
            _add(self.bell, 1, 1)
            if not task():  # True: the task already spun for the next one (`claim`)
                _await_task(self.bell, HELPER_SPIN_ROUNDS)


@functools.cache
def _sched_getcpu():
    """libc's ``sched_getcpu`` (found once), or None where it or ``os.sched_setaffinity`` is missing."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        import ctypes
        fn = ctypes.CDLL(None).sched_getcpu
        fn.restype, fn.argtypes = ctypes.c_int, []
        return fn
    except (OSError, AttributeError, TypeError):
        return None


def _current_cpu() -> int:
    """The CPU the calling thread runs on (glibc's ``sched_getcpu``), or -1 where that is unknown."""
    fn = _sched_getcpu()
    return -1 if fn is None else fn()


_bells: list = []  # every pool's bell (one per process: `os.register_at_fork`)
_pool = _Pool()
# A forked child has none of the parent's helper threads: start from an empty pool there (else its calls
# would queue tasks nobody takes, keeping their arrays alive, and run every job on the caller alone).
os.register_at_fork(after_in_child=_pool.__init__)


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
        _pool.put(pieces.run)
    pieces.run()
    pieces.wait()
    _pool.check()
    if pieces.error is not None:
        raise pieces.error


# ------------------------------------------------------------------------------ jobs claimed by the kernels
# A thread's row of the jobs table: its index, the thread count, its next job, the end of its share, (row 0
# only) the threads inside the kernel, the address of the pool's bell, the tasks the caller rings once its
# kernel runs (row 0) and whether the thread has left (counted itself out of ACTIVE). Rows are a cache line.
ME, THREADS, NEXT, END, ACTIVE, BELL, RINGS, DONE = range(8)
ROW = 8
SPIN_ROUNDS = 1 << 18  # atomic loads the caller spins for the helpers' last jobs (about a millisecond)
HELPER_SPIN_ROUNDS = 1 << 21  # rounds a helper spins for the next task (about half a millisecond, like
# libgomp's default: shorter, and calls a few hundred microseconds apart each woke a sleeping thread)


def _int64_vector(array):
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1 and
            array.layout == "C"):
        raise TypeError(f"the jobs row is a 1-D C-contiguous int64 array, not {array}")


@intrinsic
def _fetch_add(typingctx, array, idx, value):
    """``array[idx] += value`` as one sequentially consistent atomic add; returns the old value. ``idx`` is
    an offset from the array's first element, which may be negative (another thread's row of the table)."""
    _int64_vector(array)

    def codegen(context, builder, sig, args):
        ptr = builder.gep(context.make_array(sig.args[0])(context, builder, args[0]).data, [args[1]])
        return builder.atomic_rmw("add", ptr, context.cast(builder, args[2], sig.args[2], types.int64), "seq_cst")
    return types.int64(array, idx, value), codegen


@intrinsic
def _load(typingctx, array, idx):
    """``array[idx]`` as an acquire load (sees every write made before a release of the same slot); ``idx``
    as in `_fetch_add`."""
    _int64_vector(array)

    def codegen(context, builder, sig, args):
        ptr = builder.gep(context.make_array(sig.args[0])(context, builder, args[0]).data, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)
    return types.int64(array, idx), codegen


@intrinsic
def _fetch_add_at(typingctx, address, value):
    """``*address += value`` on the int64 at a raw ``address`` (an array that outlives the call: the pool's
    bell), one sequentially consistent atomic add; returns the old value."""
    if address != types.int64:
        raise TypeError(f"an address is an int64, not {address}")

    def codegen(context, builder, sig, args):
        ptr = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        return builder.atomic_rmw("add", ptr, context.cast(builder, args[1], sig.args[1], types.int64), "seq_cst")
    return types.int64(address, value), codegen


@intrinsic
def _load_at(typingctx, address):
    """The int64 at a raw ``address`` as an acquire load."""
    if address != types.int64:
        raise TypeError(f"an address is an int64, not {address}")

    def codegen(context, builder, sig, args):
        return builder.load_atomic(builder.inttoptr(args[0], ir.IntType(64).as_pointer()), "acquire", 8)
    return types.int64(address), codegen


@njit(nogil=True, cache=True, inline="always")
def _ring(jobs):
    """The caller's first claim rings the bell for the helpers queued with its call (`run_jobs`): it runs
    native code now, so a helper that wakes finds the GIL free."""
    if jobs[RINGS] > 0:
        _fetch_add_at(jobs[BELL], jobs[RINGS])
        jobs[RINGS] = 0


@njit(nogil=True, cache=True, inline="always")
def _leave(jobs):
    """This thread has no job left: count it out of ACTIVE (once) and, a helper, spin until the bell rings
    for the next task (or HELPER_SPIN_ROUNDS pass) before the kernel returns. Returning needs the GIL,
    which the caller holds between its calls; when the next call rings, the caller is inside its kernel and
    the GIL is free."""
    if jobs[DONE] == 0:
        jobs[DONE] = 1
        _fetch_add(jobs, -jobs[ME] * ROW + ACTIVE, -1)
        bell = jobs[BELL]
        if jobs[ME] > 0 and bell != 0:
            for _ in range(HELPER_SPIN_ROUNDS):
                if _load_at(bell) > _load_at(bell + 8):
                    break


@njit(nogil=True, cache=True)
def claim(jobs):
    """The next job for the thread whose row of the `run_jobs` table is ``jobs``, or -1 when every job is
    taken: the next of its own share, else (its share done) the next of another thread's share. One atomic
    add per job of its own share. The caller's first claim rings its helpers (`_ring`); the first -1 counts
    the thread out (`_leave`): a kernel returns once claim gives -1 and touches nothing of the call after."""
    _ring(jobs)
    me, threads = jobs[ME], jobs[THREADS]
    for k in range(threads):
        other = me + k if me + k < threads else me + k - threads
        off = (other - me) * ROW
        job = _fetch_add(jobs, off + NEXT, 1)
        if job < _load(jobs, off + END):
            return job
    _leave(jobs)
    return -1


@njit(nogil=True, cache=True)
def _add(jobs, slot, value):
    return _fetch_add(jobs, slot, value)


@njit(nogil=True, cache=True)
def _rung(table, rounds):
    """Whether the caller has rung (row 0's RINGS is 0: its kernel runs), within ``rounds`` acquire loads."""
    for _ in range(rounds):
        if _load(table, RINGS) == 0:
            return True
    return False


@njit(nogil=True, cache=True)
def _pending(table, threads):
    """Whether a job of the flat `run_jobs` table is still unclaimed (acquire loads)."""
    for t in range(threads):
        if _load(table, t * ROW + NEXT) < _load(table, t * ROW + END):
            return True
    return False


@njit(nogil=True, cache=True, inline="always")
def zeroed_row(scratch, jobs, size):
    """This thread's row of a `scratch` buffer (row ``jobs[ME]``) with its first ``size`` elements zeroed: a
    kernel calls it once per call, before its jobs (its staging then writes only the columns that hold
    input, so the padding stays zero)."""
    _ring(jobs)  # the helpers may start while this thread zeroes
    xs = scratch[jobs[ME]]
    for i in range(size):
        xs[i] = 0
    return xs


@njit(nogil=True, cache=True)
def _await_task(bell, rounds):
    """Up to ``rounds`` acquire loads of the pool's counts while no task is waiting (put <= taken)."""
    for _ in range(rounds):
        if _load(bell, 0) > _load(bell, 1):
            return


@njit(nogil=True, cache=True)
def _spin(jobs, rounds):
    """Up to ``rounds`` acquire loads of the threads still inside the kernel; returns that count."""
    active = _load(jobs, ACTIVE)
    for _ in range(rounds):
        if active <= 0:
            break
        active = _load(jobs, ACTIVE)
    return active


def run_jobs(kernel, n_jobs: int, threads: int, *args) -> None:
    """``kernel(jobs, *args)`` on the calling thread and ``threads - 1`` helpers at once, sharing ``n_jobs``
    jobs: the kernel, a ``nogil`` compiled function, takes its jobs with ``claim(jobs)`` until it returns -1
    (see the module docstring). Thread t first takes the jobs of its share, ``n_jobs * t // threads`` up to
    the next thread's, in order, then helps the others: the caller always takes the first share, so a
    repeated call (or the next layer, whose rows depend on the same rows) finds its inputs in its own core's
    cache, and a thread that starts late costs nothing but its share's order. Returns when every job is
    done; re-raises the first error of any thread (the others then take no new job). Cost per call: one
    queue hand-off per helper and a spin for the helpers' last jobs; per job one atomic add."""
    if threads <= 1 or n_jobs <= 1:
        kernel(np.array((0, 1, 0, n_jobs, 0, 0, 0, 0), np.int64), *args)  # no bell, nobody to ring
        return
    threads = min(threads, n_jobs)
    bell = int(_pool.bell.ctypes.data)
    table = np.array([(t, threads, n_jobs * t // threads, n_jobs * (t + 1) // threads, 0, bell,
                       threads - 1 if t == 0 else 0, 0) for t in range(threads)], np.int64)
    flat, errors = table.reshape(-1), []

    def enter(t):
        """Thread t's part; True when it has spun for the next task on its way out (`_leave`)."""
        row = table[t]
        _add(flat, ACTIVE, 1)
        # A helper blocked on the queue wakes at the put, before the ring: it waits for the caller's kernel to
        # run (or to have failed: run_jobs then rings), so that the caller takes the first jobs of its share,
        # whose inputs its cache holds, even when the call first compiles the kernel (seconds, the GIL let go)
        while t > 0 and not _rung(flat, HELPER_SPIN_ROUNDS):
            time.sleep(1e-4)
        try:
            if t == 0 or _pending(flat, threads):  # a helper that starts after the last claim does nothing:
                kernel(row, *args)  # the caller may have returned, and its scratch rows be another call's
                return t > 0
        except BaseException as exc:  # handed to the caller, which re-raises it
            errors.append(exc)
            for r in range(threads):  # nobody starts another job
                _add(flat, r * ROW + NEXT, n_jobs)
        finally:
            if row[DONE] == 0:  # it never claimed the -1 that counts it out
                row[DONE] = 1
                _add(flat, ACTIVE, -1)
        return False

    _pool.grow(threads - 1)
    for t in range(1, threads):
        _pool.put(functools.partial(enter, t), ring=False)  # the caller's kernel rings (`claim`)
    enter(0)
    if table[0, RINGS]:  # the kernel stopped before its first claim (an error): ring for it
        _add(_pool.bell, 0, int(table[0, RINGS]))
        table[0, RINGS] = 0
    while _spin(flat, SPIN_ROUNDS) > 0:  # a helper's job outlasted the spin (a descheduled thread): sleep
        time.sleep(1e-4)
    _pool.check()
    if errors:
        raise errors[0]


# ---------------------------------------------------------------------------- scratch rows of the kernels
_free: dict = {}  # dtype -> buffers not in use
FREE_KEPT = 4  # buffers kept per dtype (threads calling kernels at once)


class scratch:  # noqa: N801 (a context manager used as a function: ``with scratch(...) as rows``)
    """A (>= rows, >= size) array of ``dtype`` for the block: row ``jobs[ME]`` is a kernel thread's working
    space (a staged band). Its contents are undefined: each kernel zeroes what it needs once per call.
    Buffers are kept between calls, a few per dtype, so a call allocates nothing: a kernel's own ``np.zeros``
    of a band (100s of KB) was a fresh mapping per call and thread, whose first touch cost more page faults
    than the band's copy (a 0.14 ms conv took 0.4 ms). Cost: well under a microsecond."""

    __slots__ = ("rows", "size", "dtype", "buf")

    def __init__(self, rows: int, size: int, dtype):
        self.rows, self.size, self.dtype = rows, max(int(size), 1), np.dtype(dtype)

    def __enter__(self) -> np.ndarray:
        try:
            buf = _free[self.dtype].pop()  # list.pop is atomic: no lock
        except (KeyError, IndexError):
            buf = None
        if buf is None or buf.shape[0] < self.rows or buf.shape[1] < self.size:  # grow (the old one is dropped)
            rows, size = (self.rows, self.size) if buf is None else \
                (max(self.rows, buf.shape[0]), max(self.size, buf.shape[1]))
            buf = np.empty((rows, size), self.dtype)
        self.buf = buf
        return buf

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:  # interrupted: a helper may still write into it, so it is not reused
            return
        pool = _free.setdefault(self.dtype, [])
        if len(pool) < FREE_KEPT:
            pool.append(self.buf)


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


# ------------------------------------------------------------------ BLAS threads during a lowered convolution
_blas = {}  # "fns": (get, set) of numpy's OpenBLAS, or None; found once
_blas_lock = threading.Lock()
_blas_users = [0, 0]  # callers inside serial_blas, the thread count to restore when the last one leaves


def _openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS that numpy's wheels bundle, or None (another BLAS:
    MKL, Accelerate, a system library whose threads we do not control). Found once, by its file next to
    numpy (``numpy.libs``, ``numpy/.dylibs``) and its exported thread-count functions (the scipy-openblas
    builds prefix and suffix every symbol)."""
    if "fns" in _blas:
        return _blas["fns"]
    import ctypes
    import glob
    import os

    import numpy as np
    here = os.path.dirname(np.__file__)
    fns = None
    for path in sorted(glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
                       + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads", "openblas_set_num_threads")):
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes, set_.argtypes = ctypes.c_int, [], [ctypes.c_int]
                fns = get, set_
                break
        if fns:
            break
    _blas["fns"] = fns
    return fns


def blas_serial() -> bool:
    """Whether `serial_blas` can run numpy's products on their calling thread (numpy's bundled OpenBLAS)."""
    return _openblas() is not None


@contextmanager
def serial_blas():
    """Inside the block numpy's BLAS runs every product on its calling thread; yields whether it could.

    `parallel_for` then shares matrix products among its threads like any kernel's jobs (work stealing: a
    descheduled thread costs nothing), instead of OpenBLAS's own pool, whose static split waits for its
    slowest worker and whose spinning workers slow the kernels' threads on an oversubscribed machine.
    OpenBLAS's thread count is one process-wide setting (its ``openblas_set_num_threads_local`` is global in
    the pthreads builds too), so the first caller to enter saves it and sets 1, the last to leave restores
    it; another thread's numpy product meanwhile runs on one thread (same values, only slower). Yields
    False, changing nothing, when numpy's BLAS is not a bundled OpenBLAS. Cost: two calls (< 1 us)."""
    fns = _openblas()
    if fns is None:
        yield False
        return
    get, set_ = fns
    with _blas_lock:
        if _blas_users[0] == 0:
            _blas_users[1] = get()
            set_(1)
        _blas_users[0] += 1
    try:
        yield True
    finally:
        with _blas_lock:
            _blas_users[0] -= 1
            if _blas_users[0] == 0:
                set_(_blas_users[1])
