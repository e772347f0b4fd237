"""The whole job: each stage, the whole pipeline and the whole process, with peers.

Run for real with ``pytest benchmarks/bench_pipeline.py --benchmark-enable
--benchmark-json=bench.json`` and render the README table with
``python benchmarks/render_readme.py bench.json``. In the normal test run benchmarks are
disabled and every body runs once as a smoke test (the 8 h night is marked slow).

Peers, timed in the same session for ratios:

- ``scipy_pipeline`` (``benchmarks/peer_scipy.py``): a plain scipy beat-and-breath script
  (band-pass + ``find_peaks`` for beats at 2-20 Hz and for breaths at 0.1-0.5 Hz), no
  gating, no staging; in process on the same samples, and as a whole process reading the
  same session from disk;
- ``neurokit2``: ``ecg_clean`` + ``ecg_peaks`` + ``rsp_process`` (skipped when absent).

Whole process (``test_process_*``): ``python -m sleepsignal analyze`` on a session written
to a temporary folder (startup, imports, numba cache load, decode, analysis, JSON out),
with the kernels just in time and compiled ahead of time (``test_process_analyze_aot``:
skipped when the package under test has no usable ``sleepsignal._aot``),
against ``python benchmarks/peer_scipy.py`` on the same files; the numba cache is warmed
by one untimed run first. Each round's child peak RSS (``os.wait4``) goes into
``extra_info["peak_rss_mb"]`` (the largest of the rounds), its CPU seconds (user +
system; steadier than wall time on the shared machine) into ``extra_info["cpu_s"]``
(the median). ``test_pipeline`` records the
traced peak of one in-process ``analyze`` call (``tracemalloc``: numpy and Python
allocations above what was already allocated) as ``extra_info["traced_peak_mb"]``.

Compile and cold start are timed apart, in new processes (``test_cold_start``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from peer_scipy import scipy_pipeline

import sleepsignal
from sleepsignal.pipeline import analyze
from sleepsignal.simulate import simulate_night

NIGHTS = [
    pytest.param(5 / 60, id="5min"),
    pytest.param(1.0, id="1h"),
    pytest.param(8.0, id="8h", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module", params=NIGHTS)
def night(request):
    session = simulate_night(request.param, seed=21).session
    analyze(simulate_night(5 / 60, seed=22).session)  # kernels compiled/loaded, untimed
    return session


def test_pipeline(benchmark, night) -> None:
    result = benchmark(analyze, night)
    benchmark.extra_info["traced_peak_mb"] = round(_traced_peak(analyze, night) / 2**20, 1)
    assert len(result.hypnogram) == int(night.duration // 30) or len(result.hypnogram) > 0
    assert "sleep.json" in result.records


def _traced_peak(func, *args) -> int:
    """Peak bytes traced by ``tracemalloc`` (numpy and Python) during one call."""
    import tracemalloc

    tracemalloc.start()
    try:
        func(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_stage_heartbeats(benchmark, night) -> None:
    from sleepsignal.heartbeats import heartbeat_tracks

    tracks = benchmark(heartbeat_tracks, night)
    assert [t.name for t in tracks] == ["heartbeat", "heart_rate"]


def test_stage_tracks(benchmark, night) -> None:
    from sleepsignal.tracks import session_tracks

    out = benchmark(session_tracks, night)
    assert out.as_list()


def test_stage_staging_and_records(benchmark, night) -> None:
    from sleepsignal.heartbeats import heartbeat_tracks
    from sleepsignal.records import build_records
    from sleepsignal.staging import stage_session
    from sleepsignal.statistics import night_statistics
    from sleepsignal.tracks import session_tracks

    s = night.with_tracks([*heartbeat_tracks(night), *session_tracks(night).as_list()])

    def run():
        h = stage_session(s)
        return build_records(s, h, stats=night_statistics(h, s))

    assert "sleep.json" in benchmark(run).records


def test_peer_scipy_pipeline(benchmark, night) -> None:
    x, fs = night.signal()
    beats, breaths = benchmark(scipy_pipeline, x, fs)
    assert len(beats) and len(breaths)


def test_peer_neurokit2(benchmark, night) -> None:
    nk = pytest.importorskip("neurokit2", reason="neurokit2 is not installed (optional peer)")
    x, fs = night.signal()
    x = x.astype(np.float64)

    def run():
        clean = nk.ecg_clean(x, sampling_rate=int(fs))
        nk.ecg_peaks(clean, sampling_rate=int(fs))
        nk.rsp_process(x, sampling_rate=int(fs))

    benchmark.pedantic(run, rounds=1, iterations=1)


COLD = (
    "import time; t0 = time.perf_counter(); import sleepsignal.pipeline as p; "
    "from sleepsignal.simulate import simulate_night; s = simulate_night(0.05, seed=1).session; "
    "t1 = time.perf_counter(); p.analyze(s); print(time.perf_counter() - t1)"
)


@pytest.mark.slow  # compiles every kernel into an empty cache: 20-30 s per case
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_cold_start(benchmark, cache: str) -> None:
    """A new process analysing 3 minutes: compile (cold cache) vs load (warm cache)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        if cache == "warm":
            subprocess.run([sys.executable, "-c", COLD], env=env, check=True, capture_output=True)

        def run() -> float:
            out = subprocess.run(
                [sys.executable, "-c", COLD], env=env, check=True, capture_output=True, text=True
            )
            return float(out.stdout.strip().splitlines()[-1])

        first_call = benchmark.pedantic(run, rounds=1, iterations=1)
    assert first_call > 0


PROCESS_NIGHTS = [
    pytest.param(5 / 60, id="5min"),
    pytest.param(8.0, id="8h", marks=pytest.mark.slow),
]
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_scipy.py"
ROOT = PEER_SCRIPT.parents[1]
PKG_PARENT = Path(sleepsignal.__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=PROCESS_NIGHTS)
def session_file(request, tmp_path_factory) -> Path:
    """A simulated night (seed 21) written as session JSON + blobs, as ``simulate`` does."""
    from sleepsignal.simulate import write_simulated

    out = tmp_path_factory.mktemp(f"night{request.param:g}h")
    return write_simulated(simulate_night(request.param, seed=21), out) / "session.json"


#: Runs argv[1:] as a grandchild and prints its peak RSS (KiB). The child's own
#: ``os.wait4`` figure would not do: Linux carries the RSS high-water mark of the mm
#: replaced at ``exec`` into the child's maxrss, and for a (v)fork of pytest that is
#: pytest's whole heap. A bare ``python -S`` in between is ~10 MB, below every child.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1)\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def _child(argv: list[str], aot: bool = False) -> tuple[float, float]:
    """Run one child process to the end; returns its peak RSS in MB and its CPU seconds
    (user + system), the steadier figure when the shared machine is loaded.

    The child imports the ``sleepsignal`` these benchmarks import (this checkout's, or
    the installed one) and shares the caller's ``NUMBA_CACHE_DIR`` (if set); it uses the
    kernels compiled ahead of time only with ``aot`` (else ``SLEEPSIGNAL_NO_AOT=1``)."""
    path = os.pathsep.join(p for p in (str(PKG_PARENT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("SLEEPSIGNAL_NO_AOT", None)
    if not aot:
        env["SLEEPSIGNAL_NO_AOT"] = "1"
    out = subprocess.run(  # cwd: not the checkout, so PYTHONPATH decides which package
        [sys.executable, "-S", "-c", LAUNCHER, *argv],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode:
        raise RuntimeError(f"{argv} failed ({out.returncode}): {out.stderr[-2000:]}")
    maxrss, cpu = out.stdout.strip().splitlines()[-1].split()
    return int(maxrss) / 1024, float(cpu)  # maxrss in KiB on Linux


def _time_process(benchmark, argv: list[str], aot: bool = False) -> None:
    """Time whole child processes; the largest child peak RSS and the children's median
    CPU seconds go into extra_info."""
    runs: list[tuple[float, float]] = []
    benchmark.pedantic(lambda: runs.append(_child(argv, aot)), rounds=3, iterations=1)
    cpu = sorted(r[1] for r in runs)
    benchmark.extra_info["peak_rss_mb"] = round(max(r[0] for r in runs), 1)
    benchmark.extra_info["cpu_s"] = round(cpu[len(cpu) // 2], 3)
    benchmark.extra_info["load_avg"] = round(os.getloadavg()[0], 2)


AOT_STATUS = "from sleepsignal import _numba; _numba.prefer_aot(); print(_numba.aot_status())"


def test_process_analyze(benchmark, session_file: Path, tmp_path: Path) -> None:
    """``sleepsignal analyze`` as a whole process: startup, imports, cache load, JSON out;
    the kernels just in time (``SLEEPSIGNAL_NO_AOT=1``)."""
    _process_analyze(benchmark, session_file, tmp_path, aot=False)


def test_process_analyze_aot(benchmark, session_file: Path, tmp_path: Path) -> None:
    """The same with the kernels compiled ahead of time (``sleepsignal._aot``)."""
    env = dict(os.environ, PYTHONPATH=str(PKG_PARENT))
    env.pop("SLEEPSIGNAL_NO_AOT", None)
    status = subprocess.run(
        [sys.executable, "-c", AOT_STATUS],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    ).stdout.strip()
    if status != "aot":
        from sleepsignal._aot_build import NO_BUILD_ENV, extension_expected_missing

        expected = extension_expected_missing(PKG_PARENT / "sleepsignal", ROOT)
        if expected is None:  # an install (CI's too) that should have built it
            pytest.fail(
                f"the installed package does not use its ahead-of-time kernels ({status}); "
                f"set {NO_BUILD_ENV}=1 where that is expected"
            )
        pytest.skip(
            f"no usable ahead-of-time extension ({status}; {expected}); build it with "
            "`python -m sleepsignal._aot_build build`"
        )
    _process_analyze(benchmark, session_file, tmp_path, aot=True)


def _process_analyze(benchmark, session_file: Path, tmp_path: Path, aot: bool) -> None:
    argv = [sys.executable, "-m", "sleepsignal", "analyze", str(session_file), "--out"]
    if not benchmark.disabled and not aot:  # numba cache filled once, untimed
        _child([*argv, str(tmp_path / "warm")])
    _time_process(benchmark, [*argv, str(tmp_path / "out")], aot)
    assert (tmp_path / "out" / "sleep.json").is_file()


def test_process_peer_scipy(benchmark, session_file: Path, tmp_path: Path) -> None:
    """The plain scipy script as a whole process on the same files."""
    out = tmp_path / "peer.json"
    _time_process(benchmark, [sys.executable, str(PEER_SCRIPT), str(session_file), str(out)])
    assert json.loads(out.read_text())["beat_intervals"]


def test_profile_process_script(session_file: Path, tmp_path: Path) -> None:
    """``benchmarks/profile_process.py`` (the phase table of the README) runs and reports."""
    script = Path(__file__).resolve().parent / "profile_process.py"
    out = subprocess.run(
        [sys.executable, str(script), str(session_file), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kernels loaded from cache" in out.stdout or "compiled ahead of time" in out.stdout
    assert (tmp_path / "sleep.json").is_file()
