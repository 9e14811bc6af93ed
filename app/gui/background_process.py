"""The background process: one low-priority child process (`python -m checkerlab.app.gui.background`, driven
by a QProcess) that runs the background jobs (`background.JOBS`) for every window of the application.

Requests and answers are length-prefixed pickles on the child's stdin and stdout (`background.frame`);
answers arrive on the GUI thread through QProcess's readyRead signal, so no thread is involved. A fresh
interpreter, not multiprocessing's spawn, so that the parent's main script is never run again in the child.

Newest request wins per (client, job): a queued request is replaced by a newer one of the same client and
job; a running one finishes (its answer is dropped by the client as stale) unless it runs past
`STALE_BUDGET_S` while a newer one waits, in which case the process is restarted. A process that ends is
restarted on the next request, and its running request is answered with an error.
"""

from __future__ import annotations

import atexit
import pickle
import struct
import sys
import time
from collections import OrderedDict

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QTimer, Signal

from .background import frame

STALE_BUDGET_S = 5.0


class BackgroundProcess(QObject):
    """`submit(client, job, config_json, option)` returns a request id; `answered(id, ok, result)` follows."""

    answered = Signal(int, bool, object)  # request id, ok, result (or a one-line message)
    _shared: BackgroundProcess | None = None

    @classmethod
    def shared(cls) -> BackgroundProcess:
        """The application's background process (created on first use, stopped when the application quits)."""
        if cls._shared is None:
            app = QCoreApplication.instance()
            cls._shared = cls(app)
            if app is not None:
                app.aboutToQuit.connect(cls._shared.shutdown)
            atexit.register(cls._shared.shutdown)  # also when the event loop never ran (scripts, tests)
        return cls._shared

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self._buffer = b""
        self._queue: OrderedDict[tuple[int, str], tuple[int, str, float]] = OrderedDict()
        self._running: tuple[int, tuple[int, str], float] | None = None  # (id, key, start time)
        self._next_id = 0
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(500)
        self._watchdog.timeout.connect(self._check_stale)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        if self.process is None or self.process.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self.process.processId())

    # ---- requests ---------------------------------------------------------------------------------
    def submit(self, client: object, kind: str, config_json: str, option: float = 100.0) -> int:
        """Queue job `kind` for a config (JSON); replaces the client's queued request of the same job."""
        self._next_id += 1
        key = (id(client), kind)
        self._queue.pop(key, None)
        self._queue[key] = (self._next_id, config_json, option)
        self._pump()
        return self._next_id

    def start(self) -> None:
        """Start the process now (it warms up SymPy and matplotlib before its first request)."""
        if self.pid is not None:
            return
        self._stop_process()
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        process.readyReadStandardOutput.connect(self._readable)
        process.finished.connect(self._ended)
        process.start(sys.executable, ["-m", "checkerlab.app.gui.background"])
        self.process, self._buffer = process, b""
        self._watchdog.start()

    def _pump(self) -> None:
        if self._running is not None or not self._queue:
            return
        self.start()
        key, (rid, config_json, option) = self._queue.popitem(last=False)
        self.process.write(frame((rid, key[1], config_json, option)))
        self._running = (rid, key, time.monotonic())

    def _readable(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        while len(self._buffer) >= 4:
            (size,) = struct.unpack("!I", self._buffer[:4])
            if len(self._buffer) < 4 + size:
                break
            rid, ok, result = pickle.loads(self._buffer[4: 4 + size])
            self._buffer = self._buffer[4 + size:]
            self._running = None
            self.answered.emit(rid, ok, result)
        self._pump()

    def _ended(self, *_args) -> None:
        """The process ended (crashed or killed): answer its running request; restart on demand."""
        if self.sender() is not self.process:
            return
        running, self._running = self._running, None
        self.process = None
        if running is not None:
            self.answered.emit(running[0], False, "the background process stopped; it restarts with the next edit")
        if self._queue:
            QTimer.singleShot(0, self._pump)

    def _check_stale(self) -> None:
        """Restart the process when it is still busy with a request that a newer one has replaced."""
        if self._running is None:
            return
        rid, key, started = self._running
        if key in self._queue and time.monotonic() - started > STALE_BUDGET_S:
            self._running = None
            self._stop_process()
            self.answered.emit(rid, False, "replaced by a newer request")
            self._pump()

    # ---- lifetime ---------------------------------------------------------------------------------
    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.finished.disconnect(self._ended)
        process.readyReadStandardOutput.disconnect(self._readable)
        if process.state() != QProcess.ProcessState.NotRunning:
            process.closeWriteChannel()  # the child ends at the end of its input
            if not process.waitForFinished(300):
                process.kill()
                process.waitForFinished(1000)
        process.deleteLater()

    def shutdown(self) -> None:
        try:
            self._watchdog.stop()
        except RuntimeError:  # the Qt objects are already gone at interpreter exit
            return
        self._queue.clear()
        self._running = None
        self._stop_process()
