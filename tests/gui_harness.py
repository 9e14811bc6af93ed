"""Shared set-up of the GUI tests: a window on the default example, and waiting until its views are current.

Each GUI test module defines its `window` fixture as `yield from open_window(qtbot, tmp_path)`."""

from PySide6.QtCore import QSettings

from checkerlab.analytics.presets import default_config
from checkerlab.app.gui.app import make_app
from checkerlab.app.gui.main_window import MainWindow


def settings_in(tmp_path) -> QSettings:
    """A private settings file, so tests never read or write the user's."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def open_window(qtbot, tmp_path, config=None, **kwargs):
    """A window on `config` (the default example) whose views are current; shut down afterwards."""
    make_app()
    w = MainWindow(config or default_config(), settings=settings_in(tmp_path), restore=False, debounce_ms=5,
                   **kwargs)
    qtbot.addWidget(w)
    settle(qtbot, w)
    yield w
    w.controller.shutdown()


def settle(qtbot, w, timeout=30000):
    """Wait until both views show the document's current config."""

    def done():
        cfg = w.document.config
        a, sim = w.controller.analytic, w.controller.simulation
        assert cfg is not None
        assert a is not None and a.config.stack == cfg.stack and a.config.input_size == cfg.input_size
        assert sim is not None and sim.config == cfg and sim.complete  # every Monte Carlo draw is in
        assert w.maps.simulation is sim

    qtbot.waitUntil(done, timeout=timeout)
