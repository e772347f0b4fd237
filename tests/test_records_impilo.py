"""Impilo sleep-mat reading: request body, the identifier rule, validation, response parse."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import RecordValidationError, SignalError
from sleepsignal.hypnogram import Hypnogram
from sleepsignal.records.impilo import (
    IDENTIFIER_REQUIRED,
    format_impilo_duration,
    impilo_reading,
    parse_impilo_duration,
    parse_impilo_response,
    validate_impilo,
)
from sleepsignal.statistics import night_statistics

W, L, D, R, A, N = range(6)
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
VALID = {
    "bodyTurnOver": 3,
    "deepSleep": 60,
    "duration": "PT7H12M30S",
    "heartRate": 58,
    "lightSleep": 240,
    "readingTimestamp": "2023-11-15T06:13:20Z",
    "rem": 90,
    "respiration": 14,
    "deviceTimeZoneOffset": 7200,
    "manual": False,
    "patientId": 42,
}


def reading(**ids: object) -> dict:
    stages = [W] * 10 + [L] * 300 + [D] * 121 + [R] * 90 + [W] * 5
    restless = np.zeros(len(stages), bool)
    restless[[20, 21, 100, 400]] = True
    h = Hypnogram(np.array(stages), start=T0, timezone="Europe/Helsinki", restless=restless)
    s = night_statistics(h, hrv={}, respiration_rate=14.4)
    from dataclasses import replace

    s = replace(s, average_heart_rate=57.6)
    return impilo_reading(s, h, **ids)  # type: ignore[arg-type]


def test_request_body() -> None:
    body = reading(patient_id=42)
    assert body == {
        "bodyTurnOver": 3,  # restless bouts: 20-21, 100, 400
        "deepSleep": 60,  # 121 epochs = 60.5 min -> rounds to even
        "duration": "PT4H15M30S",  # total sleep 511 epochs
        "heartRate": 58,
        "lightSleep": 150,
        "readingTimestamp": "2023-11-15T02:36:20Z",
        "rem": 45,
        "respiration": 14,
        "deviceTimeZoneOffset": 7200,  # Helsinki in November: UTC+2
        "manual": False,
        "patientId": 42,
    }
    assert validate_impilo(body) == []
    assert isinstance(body["deepSleep"], int) and isinstance(body["heartRate"], int)
    assert json.loads(json.dumps(body)) == body


def test_each_identifier_alone_is_enough() -> None:
    assert reading(device_id=5)["deviceId"] == 5
    assert reading(device_identifier="SN-1")["deviceIdentifier"] == "SN-1"


def test_identifier_rule() -> None:
    with pytest.raises(RecordValidationError) as info:
        reading()
    assert info.value.errors == [
        {"field": "deviceId, deviceIdentifier, patientId", "message": IDENTIFIER_REQUIRED}
    ]
    assert (
        IDENTIFIER_REQUIRED == "Either a device ID, device identifier, or patient ID is required."
    )
    body = {k: v for k, v in VALID.items() if k != "patientId"}
    assert [e["message"] for e in validate_impilo(body)] == [IDENTIFIER_REQUIRED]
    assert validate_impilo({**body, "deviceId": None, "patientId": None}) == [
        {"field": "deviceId, deviceIdentifier, patientId", "message": IDENTIFIER_REQUIRED}
    ]


def test_missing_heart_rate_is_an_error_not_a_zero() -> None:
    stages = [L] * 20
    h = Hypnogram(np.array(stages), start=T0)
    with pytest.raises(RecordValidationError, match="heartRate is required"):
        impilo_reading(night_statistics(h), h, patient_id=1)


@pytest.mark.parametrize(
    "field, value, text",
    [
        ("deepSleep", -1, "deepSleep must be a non-negative integer"),
        ("deepSleep", 1.5, "deepSleep must be a non-negative integer"),
        ("heartRate", True, "heartRate must be a non-negative integer"),
        ("duration", 3600, "duration must be a string like 'PT7H12M30S'"),
        ("duration", "7h", "duration must be a string like 'PT7H12M30S'"),
        ("readingTimestamp", "2023-11-15 06:13", "readingTimestamp must be a UTC date-time"),
        ("readingTimestamp", "2023-13-15T06:13:20Z", "readingTimestamp must be a UTC date-time"),
        ("patientId", "42", "patientId must be an integer (long)"),
        ("deviceIdentifier", 5, "deviceIdentifier must be a string"),
        ("deviceTimeZoneOffset", 99999, "deviceTimeZoneOffset must be an integer"),
        ("manual", "no", "manual must be true, false or null"),
        ("rem", None, "rem is required"),
    ],
)
def test_validation_errors(field: str, value: object, text: str) -> None:
    errors = validate_impilo({**VALID, field: value})
    assert [e["field"] for e in errors] == [field]
    assert str(errors[0]["message"]).startswith(text)


def test_valid_and_nullable_optionals() -> None:
    assert validate_impilo(VALID) == []
    assert validate_impilo({**VALID, "manual": None, "deviceTimeZoneOffset": None}) == []
    assert validate_impilo("x")[0]["message"].startswith("the request body must be a JSON object")
    missing = validate_impilo({"patientId": 1})
    assert [e["field"] for e in missing] == [
        "bodyTurnOver",
        "deepSleep",
        "duration",
        "heartRate",
        "lightSleep",
        "readingTimestamp",
        "rem",
        "respiration",
    ]


@given(st.integers(0, 10 * 86400))
def test_duration_round_trip(seconds: int) -> None:
    assert parse_impilo_duration(format_impilo_duration(seconds)) == seconds


def test_duration_format() -> None:
    assert format_impilo_duration(0) == "PT0S"
    assert format_impilo_duration(3600) == "PT1H"
    assert format_impilo_duration(61.4) == "PT1M1S"
    with pytest.raises(SignalError):
        format_impilo_duration(-1)
    with pytest.raises(SignalError):
        parse_impilo_duration("PT")


RESPONSE = {
    "readingTimestamp": "2023-11-15T06:13:20.000Z",
    "bodyTurnOver": 3,
    "deepSleep": None,
    "device": {"id": 9, "serialNumber": "SN-1"},
    "deviceTimeZoneOffset": 7200,
    "duration": "PT7H12M30S",
    "heartRate": 58,
    "id": 123456789012,
    "item": None,
    "lightSleep": 240,
    "manual": False,
    "patient": {"id": 42},
    "patientTimeZoneOffset": None,
    "rem": 90,
    "respiration": 14,
    "somethingNew": [1, 2],
}


def test_parse_response_typed_and_round_trip() -> None:
    r = parse_impilo_response(RESPONSE)
    assert r.reading_timestamp.isoformat() == "2023-11-15T06:13:20+00:00"
    assert r.id == 123456789012 and r.deep_sleep is None and r.heart_rate == 58
    assert r.duration_seconds == 7 * 3600 + 12 * 60 + 30
    assert r.device == {"id": 9, "serialNumber": "SN-1"}
    assert r.extra == {"somethingNew": [1, 2]}
    assert r.to_json() == RESPONSE
    minimal = {"readingTimestamp": "2023-11-15T06:13:20Z"}
    assert parse_impilo_response(minimal).to_json() == minimal


def test_parse_our_request_as_response() -> None:
    body = reading(patient_id=42)
    assert parse_impilo_response(body).to_json() == body


@pytest.mark.parametrize(
    "change, field",
    [
        ({"readingTimestamp": None}, "readingTimestamp"),
        ({"heartRate": "58"}, "heartRate"),
        ({"manual": 1}, "manual"),
        ({"patient": [42]}, "patient"),
    ],
)
def test_parse_response_errors(change: dict, field: str) -> None:
    with pytest.raises(RecordValidationError) as info:
        parse_impilo_response({**RESPONSE, **change})
    assert [e["field"] for e in info.value.errors] == [field]
    with pytest.raises(RecordValidationError, match="JSON object"):
        parse_impilo_response([])
