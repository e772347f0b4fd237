"""ruff and mypy are part of the suite: the tree stays lint-clean, formatted and typed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [("check", "."), ("format", "--check", ".")])
def test_ruff(args: tuple[str, ...]) -> None:
    ruff = shutil.which("ruff")
    assert ruff is not None, "ruff is part of the test extra: pip install '.[test]'"
    out = _run(ruff, *args)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = _run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_kernel_calls_a_jitted_function_of_another_file() -> None:
    """numba's cache keys a kernel by its own file only: a kernel whose body uses a name
    imported from another file of the package (a jitted function, an ``@overload``-ed
    helper, a constant numba freezes into the machine code) keeps stale code after that
    file is edited (README, "When it is rebuilt"). Keep such names in the kernel's file."""
    import ast
    import importlib

    from numba.core.dispatcher import Dispatcher

    package = ROOT / "sleepsignal"
    overloaded: dict[str, set[str]] = {}  # module -> names it gives an @overload
    trees = {}
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        trees[module] = tree
        overloaded[module] = {
            dec.args[0].id
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for dec in node.decorator_list
            if isinstance(dec, ast.Call)
            and getattr(dec.func, "id", None) == "overload"
            and dec.args
            and isinstance(dec.args[0], ast.Name)
        }

    def is_njit(dec: ast.expr) -> bool:
        target = dec.func if isinstance(dec, ast.Call) else dec
        return getattr(target, "id", getattr(target, "attr", None)) == "njit"

    problems = []
    for module, tree in trees.items():
        imported = {}  # local name -> (source module, name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                base = module.rsplit(".", node.level)[0]
                source = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    imported[alias.asname or alias.name] = (source, alias.name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.FunctionDef) and any(map(is_njit, node.decorator_list))):
                continue
            body = {n.id for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
            for name in sorted(body & set(imported)):
                source, orig = imported[name]
                obj = getattr(importlib.import_module(source), orig, None)
                kind = (
                    "calls"
                    if isinstance(obj, Dispatcher) or orig in overloaded.get(source, ())
                    else "reads"
                )
                problems.append(f"{module}.{node.name} {kind} {source}.{orig}")
    assert not problems, problems
