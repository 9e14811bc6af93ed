"""Study `depth`: stacking a block amplifies its checkerboard.

The block (default ConvTranspose2d(3, stride=2), or `layer=SPEC`) is stacked 1..8 deep and each stack is
analysed exactly in 2D. Per depth: the minimal period (ph, pw); the contrast max/min of the periodic tile
(exact); the artifact energy var(tile) / mean(tile^2), the fraction of the tile's energy off DC (exact, then
rounded); and the largest single-frequency amplitude max_{m != 0} |C(m)| / C(0).

For the default block the 1D tile at depth n is Stern's diatomic sequence s(2^n + 1 + j), j < 2^n
([2, 1], [3, 2, 3, 1], [4, 3, 5, 2, 5, 3, 4, 1] ...), whose max/min is the Fibonacci number F(n+2): the 2D
contrast is F(n+2)^2 = 4, 9, 25, 64 ... The largest amplitude is the block's own at every depth: the stack's
H(z) = prod_j H_b(z^(2^j)) and |H_b(w)| <= H_b(1) for a non-negative kernel (`depth_law`), so each new,
lower frequency is weaker than the one it folds onto. Contrast and energy grow; the peak amplitude does not.

Cost: one exact pattern per depth, O(depth * period) per axis; the spectra and energies are computed per
axis (the tile is separable), never on the 2D tile. The per-axis period is capped at MAX_PERIOD.
"""

from __future__ import annotations

from ..errors import CheckerlabError
from ..metrics import analytic_energy
from ..overlap import overlap_pattern
from ..stack import Stack, as_stack
from .result import StudyResult, exact, from_exact, rounded

NAME = "depth"
CLAIM = "Stacking upsampling layers amplifies the checkerboard with depth."
DEFAULT_BLOCK = "ConvTranspose2d(3, stride=2)"
DEPTHS = range(1, 9)
#: Largest per-axis period analysed (the block's total upsampling stride to the power depth).
MAX_PERIOD = 1 << 16


def _stride(block: Stack, axis: int) -> int:
    """The block's net upsampling factor along an axis (upsamplers multiply, strided convs divide)."""
    factor = 1
    for _, layer in block.spatial_layers:
        op = layer.axis_op(axis)
        factor = factor * op.stride if op.kind in ("transposed", "repeat", "linear") else factor
    return factor


def fibonacci(n: int) -> int:
    """F(n) with F(1) = F(2) = 1."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def row(block: Stack, depth: int) -> dict:
    """The exact row of `block` stacked `depth` deep."""
    pattern = overlap_pattern(Stack(list(block) * depth))
    peaks = [float(a.spectrum[1:].max()) if a.period > 1 else 0.0 for a in pattern.axes]
    return {"depth": depth, "period": list(pattern.period), "contrast": exact(pattern.contrast),
            "energy": rounded(analytic_energy(pattern)), "amplitude": rounded(max(peaks))}


def run(*, layer: str | None = None, **_) -> StudyResult:
    block = as_stack(layer or DEFAULT_BLOCK)
    if not block.spatial_layers:
        raise CheckerlabError(f"--layer {layer}: the block has no spatial layer to stack")
    strides = [_stride(block, axis) for axis in (0, 1)]
    depths = [n for n in DEPTHS if max(strides) ** n <= MAX_PERIOD]
    if not depths:
        raise CheckerlabError(f"--layer {layer}: one block already upsamples by {max(strides)} > {MAX_PERIOD} per "
                              "axis; use a block with a smaller stride")
    rows = [row(block, n) for n in depths]
    verdict = _verdict(block, rows, layer is None)
    if len(depths) < len(DEPTHS):
        verdict += (f" Stopped at depth {depths[-1]}: deeper stacks have a period above {MAX_PERIOD} per axis.")
    settings = {"block": str(block), "depth": [depths[0], depths[-1]],
                "contrast": "max/min of the 2D periodic tile, exact ('inf': holes)",
                "energy": "var(tile) / mean(tile^2), the fraction of the tile's energy off DC",
                "amplitude": "largest single-frequency amplitude |C(f)| / C(0) over f != 0"}
    return StudyResult(NAME, CLAIM, verdict, settings, rows)


def _verdict(block: Stack, rows: list[dict], default: bool) -> str:
    first, last = rows[0], rows[-1]
    if first["contrast"] == "inf":
        return (f"The block {block} has holes: the contrast is infinite at every depth (some pixels get no tap); "
                f"energy {first['energy']:.3g} -> {last['energy']:.3g}.")
    if first["contrast"] == 1 and first["period"] == [1, 1]:
        return (f"The block {block} is even, and so is every stack of it: contrast 1 and energy 0 at every depth "
                "(with all-ones weights; random weights still paint a checkerboard, see the base study).")
    contrasts = [float(from_exact(r["contrast"])) for r in rows]
    grows = all(b > a for a, b in zip(contrasts, contrasts[1:], strict=False))
    energy_grows = all(b["energy"] > a["energy"] for a, b in zip(rows, rows[1:], strict=False))
    amplitudes = {r["amplitude"] for r in rows}
    text = (f"{'Confirmed' if grows else 'NOT confirmed'} for {block}: the exact contrast "
            f"{'grows' if grows else 'does not grow monotonically'} with depth ({first['contrast']} at depth "
            f"{first['depth']} -> {last['contrast']} at depth {last['depth']}), the artifact energy "
            f"{'grows' if energy_grows else 'changes'} ({first['energy']:.3g} -> {last['energy']:.3g}), while the "
            "largest single-frequency amplitude "
            + (f"stays {first['amplitude']:.4g} at every depth." if len(amplitudes) == 1 else
               f"varies ({min(amplitudes):.4g}..{max(amplitudes):.4g})."))
    if default:
        fib = all(r["contrast"] == fibonacci(r["depth"] + 2) ** 2 for r in rows)
        text += (" The contrast is exactly F(depth+2)^2 (Fibonacci: the 1D tile is Stern's diatomic sequence)."
                 if fib else " The contrast is NOT F(depth+2)^2.")
    return text

