"""Atomic file output: a write either lands whole or leaves the old file untouched."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync, then os.replace it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:  # mkstemp makes 0600: keep the old file's mode, else the usual 0666 & ~umask
            mode = path.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def array_bytes(array: np.ndarray, fmt: str) -> bytes:
    """`array` as .npy or .csv bytes; exact rationals go to CSV as 'p/q' and to NPY as float64."""
    array = np.asarray(array)
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, array.astype(float) if array.dtype == object else array)
        return buf.getvalue()
    if fmt == "csv":
        rows = np.atleast_2d(array) if array.ndim < 2 else array.reshape(-1, array.shape[-1])
        if rows.dtype.kind in "iub" or rows.dtype == object:
            lines = (",".join(str(v) for v in row) for row in rows)
        else:
            lines = (",".join(repr(float(v)) for v in row) for row in rows)
        return ("\n".join(lines) + "\n").encode()
    raise ValueError(f"unknown array format {fmt!r}: use 'csv' or 'npy'")


def write_array(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save an array atomically as CSV or NPY, chosen by the file extension."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("csv", "npy"):
        raise ValueError(f"{path}: unknown extension; use .csv or .npy")
    atomic_write(path, array_bytes(array, fmt))
