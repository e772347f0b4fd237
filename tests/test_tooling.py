"""ruff and mypy are part of the suite: the tree stays lint-clean, formatted and typed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any

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
    helper, a constant numba freezes into the machine code, or a constant of its own file
    computed from one) keeps stale code after that file is edited (README, "When it is
    rebuilt"). Keep such names in the kernel's file. Kernels are functions decorated
    with ``njit`` or passed to it, and the implementations inside ``@overload``s."""
    import ast

    problems = []
    for path in sorted((ROOT / "sleepsignal").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        problems += [
            f"{module}: {p}" for p in _foreign_names_in_kernels(ast.parse(path.read_text()), module)
        ]
    assert not problems, problems


def _foreign_names_in_kernels(tree: Any, module: str) -> list[str]:
    """``kernel uses name (from source)`` for every kernel of ``tree`` whose body uses a
    name imported from another module of the package, directly or through a module-level
    assignment of its own file."""
    import ast

    def named(node: ast.expr, name: str) -> bool:
        target = node.func if isinstance(node, ast.Call) else node
        return getattr(target, "id", getattr(target, "attr", None)) == name

    foreign: dict[str, str] = {}  # local name -> where it comes from
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                base = module.rsplit(".", node.level)[0]
                source = f"{base}.{node.module}" if node.module else base
            elif (node.module or "").split(".")[0] == "sleepsignal":
                source = node.module or ""
            else:
                continue
            for alias in node.names:
                if alias.name != "njit":  # the decorator itself is not frozen into code
                    foreign[alias.asname or alias.name] = f"{source}.{alias.name}"
    for stmt in tree.body:  # module constants computed from foreign names, in order
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            used = [n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)]
            via = [foreign[u] for u in used if u in foreign]
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                if via and isinstance(t, ast.Name):
                    foreign[t.id] = f"{via[0]} (through {t.id})"

    passed_to_njit = {
        a.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (named(node, "njit") or (isinstance(node.func, ast.Call) and named(node.func, "njit")))
        for a in node.args
        if isinstance(a, ast.Name)
    }
    kernels = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        if any(named(d, "njit") for d in node.decorator_list) or node.name in passed_to_njit:
            kernels.append(node)
        if any(named(d, "overload") for d in node.decorator_list):
            kernels += [
                f for f in ast.walk(node) if isinstance(f, ast.FunctionDef) and f is not node
            ]
    found = []
    for k in kernels:
        body = {n.id for stmt in k.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        found += [f"{k.name} uses {name} ({foreign[name]})" for name in sorted(body & set(foreign))]
    return found


def test_foreign_names_in_kernels_are_found() -> None:
    """The check above on planted code: each way a kernel can read another file's name."""
    import ast

    planted = """
from sleepsignal._track_kernels import LOWRATE_HZ
from ._filters import ORDER, helper
from ._numba import njit, overload
from . import mains
DERIVED = LOWRATE_HZ * 2
LOCAL = 3.0

@njit
def direct(x):
    return x * ORDER

@njit(cache=True)
def called(x):
    return helper(x)

def by_call(x):
    return x + LOWRATE_HZ
by_call_k = njit(by_call)

@njit
def derived(x):
    return x + DERIVED

@njit
def attribute(x):
    return x + mains.FFT_EVERY

def helper2(x):
    return x

@overload(helper2)
def helper2_numba(x):
    def impl(x):
        return x + ORDER
    return impl

@njit
def clean(x):
    return x + LOCAL
"""
    found = _foreign_names_in_kernels(ast.parse(planted), "sleepsignal.planted")
    kernels = sorted({f.split(" uses ")[0] for f in found})
    assert kernels == ["attribute", "by_call", "called", "derived", "direct", "impl"]
