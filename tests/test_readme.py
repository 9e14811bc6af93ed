"""The README stays true: its Python block runs and the commands it names exist."""

import re
import shlex
from pathlib import Path

from checkerlab.app.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_python_block_runs():
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["p"].period == (8, 8)
    assert namespace["sim"].output.shape[1:] == (256, 256)


def test_cli_lines_parse():
    parser = build_parser()
    lines = re.search(r"## CLI\n\n```sh\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(lines) >= 4
    for line in lines:
        command = line.split("#")[0].strip()
        assert command.startswith("checkerlab ")
        args = shlex.split(command)[1:]
        parser.parse_args(args)  # exits (fails the test) on an unknown command or option


def test_two_setup_commands_and_screenshot_are_named():
    assert "make run" in README and "make test" in README
    assert "docs/screenshot.png" in README and (Path(__file__).resolve().parents[1] / "docs/screenshot.png").exists()
