"""The one place that decides how kernels are compiled.

Kernels are compiled with :data:`JIT_OPTIONS`: ``nogil`` so that threads can share a
process, ``cache=True`` so that a new process (CLI, batch worker) loads machine code from
``__pycache__`` instead of compiling again, and never ``fastmath`` (it would let LLVM
assume no NaN, and every kernel here must see NaN gaps). Set the environment variable
``NUMBA_CACHE_DIR`` to move the cache when the installed package is read-only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JIT_OPTIONS", "REASSOC_MATH", "njit"]

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
