"""Kernels compiled ahead of time (``sleepsignal._aot``, ``sleepsignal._numba``).

The command line uses them when the installation has them and they can be trusted; every
test here runs the package the tests import (the installed one in CI, where ``pip install
.`` built the extension; in a checkout, build it with ``python -m sleepsignal._aot_build
build``) in new processes, because the mode of a process is decided once, before its first
kernel module is imported. What is checked: the same bytes as JIT with no numba or
llvmlite imported; the guard (any argument that is not exactly an exported signature's
goes to JIT, correctly, no crash); stale sources, another CPU, Python, numpy or numba
mean JIT; the kernels through the compiled path equal their naive twins; the signature
list covers every kernel call of the command-line paths; an install whose build fails
installs the pure package.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sleepsignal
from sleepsignal import _aot_build, _numba

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(sleepsignal.__file__).resolve().parent  # the package under test
DEMO = ROOT / "data" / "fixtures" / "demo_session" / "session.json"
MODULES = ("numba", "llvmlite", "scipy.linalg")
BUILD_HINT = "build it in place with `python -m sleepsignal._aot_build build`"


def _python(code: str, cwd: Path, *, no_aot: bool = False, pkg_parent: Path = PKG.parent) -> Any:
    """Run ``code`` in a new interpreter that imports the package from ``pkg_parent``;
    returns its last stdout line, parsed as JSON."""
    env = dict(os.environ)
    env.pop(_numba.NO_AOT_ENV, None)
    if no_aot:
        env[_numba.NO_AOT_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(pkg_parent), str(ROOT / "tests")])
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _run_build(args: list[str], cwd: Path, pkg_parent: Path) -> subprocess.CompletedProcess:
    """Run ``python -c`` with ``args`` in a new interpreter that imports the package from
    ``pkg_parent`` with its own numba cache under ``cwd``; asserts it succeeded."""
    env = dict(os.environ, PYTHONPATH=str(pkg_parent), NUMBA_CACHE_DIR=str(cwd / "cache"))
    run = subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


STATUS = (
    "import json\n"
    "from sleepsignal import _numba\n"
    "_numba.prefer_aot()\n"
    "print(json.dumps(_numba.aot_status()))\n"
)


@pytest.fixture(scope="module")
def aot(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fail when an installed package on Linux x86-64 has no trusted extension (CI:
    ``pip install .`` must have built it; ``SLEEPSIGNAL_NO_AOT_BUILD=1`` says that it
    was not meant to), else skip (a checkout without a build) unless it is in use."""
    status = _python(STATUS, tmp_path_factory.mktemp("status"))
    if status == "aot":
        return
    expected = _aot_build.extension_expected_missing(PKG, ROOT)
    if expected is None:
        pytest.fail(
            f"the installed package {PKG} does not use its ahead-of-time kernels: {status} "
            f"(set {_aot_build.NO_BUILD_ENV}=1 where that is expected)"
        )
    pytest.skip(f"no trusted ahead-of-time extension in {PKG} ({status}; {expected}); {BUILD_HINT}")


def test_an_install_inside_the_checkout_must_have_the_extension(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``.ci/run`` installs into ``.ci-venv`` inside the checkout: that package is an
    installed one, so a failed build is a test failure there, not 9 skips."""
    for env in (_aot_build.NO_BUILD_ENV, _numba.NO_AOT_ENV):
        monkeypatch.delenv(env, raising=False)
    checkout = tmp_path / "checkout"
    (checkout / "sleepsignal").mkdir(parents=True)
    venv_pkg = checkout / ".ci-venv" / "lib" / "python3.11" / "site-packages" / "sleepsignal"
    venv_pkg.mkdir(parents=True)
    linux_x86 = sys.platform.startswith("linux") and os.uname().machine == "x86_64"
    has_pycc = importlib.util.find_spec("numba.pycc") is not None
    required = _aot_build.extension_expected_missing(venv_pkg, checkout)
    if linux_x86 and has_pycc:
        assert required is None
    else:
        assert required is not None
    assert "checkout" in str(
        _aot_build.extension_expected_missing(checkout / "sleepsignal", checkout)
    )
    monkeypatch.setenv(_aot_build.NO_BUILD_ENV, "1")
    assert _aot_build.NO_BUILD_ENV in str(_aot_build.extension_expected_missing(venv_pkg, checkout))


CLI = (
    "import json, sys\n"
    "sys.argv = ['sleepsignal', *json.loads(sys.argv[1])]\n"
    "from sleepsignal.cli import main\n"
    "rc = main()\n"
    "from sleepsignal import _numba\n"
    "print(json.dumps({'rc': rc, 'status': _numba.aot_status(),\n"
    "    'fell_back': sorted(_numba.FELL_BACK),\n"
    f"    'imported': [m for m in {MODULES!r} if m in sys.modules]}}))\n"
)


def _cli(args: list[str], cwd: Path, no_aot: bool = False) -> dict[str, Any]:
    """The command line as a process (``main()`` reading ``sys.argv``)."""
    code = CLI.replace("json.loads(sys.argv[1])", repr(args))
    return _python(code, cwd, no_aot=no_aot)


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    differ = [str(f) for f in files_a if (a / f).read_bytes() != (b / f).read_bytes()]
    assert differ == [], f"files that differ between AOT and JIT: {differ}"


@pytest.fixture(scope="module")
def short_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 min simulated night with 50 Hz hum (the demo night has none)."""
    from sleepsignal.simulate import simulate_night, write_simulated

    out = write_simulated(
        simulate_night(2 / 3, seed=5, mains_hz=50.0), tmp_path_factory.mktemp("night")
    )
    return out / "session.json" if out.is_dir() else out


@pytest.mark.parametrize("which", ["demo", "short", "short --stream"])
def test_analyze_writes_the_jit_bytes_without_numba(
    aot: None, short_night: Path, tmp_path: Path, which: str
) -> None:
    session = DEMO if which == "demo" else short_night
    extra = ["--stream"] if which.endswith("--stream") else []
    got = _cli(["analyze", str(session), "--out", str(tmp_path / "aot"), *extra], tmp_path)
    assert got == {"rc": 0, "status": "aot", "fell_back": [], "imported": []}
    jit = _cli(["analyze", str(session), "--out", str(tmp_path / "jit"), *extra], tmp_path, True)
    assert jit["rc"] == 0 and jit["status"].startswith("jit") and "numba" in jit["imported"]
    _same_tree(tmp_path / "aot", tmp_path / "jit")


def test_batch_worker_uses_the_compiled_kernels(aot: None, tmp_path: Path) -> None:
    """A local batch worker's start (``_init_worker``) and task, as the pool runs them."""
    code = (
        "import json, sys\n"
        "from sleepsignal import batch, _numba\n"
        "batch._init_worker()\n"
        "ids = {'patient_id': None, 'device_id': None, 'device_identifier': None}\n"
        f"reason = batch.analyze_file({str(DEMO)!r}, 'out', 0, ids)\n"
        "print(json.dumps([reason, _numba.aot_status(), sorted(_numba.FELL_BACK),\n"
        f"    [m for m in {MODULES!r} if m in sys.modules]]))\n"
    )
    (tmp_path / "aot").mkdir()
    (tmp_path / "jit").mkdir()
    assert _python(code, tmp_path / "aot") == [None, "aot", [], []]
    assert _python(code, tmp_path / "jit", no_aot=True)[0] is None
    _same_tree(tmp_path / "aot" / "out", tmp_path / "jit" / "out")


#: Calls that must not reach the compiled code (each is not exactly an exported
#: signature), their results as JSON, plus the kernels that fell back and whether numba
#: was imported. ``_simplify_kernel`` with float32 calls the heap kernels: kernels that
#: call kernels compile under the fallback too.
GUARD = """
import json, sys
import numpy as np
from sleepsignal import _numba
_numba.prefer_aot()
from sleepsignal._track_kernels import _debounce_kernel, _runs_kernel, _simplify_kernel
from naive_tracks import naive_debounce, naive_runs, naive_simplify
rng = np.random.default_rng(7)
states = rng.integers(0, 3, 400).repeat(rng.integers(1, 6, 400))
flags = (rng.random(3000) < 0.4).astype(np.uint8)
ro = flags.copy(); ro.flags.writeable = False
x = np.cumsum(rng.normal(size=2000)); thr = np.full(2000, 1.5)
out = {"status": _numba.aot_status(), "numba_before": "numba" in sys.modules}
def check(name, got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    out[name] = all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
check("exported", _debounce_kernel(states, 3), naive_debounce(states, 3))
out["numba_after_exported"] = "numba" in sys.modules
check("wrong dtype", _debounce_kernel(states.astype(np.float64), 3),
      naive_debounce(states.astype(np.float64), 3))
check("strided", _runs_kernel(flags[::2], 2, 3), naive_runs(flags[::2], 2, 3))
check("read-only", _runs_kernel(ro, 2, 3), naive_runs(ro, 2, 3))
check("wrong scalar kind", _runs_kernel(flags, np.int32(2), 3), naive_runs(flags, 2, 3))
check("float where int", _debounce_kernel(states, 3.0), naive_debounce(states, 3))
check("keyword argument", _debounce_kernel(states, min_run=4), naive_debounce(states, 4))
check("kernels calling kernels", _simplify_kernel(x.astype(np.float32), thr),
      naive_simplify(x.astype(np.float32), thr))
try:
    _debounce_kernel(np.zeros((4, 5), np.int64), 3)
    out["2-D"] = "no error"
except Exception as exc:
    out["2-D"] = type(exc).__name__
out["fell_back"] = sorted(_numba.FELL_BACK)
out["numba_at_end"] = "numba" in sys.modules
print(json.dumps(out))
"""


def test_guard_sends_every_other_call_to_jit(aot: None, tmp_path: Path) -> None:
    got = _python(GUARD, tmp_path)
    jit = _python(GUARD, tmp_path, no_aot=True)  # the same calls in a plain JIT process
    assert jit["status"].startswith("jit") and jit["fell_back"] == []
    assert got.pop("status") == "aot"
    assert got.pop("numba_before") is False
    assert got.pop("numba_after_exported") is False  # the exported call needed no numba
    # a 2-D array: what numba's JIT does with it (its own error at run time), no crash
    assert got.pop("2-D") == jit["2-D"] == "ValueError"
    assert got.pop("fell_back") == [
        "_track_kernels._debounce_kernel",
        "_track_kernels._runs_kernel",
        "_track_kernels._simplify_kernel",
    ]
    assert got.pop("numba_at_end") is True
    assert got == dict.fromkeys(
        [
            "exported",
            "wrong dtype",
            "strided",
            "read-only",
            "wrong scalar kind",
            "float where int",
            "keyword argument",
            "kernels calling kernels",
        ],
        True,
    )


def test_argument_tokens_are_numbas_types() -> None:
    """The guard's view of an argument is exactly ``numba.typeof``'s (as a string)."""
    import numpy as np
    from numba import typeof

    a = np.arange(24.0).reshape(4, 6)
    ro = np.arange(5, dtype=np.uint16)
    ro.flags.writeable = False
    values = [
        a,
        a[:, 0],
        a.T,
        a[0],
        ro,
        np.zeros(3, np.bool_),
        np.zeros(3, np.float32),
        3,
        -(2**40),
        2.5,
        True,
        np.int32(3),
        np.float32(1.5),
        np.bool_(False),
        np.uint8(3),
        np.float64(1.0),
    ]
    for v in values:
        token = _numba._token(v)
        assert token is not None, v
        assert _aot_build.numba_type(token) == typeof(v), (v, token)
    for v in (None, "x", 2**70, np.zeros(3, ">f8"), np.zeros(3, complex), np.float64(1.0)[()]):
        assert _numba._token(v) is None or isinstance(v, np.floating), v


def _copy_package(tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(PKG, dest / "sleepsignal", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_stale_sources_cpu_and_runtime_mean_jit(aot: None, tmp_path: Path) -> None:
    copy = _copy_package(tmp_path)
    assert _python(STATUS, tmp_path, pkg_parent=copy) == "aot"
    manifest_path = copy / "sleepsignal" / _numba.MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())

    def status_with(**changes: Any) -> str:
        manifest_path.write_text(json.dumps({**manifest, **changes}))
        return _python(STATUS, tmp_path, pkg_parent=copy)

    assert "CPU" in status_with(cpu="0" * 64)
    runtime = manifest["runtime"]
    for key in ("numpy", "numba", "python"):
        why = status_with(runtime={**runtime, key: "0.0"})
        # both versions named: an isolated build's newest numba vs. a pinned one
        assert "numpy or numba" in why and f"{key} 0.0" in why
        assert f"{key} {runtime[key]}" in why.partition("running")[2], why
    assert "not the one the manifest" in status_with(build_id=manifest["build_id"] + 1)
    assert "format" in status_with(format=0)
    status_with()  # the manifest as built
    kernels = copy / "sleepsignal" / "_track_kernels.py"
    kernels.write_text(kernels.read_text() + "\n# an edit after the build\n")
    assert "sources changed" in _python(STATUS, tmp_path, pkg_parent=copy)


def test_unreadable_cpu_means_jit(aot: None, tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from sleepsignal import _numba\n"
        "_numba.cpu_fingerprint = lambda: None\n"
        "_numba.prefer_aot()\n"
        "print(json.dumps(_numba.aot_status()))\n"
    )
    assert "CPU" in _python(code, tmp_path)


def test_library_use_stays_plain_jit(aot: None, tmp_path: Path) -> None:
    """A program that imports sleepsignal (no ``prefer_aot``) gets numba dispatchers."""
    code = (
        "import json, sys\n"
        "from sleepsignal._track_kernels import _runs_kernel\n"
        "from sleepsignal import _numba\n"
        "from numba.core.dispatcher import Dispatcher\n"
        "print(json.dumps([isinstance(_runs_kernel, Dispatcher), _numba.aot_status()]))\n"
    )
    got = _python(code, tmp_path)
    assert got[0] is True and got[1].startswith("jit")


NAIVE = """
import json, sys
import numpy as np
from sleepsignal import _numba
_numba.prefer_aot()
from sleepsignal._rank_filter import _running_median_kernel
from sleepsignal._track_kernels import (
    _debounce_kernel, _runs_kernel, _scan_kernel, _seam_kernel, _simplify_kernel)
from naive_rank_filter import naive_running_median
from naive_tracks import naive_debounce, naive_runs, naive_scan, naive_seam, naive_simplify
rng = np.random.default_rng(3)
same = {}
def check(name, got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    same[name] = all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want, strict=True))
for trial in range(5):
    x = np.cumsum(rng.normal(size=3000))
    x[rng.random(3000) < 0.01] = np.nan
    thr = np.abs(rng.normal(1.0, 0.3, 3000))
    check(f"simplify {trial}", _simplify_kernel(x, thr), naive_simplify(x, thr))
    y = rng.normal(size=801)
    for size in (1, 5, 30):
        for nearest in (False, True):
            check(f"median {trial} {size} {nearest}",
                  _running_median_kernel(y, size, nearest, True),
                  naive_running_median(y, size, nearest, True))
    states = rng.integers(0, 4, 300).repeat(rng.integers(1, 5, 300))
    check(f"debounce {trial}", _debounce_kernel(states, 3), naive_debounce(states, 3))
    flags = (rng.random(2000) < 0.3).astype(np.uint8)
    check(f"runs {trial}", _runs_kernel(flags, 3, 2), naive_runs(flags, 3, 2))
    raw = rng.integers(0, 65535, 28 * 700).astype(np.uint16)
    check(f"scan {trial}", _scan_kernel(raw, 14, 28), naive_scan(raw, 14, 28))
    starts = np.sort(rng.uniform(0, 1000, 60)); lengths = rng.uniform(1, 40, 60)
    peaks = starts + lengths * rng.uniform(0, 1, 60)
    mins = rng.choice([0.8, 1.5], 60)
    check(f"seam {trial}", _seam_kernel(starts, lengths, peaks, mins, 0.5),
          naive_seam(starts, lengths, peaks, mins, 0.5))
print(json.dumps({"status": _numba.aot_status(), "fell_back": sorted(_numba.FELL_BACK),
                  "numba": "numba" in sys.modules, "differ": [k for k, v in same.items() if not v],
                  "n": len(same)}))
"""


def test_compiled_kernels_equal_their_naive_twins(aot: None, tmp_path: Path) -> None:
    got = _python(NAIVE, tmp_path)
    assert got == {"status": "aot", "fell_back": [], "numba": False, "differ": [], "n": 55}


def test_signature_list_covers_the_command_line(tmp_path: Path) -> None:
    """Every kernel call of analyze (whole and --stream), demo and the batch worker
    task on small sessions is in ``sleepsignal/_aot_signatures.txt``: a kernel whose
    arguments changed is named here, with the command that regenerates the list."""
    listed = _aot_build.read_signatures(ROOT / "sleepsignal" / "_aot_signatures.txt")
    gaps = _aot_build.missing(_aot_build.record(), listed)
    assert gaps == [], (
        "kernel calls of the command line that are not compiled ahead of time (run "
        "`python -m sleepsignal._aot_build record /tmp/n8/session.json`, see the README, "
        "development): " + "; ".join(gaps)
    )


def test_install_builds_the_pure_package_when_pycc_is_missing(tmp_path: Path) -> None:
    """``setup.py``'s build step with ``numba.pycc`` unimportable (a future numba): one
    line on stderr, exit 0, no extension."""
    setup_py = ROOT / "setup.py"
    if not setup_py.is_file():
        pytest.skip("setup.py is not beside the tests")
    pytest.importorskip("setuptools", reason="setup.py's build step needs setuptools")
    code = (
        "import runpy, sys\n"
        "sys.modules['numba.pycc'] = None\n"
        "from setuptools.dist import Distribution\n"
        f"BuildAot = runpy.run_path({str(setup_py)!r}, run_name='setup')['BuildAot']\n"
        "cmd = BuildAot(Distribution({'name': 'sleepsignal'}))\n"
        "cmd.initialize_options()\n"
        f"cmd.build_lib = {str(tmp_path / 'lib')!r}\n"
        "cmd.run()\n"
        "print(cmd.get_outputs())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("sleepsignal:")]
    assert len(lines) == 1 and "not compiled ahead of time" in lines[0], run.stderr
    assert "numba.pycc" in lines[0] and "pure package" in lines[0]
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert not list((tmp_path / "lib").rglob("_aot*"))


def test_unreadable_numba_version_is_a_mismatch() -> None:
    """``"?"`` (no or two numba dist-infos) on both sides is no match."""
    running = {"python": "cpython-311", "numpy": "2.0", "numba": "?", "machine": "x86_64"}
    why = _numba.runtime_mismatch(dict(running), running)
    assert "numba ?" in why
    code = (
        "import json\n"
        "from sleepsignal import _numba\n"
        "_numba._numba_version = lambda: '?'\n"
        "_numba.prefer_aot()\n"
        "print(json.dumps(_numba.aot_status()))\n"
    )
    status = _python(code, ROOT)
    assert status.startswith("jit"), status


def test_signature_list_names_kernels_with_that_many_arguments() -> None:
    """A stale line (a deleted kernel, a changed arity) is named here, and the checker
    sees one."""
    listed = _aot_build.read_signatures(ROOT / "sleepsignal" / "_aot_signatures.txt")
    assert _aot_build.signature_problems(listed) == []
    key, sigs = next(iter(listed.items()))
    stale = {
        "_track_kernels._deleted_kernel": [("int64",)],
        key: [(*sigs[0], "int64")],
    }
    problems = _aot_build.signature_problems(stale)
    assert len(problems) == 2, problems
    assert any("_deleted_kernel: no such kernel" in p for p in problems), problems
    assert any(p.startswith(key) and "the kernel takes" in p for p in problems), problems


def test_package_data_ships_the_signature_list() -> None:
    """The sdist (and a wheel built from it) carries ``_aot_signatures.txt``: without it
    an install from an sdist never builds the extension."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["sleepsignal"]
    assert any(fnmatch.fnmatch("_aot_signatures.txt", p) for p in patterns), patterns


BUILD_CACHE = """
import json, os
from pathlib import Path
from sleepsignal import _aot_build, _numba
from sleepsignal._track_kernels import _runs_kernel  # defined before the build's switch
cache = _aot_build.build_cache_dir(_numba.source_hash())
moved = _aot_build.use_cache_dir(cache)
from sleepsignal._filters import sosfilt  # noqa: F401
import sleepsignal._heartbeat_kernels as hk
from numba.core.dispatcher import Dispatcher
paths = [d._cache._cache_path for m in (hk, __import__("sleepsignal._track_kernels",
         fromlist=["x"])) for d in vars(m).values() if isinstance(d, Dispatcher)]
print(json.dumps({"cache": str(cache), "moved": moved, "paths": paths}))
"""


def test_build_uses_a_numba_cache_named_by_the_sources(tmp_path: Path) -> None:
    """numba's cache keys an entry by its own file only: a build must not load code
    compiled before an edit of another module (a constant, a callee)."""
    got = _python(BUILD_CACHE, tmp_path)
    assert _numba.source_hash()[:24] in got["cache"]
    assert got["moved"] > 0 and got["paths"]
    assert all(p.startswith(got["cache"]) for p in got["paths"]), got


def test_build_leaves_out_a_stale_signature(tmp_path: Path) -> None:
    """One stale line (a deleted kernel, another arity) costs that line, not the build."""
    pytest.importorskip("numba.pycc", reason="this numba has no numba.pycc")
    if not any(shutil.which(c) for c in (os.environ.get("CC", "cc"), "cc", "gcc")):
        pytest.skip("no C compiler")
    sigs = tmp_path / "sigs.txt"
    sigs.write_text(
        "_track_kernels._debounce_kernel(int64[::1], int64)\n"
        "_track_kernels._debounce_kernel(int64[::1], int64, int64)\n"
        "_track_kernels._deleted_kernel(int64)\n"
    )
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from sleepsignal import _aot_build\n"
        f"out, sigs = Path({str(tmp_path / 'out')!r}), Path({str(sigs)!r})\n"
        "files = _aot_build.build(out, signatures=sigs)\n"
        "print(json.dumps(json.loads(files[1].read_text())))\n"
    )
    run = _run_build([code], tmp_path, PKG.parent)
    manifest = json.loads(run.stdout.strip().splitlines()[-1])
    assert manifest["kernels"] == {
        "_track_kernels._debounce_kernel": [
            ["track_kernels__debounce_kernel__0", ["int64[::1]", "int64"]]
        ]
    }
    left_out = [x for x in run.stderr.splitlines() if "left out of the ahead-of-time build" in x]
    assert len(left_out) == 2, run.stderr
    assert list((tmp_path / "out").glob("_aot.*"))


PROBE_BUILD = """
import json, sys
from pathlib import Path
from sleepsignal import _aot_build
sigs = Path(sys.argv[1])
sigs.write_text("_track_kernels._aot_probe(float64)\\n")
files = _aot_build.build(Path(sys.argv[2]), signatures=sigs)
sys.path.insert(0, sys.argv[2])
import _aot
manifest = json.loads(files[1].read_text())
name = manifest["kernels"]["_track_kernels._aot_probe"][0][0]
print(json.dumps(getattr(_aot, name)(1.0)))
"""


@pytest.mark.slow
def test_rebuild_after_editing_another_modules_constant_is_fresh(tmp_path: Path) -> None:
    """numba's cache keys a kernel by its own file: a constant it reads from another
    module changed, numba's cache would give the old machine code. Two builds of a copy
    of the package, the constant edited in between, must export the new value."""
    pytest.importorskip("numba.pycc", reason="this numba has no numba.pycc")
    if not any(shutil.which(c) for c in (os.environ.get("CC", "cc"), "cc", "gcc")):
        pytest.skip("no C compiler")
    copy = _copy_package(tmp_path)
    const = copy / "sleepsignal" / "_aot_probe_const.py"
    const.write_text("SCALE = 2.0\n")
    kernels = copy / "sleepsignal" / "_track_kernels.py"
    kernels.write_text(
        kernels.read_text()
        + "\n\nfrom ._aot_probe_const import SCALE as _PROBE_SCALE  # noqa: E402\n\n\n"
        + "@njit\ndef _aot_probe(x):\n    return x * _PROBE_SCALE\n"
    )

    def build(n: int) -> float:
        run = _run_build(
            [PROBE_BUILD, str(tmp_path / "sigs.txt"), str(tmp_path / f"o{n}")], tmp_path, copy
        )
        return float(json.loads(run.stdout.strip().splitlines()[-1]))

    assert build(1) == 2.0
    const.write_text("SCALE = 3.0\n")
    assert build(2) == 3.0


def test_old_build_caches_are_pruned(tmp_path: Path) -> None:
    import time

    root = tmp_path / "sleepsignal-aot-build"
    day = _aot_build.PRUNE_AFTER_S
    now = time.time()
    ages = {"young1": 0.1, "young2": 0.2, "young3": 0.3, "young4": 0.4, "old1": 2, "old2": 3}
    for name, days in ages.items():
        (root / name / "sub").mkdir(parents=True)
        os.utime(root / name, (now - days * day, now - days * day))
    current = root / "current"
    removed = _aot_build.prune_build_caches(current, now=now)
    # kept: the current folder, the 3 most recently used others, and any under a day old
    assert sorted(d.name for d in root.iterdir()) == [
        "current",
        "young1",
        "young2",
        "young3",
        "young4",
    ]
    assert sorted(d.name for d in removed) == ["old1", "old2"]
    assert current.stat().st_mtime >= now - 1  # touched: it counts as just used
    # a later build of other sources keeps the current one among the most recent
    later = _aot_build.prune_build_caches(root / "next", now=now + 2 * day)
    assert sorted(d.name for d in later) == ["young3", "young4"]
    assert (root / "current").exists()


def test_prune_survives_a_folder_removed_while_it_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    root = tmp_path / "sleepsignal-aot-build"
    for age, name in enumerate(("gone", "a", "b", "c", "d")):
        (root / name).mkdir(parents=True)
        os.utime(root / name, (100.0 - age, 100.0 - age))
    real_stat, real_exists = Path.stat, Path.exists
    looked: list[str] = []

    def stat(self: Path, **kwargs: Any) -> os.stat_result:
        # another build's prune removes "gone" after the listing saw it as a folder
        if self.name == "gone" and "gone" in looked:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(self))
        looked.append(self.name)
        return real_stat(self, **kwargs)

    def exists(self: Path, **kwargs: Any) -> bool:
        return True if self.name == "gone" else real_exists(self, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(Path, "exists", exists)
    removed = _aot_build.prune_build_caches(root / "current", now=1e9)
    assert [d.name for d in removed] == ["d"]  # of the four left, the oldest beyond 3 recent
