"""Go/no-go evidence for kernels compiled ahead of time: ``sleepsignal analyze`` without numba.

Usage::

    python benchmarks/aot_prototype.py SESSION.json [--rounds 5] [--target host|generic]
                                       [--work DIR]
    python benchmarks/aot_prototype.py --install-probe [--work DIR]

Everything happens in a copy of this checkout's package under ``--work`` (default: a new
temporary folder; pass the same folder again to reuse the build); the repository is not
touched. Steps:

1. The copy's ``sleepsignal/_numba.py`` is replaced by a prototype (:data:`PROTO_NUMBA`):
   when an extension module ``sleepsignal._aot`` is importable, ``njit`` returns a guard
   that calls the ahead-of-time function if every argument has exactly the dtype,
   dimensions, contiguity and writability of its exported signature (numba.pycc's
   wrappers check nothing: a float64 array where uint16 was compiled is a segfault, a
   strided array silently wrong data), and otherwise imports numba and falls back to
   JIT for the whole process. ``_track_kernels``' module-level numba overloads move into
   a function run only when numba is used.
2. SESSION and the bundled demo night are analysed under JIT; every compiled
   (kernel, signature) is exported with ``numba.pycc`` into ``sleepsignal._aot``, each
   through a one-line wrapper that calls the dispatcher, so that each kernel keeps its
   own numba options (a ``fastmath=REASSOC_MATH`` kernel exported directly is compiled
   without them and rounds differently).
3. SESSION and the demo night are analysed by the AOT copy as a command-line process:
   numba must not be imported, and every written file must equal the JIT output byte
   for byte.
4. Whole processes are timed, interleaved, ``--rounds`` each: this checkout's
   ``python -m sleepsignal analyze`` (JIT, warm numba cache; also that of every
   ``--checkout DIR``, e.g. a checkout of ``main`` for a before/after), the AOT copy's, and
   ``benchmarks/peer_scipy.py``; wall seconds, CPU seconds (user + system) and peak RSS
   of each child (``os.wait4``). The numba cache is warmed by one untimed run first.

``--install-probe`` answers what ``pip install .`` would need instead: it writes a
two-kernel package whose ``setup.py`` adds ``numba.pycc``'s extension
(``cc.distutils_extension(optional=True)``, build requirements setuptools, numba and
numpy) and installs it into a new virtual environment twice, with the C compiler and
with ``CC=/bin/false`` (no compiler: the install must still succeed, without the
extension), timing each install and checking what gets imported.

This is a measurement, not the package's build: see the README (sections "speed" and
"development") for what a real ahead-of-time build would need.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "fixtures" / "demo_session" / "session.json"
PEER = Path(__file__).resolve().parent / "peer_scipy.py"

#: The prototype ``sleepsignal/_numba.py`` of the copy.
PROTO_NUMBA = '''"""PROTOTYPE (benchmarks/aot_prototype.py): kernels from sleepsignal._aot."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["JIT_OPTIONS", "REASSOC_MATH", "lean_process", "njit"]

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": False}
REASSOC_MATH: frozenset[str] = frozenset({"reassoc", "contract"})

try:
    if os.environ.get("SLEEPSIGNAL_NO_AOT"):
        raise ImportError("AOT switched off")
    from . import _aot

    _SPECS = json.loads((Path(__file__).parent / "_aot_specs.json").read_text())
except ImportError:
    _aot = None
    _SPECS = {}

_registry: list[Any] = []
_hooks: list[Any] = []
_jit_started = False
_DTYPES = {"float64": np.float64, "float32": np.float32, "int64": np.int64,
           "uint8": np.uint8, "uint16": np.uint16, "bool": np.bool_}


def _real(f: Any, kw: dict) -> Any:
    import numba

    options = {**JIT_OPTIONS, **kw}
    if isinstance(options["fastmath"], frozenset):
        options["fastmath"] = set(options["fastmath"])
    return numba.njit(**options)(f)


def _start_jit() -> None:
    """Fallback: every kernel becomes a real dispatcher in its module's globals."""
    global _jit_started
    if _jit_started:
        return
    _jit_started = True
    for hook in _hooks:
        hook()
    for k in _registry:
        k.jit = _real(k.py_func, k.kw)
        k.py_func.__globals__[k.py_func.__name__] = k.jit


class _Kernel:
    def __init__(self, f: Any, kw: dict) -> None:
        self.py_func, self.kw, self.jit = f, kw, None
        key = f"{f.__module__.rsplit('.', 1)[-1]}__{f.__name__}"
        self.aot = getattr(_aot, key, None)
        self.spec = [
            (s[0], _DTYPES.get(s[1]) if s[0] == "array" else None,
             s[2] if s[0] == "array" else 0, s[3] if s[0] == "array" else False)
            for s in _SPECS.get(key, [])
        ] if key in _SPECS else None
        _registry.append(self)

    def _fits(self, args: tuple) -> bool:
        if self.spec is None or len(args) != len(self.spec):
            return False
        for a, (kind, dtype, ndim, readonly) in zip(args, self.spec):
            if kind == "array":
                if not (type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim
                        and a.flags.c_contiguous and (readonly or a.flags.writeable)):
                    return False
            elif kind == "int":
                if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                    return False
            elif kind == "float":
                if not isinstance(a, (float, np.floating)):
                    return False
            elif kind == "bool":
                if not isinstance(a, (bool, np.bool_)):
                    return False
            else:
                return False
        return True

    def __call__(self, *args: Any) -> Any:
        if self.jit is None and self.aot is not None and self._fits(args):
            return self.aot(*args)
        _start_jit()
        return self.jit(*args)


def njit(*args: Any, **kwargs: Any) -> Any:
    make = _real if _aot is None else _Kernel
    if args and callable(args[0]):
        return make(args[0], kwargs)
    return lambda f: make(f, kwargs)


def lean_process() -> list[str]:
    return []
'''

#: Harvest the signatures under JIT and export them with numba.pycc (run in the copy).
BUILD = r"""
import gc, json, os, sys, time, warnings
os.environ["SLEEPSIGNAL_NO_AOT"] = "1"
target, out_dir, sessions = sys.argv[1], sys.argv[2], sys.argv[3:]
warnings.simplefilter("ignore")
from sleepsignal.io.beddit import read_sessions
from sleepsignal.pipeline import analyze
t = time.perf_counter()
for path in sessions:
    for s in read_sessions(path):
        analyze(s)
print(f"JIT analyses (signatures) {time.perf_counter() - t:.1f} s")
from numba.core import types
from numba.core.registry import CPUDispatcher
from numba.pycc import CC
cc = CC("_aot")
cc.output_dir = out_dir
if target == "host":
    cc.target_cpu = "host"
specs = {}
for d in gc.get_objects():
    if not (isinstance(d, CPUDispatcher) and d.py_func.__module__.startswith("sleepsignal")):
        continue
    for cres in d.overloads.values():
        sig = cres.signature
        key = f"{d.py_func.__module__.rsplit('.', 1)[-1]}__{d.py_func.__name__}"
        if key in specs or any(isinstance(a, types.Literal) for a in sig.args):
            continue
        spec = []
        for a in sig.args:
            if isinstance(a, types.Array):
                spec.append(["array", str(a.dtype), a.ndim, not a.mutable])
            elif isinstance(a, types.Boolean):
                spec.append(["bool"])
            elif isinstance(a, types.Integer):
                spec.append(["int"])
            elif isinstance(a, types.Float):
                spec.append(["float"])
            else:
                spec.append(["other", str(a)])
        specs[key] = spec
        names = ", ".join(f"a{i}" for i in range(len(sig.args)))
        ns = {"_k": d}
        exec(f"def _w({names}):\n    return _k({names})\n", ns)
        cc.export(key, sig)(ns["_w"])
t = time.perf_counter()
cc.compile()
print(f"numba.pycc: {len(specs)} kernels compiled in {time.perf_counter() - t:.1f} s")
with open(os.path.join(out_dir, "_aot_specs.json"), "w") as f:
    json.dump(specs, f)
"""

#: Runs the command line in the copy and reports whether numba was imported.
CHECK = (
    "import json, sys\n"
    "sys.argv = ['sleepsignal', 'analyze', sys.argv[1], '--out', sys.argv[2]]\n"
    "from sleepsignal.cli import main\n"
    "rc = main()\n"
    "print(json.dumps([rc, [m for m in ('numba', 'llvmlite', 'scipy') if m in sys.modules]]))"
)


def _copy(work: Path) -> Path:
    """The package copy with the prototype ``_numba`` and ``_track_kernels`` patch."""
    pkg = work / "sleepsignal"
    if pkg.exists():
        return work
    shutil.copytree(ROOT / "sleepsignal", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "_numba.py").write_text(PROTO_NUMBA)
    track = pkg / "_track_kernels.py"
    src = track.read_text()
    head = (
        "from numba import types\nfrom numba.extending import overload\n\n"
        "from ._numba import njit\n"
    )
    first, second = "@overload(_block_sum)", "@overload(_extremes)"
    if head not in src or first not in src or second not in src:
        raise SystemExit("_track_kernels.py changed; update the patch in aot_prototype.py")
    src = src.replace(head, "from ._numba import _aot, _hooks, njit\n")
    a = src.index(first)
    b = src.index("    return impl\n", src.index(second)) + len("    return impl\n")
    block = src[a:b]
    helper = block[block.index("def _extremes(") : block.index(second)]
    block = block.replace(helper, "")
    body = "\n".join("    " + line if line.strip() else line for line in block.splitlines())
    src = (
        src[:a]
        + helper
        + "\n\ndef _overloads() -> None:\n    from numba import types\n"
        + "    from numba.extending import overload\n\n"
        + body
        + "\n\n\nif _aot is None:\n    _overloads()\nelse:\n    _hooks.append(_overloads)\n"
        + src[b:]
    )
    track.write_text(src)
    return work


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """One child to the end: wall s, CPU s (user + system), peak RSS MB."""
    t = time.perf_counter()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{argv} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _same_files(a: Path, b: Path) -> list[str]:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return ["(different file sets)"]
    return [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]


#: The install probe: a package with two kernels compiled at install time.
PROBE_FILES = {
    "pyproject.toml": """[build-system]
requires = ["setuptools>=77", "numba>=0.59", "numpy>=1.24"]
build-backend = "setuptools.build_meta"

[project]
name = "aotprobe"
version = "0.0.1"
dependencies = ["numpy>=1.24"]

[tool.setuptools]
packages = ["aotprobe"]
""",
    "setup.py": """import os, sys
from setuptools import setup
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ext = []
try:
    from numba.pycc import CC
    import aotprobe.kernels as kernels
    cc = CC("_aot", kernels)
    cc.export("runs", "i8[::1](u1[::1], i8)")(kernels.runs)
    cc.export("filt", "void(f8[::1], f8[::1], f8[::1], f8[::1])")(kernels.filt)
    ext = [cc.distutils_extension(optional=True)]
except Exception as exc:
    print(f"aotprobe: no ahead-of-time kernels ({exc})", file=sys.stderr)
setup(ext_modules=ext)
""",
    "aotprobe/__init__.py": """try:
    from . import _aot  # noqa: F401
    HAVE_AOT = True
except ImportError:
    HAVE_AOT = False
""",
    "aotprobe/kernels.py": """import numpy as np


def runs(flags, min_len):
    n = flags.shape[0]
    out = np.empty(n, np.int64)
    k = i = 0
    while i < n:
        if flags[i]:
            j = i
            while j < n and flags[j]:
                j += 1
            if j - i >= min_len:
                out[k] = i
                k += 1
            i = j
        else:
            i += 1
    return out[:k]


def filt(sos, x, out, zi):
    for i in range(x.shape[0]):
        v = x[i]
        for s in range(sos.shape[0] // 6):
            y = sos[6 * s] * v + zi[2 * s]
            zi[2 * s] = sos[6 * s + 1] * v - sos[6 * s + 4] * y + zi[2 * s + 1]
            zi[2 * s + 1] = sos[6 * s + 2] * v - sos[6 * s + 5] * y
            v = y
        out[i] = v
""",
}

PROBE_CHECK = (
    "import sys, time; t = time.perf_counter(); import numpy as np, aotprobe\n"
    "flags = np.array([1, 1, 0, 1], np.uint8)\n"
    "ok = aotprobe.HAVE_AOT and list(aotprobe._aot.runs(flags, 2)) == [0]\n"
    "print(aotprobe.HAVE_AOT, ok, 'numba' in sys.modules, round(time.perf_counter() - t, 3))"
)


def install_probe(work: Path) -> None:
    """``pip install`` of the two-kernel package into a new venv, with and without a C
    compiler; prints wall time, whether the extension was built and works."""
    pkg = work / "aotprobe-pkg"
    for name, text in PROBE_FILES.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    venv = work / "aotprobe-venv"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    for label, extra in (("with gcc", {}), ("CC=/bin/false", {"CC": "/bin/false"})):
        env = dict(os.environ, **extra)
        t = time.perf_counter()
        subprocess.run(
            [py, "-m", "pip", "install", "--quiet", "--force-reinstall", str(pkg)],
            env=env,
            check=True,
        )
        wall = time.perf_counter() - t
        check = subprocess.run(
            [py, "-c", PROBE_CHECK], cwd=work, capture_output=True, text=True, check=True
        )
        print(
            f"pip install ({label}): {wall:.1f} s wall; "
            f"[extension built, works, numba imported, import s] = {check.stdout.split()}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session", type=Path, nargs="?")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--target", choices=["host", "generic"], default="host")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--install-probe", action="store_true")
    ap.add_argument(
        "--checkout",
        type=Path,
        action="append",
        default=[],
        help="also time `python -m sleepsignal analyze` of another checkout (e.g. main)",
    )
    args = ap.parse_args()
    if args.session is None and not args.install_probe:
        ap.error("SESSION is required (or --install-probe)")
    made = None  # a work folder of our own (a package copy, a venv) is removed at the end
    if args.work is None:
        made = args.work = Path(tempfile.mkdtemp(prefix="sleepsignal-aot-"))
    try:
        _run(args)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _run(args: argparse.Namespace) -> None:
    if args.install_probe:
        install_probe(args.work.resolve())
        return
    session = args.session.resolve()
    work = _copy(args.work.resolve())
    env = dict(os.environ)
    env.pop("SLEEPSIGNAL_NO_AOT", None)
    built = list((work / "sleepsignal").glob("_aot.*.so"))
    if not built:
        t = time.perf_counter()
        build = [sys.executable, "-c", BUILD, args.target, str(work / "sleepsignal")]
        subprocess.run(
            [*build, str(session), str(DEMO)],
            cwd=work,
            env=env,
            check=True,
        )
        print(f"build (JIT analyses + pycc) {time.perf_counter() - t:.1f} s wall")
        built = list((work / "sleepsignal").glob("_aot.*.so"))
    print(f"extension: {built[0].name}, {built[0].stat().st_size / 2**20:.1f} MB")
    out = work / "outputs"
    for name, path in (("session", session), ("demo", DEMO)):
        jit_out, aot_out = out / f"{name}-jit", out / f"{name}-aot"
        cmd = [sys.executable, "-m", "sleepsignal", "analyze", str(path), "--out"]
        subprocess.run([*cmd, str(jit_out)], cwd=ROOT, env=env, check=True, capture_output=True)
        check = subprocess.run(
            [sys.executable, "-c", CHECK, str(path), str(aot_out)],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        rc_modules = check.stdout.strip().splitlines()[-1]
        differ = _same_files(jit_out, aot_out)
        print(
            f"{name}: AOT process [exit code, numba/llvmlite/scipy imported] = {rc_modules}; "
            f"files differing from JIT: {differ or 'none'}"
        )
    analyze = [sys.executable, "-m", "sleepsignal", "analyze", str(session), "--out"]
    runs = {
        f"sleepsignal analyze (JIT, {other.name})": ([*analyze, str(out / "t")], other.resolve())
        for other in args.checkout
    }
    for other in args.checkout:  # warm that checkout's numba cache, untimed
        subprocess.run(
            [*analyze, str(out / "t")], cwd=other, env=env, check=True, capture_output=True
        )
    runs |= {
        "sleepsignal analyze (JIT, this checkout)": (
            [sys.executable, "-m", "sleepsignal", "analyze", str(session), "--out", str(out / "t")],
            ROOT,
        ),
        "sleepsignal analyze (AOT prototype)": (
            [sys.executable, "-m", "sleepsignal", "analyze", str(session), "--out", str(out / "t")],
            work,
        ),
        "plain scipy script (peer_scipy.py)": (
            [sys.executable, str(PEER), str(session), str(out / "peer.json")],
            ROOT,
        ),
    }
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    for _ in range(args.rounds):
        for label, (argv, cwd) in runs.items():
            results[label].append(_run(argv, cwd, env))
    load = os.getloadavg()
    print(f"\n{args.rounds} rounds each, interleaved; load average {load[0]:.1f} {load[1]:.1f}")
    print(f"{'process':40s} {'wall s':>13s} {'CPU s':>13s} {'peak MB':>9s}")
    for label, rs in results.items():
        wall = sorted(r[0] for r in rs)
        cpu = sorted(r[1] for r in rs)
        print(
            f"{label:40s} {wall[len(wall) // 2]:5.2f} ({wall[0]:.2f}-{wall[-1]:.2f}) "
            f"{cpu[len(cpu) // 2]:5.2f} ({cpu[0]:.2f}-{cpu[-1]:.2f}) {max(r[2] for r in rs):9.0f}"
        )
    print("(median (min-max) of the rounds; peak MB: the largest child peak RSS)")


if __name__ == "__main__":
    main()
