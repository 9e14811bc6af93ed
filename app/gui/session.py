"""What the window remembers between runs, in the user's QSettings: layout, last valid config, recent files.

INI settings return strings, so every read passes `type=` (DESIGN.md §6). A damaged or outdated entry is
ignored, never fatal.
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QByteArray, QSettings

from ...analytics import CheckerlabError, Config

MAX_RECENT = 8


def default_settings() -> QSettings:
    """The user's settings store (INI format, so values are strings: always read them with `type=`)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "checkerlab", "checkerlab")


class Session:
    """Reads and writes the window's remembered state."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    # ---- config -----------------------------------------------------------------------------------
    def last_config(self) -> Config | None:
        """The config of the last session, or None (none saved, or a damaged entry)."""
        text = self.settings.value("last_config", "", type=str)
        if not text:
            return None
        try:
            from ...analytics.config import config_from_dict

            return config_from_dict(json.loads(text))
        except (ValueError, CheckerlabError):  # an outdated or damaged entry: start from the default
            return None

    def first_run(self) -> bool:
        """No session was ever saved and the tour was never dismissed."""
        return not self.settings.value("last_config", "", type=str) and not self.settings.value(
            "tour_done", False, type=bool)

    def remember_config(self, config: Config) -> None:
        self.settings.setValue("last_config", config.to_json())

    # ---- recent files -----------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [], type=list)
        return [str(v) for v in value if v]

    def add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", files[:MAX_RECENT])

    def clear_recent(self) -> None:
        self.settings.setValue("recent", [])

    def last_dir(self) -> str:
        recent = self.recent_files()
        return os.path.dirname(recent[0]) if recent else os.getcwd()

    # ---- the window -------------------------------------------------------------------------------
    def restore_window(self, window) -> None:
        """The window's geometry, docks, central splitter and tab as they were."""
        if (geometry := self.bytes("geometry")) is not None:
            window.restoreGeometry(geometry)
        if (state := self.bytes("window_state")) is not None:
            window.restoreState(state)
        if (value := self.bytes("central_split")) is not None:
            window.central.restoreState(value)
        window.tabs.setCurrentIndex(self.integer("tab"))

    def save_window(self, window, config: Config | None) -> None:
        """Remember the window's layout and `config` (the last valid one)."""
        self.set("geometry", window.saveGeometry())
        self.set("window_state", window.saveState())
        self.set("central_split", window.central.saveState())
        self.set("tab", window.tabs.currentIndex())
        if config is not None:
            self.remember_config(config)
        self.sync()

    # ---- values -----------------------------------------------------------------------------------
    def bytes(self, name: str) -> QByteArray | None:
        value = self.settings.value(name, QByteArray(), type=QByteArray)
        return value if value and not value.isEmpty() else None

    def set(self, name: str, value) -> None:
        self.settings.setValue(name, value)

    def integer(self, name: str, default: int = 0) -> int:
        return self.settings.value(name, default, type=int)

    def sync(self) -> None:
        self.settings.sync()
