"""Records that sleep APIs expect, built from a session, its hypnogram and statistics.

- :func:`beddit_sleep`: the Beddit Sleep object (one per night).
- :func:`impilo_reading`, :func:`validate_impilo`, :func:`parse_impilo_response`.
- :func:`ocariot_record`, :func:`validate_ocariot`, :func:`ocariot_multi_status`.
- :func:`jawbone_sleep`, :func:`jawbone_snapshot`, :func:`jawbone_list_page`.
- :func:`build_records`: everything the ``analyze`` command writes, by file name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .._validate import check_instance, real_number
from ..errors import RecordValidationError, SignalError
from ..hypnogram import Hypnogram
from ..session import Session
from ..statistics import NightStatistics, SleepScore, night_statistics, sleep_score
from .beddit import beddit_sleep
from .impilo import (
    ImpiloReading,
    impilo_reading,
    parse_impilo_response,
    validate_impilo,
)
from .jawbone import jawbone_list_page, jawbone_sleep, jawbone_snapshot
from .ocariot import ocariot_multi_status, ocariot_record, validate_ocariot

__all__ = [
    "BuiltRecords",
    "ImpiloReading",
    "beddit_sleep",
    "build_records",
    "impilo_reading",
    "jawbone_list_page",
    "jawbone_sleep",
    "jawbone_snapshot",
    "ocariot_multi_status",
    "ocariot_record",
    "parse_impilo_response",
    "validate_impilo",
    "validate_ocariot",
]


@dataclass(frozen=True)
class BuiltRecords:
    """What :func:`build_records` made.

    Attributes
    ----------
    records : mapping of str to object
        File name (``sleep.json``, ``ocariot.json``, ``jawbone.json``,
        ``jawbone_snapshot.json``, ``impilo.json``) to a JSON-ready object.
    notes : tuple of str
        Why a file is missing (for the command's summary).
    statistics : NightStatistics
    score : SleepScore
    """

    records: Mapping[str, Any]
    notes: tuple[str, ...]
    statistics: NightStatistics
    score: SleepScore

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", MappingProxyType(dict(self.records)))


def build_records(
    session: Session,
    hypnogram: Hypnogram,
    *,
    stats: NightStatistics | None = None,
    patient_id: int | str | None = None,
    device_id: int | str | None = None,
    device_identifier: str | None = None,
    child_id: str | None = None,
    updated: float | None = None,
    hrv: Mapping[str, float] | None = None,
    respiration_rate: float | None = None,
    sleep_time_target: float = 8 * 3600.0,
) -> BuiltRecords:
    """Every record of one night, keyed by the file name the CLI writes.

    Parameters
    ----------
    session : Session
        The analysed session (with its derived tracks).
    hypnogram : Hypnogram
        Its stages.
    stats : NightStatistics, optional
        :func:`night_statistics` of the two, when already computed (``hrv`` and
        ``respiration_rate`` are then ignored).
    patient_id, device_id : int or str of digits, optional
    device_identifier : str, optional
        Impilo identifiers; ``impilo.json`` is made only when one is given.
    child_id : str, optional
        OCARIoT child (24 hex); added to ``ocariot.json`` when given.
    updated : float, optional
        ``updated`` of the Beddit Sleep and ``time_updated`` of the Jawbone item, Unix s
        (default: the session's ``updated``, else its end). No wall clock is read.
    hrv : mapping, optional
        HRV indices from the heartbeats module (see :func:`night_statistics`).
    respiration_rate : float, optional
        Average respiration rate from the tracks module, breaths/min.
    sleep_time_target : float
        Sleep-score target, s.

    Returns
    -------
    BuiltRecords
        ``records`` holds ``sleep.json`` always; ``ocariot.json``, ``jawbone.json``,
        ``jawbone_snapshot.json`` unless the night was never in bed; ``impilo.json`` when
        an identifier is given and heart rate and respiration are known. ``notes`` says
        why anything is missing.

    Raises
    ------
    RecordValidationError
        For an identifier of the wrong type (``deviceId``/``patientId`` must be integers).
    SignalError
        For a ``session`` or ``hypnogram`` of the wrong type, a non-finite ``updated``,
        or bad ``hrv`` / ``respiration_rate`` (see :func:`night_statistics`).
    """
    check_instance(session, Session, "session")
    check_instance(hypnogram, Hypnogram, "hypnogram")
    patient = _long(patient_id, "patientId")
    device = _long(device_id, "deviceId")
    if device_identifier is not None and not isinstance(device_identifier, str):
        raise RecordValidationError(
            [
                {
                    "field": "deviceIdentifier",
                    "message": f"deviceIdentifier must be a string, got {device_identifier!r}",
                }
            ]
        )
    if stats is None:
        stats = night_statistics(hypnogram, session, hrv=hrv, respiration_rate=respiration_rate)
    score = sleep_score(stats, sleep_time_target=sleep_time_target)
    if updated is None:
        updated = session.updated if session.updated is not None else session.end_timestamp
    elif not math.isfinite(real_number(updated, "updated")):
        raise SignalError(f"updated must be a finite Unix time in s, got {updated!r}")
    files: dict[str, Any] = {
        "sleep.json": beddit_sleep(session, hypnogram, stats, updated=updated, score=score)
    }
    notes: list[str] = []
    try:
        files["ocariot.json"] = ocariot_record(hypnogram, stats, child_id=child_id)
        files["jawbone.json"] = jawbone_sleep(hypnogram, stats, updated=updated)
        files["jawbone_snapshot.json"] = jawbone_snapshot(hypnogram, stats)
    except SignalError as exc:
        notes.append(f"ocariot.json, jawbone.json, jawbone_snapshot.json not written: {exc}")
    if patient is None and device is None and device_identifier is None:
        notes.append(
            "impilo.json not written: Impilo needs a device id, device identifier or patient "
            "id (--device-id, --device-identifier or --patient-id)"
        )
    else:
        try:
            files["impilo.json"] = impilo_reading(
                stats,
                hypnogram,
                patient_id=patient,
                device_id=device,
                device_identifier=device_identifier,
            )
        except RecordValidationError as exc:
            reasons = "; ".join(str(e.get("message", e)) for e in exc.errors)
            notes.append(f"impilo.json not written: {reasons}")
    return BuiltRecords(records=files, notes=tuple(notes), statistics=stats, score=score)


def _long(value: int | str | None, name: str) -> int | None:
    """An Impilo ``long`` identifier from an int or a string of digits (the CLI's)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise RecordValidationError(
            [{"field": name, "message": f"{name} must be an integer (long), got {value!r}"}]
        )
    return value
