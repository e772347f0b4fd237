"""How close do simulated nights come to real recordings? Prints one table.

Run from the repository root: ``python benchmarks/accuracy_simulate.py``. Real numbers
are measured from ``../shared/data`` (rows are skipped, with a note, when it is absent);
simulated numbers from ``simulate_night`` with fixed seeds. Statistics:

- ``resp/card``: std of the 0.1-0.7 Hz band over std of the 2-15 Hz band, median of
  5-min windows (how breathing-dominated the bed signal is).
- ``clipped %``: share of samples on an ADC rail.
- ``template r``: correlation of the beat-averaged BCG complex (-0.2..+0.4 s around the
  J peak, 140 Hz) with the real one of qixiuai-psg-5min, best lag within +-60 ms and
  either polarity.
- ``beat r``: median correlation of single beats with that average (how clean single
  beats are; real qixiuai: ~0.56).
- ``HR``, ``RMSSD``, ``SDNN`` (5-min windows, median): heart rhythm, from clean
  intervals (0.3-2 s, successive change < 20 %).
- ``breaths/min`` and ``cycle CV``: median breathing rate and the coefficient of
  variation of cycle lengths (5-min windows, median).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import signal as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from sleepsignal.simulate import load_li2024_resp, load_li2024_rr, simulate_night  # noqa: E402


def resp_card_ratio(x: np.ndarray, fs: float) -> float:
    lo_sos = sps.butter(2, [0.1, 0.7], "bandpass", fs=fs, output="sos")
    hi_sos = sps.butter(2, [2.0, 15.0], "bandpass", fs=fs, output="sos")
    w = int(300 * fs)
    r = []
    for i in range(0, len(x) - w + 1, w):
        seg = x[i : i + w] - np.median(x[i : i + w])
        r.append(np.std(sps.sosfiltfilt(lo_sos, seg)) / np.std(sps.sosfiltfilt(hi_sos, seg)))
    return float(np.median(r))


def template(x: np.ndarray, fs: float, beats: np.ndarray) -> np.ndarray:
    """Beat-averaged complex at 140 Hz, -0.2..+0.4 s around each beat, z-scored."""
    return _segments(x, fs, beats)[1]


def single_beat_r(x: np.ndarray, fs: float, beats: np.ndarray) -> float:
    """Median correlation of each beat's segment with the average."""
    segs, _ = _segments(x, fs, beats)
    m = segs.mean(axis=0)
    return float(np.median([np.corrcoef(s, m)[0, 1] for s in segs]))


def _segments(x: np.ndarray, fs: float, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sos = sps.butter(2, [1.0, 20.0], "bandpass", fs=fs, output="sos")
    y = sps.sosfiltfilt(sos, x.astype(np.float64))
    k = np.arange(-0.2, 0.4, 1 / 140.0)
    idx = beats[(beats > 0.3) & (beats < len(x) / fs - 0.5)]
    t = np.arange(len(y)) / fs
    segs = np.array([np.interp(b + k, t, y) for b in idx])
    m = segs.mean(axis=0)
    return segs, (m - m.mean()) / m.std()


def template_r(a: np.ndarray, b: np.ndarray) -> float:
    best = 0.0
    for lag in range(-8, 9):  # +-57 ms at 140 Hz
        aa, bb = (a[lag:], b[: len(b) - lag]) if lag >= 0 else (a[:lag], b[-lag:])
        best = max(best, abs(float(np.corrcoef(aa, bb)[0, 1])))
    return best


def rhythm(beats: np.ndarray) -> tuple[float, float, float]:
    rr = np.diff(beats)
    t = beats[:-1]
    ok = (rr > 0.3) & (rr < 2.0)
    ok[1:] &= np.abs(np.diff(rr)) < 0.2 * rr[1:]
    hr, rmssd, sdnn = [], [], []
    for w0 in np.arange(0, t[-1] - 300, 300):
        m = ok & (t >= w0) & (t < w0 + 300)
        if m.sum() < 100:
            continue
        r = rr[m]
        hr.append(60 / np.mean(r))
        sdnn.append(np.std(r) * 1000)
        d = np.diff(rr[(t >= w0) & (t < w0 + 300)])
        d = d[np.abs(d) < 0.2]
        rmssd.append(np.sqrt(np.mean(d**2)) * 1000)
    return float(np.median(hr)), float(np.median(rmssd)), float(np.median(sdnn))


def breathing(starts: np.ndarray) -> tuple[float, float]:
    cyc = np.diff(starts)
    t = starts[:-1]
    ok = (cyc > 1.5) & (cyc < 15)
    rate, cv = [], []
    for w0 in np.arange(0, t[-1] - 300, 300):
        c = cyc[ok & (t >= w0) & (t < w0 + 300)]
        if len(c) < 20:
            continue
        rate.append(60 / np.mean(c))
        cv.append(np.std(c) / np.mean(c))
    return float(np.median(rate)), float(np.median(cv))


def belt_starts(resp: np.ndarray, fs: float) -> np.ndarray:
    sos = sps.butter(2, [0.08, 1.0], "bandpass", fs=fs, output="sos")
    y = sps.sosfiltfilt(sos, resp - np.median(resp))
    mad = np.median(np.abs(y - np.median(y))) * 1.4826
    troughs, _ = sps.find_peaks(-y / (2 * np.sqrt(2) * mad), distance=int(1.5 * fs), prominence=0.3)
    return troughs / fs


def main() -> int:
    rows: list[tuple[str, dict[str, str]]] = []
    notes = []
    real_tpl = None
    q = SHARED / "qixiuai-psg-5min"
    if q.is_dir():
        bcg = np.loadtxt(q / "bcg_500hz.txt")
        ref = np.loadtxt(q / "ecg_rpeaks_derived.csv", delimiter=",", skiprows=1)
        beats = (ref[:, 0] + 12744) / 500.0
        beats = beats[beats < len(bcg) / 500.0]
        real_tpl = template(bcg, 500.0, beats)
        rows.append(
            (
                "real qixiuai-psg-5min (500 Hz)",
                {
                    "resp/card": f"{resp_card_ratio(bcg, 500.0):.2f}",
                    "clipped %": f"{100 * np.mean((bcg <= bcg.min()) | (bcg >= 4095)):.3f}",
                    "template r": "1 (ref)",
                    "beat r": f"{single_beat_r(bcg, 500.0, beats):.2f}",
                },
            )
        )
    else:
        notes.append(f"{q} absent: no real BCG rows")
    s = SHARED / "sadek-mfos-18min" / "sample_data.csv"
    if s.is_file():
        import pandas as pd

        x = pd.read_csv(s)["raw_data_sleepMat"].to_numpy(dtype=float)
        rows.append(
            (
                "real sadek-mfos-18min (50 Hz)",
                {
                    "resp/card": f"{resp_card_ratio(x, 50.0):.2f}",
                    "clipped %": f"{100 * np.mean((x <= x.min()) | (x >= x.max())):.3f}",
                },
            )
        )
    rr_dir, resp_dir = SHARED / "li2024-reference" / "rr", SHARED / "li2024-reference" / "resp"
    if rr_dir.is_dir():
        vals = np.array([rhythm(np.cumsum(load_li2024_rr(p))) for p in sorted(rr_dir.glob("*"))])
        med = np.median(vals, axis=0)
        rows.append(
            (
                f"real li2024 chest strap ({len(vals)} nights)",
                {"HR": f"{med[0]:.0f}", "RMSSD ms": f"{med[1]:.0f}", "SDNN ms": f"{med[2]:.0f}"},
            )
        )
    if resp_dir.is_dir():
        vals = []
        for p in sorted(resp_dir.glob("*"))[:6]:
            resp, fs = load_li2024_resp(p)
            vals.append(breathing(belt_starts(resp, fs)))
        med = np.median(np.array(vals), axis=0)
        rows.append(
            (
                f"real li2024 belt ({len(vals)} nights, troughs)",
                {"breaths/min": f"{med[0]:.1f}", "cycle CV": f"{med[1]:.2f}"},
            )
        )

    for profile in ("cardiac", "mixed", "respiratory"):
        stats = []
        for seed in range(3):
            night = simulate_night(8.0, seed=seed, profile=profile)
            x, fs = night.session.signal("normal")
            tr = night.truth
            st = {
                "resp/card": resp_card_ratio(x, fs),
                "clipped %": 100 * np.mean((x == 0) | (x == 65535)),
                "template r": np.nan,
                "beat r": np.nan,
            }
            if real_tpl is not None:
                first = x[: int(1800 * fs)]
                b = tr.beat_times[tr.beat_times < 1800]
                still = np.ones(len(b), bool)
                for a, e in tr.movements:
                    still &= ~((b > a - 1) & (b < e + 1))
                st["template r"] = template_r(template(first, fs, b[still]), real_tpl)
                st["beat r"] = single_beat_r(first, fs, b[still])
            st["HR"], st["RMSSD ms"], st["SDNN ms"] = rhythm(tr.beat_times)
            st["breaths/min"], st["cycle CV"] = breathing(tr.breath_starts)
            stats.append(st)
        med = {k: float(np.nanmedian([d[k] for d in stats])) for k in stats[0]}
        fmt = {
            "resp/card": "{:.2f}",
            "clipped %": "{:.3f}",
            "template r": "{:.2f}",
            "beat r": "{:.2f}",
            "HR": "{:.0f}",
            "RMSSD ms": "{:.0f}",
            "SDNN ms": "{:.0f}",
            "breaths/min": "{:.1f}",
            "cycle CV": "{:.2f}",
        }
        rows.append(
            (
                f"simulated {profile} (8 h, seeds 0-2, median)",
                {k: fmt[k].format(v) for k, v in med.items()},
            )
        )

    cols = [
        "resp/card",
        "clipped %",
        "template r",
        "beat r",
        "HR",
        "RMSSD ms",
        "SDNN ms",
        "breaths/min",
        "cycle CV",
    ]
    print("| source | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, d in rows:
        print(f"| {name} | " + " | ".join(d.get(c, "") for c in cols) + " |")
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
