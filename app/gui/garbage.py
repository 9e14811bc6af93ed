"""Python's cyclic garbage collector on the GUI thread only, while a window is open."""

from __future__ import annotations

_collector = None
_windows = 0


def collect_on_gui_thread(hold: bool) -> None:
    """While a window is open, Python's cyclic garbage collector runs only on the GUI thread, on a timer
    (pyqtgraph's GarbageCollector): collected in the compute thread, a cycle holding a Qt object frees it
    there, and the wrapper's destructor then waits for a lock the GUI thread holds while the GUI thread waits
    for the GIL (a deadlock seen under heavy allocation, e.g. the Fractions of a bilinear map). `hold=True`
    per window opened, False per window closed; automatic collection resumes when none is left."""
    global _collector, _windows
    import gc

    from pyqtgraph.util.garbage_collector import GarbageCollector

    _windows = max(0, _windows + (1 if hold else -1))
    if _windows and _collector is None:
        _collector = GarbageCollector(interval=0.5)
    elif not _windows and _collector is not None:
        _collector.timer.stop()
        _collector = None
        gc.enable()
