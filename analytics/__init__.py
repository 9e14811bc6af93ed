"""checkerlab's Python API: PyTorch-style layer stacks and the exact analysis of their checkerboard artifacts.

    >>> from checkerlab.analytics import overlap_pattern
    >>> overlap_pattern("ConvTranspose2d(3, stride=2)").axes[0].tile.tolist()
    [2, 1]

SymPy and the simulation are imported on first use (module `__getattr__`), so `import checkerlab` stays fast.
Results hold data and mathematics; `to_latex`, `to_text` and `to_dict` render them (`presentation`).
"""

from importlib import import_module

from .config import Config, SimulationSettings, load_config, save_config
from .errors import BudgetError, CheckerlabError, ConfigError, LayerError, SpecError
from .files import atomic_write, write_array
from .layers import (
    LAYER_TYPES,
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
from .network import Network, Node
from .overlap import OverlapPattern, overlap_map, overlap_pattern, overlap_profiles
from .rational import RationalArray
from .spec import format_layers, parse_layers
from .stack import Stack, as_stack
from .sweep import sweep  # eager: the function shares its module's name, which a lazy import would rebind
from .targets import load_target

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
    # real models: import, the pattern of a network, the per-layer report on trained weights
    "from_torch": "torch_import", "from_onnx": "onnx_import", "load_weights": "state_dict",
    "network_pattern": "network_pattern", "NetworkPattern": "network_pattern",
    "checkerboard_report": "report", "CheckerboardReport": "report",
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
    "BudgetError", "CheckerlabError", "Config", "ConfigError", "Conv2d", "ConvTranspose2d", "LAYER_TYPES", "Layer",
    "LayerError", "Network", "Node",
    "LeakyReLU", "OverlapPattern", "PixelShuffle", "RationalArray", "ReLU", "Sigmoid", "SimulationSettings",
    "SpecError", "Stack", "Tanh", "Upsample", "as_stack", "atomic_write", "format_layers", "load_config",
    "load_target", "overlap_map", "overlap_pattern", "overlap_profiles", "parse_layers", "save_config", "sweep",
    "write_array", *_LAZY,
]
