"""The errors checkerlab raises for bad input: each names what is wrong and what is allowed."""

from __future__ import annotations


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
        return LayerError(self.layer_type, self.param, self.reason, index)


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
        where = str(path) if path else "config"
        if line is not None:
            where += f":{line}:{column}"
        super().__init__(f"{where}: {message}")
