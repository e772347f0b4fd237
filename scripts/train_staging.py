"""Fit the shipped staging model ``sleepsignal/data/staging_model.npz``.

Run from the repository root::

    python scripts/train_staging.py            # writes sleepsignal/data/staging_model.npz
    python scripts/train_staging.py --check    # refits and compares with the shipped file

Data (read, never copied): ``../shared/data/slpdb-rr-stages`` (13 records, 11 subjects,
beat annotations + 30 s stages) for the per-epoch classifiers, and
``../shared/data/hmc-hypnograms`` (151 whole-night hypnograms) for the stage transition
matrix and the stage prior by time of night. Only numpy/scipy/pandas are used; the
optimiser (L-BFGS-B from zeros) is deterministic, so the file is reproduced exactly.

Models fitted (each a multinomial logistic regression, L2, on 4 classes wake / light
(N1+N2) / deep (N3) / REM):

* ``heartbeat``: features from beat-to-beat intervals (``HEARTBEAT_FEATURES``: HRV,
  heart-rate level/trend and ECG-derived respiration, each rank-normalised within the
  night and taken at six time scales);
* ``heart_rate``: features from a 30 s heart-rate track only (``HEART_RATE_FEATURES``).

Movement-only staging (actigraphy fallback) is a fixed Cole-Kripke-type rule documented
in :mod:`sleepsignal.staging`; it has no fitted parameters here (no real movement data
with stages is available to refit it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sleepsignal._staging_features import (  # noqa: E402
    HEART_RATE_FEATURES,
    HEARTBEAT_FEATURES,
    heart_rate_features,
    heartbeat_features,
)

SHARED = Path(os.environ.get("SLEEPSIGNAL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SLPDB = SHARED / "slpdb-rr-stages"
HMC = SHARED / "hmc-hypnograms" / "hmc_hypnograms.csv.gz"
OUT = ROOT / "sleepsignal" / "data" / "staging_model.npz"

CLASSES = ("wake", "light", "deep", "rem")
AASM_TO_CLASS = {"W": 0, "N1": 1, "N2": 1, "N3": 2, "REM": 3, "R": 3}
#: L2 penalty on the sum of squared weights (features standardised) and exponent of the
#: class prior divided out of the posteriors before the HMM (0 = posteriors as
#: emissions, 1 = the usual hybrid scaled likelihood), per model. Chosen on the
#: leave-one-subject-out grid printed by ``benchmarks/accuracy_staging.py --sweep``; the
#: ``--nested`` option there measures that selection honestly (nested LOSO).
HYPER = {"heartbeat": (1000.0, 0.25), "heart_rate": (300.0, 0.75)}
GRID_L2 = (300.0, 1000.0, 3000.0)
GRID_PRIOR_EXPONENT = (0.25, 0.5, 0.75, 1.0)
#: Hours-of-night bins of the stage prior learnt from HMC.
PRIOR_BIN_H = 0.5
PRIOR_N_BINS = 20


def subject_of(record: str) -> str:
    """slp01a/slp01b and slp02a/slp02b are segments of one subject's night."""
    return record[:5] if record[:5] in ("slp01", "slp02") else record


def load_slpdb(root: Path = SLPDB) -> list[dict]:
    """Per record: interval starts (s), intervals (s), stage label per 30 s epoch (-1 none)."""
    recs = pd.read_csv(root / "records.csv")
    out = []
    for rec, dur_h in zip(recs.record, recs.duration_h, strict=True):
        beats = pd.read_csv(root / "beats" / f"{rec}_beats.csv")
        epochs = pd.read_csv(root / "epochs" / f"{rec}_epochs.csv")
        t = beats.t_s.to_numpy()[beats.is_beat.to_numpy() == 1]
        n = int(np.ceil(dur_h * 3600 / 30))
        y = np.full(n, -1, dtype=np.int64)
        k = np.round(epochs.onset_s.to_numpy() / 30).astype(np.int64)
        lab = np.array([AASM_TO_CLASS.get(s, -1) for s in epochs.stage_aasm])
        ok = (k >= 0) & (k < n)
        y[k[ok]] = lab[ok]
        out.append(
            {
                "record": rec,
                "subject": subject_of(rec),
                "starts": t[:-1],
                "rr": np.diff(t),
                "y": y,
                "n": n,
            }
        )
    return out


def hr_track_from_beats(starts: np.ndarray, rr: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """A Beddit-like ``heart_rate`` track (one value per 30 s) from the beats."""
    ok = (rr > 0.3) & (rr < 2.0)
    ep = np.floor(starts[ok] / 30).astype(np.int64)
    inside = (ep >= 0) & (ep < n)
    c = np.bincount(ep[inside], minlength=n)
    s = np.bincount(ep[inside], weights=rr[ok][inside], minlength=n)
    have = c >= 10
    return (np.flatnonzero(have) * 30.0 + 15.0, 60.0 / (s[have] / c[have]))


def features(data: list[dict], kind: str) -> list[np.ndarray]:
    if kind == "heartbeat":
        return [heartbeat_features(d["starts"], d["rr"], d["n"]) for d in data]
    return [
        heart_rate_features(*hr_track_from_beats(d["starts"], d["rr"], d["n"]), d["n"])
        for d in data
    ]


# ---------------------------------------------------------------------------------
def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, class_weight: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression with L2, standardised features, NaN -> median."""
    impute = np.nanmedian(x, axis=0)
    impute = np.where(np.isfinite(impute), impute, 0.0)
    xi = np.where(np.isfinite(x), x, impute)
    mean = xi.mean(axis=0)
    scale = xi.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (xi - mean) / scale
    n, d = z.shape
    k = len(CLASSES)
    onehot = np.eye(k)[y]
    w_s = np.ones(n) if class_weight is None else class_weight[y]
    w_s = w_s / w_s.mean()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        p = _softmax(z @ w + b)
        ll = -np.sum(w_s * np.log(np.sum(p * onehot, axis=1) + 1e-300)) / n
        g = (p - onehot) * w_s[:, None] / n
        gw = z.T @ g + 2 * l2 * w / n
        return ll + l2 * np.sum(w**2) / n, np.concatenate([gw.ravel(), g.sum(axis=0)])

    res = minimize(
        loss,
        np.zeros(d * k + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-6, "ftol": 1e-9},
    )
    return {
        "impute": impute,
        "mean": mean,
        "scale": scale,
        "weights": res.x[: d * k].reshape(d, k),
        "bias": res.x[d * k :],
    }


def predict_logistic(model: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    xi = np.where(np.isfinite(x), x, model["impute"])
    return _softmax(((xi - model["mean"]) / model["scale"]) @ model["weights"] + model["bias"])


# ---------------------------------------------------------------------------------
def hmc_statistics(path: Path = HMC) -> dict[str, np.ndarray]:
    """Transition counts between 4 classes and stage prior by half-hour of night."""
    h = pd.read_csv(path)
    k = len(CLASSES)
    counts = np.zeros((k, k))
    prior = np.zeros((PRIOR_N_BINS, k))
    for _, g in h.groupby("patient", sort=True):
        s = np.array([AASM_TO_CLASS[x] for x in g.stage])
        np.add.at(counts, (s[:-1], s[1:]), 1)
        b = np.minimum((np.arange(len(s)) * 30 / 3600 / PRIOR_BIN_H).astype(int), PRIOR_N_BINS - 1)
        np.add.at(prior, (b, s), 1)
    trans = (counts + 1) / (counts + 1).sum(axis=1, keepdims=True)
    prior = (prior + 1) / (prior + 1).sum(axis=1, keepdims=True)
    return {"transition": trans, "time_prior": prior, "transition_counts": counts}


def forward_backward(lik: np.ndarray, trans: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Posterior state probabilities of an HMM with per-epoch likelihoods (scaled)."""
    n, k = lik.shape
    alpha = np.zeros((n, k))
    c = np.zeros(n)
    a = init * lik[0]
    for i in range(n):
        if i:
            a = (alpha[i - 1] @ trans) * lik[i]
        c[i] = a.sum()
        alpha[i] = a / c[i]
    beta = np.ones((n, k))
    for i in range(n - 2, -1, -1):
        beta[i] = trans @ (lik[i + 1] * beta[i + 1]) / c[i + 1]
    post = alpha * beta
    return post / post.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------
def fit_all(data: list[dict], hmc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    params: dict[str, np.ndarray] = {
        "classes": np.array(CLASSES),
        "transition": hmc["transition"],
        "time_prior": hmc["time_prior"],
        "prior_bin_h": np.array(PRIOR_BIN_H),
    }
    for kind in KINDS:
        l2, a = HYPER[kind]
        params.update(fit_kind(features(data, kind), [d["y"] for d in data], kind, l2, a))
    params["training_checksum"] = np.array(training_checksum(data))
    return params


KINDS = {"heartbeat": HEARTBEAT_FEATURES, "heart_rate": HEART_RATE_FEATURES}


def fit_kind(
    xs: list[np.ndarray], ys: list[np.ndarray], kind: str, l2: float, prior_exponent: float
) -> dict[str, np.ndarray]:
    """Parameters ``<kind>_*`` of one logistic model fitted on the given nights."""
    x = np.vstack(xs)
    y = np.concatenate(ys)
    keep = y >= 0
    m = fit_logistic(x[keep], y[keep], l2)
    out = {
        f"{kind}_features": np.array(KINDS[kind]),
        f"{kind}_l2": np.array(l2),
        f"{kind}_prior_exponent": np.array(prior_exponent),
    }
    for key, v in m.items():
        out[f"{kind}_{key}"] = v
    out[f"{kind}_class_prior"] = np.bincount(y[keep], minlength=4) / keep.sum()
    return out


def loso(
    data: list[dict],
    kind: str,
    hmc: dict[str, np.ndarray],
    l2: float,
    prior_exponent: float,
    xs: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave-one-subject-out predictions with the run-time code path.

    For each subject, the logistic model is fitted on the other subjects' nights only;
    the held-out nights are staged by ``sleepsignal.staging._classify`` (HMM included).
    Returns pooled true labels, predicted labels (scored epochs only) and the subject
    of each epoch.
    """
    y, preds, s = loso_exponents(data, kind, hmc, l2, (prior_exponent,), xs)
    return y, preds[prior_exponent], s


def loso_exponents(
    data: list[dict],
    kind: str,
    hmc: dict[str, np.ndarray],
    l2: float,
    exponents: tuple[float, ...],
    xs: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[float, np.ndarray], np.ndarray]:
    """:func:`loso` for several prior exponents at once (they do not change the fit)."""
    from sleepsignal.staging import _classify

    if xs is None:
        xs = features(data, kind)
    base = {"transition": hmc["transition"], "time_prior": hmc["time_prior"]}
    ys, ss = [], []
    ps: dict[float, list[np.ndarray]] = {a: [] for a in exponents}
    for subj in sorted({d["subject"] for d in data}):
        train = [i for i, d in enumerate(data) if d["subject"] != subj]
        params = {
            **base,
            **fit_kind(
                [xs[i] for i in train], [data[i]["y"] for i in train], kind, l2, exponents[0]
            ),
        }
        for i, d in enumerate(data):
            if d["subject"] != subj:
                continue
            scored = d["y"] >= 0
            ys.append(d["y"][scored])
            ss.append(np.full(scored.sum(), subj))
            for a in exponents:
                params[f"{kind}_prior_exponent"] = np.array(a)
                post = _classify(kind, xs[i], np.ones(d["n"], dtype=bool), params)
                ps[a].append(post[scored].argmax(axis=1))
    return (np.concatenate(ys), {a: np.concatenate(p) for a, p in ps.items()}, np.concatenate(ss))


def training_checksum(data: list[dict]) -> str:
    h = hashlib.sha256()
    for d in data:
        h.update(d["record"].encode())
        h.update(np.ascontiguousarray(d["starts"], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(d["y"], dtype=np.int64).tobytes())
    return h.hexdigest()


def save(params: dict[str, np.ndarray], path: Path = OUT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **params)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="refit and compare with shipped file")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = load_slpdb()
    params = fit_all(data, hmc_statistics())
    if args.check:
        shipped = dict(np.load(args.out))
        bad = [
            k
            for k in params
            if k not in shipped or not np.array_equal(np.asarray(params[k]), shipped[k])
        ]
        print("identical" if not bad else f"differs in {bad}")
        return 1 if bad else 0
    save(params, args.out)
    print(f"wrote {args.out} (training data sha256 {params['training_checksum']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
