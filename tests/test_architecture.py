"""The architecture holds: arrows go down only and there are no cycles, lazy imports included.

Every module of the installed package (the packages listed in pyproject.toml) is parsed with `ast`; every
import statement anywhere in it (module level, inside functions, under TYPE_CHECKING) is an arrow, and so
are the names that a package face loads lazily through its `_LAZY` table. Layers, top to bottom: the root
`checkerlab/__init__.py`; `app`; the `analytics` package face; `analytics.presentation`; the analytics domain;
`kernels`. Other rules: imports inside the package are relative, kernels imports neither SymPy nor Qt,
analytics never imports Qt, and the optional extras (torch, onnx, matplotlib, dask) are imported only inside
the functions that need them.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "checkerlab"
OPTIONAL = ("torch", "onnx", "onnxscript", "matplotlib", "dask", "distributed")
QT = ("PySide6", "pyqtgraph", "shiboken6")


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """{package name: its folder}, from pyproject.toml's package-dir and packages."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    base = root / config["package-dir"][PACKAGE]
    return {name: base.joinpath(*name.split(".")[1:]) for name in config["packages"]}


def modules(dirs: dict[str, Path]) -> dict[str, Path]:
    """{module name: file} for every .py file of the packages ('checkerlab.analytics' is its __init__)."""
    out = {}
    for package, folder in dirs.items():
        for path in sorted(folder.glob("*.py")):
            out[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return out


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of `from <level dots><name> import ...` written in `module`."""
    if level == 0:
        return name or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports(module: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in the file, resolved to module names:
    `from X import y` is an arrow to X.y when that is a module, else to X."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.stem == "__init__"
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.append((target if target in known else base, node.lineno, id(node) in top))
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_LAZY" for t in node.targets):
            for value in node.value.values:  # the package face's lazily loaded modules
                out.append((f"{module}.{value.value}", node.lineno, False))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                "import_module", "__import__") and not (is_package and module_uses_lazy(tree)):
            raise AssertionError(f"{path}:{node.lineno}: a dynamic import outside a package face's _LAZY table "
                                 "hides an arrow from this test")
    return out


def module_uses_lazy(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "_LAZY" for t in n.targets)
               for n in tree.body)


def rank(module: str) -> int:
    """The layer of a module of the package: higher layers may import lower ones only."""
    if module == PACKAGE:
        return 6
    layers = ((f"{PACKAGE}.app", 5), (f"{PACKAGE}.analytics.presentation", 3), (f"{PACKAGE}.analytics", 2),
              (f"{PACKAGE}.kernels", 1))
    if module == f"{PACKAGE}.analytics":
        return 4  # the package face re-exports the presentation functions
    for prefix, value in layers:
        if module == prefix or module.startswith(prefix + "."):
            return value
    raise AssertionError(f"{module} belongs to no layer")


def graph(root: Path = ROOT) -> tuple[dict[str, list[tuple[str, int, bool]]], dict[str, Path]]:
    files = modules(package_dirs(root))
    known = set(files)
    return {m: imports(m, p, known) for m, p in files.items()}, files


def violations(arrows: dict[str, list[tuple[str, int, bool]]], files: dict[str, Path]) -> list[str]:
    """Every upward arrow and every cycle of the package's import graph, one line each."""
    out = []
    inside = {m: sorted({t for t, _, _ in targets if t in arrows and t != m}) for m, targets in arrows.items()}
    for m, targets in arrows.items():
        for target, line, _ in targets:
            if target in arrows and target != m and rank(target) > rank(m):
                out.append(f"{files[m].relative_to(files[PACKAGE].parent)}:{line}: {m} -> {target} runs up")
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:  # depth-first search; a grey node met again closes a cycle
        state[m] = 1
        stack.append(m)
        for t in inside[m]:
            if state.get(t) == 1:
                out.append("cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(inside):
        if m not in state:
            visit(m)
    return out


# ---------------------------------------------------------------- the package


def test_no_cycles_and_no_upward_arrows():
    arrows, files = graph()
    assert len(files) > 30 and f"{PACKAGE}.analytics.presentation.latex" in files
    assert violations(arrows, files) == []


def test_every_package_folder_is_installed():
    """A folder with an __init__.py below the package that pyproject.toml does not list would be missing from
    the wheel (and from this test's graph)."""
    dirs = package_dirs()
    listed = {folder.resolve() for folder in dirs.values()}
    for folder in dirs.values():
        for init in folder.glob("*/__init__.py"):
            assert init.parent.resolve() in listed, f"{init.parent} is not in pyproject.toml's packages"


def test_third_party_rules():
    arrows, files = graph()
    for path in files.values():  # inside the package every import of the package is relative
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not any(n == PACKAGE or n.startswith(PACKAGE + ".") for n in names), f"{path}:{node.lineno}"
    for m, targets in arrows.items():
        for target, line, at_top in targets:
            where = f"{files[m].name}:{line}: {m} imports {target}"
            top = target.split(".")[0]
            if m.startswith(f"{PACKAGE}.kernels"):
                assert top not in ("sympy", *QT) and not target.startswith(f"{PACKAGE}.analytics"), where
            if m.startswith(f"{PACKAGE}.analytics") or m.startswith(f"{PACKAGE}.kernels") or m == PACKAGE:
                assert top not in QT, where
            if top in OPTIONAL:
                assert not at_top, where + " at module level: optional extras are imported where their job runs"


# ---------------------------------------------------------------- the checker itself


def test_the_checker_finds_cycles_and_upward_arrows(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackage-dir = {"checkerlab" = "."}\n'
        'packages = ["checkerlab", "checkerlab.analytics", "checkerlab.kernels"]\n')
    (tmp_path / "__init__.py").write_text("from . import analytics\n")
    (tmp_path / "analytics").mkdir()
    (tmp_path / "analytics" / "__init__.py").write_text('_LAZY = {"f": "b"}\n')
    (tmp_path / "analytics" / "a.py").write_text("from .b import f\n")
    (tmp_path / "analytics" / "b.py").write_text("def f():\n    from . import a\n    from .. import analytics\n")
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "__init__.py").write_text("from ..analytics.a import f\n")
    found = violations(*graph(tmp_path))
    assert any("checkerlab.kernels -> checkerlab.analytics.a runs up" in v for v in found)
    assert any("checkerlab.analytics.b -> checkerlab.analytics runs up" in v for v in found)
    assert any(v.startswith("cycle:") and "checkerlab.analytics.a" in v and "checkerlab.analytics.b" in v
               for v in found)
    (tmp_path / "kernels" / "__init__.py").write_text("import importlib\nimportlib.import_module('x')\n")
    with pytest.raises(AssertionError, match="dynamic import"):
        graph(tmp_path)
