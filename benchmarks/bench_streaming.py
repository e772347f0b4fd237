"""Speed and memory of streaming (:mod:`sleepsignal.streaming`) at 5 min / 1 h / 8 h / 7 days.

Target (issue 7): a recording of any length in memory bounded independently of its
length; 7 days at about 21 x the 8-hour time. Each case writes a Beddit session file
(a 30-minute simulated night tiled to length, written in pieces) and times
``stream_session_tracks`` on it, heartbeats included; up to 8 h the whole-signal path
(``read_session`` + ``session_tracks`` + ``heartbeat_tracks``) is timed in the same run
for the ratio.

- ``pytest benchmarks/bench_streaming.py --benchmark-enable -m "slow or not slow"``
  times 5 min, 1 h and 8 h; the 7-day case also needs ``SLEEPSIGNAL_BENCH_WEEK=1``
  (it writes a 190 MB session to the temporary folder and takes about a minute per
  round); without it, it is skipped with a message. In the default smoke run
  (``--benchmark-disable``) the 5-minute and 1-hour cases run once.
- ``python benchmarks/bench_streaming.py --agreement`` prints how equal the streamed
  heartbeat tracks are to the whole-signal ones on three simulated 8 h nights (1 h
  segments, so 7 seams each; the other tracks are identical and tested so).
- ``python benchmarks/bench_streaming.py HOURS [HOURS ...]`` prints, per length, the wall
  time and the peak resident memory of a fresh process that streams the session
  (``resource.getrusage`` of the child), and of one that only imports the package and
  loads its kernels (the floor any run pays).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

FS = 140.0
WEEK_ENV = "SLEEPSIGNAL_BENCH_WEEK"


def write_tiled_session(hours: float, folder: Path) -> Path:
    """A session of ``hours`` (a 30-min simulated night tiled), written in 30-min pieces."""
    from sleepsignal.io.beddit import write_session
    from sleepsignal.simulate import simulate_night

    base = simulate_night(0.5, seed=11, bed_exits=1, sleep_onset=60.0, mains_hz=50.0)
    folder.mkdir(parents=True, exist_ok=True)
    path = write_session(base.session, folder / "session.json")
    x = base.session.sampled_tracks["normal"].data
    noise = base.session.sampled_tracks["noise"].data
    n = round(hours * 3600 * FS) // 28 * 28  # whole 0.2 s frames
    obj = json.loads(path.read_text())
    urls = {k: v["data_url"] for k, v in obj["sampled_tracks"].items()}
    with open(folder / urls["normal"], "wb") as fn, open(folder / urls["noise"], "wb") as fz:
        done = 0
        while done < n:
            k = min(len(x), n - done)
            x[:k].astype("<u2").tofile(fn)
            noise[: k // 14].astype("<f4").tofile(fz)
            done += k
    obj["end_timestamp"] = obj["start_timestamp"] + n / FS
    path.write_text(json.dumps(obj))
    return path


_PATHS: dict[float, Path] = {}


def _session_file(hours: float, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if hours not in _PATHS:
        _PATHS[hours] = write_tiled_session(hours, tmp_path_factory.mktemp(f"s{hours:g}h"))
    return _PATHS[hours]


def _whole(path: Path) -> int:
    from sleepsignal.heartbeats import heartbeat_tracks
    from sleepsignal.io.beddit import read_session
    from sleepsignal.tracks import session_tracks

    s = read_session(path)
    r = session_tracks(s)
    hb = heartbeat_tracks(s)
    return len(r.respiration_cycles) + len(hb[0])


def _week_enabled() -> bool:
    return os.environ.get(WEEK_ENV) == "1"


LENGTHS = [
    pytest.param(5 / 60, id="5min"),
    pytest.param(1.0, id="1h"),
    pytest.param(8.0, id="8h", marks=pytest.mark.slow),
    pytest.param(168.0, id="7d", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("hours", LENGTHS)
def test_bench_stream_session_tracks(benchmark, tmp_path_factory, hours):
    from sleepsignal.streaming import stream_session_tracks

    if hours > 24 and not _week_enabled():
        pytest.skip(f"the 7-day case writes 190 MB and runs ~1 min: set {WEEK_ENV}=1")
    path = _session_file(hours, tmp_path_factory)
    stream_session_tracks(path, heartbeats=False)  # kernels compiled outside the timing
    out = benchmark.pedantic(stream_session_tracks, args=(path,), rounds=1 if hours > 24 else 3)
    assert out.n_samples == round(hours * 3600 * FS) // 28 * 28
    assert out.heartbeat is not None
    assert len(out.heartbeat) > 1000 * hours  # 1368 reliable intervals per hour here


@pytest.mark.parametrize("hours", LENGTHS[:3])
def test_bench_whole_signal_same_tracks(benchmark, tmp_path_factory, hours):
    path = _session_file(hours, tmp_path_factory)
    _whole(path)
    n = benchmark.pedantic(_whole, args=(path,), rounds=3)
    assert n > 0


def _child(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of ``python -c`` running ``args`` in a new process."""
    import resource
    import subprocess
    import time

    root = str(Path(__file__).resolve().parents[1])  # the checkout, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", *args], check=True, env=env)
    wall = time.perf_counter() - t
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, rss_kb / 1024


def agreement() -> None:
    """Streamed vs whole-signal heartbeat tracks on three simulated 8 h nights."""
    import numpy as np

    from sleepsignal.heartbeats import heartbeat_tracks
    from sleepsignal.simulate import simulate_night
    from sleepsignal.streaming import stream_tracks

    def match(a_t, a_v, b_t, b_v, reach=0.05):
        i = np.clip(np.searchsorted(b_t, a_t), 1, len(b_t) - 1)
        k = np.where(np.abs(b_t[i] - a_t) < np.abs(b_t[i - 1] - a_t), i, i - 1)
        dt = np.abs(b_t[k] - a_t)
        near = dt <= reach
        dv = np.abs(b_v[k] - a_v)[near]
        return near.mean(), (dv <= 1e-6).mean(), dv.max(), dt[near].max()

    for seed, profile in ((3, "mixed"), (21, "cardiac"), (22, "respiratory")):
        night = simulate_night(8, seed=seed, profile=profile)
        hb, hr = heartbeat_tracks(night.session)
        out = stream_tracks(night.session.sampled_tracks["normal"].data, FS)
        assert out.heartbeat is not None and out.heart_rate is not None
        sb, sr = out.heartbeat, out.heart_rate
        found, same, dv, dt = match(hb.times, hb.values, sb.times, sb.values)
        back = match(sb.times, sb.values, hb.times, hb.values)[0]
        _, ia, ib = np.intersect1d(hr.times, sr.times, return_indices=True)
        print(
            f"seed {seed} {profile}: intervals whole {len(hb)} streamed {len(sb)}; found "
            f"{found:.4f}, streamed found in whole {back:.4f}; same value {same:.4f}; largest "
            f"value difference {dv * 1000:.3f} ms; largest start difference {dt * 1000:.1f} ms; "
            f"heart-rate windows {len(hr)} / {len(sr)}, largest difference "
            f"{np.max(np.abs(hr.values[ia] - sr.values[ib])):.2f} bpm"
        )


def main(argv: list[str]) -> None:
    import tempfile

    if argv == ["--agreement"]:
        agreement()
        return

    floor = (
        "import numpy as np, sleepsignal.streaming as s, sleepsignal.io.beddit as b;"
        "from sleepsignal.simulate import simulate_night;"
        "x = simulate_night(0.1, seed=1).session;"
        "s.stream_tracks(x.sampled_tracks['normal'].data, 140.0)"
    )
    _, rss = _child([floor])
    print(f"floor (imports, kernels loaded, a 6-minute stream): peak RSS {rss:.0f} MB")
    for hours in (float(h) for h in argv):
        with tempfile.TemporaryDirectory() as tmp:
            path = write_tiled_session(hours, Path(tmp) / "s")
            code = (
                "import time, sleepsignal.streaming as s; t = time.perf_counter();"
                f"o = s.stream_session_tracks({str(path)!r});"
                "print(f'  streamed {o.n_samples} samples in {time.perf_counter() - t:.2f} s')"
            )
            wall, rss = _child([code])
            # RUSAGE_CHILDREN keeps the largest child so far: lengths go in increasing order
            print(f"{hours:g} h: wall {wall:.2f} s (with imports), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout
    main(sys.argv[1:] or ["0.0833", "1", "8"])
