"""The errors checkerlab raises for bad input: each names what is wrong and what is allowed.

Messages are one line. Whatever they echo of the user's input goes through `excerpt`, so that a 10 MB spec,
a 5,000-digit integer or a lone surrogate never turns into a 10 MB, unprintable or multi-line message.
"""

from __future__ import annotations

#: Longest echo of user input inside a message (characters of its repr).
EXCERPT = 40


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """A short, printable, one-line repr of `value`: the middle is cut out beyond `limit` characters.

    repr escapes newlines and lone surrogates; integers too long for `repr` (Python's 4,300-digit limit)
    are described by their size instead of being converted. O(len(repr)) at most."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4000:
        return f"<an integer of {value.bit_length():,} bits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. a nested structure too deep for repr
        return f"<a {type(value).__name__}>"
    text = text.encode("ascii", "backslashreplace").decode("ascii") if not text.isprintable() else text
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[-(limit - 1 - half):]}"


class CheckerlabError(ValueError):
    """Base class: bad input that the user can fix. The message is one line, ready to show."""


class LayerError(CheckerlabError):
    """A layer parameter is out of range: names the layer (index and type), the parameter and the range."""

    def __init__(self, layer_type: str, param: str | None, reason: str, index: int | None = None):
        self.layer_type, self.param, self.reason, self.index = layer_type, param, reason, index
        where = f"layer {index} ({layer_type})" if index is not None else layer_type
        super().__init__(f"{where}: {reason}")

    def at(self, index: int) -> LayerError:
        """The same error, located at position `index` of a stack."""
        return type(self)(self.layer_type, self.param, self.reason, index)


class SizeDependentError(LayerError):
    """A layer whose exact rule needs the input size (Upsample(size=...), align_corners=True, adaptive
    pooling): its pattern exists for a given input, as a network (`Network.from_stack(stack, input_shape)`)."""


class SpecError(CheckerlabError):
    """A layer-list text could not be parsed; `column` is 1-based when known."""

    def __init__(self, message: str, column: int | None = None):
        self.column = column
        super().__init__(f"{message} (at column {column})" if column else message)


class ConfigError(CheckerlabError):
    """A config file is malformed or invalid; `line` and `column` are 1-based when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None):
        self.path, self.line, self.column = path, line, column
        where = excerpt(str(path), 60)[1:-1] if path else "config"
        if line is not None:
            where += f":{line}:{column}"
        super().__init__(f"{where}: {message}")


class BudgetError(CheckerlabError):
    """An exact computation would exceed its work or memory budget; the message says what to reduce.

    Raised before anything is allocated (see `analytics.budget`)."""
