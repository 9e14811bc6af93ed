"""The layer model: PyTorch's layers with PyTorch's keywords, validation and shape rules, one module per family.

`base` holds the `Layer` base class, the convolutions and resampling layers of the original model and the
registry; each further family (normalisation, padding, pooling, activations, FIR filters) is its own module
and registers its kinds in `LAYER_TYPES`, so `make_layer`, the spec parser and configs know them.
"""

from .base import *  # noqa: F403 (the original layer model)
from .base import LAYER_TYPES, AxisOp, Layer, _compact, _integer, _pair, _scale, is_symbolic  # noqa: F401
