"""checkerlab: exact analysis and simulation of checkerboard artifacts in upsampling networks.

The public API, in PyTorch's vocabulary::

    >>> import checkerlab
    >>> checkerlab.overlap_pattern("ConvTranspose2d(3, stride=2)").axes[0].tile.tolist()
    [2, 1]

Subpackages: `checkerlab.analytics` (layer model, exact engine, closed forms, simulation driver),
`checkerlab.kernels` (Numba CPU kernels) and `checkerlab.app` (the CLI and the Qt GUI). Everything the
analytics package exports is available here; SymPy and the simulation are imported on first use. Results
render with `to_latex`, `to_text` and `to_dict`; in Jupyter they display as LaTeX.
"""

import sys as _sys
from importlib import metadata as _metadata

from . import analytics as _analytics
from .analytics import __all__ as _api

# The public API is analytics'. Only its eagerly imported names are copied here: a star import would resolve
# every lazy name too (SymPy, the simulation), which `import checkerlab` must not pay for (every worker
# process of a sweep starts with it).
globals().update({_name: getattr(_analytics, _name) for _name in _api if _name not in _analytics._LAZY})

try:
    __version__ = _metadata.version("checkerlab")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name):
    """The lazily imported part of the API (closed forms, simulation, ...), resolved by analytics."""
    return getattr(_analytics, name)


__all__ = ["__version__", *_api]


#: Result classes that Jupyter displays as LaTeX: (module under checkerlab.analytics, class name).
_NOTEBOOK_TYPES = (("closed_forms", "ClosedForm"), ("condition", "FreeVerdict"), ("fixes", "Fix"),
                   ("depth", "DepthLaw"))


def _jupyter(obj) -> str:
    from .analytics.presentation.latex import to_jupyter

    return to_jupyter(obj)


def _register_notebook_display() -> None:
    """Jupyter shows results as LaTeX. The result classes have no rendering method (presentation sits above
    them), so IPython's text/latex formatter is told, by type name, to call `to_jupyter`: nothing is imported
    before a result is displayed, and nothing happens outside IPython."""
    ipython = _sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/latex"]
    for module, name in _NOTEBOOK_TYPES:
        formatter.for_type_by_name(f"{__name__}.analytics.{module}", name, _jupyter)


_register_notebook_display()
