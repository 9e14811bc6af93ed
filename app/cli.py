"""The `checkerlab` command line. One function per subcommand, registered in `build_parser()`.

Bad input exits with code 2 and a one-line message; Qt is imported only by the subcommands that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from analytics import CheckerlabError, Config, load_config, overlap_map, overlap_pattern, write_array

DEFAULT_SPEC = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()"
MAX_TILE_PRINT = 16


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message otherwise)
        self.exit(2, f"{self.prog}: error: {message}\n")


def load_target(spec: str, input_size: list[int] | None) -> Config:
    """SPEC is a layer list or the path of a JSON config; --input-size overrides the config's."""
    config = load_config(spec) if spec.endswith(".json") and Path(spec).exists() else Config(spec)
    return config.replace(input_size=tuple(input_size)) if input_size else config


def _fmt(v) -> str:
    f = Fraction(v)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def format_tile(tile) -> str:
    """A small table: rows are i mod ph, columns j mod pw."""
    cells = [[_fmt(v) for v in row] for row in tile]
    width = max(len(c) for row in cells for c in row + [str(len(row) - 1)])
    head = " " * 4 + " ".join(f"{j:>{width}}" for j in range(len(cells[0])))
    return "\n".join([head] + [f"{i:>3} " + " ".join(f"{c:>{width}}" for c in row) for i, row in enumerate(cells)])


def analysis_report(config: Config) -> dict:
    """Everything `analyze` prints, machine-readable."""
    pattern = overlap_pattern(config.stack)
    return {"spec": str(config.stack), "input_size": list(config.input_size),
            "output_size": list(config.stack.output_size(config.input_size)), **pattern.to_dict()}


def format_report(report: dict) -> str:
    """The human-readable form of `analysis_report`."""
    (ph, pw), (h, w), (oh, ow) = report["period"], report["input_size"], report["output_size"]
    contrast = "inf (holes)" if report["contrast"] is None else \
        f"{report['contrast']} = {report['contrast_float']:.4g}"
    (t, b), (le, ri) = report["edge"]
    lines = [
        f"stack     {report['spec']}",
        f"size      {h}x{w} -> {oh}x{ow}",
        f"period    {ph} x {pw}",
        f"even      {'yes' if report['is_even'] else 'no'}",
        f"holes     {'yes' if report['has_holes'] else 'no'}",
        f"contrast  {contrast}   (max/min overlap in the interior)",
        f"interior  starts {t} rows / {le} cols in, ends {b} rows / {ri} cols before the border",
    ]
    if ph <= MAX_TILE_PRINT and pw <= MAX_TILE_PRINT:
        lines += [f"tile      overlap count at (i mod {ph}, j mod {pw}):", format_tile(report["tile"])]
    else:
        lines.append(f"tile      {ph}x{pw}: too large to print; use --json or --csv")
    freqs = report["artifact_frequencies"]
    if freqs:
        lines.append("artifacts (fy, fx) cycles/pixel, amplitude relative to DC:")
        lines += [f"  ({f['fy']}, {f['fx']})  {f['amplitude']:.4g}" for f in freqs[:12]]
        if len(freqs) > 12:
            lines.append(f"  ... {len(freqs) - 12} more (see --json)")
    else:
        lines.append("artifacts none: the interior is flat")
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    """Exact overlap analysis of a stack."""
    config = load_target(args.spec, args.input_size)
    report = analysis_report(config)
    if args.csv:
        write_array(args.csv, overlap_map(config.stack, config.input_size))
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def cmd_run(args) -> int:
    """`make run`: the analysis of the default example."""
    print(format_report(analysis_report(Config(DEFAULT_SPEC))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="checkerlab", description="Exact checkerboard-artifact analysis of upsampling stacks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("analyze", help="exact overlap pattern, period, contrast and artifact frequencies")
    p.add_argument("spec", help="layer list, e.g. \"ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)\", "
                                "or a .json config")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="input height and width (default 32 32)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--csv", metavar="FILE", help="write the exact overlap map as CSV (or .npy)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("run", help="the main job: the default example")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CheckerlabError as exc:
        print(f"checkerlab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"checkerlab: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
