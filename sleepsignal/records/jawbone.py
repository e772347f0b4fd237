"""Jawbone UP sleeps: the sleep item, its phase snapshot, and list pages.

The sleep event spans the bed period of the night (``time_created`` to
``time_completed``). ``details`` splits it into ``light``, ``deep``, ``rem`` and
``awake`` seconds (wake, away and no-signal epochs inside the span count as awake) so
``duration`` equals their sum and the span. The snapshot draws the same span: phase 1
awake (wake, away, no signal), 2 light (light and REM), 3 deep, one row per change.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import QueryError, SignalError
from ..hypnogram import AWAY, DEEP, JAWBONE_PHASES, LIGHT, NO_SIGNAL, REM, WAKE, Hypnogram
from ..statistics import NightStatistics, jawbone_quality
from .beddit import _zone

__all__ = [
    "JAWBONE_NAP_MAX",
    "JAWBONE_POWER_NAP_MAX",
    "jawbone_list_page",
    "jawbone_sleep",
    "jawbone_snapshot",
    "jawbone_sub_type",
    "jawbone_title",
    "jawbone_xid",
]

#: A sleep event shorter than this (s) is a power nap (``sub_type`` 1).
JAWBONE_POWER_NAP_MAX = 45 * 60.0
#: A sleep event shorter than this (s), and not a power nap, is a nap (``sub_type`` 2).
JAWBONE_NAP_MAX = 3 * 3600.0
_LIST_PATH = "/nudge/api/v.1.0/users/@me/sleeps"


def jawbone_title(asleep_seconds: float) -> str:
    """``for 6h 46m``: the time asleep, whole minutes rounded down.

    The document's example has light 8340 s + deep 16044 s = 24384 s = 6 h 46 min 24 s
    and the title ``for 6h 46m``.

    >>> jawbone_title(24384)
    'for 6h 46m'
    """
    minutes = int(asleep_seconds // 60)
    return f"for {minutes // 60}h {minutes % 60}m"


def jawbone_sub_type(duration: float) -> int:
    """0 normal, 1 power nap (event < 45 min), 2 nap (event < 3 h)."""
    if duration < JAWBONE_POWER_NAP_MAX:
        return 1
    if duration < JAWBONE_NAP_MAX:
        return 2
    return 0


def jawbone_xid(time_created: int, tz: str) -> str:
    """A stable 22-character URL-safe id derived from the event start and time zone."""
    digest = hashlib.sha256(f"sleepsignal:{time_created}:{tz}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def _span(hypnogram: Hypnogram, stats: NightStatistics) -> tuple[int, int]:
    if stats.bed_start is None or stats.bed_end is None:
        raise SignalError("the night has no in-bed epoch: there is no Jawbone sleep to report")
    if abs(stats.start - hypnogram.start) > 1e-6:
        raise SignalError("stats were computed from another hypnogram (start differs)")
    el = hypnogram.epoch_length
    return (
        round(float((stats.bed_start - hypnogram.start) / el)),
        round(float((stats.bed_end - hypnogram.start) / el)),
    )


def jawbone_sleep(
    hypnogram: Hypnogram,
    stats: NightStatistics,
    *,
    xid: str | None = None,
    updated: float | None = None,
) -> dict[str, Any]:
    """The Jawbone UP sleep item of a night.

    Parameters
    ----------
    hypnogram : Hypnogram
    stats : NightStatistics
        Statistics of ``hypnogram``.
    xid : str, optional
        Event id; default :func:`jawbone_xid` of the start and time zone (stable).
    updated : float, optional
        Unix s stored as ``time_updated`` (used by :func:`jawbone_list_page`'s
        ``updated_after``); default ``time_completed``.

    Returns
    -------
    dict
        ``xid``, ``title`` (:func:`jawbone_title` of light + deep + REM), ``type``
        ``"sleep"``, ``sub_type`` (:func:`jawbone_sub_type` of the event length),
        ``time_created`` / ``time_completed`` (bed period, int Unix s), ``time_updated``,
        ``date`` (YYYYMMDD of ``time_completed`` in ``tz``, the wake-up day), place
        fields ``null``, ``snapshot_image`` ``null`` (no image is made), ``details``:
        ``smart_alarm_fire`` 0, ``asleep_time`` (sleep onset), ``awake_time`` (final
        awakening; both fall back to the event bounds when there is no sleep),
        ``awakenings`` (:attr:`NightStatistics.awakenings`), ``light``, ``deep``, ``rem``,
        ``awake`` (s), ``duration`` = their sum, ``quality``
        (:func:`~sleepsignal.statistics.jawbone_quality`), ``tz``.

    Raises
    ------
    SignalError
        For a night never in bed, or stats of another hypnogram.
    """
    b0, b1 = _span(hypnogram, stats)
    st = np.asarray(hypnogram.stages)[b0:b1]
    el = hypnogram.epoch_length
    light = round(float(np.count_nonzero(st == LIGHT) * el))
    deep = round(float(np.count_nonzero(st == DEEP) * el))
    rem = round(float(np.count_nonzero(st == REM) * el))
    awake = round(float(np.count_nonzero(np.isin(st, (WAKE, AWAY, NO_SIGNAL))) * el))
    created = round(float(hypnogram.start + b0 * el))
    completed = created + light + deep + rem + awake
    tz = hypnogram.timezone
    local = _dt.datetime.fromtimestamp(completed, tz=_zone(tz))
    asleep_time = round(float(stats.sleep_onset)) if stats.sleep_onset is not None else created
    awake_time = (
        round(float(stats.final_awakening)) if stats.final_awakening is not None else completed
    )
    return {
        "xid": xid if xid is not None else jawbone_xid(created, tz),
        "title": jawbone_title(light + deep + rem),
        "type": "sleep",
        "sub_type": jawbone_sub_type(completed - created),
        "time_created": created,
        "time_completed": completed,
        "time_updated": round(float(updated)) if updated is not None else completed,
        "date": int(local.strftime("%Y%m%d")),
        "place_lat": None,
        "place_lon": None,
        "place_acc": None,
        "place_name": None,
        "snapshot_image": None,
        "details": {
            "smart_alarm_fire": 0,
            "awake_time": awake_time,
            "asleep_time": asleep_time,
            "awakenings": int(stats.awakenings),
            "rem": rem,
            "light": light,
            "deep": deep,
            "awake": awake,
            "duration": light + deep + rem + awake,
            "quality": jawbone_quality(stats),
            "tz": tz,
        },
    }


def jawbone_snapshot(hypnogram: Hypnogram, stats: NightStatistics | None = None) -> list[list[int]]:
    """Sleep phases ``[[timestamp, phase], ...]``, one row each time the phase changes.

    Parameters
    ----------
    hypnogram : Hypnogram
    stats : NightStatistics, optional
        Its statistics; computed when not given (only the bed period is used).

    Returns
    -------
    list of [int, int]
        Over the bed period: 1 awake (wake, away, no signal), 2 light (light, REM: the
        snapshot has no REM phase), 3 deep. Timestamps are int Unix s. Empty for a night
        never in bed.
    """
    if stats is None:
        from ..statistics import night_statistics

        stats = night_statistics(hypnogram)
    if stats.bed_start is None:
        return []
    b0, b1 = _span(hypnogram, stats)
    table = dict(JAWBONE_PHASES)
    table["no_signal"] = 1
    phases = np.asarray([table[n] for n in hypnogram.names()[b0:b1]], dtype=np.int64)
    times = hypnogram.epoch_starts()[b0:b1]
    keep = np.concatenate(([True], phases[1:] != phases[:-1]))
    return [[round(float(t)), int(p)] for t, p in zip(times[keep], phases[keep], strict=False)]


def _int_param(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise QueryError(f"{name} must be an integer (epoch seconds or YYYYMMDD), got {value!r}")
    return int(value)


def jawbone_list_page(
    sleeps: Iterable[Mapping[str, Any]],
    *,
    date: int | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    updated_after: int | None = None,
    page_token: int | None = None,
    limit: int = 10,
    user_xid: str = "@me",
) -> dict[str, Any]:
    """One page of ``GET /nudge/api/v.1.0/users/@me/sleeps`` over built sleep items.

    Parameters
    ----------
    sleeps : iterable of dict
        Items from :func:`jawbone_sleep`.
    date : int, optional
        YYYYMMDD: only sleeps of that ``date``. (The API's "today" default needs a clock;
        here omitting it means no date filter.)
    start_time, end_time : int, optional
        Epoch s, used together: sleeps with ``time_completed >= start_time`` and
        ``time_created <= end_time``. ``start_time`` may also be used alone (as in the
        document's example) or with ``updated_after``.
    updated_after : int, optional
        Sleeps with ``time_updated`` (default ``time_completed``) later than this.
    page_token : int, optional
        From ``links.next``: only sleeps with ``time_created`` before this.
    limit : int
        Page size (positive).
    user_xid : str
        Used in ``meta.user_xid`` and the ``links.next`` path.

    Returns
    -------
    dict
        ``{"meta": {"user_xid", "message": "OK", "code": 200}, "data": {"items": [...],
        "links": {"next": path} (only when more remain), "size": n}}``; newest first
        (``time_created`` descending). ``next`` carries ``page_token`` = the last item's
        ``time_created`` and the other filters.

    Raises
    ------
    QueryError
        For non-integer parameters, ``end_time`` without ``start_time``, ``start_time >
        end_time`` or a non-positive ``limit``.
    SignalError
        For a sleep item without ``xid``, ``date``, ``time_created`` or ``time_completed``.
    """
    date = _int_param("date", date)
    start_time = _int_param("start_time", start_time)
    end_time = _int_param("end_time", end_time)
    updated_after = _int_param("updated_after", updated_after)
    page_token = _int_param("page_token", page_token)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise QueryError(f"limit must be a positive integer, got {limit!r}")
    if end_time is not None and start_time is None:
        raise QueryError("end_time must be used together with start_time")
    if start_time is not None and end_time is not None and start_time > end_time:
        raise QueryError(f"start_time {start_time} is after end_time {end_time}")
    chosen = []
    for i, s in enumerate(sleeps):
        missing = [k for k in ("xid", "date", "time_created", "time_completed") if k not in s]
        if missing:
            raise SignalError(
                f"sleep {i} lacks {', '.join(missing)}; pass items from jawbone_sleep()"
            )
        if date is not None and s["date"] != date:
            continue
        if start_time is not None and s["time_completed"] < start_time:
            continue
        if end_time is not None and s["time_created"] > end_time:
            continue
        if (
            updated_after is not None
            and s.get("time_updated", s["time_completed"]) <= updated_after
        ):
            continue
        if page_token is not None and s["time_created"] >= page_token:
            continue
        chosen.append(s)
    chosen.sort(key=lambda s: (-s["time_created"], s["xid"]))
    page = chosen[:limit]
    data: dict[str, Any] = {"items": [dict(s) for s in page]}
    if len(chosen) > limit:
        params = [
            ("date", date),
            ("start_time", start_time),
            ("end_time", end_time),
            ("updated_after", updated_after),
            ("page_token", page[-1]["time_created"]),
        ]
        query = "&".join(f"{k}={v}" for k, v in params if v is not None)
        data["links"] = {"next": f"{_LIST_PATH.replace('@me', user_xid)}?{query}"}
    data["size"] = len(page)
    return {"meta": {"user_xid": user_xid, "message": "OK", "code": 200}, "data": data}
