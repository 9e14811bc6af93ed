"""Entry points used by the CLI (`checkerlab gui`, `checkerlab run`). Qt is imported only when needed, and
only after the platform has been decided, so that a machine without a display never aborts inside Qt.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from ...analytics import Config

SCREENSHOT_NAME = "checkerlab-screenshot.png"
MIN_SIDE, MAX_SIDE = 640, 7680  # window sizes accepted by --size


def parse_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800), each side in MIN_SIDE..MAX_SIDE; CheckerlabError (one line) otherwise."""
    from ...analytics import CheckerlabError

    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        width, height = (int(p) for p in parts)
        if MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE:
            return width, height
    raise CheckerlabError(f"--size {str(text)[:40]!r}: use WIDTHxHEIGHT in pixels, e.g. 1280x800, each side "
                          f"{MIN_SIDE}..{MAX_SIDE}")


def has_display() -> bool:
    """False on Linux/BSD when neither X11 nor Wayland is reachable and no other Qt platform is forced."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform.split(":")[0] not in ("offscreen", "minimal", "xcb", "wayland"):
        return True  # e.g. eglfs, vnc, linuxfb: the user chose a platform that needs no X/Wayland
    if platform.split(":")[0] in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def use_offscreen() -> None:
    """Render without a display (must run before the QApplication exists)."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


def is_model(target: str | None) -> bool:
    """True when `target` is a model file the Network tab opens (ONNX)."""
    return bool(target) and str(target).lower().endswith(".onnx")


def resolve_config(target: str | None, preset: str | None) -> Config | None:
    """What `target` names (`load_target`: a config file, a preset, a layer spec), or `preset`; None for the
    restored/default config, and for a model file (the window opens it in its Network tab)."""
    from ...analytics import load_target
    from ...analytics.presets import get_preset

    if target and preset:
        from ...analytics import CheckerlabError

        raise CheckerlabError("give either a CONFIG or --preset, not both")
    if preset:
        return get_preset(preset).config
    if not target or is_model(target):
        return None
    return load_target(target)


def gui_main(target: str | None = None, preset: str | None = None, screenshot: str | None = None,
             size: tuple[int, int] | None = None) -> int:
    """`checkerlab gui`: the window (`size` = (width, height) in pixels), or with `screenshot` a PNG of it,
    exactly `size`, once both views are computed. An ONNX `target` opens in the Network tab."""
    config = resolve_config(target, preset)
    model = target if is_model(target) else None
    if screenshot:
        from ...analytics.presets import default_config
        from ...analytics.targets import preflight

        preflight(config or default_config())  # bad input: exit 2 now, not a partial screenshot later
        if model:
            from ...analytics.onnx_import import from_onnx

            from_onnx(model)  # a bad model file: exit 2 and one line, before any window
        Path(screenshot).resolve().parent.mkdir(parents=True, exist_ok=True)
        if not has_display():
            use_offscreen()
    elif not has_display():
        from ...analytics import CheckerlabError

        raise CheckerlabError("no display: set DISPLAY or WAYLAND_DISPLAY, or use --screenshot FILE")
    from .app import run_gui

    path = target if target and target.lower().endswith(".json") else None
    if screenshot and config is None:
        from ...analytics.presets import default_config

        config = default_config()
    return run_gui(config, screenshot=screenshot, path=path, size=size, model=model)


def run_default(report) -> int:
    """`checkerlab run` (`make run`): the GUI on the default example; without a display, a one-line notice,
    the printed analysis and a screenshot PNG whose path is printed. `report(config)` formats the analysis."""
    from ...analytics.presets import default_config

    config = default_config()
    if has_display():
        from .app import run_gui

        return run_gui(config)
    print(
        "checkerlab: no display found (DISPLAY/WAYLAND_DISPLAY unset); printing the default example's "
        "analysis and rendering the window to a PNG instead."
    )
    print(report(config))
    use_offscreen()
    path = Path(tempfile.gettempdir()) / SCREENSHOT_NAME
    try:
        from .app import run_gui

        run_gui(config, screenshot=str(path))
    except Exception as exc:  # the analysis is printed; a failing screenshot must not turn into a crash
        print(f"checkerlab: could not render the screenshot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"screenshot: {path}")
    return 0
