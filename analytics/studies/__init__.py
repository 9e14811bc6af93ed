"""Studies: each claim about checkerboard artifacts as one run with exact numbers, error bars and a figure.

    >>> import checkerlab
    >>> result = checkerlab.studies.run("depth")
    >>> [row["contrast"] for row in result.rows][:4]
    [4, 9, 25, 64]

`run(name)` returns a `StudyResult` {study, claim, verdict, settings, rows};
`checkerlab.write_study(result, out_dir)` (presentation.studies) saves NAME.json, NAME.csv, NAME.png and
NAME.svg. The studies (one module each, the claim and its mathematics in its docstring):

- overlap-rule  one ConvTranspose2d(k, stride=s, dilation=d): even iff gcd(d, s) = 1 and s | k. Exact.
- depth         a block stacked 1..8 deep: contrast and energy grow, the peak amplitude does not. Exact.
- smoothing     a stride-1 box Conv2d(k) after an upsampler: the box response |sin(pi f k)/(k sin pi f)|,
                exact; a random zero-mean head does not damp on average (Monte Carlo).
- brightness    bias, not ReLU, makes bright inputs show the artifact most (Monte Carlo).
- base          random kernel, image and bias paint a checkerboard even on an even stack (Monte Carlo).
- gradient      the input gradient of Conv2d(k, stride=s) has the ConvTranspose2d(k, stride=s) overlap; exact,
                with a simulated-gradient Monte Carlo check.

Monte Carlo studies take `seed`, `draws` and where to run (`executor`, `workers`: see `sweep`); the same seed
gives byte-identical JSON on any number of workers (`montecarlo`).
"""

from __future__ import annotations

from typing import Any

from ..errors import CheckerlabError
from . import base, brightness, depth, gradient, overlap_rule, smoothing
from .montecarlo import check_draws, check_seed
from .result import StudyResult

#: Study name -> module, in the order `checkerlab study all` runs them.
MODULES = {module.NAME: module for module in (overlap_rule, depth, smoothing, brightness, base, gradient)}
NAMES = tuple(MODULES)
#: The Monte Carlo studies (the others ignore seed, draws and executor).
MONTE_CARLO = ("smoothing", "brightness", "base", "gradient")
DEFAULT_DRAWS = 256


def claim(name: str) -> str:
    """The claim a study checks, in one sentence."""
    return _module(name).CLAIM


def _module(name: str):
    if name not in MODULES:
        raise CheckerlabError(f"unknown study {name!r}; choose one of {', '.join(NAMES)} (or 'all')")
    return MODULES[name]


def run(name: str, *, seed: int = 0, draws: int = DEFAULT_DRAWS, executor: Any = None, workers: int | None = None,
        layer: str | None = None, progress=None, cancel=None) -> StudyResult:
    """Run one study. seed/draws/executor/workers apply to the Monte Carlo ones (executor: None for a local
    process pool, a concurrent.futures.Executor, a distributed.Client or a Dask scheduler address);
    `layer` is the depth study's block (default ConvTranspose2d(3, stride=2)). progress(done, total) and
    cancel() are passed to `sweep`."""
    module = _module(name)
    seed, draws = check_seed(seed), check_draws(draws)
    if layer is not None and name != "depth":
        raise CheckerlabError(f"layer={layer!r} applies to the depth study only, not to {name!r}")
    options: dict[str, Any] = {"layer": layer} if name == "depth" else {}
    if name in MONTE_CARLO:
        options.update(seed=seed, draws=draws, executor=executor, workers=workers, progress=progress, cancel=cancel)
    return module.run(**options)


__all__ = ["MONTE_CARLO", "NAMES", "StudyResult", "claim", "run"]
