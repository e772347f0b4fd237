"""Impilo sleep-mat readings: the request body, its validation, and a typed response.

The document: "Records a sleep mat duration reading based on the provided request.
Either a device ID, device identifier, or patient ID is required." Required body fields:
``bodyTurnOver``, ``deepSleep``, ``duration`` (string), ``heartRate``, ``lightSleep``,
``readingTimestamp`` (UTC date-time), ``rem``, ``respiration``; optional ``deviceId``
(long), ``deviceIdentifier`` (string), ``deviceTimeZoneOffset`` (s), ``manual``,
``patientId`` (long).

``duration`` is written as an ISO 8601 duration of whole seconds, ``PT7H12M30S`` (what a
Java backend's ``Duration.toString()`` writes and ``Duration.parse`` reads).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

import numpy as np

from ..errors import RecordValidationError, SignalError
from ..hypnogram import Hypnogram
from ..statistics import NightStatistics
from .beddit import _zone

__all__ = [
    "IDENTIFIER_REQUIRED",
    "ImpiloReading",
    "format_impilo_duration",
    "impilo_reading",
    "parse_impilo_duration",
    "parse_impilo_response",
    "validate_impilo",
]

#: The document's rule, as the error text.
IDENTIFIER_REQUIRED = "Either a device ID, device identifier, or patient ID is required."
_IDENTIFIER_ERROR: dict[str, object] = {
    "field": "deviceId, deviceIdentifier, patientId",
    "message": IDENTIFIER_REQUIRED,
}
_INT_FIELDS = ("bodyTurnOver", "deepSleep", "heartRate", "lightSleep", "rem", "respiration")
_REQUIRED = (*_INT_FIELDS[:2], "duration", *_INT_FIELDS[2:4], "readingTimestamp", *_INT_FIELDS[4:])
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_INT64 = (-(2**63), 2**63 - 1)


def format_impilo_duration(seconds: float) -> str:
    """``PT7H12M30S`` for 25950 s (rounded to whole seconds; ``PT0S`` for 0).

    >>> format_impilo_duration(25950)
    'PT7H12M30S'
    """
    if not (math.isfinite(seconds) and seconds >= 0):
        raise SignalError(f"duration must be a non-negative number of s, got {seconds!r}")
    s = round(float(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    text = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{sec}S" if sec else "")
    return text if text != "PT" else "PT0S"


def parse_impilo_duration(text: str) -> float:
    """Seconds of a ``PT#H#M#S`` duration.

    Raises
    ------
    SignalError
        When ``text`` is not such a duration.
    """
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m or text == "PT":
        raise SignalError(f"duration must look like 'PT7H12M30S', got {text!r}")
    h, mi, s = m.groups()
    return int(h or 0) * 3600.0 + int(mi or 0) * 60.0 + float(s or 0)


def _utc_text(t: float) -> str:
    d = _dt.datetime.fromtimestamp(round(float(t)), tz=_dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(text: object) -> _dt.datetime | None:
    if not isinstance(text, str) or not _DATETIME.match(text):
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _round_int(x: float | None, name: str) -> int:
    if x is None or not math.isfinite(x):
        raise RecordValidationError(
            [
                {
                    "field": name,
                    "message": f"{name} is required but could not be computed "
                    "from the session (missing track)",
                }
            ]
        )
    return round(float(x))


def impilo_reading(
    stats: NightStatistics,
    hypnogram: Hypnogram,
    *,
    patient_id: int | None = None,
    device_id: int | None = None,
    device_identifier: str | None = None,
) -> dict[str, Any]:
    """The request body of an Impilo sleep-mat reading.

    Parameters
    ----------
    stats : NightStatistics
    hypnogram : Hypnogram
        The night (time zone, restless bouts).
    patient_id, device_id : int, optional
    device_identifier : str, optional
        At least one of the three is required (the document's rule).

    Returns
    -------
    dict
        ``bodyTurnOver``: restless-sleep bouts (runs of restless epochs; the mat reports
        movement, not turns, so this is our stand-in), ``deepSleep``, ``lightSleep``,
        ``rem``: whole minutes (rounded), ``duration``: total sleep time as
        ``PT#H#M#S``, ``heartRate``: mean of the ``heart_rate`` track (bpm, rounded),
        ``respiration``: average respiration rate during sleep (breaths/min, rounded),
        ``readingTimestamp``: end of the hypnogram (UTC, ``...Z``),
        ``deviceTimeZoneOffset``: UTC offset of the night's zone at that instant (s),
        ``manual``: false, and the identifiers given.

    Raises
    ------
    RecordValidationError
        Without any identifier (error ``{"field": "deviceId, deviceIdentifier,
        patientId", "message": IDENTIFIER_REQUIRED}``), or when heart rate or respiration
        cannot be computed (no track): both are required by Impilo.
    """
    body: dict[str, Any] = {
        "bodyTurnOver": _restless_bouts(hypnogram),
        "deepSleep": round(float(stats.stage_durations["deep"] / 60.0)),
        "duration": format_impilo_duration(stats.total_sleep_time),
        "heartRate": None,
        "lightSleep": round(float(stats.stage_durations["light"] / 60.0)),
        "readingTimestamp": _utc_text(hypnogram.end),
        "rem": round(float(stats.stage_durations["rem"] / 60.0)),
        "respiration": None,
        "deviceTimeZoneOffset": _offset(hypnogram.timezone, hypnogram.end),
        "manual": False,
    }
    if device_id is not None:
        body["deviceId"] = device_id
    if device_identifier is not None:
        body["deviceIdentifier"] = device_identifier
    if patient_id is not None:
        body["patientId"] = patient_id
    if patient_id is None and device_id is None and device_identifier is None:
        raise RecordValidationError([_IDENTIFIER_ERROR])
    body["heartRate"] = _round_int(stats.average_heart_rate, "heartRate")
    body["respiration"] = _round_int(stats.average_respiration_rate, "respiration")
    errors = validate_impilo(body)
    if errors:
        raise RecordValidationError(errors)
    return body


def _restless_bouts(hypnogram: Hypnogram) -> int:
    r = np.concatenate(([False], np.asarray(hypnogram.restless, bool), [False]))
    return int(np.count_nonzero(np.diff(r.astype(np.int8)) == 1))


def _offset(tz: str, t: float) -> int:
    off = _dt.datetime.fromtimestamp(t, tz=_zone(tz)).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _is_int(v: object, lo: int = _INT64[0], hi: int = _INT64[1]) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def validate_impilo(obj: object) -> list[dict[str, object]]:
    """Validate an Impilo sleep-mat reading request body.

    Parameters
    ----------
    obj : object
        Parsed JSON.

    Returns
    -------
    list of dict
        Empty when valid; else ``{"field", "message"}`` per problem: a required field
        missing or ``null``, a field of the wrong type (integers, longs, strings,
        booleans as the document declares; minutes, rates and turn-overs must not be
        negative), a ``readingTimestamp`` that is not a date-time, a ``duration`` that is
        not ``PT#H#M#S``, and, when none of ``deviceId``, ``deviceIdentifier``,
        ``patientId`` is given, :data:`IDENTIFIER_REQUIRED`.

    Examples
    --------
    >>> [e["message"] for e in validate_impilo({"bodyTurnOver": 0, "deepSleep": 60,
    ...     "duration": "PT7H", "heartRate": 58, "lightSleep": 240,
    ...     "readingTimestamp": "2026-11-22T06:30:00Z", "rem": 90, "respiration": 14})]
    ['Either a device ID, device identifier, or patient ID is required.']
    """
    if not isinstance(obj, Mapping):
        return [
            {
                "field": "",
                "message": f"the request body must be a JSON object, got {type(obj).__name__}",
            }
        ]
    errors: list[dict[str, object]] = []
    for name in _REQUIRED:
        if obj.get(name) is None:
            errors.append({"field": name, "message": f"{name} is required"})
    for name in _INT_FIELDS:
        v = obj.get(name)
        if v is not None and not _is_int(v, 0, 2**31 - 1):
            errors.append(
                {"field": name, "message": f"{name} must be a non-negative integer, got {v!r}"}
            )
    d = obj.get("duration")
    if d is not None:
        try:
            parse_impilo_duration(d)
        except SignalError:
            errors.append(
                {
                    "field": "duration",
                    "message": f"duration must be a string like 'PT7H12M30S', got {d!r}",
                }
            )
    ts = obj.get("readingTimestamp")
    if ts is not None and _parse_datetime(ts) is None:
        errors.append(
            {
                "field": "readingTimestamp",
                "message": "readingTimestamp must be a UTC "
                f"date-time like '2026-11-22T06:30:00Z', got {ts!r}",
            }
        )
    for name in ("deviceId", "patientId"):
        v = obj.get(name)
        if v is not None and not _is_int(v):
            errors.append(
                {"field": name, "message": f"{name} must be an integer (long), got {v!r}"}
            )
    v = obj.get("deviceIdentifier")
    if v is not None and not isinstance(v, str):
        errors.append(
            {
                "field": "deviceIdentifier",
                "message": f"deviceIdentifier must be a string, got {v!r}",
            }
        )
    v = obj.get("deviceTimeZoneOffset")
    if v is not None and not _is_int(v, -18 * 3600, 18 * 3600):
        errors.append(
            {
                "field": "deviceTimeZoneOffset",
                "message": "deviceTimeZoneOffset must be an integer number of s within ±18 h, "
                f"got {v!r}",
            }
        )
    v = obj.get("manual")
    if v is not None and not isinstance(v, bool):
        errors.append(
            {"field": "manual", "message": f"manual must be true, false or null, got {v!r}"}
        )
    if all(obj.get(k) is None for k in ("deviceId", "deviceIdentifier", "patientId")):
        errors.append(dict(_IDENTIFIER_ERROR))
    return errors


@dataclass(frozen=True)
class ImpiloReading:
    """A parsed Impilo reading response (every field may be ``None``, as documented).

    Attributes
    ----------
    reading_timestamp : datetime.datetime
        ``readingTimestamp``, tz-aware (UTC).
    id : int or None
    body_turn_over, deep_sleep, light_sleep, rem, heart_rate, respiration : int or None
        Counts, minutes, bpm, breaths/min.
    duration : str or None
        As sent; :attr:`duration_seconds` parses it.
    device_time_zone_offset, patient_time_zone_offset : int or None
        s from UTC.
    manual : bool or None
    device, item, patient : mapping or None
        Nested Impilo resources, kept as read.
    extra : mapping
        Unknown fields, kept.
    present : tuple of str
        Documented fields that were present (``null`` included), for writing back.
    reading_timestamp_text : str
        ``readingTimestamp`` as sent.
    """

    reading_timestamp: _dt.datetime
    id: int | None = None
    body_turn_over: int | None = None
    deep_sleep: int | None = None
    light_sleep: int | None = None
    rem: int | None = None
    heart_rate: int | None = None
    respiration: int | None = None
    duration: str | None = None
    device_time_zone_offset: int | None = None
    patient_time_zone_offset: int | None = None
    manual: bool | None = None
    device: Mapping[str, Any] | None = None
    item: Mapping[str, Any] | None = None
    patient: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    present: tuple[str, ...] = ()
    reading_timestamp_text: str = ""

    @property
    def duration_seconds(self) -> float | None:
        """``duration`` in s (``None`` when absent)."""
        return None if self.duration is None else parse_impilo_duration(self.duration)

    def to_json(self) -> dict[str, Any]:
        """The response object again (fields that were present, unknown ones kept)."""
        out: dict[str, Any] = {}
        for key, attr in _RESPONSE_FIELDS.items():
            if key == "readingTimestamp":
                out[key] = self.reading_timestamp_text or self.reading_timestamp.isoformat()
            elif key in self.present:
                value = getattr(self, attr)
                out[key] = dict(value) if isinstance(value, Mapping) else value
        out.update(self.extra)
        return out


_RESPONSE_FIELDS = {
    "readingTimestamp": "reading_timestamp",
    "id": "id",
    "bodyTurnOver": "body_turn_over",
    "deepSleep": "deep_sleep",
    "lightSleep": "light_sleep",
    "rem": "rem",
    "heartRate": "heart_rate",
    "respiration": "respiration",
    "duration": "duration",
    "deviceTimeZoneOffset": "device_time_zone_offset",
    "patientTimeZoneOffset": "patient_time_zone_offset",
    "manual": "manual",
    "device": "device",
    "item": "item",
    "patient": "patient",
}


def parse_impilo_response(obj: object) -> ImpiloReading:
    """Parse the ``200 OK`` response object of a reading.

    Parameters
    ----------
    obj : object
        Parsed JSON.

    Returns
    -------
    ImpiloReading
        ``to_json()`` gives the object back (round trip).

    Raises
    ------
    RecordValidationError
        When ``readingTimestamp`` is missing or not a date-time, or a field has the
        wrong type (integers, string, boolean, object, each also ``null``).
    """
    if not isinstance(obj, Mapping):
        raise RecordValidationError(
            [
                {
                    "field": "",
                    "message": f"the response must be a JSON object, got {type(obj).__name__}",
                }
            ]
        )
    errors: list[dict[str, object]] = []
    ts = _parse_datetime(obj.get("readingTimestamp"))
    if ts is None:
        errors.append(
            {
                "field": "readingTimestamp",
                "message": "readingTimestamp must be a "
                f"date-time, got {obj.get('readingTimestamp')!r}",
            }
        )
    kinds = {
        "duration": str,
        "manual": bool,
        "device": Mapping,
        "item": Mapping,
        "patient": Mapping,
    }
    values: dict[str, Any] = {}
    for key, attr in _RESPONSE_FIELDS.items():
        if key == "readingTimestamp" or key not in obj:
            continue
        v = obj[key]
        kind = kinds.get(key)
        ok = v is None or (_is_int(v) if kind is None else isinstance(v, kind))
        if not ok:
            errors.append({"field": key, "message": f"{key} has the wrong type: {v!r}"})
        values[attr] = v
    if errors:
        raise RecordValidationError(errors)
    ts = cast(_dt.datetime, ts)
    extra = {k: v for k, v in obj.items() if k not in _RESPONSE_FIELDS}
    return ImpiloReading(
        reading_timestamp=ts,
        extra=MappingProxyType(extra),
        present=tuple(k for k in _RESPONSE_FIELDS if k in obj),
        reading_timestamp_text=str(obj["readingTimestamp"]),
        **values,
    )
