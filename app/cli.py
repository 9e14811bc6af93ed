"""The `checkerlab` command line. One function per subcommand, registered in `build_parser()`.

Bad input exits with code 2 and a one-line message; Qt is imported only by the subcommands that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from ..analytics import CheckerlabError, Config, load_config, overlap_map, overlap_pattern, write_array
from ..analytics.config import BIAS_KINDS, INITS, INPUT_KINDS

DEFAULT_SPEC = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()"
MAX_TILE_PRINT = 16


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
    if args.latex:
        from ..analytics import export_latex
        export_latex(config.stack, args.latex, config.input_size)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def cmd_formula(args) -> int:
    """The closed forms of the stack along one axis, as an amsmath align* block."""
    from ..analytics import Stack, closed_form, parse_layers
    is_config = args.spec.endswith(".json") and Path(args.spec).exists()
    stack = load_target(args.spec, None).stack if is_config else Stack(parse_layers(args.spec, symbols=True))
    print(closed_form(stack, args.axis).latex())
    return 0


def _stat(stat: dict, draws: int) -> str:
    """'mean' or 'mean±std' of a report entry; '-' when there is nothing to show."""
    if stat["mean"] is None:
        return "-"
    return f"{stat['mean']:.4g}" if draws == 1 else f"{stat['mean']:.4g}±{stat['std'] or 0:.2g}"


def simulation_report(config: Config, mc) -> dict:
    """Everything `simulate` prints, machine-readable: per layer the simulated metrics (mean and std over
    draws; None for inf/NaN) next to the exact pattern of the stack up to that layer."""
    from dataclasses import asdict

    from ..analytics.metrics import analytic_energy, layer_patterns

    def num(v):
        return float(v) if v == v and abs(v) != float("inf") else None

    sim = config.simulation
    shapes = config.stack.shapes((sim.in_channels, *config.input_size))
    layers = []
    for i, (layer, stats, pattern) in enumerate(zip(config.stack, mc.layers, layer_patterns(config.stack),
                                                    strict=True)):
        m = mc.first.metrics[i]
        exact = pattern.to_dict()
        layers.append({
            "index": i, "layer": layer.spec(), "shape": list(shapes[i + 1]),
            "period": list(m.period) if m is not None else None,
            "contrast": {"mean": num(stats.contrast_mean), "std": num(stats.contrast_std),
                         "infinite_fraction": stats.contrast_infinite},
            "modulation": {"mean": num(stats.modulation_mean), "std": num(stats.modulation_std)},
            "artifact_energy": {"mean": num(stats.energy_mean), "std": num(stats.energy_std)},
            "exact": {"period": exact["period"], "contrast": exact["contrast"],
                      "contrast_float": exact["contrast_float"], "artifact_energy": analytic_energy(pattern)},
        })
    return {"spec": str(config.stack), "input_size": list(config.input_size), "simulation": asdict(sim),
            "output_shape": list(shapes[-1]), "draws": mc.draws, "layers": layers}


def format_simulation(report: dict) -> str:
    """The human-readable form of `simulation_report`."""
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
        contrast = "inf" if c["infinite_fraction"] >= 1 else _stat(c, draws)
        if 0 < c["infinite_fraction"] < 1:
            contrast += f" (inf {c['infinite_fraction']:.0%})"
        period = "x".join(map(str, row["period"])) if row["period"] else "-"
        shape = "x".join(map(str, row["shape"]))
        name = row["layer"].split("(")[0]
        lines.append(f"{row['index']:>2} {name:<19} {shape:<13} {period:<7} {contrast:>16} "
                     f"{x['contrast'] or 'inf':>9} {_stat(row['artifact_energy'], draws):>16} "
                     f"{x['artifact_energy']:>7.4g}")
    return "\n".join(lines)


def cmd_simulate(args) -> int:
    """Run the stack as a network (random weights, bias, activations) and print per-layer artifact metrics."""
    from dataclasses import asdict

    from ..analytics import SimulationSettings
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
    report = simulation_report(config, mc)
    print(json.dumps(report, indent=2) if args.json else format_simulation(report))
    return 0


class _ProgressBar:
    """progress(done, total) for `sweep`: a bar on stderr when it is a terminal, nothing otherwise."""

    def __init__(self, label: str, width: int = 30):
        self.label, self.width, self.tty = label, width, sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            filled = self.width * done // total
            sys.stderr.write(f"\r{self.label:<12} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
                             + ("\n" if done == total else ""))
            sys.stderr.flush()


def cmd_study(args) -> int:
    """Run a study (or all): print its table and write OUT/NAME.json, .csv, .png and .svg."""
    from ..analytics import studies
    from ..analytics.presentation.figures import require
    from ..analytics.presentation.studies import study_table, write_study
    from ..analytics.sweep import open_executor

    require()  # refuse before the Monte Carlo runs, not after
    names = studies.NAMES if args.name == "all" else (args.name,)
    parallel = any(name in studies.MONTE_CARLO for name in names)
    with open_executor(args.scheduler, args.workers if parallel else 1) as executor:
        for i, name in enumerate(names):
            try:
                result = studies.run(name, seed=args.seed, draws=args.draws, executor=executor,
                                     workers=args.workers, layer=args.layer, progress=_ProgressBar(name))
            except KeyboardInterrupt as exc:
                print(f"checkerlab: study {name} {str(exc) or 'interrupted'}; its files were not written",
                      file=sys.stderr)
                return 130
            paths = write_study(result, args.out)
            print(("\n" if i else "") + study_table(result))
            print(f"wrote    {', '.join(str(p) for p in paths)}")
    return 0


def cmd_figure(args) -> int:
    """The publication figure of a stack: exact overlap, simulated output and both spectra."""
    from dataclasses import replace

    from ..analytics.presentation.figures import check_path, overlap_figure, save_figure

    check_path(args.out)
    config = load_target(args.spec, args.input_size)
    settings = config.simulation if args.seed is None else replace(config.simulation, seed=args.seed)
    image = None
    if settings.input == "image":
        from .images import load_image
        image = load_image(settings.image_path)
    save_figure(overlap_figure(config.stack, config.input_size, settings, image, args.size), args.out)
    print(f"wrote {args.out}")
    return 0


def cmd_run(args) -> int:
    """`make run`: the GUI on the default example; without a display, a one-line notice, its analysis and
    the path of a screenshot PNG."""
    from .gui.launch import run_default

    return run_default(lambda config: format_report(analysis_report(config)))


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

    from ..analytics.studies import DEFAULT_DRAWS, NAMES

    p = sub.add_parser("study", help="check a claim about checkerboards: a table, JSON, CSV and a figure")
    p.add_argument("name", choices=(*NAMES, "all"), help="the study, or all of them")
    p.add_argument("--out", metavar="DIR", default="studies", help="where NAME.json/.csv/.png/.svg go "
                                                                   "(default ./studies)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed; one child seed per draw (default 0)")
    p.add_argument("--draws", type=int, default=DEFAULT_DRAWS,
                   help=f"Monte Carlo draws (default {DEFAULT_DRAWS})")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the draws on a Dask cluster, e.g. tcp://host:8786 "
                                                           "(pip install 'checkerlab[cluster]')")
    p.add_argument("--workers", type=int, help="local worker processes (default: the usable cores)")
    p.add_argument("--layer", metavar="SPEC", help="the block the depth study stacks (default "
                                                    "ConvTranspose2d(3, stride=2))")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("figure", help="publication figure: exact overlap, simulated output, both spectra")
    p.add_argument("spec", help="layer list or a .json config (its simulation settings drive panel b)")
    p.add_argument("--out", metavar="FILE", required=True, help="the figure: .svg, .pdf or .png")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="input height and width")
    p.add_argument("--seed", type=int, help="seed of the simulated weights")
    p.add_argument("--size", choices=("column", "page"), default="column",
                   help="one paper column (3.3 in, 2x2 panels) or the page width (6.9 in, 1x4)")
    p.set_defaults(func=cmd_figure)

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
