"""JSON-ready data: results as dicts of plain Python values, for `--json`, files and other programs.

Exact rationals become strings ("7/4"), integers stay ints, inf and NaN become None. `to_dict` renders an
OverlapPattern (the interior pattern) or a Comparison (exact vs simulated per layer); `analysis_report` is
everything `checkerlab analyze` prints. Cost: O(size of the result), e.g. O(ph pw) for a pattern's tile.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from fractions import Fraction
from functools import singledispatch
from typing import Any

import numpy as np

from ..comparison import Comparison, LayerComparison
from ..config import Config
from ..overlap import MAX_TILE_LISTED, OverlapPattern, overlap_pattern


@singledispatch
def to_dict(obj) -> dict[str, Any]:
    """A result as a JSON-ready dict."""
    raise TypeError(f"no dict form for {type(obj).__name__}: use an OverlapPattern or a Comparison")


def _exact(v) -> int | str:
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = Fraction(v)
    return f.numerator if f.denominator == 1 else str(f)


def _number(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _contrast(contrast) -> tuple[str | None, float | None]:
    """(exact string, float) of a pattern's contrast; (None, None) for inf (holes)."""
    return (None, None) if contrast == float("inf") else (str(contrast), float(contrast))


@to_dict.register
def _(pattern: OverlapPattern) -> dict[str, Any]:
    """"tile" lists every cell up to `MAX_TILE_LISTED` cells and is null beyond: it is always the outer product
    of "profiles". "artifact_frequencies" lists the strongest `MAX_LISTED` of "artifact_count".
    O(ph + pw + min(ph*pw, MAX_TILE_LISTED) + MAX_LISTED log P)."""
    def exact(values: np.ndarray) -> list:
        if values.dtype != object:  # integers: NumPy converts them all at once
            return values.tolist()
        return [_exact(v) for v in values]
    contrast, contrast_float = _contrast(pattern.contrast)
    ph, pw = pattern.period
    out = {
        "period": [ph, pw],
        "tile": [exact(row) for row in pattern.tile] if ph * pw <= MAX_TILE_LISTED else None,
        "profiles": [exact(a.tile) for a in pattern.axes],
        "edge": [list(e) for e in pattern.edge],
        "is_even": pattern.is_even,
        "has_holes": pattern.has_holes,
        "contrast": contrast,
        "contrast_float": contrast_float,
        "artifact_count": pattern.artifact_count,
        "artifact_frequencies": [
            {"fy": str(fy), "fx": str(fx), "amplitude": round(a, 12)} for fy, fx, a in pattern.artifact_frequencies
        ],
    }
    if pattern.input_size is not None:
        out["has_interior"] = pattern.has_interior
        out["interior"] = list(pattern.interior)
    return out


def _layer(row: LayerComparison) -> dict[str, Any]:
    out: dict[str, Any] = {"index": row.index, "layer": row.layer.spec(), "shape": list(row.shape),
                           "period": list(row.simulated_period) if row.simulated_period is not None else None}
    s = row.stats
    if s is not None:
        out["contrast"] = {"mean": _number(s.contrast_mean), "std": _number(s.contrast_std),
                           "infinite_fraction": s.contrast_infinite}
        out["modulation"] = {"mean": _number(s.modulation_mean), "std": _number(s.modulation_std)}
        out["artifact_energy"] = {"mean": _number(s.energy_mean), "std": _number(s.energy_std)}
    else:
        out["contrast"] = out["modulation"] = out["artifact_energy"] = None
    if row.pattern is None:
        out["exact"] = None
    else:
        contrast, contrast_float = _contrast(row.pattern.contrast)
        out["exact"] = {"period": list(row.pattern.period), "contrast": contrast, "contrast_float": contrast_float,
                        "artifact_energy": row.exact_energy}
    return out


@to_dict.register
def _(comparison: Comparison) -> dict[str, Any]:
    config = comparison.config
    return {"spec": str(config.stack), "input_size": list(config.input_size), "simulation": asdict(config.simulation),
            "output_shape": list(comparison.output_shape), "draws": comparison.draws,
            "layers": [_layer(row) for row in comparison.layers]}


def analysis_report(config: Config) -> dict[str, Any]:
    """Everything `checkerlab analyze` prints: the spec, input and output sizes, and the exact pattern with
    the interior of that input."""
    pattern = overlap_pattern(config.stack, config.input_size)
    return {"spec": str(config.stack), "input_size": list(config.input_size),
            "output_size": list(pattern.output_size), **to_dict(pattern)}
