"""Normalisation layers: BatchNorm2d (eval), InstanceNorm2d, GroupNorm, LayerNorm, with PyTorch's defaults.

Exact rule: pointwise. A normalisation subtracts statistics and scales per channel (or group), i.e. applies
gains and offsets that do not depend on the position, so the overlap geometry is unchanged; in the count
model it is the identity. The simulation applies them with `kernels`' norm functions on (N, C, ...) arrays
(a (N, C, L) sequence, as diffusers' attention normalises it, is run as (N, C, L, 1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import LayerError
from .base import _integer
from .kind import Kind, flag, real


def _kernels():
    from ... import kernels

    return kernels


def _as4(x: np.ndarray) -> np.ndarray:
    """(N, C, ...) as a 4D (N, C, H, W) view for the kernels."""
    if x.ndim == 4:
        return x
    if x.ndim == 3:
        return x[..., None]
    if x.ndim == 2:
        return x[..., None, None]
    return x.reshape(*x.shape[:2], -1, 1)


def _channels(layer: Any, given: int | None, c_in: int) -> None:
    if given is not None and given != c_in:
        raise LayerError(layer.type, "num_features", f"expects {given} channels, got {c_in}")


class _Norm(Kind):
    """Shared validation: eps > 0, bool flags, an optional channel count."""

    def _validate(self, count_name: str | None):
        if count_name and getattr(self, count_name) is not None:
            object.__setattr__(self, count_name, _integer(self.type, count_name, getattr(self, count_name), 1))
        eps = real(self.type, "eps", self.eps, 0.0)
        if eps <= 0:
            raise LayerError(self.type, "eps", f"eps={eps} must be > 0")
        object.__setattr__(self, "eps", eps)


class _StatsNorm(_Norm):
    """What BatchNorm2d and InstanceNorm2d share: num_features, eps, momentum, affine, track_running_stats."""

    def __post_init__(self):
        self._validate("num_features")
        flag(self.type, "affine", self.affine)
        flag(self.type, "track_running_stats", self.track_running_stats)

    def param_shapes(self, c_in):
        _channels(self, self.num_features, c_in)
        shapes = {}
        if self.affine:
            shapes.update(weight=((c_in,), False), bias=((c_in,), False))
        if self.track_running_stats:
            shapes.update(running_mean=((c_in,), False), running_var=((c_in,), False),
                          num_batches_tracked=((), False))
        return shapes


@dataclass(frozen=True, repr=False)
class BatchNorm2d(_StatsNorm):
    """(x - running_mean) / sqrt(running_var + eps) * weight + bias per channel (eval mode); without running
    statistics (track_running_stats=False) PyTorch normalises by the batch statistics even in eval mode."""

    aliases: ClassVar = ("bn",)

    num_features: int | None = None
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True

    def forward(self, x, params):
        c = x.shape[1]
        mean = params.get("running_mean")
        var = params.get("running_var")
        if self.track_running_stats:
            mean = np.zeros(c, x.dtype) if mean is None else mean
            var = np.ones(c, x.dtype) if var is None else var
        y = _kernels().batch_norm(_as4(x), mean, var, params.get("weight"), params.get("bias"), eps=self.eps)
        return y.reshape(x.shape)


@dataclass(frozen=True, repr=False)
class InstanceNorm2d(_StatsNorm):
    """(x - mean) / sqrt(var + eps) per sample and channel over H, W (biased variance), then the optional
    affine; with track_running_stats the running statistics are used instead (eval mode)."""

    num_features: int | None = None
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: bool = False
    track_running_stats: bool = False

    fuses_activation: ClassVar = True

    def forward(self, x, params, activation=None):
        """The norm, then `activation` (a `kernels.Activation` or None) in the same kernel pass."""
        use_running = self.track_running_stats and "running_mean" in params
        y = _kernels().instance_norm(_as4(x), params.get("running_mean"), params.get("running_var"),
                                     params.get("weight"), params.get("bias"), use_input_stats=not use_running,
                                     eps=self.eps, activation=activation)
        return y.reshape(x.shape)


@dataclass(frozen=True, repr=False)
class GroupNorm(_Norm):
    """GroupNorm(num_groups): the C channels in num_groups groups, each normalised per sample over its
    channels and positions (biased variance), then weight and bias per channel."""

    aliases: ClassVar = ("gn",)

    positional = ("num_groups",)
    num_groups: int
    num_channels: int | None = None
    eps: float = 1e-5
    affine: bool = True

    def __post_init__(self):
        object.__setattr__(self, "num_groups", _integer(self.type, "num_groups", self.num_groups, 1))
        self._validate("num_channels")
        flag(self.type, "affine", self.affine)

    def param_shapes(self, c_in):
        if self.num_channels is not None and self.num_channels != c_in:
            raise LayerError(self.type, "num_channels", f"expects {self.num_channels} channels, got {c_in}")
        if c_in % self.num_groups:
            raise LayerError(self.type, "num_groups", f"num_groups={self.num_groups} must divide the {c_in} "
                             "channels")
        return {"weight": ((c_in,), False), "bias": ((c_in,), False)} if self.affine else {}

    fuses_activation: ClassVar = True

    def forward(self, x, params, activation=None):
        """The norm, then `activation` (a `kernels.Activation` or None) in the same kernel pass."""
        y = _kernels().group_norm(_as4(x), self.num_groups, params.get("weight"), params.get("bias"), eps=self.eps,
                                  activation=activation)
        return y.reshape(x.shape)


@dataclass(frozen=True, repr=False)
class LayerNorm(_Norm):
    """PyTorch's LayerNorm: normalises over the trailing dimensions `normalized_shape` (e.g. the channels
    of a channels-last tensor, or (C, H, W) of a whole sample), then weight and bias of that shape."""

    positional = ("normalized_shape",)
    normalized_shape: Any
    eps: float = 1e-5
    elementwise_affine: bool = True
    bias: bool = True

    def __post_init__(self):
        shape = self.normalized_shape
        shape = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
        if not shape:
            raise LayerError(self.type, "normalized_shape", "normalized_shape must not be empty")
        object.__setattr__(self, "normalized_shape",
                           tuple(_integer(self.type, "normalized_shape", v, 1) for v in shape))
        self._validate(None)
        flag(self.type, "elementwise_affine", self.elementwise_affine)
        flag(self.type, "bias", self.bias)

    def param_shapes(self, c_in):
        if not self.elementwise_affine:
            return {}
        shapes = {"weight": (self.normalized_shape, False)}
        if self.bias:
            shapes["bias"] = (self.normalized_shape, False)
        return shapes

    def forward(self, x, params):
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape:
            raise LayerError(self.type, "normalized_shape", f"normalized_shape={self.normalized_shape} does not "
                             f"match the trailing dimensions of the input {x.shape}")
        return _kernels().layer_norm(x, self.normalized_shape, params.get("weight"), params.get("bias"), eps=self.eps)


KINDS = (BatchNorm2d, InstanceNorm2d, GroupNorm, LayerNorm)
