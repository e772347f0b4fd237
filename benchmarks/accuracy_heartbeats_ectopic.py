"""Reliable heartbeat intervals around PVC-shaped ectopic beats, on simulated nights.

Run from the repository root::

    python benchmarks/accuracy_heartbeats_ectopic.py            # 3 nights x 4 rates x 2 heart rates
    python benchmarks/accuracy_heartbeats_ectopic.py --nights 6 --hours 2
    python benchmarks/accuracy_heartbeats_ectopic.py --body-noise 0.2 --beat-drift 1 --lag-window 60
    python benchmarks/accuracy_heartbeats_ectopic.py --inner-power 3 2 --coverage 27

Each night (``tests/sim_ectopic.py``: ``pvc_night``) replaces a share of the normal
beats by premature beats (60-75 % of the normal interval) with a wide complex of another
shape and a full compensatory pause ("PVC"), or inserts interpolated premature beats (at
30-45 % of a normal interval, no pause; "interpolated", of the normal shape or wide).
Prints per kind, ectopic rate and mean normal interval:
the ectopic beats, the reliable intervals, how many reliable (and length-reliable)
intervals span a true beat per 100 ectopic beats (``sim_ectopic.spanning``: with the
detection lag taken off, the true beats nearest to the interval's two ends are two or
more apart; ``--lag-window``: the lag of the starts within +-w/2 s, for drifting beats),
and reliable intervals within 2.5 s of an ectopic beat whose length matches no true
interval within 50 ms.

``--inner-power K ...`` judges, after the fact, a check the detector does not make: a
reliable interval whose inner power (mean square of the detector's 2-20 Hz band-pass
from 0.15 s after its first beat to 0.15 s before its second) is over K x the running
median of 31 reliable intervals around it is dropped. It adds the spanning count left
per 100 ectopic beats and the share of reliable intervals dropped, per K, and a row of
nights without ectopic beats. ``--coverage N`` then scores what the check costs on the
first N li2024 nights as ``benchmarks/accuracy_heartbeats.py`` renders them (default and
``--body-noise 0.2 --beat-drift 1 --lag-window 60``): median coverage without and with
it (dropping only, so streaks the detector would break are not counted: a lower bound).

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

from sleepsignal._filters import sosfilt  # noqa: E402
from sleepsignal.heartbeats import Heartbeats, detect_heartbeats  # noqa: E402

PROFILES = ("cardiac", "mixed", "respiratory")
KINDS = {
    "PVC": {},
    "interpolated": {"stretch": 1.0, "pause": 0.0, "at": (0.3, 0.45)},
    "interpolated wide": {"pause": 0.0, "at": (0.3, 0.45)},
}
VARIANTS = {  # --variants: PVCs that are harder to see
    "PVC, pause 0.6": {"pause": 0.6},
    "PVC, energy 0.1-0.4x": {"amp": (0.1, 0.4)},
    "PVC, normal shape": {"stretch": 1.0},
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


def inner_power_ratio(x: np.ndarray, fs: float, hb: Heartbeats) -> np.ndarray:
    """Per reliable interval: its inner power over the running median of 31 (see above)."""
    import pandas as pd

    from sleepsignal.heartbeats import _filter_and_warm_up

    sos, _ = _filter_and_warm_up(fs, 2.0, min(20.0, 0.4 * fs))
    y = sosfilt(sos, np.asarray(x, dtype=np.float64) - float(np.median(x)))
    c = np.concatenate([[0.0], np.cumsum(y * y)])
    s = hb.interval_starts[hb.reliable]
    a = np.round((s + 0.15) * fs).astype(np.int64)
    b = np.maximum(np.round((s + hb.intervals[hb.reliable] - 0.15) * fs).astype(np.int64), a + 1)
    p = (c[b] - c[a]) / (b - a)
    med = pd.Series(p).rolling(31, center=True, min_periods=1).median().to_numpy()
    return p / med


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nights", type=int, default=3, help="nights per setting (default 3)")
    p.add_argument("--hours", type=float, default=1.0, help="hours per night (default 1)")
    p.add_argument("--li2024", type=int, default=0, help="li2024 nights to count (default 0)")
    p.add_argument("--body-noise", type=float, default=0.25, help="simulator body_noise")
    p.add_argument("--beat-drift", type=float, default=0.0, help="simulator beat_drift")
    p.add_argument(
        "--lag-window", type=float, default=None, help="local lag window (s; default night-wide)"
    )
    p.add_argument(
        "--inner-power", type=float, nargs="*", default=[], help="judge the check at these K"
    )
    p.add_argument("--coverage", type=int, default=0, help="li2024 nights for its cost")
    p.add_argument(
        "--variants",
        action="store_true",
        help="also PVCs with a partial pause, low energy, the normal shape, and 8 one-hour "
        "simulate_night nights with ectopic_rate=10 (its own premature beats)",
    )
    args = p.parse_args(argv)
    ks = list(args.inner_power)
    extra = "".join(f" | check {k:g}x: spanning / dropped" for k in ks)
    print(
        f"body_noise {args.body_noise:g}, beat_drift {args.beat_drift:g}, lag window "
        f"{args.lag_window or 'night-wide'}\n\n"
        "| kind | ectopic rate | mean RR (s) | ectopics | reliable | spanning per 100 ectopics "
        f"(reliable / length-reliable) | wrong near ectopics{extra} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:" + "|---:" * len(ks) + "|")
    kinds = dict(KINDS, **(VARIANTS if args.variants else {}), **({"none": {}} if ks else {}))
    settings = [(kind, m, r) for kind in kinds for m in (0.95, 0.65) for r in (0.01, 0.03, 0.05)]
    settings = [(kind, m, r) for kind, m, r in settings if kind != "none" or r == 0.01]
    for kind, mean_rr, rate in settings:
        n_e = n_r = n_s = n_sl = n_w = 0
        n_ks, n_kd = [0] * len(ks), [0] * len(ks)
        for k in range(args.nights):
            night = pvc_night(
                args.hours,
                k,
                0.0 if kind == "none" else rate,
                profile=PROFILES[k % 3],
                mean_rr=mean_rr,
                body_noise=args.body_noise,
                beat_drift=args.beat_drift,
                **kinds[kind],
            )
            hb = detect_heartbeats(night.x, night.fs)
            r, lr = hb.reliable, hb.length_reliable
            n_e += len(night.ectopic)
            n_r += int(r.sum())
            sp = spanning(
                hb.interval_starts[r], hb.intervals[r], night.beats, lag_window=args.lag_window
            )
            n_s += int(sp.sum())
            n_sl += int(
                spanning(
                    hb.interval_starts[lr],
                    hb.intervals[lr],
                    night.beats,
                    lag_window=args.lag_window,
                ).sum()
            )
            if len(night.ectopic):
                n_w += _wrong_near(
                    hb.interval_starts[r], hb.intervals[r], night.beats, night.ectopic
                )
            if ks:
                q = inner_power_ratio(night.x, night.fs, hb)
                for i, kk in enumerate(ks):
                    n_ks[i] += int(np.sum(sp & (q <= kk)))
                    n_kd[i] += int(np.sum(q > kk))
        cells = "".join(
            f" | {_per(a, n_e)} / {100 * d / max(n_r, 1):.2f} %"
            for a, d in zip(n_ks, n_kd, strict=True)
        )
        print(
            f"| {kind} | {0.0 if kind == 'none' else rate:.0%} | {mean_rr:.2f} | {n_e} | {n_r} | "
            f"{_per(n_s, n_e)} / {_per(n_sl, n_e)} | {n_w}{cells} |",
            flush=True,
        )
    if args.variants:
        own_ectopics(args.lag_window)
    if args.li2024:
        li2024(args.li2024)
    if args.coverage:
        coverage(args.coverage, ks)
    return 0


def own_ectopics(lag_window: float | None) -> None:
    from sleepsignal.simulate import simulate_night

    n_e = n_r = n_s = 0
    for k in range(8):
        night = simulate_night(1.0, seed=k, profile=PROFILES[k % 3], ectopic_rate=10)  # type: ignore[arg-type]
        x, fs = night.session.signal("normal")
        hb = detect_heartbeats(x, fs)
        r = hb.reliable
        n_e += len(night.truth.ectopic)
        n_r += int(r.sum())
        n_s += int(
            spanning(
                hb.interval_starts[r],
                hb.intervals[r],
                night.truth.beat_times,
                lag_window=lag_window,
            ).sum()
        )
    print(
        f"simulate_night ectopic_rate=10, 8 one-hour nights: {n_e} ectopic beats, {n_r} "
        f"reliable intervals, {n_s} span a true beat",
        flush=True,
    )


def _per(v: int, n_e: int) -> str:
    """Per 100 ectopic beats, or the count on a night without them."""
    return f"{100 * v / n_e:.2f}" if n_e else f"{v} (count)"


def coverage(nights: int, ks: list[float]) -> None:
    from naive_heartbeats import score_intervals

    from sleepsignal.simulate import load_li2024_rr, simulate_night

    folder = ROOT.parent / "shared" / "data" / "li2024-reference" / "rr"
    files = sorted(folder.glob("*_RR.csv.gz"))[:nights]
    if not files:
        raise SystemExit(f"--coverage needs the li2024 RR files in {folder} (none found)")
    for body, drift, window in ((0.25, 0.0, None), (0.2, 1.0, 60.0)):
        cov: list[list[float]] = [[] for _ in range(len(ks) + 1)]
        dropped = [0] * len(ks)
        n_r = 0
        for k, f in enumerate(files):
            rr = load_li2024_rr(f)
            hours = min(8.0, float(np.sum(rr)) / 3600.0 - 0.05)
            night = simulate_night(
                hours, seed=k, rr=rr, profile=PROFILES[k % 3], body_noise=body, beat_drift=drift
            )  # type: ignore[arg-type]
            x, fs = night.session.signal("normal")
            hb = detect_heartbeats(x, fs)
            b = night.truth.beat_times
            ts, _ = night.truth.true_intervals()
            visible = np.isin(b[:-1], ts)
            r = hb.reliable
            q = inner_power_ratio(x, fs, hb)
            n_r += int(r.sum())
            for i, keep in enumerate([np.ones(int(r.sum()), dtype=bool)] + [q <= kk for kk in ks]):
                sc = score_intervals(
                    hb.interval_starts[r][keep],
                    hb.intervals[r][keep],
                    hb.beat_times,
                    b,
                    visible,
                    lag_window=window,
                )
                cov[i].append(sc["coverage"])
                if i:
                    dropped[i - 1] += int(np.sum(~keep))
        cells = ", ".join(
            f"check {kk:g}x {100 * float(np.median(c)):.2f} % ({100 * d / n_r:.2f} % dropped)"
            for kk, c, d in zip(ks, cov[1:], dropped, strict=True)
        )
        print(
            f"li2024 {len(files)} nights, body_noise {body:g}, beat_drift {drift:g}, lag window "
            f"{window or 'night-wide'}: median coverage {100 * float(np.median(cov[0])):.2f} %"
            f"{', ' + cells if cells else ''}",
            flush=True,
        )


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
