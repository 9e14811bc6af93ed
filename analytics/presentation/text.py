"""Plain text for terminals and the GUI: the analysis report, the exact vs simulated table, a model's pattern
and per-layer table, closed forms.

`analysis_text`, `comparison_text`, `network_pattern_text` and `model_text` render the dicts of `data` (so
text and `--json` always say the same); `checkerboard_report_text` draws the per-layer table of a
CheckerboardReport; `closed_form_text` draws a ClosedForm with SymPy's Unicode pretty printer; `to_text(obj)`
picks the right one for an OverlapPattern, a Comparison, a NetworkPattern, a CheckerboardReport or a
ClosedForm. Every exact number goes through `exact_text` ("3", "7/4"). SymPy is imported only for closed
forms, so that `checkerlab analyze` starts without it. Cost: O(size of the output).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from ..comparison import Comparison
from ..network import is_layer
from ..network_pattern import NetworkPattern
from ..overlap import OverlapPattern
from ..report import TOLERANCE, CheckerboardReport
from .data import pattern_report, to_dict

#: Largest period whose tile is printed by `analysis_text`.
MAX_TILE_PRINT = 16
#: Most artifact frequencies listed.
MAX_FREQUENCIES = 12


def exact_text(v: Any) -> str:
    """An exact value as text: 3, 7/4 (the one number formatter of the text outputs)."""
    return str(Fraction(v))


def to_text(obj) -> str:
    """A result as plain text: an OverlapPattern as `checkerlab analyze` prints it, a Comparison as its table,
    a NetworkPattern as its groups and verdict, a CheckerboardReport as its per-layer table, a ClosedForm in
    Unicode."""
    from ..closed_forms import ClosedForm

    if isinstance(obj, OverlapPattern):
        return analysis_text(pattern_report(obj))
    if isinstance(obj, Comparison):
        return comparison_text(to_dict(obj))
    if isinstance(obj, NetworkPattern):
        return network_pattern_text(to_dict(obj))
    if isinstance(obj, CheckerboardReport):
        return checkerboard_report_text(obj)
    if isinstance(obj, ClosedForm):
        return closed_form_text(obj)
    raise TypeError(f"no text form for {type(obj).__name__}: use an OverlapPattern, a Comparison, a "
                    "NetworkPattern, a CheckerboardReport or a ClosedForm")


# ------------------------------------------------------------------ the exact analysis


def tile_text(tile) -> str:
    """A small table: rows are i mod ph, columns j mod pw."""
    cells = [[exact_text(v) for v in row] for row in tile]
    width = max(len(c) for row in cells for c in row + [str(len(row) - 1)])
    head = " " * 4 + " ".join(f"{j:>{width}}" for j in range(len(cells[0])))
    return "\n".join([head] + [f"{i:>3} " + " ".join(f"{c:>{width}}" for c in row) for i, row in enumerate(cells)])


def analysis_text(report: dict) -> str:
    """The human-readable form of `data.analysis_report`."""
    (ph, pw) = report["period"]
    contrast = "inf (holes)" if report["contrast"] is None else \
        f"{report['contrast']} = {report['contrast_float']:.4g}"
    (t, b), (le, ri) = report["edge"]
    interior = report.get("has_interior", True)
    lines = [f"stack     {report['spec']}"]
    if "input_size" in report:  # a pattern without an input size has no output size either
        (h, w), (oh, ow) = report["input_size"], report["output_size"]
        lines.append(f"size      {h}x{w} -> {oh}x{ow}")
    lines += [
        f"period    {ph} x {pw}",
        f"even      {'yes' if report['is_even'] else 'no' if interior else 'no: there is no interior'}",
        f"holes     {'yes' if report['has_holes'] else 'no'}",
        f"contrast  {contrast}   (max/min overlap in the interior)",
        f"interior  starts {t} rows / {le} cols in, ends {b} rows / {ri} cols before the border",
    ]
    if not interior:
        lines.append(f"          none at {h}x{w}: every output pixel is border (it sees padding or a partial "
                     "kernel); the pattern below is what a larger input shows inside")
    if ph <= MAX_TILE_PRINT and pw <= MAX_TILE_PRINT:
        lines += [f"tile      overlap count at (i mod {ph}, j mod {pw}):", tile_text(report["tile"])]
    else:
        lines.append(f"tile      {ph}x{pw}: too large to print; use --json or --csv")
    freqs, count = report["artifact_frequencies"], report.get("artifact_count", len(report["artifact_frequencies"]))
    if freqs:
        lines.append("artifacts (fy, fx) cycles/pixel, amplitude relative to DC:")
        lines += [f"  ({f['fy']}, {f['fx']})  {f['amplitude']:.4g}" for f in freqs[:MAX_FREQUENCIES]]
        if count > MAX_FREQUENCIES:
            lines.append(f"  ... {count - MAX_FREQUENCIES:,} more (--json lists the strongest {len(freqs):,})")
    elif interior:
        lines.append("artifacts none: the interior is flat")
    else:
        lines.append("artifacts none inside a larger input's interior; this output is all border")
    return "\n".join(lines)


# ------------------------------------------------------------------ exact vs simulated


def _stat(stat: dict | None, draws: int) -> str:
    """'mean' or 'mean±std' of a report entry; '-' when there is nothing to show."""
    if stat is None or stat["mean"] is None:
        return "-"
    return f"{stat['mean']:.4g}" if draws == 1 else f"{stat['mean']:.4g}±{stat['std'] or 0:.2g}"


def comparison_text(report: dict) -> str:
    """The human-readable form of `to_dict(comparison)`: one row per layer, simulated next to exact."""
    sim, draws = report["simulation"], report["draws"]
    (h, w), out = report["input_size"], report["output_shape"]
    bias = f"{sim['bias']} {sim['bias_value']:g}" if sim["bias"] == "constant" else sim["bias"]
    lines = [
        f"stack     {report['spec']}",
        f"input     {sim['input']} {sim['in_channels']}x{h}x{w}, brightness {sim['brightness']:g}; "
        f"init {sim['init']}, bias {bias}, seed {sim['seed']}, {draws} draw{'s' if draws > 1 else ''}",
        f"output    {'x'.join(map(str, out))}",
        "contrast: max/min of the phase-mean tile (inf: a phase reaches 0); energy: fraction at the artifact "
        "frequencies",
        f"{'layer':<22} {'output':<13} {'period':<7} {'contrast sim':>16} {'exact':>9} "
        f"{'energy sim':>16} {'exact':>7}",
    ]
    for row in report["layers"]:
        c, x = row["contrast"], row["exact"]
        if c is None:
            contrast = "-"
        else:
            contrast = "inf" if c["infinite_fraction"] >= 1 else _stat(c, draws)
            if 0 < c["infinite_fraction"] < 1:
                contrast += f" (inf {c['infinite_fraction']:.0%})"
        period = "x".join(map(str, row["period"])) if row["period"] else "-"
        shape = "x".join(map(str, row["shape"]))
        name = row["layer"].split("(")[0]
        exact_contrast = "-" if x is None else x["contrast"] or "inf"
        exact_energy = f"{'-':>7}" if x is None else f"{x['artifact_energy']:>7.4g}"
        lines.append(f"{row['index']:>2} {name:<19} {shape:<13} {period:<7} {contrast:>16} "
                     f"{exact_contrast:>9} {_stat(row['artifact_energy'], draws):>16} {exact_energy}")
    return "\n".join(lines)


# ------------------------------------------------------------------ models


def _group_line(g: dict) -> str:
    """One output channel group: its period, evenness and contrast (inside a larger input without interior)."""
    (ph, pw), (a, b) = g["period"], g["channels"]
    contrast = "inf (holes)" if g["contrast"] is None else g["contrast"]
    tile_even = (ph, pw) == (1, 1) and not g["has_holes"]
    if g["has_interior"]:
        return f"channels  {a}..{b - 1}: period {ph} x {pw}, even {'yes' if g['is_even'] else 'no'}, " \
               f"contrast {contrast}"
    inside = "even" if tile_even else f"period {ph} x {pw}, contrast {contrast}"
    return f"channels  {a}..{b - 1}: no interior at this size (every pixel is border); inside a larger input: {inside}"


def network_pattern_text(report: dict) -> str:
    """The human-readable form of `to_dict(network_pattern)`: the graph's size, one line (and a small tile) per
    output channel group, the verdict."""
    shape = "x".join(map(str, report["input_shape"][1:]))
    out = "x".join(map(str, report["output_shape"][1:]))
    lines = [f"graph     {report['nodes']} nodes, input {shape} -> output {out}"]
    for g in report["groups"]:
        lines.append(_group_line(g))
        (ph, pw) = g["period"]
        if ph <= MAX_TILE_PRINT and pw <= MAX_TILE_PRINT and (ph, pw) != (1, 1):
            if all(isinstance(v, int) for row in g["tile"] for v in row):
                lines.append(tile_text(g["tile"]))
            else:
                lines.append("          (the tile's counts have thousands of digits: see --json)")
    lines += ["verdict   " + line for line in report["verdict"].splitlines()]
    return "\n".join(lines)


#: Keyword arguments that say nothing about the geometry, left out of the per-layer table's layer column.
_QUIET = re.compile(r", (out_channels|bias|eps|momentum|affine|track_running_stats|inplace)=[^,)]*")


def _short_spec(spec: str) -> str:
    spec = _QUIET.sub("", spec)
    return spec if len(spec) <= 40 else spec[:39] + "~"


def _short_path(path: str, width: int) -> str:
    """A module path cut in the middle (its first and last parts say where it is)."""
    if len(path) <= width:
        return path
    keep = width - 1
    return path[:keep // 3] + "~" + path[len(path) - (keep - keep // 3):]


def _row_hidden(node, row) -> bool:
    """Pointwise layers and tensor ops (adds, products, concatenations) that pass the artifact unchanged or are
    unmeasured: in --json, not in the table, which keeps the layers that shape the geometry and every node
    that introduces, amplifies or damps."""
    op = node.op
    pointwise = not is_layer(op) or getattr(op, "pointwise", False) or op.is_activation
    return row.role in ("passes", "unmeasured") and pointwise


def _gain_text(gains) -> str:
    """The channel-mean phase gains of a (C, s_h, s_w) array as rows, e.g. [0.51 0.12; 0.3 0.07]."""
    mean = gains.mean(axis=0)
    return "[" + "; ".join(" ".join(f"{v:.3g}" for v in row) for row in mean) + "]"


def checkerboard_report_text(per_layer: CheckerboardReport) -> str:
    """The per-layer table of `checkerboard_report`: module path, layer, role and the numbers behind it, a
    legend and the report's verdict. O(nodes)."""
    net = per_layer.network
    rows = [(net[r.node], r) for r in per_layer.rows]
    shown = [(n, r) for n, r in rows if not _row_hidden(n, r)]
    paths = [_short_path(n.module or n.name, 44) for n, _ in shown]
    width = max([len("module")] + [len(p) for p in paths])
    lines = ["per layer (the model's weights, on a constant input of ones):",
             f"{'module':<{width}}  {'layer':<40} {'role':<10} {'period':<7} {'spread':>7} {'resp.':>6} "
             f"{'measured':>9} {'change':>7}"]

    def num(v, fmt=".3g"):
        return "-" if v is None else format(v, fmt)
    for path, (_, row) in zip(paths, shown, strict=True):
        period = "x".join(map(str, row.period)) if row.period else "-"
        lines.append(f"{path:<{width}}  {_short_spec(row.spec):<40} {row.role:<10} {period:<7} "
                     f"{num(row.gain_spread):>7} {num(row.response):>6} {num(row.measured):>9} "
                     f"{num(row.change):>7}")
        if row.phase_gain is not None and row.phase_gain.shape[1] * row.phase_gain.shape[2] <= 16:
            lines.append(f"{'':<{width}}    phase gains (channel mean) {_gain_text(row.phase_gain)}, largest "
                         f"artifact amplitude {row.gain_amplitude:.3g} of DC")
    hidden = len(rows) - len(shown)
    if hidden:
        lines.append(f"({hidden} pointwise layers and tensor ops that pass the artifact unchanged, or are unmeasured, "
                     "are left out; --json lists them)")
    lines += ["spread: (max - min) / mean |gain| of a transposed or sub-pixel conv's per-phase gains (sub-kernel "
              "sums);", "resp.: a stride-1 conv's largest |H(f)| / |H(0)| at its input's artifact frequencies; "
              "measured: the output's", "modulation on the constant input; change: measured / the input's "
              f"(introduces, amplifies > {1 + TOLERANCE:g}, damps < {1 - TOLERANCE:g})"]
    return "\n".join(lines + ["report    " + line for line in per_layer.verdict().splitlines()])


def model_text(report: dict, per_layer: CheckerboardReport | None = None) -> str:
    """The human-readable form of `data.model_report`, with the table of a `checkerboard_report` `per_layer`."""
    lines = [f"model     {report['model']}", network_pattern_text(report)]
    if per_layer is not None:
        lines += ["", checkerboard_report_text(per_layer)]
    return "\n".join(lines)


# ------------------------------------------------------------------ closed forms


def _readable(expr):
    """SymPy expression with checkerlab's integer functions in their textbook form (n mod 8, gcd)."""
    import sympy as sp

    from ..symbols import IntGcd, IntMod

    if not isinstance(expr, sp.Basic):
        return expr
    expr = expr.replace(IntMod, lambda a, m: sp.Mod(a, m, evaluate=False))
    return expr.replace(IntGcd, lambda a, b: sp.gcd(a, b))


def closed_form_text(cf) -> str:
    """Unicode rendering (SymPy's 2D pretty printer) of a `ClosedForm`: c(n), H(z), period, spectrum."""
    import sympy as sp

    def pp(expr) -> str:
        return sp.pretty(_readable(expr), use_unicode=True, wrap_line=False)

    def eq(lhs: str, expr, sep: str = " = ", tail: str = "") -> str:
        body = pp(expr).splitlines() or [""]
        width = max(len(line) for line in body)
        pad = " " * (len(lhs) + len(sep))
        mid = len(body) // 2
        return "\n".join(
            (lhs + sep if k == mid else pad) + line.ljust(width) + (tail if k == mid else "")
            for k, line in enumerate(body)
        ).rstrip()

    n, z = cf.n, cf.z
    if cf.is_symbolic or not isinstance(cf.count, sp.Piecewise):
        count = eq(f"c({n})", cf.count)
    else:  # a numeric tile: the table form is clearer than a many-branch Piecewise
        count = f"c({n}) = t[{n} mod {cf.period}],  t = ({', '.join(exact_text(v) for v in cf.tile)})"
    lines = [
        f"total stride S = {cf.stride},  offset = {pp(cf.offset)}",
        "",
        count,
        "",
        eq(f"H({z})", cf.generating_function),
        "",
        f"mean H(1)/S = {pp(cf.mean)},  period = {pp(cf.period)}",
    ]
    if cf.is_symbolic:
        lines += ["", eq("even  ⇔", cf.even_condition), eq("holes ⇔", cf.holes_condition)]
        return "\n".join(lines)
    lines.append(
        f"even: {'yes' if cf.even_condition else 'no'}   holes: {'yes' if cf.holes_condition else 'no'}"
    )
    try:
        freqs = cf.artifact_frequencies
    except Exception as exc:  # noqa: BLE001 - a period too long for the exact spectrum
        return "\n".join(lines + [f"spectrum: {exc}"])
    if not freqs:
        lines.append("artifacts: none, H(ωᵐ) = 0 for 0 < m < S")
    else:
        lines += ["", "artifacts |H(ωᵐ)| / H(1), ω = e^(−2πi/S):"]
        for f, amp in freqs[:MAX_FREQUENCIES]:
            lines.append(eq(f"  f = {exact_text(f):>5}", amp, sep=":  ", tail=f"  ≈ {float(amp):.4g}"))
        if len(freqs) > MAX_FREQUENCIES:
            lines.append(f"  … {len(freqs) - MAX_FREQUENCIES} more")
    return "\n".join(lines)
