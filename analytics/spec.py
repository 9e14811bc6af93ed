"""Layer-list text: parse PyTorch-style specs safely with `ast` (never eval) and print them back.

Two spellings are read:
- checkerlab's short form, channels left out: ``ConvTranspose2d(3, stride=2, padding=1) * 3, ReLU()``,
  with aliases (ConvT, Deconv, Conv, Up, PS, ...);
- PyTorch's own, with the ``nn.`` prefix and its positional order: ``nn.ConvTranspose2d(64, 32, 4, 2, 1)``
  (in_channels is dropped: the simulation takes channels from the previous layer), optionally wrapped
  in ``nn.Sequential(...)``.
"""

from __future__ import annotations

import ast
from typing import Any

from .errors import LayerError, SpecError
from .layers import LAYER_TYPES, Layer, make_layer

ALIASES = {
    "convtranspose2d": "ConvTranspose2d", "convtranspose": "ConvTranspose2d", "convt": "ConvTranspose2d",
    "deconv": "ConvTranspose2d", "deconv2d": "ConvTranspose2d", "tconv": "ConvTranspose2d",
    "conv2d": "Conv2d", "conv": "Conv2d",
    "upsample": "Upsample", "up": "Upsample", "upsamplingnearest2d": "Upsample",
    "pixelshuffle": "PixelShuffle", "ps": "PixelShuffle", "subpixel": "PixelShuffle",
    "relu": "ReLU", "leakyrelu": "LeakyReLU", "lrelu": "LeakyReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
}

# Positional order of checkerlab's short form and of torch.nn (None: a torch argument we drop).
SHORT_ORDER = {
    "ConvTranspose2d": ("kernel_size", "stride", "padding", "output_padding", "dilation"),
    "Conv2d": ("kernel_size", "stride", "padding", "dilation"),
    "Upsample": ("scale_factor", "mode", "align_corners"),
    "PixelShuffle": ("upscale_factor",),
    "LeakyReLU": ("negative_slope",),
}
TORCH_ORDER = {
    "ConvTranspose2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
                        "groups", "bias", "dilation", "padding_mode"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
               "padding_mode"),
    "Upsample": ("size", "scale_factor", "mode", "align_corners"),
    "PixelShuffle": ("upscale_factor",),
    "LeakyReLU": ("negative_slope", "inplace"),
    "ReLU": ("inplace",),
}


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
    except (ValueError, SyntaxError, TypeError):
        raise SpecError(f"{ast.unparse(node)!r} is not a literal value (numbers, strings, tuples, "
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


def _layer(node: ast.Call, index: int, symbols: bool = False) -> Layer:
    raw, torch_style = _torch_prefixed(node.func)
    if (raw or "").lower() == "upsamplingbilinear2d":
        raise SpecError(f"layer {index}: UpsamplingBilinear2d uses align_corners=True, whose weights depend on "
                        "the input size; use Upsample(scale_factor=2, mode='bilinear')", node.col_offset + 1)
    name = ALIASES.get((raw or "").lower())
    if name is None:
        shown = ast.unparse(node.func)
        raise SpecError(f"layer {index}: unknown layer {shown!r}; allowed: {', '.join(LAYER_TYPES)}",
                        node.col_offset + 1)
    order = (TORCH_ORDER if torch_style else SHORT_ORDER).get(name, ())
    if len(node.args) > len(order):
        raise SpecError(f"layer {index} ({name}): takes at most {len(order)} positional arguments "
                        f"({', '.join(order) or 'none'}), got {len(node.args)}", node.col_offset + 1)
    params = {key: _value(arg, key, symbols) for key, arg in zip(order, node.args, strict=False)}
    for kw in node.keywords:
        if kw.arg is None:
            raise SpecError(f"layer {index} ({name}): **kwargs are not supported", node.col_offset + 1)
        if kw.arg in params:
            raise SpecError(f"layer {index} ({name}): {kw.arg} given twice", kw.value.col_offset + 1)
        params[kw.arg] = _value(kw.value, kw.arg, symbols)
    params.pop("in_channels", None)
    params.pop("inplace", None)
    mode = params.pop("padding_mode", "zeros")
    try:
        if mode != "zeros":
            raise LayerError(name, "padding_mode", f"padding_mode={mode!r} is not supported: only 'zeros'")
        if params.pop("size", None) is not None:
            raise LayerError(name, "size", "size= is not supported: give an integer scale_factor")
        return make_layer(name, **params)
    except LayerError as exc:
        raise exc.at(index) from None


def _flatten(node: ast.expr, out: list[ast.expr]) -> None:
    """Collect layer calls from lists, tuples, nn.Sequential(...) and `layer * n` repeats."""
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            _flatten(item, out)
    elif isinstance(node, ast.Call) and _torch_prefixed(node.func)[0] == "Sequential":
        for item in node.args:
            _flatten(item, out)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        count, item = (node.right, node.left) if isinstance(node.right, ast.Constant) else (node.left, node.right)
        n = count.value if isinstance(count, ast.Constant) else None
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 1000:
            raise SpecError("a repeat `layer * n` needs an integer n in 0..1000", node.col_offset + 1)
        inner: list[ast.expr] = []
        _flatten(item, inner)
        out.extend(inner * n)
    elif isinstance(node, ast.Call):
        out.append(node)
    else:
        raise SpecError(f"expected a layer such as ConvTranspose2d(3, stride=2), got {ast.unparse(node)!r}",
                        node.col_offset + 1)


def parse_layers(text: str, symbols: bool = False) -> list[Layer]:
    """Parse a comma-separated layer list; errors name the layer index, the parameter and the range.

    `symbols=True` reads bare names as SymPy integer symbols, e.g. "ConvTranspose2d(k, stride=s)" for
    `closed_form`; otherwise only literals are accepted."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("empty layer list: write e.g. 'ConvTranspose2d(3, stride=2) * 2, Conv2d(3, padding=1)'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"syntax error: {exc.msg}", exc.offset) from None
    calls: list[ast.expr] = []
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
