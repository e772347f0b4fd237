"""Whole ``sleepsignal analyze`` processes with and without the kernels compiled ahead of
time, against the plain scipy script; and what the ahead-of-time build adds to an install.

Usage::

    python benchmarks/aot_process.py SESSION.json [--rounds 5] [--checkout DIR ...]
    python benchmarks/aot_process.py --install [--checkout DIR ...]

Processes: ``python -m sleepsignal analyze SESSION --out ...`` of this checkout's package
(build its extension first: ``python -m sleepsignal._aot_build build``), the same with
``SLEEPSIGNAL_NO_AOT=1`` (JIT, numba's cache warmed by one untimed run), the same of
every ``--checkout`` (e.g. a checkout of ``main``), and ``benchmarks/peer_scipy.py``;
``--rounds`` interleaved rounds; wall seconds, CPU seconds (user + system) and peak RSS
of each child (``os.wait4``; this small parent's own peak is below every child's). The
ahead-of-time process is checked first to use the extension (no numba imported) and to
write the JIT process's bytes.

``--install``: ``pip install`` of this checkout into a new virtual environment (each
case its own), timed: with the C compiler, with ``CC=/bin/false`` (no compiler: the
install must succeed without the extension), and of each ``--checkout`` (e.g. ``main``,
which has no build step); then whether the installed command line uses the extension.
pip's download cache is warm (the same wheels every time), so the times are the build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER = Path(__file__).resolve().parent / "peer_scipy.py"

CHECK = (
    "import json, sys\n"
    "sys.argv = ['sleepsignal', 'analyze', sys.argv[1], '--out', sys.argv[2]]\n"
    "from sleepsignal.cli import main\n"
    "rc = main()\n"
    "from sleepsignal import _numba\n"
    "print(json.dumps([rc, _numba.aot_status(), sorted(_numba.FELL_BACK),\n"
    "    [m for m in ('numba', 'llvmlite', 'scipy') if m in sys.modules]]))\n"
)


def _env(no_aot: bool, pythonpath: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SLEEPSIGNAL_NO_AOT", None)
    if no_aot:
        env["SLEEPSIGNAL_NO_AOT"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


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


def processes(session: Path, rounds: int, checkouts: list[Path], work: Path) -> None:
    py = sys.executable
    analyze = [py, "-m", "sleepsignal", "analyze", str(session), "--out"]
    check = subprocess.run(
        [py, "-c", CHECK, str(session), str(work / "aot")],
        cwd=ROOT,
        env=_env(False),
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run(
        [*analyze, str(work / "jit")], cwd=ROOT, env=_env(True), check=True, capture_output=True
    )
    rc, status, fell_back, imported = json.loads(check.stdout.strip().splitlines()[-1])
    print(
        f"ahead-of-time process: exit {rc}, {status}, calls that went to JIT: "
        f"{fell_back or 'none'}, imported: {imported or 'no numba, llvmlite or scipy'}; "
        f"files differing from JIT: {_same_files(work / 'aot', work / 'jit') or 'none'}"
    )
    runs: dict[str, tuple[list[str], Path, dict[str, str]]] = {
        "sleepsignal analyze, ahead of time": ([*analyze, str(work / "t")], ROOT, _env(False)),
        "sleepsignal analyze, SLEEPSIGNAL_NO_AOT=1": (
            [*analyze, str(work / "t")],
            ROOT,
            _env(True),
        ),
    }
    for other in checkouts:
        runs[f"sleepsignal analyze ({other.name})"] = (
            [*analyze, str(work / "t")],
            other.resolve(),
            _env(True, other.resolve()),
        )
        subprocess.run(  # its numba cache warmed, untimed
            [*analyze, str(work / "t")],
            cwd=other,
            env=_env(True, other.resolve()),
            check=True,
            capture_output=True,
        )
    runs["plain scipy script (peer_scipy.py)"] = (
        [py, str(PEER), str(session), str(work / "peer.json")],
        ROOT,
        _env(True),
    )
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    for _ in range(rounds):
        for label, (argv, cwd, env) in runs.items():
            results[label].append(_run(argv, cwd, env))
    load = os.getloadavg()
    print(f"\n{rounds} rounds each, interleaved; load average {load[0]:.1f} {load[1]:.1f}")
    print(f"{'process':44s} {'wall s':>16s} {'CPU s':>16s} {'peak MB':>8s}")
    for label, rs in results.items():
        wall = sorted(r[0] for r in rs)
        cpu = sorted(r[1] for r in rs)
        print(
            f"{label:44s} {wall[len(wall) // 2]:5.2f} ({wall[0]:.2f}-{wall[-1]:.2f}) "
            f"{cpu[len(cpu) // 2]:5.2f} ({cpu[0]:.2f}-{cpu[-1]:.2f}) {max(r[2] for r in rs):8.0f}"
        )
    print("(median (min-max) of the rounds; peak MB: the largest child peak RSS)")


STATUS = (
    "import json\n"
    "from sleepsignal import _numba\n"
    "_numba.prefer_aot()\n"
    "print(json.dumps(_numba.aot_status()))\n"
)


def install(checkouts: list[Path], work: Path) -> None:
    cases = [
        ("this checkout", ROOT, {}),
        ("this checkout, again: the build's numba cache is warm", ROOT, {}),
        ("this checkout, CC=/bin/false", ROOT, {"CC": "/bin/false"}),
        *[(f"{c.name} (a checkout)", c.resolve(), {}) for c in checkouts],
    ]
    for label, src, extra in cases:
        venv = work / "venv"
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        subprocess.run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        env = dict(os.environ, **extra)
        env.pop("NUMBA_CACHE_DIR", None)  # numba's default: beside the sources
        t = time.perf_counter()
        run = subprocess.run(
            [py, "-m", "pip", "install", "-v", str(src)],
            env=env,
            capture_output=True,
            text=True,
            cwd=work,
        )
        wall = time.perf_counter() - t
        said = [line.strip() for line in run.stdout.splitlines() + run.stderr.splitlines()]
        said = [line for line in said if line.startswith("sleepsignal:")]
        status = subprocess.run(
            [py, "-c", STATUS], capture_output=True, text=True, cwd=work
        ).stdout.strip()
        print(
            f"pip install ({label}): exit {run.returncode}, {wall:.1f} s wall; "
            f"installed command line: {status}; build said: {said or 'nothing'}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session", type=Path, nargs="?")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--checkout", type=Path, action="append", default=[])
    ap.add_argument("--install", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sleepsignal-aot-") as tmp:
        if args.install:
            install(args.checkout, Path(tmp))
        elif args.session is None:
            ap.error("SESSION is required (or --install)")
        else:
            processes(args.session.resolve(), args.rounds, args.checkout, Path(tmp))


if __name__ == "__main__":
    main()
