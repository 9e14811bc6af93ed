"""`StudyResult`: what a study found, as data, and its JSON, CSV and text-table forms.

The JSON is {"study", "claim", "verdict", "settings", "rows": [...]} with the rows' fields in a fixed order;
exact rationals are strings ("3/2", "inf" for a pattern with holes), Monte Carlo numbers come as a mean with
a `*_stderr` field beside it. Serialisation is deterministic: the same result gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

#: Rows shown by `table()` before it refers to the CSV.
MAX_TABLE_ROWS = 40
#: Longest text cell in `table()` (a layer spec); the JSON and CSV keep it whole.
MAX_CELL = 60


def exact(value: Any) -> int | str:
    """An exact number for JSON: an int if whole, else 'p/q'; 'inf' for infinity (holes)."""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    f = Fraction(value)
    return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def from_exact(value: int | str) -> Fraction | float:
    """The number behind an `exact()` value: a Fraction, or inf."""
    return math.inf if value == "inf" else Fraction(value)


def rounded(value: float, decimals: int = 12) -> float | None:
    """A float for JSON rounded to `decimals` places (None for NaN/inf): hides the floating-point noise in
    numbers that are exact in principle (DFT amplitudes of integer tiles; 6e-17 becomes 0.0)."""
    value = float(value)
    return round(value, decimals) + 0.0 if math.isfinite(value) else None


@dataclass(frozen=True)
class StudyResult:
    """One study: the claim it checks, the verdict computed from its rows, its settings and its rows."""

    study: str
    claim: str
    verdict: str
    settings: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "claim": self.claim, "verdict": self.verdict, "settings": self.settings,
                "rows": self.rows}

    def to_json(self) -> str:
        """Indented JSON, ending in a newline; byte-identical for equal results."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @property
    def columns(self) -> list[str]:
        """Every row field, in first-seen order."""
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    def to_csv(self) -> str:
        """One line per row; lists (tiles) as JSON text, missing values empty."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_cell(row.get(c)) for c in self.columns])
        return buf.getvalue()

    def table(self, max_rows: int = MAX_TABLE_ROWS) -> str:
        """The claim, the rows as an aligned text table (a `*_stderr` column joins its value as 'm ± e'),
        and the verdict."""
        cols = [c for c in self.columns if not c.endswith("_stderr")]
        err = {c: _stderr_column(c, self.columns) for c in cols}
        head = [c.removesuffix("_mean") if err[c] else c for c in cols]
        body = [[_cell(row.get(c), row.get(err[c]) if err[c] else None) for c in cols]
                for row in self.rows[:max_rows]]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(head)]
        lines = [f"study    {self.study}", f"claim    {self.claim}", ""]
        lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in body]
        if len(self.rows) > max_rows:
            lines.append(f"... {len(self.rows) - max_rows} more rows (all in {self.study}.csv / .json)")
        lines += ["", f"verdict  {self.verdict}"]
        return "\n".join(lines)


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
