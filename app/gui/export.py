"""File exports, all atomic (analytics.atomic_write): screenshots (PNG of a widget), CSV/NPY of arrays,
LaTeX reports. Figures are real matplotlib figures (`figure.py`), never window grabs.

pyqtgraph's CSVExporter ignores ImageItem data, so arrays are written by `write_array`.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

from ...analytics import atomic_write, write_array

ARRAY_FILTERS = "CSV (*.csv);;NumPy array (*.npy)"
FIGURE_FILTERS = "PDF (*.pdf);;SVG drawing (*.svg);;PNG image (*.png)"


def image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    """Encode a QImage (PNG by default) in memory."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt):
        raise OSError(f"could not encode the image as {fmt}")
    buffer.close()
    return bytes(data.data())


def grab_image(widget: QWidget, scale: float = 1.0) -> QImage:
    """The widget as it looks on screen (rendered offscreen if needed), `scale` times its size."""
    size = widget.size() * scale
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    try:
        QWidget.render(widget, painter, QPoint())  # the base method: QGraphicsView overrides render()
    finally:
        painter.end()
    return image


def export_png(widget: QWidget, path: str | os.PathLike, scale: float = 1.0) -> None:
    """Write the widget as a PNG, atomically."""
    atomic_write(path, image_bytes(grab_image(widget, scale)))


def export_array(array: np.ndarray, path: str | os.PathLike) -> None:
    """CSV (exact rationals as p/q) or NPY by extension; 3D arrays go to CSV as stacked rows.

    Tables of text (the metrics) are written as quoted CSV, or as a NumPy unicode array."""
    a = np.asarray(array)
    if a.dtype.kind != "U" and not (a.dtype == object and a.size and isinstance(a.flat[0], str)):
        write_array(path, a)
        return
    ext = Path(path).suffix.lower()
    if ext == ".csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(np.atleast_2d(a).tolist())
        atomic_write(path, buffer.getvalue())
    elif ext == ".npy":
        data = io.BytesIO()
        np.save(data, a.astype(str))
        atomic_write(path, data.getvalue())
    else:
        raise ValueError(f"{path}: unknown extension; use .csv or .npy")


def export_latex_report(stack, path: str | os.PathLike, input_size=(32, 32)) -> None:
    """The LaTeX report of `analytics.export_latex` (a standalone document, written atomically)."""
    from ...analytics import export_latex

    export_latex(stack, path, input_size)
