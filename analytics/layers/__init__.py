"""The layer model: PyTorch's layers with PyTorch's keywords, validation and shape rules, one module per family.

`base` holds the `Layer` base class, the convolutions and resampling layers of the original model and the
registry; `kind` what a network needs of a layer (exact per-axis rule, forward, parameter shapes); each
further family is its own module - `activation`, `norm`, `pad`, `pool`, `resample`, `fir` - and its `KINDS`
are registered in `LAYER_TYPES`, so `make_layer` and configs know them.
"""

from . import activation, fir, norm, pad, pool, resample
from .base import *  # noqa: F403 (the original layer model)
from .base import LAYER_TYPES, AxisOp, Layer, _compact, _integer, _pair, _scale, is_symbolic  # noqa: F401
from .kind import Kind

FAMILIES = (activation, norm, pad, pool, resample, fir)
NEW_KINDS: dict[str, type[Kind]] = {cls.__name__: cls for family in FAMILIES for cls in family.KINDS}
