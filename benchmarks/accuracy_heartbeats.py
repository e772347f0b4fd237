"""Accuracy of sleepsignal.heartbeats on the real recordings and on simulated whole nights.

Run from the repository root::

    python benchmarks/accuracy_heartbeats.py            # all 27 li2024 nights, ~5-10 min
    python benchmarks/accuracy_heartbeats.py --nights 3 # quicker
    python benchmarks/accuracy_heartbeats.py --body-noise 0.25  # see realism_heartbeats.py

Prints markdown tables: per recording the reported (reliable) intervals, coverage of the
true intervals, mean absolute interval error (ms), share of reported intervals that are
wrong, 30 s heart-rate error (bpm) and the share of clean 30 s windows with a reading;
then the same interval scores for a plain scipy band-pass + ``find_peaks`` peer on the
real recordings and the first three simulated nights.

Scoring (``tests/naive_heartbeats.py``): a reported interval is correct when, after
removing the median fiducial lag (J peak vs reference beat), its start and end lie
within 100 ms of two consecutive reference beats. Heart rate: windows where plausible
reference intervals (0.375-2 s) cover >= 90 % are clean; truth is 60 / their mean.
Simulated nights use the simulator's default ``body_noise`` (0.25) unless ``--body-noise``
is given; ``benchmarks/realism_heartbeats.py`` shows which level makes neighbouring
simulated beats as alike as the real recording's (about 0.25 for the cardiac profile).
Real data are read from ``../shared/data`` and never copied.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from naive_heartbeats import score_heart_rate, score_intervals  # noqa: E402

from sleepsignal.heartbeats import detect_heartbeats, heart_rate  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PROFILES = ("cardiac", "mixed", "respiratory")
PEERS: list[dict] = []  # the plain peer on the same recordings, for comparison


def scipy_peaks(x: np.ndarray, fs: float):
    """The plain peer: 4th-order band-pass 2-20 Hz + find_peaks >= 0.375 s apart (<= 160
    bpm, like the detector); every peak a beat, every interval reported (no gating)."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    y = sosfiltfilt(butter(4, [2.0, 20.0], btype="bandpass", fs=fs, output="sos"), x)
    peaks, _ = find_peaks(y, distance=max(1, int(0.375 * fs)))
    bt = peaks / fs
    return bt, bt[:-1], np.diff(bt)


def peer_row(name: str, x: np.ndarray, fs: float, ref: np.ndarray, ok=None) -> dict:
    t0 = time.perf_counter()
    bt, st, iv = scipy_peaks(x, fs)
    secs = time.perf_counter() - t0
    return _row(
        f"{name} [peer: scipy find_peaks]", score_intervals(st, iv, bt, ref, ok), None, secs
    )


def _row(name: str, sc: dict[str, float], hr: dict[str, float] | None, secs: float) -> dict:
    return {"recording": name, **sc, **(hr or {}), "secs": secs}


def qixiuai(fs_out: float) -> dict:
    from scipy.signal import resample_poly

    d = DATA / "qixiuai-psg-5min"
    bcg = np.loadtxt(d / "bcg_500hz.txt")
    ref = np.loadtxt(d / "ecg_rpeaks_derived.csv", delimiter=",", skiprows=1)
    beats = (ref[:, 0] + 12744) / 500.0
    beats = beats[beats < len(bcg) / 500.0]
    if fs_out != 500.0:
        bcg = resample_poly(bcg - bcg.mean(), 7, 25) + bcg.mean()
    t0 = time.perf_counter()
    hb = detect_heartbeats(bcg, fs_out)
    secs = time.perf_counter() - t0
    r = hb.reliable
    sc = score_intervals(hb.interval_starts[r], hb.intervals[r], hb.beat_times, beats)
    PEERS.append(peer_row(f"qixiuai-psg-5min @ {fs_out:g} Hz", bcg, fs_out, beats))
    # heart rate against the ECG intervals; windows without ECG are not clean
    t, bpm = heart_rate(hb, duration=len(bcg) / fs_out)
    hr = score_heart_rate(t, bpm, beats[:-1], np.diff(beats), len(bcg) / fs_out)
    return _row(f"qixiuai-psg-5min @ {fs_out:g} Hz", sc, hr, secs)


def sadek() -> dict:
    import pandas as pd

    df = pd.read_csv(DATA / "sadek-mfos-18min" / "sample_data.csv")
    t = (df["epoch"].to_numpy() - df["epoch"].iloc[0]) / 1000.0
    bcg = df["raw_data_sleepMat"].to_numpy(dtype=float)
    pr = df["PulseOximeter_results"].to_numpy(dtype=float)
    sec = np.floor(t).astype(int)
    ref1 = pd.Series(pr).groupby(sec).median().to_numpy()
    n30 = len(ref1) // 30
    ref30 = ref1[: n30 * 30].reshape(n30, 30).mean(axis=1)
    t0 = time.perf_counter()
    hb = detect_heartbeats(bcg, 50.0)
    secs = time.perf_counter() - t0
    tt, bpm = heart_rate(hb, duration=len(bcg) / 50.0)
    i = (tt // 30).astype(int)
    m = i < n30
    err = np.abs(bpm[m] - ref30[i[m]])
    return {
        "recording": "sadek-mfos-18min @ 50 Hz (vs oximeter)",
        "n": int(hb.reliable.sum()),
        "hr_mae": float(err.mean()) if len(err) else float("nan"),
        "hr_coverage": float(m.sum() / n30),
        "secs": secs,
    }


def rwth() -> dict:
    from scipy.io import loadmat

    m = loadmat(DATA / "rwth-chair-20s" / "rec_proc_Aydin-Left-1.mat", squeeze_me=True)
    fs = float(m["Fs"])
    bcg = np.asarray(m["bcg"], float)
    beats = (np.asarray(m["peaks_r"], int) - 1) / fs
    t0 = time.perf_counter()
    hb = detect_heartbeats(bcg, fs)
    secs = time.perf_counter() - t0
    r = hb.reliable
    sc = score_intervals(hb.interval_starts[r], hb.intervals[r], hb.beat_times, beats)
    return _row("rwth-chair-20s @ 1000 Hz (seated)", sc, None, secs)


def simulated(
    path: Path, k: int, body_noise: float, beat_drift: float = 0.0, lag_window: float | None = None
) -> dict:
    from sleepsignal.simulate import load_li2024_rr, simulate_night

    rr = load_li2024_rr(path)
    hours = min(8.0, float(np.sum(rr)) / 3600.0 - 0.05)
    profile = PROFILES[k % 3]
    night = simulate_night(
        hours, seed=k, rr=rr, profile=profile, body_noise=body_noise, beat_drift=beat_drift
    )
    x, fs = night.session.signal("normal")
    t0 = time.perf_counter()
    hb = detect_heartbeats(x, fs)
    secs = time.perf_counter() - t0
    truth = night.truth
    b = truth.beat_times
    ts, tiv = truth.true_intervals()
    visible = np.isin(b[:-1], ts)
    r = hb.reliable
    sc = score_intervals(
        hb.interval_starts[r], hb.intervals[r], hb.beat_times, b, visible, lag_window=lag_window
    )
    t, bpm = heart_rate(hb, duration=len(x) / fs)
    hr = score_heart_rate(t, bpm, ts, tiv, len(x) / fs)
    name = f"sim {path.name.split('_RR')[0]} {hours:.1f} h {profile}"
    if k < 3:
        PEERS.append(peer_row(name, x, fs, b, visible))
    return _row(name, sc, hr, secs)


def _fmt(v: object, spec: str) -> str:
    if isinstance(v, float) and not np.isfinite(v):
        return "-"
    return format(v, spec) if v is not None else "-"


def print_table(rows: list[dict]) -> None:
    print(
        "| recording | reported | coverage | interval MAE (ms) | wrong | HR MAE (bpm) "
        "| HR windows | detect (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['recording']} | {r.get('n', '-')} | {_fmt(r.get('coverage'), '.1%')} "
            f"| {_fmt(r.get('mae_ms'), '.2f')} | {_fmt(r.get('wrong'), '.2%')} "
            f"| {_fmt(r.get('hr_mae'), '.2f')} | {_fmt(r.get('hr_coverage'), '.1%')} "
            f"| {_fmt(r.get('secs'), '.2f')} |"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nights", type=int, default=None, help="simulated nights (default all)")
    p.add_argument(
        "--body-noise",
        type=float,
        default=0.25,
        help="simulate_night body_noise of the simulated nights (default 0.25)",
    )
    p.add_argument(
        "--beat-drift",
        type=float,
        default=0.0,
        help="simulate_night beat_drift (slow beat-shape drift; default 0)",
    )
    p.add_argument(
        "--lag-window",
        type=float,
        default=None,
        help="remove the fiducial lag locally, over this many s of reported beats "
        "(default: one median lag per night)",
    )
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"real data not found at {DATA}; nothing to measure", file=sys.stderr)
        return 1
    detect_heartbeats(np.sin(np.arange(3000) / 5.0), 140.0)  # load the compiled kernels
    rows = [qixiuai(140.0), qixiuai(500.0), sadek(), rwth()]
    print_table(rows)
    print()
    files = sorted((DATA / "li2024-reference" / "rr").glob("*_RR.csv.gz"))
    if args.nights is not None:
        files = files[: args.nights]
    sims = []
    for k, f in enumerate(files):
        sims.append(simulated(f, k, args.body_noise, args.beat_drift, args.lag_window))
        print(f"  done {sims[-1]['recording']}", file=sys.stderr, flush=True)
    print_table(sims)
    print()
    print_table(PEERS)
    if sims:
        keys = ("coverage", "mae_ms", "wrong", "hr_mae", "hr_coverage")
        med = {k: float(np.nanmedian([s[k] for s in sims])) for k in keys}
        tot_n = sum(s["n"] for s in sims)
        print(
            f"\nMedian over {len(sims)} simulated nights (body_noise={args.body_noise:g}, "
            f"beat_drift={args.beat_drift:g}, lag window {args.lag_window or 'whole night'}): "
            f"coverage {med['coverage']:.1%}, "
            f"interval MAE {med['mae_ms']:.2f} ms, wrong {med['wrong']:.2%}, "
            f"HR MAE {med['hr_mae']:.2f} bpm, HR windows {med['hr_coverage']:.1%} "
            f"({tot_n} reported intervals in total; worst wrong "
            f"{max(s['wrong'] for s in sims):.2%}, worst coverage "
            f"{min(s['coverage'] for s in sims):.1%})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
