"""The README stays true: its Python blocks run and print what it shows, and the commands it names exist."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from checkerlab.app.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, re.S)


def _run(block: str) -> tuple[dict, str]:
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace, out.getvalue()


def test_own_model_block_prints_what_the_readme_shows():
    """"Analyse your own model": from_torch, the exact verdict, the per-layer report, and the forward pass."""
    torch = pytest.importorskip("torch", reason="optional: the model-import example needs the torch extra")
    block = PYTHON[0]
    assert "from_torch" in block and README.index("## Analyse your own model") < README.index(block)
    namespace, printed = _run(block)
    shown = re.match(r"```\n\n```\n(.*?)```", README[README.index(block) + len(block):], re.S).group(1)
    assert printed == shown
    with torch.no_grad():
        expected = namespace["model"](namespace["x"]).numpy()
    np.testing.assert_allclose(namespace["y"], expected, rtol=1e-4, atol=1e-5)


def test_python_api_block_runs():
    namespace, _ = _run(PYTHON[1])
    assert namespace["p"].period == (8, 8)
    assert namespace["sim"].output.shape[1:] == (256, 256)


def test_cli_lines_parse():
    parser = build_parser()
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [line for block in blocks for line in block.strip().splitlines()
             if line.startswith("checkerlab ") and line != "checkerlab --version"]
    assert len(lines) >= 8
    for line in lines:
        command = line.split("#")[0].strip()
        parser.parse_args(shlex.split(command)[1:])  # exits (fails the test) on an unknown command or option


def test_two_setup_commands_and_screenshot_are_named():
    assert "make run" in README and "make test" in README
    assert "docs/screenshot.png" in README and (Path(__file__).resolve().parents[1] / "docs/screenshot.png").exists()
    for figure in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (Path(__file__).resolve().parents[1] / figure).exists(), figure
