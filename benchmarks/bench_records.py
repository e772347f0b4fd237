"""Speed of statistics and records: one night (1 h, 8 h) and a list page over a year of nights.

Run for real with ``pytest benchmarks/bench_records.py --benchmark-enable``; in the normal
test run benchmarks are disabled and each body runs once as a smoke test. Nothing here is
compiled (no numba), so there is no warm-up to exclude.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepsignal.hypnogram import Hypnogram
from sleepsignal.records import build_records
from sleepsignal.records.jawbone import jawbone_list_page, jawbone_sleep
from sleepsignal.session import Session, TimeValueTrack
from sleepsignal.statistics import night_statistics

START = 1.7e9
HOURS = {"1h": 1.0, "8h": 8.0}


def _night(hours: float, seed: int = 0) -> tuple[Session, Hypnogram]:
    """A night with the tracks the pipeline derives: 30 s heart rate, beats, breaths, moves."""
    rng = np.random.default_rng(seed)
    n = int(hours * 120)
    stages = rng.choice(6, size=n, p=[0.12, 0.5, 0.15, 0.2, 0.02, 0.01]).astype(np.int64)
    stages = np.repeat(stages[: max(1, n // 6)], 6)[:n]  # 3 min blocks
    duration = n * 30.0
    t_hr = np.arange(0.0, duration, 30.0)
    iv = rng.normal(1.0, 0.05, int(duration)).astype(np.float32)
    beats = np.concatenate(([0.0], np.cumsum(iv.astype(np.float64))[:-1]))
    keep = beats + iv < duration
    resp = np.arange(0.0, duration - 5, 4.0)
    tracks = [
        TimeValueTrack("heart_rate", t_hr, rng.normal(60, 3, len(t_hr)).astype(np.float32)),
        TimeValueTrack("heartbeat", beats[keep], iv[keep]),
        TimeValueTrack("respiration_cycles", resp, np.full(len(resp), 4.0, np.float32)),
        TimeValueTrack("actigram", t_hr[::2], rng.poisson(1, len(t_hr[::2])).astype(np.float32)),
        TimeValueTrack("snoring_events", [600.0], np.array([3.0], np.float32)),
    ]
    md = {"start_timestamp": START, "end_timestamp": START + duration, "timezone": "UTC"}
    session = Session(md, {}, {t.name: t for t in tracks})
    return session, Hypnogram(stages, start=START, timezone="UTC")


@pytest.fixture(scope="module", params=list(HOURS), ids=list(HOURS))
def night(request: pytest.FixtureRequest) -> tuple[Session, Hypnogram]:
    return _night(HOURS[request.param])


def test_night_statistics(benchmark, night) -> None:
    session, hyp = night
    stats = benchmark(night_statistics, hyp, session)
    assert stats.total_sleep_time > 0


def test_build_records(benchmark, night) -> None:
    session, hyp = night
    built = benchmark(build_records, session, hyp, patient_id=1)
    assert "impilo.json" in built.records


def test_jawbone_list_page_year(benchmark) -> None:
    session, hyp = _night(8.0)
    stats = night_statistics(hyp, session)
    item = jawbone_sleep(hyp, stats)
    sleeps = [
        {
            **item,
            "xid": f"x{i}",
            "time_created": item["time_created"] + 86400 * i,
            "time_completed": item["time_completed"] + 86400 * i,
        }
        for i in range(365)
    ]
    page = benchmark(jawbone_list_page, sleeps, start_time=int(START), limit=10)
    assert page["data"]["size"] == 10
