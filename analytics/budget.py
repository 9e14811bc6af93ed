"""Budgets: the limits every growing computation is checked against *before* it allocates.

An exact answer that would take minutes or gigabytes is refused with a `BudgetError` that names the quantity,
its value, the limit and what to reduce. The limits are generous enough for every real upsampling model
(DCGAN, pix2pix, StyleGAN2 4->1024, the SD-VAE decoder 64->512: periods <= 256, a few hundred layers), and
small enough that any accepted input finishes within seconds and well under 4 GB.

| quantity                                   | limit          | where                     |
|--------------------------------------------|----------------|---------------------------|
| spec text                                  | 100,000 chars  | spec.parse_layers         |
| spec nesting (brackets, repeats, unary ops)| 64 levels      | spec.parse_layers         |
| one repeat `layer * n`                     | n <= 1,000     | spec.parse_layers         |
| layers in a stack                          | 4,096          | spec.parse_layers, Stack  |
| config file                                | 16 MB          | config.load_config        |
| integer layer parameters                   | <= 2**20       | layers (a range, not work)|
| period of the pattern, per axis            | 65,536         | overlap                   |
| bits of an exact count, per axis           | 4,096          | overlap                   |
| 1D work of the exact engine (samples)      | 2**27          | overlap                   |
| bytes of one exact 2D array (map, tile)    | 1 GiB          | overlap                   |
| artifact frequencies listed                | 1,024          | overlap, spectrum         |
| CSV cells written                          | 2**22          | files.array_bytes         |
| one 2D map or output (pixels)              | 2**26          | Stack.sizes               |
| one activation (channels x pixels)         | 2**27          | Stack.shapes              |
| simulation work (multiply-adds, all draws) | 2**35          | simulation                |
"""

from __future__ import annotations

from .errors import BudgetError

MAX_SPEC_CHARS = 100_000
MAX_NESTING = 64
MAX_REPEAT = 1000
MAX_LAYERS = 4096
MAX_CONFIG_BYTES = 16 << 20
MAX_PIXELS = 1 << 26
MAX_ELEMENTS = 1 << 27
#: Largest kernel size, stride, padding, dilation, scale factor or channel count a layer accepts.
MAX_PARAM = 1 << 20
MAX_PERIOD = 1 << 16
MAX_COUNT_BITS = 4096
MAX_WORK = 1 << 27
MAX_BYTES = 1 << 30
MAX_LISTED = 1024
MAX_CSV_CELLS = 1 << 22
MAX_SIM_WORK = 1 << 35


def check(value: int, limit: int, what: str, reduce: str) -> None:
    """Raise BudgetError unless value <= limit: '<what> would be <value>, over the budget of <limit>; <reduce>'."""
    if value > limit:
        shown = f"{value:,}" if value < 10**30 else f"about 2**{value.bit_length() - 1}"
        raise BudgetError(f"{what} would be {shown}, over the budget of {limit:,}; {reduce}")


def array_bytes(cells: int, bits: int) -> int:
    """Bytes of an exact array of `cells` values of at most `bits` bits: int64 below 63 bits, else Python
    integers (or Fractions) at about 64 bytes plus their digits each."""
    return cells * (8 if bits < 63 else 64 + bits // 4)
