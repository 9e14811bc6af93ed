"""Atomic file output: a write either lands whole or leaves the old file untouched."""

from __future__ import annotations

import io
import os
import stat
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from .budget import MAX_CSV_CELLS, check
from .errors import CheckerlabError, excerpt
from .rational import RationalArray


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


def _csv_rows(array: np.ndarray | RationalArray) -> list[str]:
    """One CSV line per row: integers as is, rationals as 'p/q' in lowest terms, floats by repr. Each
    distinct value is formatted once (overlap maps hold few), so this is O(cells) joins plus
    O(distinct) formatting."""
    if isinstance(array, RationalArray):
        den = array.denominator
        values, inverse = np.unique(array.numerators, return_inverse=True)
        texts = [str(Fraction(int(v), den)) for v in values.tolist()]
    elif array.dtype.kind in "iub" or array.dtype == object:
        values, inverse = np.unique(array, return_inverse=True)
        texts = list(map(str, values.tolist()))
    else:
        values, inverse = np.unique(array.astype(float), return_inverse=True)
        texts = list(map(repr, values.tolist()))
    cells = np.array(texts, dtype=object)[inverse.reshape(array.shape)]
    return [",".join(row) for row in cells.tolist()]


def irregular(path: str | os.PathLike) -> str | None:
    """Why `path` is not a regular file to read ("a directory", "a pipe or a device"), or None. Reading a
    FIFO or a device would block or never end. OSError (e.g. no such file) propagates."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return "a directory" if stat.S_ISDIR(mode) else "not a regular file (a pipe or a device?)"


def check_array(path: str | os.PathLike, shape: tuple[int, ...]) -> None:
    """Raise what `write_array(path, array)` would refuse for an array of this shape (the extension, the CSV
    budget), before the array is computed."""
    fmt = _format(path)
    if fmt == "csv":
        check(int(np.prod(shape, dtype=object)), MAX_CSV_CELLS, "the number of CSV cells", "write a .npy file instead")


def _format(path: str | os.PathLike) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("csv", "npy"):
        raise CheckerlabError(f"{excerpt(str(path))[1:-1]}: unknown extension; use .csv or .npy")
    return fmt


def array_bytes(array: np.ndarray | RationalArray, fmt: str) -> bytes:
    """`array` as .npy or .csv bytes; exact rationals go to CSV as 'p/q' and to NPY as float64.

    CSV holds at most `MAX_CSV_CELLS` cells (use .npy beyond). O(cells)."""
    if not isinstance(array, RationalArray):
        array = np.asarray(array)
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, np.asarray(array, dtype=float) if isinstance(array, RationalArray) or array.dtype == object
                else array)
        return buf.getvalue()
    if fmt == "csv":
        check_array("array.csv", array.shape)
        shape = array.shape
        rows = (1, shape[0]) if len(shape) < 2 else (int(np.prod(shape[:-1])), shape[-1])
        if isinstance(array, RationalArray):
            array = RationalArray(array.numerators.reshape(rows), array.denominator)
        else:
            array = array.reshape(rows)
        return ("\n".join(_csv_rows(array)) + "\n").encode()
    raise CheckerlabError(f"unknown array format {excerpt(fmt)}: use 'csv' or 'npy'")


def write_array(path: str | os.PathLike, array: np.ndarray | RationalArray) -> None:
    """Save an array atomically as CSV or NPY, chosen by the file extension."""
    atomic_write(path, array_bytes(array, _format(path)))
