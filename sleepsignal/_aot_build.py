"""Build the ahead-of-time kernels (``sleepsignal._aot``) and keep their signature list.

Not imported by the analysis. Used by ``setup.py`` at install time and by hand::

    python -m sleepsignal._aot_build record [SESSION.json ...]   # regenerate the list
    python -m sleepsignal._aot_build build [--target host]        # build in place
    python -m sleepsignal._aot_build check                        # list vs. this checkout

The list, ``sleepsignal/_aot_signatures.txt``, holds one line per (kernel, argument
types) that the command-line paths call from Python: ``analyze`` (whole and
``--stream``), ``demo`` and the batch worker's task. ``record`` finds them by running
those paths under JIT on the demo night and two short simulated nights (plus any
SESSION given) with every Python-level kernel call recorded
(:func:`sleepsignal._numba.record_calls`), in a new process. A kernel whose arguments
change must be recorded again: ``tests/test_aot.py`` fails, naming the kernel, when a
call of those paths is missing from the list.

:func:`build` compiles each listed signature with ``numba.pycc`` through a one-line
wrapper that calls the kernel's numba dispatcher (so each kernel keeps its own numba
options, e.g. ``fastmath=REASSOC_MATH``; exported directly, it would round
differently), for the build machine's CPU (``target_cpu="host"``), and writes
``_aot_manifest.json`` beside the extension: the hash of the package's sources, the CPU
fingerprint, Python, numpy and numba, a build id the extension returns too (a hash of
those inputs and the exported signatures: reproducible), and the exported name of each
signature (see :func:`sleepsignal._numba._load_aot` for how it is checked). It compiles
in a numba cache folder of its own named by the sources' hash (:func:`build_cache_dir`;
old ones are pruned, :func:`prune_build_caches`) and leaves out, with one line, a listed
signature that no longer compiles.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from . import _numba

__all__: list[str] = []

SIGNATURES = _numba.PACKAGE_DIR / "_aot_signatures.txt"

#: The modules that define kernels (``njit``), in the package.
KERNEL_MODULES = (
    "_filters",
    "_heartbeat_kernels",
    "_rank_filter",
    "_staging_features",
    "_stream_kernels",
    "_track_kernels",
    "staging",
)

HEADER = """\
# Kernels called from Python by the command line (analyze, analyze --stream, demo, batch
# worker), with their argument types: what sleepsignal._aot exports (numba.pycc).
# Generated: python -m sleepsignal._aot_build record [SESSION.json ...]  (do not edit)
# module.kernel(argument, ...)
"""


def read_signatures(path: Path = SIGNATURES) -> dict[str, list[tuple[str, ...]]]:
    """``{"module.kernel": [(token, ...), ...]}`` of a signature list file."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition("(")
        if not rest.endswith(")"):
            raise ValueError(f"{path}: not `module.kernel(arg, ...)`: {line!r}")
        body = rest[:-1]
        tokens = tuple(_split_args(body)) if body else ()
        out.setdefault(key, []).append(tokens)
    return out


def _split_args(body: str) -> list[str]:
    """Split ``float64[:, ::1], int64`` at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return parts


def format_signatures(sigs: dict[str, set[tuple[str | None, ...]]]) -> str:
    """The text of a signature list (sorted, so a regeneration diffs cleanly)."""
    lines = [
        f"{key}({', '.join(t if t is not None else '?' for t in tokens)})"
        for key in sorted(sigs)
        for tokens in sorted(sigs[key], key=lambda ts: [t or "?" for t in ts])
    ]
    return HEADER + "\n".join(lines) + "\n"


def numba_type(token: str) -> Any:
    """The numba type of a token of :func:`sleepsignal._numba._token`."""
    import numpy as np
    from numba import from_dtype, types

    readonly = token.endswith(" readonly")
    name = token.removesuffix(" readonly")
    if "[" not in name:
        if readonly:
            raise ValueError(f"a scalar cannot be readonly: {token!r}")
        return from_dtype(np.dtype(name))
    dtype, _, dims = name.partition("[")
    parts = [p.strip() for p in dims.rstrip("]").split(",")]
    ndim = len(parts)
    layouts: tuple[Literal["C", "F", "A"], ...] = ("C", "F", "A")
    for layout in layouts:
        if _numba._dims(ndim, layout) == ", ".join(parts):
            return types.Array(from_dtype(np.dtype(dtype)), ndim, layout, readonly=readonly)
    raise ValueError(f"unknown array layout in {token!r}")


# ---------------------------------------------------------------------------------------
# record: the command-line paths under JIT, every Python-level kernel call recorded
# ---------------------------------------------------------------------------------------


def record_paths(work: Path, sessions: Sequence[Path]) -> dict[str, set[tuple[str | None, ...]]]:
    """Run the command-line paths in THIS process with calls recorded; returns them.

    Must run before any kernel module is imported (a new process: :func:`record`).
    """
    import contextlib
    import io
    import warnings

    _numba.record_calls()
    from . import batch
    from .cli import FIXTURE, main
    from .simulate import simulate_night, write_simulated

    root = Path(__file__).resolve().parents[1]
    demo = root / FIXTURE
    nights = [demo] if demo.is_file() else []
    for name, kwargs in (
        ("mixed50", {"hours": 0.75, "seed": 3, "mains_hz": 50.0}),
        ("resp60", {"hours": 0.5, "seed": 21, "profile": "respiratory", "mains_hz": 60.0}),
    ):
        path = write_simulated(simulate_night(**kwargs), work / name)
        nights.append(path / "session.json" if path.is_dir() else path)
    nights += list(sessions)
    quiet = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(quiet):
        warnings.simplefilter("ignore")
        for i, night in enumerate(nights):
            for extra in ([], ["--stream"]):
                if main(["analyze", str(night), "--out", str(work / f"a{i}{len(extra)}"), *extra]):
                    raise RuntimeError(f"analyze {night} {extra} failed")
            ids: dict[str, str | None] = {
                "patient_id": None,
                "device_id": None,
                "device_identifier": None,
            }
            reason = batch.analyze_file(str(night), str(work / f"b{i}"), 0, ids)
            if reason is not None:
                raise RuntimeError(f"batch worker task on {night} failed: {reason}")
        if main(["demo", "--out", str(work / "demo")]):
            raise RuntimeError("demo failed")
    return _numba.RECORDED


def record(sessions: Sequence[Path] = ()) -> dict[str, set[tuple[str | None, ...]]]:
    """:func:`record_paths` in a new process (so that no kernel module is imported yet)."""
    code = (
        "import json, sys, tempfile\n"
        "from pathlib import Path\n"
        "from sleepsignal._aot_build import record_paths\n"
        "with tempfile.TemporaryDirectory() as work:\n"
        "    got = record_paths(Path(work), [Path(p) for p in sys.argv[1:]])\n"
        "print(json.dumps({k: sorted(map(list, v), key=str) for k, v in got.items()}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    run = subprocess.run(
        [sys.executable, "-c", code, *map(str, sessions)],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
    )
    if run.returncode:
        raise RuntimeError(f"recording the kernel calls failed:\n{run.stderr}")
    got = json.loads(run.stdout.strip().splitlines()[-1])
    return {k: {tuple(ts) for ts in v} for k, v in got.items()}


def missing(
    recorded: dict[str, set[tuple[str | None, ...]]], listed: dict[str, list[tuple[str, ...]]]
) -> list[str]:
    """``module.kernel(args)`` of every recorded call that the list lacks."""
    return [
        format_signatures({key: {tokens}}).splitlines()[-1]
        for key in sorted(recorded)
        for tokens in sorted(recorded[key], key=str)
        if tokens not in set(listed.get(key, []))
    ]


# ---------------------------------------------------------------------------------------
# build: numba.pycc
# ---------------------------------------------------------------------------------------


def signature_problems(sigs: dict[str, list[tuple[str, ...]]]) -> list[str]:
    """``module.kernel(args): why`` of every listed signature that does not name a kernel
    of the package taking exactly that many arguments (a deleted or renamed kernel, a
    changed arity: regenerate the list with ``record``)."""
    problems = []
    for key in sorted(sigs):
        module_name, _, name = key.partition(".")
        try:
            kernel = getattr(importlib.import_module(f"{__package__}.{module_name}"), name)
            params = inspect.signature(kernel.py_func).parameters.values()
        except Exception as exc:
            problems.append(f"{key}: no such kernel ({type(exc).__name__}: {exc})")
            continue
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if any(p.kind not in kinds for p in params):
            problems.append(f"{key}: takes other than positional arguments")
            continue
        n = len(params)
        problems += [
            f"{key}({', '.join(tokens)}): {len(tokens)} arguments, the kernel takes {n}"
            for tokens in sigs[key]
            if len(tokens) != n
        ]
    return problems


def build_cache_dir(sources: str) -> Path:
    """The numba cache folder of a build: named by the hash of the package's sources.

    numba's own cache keys an entry by its source file's stamp, so a kernel whose callee
    or constant in *another* module changed would load stale machine code; a build
    compiles each kernel afresh in a folder no other sources used (a second build of
    identical sources loads from it). Under ``NUMBA_CACHE_DIR`` if set, else in the
    temporary folder.
    """
    user = os.getuid() if hasattr(os, "getuid") else 0
    root = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        tempfile.gettempdir(), f"sleepsignal-aot-build-{user}"
    )
    return Path(root) / "sleepsignal-aot-build" / sources[:24]


#: Build cache folders kept besides the current one, and the age (s) below which none is
#: removed (a build of other sources may be running at the same time).
KEEP_BUILD_CACHES = 3
PRUNE_AFTER_S = 24 * 3600.0


def prune_build_caches(current: Path, *, now: float | None = None) -> list[Path]:
    """Remove the build cache folders of other sources that are neither among the
    :data:`KEEP_BUILD_CACHES` most recently used nor younger than :data:`PRUNE_AFTER_S`.

    Each build of new sources leaves a folder of ~4 MB next to ``current``; without
    pruning, a developer who reinstalls after every edit fills the temporary folder.
    Returns the folders removed; one that cannot be removed is left (and not returned).
    """
    import shutil

    now = time.time() if now is None else now
    try:
        current.mkdir(parents=True, exist_ok=True)
        os.utime(current)  # the folder's time says when a build last used it
        others = [d for d in current.parent.iterdir() if d.is_dir() and d != current]
    except OSError:
        return []
    aged = sorted(
        ((t, d) for d in others if (t := _mtime(d)) is not None), key=lambda t: t[0], reverse=True
    )
    removed = []
    for mtime, folder in aged[KEEP_BUILD_CACHES:]:
        if now - mtime < PRUNE_AFTER_S:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def use_cache_dir(cache_dir: Path) -> int:
    """Point numba's cache at ``cache_dir`` for every kernel of the package: numba's
    setting for kernels defined from now on, and a new cache for each dispatcher that
    was defined already. Returns how many dispatchers were moved."""
    from numba.core import config
    from numba.core.dispatcher import Dispatcher

    # numba re-reads its settings from the environment when that changes: set both
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    setattr(config, "CACHE_DIR", str(cache_dir))  # noqa: B010  # untyped in numba
    moved = 0
    for mod_name, module in list(sys.modules.items()):
        if module is None or not (
            mod_name == __package__ or mod_name.startswith(f"{__package__}.")
        ):
            continue
        for value in list(vars(module).values()):
            if (
                isinstance(value, Dispatcher)
                and type(getattr(value, "_cache", None)).__name__ != "NullCache"
            ):
                value.enable_caching()
                moved += 1
    return moved


def _mtime(path: Path) -> float | None:
    """``path``'s modification time, or ``None`` when it is gone (a concurrent build's
    prune may remove it between listing and reading)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


#: Set (not ``""``/``"0"``) to install without building the extension (``setup.py``).
NO_BUILD_ENV = "SLEEPSIGNAL_NO_AOT_BUILD"


def extension_expected_missing(package_dir: Path, checkout: Path) -> str | None:
    """Why the package at ``package_dir`` may lack a trusted extension, or ``None`` when
    it must have one (for the tests and benchmarks: a missing one is then a failure).

    It must when it is an installed package (not ``checkout``'s own ``sleepsignal``
    folder, or under a ``site-packages`` folder: ``.ci/run`` installs into a virtual
    environment inside the checkout) on Linux x86-64 with ``numba.pycc``, unless
    ``SLEEPSIGNAL_NO_AOT_BUILD`` or ``SLEEPSIGNAL_NO_AOT`` is set.
    """
    for env in (NO_BUILD_ENV, _numba.NO_AOT_ENV):
        if os.environ.get(env, "") not in ("", "0"):
            return f"{env} is set"
    pkg = package_dir.resolve()
    if pkg == (checkout / "sleepsignal").resolve() and "site-packages" not in pkg.parts:
        return "the package is a checkout (not built by an install)"
    if not (sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")):
        return f"not Linux x86-64 ({sys.platform}, {platform.machine()})"
    if importlib.util.find_spec("numba.pycc") is None:
        return "this numba has no numba.pycc"
    return None


def build_id(sources: str, cpu: str, runtime: dict[str, str], kernels: Any) -> int:
    """A 62-bit id of a build's inputs (sources, CPU, runtime, exported signatures):
    the same inputs give the same id, so a build is reproducible."""
    blob = json.dumps([sources, cpu, runtime, kernels], sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> 2


def build(out_dir: Path, target_cpu: str = "host", signatures: Path = SIGNATURES) -> list[Path]:
    """Compile ``sleepsignal._aot`` into ``out_dir`` (the package folder of the build or
    of this checkout) and write its manifest; returns the files written.

    A listed signature that does not compile (a stale line: a deleted kernel, another
    arity) is left out, with one line on stderr; that call then runs JIT. Raises whatever
    else fails (no ``numba.pycc``, no C compiler, nothing exportable): ``setup.py`` turns
    that into one line and installs the pure package.
    """
    from numba.pycc import CC  # ImportError in a numba without pycc

    if target_cpu != "host":
        raise ValueError("only target_cpu='host' is supported (the manifest records the CPU)")
    cpu = _numba.cpu_fingerprint()
    if cpu is None:
        raise RuntimeError("this platform's CPU cannot be identified (no /proc/cpuinfo)")
    sources = _numba.source_hash()
    cache_dir = build_cache_dir(sources)
    use_cache_dir(cache_dir)
    prune_build_caches(cache_dir)
    sigs = read_signatures(signatures)
    out_dir.mkdir(parents=True, exist_ok=True)
    cc = CC("_aot")
    cc.output_dir = str(out_dir)
    cc.target_cpu = target_cpu
    cc.verbose = False
    kernels: dict[str, list[list[Any]]] = {}
    for key in sorted(sigs):
        module_name, _, name = key.partition(".")
        for i, tokens in enumerate(sigs[key]):
            try:
                dispatcher = getattr(importlib.import_module(f"{__package__}.{module_name}"), name)
                argtypes = tuple(numba_type(t) for t in tokens)
                dispatcher.compile(argtypes)
                signature = dispatcher.overloads[argtypes].signature
            except Exception as exc:  # a stale line: that call runs JIT
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                print(
                    f"sleepsignal: signature left out of the ahead-of-time build: "
                    f"{key}({', '.join(tokens)}) ({type(exc).__name__}: {first})",
                    file=sys.stderr,
                )
                continue
            export = f"{module_name.lstrip('_')}__{name.lstrip('_')}__{i}"
            args = ", ".join(f"a{j}" for j in range(len(argtypes)))
            namespace = {"_kernel": dispatcher}
            exec(f"def {export}({args}):\n    return _kernel({args})\n", namespace)
            cc.export(export, signature)(namespace[export])
            kernels.setdefault(key, []).append([export, list(tokens)])
    if not kernels:
        raise RuntimeError(f"no signature of {signatures.name} compiled")
    runtime = _numba.runtime_identity()
    ident = build_id(sources, cpu, runtime, kernels)
    namespace = {}
    exec(f"def build_id():\n    return {ident}\n", namespace)
    cc.export("build_id", "i8()")(namespace["build_id"])
    cc.compile()
    extension = out_dir / cc.output_file
    manifest = {
        "format": _numba.MANIFEST_FORMAT,
        "build_id": ident,
        "sources": sources,
        "cpu": cpu,
        "target_cpu": target_cpu,
        "runtime": runtime,
        "kernels": kernels,
    }
    path = out_dir / _numba.MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [extension, path]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sleepsignal._aot_build", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="regenerate sleepsignal/_aot_signatures.txt")
    r.add_argument("sessions", type=Path, nargs="*", help="more Session JSON files to run")
    b = sub.add_parser("build", help="build sleepsignal._aot into this checkout's package")
    b.add_argument("--target", default="host")
    sub.add_parser("check", help="list the recorded calls missing from the signature list")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.command == "record":
        got = record(args.sessions)
        unsupported = [k for k, v in got.items() if any(None in ts for ts in v)]
        SIGNATURES.write_text(format_signatures(got), encoding="utf-8")
        n = sum(len(v) for v in got.values())
        print(f"{SIGNATURES}: {n} signatures of {len(got)} kernels")
        if unsupported:
            print(f"not exportable (an argument of another kind): {unsupported}")
            return 1
    elif args.command == "build":
        files = build(_numba.PACKAGE_DIR, args.target)
        print("built " + ", ".join(str(f) for f in files))
    else:
        gaps = missing(record(), read_signatures())
        print("\n".join(gaps) if gaps else "every recorded call is in the list")
        if gaps:
            return 1
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
