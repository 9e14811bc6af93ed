"""Layer-list text: parse PyTorch-style specs safely with `ast` (never eval) and print them back.

Two spellings are read:
- checkerlab's short form, channels left out: ``ConvTranspose2d(3, stride=2, padding=1) * 3, ReLU()``,
  with aliases (ConvT, Deconv, Conv, Up, PS, ...);
- PyTorch's own, with its positional order: ``nn.ConvTranspose2d(64, 32, 4, 2, 1)`` (in_channels is
  dropped: the simulation takes channels from the previous layer), optionally wrapped in
  ``nn.Sequential(...)``.

The positional trap. Pasted code often loses its ``nn.`` prefix, and ``ConvTranspose2d(64, 32, 4, 2, 1)`` must
still be kernel 4, never kernel 64. A convolution written without the prefix is read in PyTorch's order when
that is the only valid reading, when it has more positional arguments than the short form takes, when
``kernel_size=`` is a keyword, or when one of its two leading integers is above `CHANNEL_HINT` (no upsampling
layer has a kernel or stride that large; channel counts are). When both readings are valid and nothing tells
them apart, e.g. ``ConvTranspose2d(8, 4, 4, 2, 1)``, the spec is refused with both readings shown.

Cost: O(len(text)) to parse, O(layers) to build; the text, its nesting and the number of layers have budgets
(`analytics.budget`) checked before any layer is built.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import fields
from typing import Any

from .budget import MAX_LAYERS, MAX_NESTING, MAX_PARAM, MAX_REPEAT, MAX_SPEC_CHARS, check
from .errors import CheckerlabError, LayerError, SpecError, excerpt
from .layers import LAYER_TYPES, Layer, allowed_kinds, make_layer


def _short_order(cls) -> tuple[str, ...]:
    """checkerlab's positional order: the layer's fields up to the keyword-only ones."""
    return tuple(f.name for f in fields(cls) if not f.kw_only)


#: lower-case name or alias -> layer type; every kind's own name and the `aliases` it declares.
ALIASES = {alias: name for name, cls in LAYER_TYPES.items()
           for alias in (name.lower(), *getattr(cls, "aliases", ()))}
#: Positional order of checkerlab's short form and of torch.nn (None: a torch argument we drop); a kind whose
#: torch.nn order differs declares `torch_order`.
SHORT_ORDER = {name: _short_order(cls) for name, cls in LAYER_TYPES.items()}
TORCH_ORDER = {name: getattr(cls, "torch_order", None) or _short_order(cls) + (("inplace",) if cls.is_activation
                                                                             else ())
               for name, cls in LAYER_TYPES.items()}
#: torch.nn classes that are an Upsample with fixed arguments.
_UPSAMPLING = {"upsamplingnearest2d": {"mode": "nearest"},
               "upsamplingbilinear2d": {"mode": "bilinear", "align_corners": True}}
#: A leading positional integer above this is a channel count, not a kernel size or stride.
CHANNEL_HINT = 16
#: torch.nn keywords that do not change the geometry: accepted and dropped.
_DROPPED = ("in_channels", "inplace", "device", "dtype")
_CONTAINERS = ("Sequential", "ModuleList")
#: Control characters other than whitespace, and lone surrogates (what undecodable bytes turn into).
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _torch_prefixed(func: ast.expr) -> tuple[str | None, bool]:
    """('ConvTranspose2d', True) for nn.ConvTranspose2d / torch.nn.ConvTranspose2d; (name, False) for a bare name."""
    if isinstance(func, ast.Name):
        return func.id, False
    if isinstance(func, ast.Attribute):
        return func.attr, True
    return None, False


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise SpecError(f"{excerpt(ast.unparse(node))} is not a literal value (numbers, strings, tuples, "
                        "True/False/None only)", node.col_offset + 1) from None


_NONNEGATIVE = ("padding", "output_padding")


def _value(node: ast.expr, key: str, symbols: bool) -> Any:
    """A literal; with `symbols`, a bare name becomes a SymPy integer symbol (never evaluated): positive,
    or nonnegative for padding and output_padding."""
    if symbols and isinstance(node, ast.Name):
        import sympy
        return sympy.Symbol(node.id, integer=True, **{"nonnegative" if key in _NONNEGATIVE else "positive": True})
    if symbols and isinstance(node, ast.Tuple):
        return tuple(_value(e, key, symbols) for e in node.elts)
    return _literal(node)


def _build(name: str, params: dict[str, Any]) -> Layer:
    """make_layer after dropping torch-only arguments; LayerError for anything out of range."""
    params = dict(params)
    channels = params.get("in_channels")
    if channels is not None and not getattr(channels, "free_symbols", None) and (
            isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= MAX_PARAM):
        raise LayerError(name, "in_channels", f"in_channels={excerpt(channels)} must be an integer in "
                         f"1..{MAX_PARAM}")
    for key in _DROPPED:
        params.pop(key, None)
    if name == "ConvTranspose2d":  # PyTorch's own rule: only zeros
        mode = params.pop("padding_mode", "zeros")
        if mode != "zeros":
            raise LayerError(name, "padding_mode", f"padding_mode={excerpt(mode)} is not supported by "
                             "ConvTranspose2d (as in PyTorch): only 'zeros'")
    if name == "Upsample" and params.get("size") is None:
        params.pop("size", None)
    return make_layer(name, **params)


def _params(name: str, order: tuple[str, ...], node: ast.Call, symbols: bool, index: int) -> dict[str, Any]:
    """The call's arguments by name: positionals in `order`, then keywords; SpecError for a duplicate."""
    column = node.col_offset + 1
    if len(node.args) > len(order):
        raise SpecError(f"layer {index} ({name}): takes at most {len(order)} positional arguments "
                        f"({', '.join(order) or 'none'}), got {len(node.args)}", column)
    params = {key: _value(arg, key, symbols) for key, arg in zip(order, node.args, strict=False)}
    for kw in node.keywords:
        if kw.arg is None:
            raise SpecError(f"layer {index} ({name}): **kwargs are not supported", column)
        if kw.arg in params:
            raise SpecError(f"layer {index} ({name}): {kw.arg} given twice", kw.value.col_offset + 1)
        params[kw.arg] = _value(kw.value, kw.arg, symbols)
    return params


def _needs_channels(name: str, params: dict[str, Any], index: int, column: int) -> None:
    """PyTorch's ConvTranspose2d / Conv2d require in_channels and out_channels."""
    if "in_channels" not in params or "out_channels" not in params:
        raise SpecError(f"layer {index} ({name}): PyTorch's order needs in_channels, out_channels and "
                        "kernel_size", column)


def _convolution(name: str, node: ast.Call, symbols: bool, index: int) -> Layer:
    """A ConvTranspose2d / Conv2d written without the nn. prefix: the short form or PyTorch's order, by the
    rule in the module docstring."""
    outcome: dict[str, tuple[dict | None, Layer | CheckerlabError]] = {}
    for key, order in (("short", SHORT_ORDER[name]), ("torch", TORCH_ORDER[name])):
        params = None
        try:
            params = _params(name, order, node, symbols, index)
            if key == "torch":
                _needs_channels(name, params, index, node.col_offset + 1)
            outcome[key] = (params, _build(name, params))
        except CheckerlabError as exc:
            outcome[key] = (params, exc)
    valid = [key for key, (_, result) in outcome.items() if isinstance(result, Layer)]
    if len(valid) == 1:
        return outcome[valid[0]][1]
    leading = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and type(a.value) is int]
    channels = any(v > CHANNEL_HINT for v in leading)
    if not valid:  # report the error of the reading that was meant
        complete = all(k in (outcome["torch"][0] or {}) for k in ("in_channels", "out_channels", "kernel_size"))
        torch_meant = len(node.args) > len(SHORT_ORDER[name]) or channels and complete
        raise outcome["torch" if torch_meant else "short"][1]
    if channels:
        return outcome["torch"][1]
    channels_in = excerpt(outcome["torch"][0]["in_channels"], 12)
    raise SpecError(f"layer {index}: ambiguous positionals: {outcome['short'][1].spec()} (short form) or "
                    f"{outcome['torch'][1].spec()} with in_channels={channels_in} (PyTorch's order); use keywords "
                    "or nn.", node.col_offset + 1)


_CONVOLUTIONS = ("ConvTranspose2d", "Conv2d")


def _layer(node: ast.Call, index: int, symbols: bool = False) -> Layer:
    raw, torch_style = _torch_prefixed(node.func)
    column = node.col_offset + 1
    fixed = _UPSAMPLING.get((raw or "").lower(), {})
    name = "Upsample" if fixed else ALIASES.get((raw or "").lower())
    if name is None:
        raise SpecError(f"layer {index}: unknown layer {excerpt(ast.unparse(node.func))}; {allowed_kinds(raw)}",
                        column)
    try:
        if name in _CONVOLUTIONS and not torch_style:
            return _convolution(name, node, symbols, index)
        if name in _CONVOLUTIONS and len(node.args) < 3 and all(kw.arg != "kernel_size" for kw in node.keywords):
            raise SpecError(f"layer {index} ({name}): nn.{name} takes (in_channels, out_channels, kernel_size, "
                            f"...) as in PyTorch; drop 'nn.' for the short form {name}(kernel_size, ...)", column)
        order = ("size", "scale_factor") if fixed else (TORCH_ORDER if torch_style else SHORT_ORDER)[name]
        params = _params(name, order, node, symbols, index)
        if name in _CONVOLUTIONS:
            _needs_channels(name, params, index, column)
        for key, value in fixed.items():
            if params.setdefault(key, value) != value:
                raise LayerError(name, key, f"{raw} has {key}={value!r} (use Upsample for another)")
        return _build(name, params)
    except LayerError as exc:
        raise exc.at(index) from None


def _depth(tree: ast.AST) -> int:
    """Nesting depth of an AST, without recursion: O(nodes)."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _flatten(node: ast.expr, out: list[ast.Call]) -> None:
    """Collect layer calls from lists, tuples, nn.Sequential(...) and `layer * n` repeats, within MAX_LAYERS."""
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            _flatten(item, out)
    elif isinstance(node, ast.Call) and _torch_prefixed(node.func)[0] in _CONTAINERS:
        if node.keywords:
            raise SpecError("nn.Sequential takes layers only, no keywords", node.col_offset + 1)
        for item in node.args:
            _flatten(item, out)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        count, item = (node.right, node.left) if isinstance(node.right, ast.Constant) else (node.left, node.right)
        n = count.value if isinstance(count, ast.Constant) else None
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_REPEAT:
            raise SpecError(f"a repeat `layer * n` needs an integer n in 1..{MAX_REPEAT}", node.col_offset + 1)
        inner: list[ast.Call] = []
        _flatten(item, inner)
        check(len(out) + len(inner) * n, MAX_LAYERS, "the number of layers", "use fewer or smaller repeats")
        out.extend(inner * n)
    elif isinstance(node, ast.Call):
        out.append(node)
    else:
        raise SpecError(f"expected a layer such as ConvTranspose2d(3, stride=2), got {excerpt(ast.unparse(node))}",
                        node.col_offset + 1)
    check(len(out), MAX_LAYERS, "the number of layers", "use fewer or smaller repeats")


def _syntax_tree(text: str) -> ast.Expression:
    """ast.parse with the guards a hostile string needs: size, characters, nesting, and no warnings."""
    check(len(text), MAX_SPEC_CHARS, "the spec's length in characters", "shorten it (use `layer * n` repeats)")
    bad = _BAD_CHAR.search(text)
    if bad:
        kind = "a lone surrogate (undecodable, non-UTF-8 input)" if "\ud800" <= bad.group() <= "\udfff" \
            else "a control character"
        raise SpecError(f"invalid character U+{ord(bad.group()):04X}, {kind}", bad.start() + 1)
    try:
        with warnings.catch_warnings():  # SyntaxWarning / DeprecationWarning for odd literals never leak
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        msg = str(exc.msg)
        if "digits" in msg and "limit" in msg:
            msg = f"an integer literal has more than 4,300 digits (layer parameters are at most {MAX_PARAM})"
        raise SpecError(f"syntax error: {msg[:120]}", exc.offset) from None
    except (RecursionError, MemoryError, ValueError):  # the parser's own depth limit; NUL bytes
        raise SpecError(f"the spec is nested too deeply to parse (at most {MAX_NESTING} levels of brackets, "
                        "repeats and operators)") from None
    check(_depth(tree), MAX_NESTING, "the spec's nesting depth", "use fewer nested brackets, repeats or signs")
    return tree


def parse_layers(text: str, symbols: bool = False) -> list[Layer]:
    """Parse a comma-separated layer list; errors name the layer index, the parameter and the range.

    `symbols=True` reads bare names as SymPy integer symbols, e.g. "ConvTranspose2d(k, stride=s)" for
    `closed_form`; otherwise only literals are accepted."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("empty layer list: write e.g. 'ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)'")
    tree = _syntax_tree(text.strip())
    calls: list[ast.Call] = []
    _flatten(tree.body, calls)
    return [_layer(call, i, symbols) for i, call in enumerate(calls)]


def format_layers(layers: list[Layer] | tuple[Layer, ...]) -> str:
    """The shortest spec that parses back to `layers`: equal neighbours collapse to `layer * n`."""
    parts: list[str] = []
    i = 0
    while i < len(layers):
        j = i
        while j + 1 < len(layers) and layers[j + 1] == layers[i]:
            j += 1
        n = j - i + 1
        parts.append(layers[i].spec() + (f" * {n}" if n > 1 else ""))
        i = j + 1
    return ", ".join(parts)
