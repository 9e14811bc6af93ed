"""`StudyResult`: what a study found, as data: the claim, the verdict computed from the rows, the settings and
the rows. Rows hold JSON-ready values: exact rationals as strings ("3/2", "inf" for a pattern with holes),
whole numbers as ints, Monte Carlo numbers as a mean with a `*_stderr` field beside it. Its renderings (text
table, JSON, CSV, figures, files) live in `presentation.studies` and `presentation.figures`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


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
        """{"study", "claim", "verdict", "settings", "rows"}: the JSON document of the study."""
        return {"study": self.study, "claim": self.claim, "verdict": self.verdict, "settings": self.settings,
                "rows": self.rows}
