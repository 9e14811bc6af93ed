"""JSON config files: a stack plus its analysis and simulation settings, with a schema_version.

`save_config(load_config(p)) ` round-trips exactly; writes are atomic (temp file + os.replace), and a
malformed file raises ConfigError with its line and column and changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .budget import MAX_CONFIG_BYTES, MAX_LAYERS, check
from .errors import CheckerlabError, ConfigError, excerpt
from .files import atomic_write, irregular
from .layers import layer_from_dict
from .stack import Stack, _size_pair, as_stack

SCHEMA_VERSION = 1

INPUT_KINDS = ("constant", "noise", "gradient", "natural", "image")
INITS = ("kaiming_uniform", "ones", "uniform", "normal", "icnr", "bilinear")
BIAS_KINDS = ("zero", "constant", "random")


@dataclass(frozen=True)
class SimulationSettings:
    """How the stack is run as a network: the input image, weight init, bias, seed and Monte Carlo draws.

    `bias` is 'zero', 'constant' (every bias = `bias_value`) or 'random'; a number is read as 'constant' with
    that value (`bias=0.1`)."""

    input: str = "constant"
    image_path: str | None = None
    brightness: float = 1.0
    in_channels: int = 3
    init: str = "kaiming_uniform"
    bias: str = "zero"
    bias_value: float = 0.1
    seed: int = 0
    draws: int = 1

    def __post_init__(self):
        if isinstance(self.bias, (int, float)) and not isinstance(self.bias, bool):
            object.__setattr__(self, "bias_value", self.bias)
            object.__setattr__(self, "bias", "constant")

        def choice(name, allowed):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise CheckerlabError(f"simulation.{name}={excerpt(value)} must be one of {', '.join(allowed)}")

        def number(name, lo, hi, kind):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, kind) or not lo <= v <= hi:
                raise CheckerlabError(f"simulation.{name}={excerpt(v)} must be "
                                      f"{'an integer' if kind is int else 'a number'} in {lo}..{hi}")

        choice("input", INPUT_KINDS)
        choice("init", INITS)
        choice("bias", BIAS_KINDS)
        number("brightness", 0, 1e6, (int, float))
        number("bias_value", -1e6, 1e6, (int, float))
        number("in_channels", 1, 4096, int)
        number("seed", 0, 2**32 - 1, int)
        number("draws", 1, 10000, int)
        if self.image_path is not None and not isinstance(self.image_path, str):
            raise CheckerlabError(f"simulation.image_path={excerpt(self.image_path)} must be a file name (a string)")
        if self.input == "image" and not self.image_path:
            raise CheckerlabError("simulation.input='image' needs simulation.image_path")


@dataclass(frozen=True)
class Config:
    """Everything one analysis needs: the stack, the input size (H, W) and the simulation settings."""

    stack: Stack
    input_size: tuple[int, int] = (32, 32)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)

    def __post_init__(self):
        object.__setattr__(self, "stack", as_stack(self.stack))
        object.__setattr__(self, "input_size", _size_pair(self.input_size))

    def replace(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "spec": str(self.stack),
            "stack": [layer.to_dict() for layer in self.stack],
            "input_size": list(self.input_size),
            "simulation": asdict(self.simulation),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def _names(keys) -> str:
    """A short list of (user-supplied) key names for a message."""
    keys = sorted(map(str, keys))
    shown = ", ".join(excerpt(k, 24)[1:-1] for k in keys[:5])
    return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def _stack_from_dict(data: dict) -> Stack:
    """The config's stack: from "stack" (layer objects) and/or "spec" (a layer list); both must agree."""
    stack = None
    if "stack" in data:
        if not isinstance(data["stack"], list):
            raise CheckerlabError("stack must be a list of layer objects")
        check(len(data["stack"]), MAX_LAYERS, "the number of layers", "use a shorter stack")
        layers = []
        for i, item in enumerate(data["stack"]):
            if not isinstance(item, dict):
                raise CheckerlabError(f"stack[{i}] must be an object with a 'type'")
            try:
                layers.append(layer_from_dict(item))
            except CheckerlabError as exc:
                raise CheckerlabError(f"stack[{i}]: {exc}") from None
        stack = Stack(layers)
    if "spec" in data:
        if not isinstance(data["spec"], str):
            raise CheckerlabError(f"spec={excerpt(data['spec'])} must be a layer list (a string)")
        from_spec = Stack(data["spec"])
        if stack is not None and from_spec != stack:
            raise CheckerlabError(f"spec {excerpt(str(from_spec), 60)} and stack {excerpt(str(stack), 60)} "
                                  "disagree; keep one of them")
        stack = from_spec
    if stack is None:
        raise CheckerlabError("a config needs 'stack' (or 'spec')")
    return stack


def config_from_dict(data: Any, path: str | None = None) -> Config:
    """Validate a parsed JSON document; errors name the JSON path (e.g. stack[2]) of the bad value."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a JSON object", path)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ConfigError(f"schema_version={excerpt(version)} is not supported (this checkerlab reads "
                          f"{SCHEMA_VERSION})", path)
    unknown = set(data) - {"schema_version", "spec", "stack", "input_size", "simulation"}
    if unknown:
        raise ConfigError(f"unknown keys: {_names(unknown)}", path)
    try:
        stack = _stack_from_dict(data)
        sim = data.get("simulation", {})
        if not isinstance(sim, dict):
            raise CheckerlabError("simulation must be an object")
        allowed = {f.name for f in fields(SimulationSettings)}
        if set(sim) - allowed:
            raise CheckerlabError(f"unknown simulation keys: {_names(set(sim) - allowed)}")
        size = data.get("input_size", [32, 32])
        if not isinstance(size, list) or len(size) != 2:
            raise CheckerlabError(f"input_size={excerpt(size)} must be a list [H, W] of two positive integers")
        return Config(stack, tuple(size), SimulationSettings(**sim))
    except ConfigError:
        raise
    except CheckerlabError as exc:
        raise ConfigError(str(exc), path) from None


def load_config(path: str | os.PathLike) -> Config:
    """Read a config file; ConfigError (with line:column for JSON syntax errors) if it is malformed.

    The file must be UTF-8 JSON of at most `MAX_CONFIG_BYTES`; nothing larger is read."""
    path = str(path)
    try:
        kind = irregular(path)
        if kind:
            raise ConfigError(f"cannot read: {kind}", path)
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    check(len(raw), MAX_CONFIG_BYTES, "the config file's size in bytes", "a config holds one stack: "
          "is this the right file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the "
                          "config as UTF-8 JSON", path) from None
    if not text.strip():
        raise ConfigError("the file is empty; a config is a JSON object with 'schema_version' and 'stack'", path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(exc.msg, path, exc.lineno, exc.colno) from None
    except RecursionError:
        raise ConfigError("the JSON is nested too deeply (a config is a few levels deep)", path) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        message = str(exc)
        if "digits" in message:
            message = "an integer has more than 4,300 digits; layer parameters are at most 1048576"
        raise ConfigError(message[:160], path) from None
    return config_from_dict(data, path)


def save_config(config: Config, path: str | os.PathLike) -> None:
    """Write `config` as JSON, atomically."""
    atomic_write(path, config.to_json())
