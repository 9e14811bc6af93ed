"""`checkerlab analyze` for real models: an ONNX file, or a PyTorch factory with optional trained weights.

    checkerlab analyze decoder.onnx [--input-shape 1 4 64 64] [--per-layer] [--json]
    checkerlab analyze --torch mypackage.models:make_decoder --input-shape 1 4 64 64 [--weights w.safetensors]

The factory is `package.module:callable`, imported like `python -m` would (the current directory first) and
called without arguments; it returns the torch.nn.Module. `--weights` loads a .safetensors file or a .pt/.pth
state dict (torch.load with weights_only=True). `--per-layer` adds `checkerboard_report`: which layer paints
the checkerboard with these weights. Every failure is one line and exit code 2 (the CLI's CheckerlabError).
"""

from __future__ import annotations

import json
import os
import re
import sys
from fractions import Fraction
from pathlib import Path

from ..analytics import CheckerlabError, write_array
from ..analytics.network import Network, is_layer
from ..analytics.network_pattern import NetworkPattern, network_map, network_pattern, number_text


def add_model_options(p) -> None:
    """The model options of the `analyze` subcommand."""
    p.add_argument("--torch", metavar="MODULE:FACTORY",
                   help="a PyTorch factory, e.g. mypackage.models:make_decoder (called without arguments)")
    p.add_argument("--input-shape", nargs="+", type=int, metavar="N",
                   help="model input shape N C H W (for --torch, or an ONNX model with dynamic dims)")
    p.add_argument("--weights", metavar="FILE", help="trained weights for --torch: .safetensors or .pt/.pth")
    p.add_argument("--per-layer", action="store_true",
                   help="per-layer report on the model's weights: which layer introduces, amplifies, damps")


def is_model(args) -> bool:
    """True when `analyze` is given a model rather than a layer stack."""
    return bool(getattr(args, "torch", None)) or str(args.spec or "").lower().endswith(".onnx")


def _user_module(name: str):
    """The user's module `name` (e.g. mypackage.models), found like `python -m` would: the current directory
    first. Never a checkerlab module: that is no model factory, and the package's own imports are static."""
    import importlib.util

    if name == "checkerlab" or name.startswith("checkerlab."):
        raise CheckerlabError(f"--torch: {name[:60]} is part of checkerlab, not a model module")
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    finally:
        if sys.path and sys.path[0] == cwd:
            sys.path.pop(0)


def _factory(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CheckerlabError(f"--torch {spec[:80]!r}: write it as package.module:factory")
    try:
        module = _user_module(module_name)
    except CheckerlabError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure of the user's module
        raise CheckerlabError(f"--torch: cannot import {module_name[:80]!r}: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:120]}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise CheckerlabError(f"--torch: {module_name[:60]} has no callable {attr[:60]!r}")
    try:
        return factory()
    except Exception as exc:  # noqa: BLE001 - the user's factory failed
        raise CheckerlabError(f"--torch: {attr[:60]}() failed: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:120]}") from None


def load_network(args) -> Network:
    """The network that `analyze` was pointed at (ONNX file or torch factory)."""
    if getattr(args, "latex", None):
        raise CheckerlabError("--latex needs a layer stack; a model has no closed form")
    if args.torch:
        from ..analytics.torch_import import from_torch

        if not args.input_shape:
            raise CheckerlabError("--torch needs --input-shape, e.g. --input-shape 1 3 64 64")
        module = _factory(args.torch)
        if args.weights:
            from ..analytics.state_dict import load_weights

            load_weights(module, args.weights)
        return from_torch(module, tuple(args.input_shape))
    if args.weights:
        raise CheckerlabError("--weights goes with --torch (an ONNX file carries its own weights)")
    from ..analytics.onnx_import import from_onnx

    return from_onnx(args.spec, tuple(args.input_shape) if args.input_shape else None)


#: Decimal digits up to which JSON carries an exact number (Python's int-to-text limit is 4,300).
JSON_DIGITS = 4000


def _exact(v) -> int | str:
    """An exact count for JSON: an int, or a fraction's text; beyond JSON_DIGITS digits '~m.mme+N'."""
    f = Fraction(v)
    if f.denominator == 1 and abs(f.numerator) < 10 ** JSON_DIGITS:
        return int(f)
    return number_text(f, JSON_DIGITS)


def _contrast(c) -> str | None:
    return None if c == float("inf") else number_text(c, JSON_DIGITS)


def model_report(net: Network, pattern: NetworkPattern, source: str, per_layer=None) -> dict:
    """Everything `analyze` prints for a model, machine-readable."""
    groups = []
    for g in pattern.groups:
        groups.append({
            "channels": list(g.channels), "period": list(g.period), "edge": [list(e) for e in g.edge],
            "has_interior": g.has_interior, "is_even": g.is_even, "has_holes": g.has_holes,
            "contrast": _contrast(g.contrast),
            "tile": [[_exact(v) for v in row] for row in g.tile],
            "artifact_frequencies": [{"fy": str(fy), "fx": str(fx), "amplitude": round(a, 12)}
                                     for fy, fx, a in g.artifact_frequencies[:64]],
            "paths": None if g.paths is None else [
                {"count": _exact(p.count), "period": list(p.period), "contrast": _contrast(p.contrast),
                 "breaker": p.breaker, "nodes": list(p.nodes)} for p in g.paths[:16]],
        })
    out = {"model": source, "nodes": len(net), "input_shape": list(net.input_shape),
           "output_shape": list(net.output_shape), "kind": pattern.kind, "is_even": pattern.is_even,
           "groups": groups, "verdict": pattern.verdict()}
    if per_layer is not None:
        out["per_layer"] = per_layer.to_dict()
    return out


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


def per_layer_text(per_layer) -> list[str]:
    """The per-layer table of `checkerboard_report`: module path, layer, role and the numbers behind it."""
    from ..analytics.report import TOLERANCE

    net = per_layer.network
    rows = [(net[r.node], r) for r in per_layer.rows]
    shown = [(n, r) for n, r in rows if not _row_hidden(n, r)]
    paths = [_short_path(n.module or n.name, 44) for n, _ in shown]
    width = max([len("module")] + [len(p) for p in paths])
    lines = ["", "per layer (the model's weights, on a constant input of ones):",
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
    return lines + ["report    " + line for line in per_layer.verdict().splitlines()]


def format_model_report(report: dict, per_layer=None) -> str:
    """The human-readable form of `model_report`, with the table of a `checkerboard_report` `per_layer`."""
    from ..analytics.presentation.text import MAX_TILE_PRINT, tile_text

    shape = "x".join(map(str, report["input_shape"][1:]))
    out = "x".join(map(str, report["output_shape"][1:]))
    lines = [f"model     {report['model']}", f"graph     {report['nodes']} nodes, input {shape} -> output {out}"]
    for g in report["groups"]:
        lines.append(_group_line(g))
        (ph, pw) = g["period"]
        if ph <= MAX_TILE_PRINT and pw <= MAX_TILE_PRINT and (ph, pw) != (1, 1):
            if all(isinstance(v, int) for row in g["tile"] for v in row):
                lines.append(tile_text(g["tile"]))
            else:
                lines.append("          (the tile's counts have thousands of digits: see --json)")
    lines += ["verdict   " + line for line in report["verdict"].splitlines()]
    if per_layer is not None:
        lines += per_layer_text(per_layer)
    return "\n".join(lines)


def analyze_stack_as_network(config, args) -> int:
    """`analyze` on a stack whose layers need the input size: its network at the config's input size."""
    if args.latex:
        raise CheckerlabError("--latex needs a stack without size-dependent layers (no closed form)")
    net = Network.from_stack(config.stack, (1, config.simulation.in_channels, *config.input_size))
    return _report(net, str(config.stack), args)


def analyze_model(args) -> int:
    """`analyze` on a model: the exact pattern per output channel group, the verdict, and --per-layer."""
    net = load_network(args)
    return _report(net, args.torch or Path(args.spec).name, args)


def _report(net: Network, source: str, args) -> int:
    pattern = network_pattern(net)
    per_layer = None
    if args.per_layer:
        from ..analytics.report import checkerboard_report

        per_layer = checkerboard_report(net)
    if args.csv:
        if not pattern.groups:
            raise CheckerlabError(f"--csv: the output has no spatial pattern ({pattern.why})")
        (_, first), *_ = network_map(net)
        write_array(args.csv, first)
    report = model_report(net, pattern, source, per_layer)
    print(json.dumps(report, indent=2) if args.json else format_model_report(report, per_layer))
    return 0
