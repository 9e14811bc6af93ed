"""The `checkerlab` command line. One function per subcommand, registered in `build_parser()`.

Bad input exits with code 2 and one line of at most 300 characters (no traceback); a bug exits with code 1
and one line (CHECKERLAB_DEBUG=1 shows the traceback). SPEC is resolved by `analytics.targets.load_target`
(config file, preset name or layer list). Qt is imported only by the subcommands that need it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import threading
import warnings
from pathlib import Path

from ..analytics import CheckerlabError, overlap_map, write_array
from ..analytics.config import BIAS_KINDS, INITS, INPUT_KINDS
from ..analytics.errors import BudgetError, SizeDependentError, excerpt
from ..analytics.files import check_array, irregular
from ..analytics.presentation.data import analysis_report
from ..analytics.presentation.text import analysis_text
from ..analytics.presets import preset_names
from ..analytics.stack import MAX_PIXELS
from ..analytics.targets import load_target
from .model_analysis import add_model_options

DEFAULT_SPEC = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("checkerlab")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


#: The longest error line the CLI prints; a longer message is cut and marked with CUT (a bug to fix).
MAX_MESSAGE = 300
CUT = " [...]"


def one_line(message: str) -> str:
    """`message` on one printable line of at most MAX_MESSAGE characters (whitespace runs collapse)."""
    text = " ".join(str(message).split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - len(CUT)] + CUT


def _fail(prog: str, message: str) -> int:
    print(one_line(f"{prog}: error: {message}"), file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message otherwise)
        message = re.sub(r"'([^']{40,})'", lambda m: excerpt(m.group(1)), message)  # echoed input
        self.exit(_fail(self.prog, message))


def _count(lo: int, hi: int, what: str):
    """An argparse type: an integer in lo..hi, echoing at most a short excerpt of a bad value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{excerpt(text)} is not an integer; {what} is in {lo}..{hi}") \
                from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{excerpt(value)} is out of range; {what} is in {lo}..{hi}")
        return value
    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{excerpt(text)} is not a number") from None


def _bias(text: str) -> str | float:
    """--bias: a kind (zero, constant, random) or a number, read as a constant bias of that value."""
    if text in BIAS_KINDS:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{excerpt(text)} must be one of {', '.join(BIAS_KINDS)} or a number") \
            from None


#: Wall-clock budget of the symbolic engine (closed forms, the LaTeX report) in the CLI, in seconds; the
#: environment variable CHECKERLAB_SYMBOLIC_SECONDS changes it. SymPy's cost has no model to check in advance
#: yet (it grows with the period and the number of symbolic layers), so the CLI bounds it by time instead of
#: hanging.
SYMBOLIC_SECONDS = 12.0


def _symbolic_seconds() -> float:
    text = os.environ.get("CHECKERLAB_SYMBOLIC_SECONDS")
    if text is None:
        return SYMBOLIC_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 86400:
        raise CheckerlabError(f"CHECKERLAB_SYMBOLIC_SECONDS={excerpt(text)} must be a number of seconds in 0..86400")
    return seconds


class _Expired(BaseException):
    """Raised by the SIGALRM handler: a BaseException, so that no `except Exception` inside SymPy eats it."""


@contextlib.contextmanager
def _deadline(seconds: float, what: str, reduce: str):
    """Raise BudgetError if the block runs longer than `seconds` (SIGALRM: main thread, POSIX; else no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise BudgetError(f"{what} took longer than {seconds:g} s, its budget (CHECKERLAB_SYMBOLIC_SECONDS); "
                          f"{reduce}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _output(path: str | None, option: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file name with the wrong extension before any work is done."""
    if path is not None and Path(path).suffix.lower() not in suffixes:
        raise CheckerlabError(f"{option} {excerpt(path)[1:-1]}: use a {' or '.join(suffixes)} file name")


def cmd_analyze(args) -> int:
    """Exact overlap analysis of a stack, or of a model (ONNX file, --torch factory)."""
    from .model_analysis import analyze_model, is_model

    _output(args.csv, "--csv", (".csv", ".npy"))
    _output(args.latex, "--latex", (".tex",))
    if is_model(args):
        return analyze_model(args)
    if args.spec is None:
        raise CheckerlabError("analyze needs a layer list, a .json config, a preset, a .onnx model or --torch")
    config = load_target(args.spec, args.input_size)
    try:
        report = analysis_report(config)
    except SizeDependentError:  # e.g. Upsample(size=...): exact at this input size, as a network
        from .model_analysis import analyze_stack_as_network

        return analyze_stack_as_network(config, args)
    if args.csv:
        check_array(args.csv, report["output_size"])
        write_array(args.csv, overlap_map(config.stack, config.input_size))
    if args.latex:
        from ..analytics.presentation.latex import export_latex, report_figure
        figure = report_figure(config.stack, args.latex, config.input_size)  # a simulation: not symbolic time
        with _deadline(_symbolic_seconds(), "the LaTeX report", "use fewer layers or smaller strides (the exact "
                       "spectrum grows with the period)"):
            export_latex(config.stack, args.latex, config.input_size, figure)
    print(json.dumps(report, indent=2) if args.json else analysis_text(report))
    return 0


def cmd_formula(args) -> int:
    """The closed forms of the stack along one axis, as an amsmath align* block."""
    from ..analytics import closed_form, to_latex

    stack = load_target(args.spec, symbols=True).stack
    with _deadline(_symbolic_seconds(), "deriving the closed form", "use fewer layers or smaller strides (the "
                   "exact spectrum grows with the period, the algebra with the number of symbolic layers)"):
        text = to_latex(closed_form(stack, args.axis))
    print(text)
    return 0


def cmd_simulate(args) -> int:
    """Run the stack as a network (random weights, bias, activations) and print per-layer artifact metrics."""
    from dataclasses import asdict

    from ..analytics import SimulationSettings, compare, to_dict
    from ..analytics.presentation.text import comparison_text
    from ..analytics.simulation import simulate_settings

    _output(args.out, "--out", (".npy", ".csv"))
    config = load_target(args.spec, args.input_size)
    given = {"input": args.input, "image_path": args.image, "brightness": args.brightness, "init": args.init,
             "bias": args.bias, "bias_value": args.bias_value, "seed": args.seed, "draws": args.draws}
    changes = {k: v for k, v in given.items() if v is not None}
    if args.image and args.input is None:
        changes["input"] = "image"
    config = config.replace(simulation=SimulationSettings(**{**asdict(config.simulation), **changes}))
    if args.out:
        check_array(args.out, config.stack.shapes((config.simulation.in_channels, *config.input_size))[-1])
    from ..analytics.metrics import layer_patterns

    layer_patterns(config.stack)  # the exact half of the report first (cached): its budgets before the run
    image = None
    if config.simulation.input == "image":
        from .images import load_image
        path = config.simulation.image_path
        if irregular(path):
            raise CheckerlabError(f"{excerpt(path)[1:-1]}: {irregular(path)}")
        image = load_image(path)
    mc = simulate_settings(config.stack, config.input_size, config.simulation, image=image)
    if args.out:
        write_array(args.out, mc.first.output)
    report = to_dict(compare(config, mc))
    print(json.dumps(report, indent=2) if args.json else comparison_text(report))
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


def _window_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800); argparse turns the error into one line and exit code 2."""
    from .gui.launch import parse_size
    try:
        return parse_size(text)
    except CheckerlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_run(args) -> int:
    """`make run`: the GUI on the default example; without a display, a one-line notice, its analysis and
    the path of a screenshot PNG."""
    from .gui.launch import run_default

    return run_default(lambda config: analysis_text(analysis_report(config)))


def cmd_gui(args) -> int:
    """The desktop GUI; --screenshot renders it offscreen once both views are computed, saves a PNG, exits."""
    from .gui.launch import gui_main

    return gui_main(args.config, preset=args.preset, screenshot=args.screenshot, size=args.size)


def build_parser() -> argparse.ArgumentParser:
    size = _count(1, MAX_PIXELS, "each input size")
    parser = _Parser(prog="checkerlab", description="Exact checkerboard-artifact analysis of upsampling stacks.",
                     epilog="SPEC is a layer list such as \"ConvTranspose2d(3, stride=2) * 2\", a .json config, or a "
                            f"preset: {', '.join(preset_names())}. Run 'checkerlab COMMAND --help' for a "
                            "command's options.")
    parser.add_argument("--version", action="version", version=f"checkerlab {_version()}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("analyze", help="exact overlap pattern, period, contrast and artifact frequencies")
    p.add_argument("spec", nargs="?", help="layer list, e.g. \"ConvTranspose2d(3, stride=2) * 2, "
                                           "Conv2d(3, padding=1)\", a .json config, a preset name or a .onnx model")
    p.add_argument("--input-size", nargs=2, type=size, metavar=("H", "W"),
                   help="input height and width (default 32 32)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--csv", metavar="FILE", help="write the exact overlap map as CSV (or .npy)")
    p.add_argument("--latex", metavar="FILE",
                   help="write a standalone LaTeX report (closed forms, condition, fixes)")
    add_model_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("formula",
                       help="print the LaTeX closed forms: count, H(z), period, conditions, spectrum")
    p.add_argument("spec", help="layer list, .json config or preset; bare names are integer symbols, e.g. "
                                "\"ConvTranspose2d(k, stride=s, padding=p)\"")
    p.add_argument("--axis", type=int, choices=(0, 1), default=0,
                   help="0: rows (H), 1: columns (W) (default 0)")
    p.set_defaults(func=cmd_formula)

    p = sub.add_parser("simulate", help="run the stack as a network; per-layer artifact metrics next to the "
                                        "exact pattern")
    p.add_argument("spec", help="layer list, .json config or preset (its simulation settings are the defaults)")
    p.add_argument("--input-size", nargs=2, type=size, metavar=("H", "W"), help="input height and width")
    p.add_argument("--input", choices=INPUT_KINDS, help="input image kind (default constant)")
    p.add_argument("--image", metavar="FILE", help="PNG/JPEG input image (implies --input image)")
    p.add_argument("--brightness", type=_number, help="value of a white input pixel (default 1)")
    p.add_argument("--init", choices=INITS, help="weight init (default kaiming_uniform, PyTorch's)")
    p.add_argument("--bias", type=_bias, metavar="{zero,constant,random,NUMBER}",
                   help="bias kind (default zero); a number is a constant bias of that value")
    p.add_argument("--bias-value", type=_number, help="the value of --bias constant (default 0.1)")
    p.add_argument("--seed", type=_count(0, 2**32 - 1, "the seed"), help="random seed; draw d uses seed + d "
                   "(default 0)")
    p.add_argument("--draws", type=_count(1, 10000, "--draws"), help="Monte Carlo weight draws (default 1)")
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
    p.add_argument("--size", type=_window_size, metavar="WxH",
                   help="window size in pixels, e.g. 1280x800 (the screenshot has exactly this size)")
    p.set_defaults(func=cmd_gui)
    parser.set_defaults(commands=", ".join(sub.choices))
    return parser


def _explain_first_compile() -> None:
    """One line on stderr if this run compiles the kernels (the first run after an install: seconds, once)."""
    from ..kernels.jit import on_first_compile

    on_first_compile(lambda cache: print(f"checkerlab: compiling the kernels for their first run (a few seconds, "
                                         f"once; kept in {cache})", file=sys.stderr, flush=True))


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input: exit 2 and one line on stderr. A bug: exit 1 and one line (the traceback
    with CHECKERLAB_DEBUG=1), never a raw traceback."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed on one line
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        return _fail("checkerlab", f"missing COMMAND: one of {args.commands} (see checkerlab --help)")
    if args.command != "gui" and sys.stderr.isatty():  # the GUI compiles in the background
        _explain_first_compile()
    try:
        with warnings.catch_warnings():  # a stray warning is not part of the output
            warnings.simplefilter("ignore", SyntaxWarning)
            return args.func(args)
    except CheckerlabError as exc:
        return _fail("checkerlab", str(exc))
    except BrokenPipeError:  # the reader stopped early (`checkerlab analyze ... | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit-time flush must not raise
        return 0
    except OSError as exc:
        name = excerpt(str(exc.filename))[1:-1] if exc.filename else ""
        return _fail("checkerlab", f"{name}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line, and the traceback on request
        if os.environ.get("CHECKERLAB_DEBUG") == "1":
            raise
        print(one_line(f"checkerlab: internal error: {type(exc).__name__}: {exc} (please report it; "
                       "CHECKERLAB_DEBUG=1 shows the traceback)"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
