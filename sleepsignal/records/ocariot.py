"""OCARIoT child sleep records (``classic`` / ``stages``) and the service's validation.

The record (``POST /v1/children/{child_id}/sleep``) spans the bed period of the night:
``start_time`` / ``end_time`` in ISO 8601 UTC, ``duration`` in ms equal to their
difference, ``pattern.data_set`` with one item per run of equal names (adjacent epochs
merged) and ``pattern.summary`` with ``count`` and ``duration`` per allowed name.

:func:`validate_ocariot` returns the service's 400 errors with the document's exact
``code`` / ``message`` / ``description`` texts, and 409 for a sleep already registered.
:func:`ocariot_multi_status` gives the 207 body for a list.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from ..errors import RecordValidationError, SignalError
from ..hypnogram import CLASSIC_NAMES, OCARIOT_STAGE_NAMES, Hypnogram
from ..statistics import NightStatistics

__all__ = [
    "OCARIOT_PATTERN_NAMES",
    "STAGES_MIN_HEART_RATE_COVERAGE",
    "STAGES_MIN_SLEEP",
    "choose_ocariot_type",
    "format_ocariot_time",
    "ocariot_multi_status",
    "ocariot_record",
    "ocariot_summary",
    "parse_ocariot_time",
    "validate_ocariot",
]

#: Allowed ``data_set`` names per sleep type, in the document's order.
OCARIOT_PATTERN_NAMES: Mapping[str, tuple[str, ...]] = {
    "classic": ("asleep", "restless", "awake"),
    "stages": ("deep", "light", "rem", "awake"),
}
#: ``stages`` needs at least this much total sleep, s (Fitbit's rule: 3 h).
STAGES_MIN_SLEEP = 3 * 3600.0
#: ``stages`` needs heart-rate values in at least this fraction of the sleep period.
STAGES_MIN_HEART_RATE_COVERAGE = 0.7

_REQUIRED = ("start_time", "end_time", "duration", "type", "pattern")
_ITEM_REQUIRED = ("start_time", "name", "duration")
_MSG_REQUIRED = "Required fields were not provided..."
_MSG_INVALID = "One or more request fields are invalid..."
_MSG_CONFLICT = "Sleep is already registered..."
# Not in the document: texts of the OCARIoT services' own validators (DatetimeValidator,
# ObjectIdValidator), used for the cases the document only names.
_MSG_DATETIME = "Datetime: {0}, is not in valid ISO 8601 format."
_DESC_DATETIME = "Date must be in the format: yyyy-MM-dd'T'HH:mm:ssZ"
_MSG_ID = "Some ID provided does not have a valid format!"
_DESC_ID = "A 24-byte hex ID similar to this: 507f191e810c19729de860ea is expected."
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
)
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")

SleepType = Literal["classic", "stages"]


def format_ocariot_time(ms: int, *, item: bool = False) -> str:
    """ISO 8601 UTC text of a Unix time in ms, as the document writes it.

    Top-level times are ``2019-08-18T01:40:30Z``; ``data_set`` times carry a fraction
    (``2019-08-18T01:40:30.00Z``). A time that is not a whole second gets milliseconds
    (``.618Z``) in both.
    """
    sec, frac = divmod(int(ms), 1000)
    base = _dt.datetime.fromtimestamp(sec, tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        return f"{base}.{frac:03d}Z"
    return f"{base}.00Z" if item else f"{base}Z"


def parse_ocariot_time(text: object) -> int | None:
    """Unix ms of an ISO 8601 date-time (``Z`` or ``+HH:MM``), ``None`` if invalid."""
    if not isinstance(text, str):
        return None
    m = _ISO.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        t = _dt.datetime(y, mo, d, h, mi, s, tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    ms = int(t.timestamp()) * 1000
    if m.group(7):
        ms += round(float(float("0" + m.group(7)) * 1000))
    z = m.group(8)
    if z != "Z":
        sign = 1 if z[0] == "+" else -1
        hh, mm = int(z[1:3]), int(z[4:6])
        if hh > 23 or mm > 59:
            return None
        ms -= sign * (hh * 3600 + mm * 60) * 1000
    return ms


def ocariot_summary(data_set: Sequence[Mapping[str, Any]], type: SleepType) -> dict[str, Any]:
    """``pattern.summary``: ``count`` and summed ``duration`` (ms) per allowed name.

    Names are listed alphabetically (as in the document's example), every allowed name
    present even with count 0.

    Raises
    ------
    SignalError
        For an unknown ``type`` or an item without a non-negative numeric ``duration``.
    """
    if type not in OCARIOT_PATTERN_NAMES:
        raise SignalError(f"type must be one of {', '.join(OCARIOT_PATTERN_NAMES)}, got {type!r}")
    for i, d in enumerate(data_set):
        dur = d.get("duration") if isinstance(d, Mapping) else None
        if _number_error(dur, "duration") is not None:
            raise SignalError(
                f"data_set item {i} needs a non-negative number duration (ms), got {dur!r}"
            )
    out: dict[str, Any] = {}
    for name in sorted(OCARIOT_PATTERN_NAMES[type]):
        items = [d for d in data_set if d.get("name") == name]
        out[name] = {"count": len(items), "duration": int(sum(d["duration"] for d in items))}
    return out


def choose_ocariot_type(stats: NightStatistics) -> SleepType:
    """``stages`` when the night supports it, else ``classic`` (Fitbit's rule).

    ``stages`` needs total sleep of at least :data:`STAGES_MIN_SLEEP` (3 h) and heart-rate
    values in at least :data:`STAGES_MIN_HEART_RATE_COVERAGE` (70 %) of the sleep
    period's 30 s epochs (stages from movement alone are not trusted).
    """
    cov = stats.heart_rate_coverage
    if (
        stats.total_sleep_time >= STAGES_MIN_SLEEP
        and cov is not None
        and cov >= STAGES_MIN_HEART_RATE_COVERAGE
    ):
        return "stages"
    return "classic"


def ocariot_record(
    hypnogram: Hypnogram,
    stats: NightStatistics,
    *,
    child_id: str | None = None,
    type: SleepType | None = None,
) -> dict[str, Any]:
    """The OCARIoT sleep record of a night.

    Parameters
    ----------
    hypnogram : Hypnogram
    stats : NightStatistics
        Statistics of ``hypnogram`` (bed period, heart-rate coverage).
    child_id : str, optional
        24-hex child id; added as ``child_id`` when given.
    type : {"classic", "stages"}, optional
        Default: :func:`choose_ocariot_type`.

    Returns
    -------
    dict
        ``start_time``, ``end_time`` (bed period, ISO 8601 UTC), ``duration`` (ms),
        ``type``, ``pattern`` {``data_set``, ``summary``}, and ``child_id`` if given.
        ``classic`` names: light/deep/REM ``asleep`` (``restless`` when flagged), wake and
        away ``awake``; ``stages``: ``deep``, ``light``, ``rem``, ``awake``. No-signal
        epochs have no name and stay out of the data set (a gap); otherwise the data set
        durations add up to ``duration``.

    Raises
    ------
    SignalError
        For an unknown ``type`` or a night never in bed (nothing to record).
    RecordValidationError
        If the built record fails :func:`validate_ocariot` (a bug; never expected).
    """
    if type is None:
        type = choose_ocariot_type(stats)
    if type not in OCARIOT_PATTERN_NAMES:
        raise SignalError(f"type must be one of {', '.join(OCARIOT_PATTERN_NAMES)}, got {type!r}")
    if stats.bed_start is None or stats.bed_end is None:
        raise SignalError("the night has no in-bed epoch: there is no OCARIoT sleep to record")
    if abs(stats.start - hypnogram.start) > 1e-6:
        raise SignalError("stats were computed from another hypnogram (start differs)")
    table = CLASSIC_NAMES if type == "classic" else OCARIOT_STAGE_NAMES
    labels = hypnogram.vendor_labels(table)
    el_ms = round(float(hypnogram.epoch_length * 1000))
    t0_ms = round(float(hypnogram.start * 1000))
    b0 = round(float((stats.bed_start - hypnogram.start) / hypnogram.epoch_length))
    b1 = round(float((stats.bed_end - hypnogram.start) / hypnogram.epoch_length))
    data_set: list[dict[str, Any]] = []
    i = b0
    while i < b1:
        j = i
        while j < b1 and labels[j] == labels[i]:
            j += 1
        if labels[i] is not None:
            data_set.append(
                {
                    "start_time": format_ocariot_time(t0_ms + i * el_ms, item=True),
                    "name": labels[i],
                    "duration": (j - i) * el_ms,
                }
            )
        i = j
    record: dict[str, Any] = {
        "start_time": format_ocariot_time(t0_ms + b0 * el_ms),
        "end_time": format_ocariot_time(t0_ms + b1 * el_ms),
        "duration": (b1 - b0) * el_ms,
        "type": type,
        "pattern": {"data_set": data_set, "summary": ocariot_summary(data_set, type)},
    }
    if child_id is not None:
        record["child_id"] = child_id
    errors = validate_ocariot(record)
    if errors:
        raise RecordValidationError(errors)
    return record


def _err(code: int, message: str, description: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"code": code, "message": message}
    if description is not None:
        e["description"] = description
    return e


def _required(fields: Sequence[str]) -> dict[str, Any]:
    verb = "are" if len(fields) > 1 else "is"
    return _err(400, _MSG_REQUIRED, f"{', '.join(fields)} {verb} required!")


def _number_error(value: object, name: str) -> dict[str, Any] | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return _err(400, _MSG_INVALID, f"{name} must be a valid number!")
    if value < 0:
        return _err(400, _MSG_INVALID, f"{name} can't be negative!")
    return None


def _datetime_error(value: object) -> dict[str, Any]:
    return _err(400, _MSG_DATETIME.format(value), _DESC_DATETIME)


def _validate_400(obj: object) -> list[dict[str, Any]]:
    if not isinstance(obj, Mapping):
        return [_err(400, _MSG_INVALID, "The sleep must be a JSON object.")]
    errors: list[dict[str, Any]] = []
    missing = [f for f in _REQUIRED if obj.get(f) is None]
    if missing:
        errors.append(_required(missing))
    start = end = None
    for key in ("start_time", "end_time"):
        if obj.get(key) is not None:
            t = parse_ocariot_time(obj[key])
            if t is None:
                errors.append(_datetime_error(obj[key]))
            elif key == "start_time":
                start = t
            else:
                end = t
    duration_ok = False
    if obj.get("duration") is not None:
        e = _number_error(obj["duration"], "duration")
        if e:
            errors.append(e)
        else:
            duration_ok = True
    if start is not None and end is not None:
        if end < start:
            errors.append(
                _err(
                    400,
                    _MSG_INVALID,
                    "The end_time parameter can not contain an older date than that the "
                    "start_time parameter!",
                )
            )
        elif duration_ok and obj["duration"] != end - start:
            errors.append(
                _err(
                    400,
                    _MSG_INVALID,
                    "duration value does not match values passed in start_time and end_time "
                    "parameters!",
                )
            )
    sleep_type = obj.get("type")
    if sleep_type is not None and sleep_type not in OCARIOT_PATTERN_NAMES:
        errors.append(
            _err(
                400,
                _MSG_INVALID,
                "The names of the allowed Sleep Pattern types are: classic, stages.",
            )
        )
        sleep_type = None
    pattern = obj.get("pattern")
    if pattern is not None:
        data_set = pattern.get("data_set") if isinstance(pattern, Mapping) else None
        if data_set is None:
            errors.append(_required(["pattern.data_set"]))
        elif not isinstance(data_set, list):
            errors.append(_err(400, _MSG_INVALID, "pattern.data_set must be a list of items!"))
        elif not data_set:
            errors.append(_err(400, _MSG_INVALID, "pattern.data_set must not be empty!"))
        else:
            errors.extend(_validate_items(data_set, sleep_type))
    child = obj.get("child_id")
    if child is not None and not (isinstance(child, str) and _HEX24.match(child)):
        errors.append(_err(400, _MSG_ID, _DESC_ID))
    return errors


def _validate_items(data_set: list[Any], sleep_type: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(e: dict[str, Any]) -> None:
        if e not in found:
            found.append(e)

    for item in data_set:
        if not isinstance(item, Mapping):
            add(_required([f"pattern.data_set.{f}" for f in _ITEM_REQUIRED]))
            continue
        missing = [f"pattern.data_set.{f}" for f in _ITEM_REQUIRED if item.get(f) is None]
        if missing:
            add(_required(missing))
        if item.get("start_time") is not None and parse_ocariot_time(item["start_time"]) is None:
            add(_datetime_error(item["start_time"]))
        if item.get("duration") is not None:
            e = _number_error(item["duration"], "pattern.data_set.duration")
            if e:
                add(e)
        name = item.get("name")
        if (
            name is not None
            and sleep_type is not None
            and name not in OCARIOT_PATTERN_NAMES[sleep_type]
        ):
            allowed = ", ".join(OCARIOT_PATTERN_NAMES[sleep_type])
            add(
                _err(
                    400, _MSG_INVALID, f"The names of the allowed data_set patterns are: {allowed}."
                )
            )
    return found


def _same_sleep(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.get("child_id") != b.get("child_id"):
        return False
    return parse_ocariot_time(a.get("start_time")) == parse_ocariot_time(
        b.get("start_time")
    ) and parse_ocariot_time(a.get("end_time")) == parse_ocariot_time(b.get("end_time"))


def validate_ocariot(
    obj: object, *, existing: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Validate an incoming OCARIoT sleep as the service does.

    Parameters
    ----------
    obj : object
        Parsed JSON of one sleep.
    existing : iterable of mapping
        Sleeps already registered; a sleep of the same ``child_id`` (both absent counts as
        the same child, the one in the URL) with the same ``start_time`` and ``end_time``
        instants is a conflict.

    Returns
    -------
    list of dict
        Empty when valid. Otherwise the errors ``{code, message[, description]}``: every
        400 error found (each distinct text once, in field order), or only the 409
        ``Sleep is already registered...`` when the sleep is valid but already exists.

    Notes
    -----
    Texts of the document: missing fields (``start_time, end_time, duration, type,
    pattern are required!``, listing the missing ones; ``is`` for one), missing / empty
    ``pattern.data_set``, ``end_time`` before ``start_time``, duration mismatch (ms),
    negative or non-numeric durations (``duration`` / ``pattern.data_set.duration``),
    invalid type and invalid ``data_set`` names. The document names "Invalid date" and
    "Invalid child id" without texts; those come from the OCARIoT services' validators
    (``Datetime: X, is not in valid ISO 8601 format.``; ``Some ID provided does not have
    a valid format!``). A ``data_set`` that is not a list, and a body that is not an
    object, get texts of ours.

    Examples
    --------
    >>> validate_ocariot({"type": "classic"})[0]["description"]
    'start_time, end_time, duration, pattern are required!'
    """
    errors = _validate_400(obj)
    if errors:
        return errors
    for other in existing:
        if _same_sleep(cast(Mapping[str, Any], obj), other):
            return [_err(409, _MSG_CONFLICT)]
    return []


def ocariot_multi_status(
    items: Iterable[object],
    *,
    existing: Iterable[Mapping[str, Any]] = (),
    child_id: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The 207 multi-status body for a list of submitted sleeps.

    Parameters
    ----------
    items : iterable
        Submitted sleeps (parsed JSON).
    existing : iterable of mapping
        Sleeps already registered (for 409). Each accepted item counts as registered for
        the items after it.
    child_id : str, optional
        The child of the URL; set on accepted items that do not carry one.

    Returns
    -------
    dict
        ``{"success": [{"code": 201, "item": ...}], "error": [{"code", "message",
        ["description"], "item"}]}``. An accepted item gets ``pattern.summary`` computed
        from its data set (no ``id``: the service assigns it). A rejected item reports
        its first error.
    """
    registered = list(existing)
    success: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        probe = item
        if child_id is not None and isinstance(item, Mapping) and "child_id" not in item:
            probe = {**item, "child_id": child_id}
        errors = validate_ocariot(probe, existing=registered)
        if errors:
            failed.append({**errors[0], "item": item})
            continue
        created = dict(cast(Mapping[str, Any], probe))
        pattern = dict(created["pattern"])
        pattern["summary"] = ocariot_summary(pattern["data_set"], created["type"])
        created["pattern"] = pattern
        registered.append(created)
        success.append({"code": 201, "item": created})
    return {"success": success, "error": failed}
