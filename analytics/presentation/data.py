"""JSON-ready data: results as dicts of plain Python values, for `--json`, files and other programs.

Exact rationals become strings ("7/4"), integers stay ints (beyond JSON_DIGITS digits '~m.mme+N', the text
of `network_pattern.number_text`), inf and NaN become None. `to_dict` renders an OverlapPattern (the interior
pattern), a Comparison (exact vs simulated per layer), a NetworkPattern (a model's pattern per output channel
group) or a CheckerboardReport (per-layer roles); `analysis_report` and `model_report` are everything
`checkerlab analyze` prints for a stack and for a model. Cost: O(size of the result), e.g. O(ph pw) for a
pattern's tile.
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
from ..network_pattern import NetworkPattern, number_text
from ..overlap import MAX_TILE_LISTED, OverlapPattern, overlap_pattern
from ..report import CheckerboardReport, LayerReport

#: Decimal digits up to which JSON carries an exact number (Python's int-to-text limit is 4,300).
JSON_DIGITS = 4000


@singledispatch
def to_dict(obj) -> dict[str, Any]:
    """A result as a JSON-ready dict."""
    raise TypeError(f"no dict form for {type(obj).__name__}: use an OverlapPattern, a Comparison, a "
                    "NetworkPattern or a CheckerboardReport")


def _exact(v) -> int | str:
    """An exact count: an int, or a fraction's text; beyond JSON_DIGITS digits '~m.mme+N'."""
    if isinstance(v, np.integer):
        return int(v)
    f = Fraction(v)
    if f.denominator == 1 and abs(f.numerator) < 10 ** JSON_DIGITS:
        return int(f)
    return number_text(f, JSON_DIGITS)


def _number(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


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


def pattern_report(pattern: OverlapPattern) -> dict[str, Any]:
    """A pattern with its stack's spec, and the input and output sizes when it has an input size."""
    sizes = {} if pattern.input_size is None else {"input_size": list(pattern.input_size),
                                                   "output_size": list(pattern.output_size)}
    return {"spec": str(pattern.stack), **sizes, **to_dict(pattern)}


def analysis_report(config: Config) -> dict[str, Any]:
    """Everything `checkerlab analyze` prints: the spec, input and output sizes, and the exact pattern with
    the interior of that input."""
    return pattern_report(overlap_pattern(config.stack, config.input_size))


# ------------------------------------------------------------------ models


def _contrast_text(c) -> str | None:
    return None if c == float("inf") else number_text(c, JSON_DIGITS)


@to_dict.register
def _(pattern: NetworkPattern) -> dict[str, Any]:
    """The network's size and the exact pattern per output channel group: period, edge, contrast, tile, the
    strongest 64 artifact frequencies and 16 paths. O(groups x (tile + 64 + 16 x path length))."""
    net = pattern.network
    groups = []
    for g in pattern.groups:
        groups.append({
            "channels": list(g.channels), "period": list(g.period), "edge": [list(e) for e in g.edge],
            "has_interior": g.has_interior, "is_even": g.is_even, "has_holes": g.has_holes,
            "contrast": _contrast_text(g.contrast),
            "tile": [[_exact(v) for v in row] for row in g.tile],
            "artifact_frequencies": [{"fy": str(fy), "fx": str(fx), "amplitude": round(a, 12)}
                                     for fy, fx, a in g.artifact_frequencies[:64]],
            "paths": None if g.paths is None else [
                {"count": _exact(p.count), "period": list(p.period), "contrast": _contrast_text(p.contrast),
                 "breaker": p.breaker, "nodes": list(p.nodes)} for p in g.paths[:16]],
        })
    return {"nodes": len(net), "input_shape": list(net.input_shape), "output_shape": list(net.output_shape),
            "kind": pattern.kind, "is_even": pattern.is_even, "groups": groups, "verdict": pattern.verdict()}


def _layer_report(row: LayerReport) -> dict[str, Any]:
    return {"node": row.node, "layer": row.spec, "module": row.module, "module_type": row.module_type,
            "period": list(row.period) if row.period else None, "role": row.role,
            "gain_spread": _number(row.gain_spread), "gain_amplitude": _number(row.gain_amplitude),
            "response": _number(row.response), "measured": _number(row.measured), "change": _number(row.change),
            "phase_gain": None if row.phase_gain is None else row.phase_gain.tolist()}


@to_dict.register
def _(report: CheckerboardReport) -> dict[str, Any]:
    """The verdict and one row per measured node. O(nodes x phase gains)."""
    return {"verdict": report.verdict(), "layers": [_layer_report(r) for r in report.rows]}


def model_report(pattern: NetworkPattern, source: str, per_layer: CheckerboardReport | None = None) -> dict:
    """Everything `checkerlab analyze` prints for a model (`source`: its file or factory), machine-readable."""
    out = {"model": source, **to_dict(pattern)}
    if per_layer is not None:
        out["per_layer"] = to_dict(per_layer)
    return out
