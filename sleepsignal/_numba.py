"""The one place that decides how kernels are compiled, and how numba starts.

Kernels are compiled with :data:`JIT_OPTIONS`: ``nogil`` so that threads can share a
process, ``cache=True`` so that a new process (CLI, batch worker) loads machine code from
the cache instead of compiling again, and never ``fastmath`` (it would let LLVM assume no
NaN, and every kernel here must see NaN gaps). Set the environment variable
``NUMBA_CACHE_DIR`` to move the cache when the installed package is read-only. The cache
policy is described in the README (section "Development").

Ahead of time. ``pip install .`` also builds, when it can, the extension module
``sleepsignal._aot``: every (kernel, argument types) of the checked-in list
``sleepsignal/_aot_signatures.txt`` compiled by ``numba.pycc`` (see
:mod:`sleepsignal._aot_build`), with ``_aot_manifest.json`` beside it recording what it
was built from. A process that opts in before its first kernel module is imported
(:func:`prefer_aot`: the command line and its local batch workers) gets, from
:func:`njit`, a :class:`_Kernel` per kernel instead of a numba dispatcher, when the
extension can be trusted (:func:`_load_aot`: not switched off with
``SLEEPSIGNAL_NO_AOT=1``, built from exactly these sources, on a CPU with exactly the
build machine's model and features, with this numpy and Python). Such a process imports
neither numba nor llvmlite as long as every kernel call has exactly the argument types
of an exported signature (:func:`_token`: dtype, dimensions, contiguity, writability,
scalar kind; pycc's own wrappers check nothing, a wrong dtype would crash the process);
any other call goes to the kernel's numba dispatcher, made then (numba imported then,
started as :func:`lean_process` starts it), and kernels that call kernels compile as
usual. Every other process (a notebook, a service, Dask worker threads) gets plain numba
dispatchers, as before.

Start-up. numba's CPU target imports ``numba.np.arraymath`` before the first kernel runs
(also when the kernel is loaded from the cache), and that module probes for BLAS at import
time by importing ``scipy.linalg`` (and through it ``numpy.f2py``): 0.15-0.35 s of every
``sleepsignal analyze`` process, although no kernel here calls BLAS. :func:`lean_process`,
for processes that run only sleepsignal's own kernels (the command line and its local
batch workers), imports ``numba.np.arraymath`` with a probe that only looks for scipy's
BLAS module on disk (:func:`_import_arraymath_without_scipy_linalg`; the same answer
unless that module is installed but broken, which no kernel here would notice), and leaves
out numba's CFFI support, third-party numba extensions and the LLVM-lock timing events.
A program that imports sleepsignal (a notebook, a service) keeps numba exactly as numba
starts itself: :func:`njit` patches nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "JIT_OPTIONS",
    "NO_AOT_ENV",
    "REASSOC_MATH",
    "aot_status",
    "lean_process",
    "njit",
    "overload",
    "prefer_aot",
]

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": False}

#: The one fast-math flag set allowed, for small reduction helpers (dot products, sums):
#: ``reassoc`` lets LLVM split a sum into SIMD lanes and ``contract`` fuse multiply-adds.
#: It makes no NaN/inf assumptions (no ``nnan``/``ninf``), so NaN still propagates; the
#: result differs from a sequential sum by rounding only, and may differ by rounding
#: between CPUs with different vector widths. Use it as ``njit(fastmath=REASSOC_MATH)``.
REASSOC_MATH: frozenset[str] = frozenset({"reassoc", "contract"})

#: Set to anything but ``""`` or ``"0"`` to keep the ahead-of-time kernels unused.
NO_AOT_ENV = "SLEEPSIGNAL_NO_AOT"

#: Version of the manifest's layout (``_aot_manifest.json``); another version means JIT.
MANIFEST_FORMAT = 1
MANIFEST_NAME = "_aot_manifest.json"
PACKAGE_DIR = Path(__file__).resolve().parent

# Process state. The mode is decided once, when the first kernel is defined: "jit"
# (numba dispatchers), "aot" (prefer_aot() and a trusted extension) or "record"
# (record_calls(): every Python-level kernel call is recorded, then run under JIT).
_mode: str | None = None
_wanted: str | None = None
_why = "no process asked for it (only the command line and its batch workers do)"
_aot_module: Any = None
_exports: dict[str, dict[tuple[str | None, ...], str]] = {}
_deferred_overloads: list[tuple[Any, Any, dict[str, Any]]] = []
_jit_lock = threading.RLock()
_jit_ready = False

#: record mode: kernel key -> argument tokens of its Python-level calls
RECORDED: dict[str, set[tuple[str | None, ...]]] = {}
#: aot mode: kernel key -> argument tokens of the calls that went to JIT
FELL_BACK: dict[str, set[tuple[str | None, ...]]] = {}


def _jit_options(options: dict[str, Any]) -> dict[str, Any]:
    """:data:`JIT_OPTIONS` updated by a kernel's own options, as ``numba.njit`` takes them."""
    merged = {**JIT_OPTIONS, **options}
    if isinstance(merged["fastmath"], frozenset):  # numba wants a set
        merged["fastmath"] = set(merged["fastmath"])
    return merged


def _numba_njit(func: Any, options: dict[str, Any]) -> Any:
    import numba

    return numba.njit(**_jit_options(options))(func)


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` with :data:`JIT_OPTIONS`; numba is imported on first use.

    In a process that opted in with :func:`prefer_aot` (and whose extension is
    trusted) or that records calls, the kernel is a :class:`_Kernel` instead.
    """
    if _decide() == "jit" or (args and not callable(args[0])):
        import numba

        return numba.njit(*args, **_jit_options(kwargs))
    if args:
        return _Kernel(args[0], kwargs)
    return lambda func: _Kernel(func, kwargs)


def overload(target: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``numba.extending.overload``, registered when numba is first used.

    In a plain (JIT) process at once, as the decorator would; in an ahead-of-time
    process only if a call falls back to JIT, so that defining it imports no numba.
    """

    def register(impl: Any) -> Any:
        with _jit_lock:
            if _decide() == "jit" or _jit_ready:
                from numba.extending import overload as numba_overload

                numba_overload(target, **kwargs)(impl)
            else:
                _deferred_overloads.append((target, impl, kwargs))
        return impl

    return register


def prefer_aot() -> None:
    """Opt this process in to the ahead-of-time kernels (see the module's docstring).

    For processes that run only sleepsignal's kernels, single-threaded: the command
    line and its local batch workers. Has an effect only before the first kernel module
    is imported (the mode of a process is decided once, then).
    """
    global _wanted
    if _mode is None and _wanted is None:
        _wanted = "aot"


def record_calls() -> None:
    """Record the argument types of every Python-level kernel call in :data:`RECORDED`
    (for :mod:`sleepsignal._aot_build`); call before the first kernel module import."""
    global _wanted
    if _mode is not None:
        raise RuntimeError("record_calls() must run before the first kernel is defined")
    _wanted = "record"


def aot_status() -> str:
    """``"aot"``, or ``"jit: <why>"`` (decides the mode if no kernel did yet)."""
    return "aot" if _decide() == "aot" else f"jit: {_why}"


def _decide() -> str:
    global _mode
    if _mode is None:
        with _jit_lock:
            if _mode is None:
                wanted = _wanted or "jit"
                if wanted == "aot" and not _load_aot():
                    wanted = "jit"
                _mode = wanted
    return _mode


def source_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-256 of every ``.py`` file of the package (relative path and bytes, sorted).

    Any edit of the package's Python sources (a kernel, a constant a kernel reads, or
    anything else) makes an extension built before it untrusted.
    """
    h = hashlib.sha256()
    files = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


#: /proc/cpuinfo fields that identify what code a CPU runs (x86: vendor, family, model,
#: feature flags; ARM: implementer, architecture, variant, part, features).
_CPU_FIELDS = (
    "vendor_id",
    "cpu family",
    "model",
    "flags",
    "CPU implementer",
    "CPU architecture",
    "CPU variant",
    "CPU part",
    "Features",
)


def cpu_fingerprint() -> str | None:
    """The CPU's model and feature flags (Linux ``/proc/cpuinfo``, first processor), or
    ``None`` where they cannot be read: then nothing compiled for a host CPU is trusted.

    Compiled for the build machine (``target_cpu="host"``), the extension may use any
    instruction its CPU has; the same model with the same flags runs it. A CPU that
    differs in anything listed (even a flag no kernel uses) means JIT.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            fields: dict[str, str] = {}
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("flags", "Features"):
                    fields[key] = " ".join(sorted(value.split()))
                elif key in _CPU_FIELDS:
                    fields[key] = value.strip()
    except OSError:
        return None
    if not ("flags" in fields or "Features" in fields):
        return None
    fields["machine"] = platform.machine()
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _numba_version() -> str:
    """The installed numba's version, read from its ``dist-info`` folder name (numba is
    not imported); ``"?"`` when it cannot be found."""
    spec = importlib.util.find_spec("numba")
    if spec is None or not spec.origin:
        return "?"
    found = sorted(Path(spec.origin).parent.parent.glob("numba-*.dist-info"))
    return found[0].name[len("numba-") : -len(".dist-info")] if len(found) == 1 else "?"


def runtime_identity() -> dict[str, str]:
    """What besides the sources and the CPU the extension was built for: Python, numpy
    (the compiled code's C interface) and numba (what JIT in this environment would
    compile; the extension must be what it compiles, to the byte)."""
    import numpy as np

    return {
        "python": sys.implementation.cache_tag,
        "numpy": np.__version__,
        "numba": _numba_version(),
        "machine": platform.machine(),
    }


def runtime_mismatch(built: Any, running: dict[str, str]) -> str:
    """Why an extension built for ``built`` (the manifest's runtime) is not used with
    ``running``: names the versions of both. A version that cannot be read (``"?"``)
    counts as a mismatch."""
    built = built if isinstance(built, dict) else {}
    keys = [k for k in ("python", "numpy", "numba", "machine") if k in running]
    differ = [k for k in keys if built.get(k) != running[k] or running[k] == "?"]

    def versions(d: dict[str, Any]) -> str:
        return ", ".join(f"{k} {d.get(k, '?')}" for k in differ or keys)

    return (
        "Python, numpy or numba differ from those the extension was built with "
        f"(built with {versions(built)}; running {versions(running)}; "
        "see the README, development, for installing into pinned environments)"
    )


def _load_aot() -> bool:
    """Whether ``sleepsignal._aot`` can be trusted in this process; imports it if so.

    Sets ``_why`` when not. Cheap: reads the manifest and hashes the package's sources
    (~3 ms with numpy imported, see the README, development); no numba or llvmlite
    import.
    """
    global _why, _aot_module, _exports
    if os.environ.get(NO_AOT_ENV, "") not in ("", "0"):
        _why = f"{NO_AOT_ENV} is set"
        return False
    path = PACKAGE_DIR / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _why = "no ahead-of-time extension was built for this installation"
        return False
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        _why = f"{path.name} has another format"
        return False
    if manifest.get("sources") != source_hash():
        _why = "the package's sources changed after the extension was built"
        return False
    cpu = cpu_fingerprint()
    if cpu is None or manifest.get("cpu") != cpu:
        _why = "this CPU is not the one the extension was built for (or cannot be read)"
        return False
    running = runtime_identity()
    built = manifest.get("runtime")
    if built != running or "?" in running.values():
        _why = runtime_mismatch(built, running)
        return False
    try:
        module = importlib.import_module(f"{__package__}._aot")
        same_build = int(module.build_id()) == int(manifest["build_id"])
    except Exception:  # not built, or a broken build: JIT
        _why = "the extension module sleepsignal._aot cannot be imported"
        return False
    if not same_build:
        _why = "the extension module is not the one the manifest describes"
        return False
    _aot_module = module
    _exports = {
        key: {tuple(tokens): name for name, tokens in entries}
        for key, entries in manifest["kernels"].items()
    }
    _why = ""
    return True


#: array layouts as in numba's typeof: C, F or A (any strides)
def _dims(ndim: int, layout: str) -> str:
    if layout == "C":
        parts = [":"] * (ndim - 1) + ["::1"]
    elif layout == "F":
        parts = ["::1"] + [":"] * (ndim - 1)
    else:
        parts = [":"] * ndim
    return ", ".join(parts)


def _token(a: Any) -> str | None:
    """The numba type of an argument as a string (``float64[::1]``, ``uint16[::1]
    readonly``, ``int64``, ``bool``), or ``None`` for anything not exported ahead of time.

    Mirrors ``numba.typeof`` for the argument kinds kernels take, without numba: two
    arguments with the same token get the same compiled code under JIT.
    """
    import numpy as np

    t = type(a)
    if t is np.ndarray or t is np.memmap:
        dtype = a.dtype
        if dtype.kind not in "biuf" or not dtype.isnative or not a.flags.aligned or a.ndim < 1:
            return None
        flags = a.flags
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        token = f"{dtype.name}[{_dims(a.ndim, layout)}]"
        return token if flags.writeable else token + " readonly"
    if t is bool or t is np.bool_:
        return "bool"
    if t is int:
        return "int64" if abs(a) < 2**63 else None
    if t is float:
        return "float64"
    if isinstance(a, np.generic) and a.dtype.kind in "iuf" and a.dtype.isnative:
        return str(a.dtype.name)
    return None


class _Kernel:
    """A kernel in an ahead-of-time (or recording) process: calls with exactly an
    exported signature's argument types go to the compiled function, every other call
    to the kernel's numba dispatcher (created, and numba imported, on first need)."""

    def __init__(self, func: Any, options: dict[str, Any]) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self.options = options
        self.key = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
        self._jit: Any = None
        self._aot: dict[tuple[str | None, ...], Any] = {}
        if _aot_module is not None:
            for tokens, name in _exports.get(self.key, {}).items():
                self._aot[tokens] = getattr(_aot_module, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tokens = tuple(map(_token, args))
        if kwargs:  # never exported (pycc functions take positional arguments)
            tokens += (None,)
        if _mode == "record":
            RECORDED.setdefault(self.key, set()).add(tokens)
        else:
            compiled = self._aot.get(tokens)
            if compiled is not None:
                return compiled(*args)
            FELL_BACK.setdefault(self.key, set()).add(tokens)
        return self.dispatcher()(*args, **kwargs)

    def dispatcher(self) -> Any:
        """The kernel's numba dispatcher (numba is started for it on first need)."""
        if self._jit is None:
            with _jit_lock:
                if self._jit is None:
                    _start_jit()
                    self._jit = _numba_njit(self.py_func, self.options)
        return self._jit

    def __repr__(self) -> str:
        return f"<sleepsignal kernel {self.key} ({_mode})>"


def _start_jit() -> None:
    """numba for the kernels of an ahead-of-time or recording process: started lean
    (an ahead-of-time process is a command-line one), kernels made typeable as their
    dispatchers (so a kernel that calls another compiles), deferred overloads
    registered."""
    global _jit_ready
    with _jit_lock:
        if _jit_ready:
            return
        if _mode == "aot":
            lean_process()
        from numba.core.typing.typeof import typeof_impl
        from numba.extending import overload as numba_overload

        @typeof_impl.register(_Kernel)
        def _typeof_kernel(val: _Kernel, c: Any) -> Any:
            return typeof_impl(val.dispatcher(), c)

        for target, impl, kwargs in _deferred_overloads:
            numba_overload(target, **kwargs)(impl)
        _deferred_overloads.clear()
        _jit_ready = True


def _scipy_blas_on_disk() -> bool:
    """Whether ``scipy.linalg.cython_blas`` exists, found without importing scipy.linalg."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any(
        any((Path(root) / "linalg").glob("cython_blas.*"))
        for root in spec.submodule_search_locations
    )


def _import_arraymath_without_scipy_linalg() -> bool:
    """Import ``numba.np.arraymath`` without its import-time probe importing scipy.linalg.

    ``numba.np.arraymath`` sets ``_HAVE_BLAS`` at import by calling
    ``numba.np.linalg.ensure_blas()``, which imports ``scipy.linalg.cython_blas`` (all of
    ``scipy.linalg``). The flag only chooses how ``np.correlate``/``np.convolve`` of
    floats are compiled. Here the probe is swapped, for that one import, for a check that
    the module exists on disk (the same answer unless it is installed but fails to
    import); the original is put back right after, so compiling a
    kernel that calls ``np.dot`` still runs numba's own check. Returns whether the swap
    was made; any surprise (another numba, arraymath already imported) leaves numba
    alone, which costs only the start-up time.
    """
    if "numba.np.arraymath" in sys.modules:
        return False
    try:
        from numba.np import linalg

        original = linalg.ensure_blas
        have_blas = _scipy_blas_on_disk()
    except Exception:  # another numba, an unusual scipy: leave numba to its own probe
        return False

    def probe() -> None:
        if not have_blas:
            raise ImportError("scipy.linalg.cython_blas is not installed")

    linalg.ensure_blas = probe
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = original
    if getattr(arraymath, "ensure_blas", None) is probe:
        arraymath.ensure_blas = original
    return True


def lean_process() -> list[str]:
    """Leave out numba start-up work that sleepsignal's kernels never need.

    For a process that runs only sleepsignal's kernels (the command line, batch
    workers); call it before the first kernel runs. Each step is skipped if numba has
    already done it or looks different from numba 0.68, so a future numba only loses
    the speed-up. Returns the names of the steps taken.

    Notes
    -----
    1. ``numba.np.arraymath`` is imported without importing ``scipy.linalg``
       (:func:`_import_arraymath_without_scipy_linalg`).
    2. numba's CFFI support is set up as if ``cffi`` were absent: when it is installed,
       creating numba's ``cffi.FFI()`` imports ``pycparser`` (~30 ms). Kernels in this
       process cannot call CFFI functions (none of sleepsignal's do).
    3. Third-party numba extensions (``numba_extensions`` entry points) are not loaded,
       which spares scanning the metadata of every installed distribution.
    4. The LLVM-lock callbacks that time numba's ``numba:llvm_lock`` events are removed:
       loading 28 kernels from the cache takes ~7000 LLVM calls, each of which fired two
       events (~30 ms). Only numba's compile-time statistics read them.
    5. numba's CPU target is set up now rather than by the first kernel call, so that a
       caller that pauses the garbage collector around its imports and then
       ``gc.freeze()``-s (the command line) freezes numba's typing and lowering
       registries too.
    """
    done = []
    if _import_arraymath_without_scipy_linalg():
        done.append("arraymath without scipy.linalg")
    if "numba.core.typing.cffi_utils" not in sys.modules:
        saved = sys.modules.get("cffi")
        sys.modules["cffi"] = None  # type: ignore[assignment]  # `import cffi` fails
        try:
            import numba.core.typing.cffi_utils

            done.append("no cffi")
        except Exception:
            pass
        finally:
            if saved is None:
                del sys.modules["cffi"]
            else:
                sys.modules["cffi"] = saved
    try:
        from numba.core import entrypoints

        if not entrypoints._already_initialized:
            entrypoints._already_initialized = True
            done.append("no numba extensions")
    except Exception:
        pass
    try:
        import numba.core.base  # noqa: F401  # registers the callbacks
        from llvmlite.binding import ffi

        for acquire, release in list(ffi.lib._lock._cblist):
            if getattr(acquire, "__module__", None) == "numba.core.base":
                ffi.unregister_lock_callback(acquire, release)
                done.append("no llvm_lock events")
    except Exception:
        pass
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
        done.append("target set up")
    except Exception:
        pass
    return done
