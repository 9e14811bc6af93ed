"""A study's renderings: its text table, its JSON and CSV, and the files DIR/NAME.json, .csv, .png and .svg.

The JSON is `StudyResult.to_dict()` indented, rows in their fields' order; serialisation is deterministic, so
the same result gives the same bytes (the reproducibility guarantee of the Monte Carlo studies is stated on
these bytes). In the table a `*_stderr` column joins its value as 'mean ± error'.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from ..files import atomic_write
from ..studies.result import StudyResult

#: Rows shown by `study_table` before it refers to the CSV.
MAX_TABLE_ROWS = 40
#: Longest text cell in `study_table` (a layer spec); the JSON and CSV keep it whole.
MAX_CELL = 60
#: The files `write_study` produces.
FORMATS = ("json", "csv", "png", "svg")


def study_json(result: StudyResult) -> str:
    """Indented JSON, ending in a newline; byte-identical for equal results."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def columns(result: StudyResult) -> list[str]:
    """Every row field, in first-seen order."""
    seen: dict[str, None] = {}
    for row in result.rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def study_csv(result: StudyResult) -> str:
    """One line per row; lists (tiles) as JSON text, missing values empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = columns(result)
    writer.writerow(names)
    for row in result.rows:
        writer.writerow([_csv_cell(row.get(c)) for c in names])
    return buf.getvalue()


def study_table(result: StudyResult, max_rows: int = MAX_TABLE_ROWS) -> str:
    """The claim, the rows as an aligned text table (a `*_stderr` column joins its value as 'm ± e'), and the
    verdict."""
    names = columns(result)
    cols = [c for c in names if not c.endswith("_stderr")]
    err = {c: _stderr_column(c, names) for c in cols}
    head = [c.removesuffix("_mean") if err[c] else c for c in cols]
    body = [[_cell(row.get(c), row.get(err[c]) if err[c] else None) for c in cols] for row in result.rows[:max_rows]]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(head)]
    lines = [f"study    {result.study}", f"claim    {result.claim}", ""]
    lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in body]
    if len(result.rows) > max_rows:
        lines.append(f"... {len(result.rows) - max_rows} more rows (all in {result.study}.csv / .json)")
    lines += ["", f"verdict  {result.verdict}"]
    return "\n".join(lines)


def write_study(result: StudyResult, out_dir: str | os.PathLike, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Save the result as out_dir/NAME.{json,csv,png,svg} (each write atomic); returns the paths. The figures
    need matplotlib (the `figures` extra)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out / f"{result.study}.{fmt}"
        if fmt == "json":
            atomic_write(path, study_json(result))
        elif fmt == "csv":
            atomic_write(path, study_csv(result))
        else:
            from .figures import save_figure, study_figure
            save_figure(study_figure(result), path)
        paths.append(path)
    return paths


def _stderr_column(column: str, columns: list[str]) -> str | None:
    base = column.removesuffix("_mean")
    return f"{base}_stderr" if f"{base}_stderr" in columns else None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _cell(value: Any, stderr: Any = None) -> str:
    """One table cell: 4 significant digits, 'm ± e' with a standard error ('[a b] ± max e' for lists)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.4g}"
        return f"{text} ± {stderr:.2g}" if isinstance(stderr, float) else text
    if isinstance(value, (list, tuple)):
        text = "[" + " ".join(_cell(v) for v in value) + "]"
        return f"{text} ± {max(stderr):.2g}" if isinstance(stderr, list) and stderr else text
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."
