"""The same input gives the same bytes: run to run, process to process, at any alignment.

Users re-run batches, cache results and hold regression tests on exact outputs, so every
output of the analysis must be a function of the input bytes and the package version
only (on one machine; see the README, development). Each test here removes one way in
which it could depend on something else and checks that nothing moves, bit for bit:

- the memory alignment of the input (numba's and numpy's SIMD reductions could peel to
  an aligned address first, which changes the order of the additions): the signal
  copied to every byte offset of a 64-byte line; the SIMD reduction helpers of the
  heartbeat kernels called on windows at every offset;
- reading memory before writing it: the analysis run with ``np.empty`` /
  ``np.empty_like`` of every module under ``sleepsignal/`` returning NaN- and
  garbage-filled arrays, and (kernels allocate inside numba, out of reach of a Python
  patch) in a new process whose C allocator fills every allocation with a fixed byte
  (glibc's ``MALLOC_PERTURB_``), with the mmap threshold raised so that large arrays come
  from the reused heap too;
- process state: a second run in the same process, a new process with another hash
  seed and the batch worker's one-thread BLAS/numba environment;
- threads: sessions analysed side by side in a thread pool.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sleepsignal
from sleepsignal import _heartbeat_kernels as K
from sleepsignal.heartbeats import detect_heartbeats
from sleepsignal.pipeline import analyze
from sleepsignal.session import Session
from sleepsignal.simulate import simulate_night
from sleepsignal.streaming import stream_tracks

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(sleepsignal.__file__).resolve().parent
LINE = 64  # bytes: a cache line, and the widest SIMD register (AVX-512)

#: (hours, simulate_night keyword arguments): short nights that still reach every stage
NIGHTS: dict[str, tuple[float, dict[str, Any]]] = {
    "mixed": (1 / 3, {"seed": 1}),
    "cardiac-exit": (0.4, {"seed": 2, "profile": "cardiac", "bed_exits": 1, "sleep_onset": 300.0}),
    "respiratory-mains": (1 / 3, {"seed": 3, "profile": "respiratory", "mains_hz": 50.0}),
}


def _night(name: str) -> Session:
    hours, kwargs = NIGHTS[name]
    return simulate_night(hours, **kwargs).session


def _digest(value: Any) -> str:
    if isinstance(value, np.ndarray):
        data = value.dtype.str.encode() + str(value.shape).encode() + value.tobytes()
    else:
        data = repr(value).encode()
    return hashlib.sha256(data).hexdigest()


def _fields(obj: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for f in obj._fields:
        yield f"{prefix}.{f}", getattr(obj, f)


def analysis_digests(session: Session) -> dict[str, str]:
    """A digest of every output of :func:`analyze` (as ``benchmarks/snapshot_outputs.py``
    takes them) and of the detector's fields."""
    out: dict[str, Any] = dict(_fields(detect_heartbeats(*session.signal("normal")), "hb"))
    a = analyze(session)
    for name, track in sorted(a.session.time_value_tracks.items()):
        out[f"track.{name}.times"] = np.asarray(track.times)
        out[f"track.{name}.values"] = np.asarray(track.values)
    h = a.hypnogram
    out["hypnogram.stages"] = np.asarray(h.stages)
    if h.probabilities is not None:
        out["hypnogram.probabilities"] = np.asarray(h.probabilities)
    out["hypnogram.info"] = json.dumps(dict(h.info), sort_keys=True, default=str)
    out["statistics"] = repr(a.statistics)
    for name, record in sorted(a.records.items()):
        out[f"record.{name}"] = json.dumps(record, sort_keys=True, default=str)
    out["notes"] = "\n".join(a.notes)
    return {k: _digest(v) for k, v in out.items()}


def all_digests() -> dict[str, dict[str, str]]:
    return {name: analysis_digests(_night(name)) for name in NIGHTS}


def _moved(a: dict[str, dict[str, str]], b: dict[str, dict[str, str]]) -> list[str]:
    assert a.keys() == b.keys()
    return [
        f"{n}: {k}"
        for n in a
        for k in sorted(a[n].keys() | b[n].keys())
        if a[n].get(k) != b[n].get(k)
    ]


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, str]]:
    """Digests of a first run in this process (compiles or loads every kernel used)."""
    return all_digests()


# -- alignment ----------------------------------------------------------------------


def at_offset(a: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``a`` whose first byte lies ``offset`` bytes past a 64-byte boundary."""
    buf = np.empty(a.nbytes + 2 * LINE, dtype=np.uint8)
    start = (-buf.ctypes.data) % LINE + offset
    b = buf[start : start + a.nbytes].view(a.dtype)
    b[:] = a
    assert b.ctypes.data % LINE == offset and b.flags.c_contiguous
    return b


def _offsets(itemsize: int) -> range:
    return range(0, LINE, itemsize)


@pytest.mark.slow  # ~20 s: 8 offsets x 2 dtypes of a whole detection
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_detect_heartbeats_is_the_same_at_every_alignment(dtype: type) -> None:
    x, fs = _night("mixed").signal("normal")
    x = x.astype(dtype)
    hb = detect_heartbeats(x, fs)
    assert hb.beat_times.size > 500 and hb.reliable.any()  # a night with beats to move
    ref = {k: _digest(np.asarray(v)) for k, v in _fields(hb, "hb")}
    for off in _offsets(x.itemsize):
        got = detect_heartbeats(at_offset(x, off), fs)
        moved = [k for k, v in _fields(got, "hb") if _digest(np.asarray(v)) != ref[k]]
        assert not moved, f"offset {off} bytes moved {moved}"


def _stream_digests(x: np.ndarray, fs: float, noise: np.ndarray, noise_fs: float) -> dict[str, str]:
    s = stream_tracks(x, fs, noise=noise, noise_fs=noise_fs, chunk_s=600.0)
    out = {
        f"{t.name}.{p}": _digest(np.asarray(getattr(t, p)))
        for t in s.as_list()
        for p in ("times", "values")
    }
    out.update((k, _digest(np.asarray(v))) for k, v in _fields(s.heartbeats, "hb"))
    return out


@pytest.mark.slow  # ~11 s
def test_every_track_is_the_same_at_every_alignment() -> None:
    """Breathing, movement, presence, mains, snoring and the heartbeats, through
    :func:`stream_tracks` (which takes arrays: its chunks are views of them)."""
    session = _night("respiratory-mains")
    x, fs = session.signal("normal")
    noise, noise_fs = session.signal("noise")
    ref = _stream_digests(x, fs, noise, noise_fs)
    assert len(ref) > 20
    for off in _offsets(x.itemsize):
        for noff in (0, 4, 12, 36):
            got = _stream_digests(at_offset(x, off), fs, at_offset(noise, noff), noise_fs)
            moved = sorted(k for k in ref if got.get(k) != ref[k])
            assert not moved, f"signal at +{off} B, noise at +{noff} B moved {moved}"


#: The heartbeat kernels' reductions compiled with REASSOC_MATH (sums in SIMD lanes,
#: order chosen by LLVM): the ones an alignment peel would change.
def _reductions(a: np.ndarray, b: np.ndarray, w: int) -> tuple[Any, ...]:
    return (
        K._dot(a, b, w),
        K._dot2(a, b, 0, 3, w),
        K._dot_and_square(a, b, w),
        K._sums(b, 2, w),
        K._centre_window(b, 1, w, np.empty(w)),
    )


def test_simd_reductions_do_not_depend_on_alignment() -> None:
    rng = np.random.default_rng(0)
    for w in [*range(1, 40), 63, 64, 65, 127, 128, 129, 200, 320]:
        a = rng.standard_normal(w)
        b = rng.standard_normal(w + 8) * 1e3 + 5.0  # an offset: rounding shows in the sums
        ref = _reductions(a, b, w)
        for oa in _offsets(8):
            for ob in _offsets(8):
                got = _reductions(at_offset(a, oa), at_offset(b, ob), w)
                assert got == ref, (w, oa, ob)


# -- memory read before it is written ---------------------------------------------------


#: what the poisoned ``np.empty`` fills float arrays with (NaN passes many comparisons
#: unnoticed; a huge finite value trips them)
POISON = {"nan": np.nan, "huge": 1e300}
POISON_CALLS: list[int] = []


def _poisoned(make: Callable[..., np.ndarray], fill: float) -> Callable[..., np.ndarray]:
    """``np.empty``/``np.empty_like`` whose arrays hold ``fill`` (floats), a large odd
    number (integers) or True (booleans) instead of whatever the allocator left there."""

    def poisoned(*args: Any, **kwargs: Any) -> np.ndarray:
        a = make(*args, **kwargs)
        POISON_CALLS.append(a.size)
        if a.dtype.kind in "fc":
            a.fill(fill)
        elif a.dtype.kind in "iu":
            a.fill(np.iinfo(a.dtype).max // 3 + 12345)
        elif a.dtype.kind == "b":
            a.fill(True)
        return a

    return poisoned


class _NumpyWithPoisonedEmpty(types.ModuleType):
    """numpy, but for ``empty`` and ``empty_like``."""

    def __init__(self, fill: float) -> None:
        super().__init__("numpy")
        self.empty = _poisoned(np.empty, fill)
        self.empty_like = _poisoned(np.empty_like, fill)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _modules_using_np() -> list[types.ModuleType]:
    return [
        m
        for name, m in sorted(sys.modules.items())
        if (name == "sleepsignal" or name.startswith("sleepsignal."))
        and isinstance(m, types.ModuleType)
        and getattr(m, "np", None) is np
    ]


@pytest.mark.parametrize("poison", sorted(POISON))
def test_poisoned_numpy_allocations_change_nothing(
    reference: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch, poison: str
) -> None:
    """Every module under ``sleepsignal/`` sees ``np.empty``/``np.empty_like`` that fill
    their arrays. Kernels were compiled by ``reference`` (a namespace is not something
    numba can compile against); their own allocations are poisoned in the next test."""
    poisoned = _NumpyWithPoisonedEmpty(POISON[poison])
    modules = _modules_using_np()
    assert len(modules) > 20, [m.__name__ for m in modules]
    for m in modules:
        monkeypatch.setattr(m, "np", poisoned)
    assert poisoned.fft is np.fft
    POISON_CALLS.clear()
    moved = _moved(reference, all_digests())
    assert len(POISON_CALLS) > 30  # the analysis did allocate through them (89 calls)
    assert not moved, moved


# -- new processes ------------------------------------------------------------------------

CHILD = (
    "import json, sys\n"
    "import numpy as np\n"
    "probe = np.empty(1 << 17, dtype=np.uint8)\n"  # 128 KiB: would be mmap'd, fresh zeros
    "first = int(probe[0]) if (probe == probe[0]).all() else -1\n"
    "import test_determinism as t\n"
    "print(json.dumps({'probe': first, 'digests': t.all_digests()}))\n"
)


def _child(env_extra: dict[str, str]) -> dict[str, Any]:
    env = dict(os.environ, **env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG.parent), str(ROOT / "tests")])
    run = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


#: the environment of a batch worker (sleepsignal.batch.WORKER_ENV) and another hash seed
BATCH_LIKE = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "PYTHONHASHSEED": "12345",
}


def test_a_new_process_gives_the_same_bytes(reference: dict[str, dict[str, str]]) -> None:
    """A second process, with a batch worker's thread settings and another hash seed."""
    got = _child(BATCH_LIKE)
    moved = _moved(reference, got["digests"])
    assert not moved, moved


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MALLOC_PERTURB_ is glibc's")
@pytest.mark.parametrize("byte", [165, 1])
def test_poisoned_c_allocations_change_nothing(
    reference: dict[str, dict[str, str]], byte: int
) -> None:
    """Every ``malloc`` of the process (numpy's arrays and numba's, inside kernels too)
    filled with ``~byte``; the mmap threshold at its maximum (32 MiB), so that the
    signal-sized arrays also come from the heap, at varying alignments, reused."""
    got = _child({"MALLOC_PERTURB_": str(byte), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)})
    if got["probe"] != (~byte & 0xFF):
        pytest.skip(f"MALLOC_PERTURB_ had no effect here (a fresh array read {got['probe']})")
    moved = _moved(reference, got["digests"])
    assert not moved, moved


# -- the same process ------------------------------------------------------------------


def test_a_second_run_in_the_same_process_gives_the_same_bytes(
    reference: dict[str, dict[str, str]],
) -> None:
    moved = _moved(reference, all_digests())
    assert not moved, moved


def test_threads_side_by_side_give_the_same_bytes(reference: dict[str, dict[str, str]]) -> None:
    names = list(NIGHTS) * 2
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda n: (n, analysis_digests(_night(n))), names))
    moved = [
        f"{n}: {k}" for n, got in results for k in reference[n] if got.get(k) != reference[n][k]
    ]
    assert not moved, moved
