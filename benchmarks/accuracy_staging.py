"""Leave-one-subject-out accuracy of the staging models on slpdb-rr-stages.

Run from the repository root::

    python benchmarks/accuracy_staging.py [--sweep] [--simulated]

For each of the 11 subjects (slp01a/b and slp02a/b go out together) the logistic model
is refitted on the other 10 subjects' nights only, and the held-out nights are staged
by the run-time code (``sleepsignal.staging._classify``, HMM included). Scores are
pooled over all scored epochs (movement-time epochs dropped). The transition matrix and
stage prior come from the HMC hypnograms, which contain none of the slpdb nights.

``--sweep`` prints the LOSO grid over (L2, prior exponent) from which the shipped
hyperparameters were chosen: choosing on these same nights makes the shipped score
optimistic, so ``--nested`` repeats the whole selection inside each outer fold and
prints the honest estimate of the procedure (slow, ~20 min on the shared machine: each
L2 of the grid needs 10 inner fits per outer fold; the prior exponent needs no refit).
``--simulated`` stages a simulated night from the simulator's true beats/movements/bed
exits and prints its agreement with the simulated stages (a plumbing sanity check, not
an accuracy).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_staging as T  # noqa: E402

CLASS_NAMES = ("wake", "light", "deep", "rem")


def cohen_kappa(a: np.ndarray, b: np.ndarray, k: int) -> float:
    c = np.zeros((k, k))
    np.add.at(c, (a, b), 1)
    n = c.sum()
    po = np.trace(c) / n
    pe = float((c.sum(axis=0) * c.sum(axis=1)).sum()) / n**2
    return float((po - pe) / (1 - pe))


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    ws = (y > 0).astype(int), (p > 0).astype(int)
    m = np.array([0, 1, 1, 2])
    return {
        "kappa_wake_sleep": cohen_kappa(*ws, 2),
        "kappa_wake_nrem_rem": cohen_kappa(m[y], m[p], 3),
        "kappa_4class": cohen_kappa(y, p, 4),
        "accuracy_4class": float(np.mean(y == p)),
        "accuracy_wake_sleep": float(np.mean(ws[0] == ws[1])),
    }


def confusion(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    c = np.zeros((4, 4), dtype=np.int64)
    np.add.at(c, (y, p), 1)
    return c


def evaluate(
    kind: str,
    l2: float | None = None,
    prior_exponent: float | None = None,
    data: list[dict] | None = None,
    xs: list[np.ndarray] | None = None,
) -> dict[str, object]:
    """LOSO scores of one model (hyperparameters default to the shipped ones)."""
    d_l2, d_a = T.HYPER[kind]
    data = T.load_slpdb() if data is None else data
    y, p, s = T.loso(
        data,
        kind,
        T.hmc_statistics(),
        d_l2 if l2 is None else l2,
        d_a if prior_exponent is None else prior_exponent,
        xs,
    )
    out: dict[str, object] = {**scores(y, p), "n_epochs": len(y), "confusion": confusion(y, p)}
    out["per_subject_kappa_wake_sleep"] = {
        subj: cohen_kappa((y[s == subj] > 0).astype(int), (p[s == subj] > 0).astype(int), 2)
        for subj in sorted(set(s))
    }
    return out


def _criterion(y: np.ndarray, p: np.ndarray) -> float:
    r = scores(y, p)
    return (r["kappa_wake_sleep"] + r["kappa_wake_nrem_rem"]) / 2


def nested(
    kind: str, data: list[dict] | None = None, xs: list[np.ndarray] | None = None
) -> dict[str, object]:
    """Nested LOSO: the (L2, prior exponent) grid is searched by an inner LOSO on the
    training subjects of each outer fold; the outer held-out subject is never seen by
    either the fit or the selection. Scores the selection procedure honestly."""
    from sleepsignal.staging import _classify

    data = T.load_slpdb() if data is None else data
    hmc = T.hmc_statistics()
    xs = T.features(data, kind) if xs is None else xs
    subjects = sorted({d["subject"] for d in data})
    ys, ps, chosen = [], [], {}
    for subj in subjects:
        tr = [i for i, d in enumerate(data) if d["subject"] != subj]
        te = [i for i, d in enumerate(data) if d["subject"] == subj]
        best, best_c = None, -np.inf
        for l2 in T.GRID_L2:
            yi, pa, _ = T.loso_exponents(
                [data[i] for i in tr], kind, hmc, l2, T.GRID_PRIOR_EXPONENT, [xs[i] for i in tr]
            )
            for a in T.GRID_PRIOR_EXPONENT:
                c = _criterion(yi, pa[a])
                if c > best_c:
                    best, best_c = (l2, a), c
        assert best is not None
        chosen[subj] = best
        params = {
            "transition": hmc["transition"],
            "time_prior": hmc["time_prior"],
            **T.fit_kind([xs[i] for i in tr], [data[i]["y"] for i in tr], kind, *best),
        }
        for i in te:
            post = _classify(kind, xs[i], np.ones(data[i]["n"], dtype=bool), params)
            scored = data[i]["y"] >= 0
            ys.append(data[i]["y"][scored])
            ps.append(post[scored].argmax(axis=1))
    y, p = np.concatenate(ys), np.concatenate(ps)
    return {**scores(y, p), "n_epochs": len(y), "chosen": chosen, "confusion": confusion(y, p)}


def simulated_sanity(hours: float = 8.0, seed: int = 1) -> dict[str, float]:
    from sleepsignal.simulate import simulate_night
    from sleepsignal.staging import stage_session

    night = simulate_night(hours, seed=seed)
    session = truth_session(night)
    h = stage_session(session)
    t = np.asarray(night.truth.stages)
    n = min(len(t), len(h.stages))
    a, b = t[:n], h.stages[:n]
    scored = a < 4
    return {
        "agreement_4class": float(np.mean(a[scored] == b[scored])),
        "agreement_wake_sleep": float(np.mean((a[scored] == 0) == (b[scored] == 0))),
        "away_agreement": float(np.mean((a == 4) == (b == 4))),
        "model": h.info["model"],
    }


def actigraphy_grid(hours: float = 8.0) -> list[tuple[float, float, float]]:
    """Kappa wake/sleep of the actigraphy rule per threshold on simulated nights."""
    from sleepsignal import _staging_features as F
    from sleepsignal import staging as S
    from sleepsignal.simulate import simulate_night

    nights = {}
    for seed in range(10, 16):
        night = simulate_night(hours, seed=seed)
        a = truth_session(night).time_value_tracks["actigram"]
        stages = np.asarray(night.truth.stages)
        nights[seed] = (F.actigraphy_counts(a.times, a.values, len(stages)), stages)
    out = []
    saved = S.ACTIGRAPHY_THRESHOLD
    try:
        for th in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
            S.ACTIGRAPHY_THRESHOLD = th
            ks = []
            for group in ((10, 11, 12, 13), (14, 15)):
                y, p = [], []
                for seed in group:
                    c, t = nights[seed]
                    ok = t < 4
                    y.append((t[ok] == 0).astype(int))
                    p.append(S.actigraphy_sleep_wake(c)[ok].astype(int))
                ks.append(cohen_kappa(np.concatenate(y), np.concatenate(p), 2))
            out.append((th, ks[0], ks[1]))
    finally:
        S.ACTIGRAPHY_THRESHOLD = saved
    return out


def truth_session(night):  # type: ignore[no-untyped-def]
    """The simulated session with heartbeat / presence / actigram tracks from the truth."""
    from sleepsignal.session import TimeValueTrack

    tr = night.truth
    bt = np.asarray(tr.beat_times)
    rr = np.diff(bt)
    ok = rr < 3.0  # no interval across a bed exit
    dur = night.session.duration
    pt, pc = [0.0], [80]
    for a, b in np.asarray(tr.away):
        pt += [float(a), float(b)]
        pc += [65, 80]
    edges = np.arange(0.0, dur, 60.0)
    counts = np.histogram(np.asarray(tr.movements)[:, 0], np.r_[edges, dur])[0]
    return night.session.with_tracks(
        [
            TimeValueTrack("heartbeat", bt[:-1][ok], rr[ok].astype(np.float32), "float32"),
            TimeValueTrack("presence", np.array(pt), np.array(pc, np.uint8), "uint8"),
            TimeValueTrack("actigram", edges, counts.astype(np.float32), "float32"),
        ]
    )


def _table(name: str, r: dict[str, object]) -> str:
    lines = [
        f"{name}: {r['n_epochs']} epochs, LOSO over 11 subjects",
        "| kappa wake/sleep | kappa wake/NREM/REM | kappa 4-class | acc 4-class |",
        "|---|---|---|---|",
        f"| {r['kappa_wake_sleep']:.3f} | {r['kappa_wake_nrem_rem']:.3f} | "
        f"{r['kappa_4class']:.3f} | {r['accuracy_4class']:.3f} |",
        "",
        "confusion (rows true, columns predicted): wake light deep rem",
    ]
    c = r["confusion"]
    assert isinstance(c, np.ndarray)
    for name_, row in zip(CLASS_NAMES, c, strict=True):
        lines.append(f"  {name_:>5} " + " ".join(f"{v:5d}" for v in row))
    per = r["per_subject_kappa_wake_sleep"]
    assert isinstance(per, dict)
    lines.append(
        "per-subject kappa wake/sleep: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="LOSO staging accuracy on slpdb-rr-stages")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--simulated", action="store_true")
    ap.add_argument("--nested", action="store_true", help="nested LOSO of the grid search")
    ap.add_argument(
        "--actigraphy",
        action="store_true",
        help="threshold grid of the movement-only rule on simulated nights",
    )
    args = ap.parse_args(argv)
    warnings.simplefilter("error")
    t0 = time.perf_counter()
    for kind in ("heartbeat", "heart_rate"):
        print(_table(kind, evaluate(kind)), "\n")
    if args.sweep:
        print("LOSO grid (pooled): model, L2, prior exponent, kappa W/S, W/NREM/REM, 4-class")
        data = T.load_slpdb()
        hmc = T.hmc_statistics()
        for kind in ("heartbeat", "heart_rate"):
            xs = T.features(data, kind)
            for l2 in T.GRID_L2:
                y, pa, _ = T.loso_exponents(data, kind, hmc, l2, T.GRID_PRIOR_EXPONENT, xs)
                for a in T.GRID_PRIOR_EXPONENT:
                    r = scores(y, pa[a])
                    print(
                        f"  {kind:10s} {l2:7.0f} {a:.2f} {r['kappa_wake_sleep']:.3f} "
                        f"{r['kappa_wake_nrem_rem']:.3f} {r['kappa_4class']:.3f}",
                        flush=True,
                    )
    if args.nested:
        for kind in ("heartbeat", "heart_rate"):
            r = nested(kind)
            print(
                f"nested LOSO {kind}: kappa W/S {r['kappa_wake_sleep']:.3f}, W/NREM/REM "
                f"{r['kappa_wake_nrem_rem']:.3f}, 4-class {r['kappa_4class']:.3f}, "
                f"acc {r['accuracy_4class']:.3f}; chosen {r['chosen']}",
                flush=True,
            )
    if args.actigraphy:
        print(
            "actigraphy rule on simulated nights (true movement counts): threshold, "
            "kappa W/S on seeds 10-13 (choice), seeds 14-15 (check)"
        )
        for th, fit, check in actigraphy_grid():
            print(f"  {th:.2f} {fit:.3f} {check:.3f}")
    if args.simulated:
        print("simulated night (truth tracks; sanity only):", simulated_sanity())
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
