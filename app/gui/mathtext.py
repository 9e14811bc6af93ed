"""Typeset formulas without a TeX installation: SymPy's LaTeX, as checkerlab prints it, rendered by
matplotlib's mathtext (Agg) into PNG images, one per displayed line. Qt-free: runs in the background process.

mathtext reads a subset of LaTeX, so the few constructs it lacks are rewritten first: ``\\bmod`` and
``\\iff`` become ``\\mathrm{mod}`` and ``\\Leftrightarrow``, ``\\operatorname*`` loses its star, and a
``cases`` environment becomes ``{ a if c; b otherwise`` inline, or one line per case when it is a whole
right-hand side. The LaTeX source itself is never changed: "copy as LaTeX" copies the original.
"""

from __future__ import annotations

import io
import re

_SIMPLE = (
    (r"\bmod", r"\,\mathrm{mod}\,"),
    (r"\iff", r"\Leftrightarrow"),
    (r"\operatorname*", r"\operatorname"),
    (r"\not\mid", r"\nmid"),
    (r"\text{for}\:", r"\text{if }"),
    (r"\dots", r"\ldots"),
)
_BEGIN, _END = r"\begin{cases}", r"\end{cases}"


def _split_top(text: str, separator: str) -> list[str]:
    """Split at `separator` where it is not inside braces or a nested cases environment."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith(_BEGIN, i):
            depth, i = depth + 1, i + len(_BEGIN)
            continue
        if text.startswith(_END, i):
            depth, i = depth - 1, i + len(_END)
            continue
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i = start = i + len(separator)
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _matching_end(text: str, start: int) -> int:
    """Index of the \\end{cases} that closes the \\begin{cases} at `start`."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith(_BEGIN, i):
            depth, i = depth + 1, i + len(_BEGIN)
        elif text.startswith(_END, i):
            depth -= 1
            if depth == 0:
                return i
            i += len(_END)
        else:
            i += 1
    raise ValueError("unbalanced cases environment")


def cases(body: str) -> list[tuple[str, str]]:
    """[(value, condition)] of the inside of a cases environment."""
    out = []
    for entry in _split_top(body, r"\\"):
        if entry.strip():
            parts = _split_top(entry, "&")
            out.append((parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""))
    return out


def inline(tex: str) -> str:
    """`tex` rewritten into what mathtext reads, every cases environment inline."""
    while (start := tex.find(_BEGIN)) >= 0:
        end = _matching_end(tex, start)
        items = cases(tex[start + len(_BEGIN): end])
        body = r";\ ".join(f"{v}\\ {c}" for v, c in items)
        tex = tex[:start] + r"\left\{" + body + r"\right." + tex[end + len(_END):]
    for old, new in _SIMPLE:
        tex = tex.replace(old, new)
    return re.sub(r"\s+", " ", tex).strip()


def lines(lhs: str, rhs: str) -> list[str]:
    """The displayed lines of `lhs = rhs` (or `lhs rhs` when rhs starts with a relation): one per case when
    rhs is a single cases environment, else one."""
    relation = re.match(r"\s*(\\iff|\\mid|\\not|\\equiv|\\[lg]eq?(?![A-Za-z])|[=<>:])", rhs)
    joint = " " if relation else " = "
    stripped = rhs.strip()
    if stripped.startswith(_BEGIN) and _matching_end(stripped, 0) == len(stripped) - len(_END):
        items = cases(stripped[len(_BEGIN): -len(_END)])
        head = inline(lhs) + joint
        return [(head if k == 0 else r"\qquad ") + f"{inline(v)}\\quad {inline(c)}" for k, (v, c) in enumerate(items)]
    return [inline(lhs) + joint + inline(rhs)]


def render(line: str, dpi: float = 100.0, fontsize: float = 11.0) -> bytes:
    """PNG of one line of mathtext. ValueError when mathtext cannot read it."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buffer = io.BytesIO()
    mathtext.math_to_image(f"${line}$", buffer, prop=FontProperties(size=fontsize), dpi=dpi, format="png")
    return buffer.getvalue()


def render_rows(rows: list[tuple[str, str]], dpi: float = 100.0) -> list[tuple[str, bytes | None]]:
    """[(mathtext line, PNG or None when mathtext cannot typeset it)] for LaTeX rows (lhs, rhs)."""
    out = []
    for lhs, rhs in rows:
        for line in lines(lhs, rhs):
            try:
                out.append((line, render(line, dpi)))
            except ValueError:
                out.append((line, None))
    return out
