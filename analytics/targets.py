"""What a user names -> a `Config`: a config file, a preset name or a layer spec, one resolution for every
front end (the CLI's SPEC argument, the GUI's command line, scripts)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .overlap import check_map, overlap_pattern
from .presets import find_preset
from .spec import parse_layers
from .stack import Stack


def _exists(target: str) -> bool:
    if not target.strip():  # Path("") is ".", which exists
        return False
    try:
        return Path(target).exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte, ...
        return False


def load_target(target: str | os.PathLike | Config | Stack, input_size: Any = None, *,
                symbols: bool = False) -> Config:
    """The `Config` that `target` names, with `input_size` (an int or (H, W)) replacing its own if given.

    A path object, or a string ending in ``.json``, is a config file (ConfigError if it cannot be read); a
    preset key or title (`analytics.presets`, case-insensitive) is that preset; another existing path is a
    config file; anything else is a layer spec with the default settings. `symbols=True` reads bare names
    in a spec as SymPy integer symbols (closed forms). A Config or Stack passes through."""
    if isinstance(target, Config):
        config = target
    elif isinstance(target, Stack):
        config = Config(target)
    elif isinstance(target, os.PathLike) or str(target).lower().endswith(".json"):
        config = load_config(target)
    elif (preset := find_preset(target)) is not None:
        config = preset.config
    elif _exists(target):  # a file by another name; load_config refuses directories and pipes
        config = load_config(target)
    else:
        config = Config(Stack(parse_layers(target, symbols=symbols)))
    return config if input_size is None else config.replace(input_size=input_size)


def preflight(config: Config) -> None:
    """Raise the CheckerlabError that analysing or simulating `config` would raise, before the heavy work:
    the exact pattern for its input size (budgeted, fast), the budget of its exact map, and the shapes,
    memory and work budget of its simulation. For front ends that start long-running views."""
    from .simulation import check_simulation

    overlap_pattern(config.stack, config.input_size)
    check_map(config.stack, config.input_size)
    sim = config.simulation
    check_simulation(config.stack, (sim.in_channels, *config.input_size), sim.draws)
