"""checkerlab's Python API: PyTorch-style layer stacks and the exact analysis of their checkerboard artifacts.

    >>> from checkerlab.analytics import overlap_pattern
    >>> overlap_pattern("ConvTranspose2d(3, stride=2)").axes[0].tile.tolist()
    [2, 1]

SymPy and the simulation are imported on first use (module `__getattr__`), so `import checkerlab` stays fast.
Results hold data and mathematics; `to_latex`, `to_text` and `to_dict` render them (`presentation`).
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

# name -> submodule, imported lazily on first attribute access.
_LAZY = {
    # symbolic closed forms, depth laws, the checkerboard-free condition, fixes
    "closed_form": "closed_forms", "ClosedForm": "closed_forms", "evaluate": "evaluation", "substitute": "symbols",
    "depth_law": "depth", "DepthLaw": "depth",
    "checkerboard_free": "condition", "FreeVerdict": "condition",
    "suggest_fixes": "fixes", "Fix": "fixes", "Fixes": "fixes",
    # simulation, inputs, metrics, the exact vs simulated comparison
    "simulate": "simulation", "monte_carlo": "simulation", "Simulation": "simulation", "Cancelled": "simulation",
    "simulate_settings": "simulation",
    "make_input": "inputs",
    "phase_mean_tile": "metrics", "artifact_metrics": "metrics",
    "compare": "comparison", "Comparison": "comparison",
    # presentation: LaTeX (blocks and the report), text, JSON-ready dicts
    "to_latex": "presentation.latex", "export_latex": "presentation.latex", "latex_document": "presentation.latex",
    "to_text": "presentation.text", "to_dict": "presentation.data",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'checkerlab' has no attribute {name!r}")


__all__ = [
    "CheckerlabError", "Config", "ConfigError", "Conv2d", "ConvTranspose2d", "Layer", "LayerError", "LeakyReLU",
    "OverlapPattern", "PixelShuffle", "ReLU", "Sigmoid", "SimulationSettings", "SpecError", "Stack", "Tanh",
    "Upsample", "as_stack", "atomic_write", "format_layers", "load_config", "overlap_map", "overlap_pattern",
    "overlap_profiles", "parse_layers", "save_config", "write_array", *_LAZY,
]
