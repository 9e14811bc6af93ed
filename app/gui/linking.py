"""Linked views: one zoom for the image views, and one hovered output pixel shown everywhere.

`ViewSync` copies a manual zoom or pan of one view to the others; `HoverLink` shows the hovered pixel's
crosshairs, count, phase and simulated value in every view, the tile cell of its phase and the profile
cursor.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF

from .compute import exact_str
from .footprint import footprints
from .views import ImagePlot, SpectrumPlot


class ViewSync(QObject):
    """Zooming or panning one image view shows the same data rectangle in the others (when their images
    have the same shape): a one-way copy per manual change, so aspect-locked views never fight."""

    def __init__(self, plots: list[ImagePlot], parent=None):
        super().__init__(parent)
        self.plots = plots
        self._busy = False
        for plot in plots:
            vb = plot.getPlotItem().getViewBox()
            vb.sigRangeChangedManually.connect(lambda _mask, p=plot: self._changed(p))

    def _changed(self, source: ImagePlot) -> None:
        if self._busy or source.data is None:
            return
        self._busy = True
        try:
            rect = source.getPlotItem().getViewBox().viewRect()
            for plot in self.plots:
                if plot is not source and plot.data is not None and plot.data.shape[:2] == source.data.shape[:2]:
                    plot.getPlotItem().getViewBox().setRange(rect, padding=0.0)
        finally:
            self._busy = False

    def show(self, rect: QRectF) -> None:
        """Show the same data rectangle in every view, anchored at its top-left corner: it grows right or down
        to the view's aspect ratio (an aspect-locked view would otherwise grow it around its centre and show
        blank margins before row/column 0)."""
        for plot in self.plots:
            vb = plot.getPlotItem().getViewBox()
            r, size = QRectF(rect), vb.size()
            if size.width() > 0 and size.height() > 0 and r.height() > 0:
                aspect = size.width() / size.height()
                if r.width() / r.height() < aspect:
                    r.setWidth(r.height() * aspect)
                else:
                    r.setHeight(r.width() / aspect)
            vb.setRange(r, padding=0.0)


class HoverLink(QObject):
    """Shows one hovered output pixel (i, j) of the shown layer in every view of the window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.pixel: tuple[int, int] | None = None
        maps = window.maps
        maps.exact_plot.hovered.connect(self._hover_exact)
        maps.simulated_plot.hovered.connect(self._hover_simulated)
        for plot in (maps.exact_spectrum, maps.simulated_spectrum):
            plot.hovered.connect(lambda x, y, p=plot: self._hover_spectrum(p, x, y))

    def _hover_exact(self, x: float, y: float) -> None:
        self.show(self.w.maps.exact_plot.pixel_at(x, y))

    def _hover_simulated(self, x: float, y: float) -> None:
        maps = self.w.maps
        view, p = maps.current_view(), maps.simulated_plot.pixel_at(x, y)
        if p is None or view is None or maps.shown is None:
            self.show(None)
            return
        (h, w), (sh, sw) = view.map.shape, maps.shown.shape[1:]
        self.show((int((p[0] + 0.5) * h / sh), int((p[1] + 0.5) * w / sw)))

    def show(self, pixel: tuple[int, int] | None) -> None:
        """Show pixel (i, j) of the shown layer in every view: crosshairs, tile cell, profile cursor, readouts."""
        w, maps = self.w, self.w.maps
        self.pixel = pixel
        view, shown = maps.current_view(), maps.shown
        if pixel is None or view is None:
            for plot in (maps.exact_plot, maps.simulated_plot):
                plot.set_crosshair(None, None)
            maps.exact_plot.set_outlines([])
            w.profiles.set_cursor(None)
            w.tile_panel.highlight(None)
            return
        i, j = pixel
        h, wd = view.map.shape
        if not (0 <= i < h and 0 <= j < wd):
            return
        maps.exact_plot.set_crosshair(j + 0.5, i + 0.5)
        text = f"(i, j) = ({i}, {j}) · count {exact_str(view.exact_map[i, j])}"
        if view.pattern is not None:
            ph, pw = view.pattern.period
            text += f" · phase ({i % ph}, {j % pw})"
        w.tile_panel.highlight((i, j))
        if shown is not None:
            sh, sw = shown.shape[1:]
            si, sj = int((i + 0.5) * sh / h), int((j + 0.5) * sw / wd)
            maps.simulated_plot.set_crosshair(sj + 0.5, si + 0.5)
            where = "" if (sh, sw) == (h, wd) else f" at ({si}, {sj})"
            text += f" · value{where} {maps.value_text(si, sj)}"
        w.profiles.set_cursor(i if w.profile_axis.currentIndex() == 0 else j)
        maps.readout.setText(text)
        self._explain(view, (i, j))

    def _explain(self, view, pixel: tuple[int, int]) -> None:
        """The explanation tab and the footprint overlay, when either is on screen."""
        w, maps = self.w, self.w.maps
        a = w.controller.analytic
        explaining = w.tabs.currentWidget() is w.explain_panel
        if a is None or view.position == 0 or not (explaining or maps.footprints.isChecked()):
            maps.exact_plot.set_outlines([])
            return
        stack, size = a.config.stack[: view.position], a.config.input_size
        w.explain_panel.show_pixel(stack, size, pixel)
        if maps.footprints.isChecked():
            rects = footprints(stack, size, w.explain_panel.sources())
            maps.exact_plot.set_outlines([QRectF(left, top, right - left + 1, bottom - top + 1)
                                          for top, bottom, left, right in rects], "#ffffff")
        else:
            maps.exact_plot.set_outlines([])

    def _hover_spectrum(self, plot: SpectrumPlot, x: float, y: float) -> None:
        found = plot.value_at(x, y)
        if found is not None:
            fy, fx, value = found
            self.w.maps.readout.setText(f"f = ({fy:+.4f}, {fx:+.4f}) cycles/pixel · log₁₀ |DFT|/‖DFT‖ = {value:.2f}")
