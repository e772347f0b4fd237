"""The main job: one session in, derived tracks, a hypnogram, statistics and records out.

:func:`analyze` is what ``sleepsignal analyze`` and ``sleepsignal batch`` run for each
session. It follows the package's one direction of flow: decoded session -> kernels
(heartbeats, breathing, movement, presence, sensor status, snoring) -> staging ->
records. A session without sampled tracks (an exported one) skips the kernels and is
staged from the time-value tracks it carries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hypnogram import Hypnogram
from .session import Session

if TYPE_CHECKING:
    from .io.beddit import BlobFile

__all__ = [
    "STREAM_ABOVE_S",
    "Analysis",
    "StreamedAnalysis",
    "analyze",
    "analyze_streamed",
    "write_analysis",
]

#: Sessions longer than this (s) are analysed by :func:`analyze_streamed` in
#: ``sleepsignal analyze``: 24 h. Staging and records describe one night, and loading a
#: recording of several days whole needs GBs (7 days: 85 M samples).
STREAM_ABOVE_S = 24 * 3600.0


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
        ``True`` replaces it instead. When snoring is derived as unknown (no usable
        noise track), the session's own ``snoring_events`` is kept with a note, or
        dropped with a note when ``True``.

    Returns
    -------
    Analysis
    """
    from ._validate import check_instance
    from .records import build_records
    from .staging import stage_session
    from .statistics import night_statistics

    check_instance(session, Session, "session")
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
        session = _add_tracks(session, [*hb_tracks, *derived.as_list()], replace_tracks, notes)
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


def _add_tracks(
    session: Session, new: list[Any], replace_tracks: bool, notes: list[str]
) -> Session:
    """The session with the derived tracks ``new``; a track it already carries is kept
    (and a note says so) unless ``replace_tracks``.

    ``snoring_events`` may be derived as unknown (no usable noise track: absent from
    ``new``). The session's own ``snoring_events`` is then kept with a note saying so,
    or, with ``replace_tracks``, dropped with a note: the output holds what was derived,
    and that is "unknown", not the vendor's answer."""
    derived = {t.name for t in new}
    own = [t.name for t in new if t.name in session.time_value_tracks]
    if own and not replace_tracks:
        notes.append(
            f"kept the session's own {', '.join(own)} track(s); the ones derived from the "
            "raw BCG were not written over them (replace_tracks=True replaces them)"
        )
        new = [t for t in new if t.name not in own]
    unknown = [
        name
        for name in _MAY_BE_UNKNOWN
        if name in session.time_value_tracks and name not in derived
    ]
    if unknown and not replace_tracks:
        notes.append(
            f"kept the session's own {', '.join(unknown)} track(s): none was derived "
            "(unknown, see the notes above); the output holds the session's own values "
            "(replace_tracks=True drops them)"
        )
    elif unknown:
        notes.append(
            f"dropped the session's own {', '.join(unknown)} track(s) (replace_tracks=True): "
            "none was derived (unknown, see the notes above)"
        )
        kept = {k: v for k, v in session.time_value_tracks.items() if k not in unknown}
        session = Session(session.metadata, session.sampled_tracks, kept, session.key_order)
    return session.with_tracks(new)


#: Derived tracks that :func:`_add_tracks` may find missing from a derivation because
#: they are unknown (not computed), rather than empty.
_MAY_BE_UNKNOWN = ("snoring_events",)


def write_analysis(analysis: Analysis, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write an analysis as the files of the CLI contract; returns the paths written.

    ``session.json`` (+ blobs), ``hypnogram.csv``, every record in
    :attr:`Analysis.records` and ``notes.txt`` (:attr:`Analysis.notes`, one per line;
    empty when there is nothing to say), so that a nightly job keeps why a track is
    missing or a record was not written. Each file is written under a temporary name
    and renamed.
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
    written.append(_write_notes(analysis.notes, out))
    return written


def _write_notes(notes: list[str], out: Path) -> Path:
    """``out/notes.txt``: one note per line (a note's own line breaks, any of those
    :meth:`str.splitlines` knows, become spaces)."""
    from ._files import atomic_write

    text = "".join(" ".join(note.splitlines()) + "\n" for note in notes)
    atomic_write(out / "notes.txt", text.encode("utf-8"))
    return out / "notes.txt"


@dataclass(frozen=True)
class StreamedAnalysis:
    """What :func:`analyze_streamed` derived and wrote for one long session.

    Attributes
    ----------
    session : Session
        The session with the derived time-value tracks added; its raw sampled tracks
        are left on disk (not loaded).
    files : list of pathlib.Path
        The files written: ``session.json``, the blobs copied beside it, ``notes.txt``
        (:attr:`notes`, one per line) and the files of each night under ``nights/<id>/``.
    notes : list of str
        What a user should know: how many nights were found, tracks that could not be
        derived.
    nights : list of Analysis
        One :func:`analyze` result per sleep period (:func:`sleepsignal.nights.split_nights`),
        staged from that period's tracks.
    """

    session: Session
    files: list[Path]
    notes: list[str] = field(default_factory=list)
    nights: list[Analysis] = field(default_factory=list)


def analyze_streamed(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    trim_partial_frames: bool = False,
    replace_tracks: bool = False,
    nights: bool = True,
    patient_id: str | None = None,
    device_id: str | None = None,
    device_identifier: str | None = None,
) -> StreamedAnalysis:
    """Derive the tracks of a session file of any length in bounded memory and write them.

    The ``normal`` blob is read in chunks by
    :func:`sleepsignal.streaming.stream_session_tracks`; ``out_dir/session.json`` gets
    the session with the derived time-value tracks, and every local blob is copied
    beside it chunk by chunk (never loaded whole), so that
    :func:`~sleepsignal.io.beddit.read_session` of the output gives the input's samples.
    Stages, statistics and records describe one night: the recording is cut into its
    sleep periods by :func:`sleepsignal.nights.split_nights` (from the ``presence``
    track), and each is analysed from its tracks by :func:`analyze` and written by
    :func:`write_analysis` to ``out_dir/nights/<id>/`` (``id``: the period's start,
    Unix seconds). ``out_dir/notes.txt`` holds the notes, one per line.

    Parameters
    ----------
    path : path-like
        Session JSON holding one session with a local ``normal`` blob.
    out_dir : path-like
        Output folder (created).
    trim_partial_frames : bool
        As in :func:`~sleepsignal.io.beddit.read_session` (the copied blobs are trimmed
        the same way).
    replace_tracks : bool
        As in :func:`analyze`: a track the session already carries is kept (with a note)
        unless this is true.
    nights : bool
        Cut the recording into nights and stage each (default); ``False`` writes the
        tracks only.
    patient_id, device_id, device_identifier : str, optional
        As in :func:`analyze`, for each night's records.

    Returns
    -------
    StreamedAnalysis

    Raises
    ------
    DecodeError
        What :func:`~sleepsignal.streaming.stream_session_tracks` raises (a list of
        several sessions, a ``normal`` blob that is not a local file, a bad blob).
    """
    from .io.beddit import _read_on_disk
    from .streaming import stream_session_tracks

    p = Path(path)
    session = _read_on_disk(p, trim_partial_frames)
    streamed = stream_session_tracks(p, trim_partial_frames=trim_partial_frames)
    notes = [f"{session.duration / 3600:.1f} h recording analysed in chunks"]
    notes.extend(streamed.tracks.notes)
    session = _add_tracks(session, streamed.as_list(), replace_tracks, notes)
    files = _write_streamed_session(session, p, Path(out_dir), trim_partial_frames)
    done: list[Analysis] = []
    if nights:
        from .nights import MIN_PERIOD_S, split_nights

        for night in split_nights(session):
            a = analyze(
                night,
                patient_id=patient_id,
                device_id=device_id,
                device_identifier=device_identifier,
            )
            files.extend(write_analysis(a, Path(out_dir) / "nights" / str(night.id)))
            done.append(a)
        notes[0] += (
            f"; {len(done)} night(s) found by presence, each staged from its tracks "
            "into nights/<id>/"
            if done
            else f"; no night found (no {MIN_PERIOD_S / 60:g} min in bed): no stages or records"
        )
    else:
        notes[0] += ": tracks only (nights=False), no stages or records"
    files.append(_write_notes(notes, Path(out_dir)))
    return StreamedAnalysis(session, files, notes, done)


#: Samples copied at a time by :func:`_write_streamed_session` (8 MB of uint16).
_COPY_SAMPLES = 1 << 22


def _write_streamed_session(
    session: Session, src: Path, out: Path, trim_partial_frames: bool
) -> list[Path]:
    """``out/session.json`` with the session's lazily read blobs copied in chunks.

    The blobs keep their relative ``data_url`` (``<id>_<track>.bin`` when it is not a
    safe relative path or two tracks share it); tracks that are not local files are
    written back unchanged, as :func:`~sleepsignal.io.beddit.write_session` does. The
    blobs are written first and the JSON last, each under a temporary name.
    """
    import functools

    from ._files import atomic_write_all
    from .errors import DecodeError
    from .io.beddit import _blob_file, _is_local, _json_writer, _local_blob_path

    out.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    copies: list[tuple[str, str]] = []  # (relative path written, track name)
    for name, track in session.sampled_tracks.items():
        url = track.extra.get("data_url")
        if not (isinstance(url, str) and _is_local(url)):
            continue  # a remote blob: its data_url is written back unchanged
        if track.loaded:
            raise DecodeError(f"{src}: sampled track {name!r} was loaded, not left on disk")
        rel = _local_blob_path(url)
        if rel is None or rel in {r for r, _ in copies}:
            rel = f"{session.id}_{name}.bin"
            urls[name] = rel
        copies.append((rel, name))
    # checks every value now; the items are written from the arrays a chunk at a time
    write_json = _json_writer([session], [urls], as_list=False, where=out / "session.json")
    files: list[tuple[Path, Callable[[Path], object]]] = [
        (out / rel, functools.partial(_copy_blob, _blob_file(session, name, src)))
        for rel, name in copies
    ]
    # every blob and the JSON in full under temporary names, then renamed, JSON last
    atomic_write_all([*files, (out / "session.json", write_json)])
    return [out / "session.json", *(target for target, _ in files)]


def _copy_blob(blob: BlobFile, target: Path) -> None:
    """Copy a blob's samples to ``target`` (little-endian), a chunk at a time."""
    import numpy as np

    little = blob.dtype.newbyteorder("<")
    with open(target, "wb") as f:
        for chunk in blob.chunks(_COPY_SAMPLES):
            np.ascontiguousarray(chunk, dtype=little).tofile(f)
