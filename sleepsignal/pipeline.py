"""The main job: one session in, derived tracks, a hypnogram, statistics and records out.

:func:`analyze` is what ``sleepsignal analyze`` and ``sleepsignal batch`` run for each
session. It follows the package's one direction of flow: decoded session -> kernels
(heartbeats, breathing, movement, presence, sensor status, snoring) -> staging ->
records. A session without sampled tracks (an exported one) skips the kernels and is
staged from the time-value tracks it carries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hypnogram import Hypnogram
from .session import Session

__all__ = ["Analysis", "analyze", "write_analysis"]


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze` derived from one session.

    Attributes
    ----------
    session : Session
        The input session with the derived time-value tracks added.
    hypnogram : Hypnogram
        30 s stages.
    statistics : object
        :class:`sleepsignal.statistics.NightStatistics` of the night.
    records : dict
        JSON-ready records keyed by the file name ``sleepsignal analyze`` writes them to
        (``sleep.json``, ``ocariot.json``, ``jawbone.json``, ``jawbone_snapshot.json``
        and ``impilo.json`` when an Impilo identifier was given).
    notes : list of str
        What a user should know: tracks that could not be derived, records not written.
    """

    session: Session
    hypnogram: Hypnogram
    statistics: Any
    records: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def analyze(
    session: Session,
    *,
    patient_id: str | None = None,
    device_id: str | None = None,
    device_identifier: str | None = None,
    updated: float | None = None,
    replace_tracks: bool = False,
) -> Analysis:
    """Derive tracks, stages, statistics and records for one session.

    Parameters
    ----------
    session : Session
        A decoded session (raw ``normal``/``noise`` tracks, or only time-value tracks).
    patient_id, device_id, device_identifier : str, optional
        Impilo identifiers; the Impilo reading is built only when one is given.
    updated : float, optional
        Unix seconds stamped as ``updated`` in the records; the session's own
        ``updated`` (or its end) when not given, so that outputs are reproducible.
    replace_tracks : bool
        When the session already carries a track the kernels derive (a vendor's own
        ``heart_rate``, say), it is kept and the derived one is left out, with a note;
        ``True`` replaces it instead.

    Returns
    -------
    Analysis
    """
    from .records import build_records
    from .staging import stage_session
    from .statistics import night_statistics

    notes: list[str] = []
    normal = session.sampled_tracks.get("normal")
    if normal is not None and normal.loaded:
        from .heartbeats import detect_heartbeats, heartbeat_tracks
        from .tracks import session_tracks

        # the heartbeat detector runs once: its beats give the heartbeat tracks and
        # the beat-interval candidate of the breathing detector
        hb = detect_heartbeats(*session.signal("normal"))
        hb_tracks = heartbeat_tracks(session, heartbeats=hb)
        derived = session_tracks(session, beat_times=hb.beat_times)
        notes.extend(derived.notes)
        new = [*hb_tracks, *derived.as_list()]
        own = [t.name for t in new if t.name in session.time_value_tracks]
        if own and not replace_tracks:
            notes.append(
                f"kept the session's own {', '.join(own)} track(s); the ones derived from the "
                "raw BCG were not written over them (replace_tracks=True replaces them)"
            )
            new = [t for t in new if t.name not in own]
        session = session.with_tracks(new)
    elif normal is not None:
        notes.append(
            f"raw BCG not loaded ({normal.not_loaded_reason}); staged from the "
            "session's own time-value tracks"
        )
    else:
        notes.append("no raw BCG track: staged from the session's own time-value tracks")
    hypnogram = stage_session(session)
    message = hypnogram.info.get("message")
    if message:
        notes.append(str(message))
    stats = night_statistics(hypnogram, session)
    built = build_records(
        session,
        hypnogram,
        stats=stats,
        patient_id=patient_id,
        device_id=device_id,
        device_identifier=device_identifier,
        updated=updated,
    )
    notes.extend(built.notes)
    return Analysis(session, hypnogram, stats, dict(built.records), notes)


def write_analysis(analysis: Analysis, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write an analysis as the files of the CLI contract; returns the paths written.

    ``session.json`` (+ blobs), ``hypnogram.csv`` and every record in
    :attr:`Analysis.records`. Each file is written under a temporary name and renamed.
    """
    import json

    from ._files import atomic_write
    from .io.beddit import write_session
    from .staging import hypnogram_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_session(analysis.session, out / "session.json")]
    atomic_write(out / "hypnogram.csv", hypnogram_csv(analysis.hypnogram).encode("utf-8"))
    written.append(out / "hypnogram.csv")
    for name, obj in analysis.records.items():
        atomic_write(out / name, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())
        written.append(out / name)
    return written
