"""The fixes panel: is the stack checkerboard-free (decided exactly), which layers break it, and the nearest
fixes, each applied to the editor with one (undoable) click."""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from .compute import FixesResult
from .views import Staleness, small_font


class FixesPanel(Staleness, QWidget):
    """A rich-text list: the verdict with its culprits, then every fix with its changes and an Apply link."""

    applyRequested = Signal(object)  # an analytics.fixes.Fix

    def __init__(self, parent=None):
        super().__init__(parent)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.setFont(small_font(self, 0.95))
        self.browser.anchorClicked.connect(self._clicked)
        self.browser.setPlaceholderText("The checkerboard-free verdict and suggested fixes appear here.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.browser)
        self.result: FixesResult | None = None

    def set_message(self, text: str) -> None:
        self.browser.setHtml(f"<p>{html.escape(text)}</p>")

    def set_result(self, result: FixesResult) -> None:
        self.result = result
        if result.free is True:
            parts = [
                "<p><span style='color:#1b7837'><b>✓ Checkerboard-free.</b></span> The zero-order hold "
                "1 + z + … + z<sup>S−1</sup> divides H(z) (Sugawara, Shiota &amp; Kiya), so every "
                "interior pixel gets the same count. No fix needed.</p>"
            ]
        elif result.free is False:
            parts = [
                "<p><span style='color:#b2182b'><b>✗ Not checkerboard-free.</b></span><br>"
                + "<br>".join(html.escape(c) for c in result.culprits)
                + "</p>"
            ]
        else:
            parts = ["<p>Undecided: the stack has symbolic parameters.</p>"]
        if result.fixes:
            parts.append("<p><b>Nearest checkerboard-free stacks</b> (each proven even):</p><ol>")
            for i, fix in enumerate(result.fixes):
                (oh, ow), (h0, w0) = fix.output_size, fix.original_output_size
                size = f"output {oh}×{ow}" + ("" if fix.same_size else f" <i>(was {h0}×{w0})</i>")
                changes = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in fix.changes)
                parts.append(
                    f"<li><b>{html.escape(fix.title)}</b> · {size} · "
                    f"<a href='apply:{i}'>Apply</a><ul style='margin-top:0'>{changes}</ul></li>"
                )
            parts.append("</ol>")
        self.browser.setHtml("".join(parts))

    def fix_titles(self) -> list[str]:
        return [fix.title for fix in self.result.fixes] if self.result else []

    def apply(self, index: int) -> None:
        """Ask the window to load fix `index` into the editor (what clicking its Apply link does)."""
        if self.result is not None and 0 <= index < len(self.result.fixes):
            self.applyRequested.emit(self.result.fixes[index])

    def _clicked(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("apply:"):
            self.apply(int(text.split(":", 1)[1]))
