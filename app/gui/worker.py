"""The single compute worker: one QThread runs every job, so Numba kernels never run on two threads at once.

"Newest request wins" (Orange3's single-worker executor): `submit` replaces any pending request and asks
the running one to stop through the cooperative `cancel` callback that the stages poll. Each stage's
result, progress and errors come back as queued signals on the GUI thread, tagged with the request id so
stale results are recognisable. Idle jobs (the Numba warm-up) run only while no request is waiting.
Every exception raised by a job becomes a `failed` signal: nothing escapes into Qt.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from .compute import describe_error


class Cancelled(Exception):
    """Raised inside a stage when a newer request arrived or the user cancelled."""


@dataclass
class Request:
    """A unit of work: named stages run in order; each is fn(context) -> result."""

    stages: list[tuple[str, Callable[[Context], Any]]]
    id: int = 0
    label: str = ""


@dataclass
class Context:
    """What a stage sees: cancellation, progress reporting and the results of earlier stages."""

    request_id: int
    should_stop: Callable[[], bool]
    report: Callable[[float, str], None]
    results: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise Cancelled when the request is stale or cancelled."""
        if self.should_stop():
            raise Cancelled()


class _Thread(QThread):
    def __init__(self, worker: ComputeWorker):
        super().__init__()
        self.worker = worker
        self.setObjectName("checkerlab-compute")

    def run(self) -> None:
        self.worker._loop()


class ComputeWorker(QObject):
    """Runs Requests on one background thread; the newest request wins and may be cancelled."""

    started = Signal(int, str)  # request id, label
    stageDone = Signal(int, str, object, float)  # request id, stage name, result, seconds
    progress = Signal(int, float, str)  # request id, fraction 0..1, text
    failed = Signal(int, str, str)  # request id, stage name, one-line message
    finished = Signal(int, bool)  # request id, completed (False: cancelled or failed)
    idle = Signal()

    def __init__(self, threads: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: Request | None = None
        self._idle_jobs: list[Callable[[Callable[[], bool]], None]] = []
        self._current_id = 0
        self._cancel_id = 0
        self._next_id = 0
        self._stopping = False
        self._busy = False
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self._thread = _Thread(self)
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # never let Qt destroy a running QThread at exit
            app.aboutToQuit.connect(self.shutdown)

    # ---- GUI thread API ---------------------------------------------------------------------------
    def submit(self, request: Request) -> int:
        """Queue `request`, replacing a pending one and cancelling the running one; returns its id."""
        with self._cond:
            self._next_id += 1
            request.id = self._next_id
            self._pending = request
            self._cancel_id = max(self._cancel_id, self._current_id)
            self._cond.notify_all()
            return request.id

    def cancel(self) -> None:
        """Drop the pending request and stop the running one at its next check."""
        with self._cond:
            self._pending = None
            self._cancel_id = max(self._cancel_id, self._current_id)

    def add_idle_job(self, job: Callable[[Callable[[], bool]], None]) -> None:
        """Run job(should_yield) on the worker thread when no request is waiting."""
        with self._cond:
            self._idle_jobs.append(job)
            self._cond.notify_all()

    def is_busy(self) -> bool:
        with self._cond:
            return self._busy or self._pending is not None

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the thread (cancelling the running request); waits up to `timeout_ms`. True once it has
        stopped; False while it still runs (a first Numba compile is not interruptible: seconds)."""
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cancel_id = max(self._cancel_id, self._current_id)
            self._cond.notify_all()
        return bool(self._thread.wait(timeout_ms))

    # ---- worker thread ----------------------------------------------------------------------------
    def _stale(self, request_id: int) -> bool:
        return self._stopping or self._cancel_id >= request_id or self._pending is not None

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._pending is None and not self._idle_jobs:
                    self._busy = False
                    self._cond.wait()
                if self._stopping:
                    return
                request, self._pending = self._pending, None
                job = None
                if request is None:
                    job = self._idle_jobs.pop(0)
                else:
                    self._current_id = request.id
                self._busy = True
            if job is not None:
                try:
                    job(lambda: self._stopping or self._pending is not None)
                except Exception:  # a warm-up failure is harmless: the real run reports errors
                    pass
                continue
            self._run(request)
            with self._cond:
                if self._pending is None and not self._idle_jobs:
                    self._busy = False
                    self.idle.emit()

    def _run(self, request: Request) -> None:
        rid = request.id
        ctx = Context(
            rid,
            lambda: self._stale(rid),
            lambda fraction, text="": self.progress.emit(rid, float(fraction), text),
        )
        self.started.emit(rid, request.label)
        ok = True
        for name, fn in request.stages:
            if ctx.should_stop():
                self.finished.emit(rid, False)
                return
            t0 = time.perf_counter()
            try:
                result = fn(ctx)
            except Cancelled:
                self.finished.emit(rid, False)
                return
            except Exception as exc:  # turned into a status-bar message, never raised into Qt
                if type(exc).__name__ == "Cancelled":  # analytics.Cancelled from simulate
                    self.finished.emit(rid, False)
                    return
                self.failed.emit(rid, name, describe_error(exc))
                ok = False
                continue
            ctx.results[name] = result
            self.stageDone.emit(rid, name, result, time.perf_counter() - t0)
        self.finished.emit(rid, ok)
