"""`checkerboard_report(net)`: which layer of a trained network paints its checkerboard.

Two views of the same weights, per layer:

- Analytic, from the weights alone. A transposed convolution of stride s sends input i to the outputs
  i s + t d - p, so output phase r (per axis) sees exactly the taps t with t d - p = r (mod s). Under a
  constant input the phase-r output is sum over input channels of the phase's sub-kernel sum, plus the bias:
  `phase_gain[c_out, r_h, r_w]`. Equal gains are the checkerboard-free case (what ICNR makes true at
  initialisation); their spread is the checkerboard this layer paints, and the DFT of the gain tile gives its
  amplitude at the predicted frequencies m/s. A sub-pixel convolution (a Conv2d feeding PixelShuffle(r))
  has the same gains: channel c r^2 + i r + j is phase (i, j). A stride-1 convolution filters what arrives:
  its response |H(f)| / |H(0)| at the artifact frequencies f of its input's period (the kernel summed over
  input channels) says whether it amplifies (> 1) or damps (< 1) them.
- Measured: the network run on a constant input (`Network.forward`, float64); at every node the phase-mean
  tile over its generic period inside its generic interior gives the artifact's modulation (max - min) /
  mean |tile|. A node introduces the artifact when its inputs carry none; it amplifies or damps it by the
  ratio of its modulation to its input's; without an interior at the node or its input it is 'unmeasured'.

Cost: one forward pass plus O(weights) for the gains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import CheckerlabError
from .layers import Conv2d, ConvTranspose2d, PixelShuffle
from .metrics import measure
from .network import Network, is_layer
from .network_pattern import node_interiors
from .spectrum import relative_amplitudes

#: Modulations below this are no artifact (float64 noise of a flat output).
FLAT = 1e-7
#: Relative change under which a layer passes the artifact unchanged.
TOLERANCE = 0.05


def _phase_taps(k: int, s: int, d: int, p: int) -> list[list[int]]:
    """Per output phase r, the taps t with (r + p - t d) divisible by s (transposed convolution)."""
    return [[t for t in range(k) if (r + p - t * d) % s == 0] for r in range(s)]


def transposed_phase_gains(layer: ConvTranspose2d, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """(C_out, s_h, s_w): the output of every phase for a constant input of 1 on every channel."""
    c_in, c_og, kh, kw = weight.shape
    g = layer.groups
    ci = c_in // g
    w = np.asarray(weight, np.float64).reshape(g, ci, c_og, kh, kw).sum(axis=1)  # (g, c_og, kh, kw)
    w = w.reshape(g * c_og, kh, kw)
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    rows, cols = _phase_taps(kh, sh, dh, ph), _phase_taps(kw, sw, dw, pw)
    out = np.zeros((g * c_og, sh, sw))
    for a, th in enumerate(rows):
        for b, tw in enumerate(cols):
            if th and tw:
                out[:, a, b] = w[:, th][:, :, tw].sum(axis=(1, 2))
    return out + (0 if bias is None else np.asarray(bias, np.float64)[:, None, None])


def subpixel_phase_gains(weight: np.ndarray, bias: np.ndarray | None, r: int) -> np.ndarray:
    """(C, r, r): the outputs of a Conv2d feeding PixelShuffle(r) under a constant input of 1."""
    total = np.asarray(weight, np.float64).sum(axis=(1, 2, 3))
    if bias is not None:
        total = total + np.asarray(bias, np.float64)
    return total.reshape(-1, r, r)


def _modulation(tiles: np.ndarray) -> np.ndarray:
    """Per channel (max - min) / mean |tile| of (C, ph, pw) tiles (0 where a tile is all zero)."""
    flat = tiles.reshape(len(tiles), -1)
    scale = np.abs(flat).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, (flat.max(axis=1) - flat.min(axis=1)) / np.where(scale > 0, scale, 1), 0.0)


def _amplitude(tiles: np.ndarray) -> np.ndarray:
    """Per channel the largest artifact amplitude relative to DC, from the DFT of the (C, ph, pw) tiles."""
    out = []
    for t in tiles:
        rel = relative_amplitudes(t)
        rel.flat[0] = 0
        out.append(float(rel.max()))
    return np.array(out)


def filter_response(weight: np.ndarray, period: tuple[int, int]) -> float | None:
    """Largest |H(f)| / |H(0)| over the artifact frequencies f = (m / P_h, n / P_w) != 0 of a stride-1 conv,
    averaged over output channels; the kernel is summed over input channels. None when H(0) ~ 0."""
    ph, pw = period
    if (ph, pw) == (1, 1):
        return None
    k = np.asarray(weight, np.float64).sum(axis=1)  # (C_out, kh, kw)
    kh, kw = k.shape[1:]
    fy, fx = np.arange(ph) / ph, np.arange(pw) / pw
    ey = np.exp(-2j * np.pi * np.outer(fy, np.arange(kh)))  # (ph, kh)
    ex = np.exp(-2j * np.pi * np.outer(fx, np.arange(kw)))
    h = np.abs(np.einsum("yk,ckl,xl->cyx", ey, k, ex))  # (C, ph, pw)
    dc = h[:, 0, 0]
    ok = dc > 1e-12 * np.abs(k).sum(axis=(1, 2)).clip(min=1e-300)
    if not ok.any():
        return None
    h = h[ok] / dc[ok, None, None]
    h[:, 0, 0] = 0
    return float(h.reshape(len(h), -1).max(axis=1).mean())


@dataclass(frozen=True)
class LayerReport:
    """One node's part: the analytic phase gains or filter response, the measured modulation and the role."""

    node: str
    spec: str
    module: str
    module_type: str
    period: tuple[int, int] | None
    phase_gain: np.ndarray | None = field(default=None, repr=False)
    gain_spread: float | None = None
    gain_amplitude: float | None = None
    response: float | None = None
    measured: float | None = None
    change: float | None = None
    role: str = "passes"  # or 'introduces', 'amplifies', 'damps'; 'unmeasured' where there is no interior

    @property
    def where(self) -> str:
        """The PyTorch module path the layer came from (the node name for a top-level op)."""
        return self.module or self.node


@dataclass(frozen=True)
class CheckerboardReport:
    """Per-layer attribution of the output's checkerboard (see the module docstring); `vanished` names the
    first node where the probe input became all zeros (e.g. an InstanceNorm of a constant image)."""

    network: Network
    rows: tuple[LayerReport, ...]
    vanished: str | None = None

    @property
    def output(self) -> LayerReport | None:
        """The output node's row (None if the output is not a measured position-dependent image)."""
        rows = [r for r in self.rows if r.node == self.network.output]
        return rows[0] if rows else None

    def by_role(self, role: str) -> list[LayerReport]:
        return [r for r in self.rows if r.role == role]

    def verdict(self) -> str:
        """One paragraph: the output's measured artifact, who introduces, amplifies and damps it."""
        out = self.output
        lines = []
        if self.vanished is not None:
            node = self.network[self.vanished]
            lines.append(f"the probe input vanishes at {node.name} ({node.op.spec()}): every value after it is 0, "
                         "so the measured part says nothing; pass x= a real image (the phase gains stand)")
        elif out is None or out.measured is None:
            lines.append("no interior to measure at the output (every pixel is within reach of the border), so no "
                         "role is measured: give a larger input; the phase gains come from the weights alone")
        elif out.measured < FLAT:
            lines.append(f"flat output on a constant input (period {out.period[0]}x{out.period[1]}): no checkerboard")
        else:
            lines.append(f"output modulation {out.measured:.3g} at period {out.period[0]}x{out.period[1]} on a "
                         "constant input")

        def names(rows):
            def one(r):
                change = f", x{r.change:.3g}" if r.change else ""
                return f"{r.where} ({r.spec.split('(')[0]}{change})"
            return ", ".join(one(r) for r in rows[:6]) + (" ..." if len(rows) > 6 else "")
        for role, word in (("introduces", "introduced by"), ("amplifies", "amplified by"), ("damps", "damped by")):
            rows = self.by_role(role)
            if rows:
                lines.append(f"{word}: {names(rows)}")
        spread = [r for r in self.rows if r.gain_spread is not None]
        if spread:
            worst = max(spread, key=lambda r: r.gain_spread)
            lines.append(f"largest phase-gain spread: {worst.where} ({worst.spec}) {worst.gain_spread:.3g}")
        return "\n".join(lines)


def checkerboard_report(net: Network, x: np.ndarray | None = None) -> CheckerboardReport:
    """The per-layer attribution for the network's own (trained) weights; x (N, C, H, W) defaults to a
    constant input of ones, the probe that shows a checkerboard undiluted."""
    if not isinstance(net, Network):
        raise CheckerlabError(f"checkerboard_report needs a Network, got {type(net).__name__}")
    if x is None:
        x = np.ones(net.input_shape, np.float64)
    acts = net.forward(np.asarray(x, np.float64), keep=True)
    interiors = node_interiors(net)
    vanished = next((n.name for n in net.nodes[1:] if n.name in interiors and not np.any(acts[n.name])), None)
    measured: dict[str, float | None] = {}
    for name, (period, edge) in interiors.items():
        try:
            measured[name] = float(measure(acts[name][0], period, edge).modulation)
        except CheckerlabError:
            measured[name] = None
    rows = []
    for node in net.nodes[1:]:
        if node.name not in interiors:
            continue
        if not is_layer(node.op) and type(node.op).__name__ not in ("Binary", "Cat"):
            continue
        period = interiors[node.name][0]
        m = measured.get(node.name)
        prior = [measured.get(i) for i in node.inputs if i in measured]
        prior = [v for v in prior if v is not None]
        m_in = max(prior) if prior else None
        row = dict(node=node.name, spec=node.op.spec() if hasattr(node.op, "spec") else repr(node.op),
                   module=node.module, module_type=node.module_type, period=period, measured=m)
        gains = None
        if isinstance(node.op, ConvTranspose2d) and "weight" in node.params:
            gains = transposed_phase_gains(node.op, node.params["weight"], node.params.get("bias"))
        elif isinstance(node.op, PixelShuffle):
            src = net[node.inputs[0]]
            if isinstance(src.op, Conv2d) and "weight" in src.params:
                gains = subpixel_phase_gains(src.params["weight"], src.params.get("bias"), node.op.upscale_factor)
        if gains is not None and gains.shape[1:] != (1, 1):
            row.update(phase_gain=gains, gain_spread=float(_modulation(gains).mean()),
                       gain_amplitude=float(_amplitude(gains).mean()))
        if isinstance(node.op, Conv2d) and node.op.stride == (1, 1) and "weight" in node.params and node.inputs:
            src_period = interiors.get(node.inputs[0], ((1, 1),))[0]
            row["response"] = filter_response(node.params["weight"], src_period)
        if m is None or m_in is None:
            row["role"] = "unmeasured"  # no interior here (or at its inputs): nothing to compare
        else:
            if m_in < FLAT:
                row["role"] = "introduces" if m >= FLAT else "passes"
            else:
                row["change"] = m / m_in
                row["role"] = "amplifies" if m > m_in * (1 + TOLERANCE) else \
                    "damps" if m < m_in * (1 - TOLERANCE) else "passes"
        rows.append(LayerReport(**row))
    return CheckerboardReport(net, tuple(rows), vanished)
