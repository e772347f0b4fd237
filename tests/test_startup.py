"""How numba starts in sleepsignal's processes (``sleepsignal._numba``).

``sleepsignal analyze`` as a process must not import ``scipy.linalg`` (numba's import-time
BLAS probe did, 0.15-0.35 s of every run), the lean start of the command line must not
change a byte of its output, and a kernel that does call BLAS must still compile and be
right after the probe was swapped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sleepsignal import _numba
from sleepsignal.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "fixtures" / "demo_session" / "session.json"
HEAVY = ("scipy.linalg", "numpy.f2py", "cffi", "scipy.signal", "scipy.ndimage")


def _python(code: str) -> str:
    """Run ``code`` in a new interpreter from the repository root; its last stdout line."""
    # numba's lean start is what is tested here, not the kernels compiled ahead of time
    # (tests/test_aot.py), which a command-line process would use when built
    env = {**os.environ, "SLEEPSIGNAL_NO_AOT": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, env=env
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


def _cli_process(out: Path) -> dict:
    """``sleepsignal analyze DEMO --out OUT`` as the command line runs it: ``main()``
    reading ``sys.argv`` in a new process; returns the exit code and heavy modules."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['sleepsignal', 'analyze', {str(DEMO)!r}, '--out', {str(out)!r}]\n"
        "from sleepsignal.cli import main\n"
        "rc = main()\n"
        f"print(json.dumps({{'rc': rc, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    return json.loads(_python(code))


def test_analyze_process_imports_no_scipy_linalg(tmp_path: Path) -> None:
    got = _cli_process(tmp_path)
    assert got == {"rc": 0, "heavy": []}
    assert (tmp_path / "sleep.json").is_file()


def test_lean_start_changes_no_output(tmp_path: Path, capsys) -> None:
    """The command line's lean numba and an in-process ``main(argv)`` (numba as the
    caller has it) write the same bytes."""
    assert _cli_process(tmp_path / "lean")["rc"] == 0
    assert main(["analyze", str(DEMO), "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    lean = sorted(p.name for p in (tmp_path / "lean").iterdir())
    plain = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert lean == plain and "session.json" in lean
    for name in lean:
        assert (tmp_path / "lean" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_library_use_leaves_numba_as_it_starts_itself() -> None:
    """Without the command line's lean start (a notebook, a service), sleepsignal patches
    nothing in numba: numba's own BLAS probe runs (importing ``scipy.linalg``), so a
    user's kernels see exactly what they would see without sleepsignal."""
    code = (
        "import sys, numpy as np\n"
        "from sleepsignal.heartbeats import detect_heartbeats\n"
        "rng = np.random.default_rng(0)\n"
        "detect_heartbeats(rng.normal(size=140 * 60).astype(np.float32), 140.0)\n"
        "import numba.np.arraymath as m, numba.np.linalg as la\n"
        "print('scipy.linalg' in sys.modules, m.ensure_blas is la.ensure_blas)"
    )
    assert _python(code) == "True True"


def test_blas_flag_is_what_numba_decides_itself() -> None:
    """The swapped probe gives ``_HAVE_BLAS`` the value numba's own probe gives, and
    numba's ``ensure_blas`` is back in place afterwards."""
    plain = _python("import numba.np.arraymath as m; print(m._HAVE_BLAS)")
    swapped = _python(
        "import sys\n"
        "from sleepsignal._numba import _import_arraymath_without_scipy_linalg as f\n"
        "took = f()\n"
        "import numba.np.arraymath as m, numba.np.linalg as la\n"
        "print(took, m._HAVE_BLAS, m.ensure_blas is la.ensure_blas, 'scipy.linalg' in sys.modules)"
    )
    assert swapped == f"True {plain} True False"


def test_blas_kernels_still_compile_and_agree_with_numpy() -> None:
    """``np.dot`` (numba's BLAS binding) and ``np.correlate`` (chosen by ``_HAVE_BLAS``)
    in a kernel compiled after the lean start: numba's own check imports scipy's BLAS
    then, and the results equal numpy's."""
    code = (
        "import sys, numpy as np\n"
        "from sleepsignal._numba import lean_process, njit\n"
        "steps = lean_process()\n"
        "before = 'scipy.linalg' in sys.modules\n"
        "dot = njit(cache=False)(lambda a, b: np.dot(a, b))\n"
        "corr = njit(cache=False)(lambda a, b: np.correlate(a, b))\n"
        "a = np.linspace(-1.0, 2.0, 7); b = np.array([0.5, -1.0, 2.0])\n"
        "m = np.arange(6.0).reshape(2, 3)\n"
        "ok = (dot(a, a) == np.dot(a, a), np.allclose(dot(m, m.T), m @ m.T),\n"
        "      np.allclose(corr(a, b), np.correlate(a, b)))\n"
        "print(before, all(ok), 'scipy.linalg' in sys.modules, len(steps))"
    )
    assert _python(code) == "False True True 5"


def test_lean_process_restores_cffi_for_the_caller() -> None:
    """Only numba's CFFI support is left out: ``import cffi`` still works afterwards."""
    pytest.importorskip("cffi")
    code = (
        "import sys\n"
        "from sleepsignal._numba import lean_process\n"
        "steps = lean_process()\n"
        "import cffi\n"
        "print('no cffi' in steps, cffi.FFI is not None)"
    )
    assert _python(code) == "True True"


def test_swap_is_skipped_once_numba_has_set_up() -> None:
    """In this (test) process numba's array maths is already imported: nothing to do."""
    import numba.np.arraymath  # noqa: F401

    assert _numba._import_arraymath_without_scipy_linalg() is False
