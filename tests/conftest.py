"""Shared test set-up: headless Qt before any QApplication exists, and the reference cases."""

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

CASES_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "cases" / "overlap_cases.json"


def load_cases() -> list[dict]:
    """The literature cases of ../shared/cases (a sibling of the checkout, as in CI)."""
    if not CASES_FILE.exists():
        pytest.fail(f"reference cases not found at {CASES_FILE}")
    return json.loads(CASES_FILE.read_text())["cases"]
