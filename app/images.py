"""Image files <-> float arrays, decoded by Qt's QImage (PNG, JPEG, BMP, ...; no QApplication needed).

Arrays are (C, H, W) float32 in [0, 1]: C = 1 for grayscale images, 3 for colour (alpha is dropped).
"""

from __future__ import annotations

import os

import numpy as np

from ..analytics import CheckerlabError

#: Largest image side accepted as a simulation input (bigger images are refused, not silently resized).
MAX_SIDE = 4096


def _qimage_to_array(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    gray = image.isGrayscale()
    image = image.convertToFormat(QImage.Format.Format_Grayscale8 if gray else QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    if gray:
        pixels = raw[:, :w][None]
    else:
        pixels = raw[:, : 3 * w].reshape(h, w, 3).transpose(2, 0, 1)
    return np.ascontiguousarray(pixels, dtype=np.float32) / np.float32(255)


def load_image(path: str | os.PathLike, max_side: int = MAX_SIDE) -> np.ndarray:
    """Decode an image file to a (C, H, W) float32 array in [0, 1]; CheckerlabError if it cannot be read."""
    from PySide6.QtGui import QImageReader

    reader = QImageReader(os.fspath(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > max_side:
        raise CheckerlabError(
            f"{path}: image is {size.width()}x{size.height()}; the largest side allowed is {max_side} pixels"
        )
    image = reader.read()
    if image.isNull():
        raise CheckerlabError(f"{path}: cannot decode image ({reader.errorString()})")
    return _qimage_to_array(image)


def array_to_qimage(array: np.ndarray):
    """(H, W) or (C, H, W) with C in {1, 3} and values in [0, 1] -> an 8-bit QImage (a copy)."""
    from PySide6.QtGui import QImage

    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    a8 = np.ascontiguousarray(np.clip(np.nan_to_num(a) * 255 + 0.5, 0, 255).astype(np.uint8))
    if a8.ndim == 2:
        h, w = a8.shape
        return QImage(a8.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if a8.ndim == 3 and a8.shape[0] == 3:
        rgb = np.ascontiguousarray(a8.transpose(1, 2, 0))
        h, w = rgb.shape[:2]
        return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    raise ValueError(f"array_to_qimage: expected (H, W), (1, H, W) or (3, H, W), got shape {a.shape}")
