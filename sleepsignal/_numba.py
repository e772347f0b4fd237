"""The one place that decides how kernels are compiled, and how numba starts.

Kernels are compiled with :data:`JIT_OPTIONS`: ``nogil`` so that threads can share a
process, ``cache=True`` so that a new process (CLI, batch worker) loads machine code from
the cache instead of compiling again, and never ``fastmath`` (it would let LLVM assume no
NaN, and every kernel here must see NaN gaps). Set the environment variable
``NUMBA_CACHE_DIR`` to move the cache when the installed package is read-only. The cache
policy is described in the README (section "Development").

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

import importlib.util
import sys
from pathlib import Path
from typing import Any

__all__ = ["JIT_OPTIONS", "REASSOC_MATH", "lean_process", "njit"]

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": False}

#: The one fast-math flag set allowed, for small reduction helpers (dot products, sums):
#: ``reassoc`` lets LLVM split a sum into SIMD lanes and ``contract`` fuse multiply-adds.
#: It makes no NaN/inf assumptions (no ``nnan``/``ninf``), so NaN still propagates; the
#: result differs from a sequential sum by rounding only, and may differ by rounding
#: between CPUs with different vector widths. Use it as ``njit(fastmath=REASSOC_MATH)``.
REASSOC_MATH: frozenset[str] = frozenset({"reassoc", "contract"})


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` with :data:`JIT_OPTIONS`; numba is imported on first use."""
    import numba

    options = {**JIT_OPTIONS, **kwargs}
    if isinstance(options["fastmath"], frozenset):  # numba wants a set
        options["fastmath"] = set(options["fastmath"])
    return numba.njit(*args, **options)


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
