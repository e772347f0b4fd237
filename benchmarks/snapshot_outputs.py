"""Snapshot every output of the analysis, to check that speed work changes none of them.

Run from the repository root::

    python benchmarks/snapshot_outputs.py save /tmp/before.pkl     # on the old code
    python benchmarks/snapshot_outputs.py compare /tmp/before.pkl  # on the new code

``save`` runs :func:`sleepsignal.pipeline.analyze` on a fixed set of sessions (the pipeline
night of the speed benchmarks, the heartbeat benchmark night, a night whose beat shape
drifts, two short nights with 50 Hz / 60 Hz mains, and the bundled demo session) and
pickles, per session: every field of :func:`sleepsignal.heartbeats.detect_heartbeats`,
every time-value track ``analyze`` adds, the hypnogram, the night statistics, the records
(as the JSON the CLI writes) and the notes. ``compare`` recomputes them and prints, per
output, whether it is bit for bit the same or how it moved (elements that differ, the
largest absolute difference, or the two lengths); it exits with status 1 when anything
moved. A speed change that claims identical outputs shows ``identical`` on every line.

``--quick`` leaves out the three 8 h nights (about 10 s instead of about a minute).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "fixtures" / "demo_session" / "session.json"
sys.path.insert(0, str(ROOT))  # this checkout's package

# name -> (hours, simulate_night keyword arguments); None: the bundled demo session
CASES: dict[str, tuple[float, dict[str, Any]] | None] = {
    "pipeline-8h": (8.0, {"seed": 21}),
    "heartbeat-bench-8h": (8.0, {"seed": 3, "profile": "mixed", "body_noise": 0.25}),
    "drifting-8h": (8.0, {"seed": 1, "body_noise": 0.2, "beat_drift": 1.0}),
    "mains50-2h": (2.0, {"seed": 1, "mains_hz": 50.0, "mains_rate": 3.0}),
    "mains60-2h": (2.0, {"seed": 2, "mains_hz": 60.0, "mains_rate": 3.0}),
    "demo": None,
}
LONG = ("pipeline-8h", "heartbeat-bench-8h", "drifting-8h")


def _session(name: str) -> Any:
    from sleepsignal.io.beddit import read_session
    from sleepsignal.simulate import simulate_night

    case = CASES[name]
    if case is None:
        return read_session(DEMO)
    hours, kwargs = case
    return simulate_night(hours, **kwargs).session


def _outputs(session: Any) -> dict[str, Any]:
    """Every output of one session, as plain arrays and strings."""
    from sleepsignal import pipeline
    from sleepsignal.heartbeats import detect_heartbeats

    out: dict[str, Any] = {}
    hb = detect_heartbeats(*session.signal("normal"))
    for f in hb._fields:
        out[f"heartbeats.{f}"] = np.asarray(getattr(hb, f))
    a = pipeline.analyze(session)
    for name, track in sorted(a.session.time_value_tracks.items()):
        out[f"track.{name}.times"] = np.asarray(track.times)
        out[f"track.{name}.values"] = np.asarray(track.values)
    for f in dataclasses.fields(a.hypnogram):
        value = getattr(a.hypnogram, f.name)
        key = f"hypnogram.{f.name}"
        out[key] = np.asarray(value) if isinstance(value, np.ndarray) else repr(value)
    out["statistics"] = repr(a.statistics)
    for name, record in sorted(a.records.items()):
        out[f"record.{name}"] = json.dumps(record, sort_keys=True, default=str)
    out["notes"] = "\n".join(a.notes)
    return out


def _moved(old: Any, new: Any) -> str | None:
    """None when ``new`` is bit for bit ``old``, else how it moved."""
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if old.dtype != new.dtype:
            return f"dtype {old.dtype} -> {new.dtype}"
        if old.shape != new.shape:
            return f"shape {old.shape} -> {new.shape}"
        if old.tobytes() == new.tobytes():
            return None
        if old.dtype.kind in "fiub":
            o = old.astype(np.float64)
            n = new.astype(np.float64)
            same = (o == n) | (np.isnan(o) & np.isnan(n))
            diff = np.abs(o - n)[~same]
            largest = float(np.nanmax(diff)) if np.isfinite(diff).any() else float("nan")
            return f"{int((~same).sum())} of {o.size} differ, largest {largest:.3g}"
        return f"{int((old != new).sum())} of {old.size} differ"
    if type(old) is not type(new):
        return f"type {type(old).__name__} -> {type(new).__name__}"
    if old == new:
        return None
    if isinstance(old, str):
        at = next(
            (i for i, (x, y) in enumerate(zip(old, new, strict=False)) if x != y),
            min(len(old), len(new)),
        )
        was, now = old[at : at + 40], new[at : at + 40]
        return f"text differs from character {at}: ...{was!r} -> ...{now!r}"
    return "differs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("path", type=Path, help="the snapshot file")
    parser.add_argument("--quick", action="store_true", help="leave out the 8 h nights")
    args = parser.parse_args(argv)

    names = [n for n in CASES if not (args.quick and n in LONG)]
    if args.action == "save":
        snap = {name: _outputs(_session(name)) for name in names}
        with open(args.path, "wb") as f:
            pickle.dump(snap, f)
        print(f"saved {sum(len(v) for v in snap.values())} outputs of {len(snap)} sessions")
        return 0

    with open(args.path, "rb") as f:
        snap = pickle.load(f)
    moved = 0
    for name in names:
        if name not in snap:
            print(f"{name}: not in the snapshot, skipped")
            continue
        new = _outputs(_session(name))
        old = snap[name]
        for key in sorted(set(old) | set(new)):
            if key not in new or key not in old:
                how: str | None = "only in the snapshot" if key in old else "new output"
            else:
                how = _moved(old[key], new[key])
            moved += how is not None
            print(f"{name:20s} {key:44s} {'identical' if how is None else how}")
    print(f"{moved} outputs moved" if moved else "all outputs identical")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
