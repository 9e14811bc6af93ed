"""The `checkerlab` command line. One function per subcommand, registered in `build_parser()`.

Bad input exits with code 2 and a one-line message; Qt is imported only by the subcommands that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..analytics import CheckerlabError, Config, load_config, overlap_map, write_array
from ..analytics.config import BIAS_KINDS, INITS, INPUT_KINDS
from ..analytics.presentation.data import analysis_report
from ..analytics.presentation.text import analysis_text

DEFAULT_SPEC = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("checkerlab")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message otherwise)
        self.exit(2, f"{self.prog}: error: {message}\n")


def load_target(spec: str, input_size: list[int] | None) -> Config:
    """SPEC is a layer list or the path of a JSON config; --input-size overrides the config's."""
    config = load_config(spec) if spec.endswith(".json") and Path(spec).exists() else Config(spec)
    return config.replace(input_size=tuple(input_size)) if input_size else config


def cmd_analyze(args) -> int:
    """Exact overlap analysis of a stack."""
    config = load_target(args.spec, args.input_size)
    report = analysis_report(config)
    if args.csv:
        write_array(args.csv, overlap_map(config.stack, config.input_size))
    if args.latex:
        from ..analytics import export_latex
        export_latex(config.stack, args.latex, config.input_size)
    print(json.dumps(report, indent=2) if args.json else analysis_text(report))
    return 0


def cmd_formula(args) -> int:
    """The closed forms of the stack along one axis, as an amsmath align* block."""
    from ..analytics import Stack, closed_form, parse_layers, to_latex
    is_config = args.spec.endswith(".json") and Path(args.spec).exists()
    stack = load_target(args.spec, None).stack if is_config else Stack(parse_layers(args.spec, symbols=True))
    print(to_latex(closed_form(stack, args.axis)))
    return 0


def cmd_simulate(args) -> int:
    """Run the stack as a network (random weights, bias, activations) and print per-layer artifact metrics."""
    from dataclasses import asdict

    from ..analytics import SimulationSettings, compare, to_dict
    from ..analytics.presentation.text import comparison_text
    from ..analytics.simulation import simulate_settings

    config = load_target(args.spec, args.input_size)
    given = {"input": args.input, "image_path": args.image, "brightness": args.brightness, "init": args.init,
             "bias": args.bias, "bias_value": args.bias_value, "seed": args.seed, "draws": args.draws}
    changes = {k: v for k, v in given.items() if v is not None}
    if args.image and args.input is None:
        changes["input"] = "image"
    config = config.replace(simulation=SimulationSettings(**{**asdict(config.simulation), **changes}))
    if args.out and Path(args.out).suffix.lower() not in (".npy", ".csv"):
        raise CheckerlabError(f"--out {args.out}: use a .npy (or .csv) file name")
    image = None
    if config.simulation.input == "image":
        from .images import load_image
        image = load_image(config.simulation.image_path)
    mc = simulate_settings(config.stack, config.input_size, config.simulation, image=image)
    if args.out:
        write_array(args.out, mc.first.output)
    report = to_dict(compare(config, mc))
    print(json.dumps(report, indent=2) if args.json else comparison_text(report))
    return 0


def cmd_run(args) -> int:
    """`make run`: the GUI on the default example; without a display, a one-line notice, its analysis and
    the path of a screenshot PNG."""
    from .gui.launch import run_default

    return run_default(lambda config: analysis_text(analysis_report(config)))


def cmd_gui(args) -> int:
    """The desktop GUI; --screenshot renders it offscreen once both views are computed, saves a PNG, exits."""
    from .gui.launch import gui_main

    return gui_main(args.config, preset=args.preset, screenshot=args.screenshot)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="checkerlab", description="Exact checkerboard-artifact analysis of upsampling stacks.")
    parser.add_argument("--version", action="version", version=f"checkerlab {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("analyze", help="exact overlap pattern, period, contrast and artifact frequencies")
    p.add_argument("spec", help="layer list, e.g. \"ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)\", "
                                "or a .json config")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="input height and width (default 32 32)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--csv", metavar="FILE", help="write the exact overlap map as CSV (or .npy)")
    p.add_argument("--latex", metavar="FILE",
                   help="write a standalone LaTeX report (closed forms, condition, fixes)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("formula",
                       help="print the LaTeX closed forms: count, H(z), period, conditions, spectrum")
    p.add_argument("spec", help="layer list or a .json config; bare names are integer symbols, e.g. "
                                "\"ConvTranspose2d(k, stride=s, padding=p)\"")
    p.add_argument("--axis", type=int, choices=(0, 1), default=0,
                   help="0: rows (H), 1: columns (W) (default 0)")
    p.set_defaults(func=cmd_formula)

    p = sub.add_parser("simulate", help="run the stack as a network; per-layer artifact metrics next to the "
                                        "exact pattern")
    p.add_argument("spec", help="layer list or a .json config (its simulation settings are the defaults)")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="input height and width")
    p.add_argument("--input", choices=INPUT_KINDS, help="input image kind (default constant)")
    p.add_argument("--image", metavar="FILE", help="PNG/JPEG input image (implies --input image)")
    p.add_argument("--brightness", type=float, help="value of a white input pixel (default 1)")
    p.add_argument("--init", choices=INITS, help="weight init (default kaiming_uniform, PyTorch's)")
    p.add_argument("--bias", choices=BIAS_KINDS, help="bias kind (default zero)")
    p.add_argument("--bias-value", type=float, help="the value of --bias constant (default 0.1)")
    p.add_argument("--seed", type=int, help="random seed; draw d uses seed + d (default 0)")
    p.add_argument("--draws", type=int, help="Monte Carlo weight draws (default 1)")
    p.add_argument("--out", metavar="FILE.npy", help="write the first draw's output (C, H, W) as .npy")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="the main job: the default example")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("gui", help="desktop GUI: edit a stack, see the exact pattern and the simulated run")
    p.add_argument("config", nargs="?", help="a .json config or a layer list (default: the last session's)")
    p.add_argument("--preset", metavar="NAME", help="start from a preset, e.g. dcgan-k3s2")
    p.add_argument("--screenshot", metavar="FILE",
                   help="render the window offscreen once both views are computed, write a PNG and exit")
    p.set_defaults(func=cmd_gui)
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
