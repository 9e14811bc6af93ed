"""The editable state behind the GUI, Qt-free: stack-editor rows (cell texts as typed), the input size and
the simulation settings, and their validation into an `analytics.Config`.

Row i is layer i of the stack, the index nn.Sequential prints and checkerlab's messages use, so one number
names a layer everywhere. Cells keep the user's text, so an invalid entry stays visible, marked and
explained, while the last valid config is still shown elsewhere. Every edit replaces the whole (immutable)
`State`, which makes undo trivial; rows carry an identity (`uid`) so that a selection can follow its layer.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ...analytics import CheckerlabError, Config, LayerError, SimulationSettings, Stack
from ...analytics.layers import make_layer

#: Table columns, in order, and their headers. One row is one layer of the stack, numbered from 0 as in
#: nn.Sequential and in checkerlab's messages ("layer 0 (ConvTranspose2d): ...").
COLUMNS = ("type", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias", "channels")
HEADERS = ("Layer", "Kernel", "Stride", "Pad", "Out pad", "Dil.", "Groups", "Bias", "Out ch")

#: Row types offered by the type column. "LeakyReLU" is shown and typed with its slope, LeakyReLU(0.2).
SPATIAL_TYPES = ("ConvTranspose2d", "Conv2d", "Upsample", "Upsample (bilinear)", "PixelShuffle")
ACTIVATION_TYPES = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid")
ROW_TYPES = SPATIAL_TYPES + ACTIVATION_TYPES

_CONV = {"kernel", "stride", "padding", "dilation", "groups", "bias", "channels"}
#: Which columns apply to each row type.
APPLIES = {
    "ConvTranspose2d": _CONV | {"output_padding"},
    "Conv2d": _CONV,
    "Upsample": {"stride"},
    "Upsample (bilinear)": {"stride"},
    "PixelShuffle": {"stride"},
}
DEFAULTS = {
    "ConvTranspose2d": dict(kernel="3", stride="2", padding="1", output_padding="1", dilation="1", groups="1",
                            bias="True"),
    "Conv2d": dict(kernel="3", stride="1", padding="1", dilation="1", groups="1", bias="True"),
    "Upsample": dict(stride="2"),
    "Upsample (bilinear)": dict(stride="2"),
    "PixelShuffle": dict(stride="2"),
}

# Layer parameter (as named in LayerError.param) -> table column.
_PARAM_COLUMN = {
    "kernel_size": "kernel",
    "stride": "stride",
    "scale_factor": "stride",
    "upscale_factor": "stride",
    "padding": "padding",
    "output_padding": "output_padding",
    "dilation": "dilation",
    "out_channels": "channels",
    "groups": "groups",
    "bias": "bias",
    "mode": "type",
    "align_corners": "type",
    "negative_slope": "type",
}

_uids = itertools.count(1)


def new_uid() -> int:
    """A fresh row identity (rows keep theirs through edits, so a selection can follow its layer)."""
    return next(_uids)


@dataclass(frozen=True)
class Row:
    """One table row = one layer: cell texts as typed. `slope` is LeakyReLU's negative_slope (shown in the
    type cell); `spec` is the whole layer as spec text for the kinds the columns do not cover (GroupNorm(32),
    ReflectionPad2d(1), Upsample(2, mode='bicubic'), Conv2d(3, padding_mode='reflect'), ...): it is shown and
    edited in the type cell, and no other column applies. `uid` identifies the row across edits and is not
    part of its value."""

    type: str = "ConvTranspose2d"
    kernel: str = ""
    stride: str = ""
    padding: str = ""
    output_padding: str = ""
    dilation: str = ""
    groups: str = ""
    bias: str = ""
    channels: str = ""
    slope: str = ""
    spec: str = ""
    uid: int = field(default_factory=new_uid, compare=False)

    @property
    def is_activation(self) -> bool:
        return self.type in ACTIVATION_TYPES

    def cell(self, column: str) -> str:
        """The text of a column; the type cell of a LeakyReLU carries its slope: LeakyReLU(0.2)."""
        if column == "type" and self.spec:
            return self.spec
        if column == "type" and self.type == "LeakyReLU" and self.slope:
            return f"LeakyReLU({self.slope})"
        return getattr(self, column)

    def applies(self, column: str) -> bool:
        """Whether `column` means something for this row's type."""
        return column == "type" or (not self.spec and column in APPLIES.get(self.type, set()))

    def with_cell(self, column: str, text: str) -> Row:
        """A copy with one cell changed; changing the type keeps what still applies and fills defaults."""
        text = str(text).strip()
        if column != "type":
            return replace(self, **{column: text})
        kind, slope = _type_text(text)
        if kind not in ROW_TYPES:  # another layer kind, written as a spec: GroupNorm(32), SiLU(), ...
            layer = _spec_layer(text)
            return Row(kind, uid=self.uid) if layer is None else Row(layer.type, spec=layer.spec(), uid=self.uid)
        if kind == self.type and not self.spec:
            return replace(self, slope=slope)
        new = {c: "" for c in COLUMNS[1:]}
        for c in APPLIES.get(kind, set()):
            keep = self.cell(c) if self.applies(c) else ""
            new[c] = keep or DEFAULTS.get(kind, {}).get(c, "")
        return Row(kind, slope=slope, uid=self.uid, **new)

    def copy(self) -> Row:
        """The same layer as a new row (its own identity)."""
        return replace(self, uid=new_uid())


def _type_text(text: str) -> tuple[str, str]:
    """'LeakyReLU(0.1)' -> ('LeakyReLU', '0.1'); 'relu' -> ('ReLU', ''); unknown text stays as typed."""
    canonical = {t.lower(): t for t in ROW_TYPES}
    if text.lower() in canonical:
        return canonical[text.lower()], "0.01" if text.lower() == "leakyrelu" else ""
    try:
        act = parse_activation(text)
    except CheckerlabError:
        return text, ""
    if act is None:
        return text, ""
    slope = act.get("negative_slope")
    return act["type"], "" if slope is None else f"{slope:g}"


def _spec_layer(text: str):
    """The one layer that spec `text` writes, or None (the row then shows the text with its error)."""
    from ...analytics import parse_layers

    try:
        layers = parse_layers(text)
    except CheckerlabError:
        return None
    return layers[0] if len(layers) == 1 else None


def new_row(type_: str = "ConvTranspose2d") -> Row:
    """A fresh row with PyTorch-like defaults for its type."""
    return Row(type_, slope="0.2" if type_ == "LeakyReLU" else "", **DEFAULTS.get(type_, {}))


@dataclass(frozen=True)
class State:
    """Everything the user edits: rows, input size and simulation settings. Immutable; edits replace it."""

    rows: tuple[Row, ...] = ()
    input_size: tuple[int, int] = (32, 32)
    settings: SimulationSettings = field(default_factory=SimulationSettings)

    def with_row(self, index: int, row: Row) -> State:
        rows = list(self.rows)
        rows[index] = row
        return replace(self, rows=tuple(rows))

    def with_rows(self, rows) -> State:
        return replace(self, rows=tuple(rows))

    def index_of(self, uid: int) -> int | None:
        """The row (= layer index) holding identity `uid`, or None."""
        return next((i for i, row in enumerate(self.rows) if row.uid == uid), None)


# --------------------------------------------------------------------------------------------------
# Cell parsing
# --------------------------------------------------------------------------------------------------


class CellError(CheckerlabError):
    """A cell's text is not a value of the right kind."""


_INT = re.compile(r"[+-]?\d+")


def parse_int_pair(text: str, what: str, allow: tuple[str, ...] = ()) -> Any:
    """'3' -> 3, '3, 5' / '(3, 5)' / '3x5' -> (3, 5); words in `allow` (e.g. 'same') pass through."""
    t = text.strip().strip("()[]").strip()
    if t.lower() in allow:
        return t.lower()
    parts = [p.strip() for p in re.split(r"[,x×]", t, flags=re.IGNORECASE)] if t else []
    if len(parts) in (1, 2) and all(_INT.fullmatch(p) for p in parts):
        values = [int(p) for p in parts]
        return values[0] if len(values) == 1 else tuple(values)
    extra = f", {' or '.join(repr(a) for a in allow)}" if allow else ""
    raise CellError(f"{what}={text!r} must be an integer or an (h, w) pair such as 3 or 3, 5{extra}")


def parse_activation(text: str) -> dict | None:
    """'' -> None; 'ReLU', 'LeakyReLU(0.2)', 'tanh' ... -> {'type': ..., params}."""
    t = text.strip()
    if not t or t in ("-", "—", "none", "None"):
        return None
    m = re.fullmatch(r"([A-Za-z]+)\s*(?:\(\s*([^)]*)\s*\))?", t)
    names = {
        "relu": "ReLU",
        "leakyrelu": "LeakyReLU",
        "lrelu": "LeakyReLU",
        "tanh": "Tanh",
        "sigmoid": "Sigmoid",
    }
    name = names.get(m.group(1).lower()) if m else None
    if name is None:
        raise CellError(f"activation {t!r} is not one of ReLU, LeakyReLU(slope), Tanh, Sigmoid (or empty)")
    arg = (m.group(2) or "").strip()
    if not arg:
        return {"type": name}
    if name != "LeakyReLU":
        raise CellError(f"{name} takes no argument (got {arg!r})")
    try:
        return {"type": name, "negative_slope": float(arg.removeprefix("negative_slope=").strip())}
    except ValueError:
        raise CellError(f"LeakyReLU slope {arg!r} must be a number, e.g. LeakyReLU(0.2)") from None


_BOOL = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _layer_params(row: Row) -> tuple[str, dict]:
    """(torch layer type, keyword arguments) of a row; CellError names the bad column."""
    if row.type in ("ConvTranspose2d", "Conv2d"):
        try:
            params = {"kernel_size": parse_int_pair(row.kernel, "kernel_size")}
        except CellError as exc:
            raise _located(exc, "kernel") from None
        for column in ("stride", "dilation", "padding", "output_padding"):
            if not row.applies(column) or not row.cell(column):
                continue
            allow = ("same", "valid") if (row.type, column) == ("Conv2d", "padding") else ()
            try:
                params[column] = parse_int_pair(row.cell(column), column, allow)
            except CellError as exc:
                raise _located(exc, column) from None
        for column, name, hint in (("channels", "out_channels", ", or empty to keep the incoming channel count"),
                                   ("groups", "groups", "")):
            text = row.cell(column).strip()
            if text:
                if not _INT.fullmatch(text):
                    raise _located(CellError(f"{name}={text!r} must be a positive integer{hint}"), column)
                params[name] = int(text)
        if row.bias.strip():
            if row.bias.strip().lower() not in _BOOL:
                raise _located(CellError(f"bias={row.bias!r} must be True or False"), "bias")
            params["bias"] = _BOOL[row.bias.strip().lower()]
        return row.type, params
    if row.type.startswith("Upsample"):
        try:
            scale = parse_int_pair(row.stride or "2", "scale_factor")
        except CellError as exc:
            raise _located(exc, "stride") from None
        mode = "bilinear" if row.type.endswith("(bilinear)") else "nearest"
        return "Upsample", {"scale_factor": scale, "mode": mode}
    if row.type == "PixelShuffle":
        if not _INT.fullmatch(row.stride.strip() or "2"):
            raise _located(CellError(f"upscale_factor={row.stride!r} must be an integer >= 1"), "stride")
        return "PixelShuffle", {"upscale_factor": int(row.stride or 2)}
    if row.is_activation:
        act = parse_activation(row.cell("type"))
        return act.pop("type"), act
    raise _located(CellError(f"unknown layer type {row.type!r}; allowed: {', '.join(ROW_TYPES)}"), "type")


def row_layer(row: Row):
    """The layer a row describes: its spec, or its columns (CellError/LayerError name the bad column)."""
    if row.spec:
        from ...analytics import parse_layers

        layers = parse_layers(row.spec)
        if len(layers) != 1:
            raise _located(CellError(f"{row.spec!r} must be one layer"), "type")
        return layers[0]
    name, params = _layer_params(row)
    return make_layer(name, **params)


def _located(exc: CheckerlabError, column: str) -> CheckerlabError:
    exc.column_name = column
    return exc


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """The outcome of validating a State: the Config when everything is valid, else per-cell messages.
    Row r of the editor is layer r of the stack."""

    config: Config | None
    errors: dict[tuple[int, str], str]  # (layer index, column) -> one-line message
    message: str = ""  # the first error, located like analytics' ("layer 1 (Conv2d): ..."), or ""

    @property
    def ok(self) -> bool:
        return self.config is not None


def _column_of(exc: CheckerlabError) -> str:
    if getattr(exc, "column_name", None):
        return exc.column_name
    param = (getattr(exc, "param", None) or "").split("[")[0]
    return _PARAM_COLUMN.get(param, "type")


def _reason(exc: CheckerlabError) -> str:
    return getattr(exc, "reason", None) or str(exc)


def located_message(state: State, index: int, message: str) -> str:
    """'layer 1 (Conv2d): message', the form of analytics' LayerError messages."""
    kind = state.rows[index].type.split(" ")[0] if 0 <= index < len(state.rows) else "?"
    return f"layer {index} ({kind}): {message}"


def validate(state: State) -> Validation:
    """Build every row's layer; then check the whole stack's shapes for the input size and channels."""
    if not state.rows:
        return Validation(None, {}, "the stack is empty: add a layer")
    errors: dict[tuple[int, str], str] = {}
    layers = []
    for r, row in enumerate(state.rows):
        try:
            layers.append(row_layer(row))
        except CheckerlabError as exc:
            errors[(r, _column_of(exc))] = _reason(exc)
    if not errors:
        try:
            stack = Stack(layers)
            stack.shapes((state.settings.in_channels, *state.input_size))
            return Validation(Config(stack, state.input_size, state.settings), {}, "")
        except LayerError as exc:
            errors[(exc.index if exc.index is not None else 0, _column_of(exc))] = _reason(exc)
        except CheckerlabError as exc:
            return Validation(None, {}, str(exc))
    (r, col), msg = min(errors.items(), key=lambda item: (item[0][0], COLUMNS.index(item[0][1])))
    return Validation(None, errors, located_message(state, r, msg))


# --------------------------------------------------------------------------------------------------
# Config <-> State
# --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}, {value[1]}"
    return "" if value is None else str(value)


def row_from_layer(layer) -> Row:
    """The editor row that shows `layer`: in the columns when they say all of it, else as its spec."""
    row = _column_row(layer)
    if row is not None:
        try:
            if row_layer(row) == layer:
                return row
        except CheckerlabError:
            pass
    return Row(layer.type, spec=layer.spec())


def _column_row(layer) -> Row | None:
    """The row of `layer` in the table's columns (None for kinds without columns); it may lose arguments
    the columns do not have (`row_from_layer` checks)."""
    if layer.type in ("ConvTranspose2d", "Conv2d"):
        cells = {c: _text(getattr(layer, c)) for c in ("stride", "padding", "dilation", "groups", "bias")}
        cells.update(kernel=_text(layer.kernel_size), channels=_text(layer.out_channels))
        if layer.type == "ConvTranspose2d":
            cells["output_padding"] = _text(layer.output_padding)
        return Row(layer.type, **cells)
    if layer.type == "Upsample":
        return Row("Upsample (bilinear)" if layer.mode == "bilinear" else "Upsample", stride=_text(layer.scale_factor))
    if layer.type == "PixelShuffle":
        return Row("PixelShuffle", stride=str(layer.upscale_factor))
    if layer.type == "LeakyReLU":
        return Row("LeakyReLU", slope=f"{layer.negative_slope:g}")
    if layer.type in ACTIVATION_TYPES:
        return Row(layer.type)
    return None


def rows_from_stack(stack: Stack) -> tuple[Row, ...]:
    """One row per layer, in order: row i is layer i."""
    return tuple(row_from_layer(layer) for layer in stack)


def state_from_config(config: Config) -> State:
    """The State that shows `config`."""
    return State(rows_from_stack(config.stack), tuple(config.input_size), config.simulation)
