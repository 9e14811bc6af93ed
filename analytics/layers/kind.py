"""What every layer kind of a network provides, beyond `Layer`'s spec and shape rules.

- `axis_maps(axis, n)`: its exact rule along one spatial axis for an input of length n, as a tuple of
  `analytics.axis` maps applied in order (empty: the geometry is unchanged);
- `forward(x, params)`: the layer on an (N, C, H, W) array with the Numba kernels, params being its weights
  and buffers by PyTorch's names (`weight`, `bias`, `running_mean`, ...);
- `param_shapes(c_in)`: the shape of every parameter it needs or accepts for c_in input channels, so that a
  network can refuse a wrong state dict before it runs.

A pointwise kind (activations, norms, dropout) keeps the geometry: its exact rule is the identity and only the
simulation sees it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import LayerError, SizeDependentError
from .base import AxisOp, Layer


class Kind(Layer):
    """Base of the network-aware layer kinds; pointwise by default."""

    pointwise: ClassVar[bool] = True

    def axis_maps(self, axis: int, n: int | None) -> tuple:
        """The exact rule along `axis` for input length n (pointwise: none). n is None where the rule must not
        depend on the input size (a stack's pattern): a kind whose rule does raises `size_dependent`."""
        return ()

    def axis_op(self, axis: int) -> AxisOp:
        """The size-free per-axis rule as an AxisOp of kind 'map' (the stack engine's currency)."""
        maps = self.axis_maps(axis, None)
        if any(m.kind == "global" for m in maps):
            raise LayerError(self.type, None, "pools every position into one value: a stack after it has no "
                             "spatial pattern (in a network, such a branch is a gain or a bias)")
        return AxisOp("map", maps=maps) if maps else AxisOp("identity")

    def output_length(self, axis: int, n: int) -> int:
        """PyTorch's output length along `axis` for input length n, validated with n (e.g. reflection padding
        smaller than the input)."""
        for m in self.axis_maps(axis, n):
            n = m.output_length(n) if n > 0 else n
        return n

    def size_dependent(self, why: str) -> SizeDependentError:
        """The error of a rule that needs the input size (see `axis_maps`)."""
        return SizeDependentError(self.type, None, f"{why}: its pattern depends on the input size; analyse it with an "
                          "input size as a network: Network.from_stack(stack, input_shape)")

    def param_shapes(self, c_in: int) -> dict[str, tuple[tuple[int, ...], bool]]:
        """name -> (shape, required) of the parameters and buffers for c_in input channels."""
        return {}

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def check_params(self, c_in: int, params: dict[str, Any]) -> None:
        """Refuse missing, unexpected or wrongly shaped parameters with a one-line LayerError."""
        shapes = self.param_shapes(c_in)
        for name, value in params.items():
            if name not in shapes:
                raise LayerError(self.type, name, f"unexpected parameter {name!r}; expected "
                                 f"{', '.join(shapes) or 'none'}")
            want = shapes[name][0]
            got = tuple(np.shape(value))
            if got != tuple(want):
                raise LayerError(self.type, name, f"{name} has shape {got}, expected {tuple(want)} for "
                                 f"{c_in} input channels")
        for name, (_, required) in shapes.items():
            if required and name not in params:
                raise LayerError(self.type, name, f"missing parameter {name!r}")


def real(layer: str, name: str, value: Any, minimum: float | None = None) -> float:
    """A finite real number (bools refused), optionally >= minimum."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value \
            or value in (float("inf"), float("-inf")):
        raise LayerError(layer, name, f"{name}={value!r} must be a finite real number")
    if minimum is not None and value < minimum:
        raise LayerError(layer, name, f"{name}={value} is out of range: must be >= {minimum}")
    return float(value)


def flag(layer: str, name: str, value: Any) -> bool:
    """A bool, as PyTorch's boolean arguments."""
    if not isinstance(value, bool):
        raise LayerError(layer, name, f"{name}={value!r} must be True or False")
    return value
