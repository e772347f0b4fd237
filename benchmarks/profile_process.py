"""Where a whole ``sleepsignal analyze`` process spends its time and memory, phase by phase.

Usage::

    python benchmarks/profile_process.py SESSION.json [--out DIR]

Runs what ``sleepsignal analyze`` runs, in the same order, in this one fresh process,
and prints per phase the wall time and the resident memory (``VmRSS`` now, ``VmHWM``
the peak so far, from ``/proc/self/status``; Linux only). Imports are split into the
decode path, numba, ``scipy`` (when the analysis still imports it) and sleepsignal's
analysis modules; the first analysis is split into numba's one-time target set-up,
loading each compiled kernel from the cache (counted per dispatcher) and the compute
itself; a second, warm analysis is timed for comparison. Run it twice: the first run
into an empty numba cache compiles instead of loading.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    return out


class Clock:
    """Prints one line per phase: seconds, RSS now, peak RSS so far."""

    def __init__(self) -> None:
        self.last = T0
        print(f"{'phase':48s} {'s':>7s} {'total s':>8s} {'RSS MB':>7s} {'peak MB':>8s}")

    def mark(self, label: str, seconds: float | None = None) -> None:
        now = time.perf_counter()
        dt = now - self.last if seconds is None else seconds
        self.last = now
        st = _status()
        total = now - T0
        print(f"{label:48s} {dt:7.3f} {total:8.3f} {st['VmRSS']:7d} {st['VmHWM']:8d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    clock = Clock()
    clock.mark("interpreter up, script started")
    import numpy as np

    clock.mark("import numpy")
    import sleepsignal.cli  # noqa: F401
    from sleepsignal.io.beddit import read_sessions

    clock.mark("import sleepsignal.cli + io (decode path)")
    sessions = read_sessions(args.session)
    hours = sum(s.duration for s in sessions) / 3600
    clock.mark(f"read_sessions ({len(sessions)} session(s), {hours:.2f} h)")
    import gc

    gc.disable()  # as in the CLI's _load_analysis, which imports numba first
    import numba

    clock.mark("import numba")
    from sleepsignal.cli import _load_analysis

    _load_analysis()  # as the CLI: imports with the cyclic GC paused, then gc.freeze()
    from sleepsignal.pipeline import analyze, write_analysis

    heavy = sorted(
        m
        for m in ("scipy.signal", "scipy.ndimage", "scipy.fft", "scipy.linalg", "scipy.stats")
        if m in sys.modules
    )
    clock.mark("import analysis modules (then gc.freeze)")
    print(f"  imported by the analysis: {', '.join(heavy) or 'no scipy submodule'}")
    from numba.core.dispatcher import Dispatcher
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()
    clock.mark("numba target set-up (first cache load pays it)")
    loads: dict[str, float] = {}
    original = Dispatcher._compile_for_args

    def timed(self, *a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            name = f"{self.py_func.__module__}.{self.py_func.__name__}"
            loads[name] = loads.get(name, 0.0) + time.perf_counter() - t

    Dispatcher._compile_for_args = timed  # type: ignore[method-assign]
    t = time.perf_counter()
    analysis = [analyze(s) for s in sessions]
    first = time.perf_counter() - t
    Dispatcher._compile_for_args = original  # type: ignore[method-assign]
    load = sum(loads.values())
    clock.mark(f"kernels loaded from cache ({len(loads)} dispatchers)", load)
    clock.mark("analyze, first call, without the loads", first - load)
    for name, s in sorted(loads.items(), key=lambda kv: -kv[1]):
        print(f"    {s * 1e3:6.1f} ms  {name}")
    out = args.out or Path(tempfile.mkdtemp(prefix="sleepsignal-profile-"))
    for a in analysis:
        write_analysis(a, out / str(a.session.id) if len(analysis) > 1 else out)
    clock.mark(f"write_analysis -> {out}")
    t = time.perf_counter()
    for s in sessions:
        analyze(s)
    clock.mark("(analyze again, warm, for comparison)", time.perf_counter() - t)
    print(f"(numpy {np.__version__}, numba {numba.__version__}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
