"""Accuracy of the session tracks on whole simulated nights driven by real breathing belts.

Run from the repository root::

    python benchmarks/accuracy_tracks.py            # every li2024 breathing night, 8 h
    python benchmarks/accuracy_tracks.py --nights 4 --hours 2
    python benchmarks/accuracy_tracks.py --fs 55 --only 0,3,6,9   # other rate, some nights
    python benchmarks/accuracy_tracks.py --work     # + breathing work per night (below)
    python benchmarks/accuracy_tracks.py --explain --belt-sensitivity --belt-unrendered  # README

Each night: :func:`sleepsignal.simulate.simulate_night` driven by one real belt signal of
``../shared/data/li2024-reference/resp`` (profiles cycle cardiac / mixed / respiratory,
mains alternates 50 Hz / 60 Hz, seed = night index), then
:func:`sleepsignal.tracks.session_tracks` with the beat times of
:func:`sleepsignal.heartbeats.detect_heartbeats` (as ``pipeline.analyze`` runs it; also
scored without them), scored against the simulator's truth (breath starts: belt troughs
by depth simplification, see ``_truth_checks``):

- breathing: the rate in a minute is ``60 * sum(o_i / L_i) / sum(o_i)`` breaths/min over
  the cycles overlapping the minute, ``o_i`` the part (s) of cycle ``i`` (length ``L_i``)
  inside it: each cycle counts by the fraction of it inside the minute, exactly as
  :func:`respiration_rate` (that is 60 / the harmonic mean of the overlapping cycle
  lengths, weighted by their time in the minute). Moving one cycle start lengthens one
  cycle and shortens its neighbour by the same time; inside the minute the two fractions
  stay 1 + 1, so a jittered start does not flip a minute the way counting starts per
  minute does (the "jitter" rows check it on the truth itself). The rate is defined
  (for truth and detection alike) when the cycles cover more than 30 s of the minute.
  A clean minute: in bed for the whole minute (no overlap with a true bed-exit
  interval), no overlap with a true movement interval (both rounded outwards to whole
  seconds), at least 3 true cycles (by the fraction count above) and a defined true
  rate. Score: the share of clean minutes whose detected rate is within 0.5 breaths/min
  of the true one (no detected rate = a miss), per night, and per signal profile; the
  misses split into minutes with no rate and minutes with a wrong one; the
  median absolute error. The same for a plain band-pass peak picker (the baseline named
  in the issue).
- movement: F1 over 60 s epochs in bed; an epoch is positive in truth when a movement
  interval overlaps it, detected when its actigram count is > 0.
- out of bed, mains, snoring: time-weighted F1 at 1 s resolution (positive = away /
  interference / snoring).

Belt movements (branch beltmove): the subject's own movements recorded by the belt are
movements of the night (``_simulate_physio.belt_movements``). Extra rows: the night scored
as before (clean minutes and movement F1 with only the simulator's own movements,
:func:`own_movements`, checked to make up ``truth.movements`` with the belt's), the share
of those old clean minutes touching a belt movement and the detector's accuracy in and
out of them, belt movements per hour in bed and the share of in-bed minutes they touch.
``--belt-sensitivity`` simulates every night again with both belt thresholds x0.7 and x1.4
(:data:`BELT_SENSITIVITY_FACTORS`) and scores it (breathing, movement F1, belt movements
per hour, share of in-bed minutes they touch). ``--belt-unrendered`` simulates every
night with the belt's movements labelled but not rendered (the simulator's nights before
branch beltmove, :func:`simulate_belt_unrendered`) and scores them with today's clean
minutes: with the row "clean minutes as before branch beltmove" it splits the change of
branch beltmove into the new definition and the rendering.

Snoring is scored on the in-bed seconds outside true movements (the detector reports no
breathing cycle, so no snoring, through a movement; branch beltmove2); the row on every
second is the scoring before.

``--work`` also re-runs the breathing detector on each night's own inputs (the view,
exclusions and beats ``session_tracks`` gave it) with the baseline and wide waves
computed only around the frames that may use them (``WAVE_MARGIN_S``, as shipped) and
over the whole view (margin 1e9 s), and prints per night: the samples band-passed for
those two waves per sample of the view, the CPU time (``time.process_time``, min of
``--work-repeats``) of ``_breathing_from_low``, and whether the two give the same cycles
(largest start / length difference). An inequality there is an error.

Then the real ``sadek-mfos-18min`` recording: cycles and rate (no reference exists).
Prints a Markdown table (median over nights, and the worst night).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
SHARED = ROOT.parent / "shared" / "data"

from naive_tracks import second_mask as _mask  # noqa: E402  # the scoring shared with tests
from naive_tracks import time_f1 as _f1  # noqa: E402


def _minute_rates(
    starts: np.ndarray, lengths: np.ndarray, n_min: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per minute: breaths/min as in ``respiration_rate`` (each cycle counted by the
    fraction of it inside the minute, over the time covered), and cycles elapsed."""
    ends = starts + lengths
    cyc = np.zeros(n_min)
    cov = np.zeros(n_min)
    for m in range(n_min):
        a, b = 60.0 * m, 60.0 * (m + 1)
        i0, i1 = np.searchsorted(ends, a, "right"), np.searchsorted(starts, b, "left")
        o = np.clip(np.minimum(ends[i0:i1], b) - np.maximum(starts[i0:i1], a), 0, None)
        cyc[m] = (o / lengths[i0:i1]).sum()
        cov[m] = o.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cov > 30.0, 60.0 * cyc / cov, np.nan), cyc


def _plain_peak_picker(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: band-pass 0.1-0.5 Hz at full rate, scipy find_peaks with a 2 s
    minimum distance, cycles peak to peak."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    sos = butter(2, [0.1, 0.5], btype="bandpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x.astype(np.float64))
    p, _ = find_peaks(y, distance=int(2.0 * fs))
    t = p / fs
    return t[:-1], np.diff(t)


def _truth_checks(resp: np.ndarray, rfs: float, night, d_rate: np.ndarray) -> dict[str, float]:
    """How well the truth agrees with itself, and with the earlier truth.

    The simulator's breath starts are the belt troughs that survive depth simplification
    (:func:`sleepsignal._simulate_physio.belt_troughs`, depth >= 0.3 x the local breath
    size, 5 min). Shares of clean minutes within 0.5 breaths/min of the truth, for:
    the same rule with the depth fraction 0.24 and 0.36 (+-20 %, mean of the two), with
    the size window 240 s and 360 s (mean); the earlier truth (belt troughs with a
    prominence of 0.3 of the whole night's normalised belt, ``find_peaks``) against the
    truth; the earlier truth against itself at prominence 0.25 and 0.35 (its clean
    minutes); and the detector scored against the earlier truth. A detector that only
    sees the bed signal cannot be expected to beat the self-agreement by much.
    """
    import math

    from scipy import signal as sps

    from sleepsignal._simulate_physio import belt_breath_size, belt_troughs

    dur = night.session.duration
    x = resp[: math.ceil(dur * rfs) + 1]
    sos = sps.butter(2, [0.08, min(1.0, 0.45 * rfs)], "bandpass", fs=rfs, output="sos")
    y = sps.sosfiltfilt(sos, x - np.median(x))
    y = y / (2 * math.sqrt(2) * 1.4826 * np.median(np.abs(y - np.median(y))))
    n_min = int(dur // 60)
    truth = night.truth
    away = truth.away.reshape(-1, 2)
    bad = _mask(n_min * 60, np.vstack([truth.movements.reshape(-1, 2), away]))
    still = ~bad[: n_min * 60].reshape(n_min, 60).any(axis=1)

    def rate_of(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.ones(len(t) - 1, dtype=bool) if len(t) > 1 else np.zeros(0, bool)
        for s, e in away:
            keep &= ~((t[:-1] < e) & (t[1:] > s))
        return _minute_rates(t[:-1][keep], np.diff(t)[keep], n_min)

    def share(r: np.ndarray, ref: np.ndarray, clean: np.ndarray) -> float:
        return float(np.mean(np.nan_to_num(np.abs(r - ref)[clean], nan=np.inf) <= 0.5))

    ts, tl = truth.breath_cycles()
    t_rate, t_cnt = _minute_rates(ts, tl, n_min)
    clean = still & (t_cnt >= 3) & np.isfinite(t_rate)
    size = belt_breath_size(y, rfs)
    out = {}
    alt = [rate_of(belt_troughs(y, rfs, f, size))[0] for f in (0.24, 0.36)]
    out["truth_depth_pm20"] = float(np.mean([share(r, t_rate, clean) for r in alt]))
    # minutes where the reference is unambiguous: the rule at 0.24 and 0.36 agrees
    firm = clean.copy()
    for r in alt:
        firm &= np.nan_to_num(np.abs(r - t_rate), nan=np.inf) <= 0.5
    out["breath_firm_share"] = float(firm.sum() / max(int(clean.sum()), 1))
    out["breath_within_0.5_firm"] = share(d_rate, t_rate, firm)
    out["truth_window_pm20"] = float(
        np.mean(
            [
                share(
                    rate_of(belt_troughs(y, rfs, size=belt_breath_size(y, rfs, w)))[0],
                    t_rate,
                    clean,
                )
                for w in (240.0, 360.0)
            ]
        )
    )
    old = [
        sps.find_peaks(-y, distance=max(1, int(1.5 * rfs)), prominence=p)[0] / rfs
        for p in (0.3, 0.25, 0.35)
    ]
    o_rate, o_cnt = rate_of(old[0])
    out["old_vs_truth"] = share(o_rate, t_rate, clean)
    o_clean = still & (o_cnt >= 3) & np.isfinite(o_rate)
    out["old_self"] = float(np.mean([share(rate_of(t)[0], o_rate, o_clean) for t in old[1:]]))
    out["breath_vs_old_truth"] = share(d_rate, o_rate, o_clean)
    return out


def own_movements(seed: int, duration: float, mains_hz: float) -> np.ndarray:
    """The simulator's own random movements of a night driven as in :func:`main`: the
    event model again from the same child generator (``spawn(16)[1]``, which draws
    nothing else before it when ``mains_hz`` is given). ``main`` checks that they and the
    belt's movements make up ``truth.movements`` exactly."""
    from sleepsignal import _simulate_physio as ph

    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(16)[1])
    ev = ph.make_events(
        duration,
        rng,
        onset=None,
        bed_exits=None,
        movement_rate=1.0,
        snoring_rate=1.0,
        mains_hz=mains_hz,
        mains_rate=1.0,
    )
    return ph.merge_intervals(ev.movements_raw[:, :2])


def belt_rows(night, tracks, resp: np.ndarray, rfs: float, own: np.ndarray) -> dict[str, float]:
    """The night scored as before the belt's movements were labelled (only the simulator's
    own movements make a minute unclean and count in the movement F1), and the belt's
    movements: per hour, share of in-bed minutes they touch, and the detector's accuracy
    inside / outside them among the old clean minutes."""
    from sleepsignal import _simulate_physio as ph

    truth = night.truth
    dur = night.session.duration
    belt = ph._subtract(ph.belt_movements(resp, rfs, dur), truth.away.reshape(-1, 2))
    union = ph.merge_intervals(np.vstack([own.reshape(-1, 2), belt]))
    tm = truth.movements.reshape(-1, 2)
    # to 1 us: the night's end is n / fs in the simulator, frames x 0.2 s here
    if union.shape != tm.shape or not np.allclose(union, tm, rtol=0, atol=1e-6):
        raise RuntimeError(
            "own + belt movements differ from truth.movements: own_movements no longer "
            "mirrors simulate_night"
        )
    r_old = score_night(night, tracks, baseline=False, movements=own)
    n_min = int(dur // 60)
    ts, tl = truth.breath_cycles()
    t_rate, t_cnt = _minute_rates(ts, tl, n_min)
    d_rate, _ = _minute_rates(
        tracks.details.breathing.starts, tracks.details.breathing.lengths, n_min
    )

    def minutes(iv: np.ndarray) -> np.ndarray:
        return _mask(n_min * 60, iv)[: n_min * 60].reshape(n_min, 60).any(axis=1)

    away_min = minutes(truth.away.reshape(-1, 2))
    old_clean = ~minutes(own) & ~away_min & (t_cnt >= 3) & np.isfinite(t_rate)
    touch = minutes(belt)
    ok = np.nan_to_num(np.abs(d_rate - t_rate), nan=np.inf) <= 0.5
    in_bed = max(float(np.sum(~away_min)), 1.0)
    out = {
        "breath_within_0.5_own_only": r_old["breath_within_0.5"],
        "breath_clean_min_own_only": r_old["breath_clean_min"],
        "movement_f1_own_only": r_old["movement_f1"],
        "belt_moves_per_h": len(belt) / (in_bed / 60.0),
        "belt_minutes_share": float(np.sum(touch & ~away_min) / in_bed),
        "belt_share_of_old_clean": float(np.mean(touch[old_clean])) if old_clean.any() else 0.0,
    }
    if np.any(old_clean & touch):
        out["breath_in_belt_moves"] = float(np.mean(ok[old_clean & touch]))
    if np.any(old_clean & ~touch):
        out["breath_out_belt_moves"] = float(np.mean(ok[old_clean & ~touch]))
    return out


def _jitter_check(night, clean: np.ndarray, t_rate: np.ndarray, n_min: int) -> dict[str, float]:
    """The truth against itself with every start moved: by one sample of the bed signal
    (1/fs, random sign or 0) and uniformly by up to +-0.25 s; share within 0.5."""
    truth = night.truth
    b = truth.breath_starts
    rng = np.random.default_rng(0)
    out = {}
    for key, shift in (
        ("jitter_1_sample", rng.integers(-1, 2, len(b)) / night.session.signal("normal")[1]),
        ("jitter_0.25s", rng.uniform(-0.25, 0.25, len(b))),
    ):
        bj = np.sort(b + shift)
        ok = np.ones(len(bj) - 1, dtype=bool)
        for s, e in truth.away.reshape(-1, 2):
            ok &= ~((bj[:-1] < e) & (bj[1:] > s))
        r, _ = _minute_rates(bj[:-1][ok], np.diff(bj)[ok], n_min)
        out[key] = float(np.mean(np.nan_to_num(np.abs(r - t_rate)[clean], nan=np.inf) <= 0.5))
    return out


def _breathing_inputs(night, tracks) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray]]:
    """The low-rate view and exclusions ``session_tracks`` gave the breathing detector
    (rebuilt as in ``tracks.session_tracks``: movements and everything not present)."""
    from sleepsignal._track_kernels import _lowrate
    from sleepsignal.activity import PRESENT

    x, fs = night.session.signal("normal")
    low, fs_low, _ = _lowrate(np.asarray(x), fs)
    det = tracks.details
    a_s, a_e = det.presence.intervals(PRESENT)
    gap_s = np.concatenate([[0.0], a_e])
    gap_e = np.concatenate([a_s, [max(night.session.duration, 0.0)]])
    keep = gap_e > gap_s
    ex_s = np.concatenate([det.movements.starts, gap_s[keep]])
    ex_e = np.concatenate([det.movements.ends, gap_e[keep]])
    return low, fs_low, (ex_s, ex_e)


def breathing_work(low, fs_low: float, ex, beats, repeats: int) -> dict[str, float]:
    """``--work``: band-passed samples of the baseline and wide waves per sample of the
    view, and CPU ms of ``_breathing_from_low`` (min of ``repeats``), with the waves
    local (``WAVE_MARGIN_S``) and whole (margin 1e9 s); the largest cycle difference."""
    import sleepsignal.respiration as resp

    out: dict[str, float] = {}
    cycles = {}
    real_wave, margin = resp._breathing_wave, resp.WAVE_MARGIN_S
    for name, m in (("local", margin), ("whole", 1e9)):
        seen = [0]

        def spy(x, fs, band=resp.BREATHING_BAND_HZ, centre=None, sos=None, seen=seen):  # type: ignore[no-untyped-def]
            if band in (resp.BASELINE_BAND_HZ, resp.WIDE_BAND_HZ):
                seen[0] += len(x)
            return real_wave(x, fs, band, centre, sos)

        resp.WAVE_MARGIN_S = m
        try:
            resp._breathing_wave = spy
            cycles[name] = resp._breathing_from_low(low, fs_low, ex, beat_times=beats)
            resp._breathing_wave = real_wave
            best = np.inf
            for _ in range(repeats):
                t0 = time.process_time()
                resp._breathing_from_low(low, fs_low, ex, beat_times=beats)
                best = min(best, time.process_time() - t0)
        finally:
            resp.WAVE_MARGIN_S, resp._breathing_wave = margin, real_wave
        out[f"work_samples_{name}"] = seen[0] / len(low)
        out[f"work_cpu_ms_{name}"] = 1e3 * best
    a, b = cycles["local"], cycles["whole"]
    if len(a.starts) != len(b.starts):
        raise RuntimeError(f"--work: {len(a.starts)} cycles local vs {len(b.starts)} whole")
    out["work_cycles"] = float(len(a.starts))
    out["work_max_dt"] = float(
        max(
            np.max(np.abs(a.starts - b.starts), initial=0.0),
            np.max(np.abs(a.lengths - b.lengths), initial=0.0),
        )
    )
    return out


#: Categories of a missed clean minute (``--explain``), in the order they are tested.
MISS_KINDS = (
    "no detected rate (cycles cover <= 30 s)",
    "beat-interval wave chosen in the minute",
    "wrong wave chosen (another candidate's own cycles within 0.5)",
    "breath split (detected rate too high)",
    "breaths merged (detected rate too low)",
)


def explain_misses(
    low: np.ndarray,
    fs_low: float,
    exclude: tuple[np.ndarray, np.ndarray],
    beat_times: np.ndarray | None,
    t_rate: np.ndarray,
    clean: np.ndarray,
    n_min: int,
) -> tuple[np.ndarray, np.ndarray, object]:
    """What the detector did in each missed clean minute.

    Re-runs the breathing selection of ``session_tracks`` (same low-rate view, exclusions
    and beats) keeping its candidates: per minute, the detected rate, which candidate
    waves the frames overlapping the minute chose, and each candidate's own rate.
    Returns ``(kind, missed, cycles)``: per minute the index into :data:`MISS_KINDS`
    of the first category that applies (-1 when not missed), the missed mask, and the
    assembled cycles (with the same exclusions in ``_assemble``: the tracks' cycles bit
    for bit, which the caller checks). "Another
    candidate" is any wave computed for the night (the smoothed one is allowed only in
    frames where the heartbeat buries the breath, so this also counts minutes it was
    not allowed to win).
    """
    from sleepsignal import respiration as R

    knots = None if beat_times is None else R._rsa_knots(beat_times)
    beats = None
    if beat_times is not None:
        beats = np.sort(np.asarray(beat_times, dtype=np.float64))
        beats = beats[np.isfinite(beats)]
    sel = R._select(low, fs_low, exclude, R.BREATHING_SOURCES, knots, 0, beats)
    b = R._assemble(sel, fs_low, exclude)
    # each candidate's own cycles over the whole night, as before the detector computed
    # the baseline and wide waves only near the frames where they may win (same names,
    # same order; their cycles there are the same)
    margin = R.WAVE_MARGIN_S
    R.WAVE_MARGIN_S = max(margin, len(low) / fs_low)
    try:
        whole = R._select(low, fs_low, exclude, R.BREATHING_SOURCES, knots, 0, beats)
    finally:
        R.WAVE_MARGIN_S = margin
    assert whole.names == sel.names
    d_rate, _ = _minute_rates(b.starts, b.lengths, n_min)
    err = np.nan_to_num(np.abs(d_rate - t_rate), nan=np.inf)
    missed = clean & (err > 0.5)
    cand_ok = []
    for c in whole.cycles:
        r, _ = _minute_rates(c.starts, c.lengths, n_min)
        cand_ok.append(np.nan_to_num(np.abs(r - t_rate), nan=np.inf) <= 0.5)
    frame_s = sel.frame / fs_low
    kind = np.full(n_min, -1)
    for m in np.flatnonzero(missed):
        f0, f1 = int(60 * m // frame_s), int(np.ceil(60 * (m + 1) / frame_s))
        chosen = set(sel.choice[f0 : min(f1, len(sel.choice))].tolist())
        if not np.isfinite(d_rate[m]):
            kind[m] = 0
        elif "rsa" in sel.names and sel.names.index("rsa") in chosen:
            kind[m] = 1
        elif any(cand_ok[k][m] for k in range(len(sel.cycles)) if k not in chosen):
            kind[m] = 2
        elif d_rate[m] > t_rate[m]:
            kind[m] = 3
        else:
            kind[m] = 4
    return kind, missed, b


def score_night(
    night, tracks, *, baseline: bool = True, movements: np.ndarray | None = None
) -> dict[str, float]:
    """Scores of one night; ``movements`` replaces ``truth.movements`` (clean minutes and
    movement F1) when given."""
    truth = night.truth
    moves = truth.movements.reshape(-1, 2) if movements is None else movements.reshape(-1, 2)
    dur = night.session.duration
    n = int(np.ceil(dur))
    det = tracks.details
    # breathing per clean minute
    n_min = int(dur // 60)
    ts, tl = truth.breath_cycles()
    t_rate, t_cnt = _minute_rates(ts, tl, n_min)
    d_rate, _ = _minute_rates(det.breathing.starts, det.breathing.lengths, n_min)
    bad = _mask(n_min * 60, np.vstack([moves, truth.away.reshape(-1, 2)]))
    clean = ~bad[: n_min * 60].reshape(n_min, 60).any(axis=1) & (t_cnt >= 3)
    clean &= np.isfinite(t_rate)
    err = np.abs(d_rate - t_rate)[clean]
    reported = np.isfinite(d_rate[clean])
    out = {
        "breath_within_0.5": float(np.mean(np.nan_to_num(err, nan=np.inf) <= 0.5)),
        # the misses split: no rate reported (cycles cover <= 30 s) / a wrong rate
        "breath_no_rate": float(np.mean(~reported)),
        "breath_wrong": float(np.mean(reported & (np.nan_to_num(err, nan=0.0) > 0.5))),
        "breath_mae": float(np.nanmedian(err)) if np.isfinite(err).any() else float("nan"),
        "breath_clean_min": float(clean.sum()),
    }
    out.update(_jitter_check(night, clean, t_rate, n_min))
    if baseline:
        x, fs = night.session.signal("normal")
        ps, pl = _plain_peak_picker(x, fs)
        b_rate, _ = _minute_rates(ps, pl, n_min)
        berr = np.abs(b_rate - t_rate)[clean]
        out["plain_within_0.5"] = float(np.mean(np.nan_to_num(berr, nan=np.inf) <= 0.5))
        out["plain_mae"] = float(np.nanmedian(berr))
    # movement epochs (60 s) in bed
    n_ep = int(dur // 60)
    mv = _mask(n_ep * 60, moves)[: n_ep * 60].reshape(n_ep, 60).any(axis=1)
    away_ep = _mask(n_ep * 60, truth.away)[: n_ep * 60].reshape(n_ep, 60).mean(axis=1) >= 0.5
    ep_starts = tracks.actigram.times
    counts = tracks.actigram.values
    pred = np.zeros(n_ep, dtype=bool)
    k = np.round(ep_starts / 60).astype(int)
    ok = k < n_ep
    pred[k[ok]] = counts[ok] > 0
    out["movement_f1"] = _f1(mv[~away_ep], pred[~away_ep])
    # away, time weighted (1 s)
    t_sec = np.arange(n) + 0.5
    pres = det.presence
    away_pred = pres.mask(t_sec, 65)
    out["away_f1"] = _f1(_mask(n, truth.away), away_pred)
    # mains
    st = det.sensor_status
    kk = np.clip((t_sec / st.window_s).astype(int), 0, max(len(st.window_status) - 1, 0))
    mains_pred = st.window_status[kk] == 2 if len(st.window_status) else np.zeros(n, bool)
    out["mains_f1"] = _f1(_mask(n, truth.mains), mains_pred)
    hz_truth = float(truth.mains_hz[0]) if len(truth.mains_hz) else 0.0
    out["mains_hz"] = hz_truth
    if mains_pred.any():
        out["mains_hz_correct"] = float(np.mean(st.window_hz[kk][mains_pred] == hz_truth))
    # snoring
    if det.snoring is not None:
        sn = np.column_stack([det.snoring.starts, det.snoring.starts + det.snoring.lengths])
        t_sn, p_sn = _mask(n, truth.snoring), _mask(n, sn)
        # the detector reports snoring per breathing cycle and reports no cycle through
        # a detected movement (the spec), while the simulator draws snoring runs through
        # movements: score the in-bed seconds outside true movements, as breathing is
        # scored on clean minutes (branch beltmove2); the old scoring stays as a row
        scored = ~_mask(n, np.vstack([moves, truth.away.reshape(-1, 2)]))
        out["snoring_f1"] = _f1(t_sn[scored], p_sn[scored])
        out["snoring_f1_all_seconds"] = _f1(t_sn, p_sn)
    return out


def _explain_night(
    night, tracks, beats, resp: np.ndarray, rfs: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per minute of one night: miss kind (:func:`explain_misses`), clean, unambiguous
    (the same minutes as in :func:`_truth_checks`)."""
    import math

    from scipy import signal as sps

    from sleepsignal._simulate_physio import belt_breath_size, belt_troughs

    truth = night.truth
    n_min = int(night.session.duration // 60)
    ts, tl = truth.breath_cycles()
    t_rate, t_cnt = _minute_rates(ts, tl, n_min)
    away = truth.away.reshape(-1, 2)
    bad = _mask(n_min * 60, np.vstack([truth.movements.reshape(-1, 2), away]))
    clean = ~bad[: n_min * 60].reshape(n_min, 60).any(axis=1) & (t_cnt >= 3)
    clean &= np.isfinite(t_rate)
    low, fs_low, ex = _breathing_inputs(night, tracks)
    kind, _, b = explain_misses(low, fs_low, ex, beats, t_rate, clean, n_min)
    det = tracks.details.breathing
    if not (np.array_equal(b.starts, det.starts) and np.array_equal(b.lengths, det.lengths)):
        raise RuntimeError(
            "explain: the re-run breathing cycles differ from the tracks' "
            f"({len(b.starts)} vs {len(det.starts)}): explain_misses no longer mirrors "
            "session_tracks"
        )
    # unambiguous minutes: the truth rule at depth 0.24 and 0.36 within 0.5 of it
    x = resp[: math.ceil(night.session.duration * rfs) + 1]
    sos = sps.butter(2, [0.08, min(1.0, 0.45 * rfs)], "bandpass", fs=rfs, output="sos")
    y = sps.sosfiltfilt(sos, x - np.median(x))
    y = y / (2 * math.sqrt(2) * 1.4826 * np.median(np.abs(y - np.median(y))))
    firm = clean.copy()
    size = belt_breath_size(y, rfs)
    for fr in (0.24, 0.36):
        t = belt_troughs(y, rfs, fr, size)
        keep = np.ones(max(len(t) - 1, 0), dtype=bool)
        for s, e in away:
            keep &= ~((t[:-1] < e) & (t[1:] > s))
        r, _ = _minute_rates(t[:-1][keep], np.diff(t)[keep], n_min)
        firm &= np.nan_to_num(np.abs(r - t_rate), nan=np.inf) <= 0.5
    return kind, clean, firm


def _print_explained(explained: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """The breakdown of missed clean minutes, pooled over the nights."""
    groups: dict[str, list[np.ndarray]] = {}
    for prof, kind, clean, firm in explained:
        for name, m in (
            ("all clean minutes", clean),
            ("reference ambiguous", clean & ~firm),
            ("reference unambiguous", firm),
            (f"{prof}-profile nights", clean),
        ):
            groups.setdefault(name, []).append(kind[m])
    print()
    print(
        "Missed clean minutes (detected rate not within 0.5 breaths/min), pooled over "
        f"{len(explained)} nights, by what the detector did: share of the group's minutes"
    )
    print()
    print("| group | minutes | missed | " + " | ".join(MISS_KINDS) + " |")
    print("|---|---|---|" + "---|" * len(MISS_KINDS))
    order = [
        "all clean minutes",
        "reference ambiguous",
        "reference unambiguous",
        "cardiac-profile nights",
        "mixed-profile nights",
        "respiratory-profile nights",
    ]
    for name in order:
        if name not in groups:
            continue
        k = np.concatenate(groups[name])
        n = max(len(k), 1)
        cells = " | ".join(f"{np.sum(k == j) / n:.3f}" for j in range(len(MISS_KINDS)))
        print(f"| {name} | {len(k)} | {np.sum(k >= 0) / n:.3f} | {cells} |")


#: ``--belt-sensitivity``: factors applied to both belt-movement thresholds. Not 0.5: the
#: weak threshold (``BELT_MOVE_OFF`` = 2) would fall to 1.0x the reference, which is at
#: least the night's median rms, so about half of all samples would pass it (night 2:
#: 144 movements per hour, breathing 0.500: no longer a movement rule).
BELT_SENSITIVITY_FACTORS = (0.7, 1.4)


def _in_bed_minute_share(belt: np.ndarray, away: np.ndarray, dur: float) -> float:
    """Share of in-bed minutes (not touching a true bed exit) that touch ``belt``."""
    n_min = int(dur // 60)

    def minutes(iv: np.ndarray) -> np.ndarray:
        return _mask(n_min * 60, iv)[: n_min * 60].reshape(n_min, 60).any(axis=1)

    away_min = minutes(away.reshape(-1, 2))
    return float(np.sum(minutes(belt) & ~away_min) / max(float(np.sum(~away_min)), 1.0))


def belt_sensitivity(
    resp: np.ndarray,
    rfs: float,
    hours: float,
    seed: int,
    profile: str,
    mains: float,
    fs: float,
    fac: float,
) -> dict[str, float]:
    """``--belt-sensitivity``: the night simulated again with both belt-movement
    thresholds (``BELT_MOVE_ON``, ``BELT_MOVE_OFF``) times ``fac``, detected and scored
    as in :func:`main` (beats from the detector); breathing within 0.5, movement F1, belt
    movements per hour and the share of in-bed minutes they touch."""
    from sleepsignal import _simulate_physio as ph
    from sleepsignal.heartbeats import detect_heartbeats
    from sleepsignal.simulate import simulate_night
    from sleepsignal.tracks import session_tracks

    on, off = ph.BELT_MOVE_ON, ph.BELT_MOVE_OFF
    ph.BELT_MOVE_ON, ph.BELT_MOVE_OFF = on * fac, off * fac
    try:
        night = simulate_night(
            hours,
            seed=seed,
            resp=resp,
            resp_fs=rfs,
            profile=profile,  # type: ignore[arg-type]
            mains_hz=mains,
            fs=fs,
        )
        belt = ph._subtract(ph.belt_movements(resp, rfs, night.session.duration), night.truth.away)
    finally:
        ph.BELT_MOVE_ON, ph.BELT_MOVE_OFF = on, off
    beats = detect_heartbeats(*night.session.signal("normal")).beat_times
    r = score_night(night, session_tracks(night.session, beat_times=beats), baseline=False)
    in_bed_h = (night.session.duration - float(np.sum(np.diff(night.truth.away, axis=1)))) / 3600
    dur = night.session.duration
    return {
        f"breath_within_0.5_belt_x{fac:g}": r["breath_within_0.5"],
        f"movement_f1_belt_x{fac:g}": r["movement_f1"],
        f"belt_moves_per_h_x{fac:g}": len(belt) / max(in_bed_h, 1e-9),
        f"belt_minutes_share_x{fac:g}": _in_bed_minute_share(belt, night.truth.away, dur),
    }


def simulate_belt_unrendered(resp: np.ndarray, rfs: float, hours: float, seed: int, **kw):  # type: ignore[no-untyped-def]
    """A belt night as the simulator made it before branch beltmove (the belt's movements
    not rendered: ``belt_movements`` patched to find none while simulating, so no burst,
    posture change or noise of theirs; every other random stream is as on the rendered
    night), and the movements it is scored with: the night's own (``truth.movements``)
    and the belt's (:func:`sleepsignal._simulate_physio.belt_movements` outside the bed
    exits), merged. Returns ``(night, movements)``. ``kw`` goes to ``simulate_night``."""
    from sleepsignal import _simulate_physio as ph
    from sleepsignal.simulate import simulate_night

    real = ph.belt_movements
    ph.belt_movements = lambda *a, **k: np.empty((0, 2))  # type: ignore[assignment]
    try:
        night = simulate_night(hours, seed=seed, resp=resp, resp_fs=rfs, **kw)
    finally:
        ph.belt_movements = real
    dur = night.session.duration
    belt = ph._subtract(ph.belt_movements(resp, rfs, dur), night.truth.away.reshape(-1, 2))
    moves = ph.merge_intervals(np.vstack([night.truth.movements.reshape(-1, 2), belt]))
    return night, moves


def belt_unrendered(
    resp: np.ndarray, rfs: float, hours: float, seed: int, profile: str, mains: float, fs: float
) -> dict[str, float]:
    """``--belt-unrendered``: the night of :func:`simulate_belt_unrendered` detected as in
    :func:`main` (beats from the detector) and scored with the belt's movements in the
    truth's movements (clean minutes, movement F1, snoring seconds): what the new
    clean-minute definition alone does to the old nights."""
    from sleepsignal.heartbeats import detect_heartbeats
    from sleepsignal.tracks import session_tracks

    night, moves = simulate_belt_unrendered(
        resp, rfs, hours, seed, profile=profile, mains_hz=mains, fs=fs
    )
    beats = detect_heartbeats(*night.session.signal("normal")).beat_times
    r = score_night(
        night, session_tracks(night.session, beat_times=beats), baseline=False, movements=moves
    )
    return {
        "breath_within_0.5_unrendered": r["breath_within_0.5"],
        "breath_mae_unrendered": r["breath_mae"],
        "breath_clean_min_unrendered": r["breath_clean_min"],
        "movement_f1_unrendered": r["movement_f1"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nights", type=int, default=0, help="number of belt nights (0 = all)")
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--fs", type=float, default=140.0, help="simulated sampling rate, Hz (default 140)"
    )
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated night indices to run (e.g. 0,3,6,9); default: all",
    )
    ap.add_argument(
        "--work",
        action="store_true",
        help="also print the breathing work per night: band-passed samples and CPU time, "
        "waves local vs whole (see the module notes)",
    )
    ap.add_argument("--work-repeats", type=int, default=3)
    ap.add_argument(
        "--first-night",
        type=int,
        default=0,
        help="start at this night index (profile, mains and seed stay those of the index)",
    )
    ap.add_argument(
        "--tuned-on",
        type=int,
        default=6,
        help="nights 0..N-1 were used to tune the breathing detector: their rows and the "
        "held-out nights' rows are printed apart (default 6)",
    )
    ap.add_argument(
        "--explain",
        action="store_true",
        help="break the missed clean minutes down by what the detector did",
    )
    ap.add_argument(
        "--belt-sensitivity",
        action="store_true",
        help="also simulate every night again with both belt-movement thresholds x0.7 and "
        "x1.4 and score it (about twice the run time)",
    )
    ap.add_argument(
        "--belt-unrendered",
        action="store_true",
        help="also simulate every night with the belt's movements labelled but not rendered "
        "(the nights before branch beltmove) and score it with them in the truth",
    )
    args = ap.parse_args(argv)

    from sleepsignal.heartbeats import detect_heartbeats
    from sleepsignal.simulate import load_li2024_resp, simulate_night
    from sleepsignal.tracks import session_tracks

    files = sorted((SHARED / "li2024-reference" / "resp").glob("*_resp.csv.gz"))
    if not files:
        print(f"no breathing-belt nights under {SHARED}; nothing to measure")
        return 1
    if args.nights:
        files = files[: args.first_night + args.nights]
    profiles = ("cardiac", "mixed", "respiratory")
    rows = []
    explained: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    only = {int(k) for k in args.only.split(",") if k.strip()}
    for i, f in enumerate(files):
        if i < args.first_night or (only and i not in only):
            continue
        resp, rfs = load_li2024_resp(f)
        hours = min(args.hours, len(resp) / rfs / 3600 - 0.01)
        mains = 50.0 if i % 2 == 0 else 60.0
        night = simulate_night(
            hours,
            seed=i,
            resp=resp,
            resp_fs=rfs,
            profile=profiles[i % 3],  # type: ignore[arg-type]
            mains_hz=mains,
            fs=args.fs,
        )
        # as pipeline.analyze: the heartbeat detector once, its beats into the tracks
        beats = detect_heartbeats(*night.session.signal("normal")).beat_times
        t0 = time.perf_counter()
        tr = session_tracks(night.session, beat_times=beats)
        dt = time.perf_counter() - t0
        r = score_night(night, tr, baseline=not args.no_baseline)
        r0 = score_night(night, session_tracks(night.session), baseline=False)
        r["breath_within_0.5_nobeats"] = r0["breath_within_0.5"]
        r["breath_mae_nobeats"] = r0["breath_mae"]
        d_rate, _ = _minute_rates(
            tr.details.breathing.starts,
            tr.details.breathing.lengths,
            int(night.session.duration // 60),
        )
        r.update(_truth_checks(resp, rfs, night, d_rate))
        r.update(belt_rows(night, tr, resp, rfs, own_movements(i, night.session.duration, mains)))
        for fac in BELT_SENSITIVITY_FACTORS if args.belt_sensitivity else ():
            r.update(belt_sensitivity(resp, rfs, hours, i, profiles[i % 3], mains, args.fs, fac))
        if args.belt_unrendered:
            r.update(belt_unrendered(resp, rfs, hours, i, profiles[i % 3], mains, args.fs))
        r["seconds"] = dt
        r["hours"] = hours
        r["night_index"] = float(i)
        rows.append((f.name.split("_resp")[0], profiles[i % 3], r))
        if args.work:
            low, fs_low, ex = _breathing_inputs(night, tr)
            r.update(breathing_work(low, fs_low, ex, beats, args.work_repeats))
        if args.explain:
            explained.append((profiles[i % 3], *_explain_night(night, tr, beats, resp, rfs)))
        print(
            f"{rows[-1][0]:>12} {profiles[i % 3]:>11} "
            + " ".join(f"{k}={v:.3f}" for k, v in r.items()),
            flush=True,
        )

    def col(key: str, sub: list | None = None) -> np.ndarray:
        src = rows if sub is None else sub
        return np.array([r[key] for _, _, r in src if key in r and np.isfinite(r[key])])

    print()
    print(
        f"Whole simulated nights driven by {len(rows)} real belt recordings "
        f"({args.hours:g} h each at {args.fs:g} Hz, li2024-reference/resp)."
    )
    print()
    print("| metric | target | median over nights | worst night | nights scored |")
    print("|---|---|---|---|---|")

    def line(
        name: str, key: str, target: str, sub: list | None = None, low_is_bad: bool = True
    ) -> None:
        v = col(key, sub)
        if len(v) == 0:
            print(f"| {name} | {target} | n/a | n/a | 0 |")
            return
        worst = v.min() if low_is_bad else v.max()
        print(f"| {name} | {target} | {np.median(v):.3f} | {worst:.3f} | {len(v)} |")

    line("breathing: clean minutes within 0.5 breaths/min", "breath_within_0.5", ">= 0.90")
    tuned = [r for r in rows if r[2]["night_index"] < args.tuned_on]
    held = [r for r in rows if r[2]["night_index"] >= args.tuned_on]
    if tuned and held:
        line(
            f"breathing, tuning nights 0-{args.tuned_on - 1}: minutes within 0.5",
            "breath_within_0.5",
            "",
            tuned,
        )
        line(
            f"breathing, held-out nights {args.tuned_on}-{len(files) - 1}: minutes within 0.5",
            "breath_within_0.5",
            ">= 0.90",
            held,
        )
    line(
        "breathing, clean minutes as before branch beltmove (only the simulator's own "
        "movements make a minute unclean; the belt's movements unlabelled)",
        "breath_within_0.5_own_only",
        "",
    )
    line(
        "  those old clean minutes touching a belt movement: share",
        "belt_share_of_old_clean",
        "",
        low_is_bad=False,
    )
    line("  breathing in them: within 0.5", "breath_in_belt_moves", "")
    line("  breathing in the other old clean minutes: within 0.5", "breath_out_belt_moves", "")
    line(
        "belt movements per hour in bed (subject's own, from the raw belt)",
        "belt_moves_per_h",
        "",
        low_is_bad=False,
    )
    line(
        "share of in-bed minutes touching a belt movement",
        "belt_minutes_share",
        "",
        low_is_bad=False,
    )
    if args.belt_unrendered:
        line(
            "breathing, the belt's movements labelled but not rendered (the simulator's "
            "nights before branch beltmove, scored with today's clean minutes): minutes "
            "within 0.5",
            "breath_within_0.5_unrendered",
            "",
        )
        if tuned and held:
            line(
                f"  the same, tuning nights 0-{args.tuned_on - 1}",
                "breath_within_0.5_unrendered",
                "",
                tuned,
            )
            line(
                f"  the same, held-out nights {args.tuned_on}-{len(files) - 1}",
                "breath_within_0.5_unrendered",
                "",
                held,
            )
    for fac in BELT_SENSITIVITY_FACTORS if args.belt_sensitivity else ():
        line(
            f"sensitivity: belt-movement thresholds x{fac:g}: breathing within 0.5",
            f"breath_within_0.5_belt_x{fac:g}",
            "",
        )
        line(
            f"sensitivity: belt-movement thresholds x{fac:g}: movement F1",
            f"movement_f1_belt_x{fac:g}",
            "",
        )
        line(
            f"sensitivity: belt-movement thresholds x{fac:g}: belt movements per hour",
            f"belt_moves_per_h_x{fac:g}",
            "",
            low_is_bad=False,
        )
        line(
            f"sensitivity: belt-movement thresholds x{fac:g}: share of in-bed minutes "
            "touching a belt movement",
            f"belt_minutes_share_x{fac:g}",
            "",
            low_is_bad=False,
        )
    line(
        "breathing: clean minutes with a wrong rate (a rate reported, not within 0.5)",
        "breath_wrong",
        "",
        low_is_bad=False,
    )
    line(
        "breathing: clean minutes with no rate (cycles cover <= 30 s)",
        "breath_no_rate",
        "",
        low_is_bad=False,
    )
    line(
        "truth vs itself (depth fraction 0.24 / 0.36 instead of 0.3): minutes within 0.5",
        "truth_depth_pm20",
        "(ceiling)",
    )
    line(
        "truth vs itself (breath-size window 240 / 360 s instead of 300 s)", "truth_window_pm20", ""
    )
    line(
        "earlier truth (trough prominence 0.3) vs itself at 0.25 / 0.35 (its clean minutes)",
        "old_self",
        "(old ceiling)",
    )
    line("earlier truth (prominence 0.3) vs the truth: minutes within 0.5", "old_vs_truth", "")
    line(
        "breathing scored against the earlier truth: minutes within 0.5",
        "breath_vs_old_truth",
        "",
    )
    line("truth vs itself, every start jittered by one sample (+-1/fs)", "jitter_1_sample", "")
    line("truth vs itself, every start jittered uniformly by +-0.25 s", "jitter_0.25s", "")
    line(
        "breathing without the beat intervals (session_tracks alone): minutes within 0.5",
        "breath_within_0.5_nobeats",
        "",
    )
    for prof in profiles:
        sub = [r for r in rows if r[1] == prof]
        line(
            f"breathing, {prof}-profile nights: minutes within 0.5",
            "breath_within_0.5",
            ">= 0.90",
            sub,
        )
        line(
            f"breathing, {prof}-profile nights without the beat intervals",
            "breath_within_0.5_nobeats",
            "",
            sub,
        )
        line(
            f"breathing, {prof}-profile nights: minutes with a wrong rate",
            "breath_wrong",
            "",
            sub,
            low_is_bad=False,
        )
    line(
        "share of clean minutes where the reference is unambiguous (rule at 0.24 and 0.36 "
        "within 0.5 of it)",
        "breath_firm_share",
        "",
    )
    line(
        "breathing on those unambiguous clean minutes: within 0.5",
        "breath_within_0.5_firm",
        "",
    )
    line(
        "breathing: median abs. error per minute (breaths/min)",
        "breath_mae",
        "<= 0.5",
        low_is_bad=False,
    )
    if not args.no_baseline:
        line("plain band-pass peak picker: minutes within 0.5", "plain_within_0.5", "(baseline)")
        line(
            "plain band-pass peak picker: median abs. error",
            "plain_mae",
            "(~2.4)",
            low_is_bad=False,
        )
    line("movement: epoch F1 (60 s)", "movement_f1", ">= 0.85")
    line(
        "movement F1 against the simulator's own movements only (belt movements unlabelled, "
        "as before branch beltmove)",
        "movement_f1_own_only",
        "",
    )
    line("out of bed: time-weighted F1", "away_f1", ">= 0.95")
    r50 = [r for r in rows if r[2].get("mains_hz") == 50.0]
    r60 = [r for r in rows if r[2].get("mains_hz") == 60.0]
    line("mains 50 Hz: time-weighted F1", "mains_f1", ">= 0.95", r50)
    line("mains 60 Hz: time-weighted F1", "mains_f1", ">= 0.95", r60)
    line("mains: share of flagged time with the right frequency", "mains_hz_correct", "")
    line(
        "snoring: time-weighted F1 (in-bed seconds outside true movements)",
        "snoring_f1",
        ">= 0.7",
    )
    line(
        "snoring: time-weighted F1 on every second, as before branch beltmove2 (seconds "
        "in true movements, where no breathing cycle and so no snoring is reported, "
        "count as misses)",
        "snoring_f1_all_seconds",
        "",
    )
    line(
        "wall time per night in this run, s (shared machine, first night includes the "
        "numba cache load; the speed figure is benchmarks/bench_tracks.py)",
        "seconds",
        "",
        low_is_bad=False,
    )

    if args.work:
        print()
        print(
            "Breathing work per night (baseline + wide band-passed samples per sample of "
            "the view; CPU ms of _breathing_from_low, min of "
            f"{args.work_repeats}), waves local (WAVE_MARGIN_S) vs whole:"
        )
        print()
        print("| nights | samples local | samples whole | CPU ms local | CPU ms whole |")
        print("|---|---|---|---|---|")
        for prof in (None, *profiles):
            sub = rows if prof is None else [r for r in rows if r[1] == prof]
            if not sub:
                continue

            def stat(key: str, sub: list = sub, prof: str | None = prof) -> str:
                v = col(key, sub)
                if prof is None and key.startswith("work_cpu"):
                    return f"sum {v.sum():.0f}, median {np.median(v):.1f}"
                if prof is None:
                    return f"mean {v.mean():.2f}"
                return f"{v.min():.2f}-{v.max():.2f}"

            print(
                f"| {prof or 'all'} ({len(sub)}) | {stat('work_samples_local')} | "
                f"{stat('work_samples_whole')} | {stat('work_cpu_ms_local')} | "
                f"{stat('work_cpu_ms_whole')} |"
            )
        print()
        print(
            f"cycles local vs whole: {int(col('work_cycles').sum())} cycles, largest "
            f"start / length difference {col('work_max_dt').max():.2g} s"
        )

    if explained:
        _print_explained(explained)

    sadek = SHARED / "sadek-mfos-18min" / "sample_data.csv"
    if sadek.exists():
        import pandas as pd

        from sleepsignal.respiration import detect_breathing, respiration_rate

        x = pd.read_csv(sadek)["raw_data_sleepMat"].to_numpy()
        b = detect_breathing(x, 50.0)
        dur = len(x) / 50.0
        print()
        print(
            f"Real recording sadek-mfos-18min (50 Hz, {dur:.0f} s, apnoea patient, no "
            "breathing reference): "
            f"{len(b.starts)} cycles, rate {respiration_rate(b, start=0, end=dur):.1f} "
            f"breaths/min, cycle length median {np.median(b.lengths):.2f} s "
            f"(5-95 %: {np.percentile(b.lengths, 5):.2f}-{np.percentile(b.lengths, 95):.2f} s)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
