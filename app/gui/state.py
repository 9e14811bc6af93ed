"""The editable state behind the GUI, Qt-free: stack-editor rows (cell texts as typed), the input size and
the simulation settings, and their validation into an `analytics.Config`.

A row is one spatial layer plus the activation that follows it (or an activation on its own). Cells keep
the user's text, so an invalid entry stays visible, marked and explained, while the last valid config is
still shown elsewhere. Every edit replaces the whole (immutable) `State`, which makes undo trivial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ...analytics import CheckerlabError, Config, LayerError, SimulationSettings, Stack
from ...analytics.layers import LAYER_TYPES, make_layer

#: Table columns, in order, and their headers.
COLUMNS = ("type", "kernel", "stride", "padding", "output_padding", "dilation", "channels", "activation")
HEADERS = ("Layer", "Kernel", "Stride", "Pad", "Out pad", "Dilation", "Channels", "Activation")

#: Row types offered by the type column ("Activation" = an activation on its own).
ROW_TYPES = ("ConvTranspose2d", "Conv2d", "Upsample", "Upsample (bilinear)", "PixelShuffle", "Activation")
ACTIVATIONS = ("", "ReLU", "LeakyReLU(0.2)", "Tanh", "Sigmoid")

#: Which geometry columns apply to each row type.
APPLIES = {
    "ConvTranspose2d": {"kernel", "stride", "padding", "output_padding", "dilation", "channels"},
    "Conv2d": {"kernel", "stride", "padding", "dilation", "channels"},
    "Upsample": {"stride"},
    "Upsample (bilinear)": {"stride"},
    "PixelShuffle": {"stride"},
    "Activation": set(),
}
DEFAULTS = {
    "ConvTranspose2d": dict(kernel="3", stride="2", padding="1", output_padding="1", dilation="1"),
    "Conv2d": dict(kernel="3", stride="1", padding="1", dilation="1"),
    "Upsample": dict(stride="2"),
    "Upsample (bilinear)": dict(stride="2"),
    "PixelShuffle": dict(stride="2"),
    "Activation": {},
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
    "groups": "channels",
    "mode": "type",
    "align_corners": "type",
    "negative_slope": "activation",
    "bias": "type",
}


@dataclass(frozen=True)
class Row:
    """One table row: cell texts as typed, plus hidden layer parameters (groups, bias, ...) kept verbatim."""

    type: str = "ConvTranspose2d"
    kernel: str = ""
    stride: str = ""
    padding: str = ""
    output_padding: str = ""
    dilation: str = ""
    channels: str = ""
    activation: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    def cell(self, column: str) -> str:
        return getattr(self, column)

    def applies(self, column: str) -> bool:
        """Whether `column` means something for this row's type."""
        return column in ("type", "activation") or column in APPLIES.get(self.type, set())

    def with_cell(self, column: str, text: str) -> Row:
        """A copy with one cell changed; changing the type keeps what still applies and fills defaults."""
        text = str(text).strip()
        if column != "type":
            return replace(self, **{column: text})
        if text == self.type:
            return self
        new = {c: "" for c in COLUMNS[1:-1]}
        for c in APPLIES.get(text, set()):
            keep = self.cell(c) if self.applies(c) else ""
            new[c] = keep or DEFAULTS.get(text, {}).get(c, "")
        activation = self.activation or ("ReLU" if text == "Activation" else "")
        return Row(text, activation=activation, extra=() if text != self.type else self.extra, **new)


def new_row(type_: str = "ConvTranspose2d", activation: str = "ReLU") -> Row:
    """A fresh row with sensible defaults for its type."""
    return Row(type_, activation=activation, **DEFAULTS[type_])


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


def _layer_params(row: Row) -> tuple[str, dict]:
    """(torch layer type, keyword arguments) of a row's spatial layer; CellError names the bad column."""
    extra = dict(row.extra)
    if row.type in ("ConvTranspose2d", "Conv2d"):
        try:
            params = {"kernel_size": parse_int_pair(row.kernel, "kernel_size")}
        except CellError as exc:
            raise _located(exc, "kernel") from None
        for column, name in (
            ("stride", "stride"),
            ("dilation", "dilation"),
            ("padding", "padding"),
            ("output_padding", "output_padding"),
        ):
            if not row.applies(column) or not row.cell(column):
                continue
            allow = ("same", "valid") if (row.type, column) == ("Conv2d", "padding") else ()
            try:
                params[name] = parse_int_pair(row.cell(column), name, allow)
            except CellError as exc:
                raise _located(exc, column) from None
        if row.channels:
            if not _INT.fullmatch(row.channels):
                raise _located(
                    CellError(
                        f"out_channels={row.channels!r} must be a positive integer, or empty "
                        "to keep the incoming channel count"
                    ),
                    "channels",
                )
            params["out_channels"] = int(row.channels)
        return row.type, {**params, **{k: v for k, v in extra.items() if k in ("groups", "bias")}}
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
    raise _located(CellError(f"unknown layer type {row.type!r}; allowed: {', '.join(ROW_TYPES)}"), "type")


def _located(exc: CheckerlabError, column: str) -> CheckerlabError:
    exc.column_name = column
    return exc


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """The outcome of validating a State: the Config when everything is valid, else per-cell messages."""

    config: Config | None
    errors: dict[tuple[int, str], str]  # (row, column) -> one-line message
    message: str = ""  # the first error, located ("row 2, stride: ..."), or "" when valid
    layer_rows: tuple[int, ...] = ()  # layer index -> table row

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


def validate(state: State) -> Validation:
    """Build every row's layers; then check the whole stack's shapes for the input size and channels."""
    errors: dict[tuple[int, str], str] = {}
    layers, layer_rows = [], []
    for r, row in enumerate(state.rows):
        if row.type != "Activation":
            try:
                name, params = _layer_params(row)
                layers.append(make_layer(name, **params))
                layer_rows.append(r)
            except CheckerlabError as exc:
                errors[(r, _column_of(exc))] = _reason(exc)
        try:
            act = parse_activation(row.activation)
            if act is None and row.type == "Activation":
                raise CellError(
                    "an activation row needs an activation: ReLU, LeakyReLU(slope), Tanh or Sigmoid"
                )
            if act is not None:
                layers.append(make_layer(act.pop("type"), **act))
                layer_rows.append(r)
        except CheckerlabError as exc:
            errors[(r, "activation")] = _reason(exc)
    if not state.rows:
        return Validation(None, {}, "the stack is empty: add a layer")
    if not errors:
        try:
            stack = Stack(layers)
            stack.shapes((state.settings.in_channels, *state.input_size))
            return Validation(Config(stack, state.input_size, state.settings), {}, "", tuple(layer_rows))
        except LayerError as exc:
            r = layer_rows[exc.index] if exc.index is not None else 0
            errors[(r, _column_of(exc))] = _reason(exc)
        except CheckerlabError as exc:
            return Validation(None, {}, str(exc), tuple(layer_rows))
    (r, col), msg = min(errors.items(), key=lambda item: (item[0][0], COLUMNS.index(item[0][1])))
    return Validation(
        None, errors, f"row {r + 1}, {HEADERS[COLUMNS.index(col)].lower()}: {msg}", tuple(layer_rows)
    )


# --------------------------------------------------------------------------------------------------
# Config <-> State
# --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}, {value[1]}"
    return "" if value is None else str(value)


def _activation_text(layer) -> str:
    if layer.type == "LeakyReLU":
        return f"LeakyReLU({layer.negative_slope:g})"
    return layer.type


def rows_from_stack(stack: Stack) -> tuple[Row, ...]:
    """One row per spatial layer, each followed activation folded into it; lone activations get own rows."""
    rows: list[Row] = []
    for layer in stack:
        if layer.is_activation:
            if rows and rows[-1].type != "Activation" and not rows[-1].activation:
                rows[-1] = replace(rows[-1], activation=_activation_text(layer))
            else:
                rows.append(Row("Activation", activation=_activation_text(layer)))
            continue
        if layer.type in ("ConvTranspose2d", "Conv2d"):
            cells = dict(
                kernel=_text(layer.kernel_size),
                stride=_text(layer.stride),
                padding=_text(layer.padding),
                dilation=_text(layer.dilation),
                channels=_text(layer.out_channels),
            )
            if layer.type == "ConvTranspose2d":
                cells["output_padding"] = _text(layer.output_padding)
            extra = tuple(
                (k, getattr(layer, k)) for k, d in (("groups", 1), ("bias", True)) if getattr(layer, k) != d
            )
            rows.append(Row(layer.type, extra=extra, **cells))
        elif layer.type == "Upsample":
            rows.append(
                Row(
                    "Upsample (bilinear)" if layer.mode == "bilinear" else "Upsample",
                    stride=_text(layer.scale_factor),
                )
            )
        elif layer.type == "PixelShuffle":
            rows.append(Row("PixelShuffle", stride=str(layer.upscale_factor)))
        else:  # a layer type added to analytics later: not editable here, refuse loudly
            raise CheckerlabError(
                f"layer type {layer.type} is not supported by the stack editor "
                f"(supported: {', '.join(t for t in LAYER_TYPES)})"
            )
    return tuple(rows)


def state_from_config(config: Config) -> State:
    """The State that shows `config`."""
    return State(rows_from_stack(config.stack), tuple(config.input_size), config.simulation)


def settings_replace(settings: SimulationSettings, **changes: Any) -> SimulationSettings:
    """`dataclasses.replace` that ignores unknown keys (CheckerlabError for invalid values)."""
    known = {f.name for f in fields(SimulationSettings)}
    return replace(settings, **{k: v for k, v in changes.items() if k in known})
