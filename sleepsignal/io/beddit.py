"""Read and write Beddit Session objects: JSON plus little-endian sample blobs.

The layout is the Beddit cloud API's ``<SESSION DATA>``: top-level metadata, optional
``sampled_tracks`` whose bytes live behind ``data_url``, and ``time_value_tracks`` with
``[t, value]`` items (seconds relative to ``start_timestamp``). Reading never fetches a
URL; writing then reading gives back the same blob bytes and the same JSON, unknown
fields and tracks included.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from .._files import atomic_write_all
from .._validate import is_real
from ..errors import DecodeError, QueryError, warn_user
from ..session import DATA_TYPES, DEFAULT_FRAME_LENGTH, SampledTrack, Session, TimeValueTrack

__all__ = [
    "QUERY_RULE",
    "BlobFile",
    "open_blob",
    "query_sessions",
    "read_session",
    "read_sessions",
    "session_from_dict",
    "session_to_dict",
    "write_session",
    "write_sessions",
]

#: The Beddit API's own words for the session query rule.
QUERY_RULE = (
    "When querying you must either use the updated_after or both start_timestamp and end_timestamp."
)

#: Session starts after this (Unix s, 1990) make item times at or after the start
#: absolute rather than relative (no relative time reaches 20 years).
ABSOLUTE_TIME_FLOOR = 631152000.0

#: Tolerance, in frames, between the blob's frame count and ``end - start``.
FRAME_COUNT_TOLERANCE = 1


def read_sessions(
    path: str | os.PathLike[str],
    *,
    blobs: Mapping[str, bytes] | None = None,
    trim_partial_frames: bool = False,
    lazy: Collection[str] = (),
) -> list[Session]:
    """Read a Beddit Session JSON file holding one object or a list of them.

    Parameters
    ----------
    path : path-like
        The JSON file. Relative ``data_url`` values and ``file://`` URLs are resolved
        against its folder; a path that leaves that folder is refused.
    blobs : mapping of str to bytes, optional
        Bytes of tracks whose ``data_url`` is remote (``http(s)``, never fetched), keyed
        by the URL or by the track name. Tracks left without bytes are kept "not loaded".
    trim_partial_frames : bool
        Trim a blob's partial last frame with a warning instead of raising.
    lazy : collection of str
        Names of sampled tracks whose local blob file is checked (size, framing) but not
        read: the track stays "not loaded" and :func:`open_blob` reads it in chunks (a
        week-long ``normal`` blob is 170 MB; see :mod:`sleepsignal.streaming`).

    Returns
    -------
    list of Session

    Raises
    ------
    DecodeError
        Unreadable JSON, missing required fields, blobs whose size disagrees with the
        declared type, framing or session span, unsafe paths.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise DecodeError(f"path must be a file path (str or os.PathLike), got {path!r}")
    p = Path(path)
    obj = load_json(p)
    items = obj if isinstance(obj, list) else [obj]
    if blobs is not None and len(items) > 1:
        names = {n for i in items if isinstance(i, dict) for n in i.get("sampled_tracks", {}) or {}}
        by_name = sorted(k for k in blobs if k in names)
        if by_name:
            raise DecodeError(
                f"{p}: holds {len(items)} sessions, so blobs must be keyed by data_url, not by "
                f"track name ({', '.join(map(repr, by_name))} would go to every session)"
            )
    sessions = []
    for i, item in enumerate(items):
        where = f"{p}" if not isinstance(obj, list) else f"{p}[{i}]"
        sessions.append(
            session_from_dict(
                item,
                base_dir=p.parent,
                blobs=blobs,
                trim_partial_frames=trim_partial_frames,
                where=where,
                lazy=lazy,
            )
        )
    return sessions


def load_json(path: Path) -> Any:
    """Parse a session file; every failure is a :class:`DecodeError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DecodeError(f"{path}: no such session file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{path}: cannot read the session file ({exc})") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise DecodeError(f"{path}: {exc}") from None
        raise DecodeError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON holds {name}, which is not valid JSON (use null or a number)")


def read_session(
    path: str | os.PathLike[str],
    *,
    blobs: Mapping[str, bytes] | None = None,
    trim_partial_frames: bool = False,
    lazy: Collection[str] = (),
) -> Session:
    """Read one Beddit Session (see :func:`read_sessions` for the parameters).

    A file holding a list of exactly one session is accepted; a longer list raises
    :class:`DecodeError` pointing to :func:`read_sessions`.

    Examples
    --------
    >>> import sleepsignal, pathlib
    >>> s = sleepsignal.read_session(pathlib.Path("data/fixtures/demo_session/session.json"))
    ... # doctest: +SKIP
    """
    sessions = read_sessions(path, blobs=blobs, trim_partial_frames=trim_partial_frames, lazy=lazy)
    if len(sessions) != 1:
        raise DecodeError(
            f"{path}: holds {len(sessions)} sessions; use read_sessions() to read a list"
        )
    return sessions[0]


@dataclass(frozen=True)
class BlobFile:
    """A sampled track's blob file, read in chunks (never whole) with :func:`numpy.fromfile`.

    Attributes
    ----------
    path : pathlib.Path
        The blob file (checked: inside the session's folder, whole frames that agree with
        the session span).
    name : str
        Track name (``"normal"``, ``"noise"``).
    dtype : numpy.dtype
        Sample type (little-endian uint16 or float32).
    n_samples : int
        Samples in the file (a trimmed partial frame not counted).
    fs : float
        Sampling rate, Hz (``samples_per_frame / frame_length``).
    start : float
        Time of the first sample, Unix s.
    """

    path: Path
    name: str
    dtype: np.dtype[Any]
    n_samples: int
    fs: float
    start: float

    def read(self, first: int, count: int) -> np.ndarray:
        """``count`` samples from sample ``first`` (fewer at the end of the file), in the
        file's own dtype."""
        if first < 0 or count < 0:
            raise DecodeError(f"{self.path}: first and count must be >= 0, got {first}, {count}")
        count = max(0, min(count, self.n_samples - first))
        if count == 0:
            return np.empty(0, dtype=self.dtype)
        out = np.fromfile(
            self.path, dtype=self.dtype, count=count, offset=first * self.dtype.itemsize
        )
        if len(out) != count:
            raise DecodeError(
                f"{self.path}: expected {count} samples at sample {first}, read {len(out)} "
                "(the file shrank while being read)"
            )
        return out

    def chunks(self, chunk_samples: int) -> Iterator[np.ndarray]:
        """The samples in order, ``chunk_samples`` at a time (the last chunk shorter)."""
        if isinstance(chunk_samples, bool) or not isinstance(chunk_samples, (int, np.integer)):
            raise DecodeError(f"chunk_samples must be an integer, got {chunk_samples!r}")
        if chunk_samples < 1:
            raise DecodeError(f"chunk_samples must be at least 1, got {chunk_samples}")
        for first in range(0, self.n_samples, int(chunk_samples)):
            yield self.read(first, int(chunk_samples))


def open_blob(
    path: str | os.PathLike[str], name: str = "normal", *, trim_partial_frames: bool = False
) -> BlobFile:
    """Open the blob of one sampled track of a session file for chunked reading.

    Parameters
    ----------
    path : path-like
        A Session JSON file holding one session.
    name : str
        The sampled track (``"normal"`` by default: the raw BCG).
    trim_partial_frames : bool
        As in :func:`read_session`: a partial last frame is left out with a warning
        instead of raising.

    Returns
    -------
    BlobFile
        Checked exactly as :func:`read_session` checks the blob (size, type, framing,
        span, path inside the session's folder), without reading its samples.

    Raises
    ------
    DecodeError
        Everything :func:`read_session` raises for this blob, a missing track, or a
        ``data_url`` that is not a local file.
    """
    p = Path(path)
    return _blob_file(_read_on_disk(p, trim_partial_frames), name, p)


def _read_on_disk(p: Path, trim_partial_frames: bool) -> Session:
    """:func:`read_session` with every sampled track left on disk (checked, not read):
    opening the noise blob must not load a week of raw BCG beside it."""
    obj = load_json(p)
    tracks = obj.get("sampled_tracks") if isinstance(obj, dict) else None
    lazy = tuple(tracks) if isinstance(tracks, dict) else ()
    return read_session(p, trim_partial_frames=trim_partial_frames, lazy=lazy)


def _blob_file(session: Session, name: str, p: Path) -> BlobFile:
    """The blob of sampled track ``name`` of ``session`` (read from ``p`` with that track
    lazy, so its size, framing and path are already checked)."""
    track = session.sampled_tracks.get(name)
    if track is None:
        raise DecodeError(
            f"{p}: no sampled track {name!r} (it has {sorted(session.sampled_tracks) or 'none'})"
        )
    url = track.extra.get("data_url")
    if not isinstance(url, str) or not _is_local(url):
        raise DecodeError(
            f"{p}: sampled track {name!r} has data_url {url!r}, not a local file; only local "
            "blobs are read in chunks"
        )
    target = _local_target(name, url, p.parent, str(p))
    dtype = DATA_TYPES[track.data_type]
    n_frames = target.stat().st_size // (track.samples_per_frame * dtype.itemsize)
    return BlobFile(
        target,
        name,
        dtype,
        n_frames * track.samples_per_frame,  # a trimmed partial frame left out
        track.samples_per_frame / track.frame_length,
        track.start,
    )


def session_from_dict(
    obj: Any,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    blobs: Mapping[str, bytes] | None = None,
    trim_partial_frames: bool = False,
    where: str = "session",
    lazy: Collection[str] = (),
) -> Session:
    """Build a :class:`Session` from a parsed Session JSON object.

    ``base_dir`` is the folder relative ``data_url`` values are resolved in; without it
    only ``blobs`` can provide sample bytes.
    """
    if not isinstance(obj, dict):
        raise DecodeError(f"{where}: a session must be a JSON object, got {type(obj).__name__}")
    for key in ("start_timestamp", "end_timestamp"):
        if key not in obj:
            raise DecodeError(f"{where}: required field {key!r} is missing")
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DecodeError(f"{where}: {key} must be a number of Unix seconds, got {v!r}")
    metadata = {k: v for k, v in obj.items() if k not in ("sampled_tracks", "time_value_tracks")}
    start = float(obj["start_timestamp"])
    end = float(obj["end_timestamp"])
    frame_length_given = "frame_length" in obj
    frame_length = obj.get("frame_length", DEFAULT_FRAME_LENGTH)
    if (
        isinstance(frame_length, bool)
        or not isinstance(frame_length, (int, float))
        or not (frame_length > 0)
    ):
        raise DecodeError(
            f"{where}: frame_length must be a positive number of s, got {frame_length!r}"
        )

    sampled: dict[str, SampledTrack] = {}
    raw_sampled = obj.get("sampled_tracks", {})
    if not isinstance(raw_sampled, dict):
        raise DecodeError(f"{where}: sampled_tracks must be an object")
    for name, spec in raw_sampled.items():
        sampled[name] = _read_sampled(
            name,
            spec,
            start=start,
            end=end,
            frame_length=float(frame_length),
            frame_length_given=frame_length_given,
            base_dir=base_dir,
            blobs=blobs,
            trim=trim_partial_frames,
            where=where,
            lazy=name in lazy,
        )

    tv: dict[str, TimeValueTrack] = {}
    raw_tv = obj.get("time_value_tracks", {})
    if not isinstance(raw_tv, dict):
        raise DecodeError(f"{where}: time_value_tracks must be an object")
    for name, spec in raw_tv.items():
        tv[name] = _read_time_value(name, spec, start=start, where=where)
    try:
        return Session(metadata, sampled, tv, tuple(obj.keys()))
    except DecodeError as e:  # the session's own checks say "session:"; name the file
        if where == "session":
            raise
        raise DecodeError(f"{where}: {e}") from None


def _read_time_value(name: str, spec: Any, *, start: float, where: str) -> TimeValueTrack:
    here = f"{where}: time-value track {name!r}"
    if not isinstance(spec, dict):
        raise DecodeError(f"{here} must be an object with 'items'")
    items = spec.get("items", [])
    if not isinstance(items, list):
        raise DecodeError(f"{here}: 'items' must be a list of [t, value] pairs")
    data_type = spec.get("value_data_type", "float32")
    if not isinstance(data_type, str) or data_type not in DATA_TYPES:  # [] is unhashable
        raise DecodeError(
            f"{here}: unknown value_data_type {data_type!r}; allowed: {', '.join(DATA_TYPES)}"
        )
    times = np.empty(len(items))
    values = np.empty(len(items))
    for i, item in enumerate(items):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in item)
        ):
            raise DecodeError(f"{here}: item {i} is {item!r}, expected [t, value] numbers")
        times[i], values[i] = item
    extra = {k: v for k, v in spec.items() if k not in ("items", "value_data_type")}
    if len(times) and start > ABSOLUTE_TIME_FLOOR and times[0] >= start - 1.0:
        # The document calls these "Unix timestamps" while its examples and real
        # sessions are relative to the start; absolute ones are converted here (the
        # original items are kept, so writing the track back reproduces them).
        times = times - start
    try:
        return TimeValueTrack(
            name,
            times,
            values,
            data_type,
            extra=extra,
            source_items=items,
            type_declared="value_data_type" in spec,
        )
    except DecodeError as exc:
        raise DecodeError(f"{where}: {exc}") from None


def _resolve_blob(
    name: str,
    spec: dict[str, Any],
    base_dir: str | os.PathLike[str] | None,
    blobs: Mapping[str, bytes] | None,
    where: str,
) -> tuple[bytes | None, str, str]:
    """Bytes of a track (or None), where they came from, and why they are missing."""
    url = spec.get("data_url")
    if url is not None and not isinstance(url, str):
        raise DecodeError(f"{where}: sampled track {name!r}: data_url must be a string")
    if blobs is not None:
        for key in (url, name):
            if key is not None and key in blobs:
                return bytes(blobs[key]), f"bytes passed for {key!r}", ""
    if url is None:
        return None, "", "the track has no data_url and no bytes were passed"
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return (
            None,
            url,
            (
                f"data_url {url!r} is remote and sleepsignal never fetches it; download it and "
                f"pass the bytes as blobs={{{name!r}: data}}"
            ),
        )
    if parsed.scheme not in ("", "file"):
        raise DecodeError(
            f"{where}: sampled track {name!r}: unsupported data_url scheme {parsed.scheme!r}"
        )
    if base_dir is None:
        return (
            None,
            url,
            "the session was not read from a file, so relative data_url cannot be resolved",
        )
    target = _local_target(name, url, base_dir, where)
    try:
        return target.read_bytes(), str(target), ""
    except OSError as exc:
        raise DecodeError(
            f"{where}: sampled track {name!r}: cannot read blob file {target} ({exc})"
        ) from None


def _local_target(name: str, url: str, base_dir: str | os.PathLike[str], where: str) -> Path:
    """The blob file of a relative or ``file:`` data_url, refused outside ``base_dir``."""
    parsed = urlparse(url)
    if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
        raise DecodeError(
            f"{where}: sampled track {name!r}: data_url {url!r} names host "
            f"{parsed.netloc!r}; only local files are read"
        )
    base = Path(base_dir).resolve()
    target = (base / _relative_path(url)).resolve()
    if base not in target.parents:
        raise DecodeError(
            f"{where}: sampled track {name!r}: data_url {url!r} points outside the session's "
            f"folder {base}; refused"
        )
    if not target.is_file():
        what = "is not a file" if target.exists() else "does not exist"
        raise DecodeError(f"{where}: sampled track {name!r}: blob file {target} {what}")
    return target


def _is_local(url: str) -> bool:
    return urlparse(url).scheme in ("", "file")


def _relative_path(url: str) -> str:
    """The path part of a relative path or ``file:`` URL (percent-decoded for URLs)."""
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


def _checked_frames(
    here: str,
    source: str,
    n_bytes: int,
    spf: int,
    data_type: str,
    start: float,
    end: float,
    frame_length: float,
    frame_length_given: bool,
    trim: bool,
) -> int:
    """Whole frames in a blob of ``n_bytes``, or :class:`DecodeError` when its size
    disagrees with the declared type, the framing or the session span."""
    dtype = DATA_TYPES[data_type]
    frame_bytes = spf * dtype.itemsize
    expected_frames = round((end - start) / frame_length)
    if n_bytes == 0 and expected_frames > 0:
        raise DecodeError(
            f"{here}: blob {source} is empty; expected {expected_frames} frames "
            f"({expected_frames * frame_bytes} bytes) for {end - start:.3f} s"
        )
    # A size that fits another item size exactly is a dtype disagreement, not truncation.
    if expected_frames > 0 and n_bytes != expected_frames * frame_bytes:
        fits = [
            other_name
            for other_name, other in DATA_TYPES.items()
            if other.itemsize != dtype.itemsize
            and n_bytes == expected_frames * spf * other.itemsize
        ]
        if fits:
            size = DATA_TYPES[fits[0]].itemsize
            raise DecodeError(
                f"{here}: blob {source} has {n_bytes} bytes = {expected_frames} frames of "
                f"{spf} {size}-byte samples (like {' / '.join(fits)}), but the track "
                f"declares {data_type} ({dtype.itemsize} bytes per sample; expected "
                f"{expected_frames * frame_bytes} bytes)"
            )
    if n_bytes % frame_bytes:
        whole = n_bytes // frame_bytes
        msg = (
            f"{here}: blob {source} has {n_bytes} bytes, not a whole number of "
            f"{frame_bytes}-byte frames ({spf} x {data_type}); {whole} whole frames and "
            f"{n_bytes - whole * frame_bytes} extra bytes"
        )
        if not trim:
            raise DecodeError(msg + "; pass trim_partial_frames=True to drop the partial frame")
        warn_user(msg + "; the partial last frame was dropped")
        n_bytes = whole * frame_bytes
    n_frames = n_bytes // frame_bytes
    if abs(n_frames - expected_frames) > FRAME_COUNT_TOLERANCE:
        assumed = (
            ""
            if frame_length_given
            else f" (frame_length absent: assumed {DEFAULT_FRAME_LENGTH} s as documented)"
        )
        raise DecodeError(
            f"{here}: blob {source} holds {n_frames} frames ({n_bytes} bytes), but "
            f"end - start = {end - start:.3f} s is {expected_frames} frames of "
            f"{frame_length} s{assumed} ({expected_frames * frame_bytes} bytes expected)"
        )
    return n_frames


def _read_sampled(
    name: str,
    spec: Any,
    *,
    start: float,
    end: float,
    frame_length: float,
    frame_length_given: bool,
    base_dir: str | os.PathLike[str] | None,
    blobs: Mapping[str, bytes] | None,
    trim: bool,
    where: str,
    lazy: bool = False,
) -> SampledTrack:
    here = f"{where}: sampled track {name!r}"
    if not isinstance(spec, dict):
        raise DecodeError(f"{here} must be an object")
    spf = spec.get("samples_per_frame")
    if isinstance(spf, bool) or not isinstance(spf, int) or spf < 1:
        raise DecodeError(f"{here}: samples_per_frame must be a positive integer, got {spf!r}")
    data_type = spec.get("data_type")
    if not isinstance(data_type, str) or data_type not in DATA_TYPES:
        raise DecodeError(f"{here}: data_type {data_type!r} is not one of {', '.join(DATA_TYPES)}")
    dtype = DATA_TYPES[data_type]
    extra = {k: v for k, v in spec.items() if k not in ("samples_per_frame", "data_type")}
    url = spec.get("data_url")
    if lazy and base_dir is not None and isinstance(url, str) and _is_local(url):
        target = _local_target(name, url, base_dir, where)
        n_frames = _checked_frames(
            here,
            str(target),
            target.stat().st_size,
            spf,
            data_type,
            start,
            end,
            frame_length,
            frame_length_given,
            trim,
        )
        why = (
            f"left on disk ({target}, {n_frames * spf} samples) for chunked reading: "
            "sleepsignal.io.beddit.open_blob reads it in chunks, read_session without "
            "lazy= loads it"
        )
        return SampledTrack(name, None, spf, frame_length, start, data_type, extra, why)
    raw, source, reason = _resolve_blob(name, spec, base_dir, blobs, where)
    if raw is None:
        return SampledTrack(name, None, spf, frame_length, start, data_type, extra, reason)

    n_frames = _checked_frames(
        here, source, len(raw), spf, data_type, start, end, frame_length, frame_length_given, trim
    )
    raw = raw[: n_frames * spf * dtype.itemsize]
    data = np.frombuffer(raw, dtype=dtype)
    if dtype.kind == "f":
        bad = ~np.isfinite(data)
        if bad.any():
            warn_user(
                f"{here}: {int(bad.sum())} of {len(data)} samples are NaN or infinite; they are "
                "kept and treated as gaps by the analysis"
            )
    return SampledTrack(name, data, spf, frame_length, start, data_type, extra)


def session_to_dict(session: Session, blob_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Session JSON object of a session.

    Keys come in the order they were read (new ones last); track keys that the source did
    not have are written only when there are tracks to put in them. ``blob_urls``
    replaces the ``data_url`` of the named sampled tracks.
    """
    return _session_dict(session, blob_urls or {}, TimeValueTrack.items)


def _session_dict(
    session: Session, urls: Mapping[str, str], items: Callable[[TimeValueTrack], Any]
) -> dict[str, Any]:
    """:func:`session_to_dict`, with ``items(track)`` in place of each track's items."""
    sections = {
        "sampled_tracks": lambda: {
            n: _sampled_to_dict(t, urls.get(n)) for n, t in session.sampled_tracks.items()
        },
        "time_value_tracks": lambda: {
            n: _tv_to_dict(t, items) for n, t in session.time_value_tracks.items()
        },
    }
    out: dict[str, Any] = {}
    order = [*session.key_order, *(k for k in session.metadata if k not in session.key_order)]
    for key in order:
        if key in sections:
            out[key] = sections[key]()
        elif key in session.metadata:
            out[key] = session.metadata[key]
    for key, tracks in (
        ("sampled_tracks", session.sampled_tracks),
        ("time_value_tracks", session.time_value_tracks),
    ):
        if tracks and key not in out:
            out[key] = sections[key]()
    return out


def _sampled_to_dict(track: SampledTrack, data_url: str | None) -> dict[str, Any]:
    d: dict[str, Any] = {"samples_per_frame": track.samples_per_frame}
    d.update(track.extra)
    if data_url is not None:
        d["data_url"] = data_url
    d["data_type"] = track.data_type
    return d


def _tv_to_dict(track: TimeValueTrack, items: Callable[[TimeValueTrack], Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"value_data_type": track.value_data_type} if track.type_declared else {}
    d.update(track.extra)
    d["items"] = items(track)
    return d


#: Items of a time-value track formatted at a time by the JSON writer (a few MB of
#: Python objects at most, whatever the length of the track).
_ITEMS_PER_CHUNK = 1 << 14

#: The separators of the JSON written (no spaces, as the Beddit API).
_SEPARATORS = (",", ":")


def _json_writer(
    sessions: Sequence[Session],
    blob_urls: Sequence[Mapping[str, str]],
    *,
    as_list: bool,
    where: object,
) -> Callable[[Path], None]:
    """Check that ``sessions`` can be written as JSON; return what writes it to a path.

    The bytes written are those of ``json.dumps(payload, separators=(",", ":"),
    allow_nan=False) + "\n"`` with ``payload`` the :func:`session_to_dict` of each
    session (a list when ``as_list``), but the items of the time-value tracks are never
    built whole: everything else is serialised now (with a marker where each track's
    items go) and the items are formatted from the arrays ``_ITEMS_PER_CHUNK`` at a
    time while writing. Every value is checked here, so the returned function does not
    fail on the content (a full disk aside).

    Raises
    ------
    DecodeError
        Naming the session, track and item, when a value is NaN or infinite (JSON
        cannot hold it) or the metadata cannot be written as JSON.
    """
    import re
    import secrets

    for _ in range(3):
        token = secrets.token_hex(16)
        text, tracks, owners = _json_layout(sessions, blob_urls, as_list, token, where)
        # the markers cannot be forged by the metadata: a fresh random token, checked
        parts = re.split(f'"@sleepsignal-items-{token}-([0-9]+)@"', text)
        found = [int(k) for k in parts[1::2]]
        if found == list(range(len(tracks))) and text.count(token) == len(tracks):
            break
    else:  # pragma: no cover - 128 random bits met in the metadata three times
        raise DecodeError(f"{where}: the session JSON could not be laid out")
    for track, owner in zip(tracks, owners, strict=True):
        _check_items(track, f"{where}: {owner}")

    def write(target: Path) -> None:
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.write(parts[0])
            for k, track in enumerate(tracks):
                f.write("[")
                for i, chunk in enumerate(_item_chunks(track)):
                    if i:
                        f.write(",")
                    f.write(chunk)
                f.write("]")
                f.write(parts[2 * k + 2])

    return write


def _json_layout(
    sessions: Sequence[Session],
    blob_urls: Sequence[Mapping[str, str]],
    as_list: bool,
    token: str,
    where: object,
) -> tuple[str, list[TimeValueTrack], list[str]]:
    """The JSON text with a marker string for the items of each time-value track.

    Returns the text, the tracks in the order of their markers, and for each the words
    an error uses to name it (session and track).
    """
    tracks: list[TimeValueTrack] = []
    owners: list[str] = []
    objs = []
    for session, urls in zip(sessions, blob_urls, strict=True):

        def marker(track: TimeValueTrack, sid: object = session.id) -> str:
            tracks.append(track)
            owners.append(f"session {sid}: time-value track {track.name!r}")
            return f"@sleepsignal-items-{token}-{len(tracks) - 1}@"

        objs.append(_session_dict(session, urls, marker))
    payload: Any = objs if as_list else objs[0]
    try:
        text = json.dumps(payload, separators=_SEPARATORS, allow_nan=False) + "\n"
    except (ValueError, TypeError) as exc:  # NaN, or not a JSON type, in the metadata
        raise DecodeError(f"{where}: the session cannot be written as JSON ({exc})") from None
    return text, tracks, owners


def _check_items(track: TimeValueTrack, where: str) -> None:
    """Raise :class:`DecodeError` naming the first item JSON cannot hold (NaN, inf)."""
    step = _ITEMS_PER_CHUNK
    if track.source_items is not None:
        items = track.source_items
        for i in range(0, len(items), step):
            chunk = items[i : i + step]
            try:  # the quick look: read items are lists of numbers
                fine = bool(np.isfinite(np.asarray(chunk, dtype=np.float64)).all())
            except (ValueError, TypeError, OverflowError):
                fine = False  # ragged, strings, huge integers...: look closely
            if not fine:
                _check_by_json(chunk, i, where)
        return
    for name, arr in (("time", track.times), ("value", track.values)):
        if arr.dtype.kind != "f":
            continue
        for i in range(0, len(arr), step):
            ok = np.isfinite(arr[i : i + step])
            if not ok.all():
                j = i + int(np.flatnonzero(~ok)[0])
                raise DecodeError(
                    f"{where}: item {j} has {name} {float(arr[j])!r}, which JSON cannot hold "
                    "(it has no NaN or infinity); drop the item or give a number"
                )


def _check_by_json(chunk: list[Any], first: int, where: str) -> None:
    """Raise :class:`DecodeError` naming the item of ``chunk`` ``json.dumps`` refuses."""
    try:
        json.dumps(chunk, separators=_SEPARATORS, allow_nan=False)
    except (ValueError, TypeError) as exc:
        for j, item in enumerate(chunk, start=first):
            try:
                json.dumps(item, allow_nan=False)
            except (ValueError, TypeError):
                raise DecodeError(
                    f"{where}: item {j} {item!r} cannot be written as JSON ({exc}); JSON "
                    "holds numbers (no NaN or infinity), strings, lists, objects, true, "
                    "false and null: drop the item or give a number"
                ) from None
        # not met in practice: every item alone passes but the list of them does not
        raise DecodeError(f"{where}: cannot be written as JSON ({exc})") from None


def _item_chunks(track: TimeValueTrack) -> Iterator[str]:
    """The items of a track as JSON text without the outer brackets, in chunks.

    Joined with ``","`` the chunks are ``json.dumps(track.items(), separators=(",", ":"))``
    without its brackets: times and float64 values as ``repr`` of the Python float,
    float32 values as the Python float of their shortest float32 decimal (as
    :meth:`TimeValueTrack.items`), integers as integers.
    """
    step = _ITEMS_PER_CHUNK
    if track.source_items is not None:
        items = track.source_items
        for i in range(0, len(items), step):
            yield json.dumps(items[i : i + step], separators=_SEPARATORS, allow_nan=False)[1:-1]
        return
    values = track.values
    for i in range(0, len(track.times), step):
        v = values[i : i + step]
        if v.dtype == np.float32:
            vals: list[Any] = [float(str(x)) for x in v]
        else:
            vals = v.tolist()  # Python floats (float64) or ints
        yield ",".join(map("[{!r},{!r}]".format, track.times[i : i + step].tolist(), vals))


def _local_blob_path(url: object) -> str | None:
    """The relative path a local ``data_url`` names, if it is safe to write there."""
    if not isinstance(url, str) or urlparse(url).scheme not in ("", "file"):
        return None
    rel = _relative_path(url)
    path = Path(rel)
    if not rel or path.is_absolute() or ".." in path.parts or rel.endswith("/"):
        return None
    return rel


def write_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write a session as JSON plus one blob per loaded sampled track.

    Blobs are written beside the JSON file under the relative ``data_url`` the track was
    read with (kept as it was, ``file:`` URLs included), or ``<id>_<track>.bin``;
    little-endian, frames back to back. Remote ``data_url`` values of tracks that were
    not loaded are written back unchanged; a local track left on disk by
    ``read_session(..., lazy=...)`` raises :class:`DecodeError` (its blob would not be
    written).

    Returns
    -------
    pathlib.Path
        The JSON file written.
    """
    return write_sessions([session], path, as_list=False)


def write_sessions(
    sessions: Sequence[Session], path: str | os.PathLike[str], *, as_list: bool = True
) -> Path:
    """Write several sessions into one JSON list (the GET endpoint's shape) plus blobs.

        Two tracks never share a blob file: a track whose ``data_url`` another track of the
        call already uses is written as ``<id>_<track>.bin`` (and its ``data_url`` says so).
        Every value is checked before any file is written, and every file is written under a
        temporary name and only when all are written in full renamed (the JSON last), so a
    failure (a full disk) leaves the folder as it was. The JSON
        is the bytes of ``json.dumps([session_to_dict(s, ...) ...], separators=(",", ":"),
        allow_nan=False)`` and a newline, written to the file track by track with the
        time-value items formatted from their arrays a chunk at a time: writing needs the
        same memory for a night or for a week (the tracks themselves apart).

        Raises
        ------
        DecodeError
            A local sampled track that is not loaded; a value JSON cannot hold (NaN or
            infinity: the message names the session, the track and the item);
            ``as_list=False`` with other than one session.
    """
    p = Path(path)
    if not as_list and len(sessions) != 1:
        raise DecodeError(
            f"{p}: as_list=False writes one session object, got {len(sessions)} sessions"
        )
    used: set[str] = set()
    blobs: list[tuple[str, SampledTrack]] = []
    all_urls: list[dict[str, str]] = []
    for session in sessions:
        urls: dict[str, str] = {}
        for name, track in session.sampled_tracks.items():
            if not track.loaded:
                url = track.extra.get("data_url")
                if isinstance(url, str) and _is_local(url):
                    # a lazily read track: its blob stays where it was read, and a
                    # data_url written elsewhere would name a blob that is not there
                    raise DecodeError(
                        f"{p}: session {session.id}: sampled track {name!r} is not loaded "
                        f"({track.not_loaded_reason}); writing the session would leave its "
                        f"data_url {url!r} naming a blob that is not written. Read the "
                        "session without lazy= to write it."
                    )
                continue
            rel = _local_blob_path(track.extra.get("data_url"))
            if rel is None or rel in used:
                rel, k = f"{session.id}_{name}.bin", 1
                while rel in used:
                    rel, k = f"{session.id}_{name}_{k}.bin", k + 1
                urls[name] = rel
            used.add(rel)
            blobs.append((rel, track))
        all_urls.append(urls)
    write_json = _json_writer(sessions, all_urls, as_list=as_list, where=p)
    files: list[tuple[Path, Callable[[Path], object]]] = []
    for rel, track in blobs:
        # little-endian view of the samples (a copy only for a big-endian array),
        # written straight from the array: no bytes copy of a whole night
        data = np.ascontiguousarray(track.data, dtype=track.data.dtype.newbyteorder("<"))
        files.append((p.parent / rel, data.tofile))
    # every blob and the JSON in full under temporary names, then renamed, JSON last
    atomic_write_all([*files, (p, write_json)])
    return p


def query_sessions(
    sessions: Iterable[Session],
    *,
    updated_after: float | None = None,
    start_timestamp: float | None = None,
    end_timestamp: float | None = None,
) -> list[Session]:
    """Select sessions the way ``GET /api/v1/user/:user_id/session`` does.

    Parameters
    ----------
    sessions : iterable of Session
    updated_after : float, optional
        Unix seconds; keeps sessions whose ``updated`` is later. Sessions without
        ``updated`` never match.
    start_timestamp, end_timestamp : float, optional
        Unix seconds; both together keep sessions whose start lies in
        ``[start_timestamp, end_timestamp]``.

    Raises
    ------
    QueryError
        With the API's wording, unless exactly ``updated_after`` or both range ends are
        given; for a bound that is not a number (or NaN) and for ``sessions`` that are
        not Session objects.
    """
    by_update = updated_after is not None
    by_range = start_timestamp is not None or end_timestamp is not None
    if by_update == by_range or (by_range and (start_timestamp is None or end_timestamp is None)):
        given = [
            n
            for n, v in (
                ("updated_after", updated_after),
                ("start_timestamp", start_timestamp),
                ("end_timestamp", end_timestamp),
            )
            if v is not None
        ]
        raise QueryError(f"{QUERY_RULE} Got: {', '.join(given) or 'no parameter'}.")
    for name, value in (
        ("updated_after", updated_after),
        ("start_timestamp", start_timestamp),
        ("end_timestamp", end_timestamp),
    ):
        # a string or a NaN bound would compare to nothing (an empty answer) or raise
        if value is not None and (not is_real(value) or value != value):
            raise QueryError(f"{name} must be a number of Unix seconds, got {value!r}")
    try:
        sessions = list(sessions)
    except TypeError:
        raise QueryError(
            f"sessions must be an iterable of Session, got {type(sessions).__name__}"
        ) from None
    for i, s in enumerate(sessions):
        if not isinstance(s, Session):
            raise QueryError(f"sessions[{i}] must be a Session, got {type(s).__name__}")
    if updated_after is not None:
        return [s for s in sessions if s.updated is not None and s.updated > updated_after]
    if start_timestamp is None or end_timestamp is None:  # unreachable: checked above
        raise QueryError(QUERY_RULE)
    if end_timestamp < start_timestamp:
        raise QueryError(
            f"end_timestamp {end_timestamp} is before start_timestamp {start_timestamp}"
        )
    return [s for s in sessions if start_timestamp <= s.start_timestamp <= end_timestamp]
