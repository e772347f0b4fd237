"""Reliable heartbeat intervals around PVC-shaped ectopic beats, on simulated nights.

Run from the repository root::

    python benchmarks/accuracy_heartbeats_ectopic.py            # 3 nights x 4 rates x 2 heart rates
    python benchmarks/accuracy_heartbeats_ectopic.py --nights 6 --hours 2

Each night (``tests/sim_ectopic.py``: ``pvc_night``) replaces a share of the normal
beats by premature beats (60-75 % of the normal interval) with a wide complex of another
shape and a full compensatory pause ("PVC"), or inserts interpolated premature beats (at
30-45 % of a normal interval, no pause; "interpolated", of the normal shape or wide).
Prints per kind, ectopic rate and mean normal interval:
the ectopic beats, the reliable intervals, how many reliable (and length-reliable)
intervals span a true beat (their length is two true intervals, not one) per 100
ectopic beats, and reliable intervals within 2.5 s of an ectopic beat whose length
matches no true interval within 50 ms.

With ``--li2024 N`` it also runs the first N li2024 nights as
``benchmarks/accuracy_heartbeats.py`` does (their recorded RR, ectopic beats included,
rendered with the normal shape) and counts the reliable intervals that span a true beat,
and how many of those span a true interval under 0.375 s (faster than the detector's
160 bpm ceiling; in chest-strap RR most such are double-counted beats).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sim_ectopic import pvc_night, spanning  # noqa: E402

from sleepsignal.heartbeats import detect_heartbeats  # noqa: E402

PROFILES = ("cardiac", "mixed", "respiratory")
KINDS = {
    "PVC": {},
    "interpolated": {"stretch": 1.0, "pause": 0.0, "at": (0.3, 0.45)},
    "interpolated wide": {"pause": 0.0, "at": (0.3, 0.45)},
}


def _wrong_near(starts: np.ndarray, iv: np.ndarray, beats: np.ndarray, ect: np.ndarray) -> int:
    i0 = np.searchsorted(beats, starts)
    ok = np.zeros(len(starts), dtype=bool)
    for d in (-2, -1, 0, 1):
        i = np.clip(i0 + d, 0, len(beats) - 2)
        ok |= np.abs(iv - (beats[i + 1] - beats[i])) <= 0.05
    j = np.clip(np.searchsorted(ect, starts), 1, len(ect) - 1)
    near = np.minimum(np.abs(ect[j] - starts), np.abs(ect[j - 1] - starts)) < 2.5
    return int(np.sum(~ok & near))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nights", type=int, default=3, help="nights per setting (default 3)")
    p.add_argument("--hours", type=float, default=1.0, help="hours per night (default 1)")
    p.add_argument("--li2024", type=int, default=0, help="li2024 nights to count (default 0)")
    args = p.parse_args(argv)
    print(
        "| kind | ectopic rate | mean RR (s) | ectopics | reliable | spanning per 100 ectopics "
        "(reliable / length-reliable) | wrong near ectopics |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    settings = [(kind, m, r) for kind in KINDS for m in (0.95, 0.65) for r in (0.01, 0.03, 0.05)]
    for kind, mean_rr, rate in settings:
        n_e = n_r = n_s = n_sl = n_w = 0
        for k in range(args.nights):
            night = pvc_night(
                args.hours, k, rate, profile=PROFILES[k % 3], mean_rr=mean_rr, **KINDS[kind]
            )
            hb = detect_heartbeats(night.x, night.fs)
            r, lr = hb.reliable, hb.length_reliable
            n_e += len(night.ectopic)
            n_r += int(r.sum())
            n_s += int(spanning(hb.interval_starts[r], hb.intervals[r], night.beats).sum())
            n_sl += int(spanning(hb.interval_starts[lr], hb.intervals[lr], night.beats).sum())
            n_w += _wrong_near(hb.interval_starts[r], hb.intervals[r], night.beats, night.ectopic)
        print(
            f"| {kind} | {rate:.0%} | {mean_rr:.2f} | {n_e} | {n_r} | "
            f"{100 * n_s / n_e:.2f} / {100 * n_sl / n_e:.2f} | {n_w} |",
            flush=True,
        )
    if args.li2024:
        li2024(args.li2024)
    return 0


def li2024(nights: int) -> None:
    from sleepsignal.simulate import load_li2024_rr, simulate_night

    files = sorted(
        (ROOT.parent / "shared" / "data" / "li2024-reference" / "rr").glob("*_RR.csv.gz")
    )
    n_r = n_s = n_fast = 0
    for k, f in enumerate(files[:nights]):
        rr = load_li2024_rr(f)
        hours = min(8.0, float(np.sum(rr)) / 3600.0 - 0.05)
        night = simulate_night(hours, seed=k, rr=rr, profile=PROFILES[k % 3])  # type: ignore[arg-type]
        x, fs = night.session.signal("normal")
        hb = detect_heartbeats(x, fs)
        b = night.truth.beat_times
        r = hb.reliable
        s, iv = hb.interval_starts[r], hb.intervals[r]
        over = np.flatnonzero(spanning(s, iv, b))
        for j in over:
            i = np.searchsorted(b, s[j] - 0.1)
            n_fast += bool(np.diff(b[max(0, i - 3) : i + 5]).min() < 0.375)
        n_r += int(r.sum())
        n_s += len(over)
        print(f"  {f.name}: {int(r.sum())} reliable, {len(over)} span a true beat", flush=True)
    print(
        f"li2024, {min(nights, len(files))} nights: {n_r} reliable intervals, {n_s} span a "
        f"true beat, {n_fast} of them next to a true interval under 0.375 s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
