"""JSON config files: a stack plus its analysis and simulation settings, with a schema_version.

`save_config(load_config(p)) ` round-trips exactly; writes are atomic (temp file + os.replace), and a
malformed file raises ConfigError with its line and column and changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import CheckerlabError, ConfigError
from .files import atomic_write
from .layers import layer_from_dict
from .stack import Stack, _size_pair, as_stack

SCHEMA_VERSION = 1

INPUT_KINDS = ("constant", "noise", "gradient", "natural", "image")
INITS = ("kaiming_uniform", "ones", "uniform", "normal", "icnr", "bilinear")
BIAS_KINDS = ("zero", "constant", "random")


@dataclass(frozen=True)
class SimulationSettings:
    """How the stack is run as a network: the input image, weight init, bias, seed and Monte Carlo draws."""

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
        def choice(name, allowed):
            if getattr(self, name) not in allowed:
                raise CheckerlabError(f"simulation.{name}={getattr(self, name)!r} must be one of {', '.join(allowed)}")

        def number(name, lo, hi, kind):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, kind) or not lo <= v <= hi:
                raise CheckerlabError(f"simulation.{name}={v!r} must be {'an integer' if kind is int else 'a number'}"
                                      f" in {lo}..{hi}")

        choice("input", INPUT_KINDS)
        choice("init", INITS)
        choice("bias", BIAS_KINDS)
        number("brightness", 0, 1e6, (int, float))
        number("bias_value", -1e6, 1e6, (int, float))
        number("in_channels", 1, 4096, int)
        number("seed", 0, 2**32 - 1, int)
        number("draws", 1, 10000, int)
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


def config_from_dict(data: Any, path: str | None = None) -> Config:
    """Validate a parsed JSON document; errors name the JSON path (e.g. stack[2]) of the bad value."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a JSON object", path)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(f"schema_version={version!r} is not supported (this checkerlab reads {SCHEMA_VERSION})", path)
    unknown = set(data) - {"schema_version", "spec", "stack", "input_size", "simulation"}
    if unknown:
        raise ConfigError(f"unknown keys: {', '.join(sorted(unknown))}", path)
    try:
        if "stack" in data:
            if not isinstance(data["stack"], list):
                raise CheckerlabError("stack must be a list of layer objects")
            layers = []
            for i, item in enumerate(data["stack"]):
                if not isinstance(item, dict):
                    raise CheckerlabError(f"stack[{i}] must be an object with a 'type'")
                try:
                    layers.append(layer_from_dict(item))
                except CheckerlabError as exc:
                    raise CheckerlabError(f"stack[{i}]: {exc}") from None
            stack = Stack(layers)
        elif "spec" in data:
            stack = Stack(str(data["spec"]))
        else:
            raise CheckerlabError("a config needs 'stack' (or 'spec')")
        sim = data.get("simulation", {})
        if not isinstance(sim, dict):
            raise CheckerlabError("simulation must be an object")
        allowed = {f.name for f in fields(SimulationSettings)}
        if set(sim) - allowed:
            raise CheckerlabError(f"unknown simulation keys: {', '.join(sorted(set(sim) - allowed))}")
        return Config(stack, tuple(data.get("input_size", (32, 32))), SimulationSettings(**sim))
    except ConfigError:
        raise
    except CheckerlabError as exc:
        raise ConfigError(str(exc), path) from None


def load_config(path: str | os.PathLike) -> Config:
    """Read a config file; ConfigError (with line:column for JSON syntax errors) if it is malformed."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(exc.msg, path, exc.lineno, exc.colno) from None
    return config_from_dict(data, path)


def save_config(config: Config, path: str | os.PathLike) -> None:
    """Write `config` as JSON, atomically."""
    atomic_write(path, config.to_json())
