"""A task: one long function (a study, a model import) on its own Python thread, off the GUI thread, with
progress, cancel, and its result or a one-line failure delivered on the GUI thread by queued signals.

The compute worker (`worker.py`) serves the edited stack, newest request wins; a task is what the user starts
once and waits for (imitating superqt's thread_worker). Kernels may run on two threads at once
(`kernels.threads`), so a task never blocks the maps.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...analytics import CheckerlabError


class Task(QObject):
    """`fn(progress, cancel)` on a thread: `progress(done, total)` reports, `cancel()` is True once `stop()`
    was called. Signals (on the GUI thread): progressed(fraction, text), done(result), failed(message) - a
    CheckerlabError's one line, `Cancelled` as "cancelled", anything else as its type and first line."""

    progressed = Signal(float, str)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], Any], parent=None):
        super().__init__(parent)
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkerlab-task", daemon=True)

    def start(self) -> Task:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        def progress(done: int, total: int) -> None:
            self.progressed.emit(done / max(total, 1), f"{done}/{total}")

        try:
            result = self._fn(progress, self._stop.is_set)
        except CheckerlabError as exc:
            self.failed.emit(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a bug: one line in the status bar, the traceback on stderr
            if type(exc).__name__ == "Cancelled":  # analytics.simulation.Cancelled: the user stopped it
                self.failed.emit("cancelled")
                return
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        else:
            self.done.emit(result)
