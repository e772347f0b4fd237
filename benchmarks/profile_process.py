"""Where a whole ``sleepsignal analyze`` process spends its time and memory, phase by phase.

Usage::

    python benchmarks/profile_process.py SESSION.json [--out DIR]

Runs what ``sleepsignal analyze`` runs, in the same order, in this one fresh process,
and prints per phase the wall time and the resident memory (``VmRSS`` now, ``VmHWM``
the peak so far, from ``/proc/self/status``; Linux only). Imports are split into the
decode path, numba, numba's one-time target set-up (started lean as the command line
does, :func:`sleepsignal._numba.lean_process`) and sleepsignal's analysis modules; the
first analysis is split into loading each compiled kernel from the cache (counted per
dispatcher) and the compute itself; a second, warm analysis is timed for comparison.
When the package's kernels compiled ahead of time can be used (``sleepsignal._aot``, as
the command line would use them), the phases are those of that process (no numba);
``--jit`` (or ``SLEEPSIGNAL_NO_AOT=1``) profiles the JIT process instead.
Wall and CPU seconds are printed (CPU is the steadier number on a loaded machine). Run
it twice: the first run into an empty numba cache compiles instead of loading.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
C0 = time.process_time()

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
    """Prints one line per phase: wall and CPU seconds, RSS now, peak RSS so far.

    CPU seconds (user + system of this process) are the steadier number on a shared,
    loaded machine; wall seconds are what a user waits.
    """

    def __init__(self) -> None:
        self.last = T0
        self.last_cpu = C0
        print(
            f"{'phase':48s} {'s':>7s} {'cpu s':>7s} {'total s':>8s} {'total cpu':>9s} "
            f"{'RSS MB':>7s} {'peak MB':>8s}"
        )

    def mark(self, label: str, seconds: float | None = None, cpu: float | None = None) -> None:
        now, now_cpu = time.perf_counter(), time.process_time()
        dt = now - self.last if seconds is None else seconds
        dc = now_cpu - self.last_cpu if cpu is None else cpu
        self.last, self.last_cpu = now, now_cpu
        st = _status()
        print(
            f"{label:48s} {dt:7.3f} {dc:7.3f} {now - T0:8.3f} {now_cpu:9.3f} "
            f"{st['VmRSS']:7d} {st['VmHWM']:8d}"
        )


def _write_and_analyze_again(
    clock: Clock, analysis: list, sessions: list, out: Path | None
) -> None:
    """The last phases of both profiles: the output written as the command line writes
    it, then a second, warm analysis of the same sessions for comparison."""
    from sleepsignal.pipeline import analyze, write_analysis

    out = out or Path(tempfile.mkdtemp(prefix="sleepsignal-profile-"))
    for a in analysis:
        write_analysis(a, out / str(a.session.id) if len(analysis) > 1 else out)
    clock.mark(f"write_analysis -> {out}")
    t, c = time.perf_counter(), time.process_time()
    for s in sessions:
        analyze(s)
    clock.mark(
        "(analyze again, warm, for comparison)", time.perf_counter() - t, time.process_time() - c
    )


def _profile_aot(clock: Clock, sessions: list, out: Path | None) -> None:
    """The phases with the kernels compiled ahead of time (no numba to import or load)."""
    clock.mark("ahead-of-time extension checked and imported")
    from sleepsignal.cli import _load_analysis
    from sleepsignal.pipeline import analyze

    _load_analysis(lean=True)  # as the CLI: imports with the cyclic GC paused, then freeze
    clock.mark("import analysis modules (then gc.freeze)")
    analysis = [analyze(s) for s in sessions]
    clock.mark("analyze, first call (compiled ahead of time: nothing to load)")
    _write_and_analyze_again(clock, analysis, sessions, out)
    from sleepsignal import _numba

    heavy = [m for m in ("numba", "llvmlite", "scipy") if m in sys.modules]
    print(
        f"  imported: {', '.join(heavy) or 'no numba, llvmlite or scipy'}; "
        f"kernel calls that went to JIT: {sorted(_numba.FELL_BACK) or 'none'}"
    )
    import numpy as np

    print(
        f"(numpy {np.__version__}, kernels compiled ahead of time, Python {sys.version.split()[0]})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--jit", action="store_true", help="the JIT phases even when the extension is usable"
    )
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
    from sleepsignal import _numba

    if not args.jit:
        _numba.prefer_aot()  # as the command line does (main() reading sys.argv)
    status = _numba.aot_status()
    if status == "aot":
        _profile_aot(clock, sessions, args.out)
        return
    print(f"  kernels just in time: {status.removeprefix('jit: ')}")
    import gc

    gc.disable()  # as in the CLI's _load_analysis, which imports numba first
    import numba

    clock.mark("import numba")
    from sleepsignal._numba import lean_process
    from sleepsignal.cli import _load_analysis

    steps = lean_process()  # as the CLI's _load_analysis does first
    clock.mark("numba target set-up (lean_process)")
    print(f"  lean_process: {', '.join(steps) or 'nothing'}")
    _load_analysis(lean=False)  # as the CLI: imports with the cyclic GC paused, then freeze
    from sleepsignal.pipeline import analyze

    heavy = sorted(
        m
        for m in (
            "scipy.signal",
            "scipy.ndimage",
            "scipy.fft",
            "scipy.linalg",
            "scipy.stats",
            "numpy.f2py",
            "cffi",
        )
        if m in sys.modules
    )
    clock.mark("import analysis modules (then gc.freeze)")
    print(f"  imported so far: {', '.join(heavy) or 'no scipy submodule, numpy.f2py or cffi'}")
    from numba.core.dispatcher import Dispatcher

    loads: dict[str, float] = {}
    load_cpu = [0.0]
    original = Dispatcher._compile_for_args

    def timed(self, *a, **k):  # type: ignore[no-untyped-def]
        t, c = time.perf_counter(), time.process_time()
        try:
            return original(self, *a, **k)
        finally:
            name = f"{self.py_func.__module__}.{self.py_func.__name__}"
            loads[name] = loads.get(name, 0.0) + time.perf_counter() - t
            load_cpu[0] += time.process_time() - c

    Dispatcher._compile_for_args = timed  # type: ignore[method-assign]
    t, c = time.perf_counter(), time.process_time()
    analysis = [analyze(s) for s in sessions]
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    Dispatcher._compile_for_args = original  # type: ignore[method-assign]
    load = sum(loads.values())
    clock.mark(f"kernels loaded from cache ({len(loads)} dispatchers)", load, load_cpu[0])
    clock.mark("analyze, first call, without the loads", first - load, first_cpu - load_cpu[0])
    for name, s in sorted(loads.items(), key=lambda kv: -kv[1]):
        print(f"    {s * 1e3:6.1f} ms  {name}")
    _write_and_analyze_again(clock, analysis, sessions, args.out)
    print(f"(numpy {np.__version__}, numba {numba.__version__}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
