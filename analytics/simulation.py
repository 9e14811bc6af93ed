"""Run a stack as a network on the Numba kernels: one weight draw (`simulate`) or many (`monte_carlo`).

The network is the stack with PyTorch semantics: channels follow each layer's `out_channels` (the first
layer's input channels are the image's), weights and biases come from `analytics.weights.init_params`
(PyTorch layout, returned in `.params` so the same network can be rebuilt in PyTorch), activations are
layers of the stack. A run is deterministic given the seed.

Cost: the kernels' own (`forward` hands every layer to one kernel call; an activation that follows a
convolution runs inside that convolution's output loop, which also returns the pre-activation output, so
there is no separate activation pass), plus the per-layer metrics, one pass over each output. Every output
is kept (`Simulation.activations`), so the memory budget counts the bytes of all of them together
(`MAX_LIVE_BYTES`), times the draws that `monte_carlo` runs at once. Monte Carlo draws run on worker threads,
each with its share of the calling thread's Numba threads (workers x threads <= the caller's threads).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .budget import MAX_SIM_WORK, check
from .errors import CheckerlabError, LayerError, excerpt
from .forward import activation_of, apply_layer
from .layers import Conv2d, ConvTranspose2d
from .metrics import ArtifactMetrics, interiors, measure
from .stack import Stack, _size_pair, as_stack
from .weights import Params, init_params

#: Largest seed: NumPy's SeedSequence takes any non-negative integer; draws use seed + d.
MAX_SEED = 2**63 - 1


def _run_args(bias, bias_value, seed) -> tuple[str, float]:
    """Validate the arguments every public entry shares; a number as `bias` means a constant bias of that
    value. Returns (bias kind, bias_value)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise CheckerlabError(f"seed={excerpt(seed)} must be an integer in 0..{MAX_SEED}")
    if isinstance(bias, (int, float, np.number)) and not isinstance(bias, bool):
        bias, bias_value = "constant", bias
    if isinstance(bias_value, bool) or not isinstance(bias_value, (int, float, np.number)) \
            or not math.isfinite(bias_value):
        raise CheckerlabError(f"bias_value={excerpt(bias_value)} must be a finite number")
    return bias, float(bias_value)


def check_simulation(stack: Stack, shape: tuple[int, ...], draws: int = 1) -> None:
    """Refuse a run of `draws` draws on a (C, H, W) input (channels, memory, `MAX_SIM_WORK`) before any
    weight is drawn. Work per draw in units of one multiply-add at 3 G/s (grouped convs; dense ones run 10x
    faster): the kernels' multiply-adds, 128 per activation value (the metrics: ~40 ns each, measured) and
    2**23 (~3 ms, measured on small layers with their metrics) per layer for fixed costs. O(layers)."""
    values = sum(c * h * w for c, h, w in stack.shapes(shape))
    work = draws * (stack.macs(shape) + 128 * values + ((1 + len(stack)) << 23))
    check(work, MAX_SIM_WORK, "the simulation's work (multiply-adds, all draws)",
          "use a smaller input, fewer channels or fewer draws")


class Cancelled(Exception):
    """Raised by `monte_carlo` when its `cancel()` callback returns True."""


#: Largest total of all live activations (bytes) a simulation may hold; `monte_carlo` multiplies by its workers.
MAX_LIVE_BYTES = 1 << 30

def _as_image(image, dtype) -> np.ndarray:
    x = np.asarray(image)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or min(x.shape) < 1:
        raise CheckerlabError(f"the input image must be (C, H, W) or (H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise CheckerlabError(f"the input image must be a real array, got {x.dtype}")
    x = np.ascontiguousarray(x, dtype=dtype)
    if not np.all(np.isfinite(x)):
        raise CheckerlabError("the input image has NaN or infinite values")
    return x


def forward(stack, image: np.ndarray, params: list[Params]) -> list[np.ndarray]:
    """The output of every layer (one (C, H, W) array each) of the network given by `stack` and `params`.

    A convolution followed by an activation layer is one kernel call that returns both outputs."""
    stack = as_stack(stack)
    layers = list(stack)
    if len(params) != len(layers):
        raise CheckerlabError(f"params has {len(params)} entries for {len(layers)} layers")
    x = image
    outputs: list[np.ndarray] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        act = None
        if isinstance(layer, (Conv2d, ConvTranspose2d)) and i + 1 < len(layers):
            act = activation_of(layers[i + 1], params[i + 1])
        results = apply_layer(layer, x, params[i], act)
        if act is not None:  # (output after the activation, conv output): two layers done
            outputs += [results[1], results[0]]
            i += 2
        else:
            outputs.append(results[0])
            i += 1
        x = outputs[-1]
    return outputs


def live_bytes(shapes, itemsize: int, copies: int = 1) -> int:
    """Bytes of the input and every layer's output (all kept alive by a `Simulation`), times ``copies``."""
    return copies * itemsize * sum(c * h * w for c, h, w in shapes)


def check_memory(stack: Stack, shapes, itemsize: int, copies: int = 1) -> None:
    """Refuse a simulation whose live activations (`live_bytes`) would exceed `MAX_LIVE_BYTES`, naming the
    layer whose output crosses the budget."""
    total = copies * itemsize * shapes[0][0] * shapes[0][1] * shapes[0][2]
    for i, (c, h, w) in enumerate(shapes[1:]):
        total += copies * itemsize * c * h * w
        if total > MAX_LIVE_BYTES:
            runs = f" for {copies} draws at once" if copies > 1 else ""
            raise LayerError(stack[i].type, None, f"the activations up to this layer take {total:,} bytes{runs}, "
                             f"over the simulation's memory budget of {MAX_LIVE_BYTES:,} bytes; use a smaller input "
                             "or fewer channels", i)


@dataclass(eq=False)
class Simulation:
    """One run of the stack as a network.

    input: (C, H, W); output: (C', H', W') (the input itself for an empty stack); activations: the output of
    every layer, len == len(stack); params: per layer None or (weight, bias-or-None) in PyTorch layout.
    `metrics` are computed on first access (one `ArtifactMetrics` per layer, None where the interior holds
    no whole period)."""

    stack: Stack
    input: np.ndarray
    activations: list[np.ndarray]
    params: list[Params]
    init: str = "kaiming_uniform"
    bias: str = "zero"
    seed: int = 0

    @property
    def output(self) -> np.ndarray:
        return self.activations[-1] if self.activations else self.input

    @cached_property
    def metrics(self) -> list[ArtifactMetrics | None]:
        """`ArtifactMetrics` of every layer's output, over its generic period and interior."""
        return layer_metrics(self.stack, self.input.shape[1:], self.activations)


def layer_metrics(stack: Stack, input_size, activations: list[np.ndarray]) -> list[ArtifactMetrics | None]:
    """Per-layer `ArtifactMetrics`; None for a layer whose interior holds no whole period."""
    out = []
    for geometry, x in zip(interiors(stack, input_size), activations, strict=True):
        try:
            out.append(measure(x, geometry.period, geometry.edge))
        except CheckerlabError:
            out.append(None)
    return out


def simulate(stack, image: np.ndarray, *, init: str = "kaiming_uniform", bias: str = "zero",
             bias_value: float = 0.1, seed: int = 0, dtype=np.float32,
             params: list[Params] | None = None) -> Simulation:
    """Run `stack` on `image` ((C, H, W) or (H, W)) with weights drawn by `init_params(seed=seed)`, or with
    the given `params`. y = f_L(... f_1(x)) with PyTorch semantics, in `dtype` (float32 or float64).

    A `Network` (e.g. from `from_torch`) runs with its own weights on image (N, C, H, W): `Network.run`."""
    from .network import Network

    if isinstance(stack, Network):
        return stack.run(image, dtype)
    stack = as_stack(stack)
    bias, bias_value = _run_args(bias, bias_value, seed)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise CheckerlabError(f"dtype={dtype} must be float32 or float64")
    x = _as_image(image, dtype)
    # validates every layer and channel count, then the bytes of all outputs together and the work, before any
    check_memory(stack, stack.shapes(x.shape), dtype.itemsize)
    check_simulation(stack, x.shape)
    if params is None:
        params = init_params(stack, x.shape[0], init, bias, bias_value, seed, dtype)
    elif len(params) != len(stack):
        raise CheckerlabError(f"params has {len(params)} entries for {len(stack)} layers")
    return Simulation(stack, x, forward(stack, x, params), params, init, bias, seed)


@dataclass(frozen=True, eq=False)
class LayerStats:
    """Statistics over draws of one layer's metrics. contrast_mean/std are over the draws with a finite
    contrast (`contrast_infinite` is the fraction of the others); NaN where there is nothing to average."""

    contrast_mean: float
    contrast_std: float
    contrast_infinite: float
    modulation_mean: float
    modulation_std: float
    energy_mean: float
    energy_std: float
    tile_mean: np.ndarray | None


def _stats(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    return (float(v.mean()), float(v.std())) if v.size else (math.nan, math.nan)


@dataclass(eq=False)
class MonteCarlo:
    """Metrics over `draws` weight draws (draw d uses seed + d; draw 0 is `first`).

    contrast, modulation, artifact_energy: (draws, layers) arrays (NaN where a layer has no metrics);
    tile_sum: per layer the sum over draws of the phase-mean tile (None without metrics)."""

    stack: Stack
    first: Simulation
    seed: int
    contrast: np.ndarray
    modulation: np.ndarray
    artifact_energy: np.ndarray
    tile_sum: list[np.ndarray | None] = field(repr=False)

    @property
    def draws(self) -> int:
        return self.contrast.shape[0]

    @cached_property
    def layers(self) -> list[LayerStats]:
        """Per layer: mean and std over draws of contrast, modulation and artifact energy; the mean tile."""
        out = []
        for i, tile_sum in enumerate(self.tile_sum):
            c = self.contrast[:, i]
            out.append(LayerStats(*_stats(c), float(np.mean(np.isinf(c))), *_stats(self.modulation[:, i]),
                                  *_stats(self.artifact_energy[:, i]),
                                  None if tile_sum is None else tile_sum / self.draws))
        return out


def _draw(stack, image, kwargs, seed, keep, stop, threads):
    """One Monte Carlo draw with kernels limited to ``threads``: (simulation if keep else None, per-layer
    metrics); None when stopped before it started."""
    from ..kernels.threads import limited

    if stop.is_set():
        return None
    with limited(threads):
        sim = simulate(stack, image, seed=seed, **kwargs)
        metrics = sim.metrics
    return (sim if keep else None), metrics


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _draw_pool() -> ThreadPoolExecutor:
    """The persistent worker threads of `monte_carlo` (one per core; created once: no thread churn per run)."""
    global _pool
    import numba

    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(numba.config.NUMBA_NUM_THREADS, thread_name_prefix="checkerlab-draw")
        return _pool


def _workers(draws: int, workers: int | None, budget_ok) -> tuple[int, int]:
    """(worker threads, kernel threads per worker) within the calling thread's threads."""
    from ..kernels.threads import num_threads

    threads = num_threads()
    n = min(draws, threads) if workers is None else max(1, min(int(workers), draws))
    while n > 1 and not budget_ok(n):
        n -= 1
    return n, max(1, threads // n)


def monte_carlo(stack, image: np.ndarray, *, draws: int, init: str = "kaiming_uniform", bias: str = "zero",
                bias_value: float = 0.1, seed: int = 0, progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None, dtype=np.float32, workers: int | None = None) -> MonteCarlo:
    """`draws` simulations of the same input, draw d with seed + d, and per-layer metric statistics.

    Draws run on ``workers`` threads (default: one per kernel thread of the caller, `kernels.threads.num_threads`,
    as many as the memory budget allows for that many live draws), each worker's kernels limited to
    ``threads // workers`` threads, so workers x threads never exceeds the caller's. Results are reduced in
    draw order: they do not depend on the number of workers. progress(done, total) is called (on the calling
    thread) after every finished draw; cancel() is polled before every draw is awaited and raises `Cancelled`
    when it returns True. Only the first draw's activations are kept. Without `cancel`, the whole run is
    checked against the work budget first (`check_simulation`); with it, only each draw is (the caller can
    stop it)."""
    stack = as_stack(stack)
    bias, bias_value = _run_args(bias, bias_value, seed)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise CheckerlabError(f"draws={excerpt(draws)} must be an integer >= 1")
    dtype = np.dtype(dtype)
    kwargs = dict(init=init, bias=bias, bias_value=bias_value, dtype=dtype)
    shape = _as_image(image, dtype).shape
    if cancel is None:  # a run that cannot be cancelled must not run for minutes
        check_simulation(stack, shape, draws)
    shapes = stack.shapes(shape)

    def budget_ok(n):
        return live_bytes(shapes, dtype.itemsize, n) <= MAX_LIVE_BYTES

    n_workers, threads = _workers(draws, workers, budget_ok)
    check_memory(stack, shapes, dtype.itemsize, n_workers)
    stop = threading.Event()
    results: list = [None] * draws
    if n_workers == 1:
        for d in range(draws):
            if cancel is not None and cancel():
                raise Cancelled(f"cancelled after {d} of {draws} draws")
            results[d] = _draw(stack, image, kwargs, seed + d, d == 0, stop, threads)
            if progress is not None:
                progress(d + 1, draws)
    else:
        pool = _draw_pool()
        pending: dict = {}
        submitted = 0
        try:
            for done in range(draws):
                while submitted < draws and len(pending) < n_workers:  # at most n_workers draws live at once
                    future = pool.submit(_draw, stack, image, kwargs, seed + submitted, submitted == 0, stop, threads)
                    pending[future] = submitted
                    submitted += 1
                if cancel is not None and cancel():
                    raise Cancelled(f"cancelled after {done} of {draws} draws")
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                future = min(finished, key=pending.get)  # one at a time: progress counts every draw
                results[pending.pop(future)] = future.result()
                if progress is not None:
                    progress(done + 1, draws)
        finally:
            stop.set()
            for future in pending:
                future.cancel()
            wait(pending)  # the running draws end before this returns: no work left behind
    n_layers = len(stack)
    contrast, modulation, energy = (np.full((draws, n_layers), np.nan) for _ in range(3))
    tile_sum: list[np.ndarray | None] = [None] * n_layers
    for d, (_, metrics) in enumerate(results):  # in draw order: the same sums for any number of workers
        for i, m in enumerate(metrics):
            if m is None:
                continue
            contrast[d, i], modulation[d, i], energy[d, i] = m.contrast, m.modulation, m.artifact_energy
            tile_sum[i] = m.tile.copy() if tile_sum[i] is None else tile_sum[i] + m.tile
    return MonteCarlo(stack, results[0][0], seed, contrast, modulation, energy, tile_sum)


def simulate_settings(stack, input_size, settings, image: np.ndarray | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> MonteCarlo:
    """`monte_carlo` driven by a `SimulationSettings`: the input is `make_input(settings.input, input_size,
    settings.in_channels, settings.brightness, settings.seed, image)`; `image` (a decoded array) is used
    only for input='image'."""
    from .inputs import make_input

    as_stack(stack).shapes((settings.in_channels, *_size_pair(input_size)))  # the memory budget, before the input
    x = make_input(settings.input, input_size, settings.in_channels, settings.brightness, settings.seed,
                   image if settings.input == "image" else None)
    return monte_carlo(stack, x, draws=settings.draws, init=settings.init, bias=settings.bias,
                       bias_value=settings.bias_value, seed=settings.seed, progress=progress, cancel=cancel)
