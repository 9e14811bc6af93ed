"""Starting the GUI: the QApplication, the icon, the last-resort exception hook and the screenshot mode."""

from __future__ import annotations

import sys
import time
import traceback

from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

from ...analytics import Config

#: The screenshot is taken once these stages are on screen (formula only if SymPy delivers in time).
SCREENSHOT_TIMEOUT_S = 17.0
#: How long closing waits for the worker's running request (a first compile takes seconds) before exiting hard.
WORKER_EXIT_WAIT_MS = 60_000
#: Window size of a screenshot without --size (the README's picture).
SCREENSHOT_SIZE = (1500, 950)


def app_icon() -> QIcon:
    """A 4x4 checkerboard of overlap counts in viridis: the k=3, s=2 pattern [2, 1] x [2, 1]."""
    import pyqtgraph as pg

    cmap = pg.colormap.get("viridis")
    icon = QIcon()
    for size in (16, 32, 64, 128):
        pix = QPixmap(size, size)
        pix.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pix)
        cell = size / 4
        for i in range(4):
            for j in range(4):
                count = (2 if i % 2 == 0 else 1) * (2 if j % 2 == 0 else 1)
                r, g, b, _ = cmap.map([(count - 1) / 3], mode="byte")[0]
                painter.fillRect(
                    int(j * cell), int(i * cell), int(cell + 1), int(cell + 1), QColor(int(r), int(g), int(b))
                )
        painter.end()
        icon.addPixmap(pix)
    return icon


_QUIET = ("propagateSizeHints",)  # harmless notices of the offscreen platform plugin


def _qt_messages(mode, context, message: str) -> None:
    """Qt's warnings go to stderr as usual, minus the offscreen plugin's noise."""
    if not any(q in message for q in _QUIET):
        print(message, file=sys.stderr)


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), named and styled for checkerlab."""
    import pyqtgraph as pg

    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("checkerlab")
    app.setOrganizationName("checkerlab")
    app.setApplicationDisplayName("checkerlab")
    app.setWindowIcon(app_icon())
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    return app


def install_excepthook(window) -> None:
    """Last resort: an exception that reaches the event loop is printed and shown in the status bar."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        traceback.print_exception(kind, value, tb, file=sys.stderr)
        try:
            from .compute import describe_error

            window.show_error(f"internal error: {describe_error(value)}")
        except Exception:
            pass

    sys.excepthook = hook


def wait_until_settled(app: QApplication, window, timeout: float, need_formula: bool = True) -> bool:
    """Process events until the analysis and the simulation are on screen (and the formula, if possible)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        done = window.controller.analytic is not None and window.controller.simulation is not None
        failed = window.controller.failed_stages
        if "analytic" in failed or "simulation" in failed:
            return False
        symbolic = all(getattr(window.controller, name) is not None or name in failed for name in ("formula", "fixes"))
        if done and (not need_formula or symbolic):
            return True
        time.sleep(0.005)
    return False


def take_screenshot(window, path: str, timeout: float = SCREENSHOT_TIMEOUT_S) -> bool:
    """Wait for the views, then write the whole window as a PNG (atomically). False if it timed out."""
    from .export import export_png

    app = QApplication.instance()
    complete = wait_until_settled(app, window, timeout)
    task, deadline = window.network_panel.task, time.monotonic() + timeout
    while task is not None and task.running() and time.monotonic() < deadline:  # an imported model
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)
    app.processEvents()
    if window.controller.analytic is not None:  # zoom into a corner so that the pattern is visible pixel by pixel
        from PySide6.QtCore import QRectF

        h, w = window.controller.analytic.map.shape
        window.maps.show_rect(QRectF(0, 0, min(w, 64), min(h, 64)))
    window.hover.show((37, 45))  # show the linked hover readout in the picture
    for _ in range(5):
        app.processEvents()
    export_png(window, path)
    return complete


def run_gui(config: Config | None = None, screenshot: str | None = None, path: str | None = None,
            size: tuple[int, int] | None = None, model: str | None = None) -> int:
    """Open the window on `config` (or the restored/default one), `size` = (width, height) pixels if given,
    and the ONNX `model` in its Network tab if given; with `screenshot`, save a PNG (exactly `size`) and
    exit."""
    from .main_window import MainWindow

    app = make_app()
    if screenshot:
        from PySide6.QtCore import QSettings, QTemporaryDir

        tmp = QTemporaryDir()
        settings = QSettings(tmp.filePath("screenshot.ini"), QSettings.Format.IniFormat)
        window = MainWindow(config, settings=settings, restore=False)
    else:
        window = MainWindow(config)
    install_excepthook(window)
    if size is not None or screenshot:
        window.resize(*(size or SCREENSHOT_SIZE))
    if path:
        window.document.set_path(path)
    window.show()
    if model:
        window.open_model(model)
    if screenshot:
        try:
            complete = take_screenshot(window, screenshot)
        finally:
            stopped = window.controller.worker.shutdown(WORKER_EXIT_WAIT_MS)
            window.close()
        if not complete:
            print(
                "checkerlab: warning: the views were not all computed in time; the screenshot is partial",
                file=sys.stderr,
            )
        return 0 if stopped else _exit_now(0)
    QTimer.singleShot(0, window.raise_)
    app.aboutToQuit.connect(window.controller.worker.shutdown)
    code = app.exec()
    return code if window.controller.worker.shutdown(WORKER_EXIT_WAIT_MS) else _exit_now(code)


def _exit_now(code: int) -> int:
    """End the process at once: the worker thread is still inside a computation that cannot be interrupted (a
    first compile), and Qt aborts a process whose running QThread is destroyed. The session and every export
    are already written (atomically); only the interpreter's own teardown is skipped."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
    return code  # not reached
