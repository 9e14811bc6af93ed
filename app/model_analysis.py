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
import sys
from pathlib import Path

from ..analytics import CheckerlabError, write_array
from ..analytics.network import Network
from ..analytics.network_pattern import network_map, network_pattern
from ..analytics.presentation.data import model_report
from ..analytics.presentation.text import model_text


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
    report = model_report(pattern, source, per_layer)
    print(json.dumps(report, indent=2) if args.json else model_text(report, per_layer))
    return 0
