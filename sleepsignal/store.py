"""A columnar store of the tracks of many nights (Parquet, optional ``pyarrow`` extra).

One folder per track, one Parquet file per session inside it, so that writers of
different sessions never touch the same file and a researcher loads a whole cohort's
track with one call::

    import pandas as pd
    hr = pd.read_parquet("out/tracks/heart_rate")      # every night's heart rate
    # or: sleepsignal.store.read_track("out/tracks", "heart_rate")

Columns: ``session_id`` (int64), ``time`` (UTC timestamp, ns), ``offset_s`` (float64,
seconds from the session start), ``value`` (float64; uint8 state tracks keep their codes).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._files import atomic_write_with
from .errors import SleepSignalError
from .session import Session

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_track", "write_tracks"]


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SleepSignalError(
            "the Parquet track store needs pyarrow: pip install 'sleepsignal[parquet]'"
        ) from None


def write_tracks(session: Session, root: str | os.PathLike[str]) -> list[Path]:
    """Write every time-value track of a session into ``root/<track>/<id>.parquet``.

    Each file is written under a temporary name and renamed, so readers never see a
    half-written file. A track with no items still gets a file (an empty night is a
    fact, not a missing one). A derived track the analysis may leave unknown
    (``snoring_events``, when the noise track is missing or not a level in dB) and that
    this session no longer has is deleted (``root/snoring_events/<id>.parquet`` of an
    earlier run), so that :func:`read_track` never returns rows the session does not
    hold; no other file is touched (a folder of your own in ``root`` is safe). Files are
    keyed by session id: two sessions with the same id write the same files (``batch``
    refuses duplicate ids within a run, not across runs sharing a store).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    _require_pyarrow()
    import pandas as pd

    written = []
    for name, track in session.time_value_tracks.items():
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        offsets = np.asarray(track.times, dtype=np.float64)
        whole = int(np.floor(session.start_timestamp))
        ns = whole * 1_000_000_000 + np.round(
            (offsets + (session.start_timestamp - whole)) * 1e9
        ).astype("int64")
        frame = pd.DataFrame(
            {
                "session_id": np.full(len(offsets), session.id, dtype=np.int64),
                "time": pd.to_datetime(ns, unit="ns", utc=True),
                "offset_s": offsets,
                "value": track.values.astype(np.float64),
            }
        )
        target = folder / f"{session.id}.parquet"
        atomic_write_with(target, partial(frame.to_parquet, index=False))
        written.append(target)
    from .pipeline import _MAY_BE_UNKNOWN

    for name in _MAY_BE_UNKNOWN:
        stale = Path(root) / name / f"{session.id}.parquet"
        if name not in session.time_value_tracks and stale.is_file():
            stale.unlink()
    return written


def read_track(root: str | os.PathLike[str], track: str) -> pd.DataFrame:
    """Load one track of every session in the store as one DataFrame.

    Raises
    ------
    SleepSignalError
        When the store has no such track (the message lists the tracks it has).
    """
    _require_pyarrow()
    import pandas as pd

    folder = Path(root) / track
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        have = (
            sorted(p.name for p in Path(root).iterdir() if p.is_dir())
            if Path(root).is_dir()
            else []
        )
        raise SleepSignalError(
            f"no track {track!r} in the store {root}; it has {have or 'no tracks'}"
        )
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
