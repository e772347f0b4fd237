"""How alike are neighbouring beats? Real mattress BCG against the simulator.

Run from the repository root::

    python benchmarks/realism_heartbeats.py

A beat-to-beat interval detector works on neighbouring beats, so what matters for it is
how much one beat differs from the beats around it, not from the average of a whole
recording. For the real recording ``qixiuai-psg-5min`` (resampled to 140 Hz, beats from
the ECG R peaks shifted to the J wave as in its README) and for 15 min of simulated
nights (first li2024 RR file, seed 0, movement +-2 s excluded) at several ``body_noise``
levels, and with the slow beat-shape drift (``beat_drift=1``), this prints, in the
detector's band (2-20 Hz, -0.25..+0.35 s around each beat):

- ``r global``: median correlation of a single beat with the average of all beats;
- ``r local``: median correlation of a single beat with the average of its 16
  neighbours (8 each side, itself excluded), best lag within +-50 ms;
- ``r next``: median correlation of consecutive beats at their true alignment;
- ``resid next``: median correlation of the residuals (beat minus global average) of
  consecutive beats: high when beats drift together (morphology change), ~0 for noise
  that is independent from beat to beat;
- ``resid > 10 Hz``: share of the residual power (0.7-25 Hz) above 10 Hz;
- ``J err``: median and 90th percentile of |single-beat time - true time| (ms) from the
  local template (for qixiuai the reference is the ECG R peak, so this includes the
  natural R-J jitter).

Real data are read from ``../shared/data`` and never copied.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import signal as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepsignal.heartbeats import _design_filter  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def beat_stats(x: np.ndarray, fs: float, beats: np.ndarray, half: int = 8) -> dict[str, float]:
    y = sps.sosfilt(_design_filter(fs, 2.0, 20.0), x - np.median(x))
    k = np.arange(round(-0.25 * fs), round(0.35 * fs) + 1)
    b = beats[(beats > 2) & (beats < len(x) / fs - 1)]
    idx = np.round(b * fs).astype(int)
    frac = b * fs - idx
    seg = y[idx[:, None] + k[None, :]]
    avg = seg.mean(axis=0)
    res = seg - avg
    r_global = np.median([np.corrcoef(s, avg)[0, 1] for s in seg])
    r_next = np.median([np.corrcoef(seg[i], seg[i + 1])[0, 1] for i in range(len(seg) - 1)])
    res_next = np.median([np.corrcoef(res[i], res[i + 1])[0, 1] for i in range(len(res) - 1)])
    f, p = sps.welch(res, fs=fs, nperseg=seg.shape[1], axis=1)
    p = p.mean(axis=0)
    band = (f >= 0.7) & (f <= 25)
    hi = p[band & (f > 10)].sum() / p[band].sum()
    lag = round(0.05 * fs)
    r_loc, err = [], []
    for i in range(half, len(idx) - half):
        tpl = np.concatenate((seg[i - half : i], seg[i + 1 : i + half + 1])).mean(axis=0)
        c = np.array([np.corrcoef(tpl, y[idx[i] + m + k])[0, 1] for m in range(-lag, lag + 1)])
        j = int(np.argmax(c))
        d = 0.0
        if 0 < j < len(c) - 1:
            den = c[j - 1] - 2 * c[j] + c[j + 1]
            d = 0.5 * (c[j - 1] - c[j + 1]) / den if den != 0 else 0.0
        r_loc.append(c[j])
        err.append(abs((j - lag + d) - frac[i]) / fs * 1000)
    return {
        "beats": len(b),
        "r global": float(r_global),
        "r local": float(np.median(r_loc)),
        "r next": float(r_next),
        "resid next": float(res_next),
        "resid > 10 Hz": float(hi),
        "J err": f"{np.median(err):.1f} / {np.percentile(err, 90):.1f}",
    }


def main() -> int:
    if not DATA.is_dir():
        print(f"real data not found at {DATA}; nothing to measure", file=sys.stderr)
        return 1
    from sleepsignal.simulate import load_li2024_rr, simulate_night

    rows = []
    d = DATA / "qixiuai-psg-5min"
    bcg = np.loadtxt(d / "bcg_500hz.txt")
    ref = np.loadtxt(d / "ecg_rpeaks_derived.csv", delimiter=",", skiprows=1)
    beats = (ref[:, 0] + 12744) / 500.0
    beats = beats[beats < len(bcg) / 500.0]
    x = sps.resample_poly(bcg - bcg.mean(), 7, 25)
    rows.append({"recording": "qixiuai-psg-5min @ 140 Hz (real)", **beat_stats(x, 140.0, beats)})
    rr = load_li2024_rr(sorted((DATA / "li2024-reference" / "rr").glob("*_RR.csv.gz"))[0])
    for profile in ("cardiac", "mixed", "respiratory"):
        for bn, drift in ((1.0, 0.0), (0.5, 0.0), (0.25, 0.0), (0.0, 0.0), (0.2, 1.0)):
            night = simulate_night(
                0.25, seed=0, rr=rr, profile=profile, body_noise=bn, beat_drift=drift
            )
            xs, fs = night.session.signal("normal")
            tr = night.truth
            b = tr.beat_times
            still = np.ones(len(b), dtype=bool)
            for a, e in tr.movements[:, :2]:
                still &= ~((b > a - 2) & (b < e + 2))
            st = beat_stats(xs.astype(np.float64), fs, b[still])
            name = f"sim {profile}, body_noise={bn:g}" + (
                f", beat_drift={drift:g}" if drift else ""
            )
            rows.append({"recording": name, **st})
    cols = ["beats", "r global", "r local", "r next", "resid next", "resid > 10 Hz", "J err"]
    print("| recording | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for r in rows:
        cells = [f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        print(f"| {r['recording']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
