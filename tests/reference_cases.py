"""The literature cases (DESIGN.md §5), copied into tests/data so that a plain clone is self-contained."""

import json
from pathlib import Path

CASES_FILE = Path(__file__).resolve().parent / "data" / "overlap_cases.json"


def load_cases() -> list[dict]:
    """1D interior patterns computed with PyTorch: each case has layers, period, tile, even and holes."""
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
