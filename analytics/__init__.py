"""checkerlab's Python API: PyTorch-style layer stacks and the exact analysis of their checkerboard artifacts.

    >>> from checkerlab.analytics import overlap_pattern
    >>> overlap_pattern("ConvTranspose2d(3, stride=2)").axes[0].tile.tolist()
    [2, 1]

SymPy and the simulation are imported on first use (module `__getattr__`), so `import checkerlab` stays fast.
"""

from importlib import import_module

from .config import Config, SimulationSettings, load_config, save_config
from .errors import CheckerlabError, ConfigError, LayerError, SpecError
from .files import atomic_write, write_array
from .layers import (
    Conv2d,
    ConvTranspose2d,
    Layer,
    LeakyReLU,
    PixelShuffle,
    ReLU,
    Sigmoid,
    Tanh,
    Upsample,
)
from .overlap import OverlapPattern, overlap_map, overlap_pattern, overlap_profiles
from .spec import format_layers, parse_layers
from .stack import Stack, as_stack
from .sweep import sweep  # eager: the function shares its module's name, which a lazy import would rebind

# name -> submodule, imported lazily on first attribute access.
_LAZY = {
    # symbolic closed forms, depth laws, checkerboard-free condition, fixes, LaTeX
    "closed_form": "symbolic", "ClosedForm": "symbolic",
    "depth_law": "depth", "DepthLaw": "depth",
    "checkerboard_free": "fixes", "suggest_fixes": "fixes", "FreeVerdict": "fixes", "Fix": "fixes",
    "export_latex": "latex",
    # simulation, inputs, metrics
    "simulate": "simulation", "monte_carlo": "simulation", "Simulation": "simulation", "Cancelled": "simulation",
    "simulate_settings": "simulation",
    "make_input": "inputs",
    "phase_mean_tile": "metrics", "artifact_metrics": "metrics",
    # the studies package itself: checkerlab.studies.run(name); their files
    "studies": "studies", "write_study": "presentation.studies", "study_table": "presentation.studies",
}


def __getattr__(name):
    if name in _LAZY:
        module = import_module(f".{_LAZY[name]}", __name__)
        value = module if name == _LAZY[name] else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'checkerlab' has no attribute {name!r}")


__all__ = [
    "CheckerlabError", "Config", "ConfigError", "Conv2d", "ConvTranspose2d", "Layer", "LayerError", "LeakyReLU",
    "OverlapPattern", "PixelShuffle", "ReLU", "Sigmoid", "SimulationSettings", "SpecError", "Stack", "Tanh",
    "Upsample", "as_stack", "atomic_write", "format_layers", "load_config", "overlap_map", "overlap_pattern",
    "overlap_profiles", "parse_layers", "save_config", "sweep", "write_array", *_LAZY,
]
