"""Layers from pasted PyTorch code: `nn.Sequential(...)` (also inside an assignment or a class body), a list
of layer calls, or checkerlab's short spec. The text is read with `ast` only, never executed; the layers
themselves are parsed by analytics' spec parser, which knows torch's positional orders.
"""

from __future__ import annotations

import ast
import textwrap

from ...analytics import CheckerlabError, Stack


def _call_name(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _layer_list(tree: ast.AST) -> tuple[ast.expr, list[ast.expr], bool] | None:
    """(the expression to parse, its layer calls in order, whether it is a whole nn.Sequential)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) == "Sequential":
            return node, list(node.args), True
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts and all(isinstance(e, ast.Call) for e in node.elts):
            return node, list(node.elts), False
    body = getattr(tree, "body", [])
    if len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Call):
        return body[0].value, [body[0].value], False
    return None


def _torch_in_channels(calls: list[ast.expr]) -> int | None:
    """in_channels of the first torch-style conv (nn.Conv2d(64, ...)), if the layers before it keep the channel
    count (parse_layers drops it: a stack takes its channels from its input)."""
    for call in calls:
        name = _call_name(call)
        if name == "PixelShuffle":
            return None
        if name in ("ConvTranspose2d", "Conv2d") and isinstance(call.func, ast.Attribute):
            keywords = {k.arg: k.value for k in call.keywords}
            given = call.args[0] if call.args else keywords.get("in_channels")
            value = given.value if isinstance(given, ast.Constant) else None
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None
    return None


def layers_from_code(text: str) -> tuple[Stack, int | None, bool]:
    """The layers of pasted PyTorch code: `nn.Sequential(...)` (also inside an assignment or a class body),
    a list of layer calls, or checkerlab's short spec. Returns (stack, in_channels of torch's first conv or
    None, whether the text is a whole nn.Sequential). Never executes the text (`ast` only).

    CheckerlabError (one line) when no layers can be read."""
    code = textwrap.dedent(str(text)).strip()
    try:
        found = _layer_list(ast.parse(code))
    except SyntaxError:
        found = None
    if found is None:
        try:
            return Stack(code), None, False
        except CheckerlabError:
            raise CheckerlabError("no layers found in the pasted text: paste nn.Sequential(...), a list of "
                                  "layers or a spec such as ConvTranspose2d(3, stride=2) * 2") from None
    node, calls, whole = found
    return Stack(ast.unparse(node)), _torch_in_channels(calls), whole
