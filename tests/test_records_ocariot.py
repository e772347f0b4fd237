"""OCARIoT child sleep: the document's example, every validation error, 207, 409, properties."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import SignalError
from sleepsignal.hypnogram import CLASSIC_NAMES, OCARIOT_STAGE_NAMES, Hypnogram
from sleepsignal.records.ocariot import (
    choose_ocariot_type,
    format_ocariot_time,
    ocariot_multi_status,
    ocariot_record,
    ocariot_summary,
    parse_ocariot_time,
    validate_ocariot,
)
from sleepsignal.statistics import night_statistics

W, L, D, R, A, N = range(6)
T0 = 1_566_092_430.0  # 2019-08-18T01:40:30Z, the document's start_time

# The request body of the document (POST child sleep), verbatim.
DOC_REQUEST = {
    "start_time": "2019-08-18T01:40:30Z",
    "end_time": "2019-08-18T09:52:30Z",
    "duration": 29520000,
    "type": "classic",
    "pattern": {
        "data_set": [
            {"start_time": "2019-08-18T01:40:30.00Z", "name": "restless", "duration": 60000},
            {"start_time": "2019-08-18T01:41:30.00Z", "name": "asleep", "duration": 360000},
            {"start_time": "2019-08-18T01:47:30.00Z", "name": "restless", "duration": 240000},
            {"start_time": "2019-08-18T01:51:30.00Z", "name": "asleep", "duration": 60000},
            {"start_time": "2019-08-18T02:32:30.00Z", "name": "awake", "duration": 180000},
            {"start_time": "2019-08-18T06:47:30.00Z", "name": "restless", "duration": 60000},
            {"start_time": "2019-08-18T06:48:30.00Z", "name": "asleep", "duration": 2580000},
            {"start_time": "2019-08-18T07:31:30.00Z", "name": "restless", "duration": 120000},
            {"start_time": "2019-08-18T09:36:30.00Z", "name": "asleep", "duration": 960000},
        ]
    },
}
# The 201 response's summary, verbatim.
DOC_SUMMARY = {
    "asleep": {"count": 4, "duration": 3960000},
    "awake": {"count": 1, "duration": 180000},
    "restless": {"count": 4, "duration": 480000},
}
CHILD = "5a62be07de34500146d9c544"
INVALID = "One or more request fields are invalid..."
REQUIRED = "Required fields were not provided..."


def descriptions(obj: object, **kw: object) -> list[str]:
    return [e["description"] for e in validate_ocariot(obj, **kw)]  # type: ignore[arg-type]


def doc(**changes: object) -> dict:
    d = copy.deepcopy(DOC_REQUEST)
    d.update(changes)
    return d


# -- the document's example ----------------------------------------------------------


def test_document_example_summary_exactly() -> None:
    summary = ocariot_summary(DOC_REQUEST["pattern"]["data_set"], "classic")
    assert summary == DOC_SUMMARY
    assert list(summary) == list(DOC_SUMMARY)  # same key order as printed
    assert json.dumps(summary) == json.dumps(DOC_SUMMARY)


def test_document_example_is_valid() -> None:
    assert validate_ocariot(DOC_REQUEST) == []
    assert validate_ocariot({**DOC_REQUEST, "child_id": CHILD}) == []


def test_document_example_201_item_from_multi_status() -> None:
    out = ocariot_multi_status([DOC_REQUEST], child_id=CHILD)
    assert out["error"] == []
    (ok,) = out["success"]
    assert ok["code"] == 201
    assert ok["item"]["pattern"]["summary"] == DOC_SUMMARY
    assert ok["item"]["child_id"] == CHILD


def test_document_207_example_conflict() -> None:
    # the 207 example: the first sleep is created, the second (same child, 2019-08-21
    # times) was already registered -> 409 "Sleep is already registered..."
    registered = {
        **doc(start_time="2019-08-21T01:40:30Z", end_time="2019-08-21T09:52:30Z"),
        "child_id": CHILD,
    }
    second = doc(start_time="2019-08-21T01:40:30Z", end_time="2019-08-21T09:52:30Z")
    out = ocariot_multi_status([DOC_REQUEST, second], existing=[registered], child_id=CHILD)
    assert [e["code"] for e in out["success"]] == [201]
    assert len(out["error"]) == 1
    err = out["error"][0]
    assert err["code"] == 409 and err["message"] == "Sleep is already registered..."
    assert err["item"] == second


def test_conflict_within_one_list_and_other_child() -> None:
    out = ocariot_multi_status([DOC_REQUEST, DOC_REQUEST])
    assert [e["code"] for e in out["success"]] == [201]
    assert [e["code"] for e in out["error"]] == [409]
    # same times, another child: no conflict; equal instants written differently: conflict
    other = {**DOC_REQUEST, "child_id": "5a62be07d6f33400146c9b61"}
    assert validate_ocariot(other, existing=[{**DOC_REQUEST, "child_id": CHILD}]) == []
    same = doc(start_time="2019-08-18T01:40:30.000Z", end_time="2019-08-18T11:52:30+02:00")
    assert validate_ocariot(same, existing=[DOC_REQUEST]) == [
        {"code": 409, "message": "Sleep is already registered..."}
    ]


def test_multi_status_400_entry_keeps_description_and_item() -> None:
    bad = doc(duration=-1)
    out = ocariot_multi_status([bad])
    assert out["success"] == []
    assert out["error"] == [
        {"code": 400, "message": INVALID, "description": "duration can't be negative!", "item": bad}
    ]


# -- every validation error of the document, exact texts ------------------------------


def test_missing_fields_all() -> None:
    assert validate_ocariot({}) == [
        {
            "code": 400,
            "message": REQUIRED,
            "description": "start_time, end_time, duration, type, pattern are required!",
        }
    ]


def test_missing_one_field() -> None:
    d = doc()
    del d["type"]
    assert descriptions(d) == ["type is required!"]


def test_missing_data_set() -> None:
    assert validate_ocariot(doc(pattern={})) == [
        {"code": 400, "message": REQUIRED, "description": "pattern.data_set is required!"}
    ]


def test_empty_data_set() -> None:
    assert validate_ocariot(doc(pattern={"data_set": []})) == [
        {"code": 400, "message": INVALID, "description": "pattern.data_set must not be empty!"}
    ]


def test_end_time_older_than_start_time() -> None:
    d = doc(end_time="2019-08-18T01:40:29Z")
    assert validate_ocariot(d) == [
        {
            "code": 400,
            "message": INVALID,
            "description": "The end_time parameter can not contain an older date than that the "
            "start_time parameter!",
        }
    ]


def test_duration_mismatch() -> None:
    assert validate_ocariot(doc(duration=29520001)) == [
        {
            "code": 400,
            "message": INVALID,
            "description": "duration value does not match values passed in start_time and "
            "end_time parameters!",
        }
    ]


@pytest.mark.parametrize("value", [-1, -29520000])
def test_negative_duration(value: int) -> None:
    assert validate_ocariot(doc(duration=value)) == [
        {"code": 400, "message": INVALID, "description": "duration can't be negative!"}
    ]


@pytest.mark.parametrize("value", ["29520000", "abc", True, float("nan"), [1]])
def test_invalid_number_duration(value: object) -> None:
    assert validate_ocariot(doc(duration=value)) == [
        {"code": 400, "message": INVALID, "description": "duration must be a valid number!"}
    ]


def test_data_set_duration_naming() -> None:
    d = doc()
    d["pattern"]["data_set"][0]["duration"] = -5
    d["pattern"]["data_set"][1]["duration"] = "x"
    d["pattern"]["data_set"][2]["duration"] = -7  # the same error is reported once
    assert descriptions(d) == [
        "pattern.data_set.duration can't be negative!",
        "pattern.data_set.duration must be a valid number!",
    ]


def test_invalid_sleep_type() -> None:
    assert validate_ocariot(doc(type="nap")) == [
        {
            "code": 400,
            "message": INVALID,
            "description": "The names of the allowed Sleep Pattern types are: classic, stages.",
        }
    ]


def test_invalid_data_set_names_classic_and_stages() -> None:
    d = doc()
    d["pattern"]["data_set"][0]["name"] = "deep"
    assert validate_ocariot(d) == [
        {
            "code": 400,
            "message": INVALID,
            "description": "The names of the allowed data_set patterns are: asleep, restless, "
            "awake.",
        }
    ]
    s = doc(type="stages")  # classic names in a stages record
    assert validate_ocariot(s) == [
        {
            "code": 400,
            "message": INVALID,
            "description": "The names of the allowed data_set patterns are: deep, light, rem, "
            "awake.",
        }
    ]


@pytest.mark.parametrize(
    "value", ["2019-08-18 01:40:30", "2019-02-30T01:40:30Z", "18/08/2019", 1566092430]
)
def test_invalid_date(value: object) -> None:
    errors = validate_ocariot(doc(start_time=value))
    assert errors == [
        {
            "code": 400,
            "message": f"Datetime: {value}, is not in valid ISO 8601 format.",
            "description": "Date must be in the format: yyyy-MM-dd'T'HH:mm:ssZ",
        }
    ]


def test_invalid_child_id() -> None:
    assert validate_ocariot({**DOC_REQUEST, "child_id": "123"}) == [
        {
            "code": 400,
            "message": "Some ID provided does not have a valid format!",
            "description": "A 24-byte hex ID similar to this: 507f191e810c19729de860ea is "
            "expected.",
        }
    ]


def test_data_set_item_missing_fields_and_not_an_object() -> None:
    d = doc(pattern={"data_set": [{"name": "asleep"}, 5]})
    assert descriptions(d) == [
        "pattern.data_set.start_time, pattern.data_set.duration are required!",
        "pattern.data_set.start_time, pattern.data_set.name, pattern.data_set.duration are "
        "required!",
    ]


def test_several_errors_reported_together() -> None:
    d = doc(type="nap", duration=-3)
    del d["end_time"]
    assert descriptions(d) == [
        "end_time is required!",
        "duration can't be negative!",
        "The names of the allowed Sleep Pattern types are: classic, stages.",
    ]


def test_not_an_object() -> None:
    assert validate_ocariot([1, 2])[0]["code"] == 400


# -- building records ----------------------------------------------------------------


def hyp(stages: list[int], restless: list[bool] | None = None, start: float = T0) -> Hypnogram:
    return Hypnogram(np.array(stages, dtype=np.int64), start=start, restless=restless)


def test_classic_record_merges_runs_and_trims_away() -> None:
    h = hyp([A, W, L, L, D, R, L, W, W, L, A, A], restless=[False] * 6 + [True] + [False] * 5)
    s = night_statistics(h)
    rec = ocariot_record(h, s, child_id=CHILD)
    assert rec["start_time"] == "2019-08-18T01:41:00Z"
    assert rec["end_time"] == "2019-08-18T01:45:30Z"  # 9 in-bed epochs
    assert rec["duration"] == 270000
    assert rec["type"] == "classic"  # no heart rate: stages are not supported
    assert [(d["name"], d["duration"]) for d in rec["pattern"]["data_set"]] == [
        ("awake", 30000),
        ("asleep", 120000),
        ("restless", 30000),
        ("awake", 60000),
        ("asleep", 30000),
    ]
    assert rec["pattern"]["data_set"][0]["start_time"] == "2019-08-18T01:41:00.00Z"
    assert rec["pattern"]["summary"] == {
        "asleep": {"count": 2, "duration": 150000},
        "awake": {"count": 2, "duration": 90000},
        "restless": {"count": 1, "duration": 30000},
    }
    assert rec["child_id"] == CHILD
    assert validate_ocariot(rec) == []


def test_stages_record_and_fractional_start() -> None:
    h = hyp([W, L, D, D, R, W], start=T0 + 0.618702)
    rec = ocariot_record(h, night_statistics(h), type="stages")
    assert rec["start_time"] == "2019-08-18T01:40:30.619Z"
    assert rec["pattern"]["data_set"][1]["start_time"] == "2019-08-18T01:41:00.619Z"
    assert [d["name"] for d in rec["pattern"]["data_set"]] == [
        "awake",
        "light",
        "deep",
        "rem",
        "awake",
    ]
    assert list(rec["pattern"]["summary"]) == ["awake", "deep", "light", "rem"]
    assert validate_ocariot(rec) == []


def test_record_errors() -> None:
    h = hyp([A, A, N])
    with pytest.raises(SignalError, match="no in-bed epoch"):
        ocariot_record(h, night_statistics(h))
    h2 = hyp([L, L])
    with pytest.raises(SignalError, match="type must be one of"):
        ocariot_record(h2, night_statistics(h2), type="nap")  # type: ignore[arg-type]
    with pytest.raises(SignalError, match="another hypnogram"):
        ocariot_record(h2, night_statistics(hyp([L, L], start=T0 + 30)))


def test_type_choice_rule() -> None:
    from dataclasses import replace

    s = night_statistics(hyp([L] * 360))  # exactly 3 h of sleep
    assert choose_ocariot_type(s) == "classic"  # no heart-rate coverage known
    assert choose_ocariot_type(replace(s, heart_rate_coverage=0.7)) == "stages"
    assert choose_ocariot_type(replace(s, heart_rate_coverage=0.69)) == "classic"
    short = night_statistics(hyp([L] * 359))
    assert choose_ocariot_type(replace(short, heart_rate_coverage=1.0)) == "classic"


def test_time_format_round_trip() -> None:
    for ms in (0, 1566092430000, 1566092430619):
        for item in (False, True):
            assert parse_ocariot_time(format_ocariot_time(ms, item=item)) == ms
    assert parse_ocariot_time("2019-08-18T03:40:30+02:00") == 1566092430000
    assert parse_ocariot_time("2019-08-18T03:40:30+25:00") is None


# -- properties ----------------------------------------------------------------------


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=150),
    st.lists(st.booleans(), min_size=150, max_size=150),
    st.sampled_from(["classic", "stages"]),
)
def test_record_properties(stages: list[int], flags: list[bool], kind: str) -> None:
    h = hyp(stages, restless=flags[: len(stages)])
    s = night_statistics(h)
    if s.bed_start is None:
        return
    rec = ocariot_record(h, s, type=kind)  # type: ignore[arg-type]
    data = rec["pattern"]["data_set"]
    assert validate_ocariot(rec) == []
    # durations add up to duration, no-signal gaps inside the bed period aside
    b0 = round((s.bed_start - h.start) / 30)
    b1 = round((s.bed_end - h.start) / 30)
    gaps = sum(1 for x in stages[b0:b1] if x == N) * 30000
    assert sum(d["duration"] for d in data) + gaps == rec["duration"]
    # summary matches the data set; adjacent items never share a name unless a gap splits them
    summary = rec["pattern"]["summary"]
    assert sum(v["count"] for v in summary.values()) == len(data)
    for name, v in summary.items():
        assert v["duration"] == sum(d["duration"] for d in data if d["name"] == name)
    if gaps == 0:
        assert all(a["name"] != b["name"] for a, b in itertools.pairwise(data))
    # round trip: the record gives back the hypnogram's labels, epoch by epoch
    table = CLASSIC_NAMES if kind == "classic" else OCARIOT_STAGE_NAMES
    labels = h.vendor_labels(table)[b0:b1]
    rebuilt: list[str | None] = [None] * (b1 - b0)
    t0 = parse_ocariot_time(rec["start_time"])
    for d in data:
        i = (parse_ocariot_time(d["start_time"]) - t0) // 30000
        rebuilt[i : i + d["duration"] // 30000] = [d["name"]] * (d["duration"] // 30000)
    assert rebuilt == labels
    # round trip: the JSON text parses back to the same object, and starts are consistent
    assert json.loads(json.dumps(rec)) == rec
    starts = [parse_ocariot_time(d["start_time"]) for d in data]
    assert starts == sorted(starts)
    assert starts[0] >= parse_ocariot_time(rec["start_time"])


def test_summary_refuses_items_without_duration() -> None:
    with pytest.raises(SignalError, match="data_set item 1"):
        ocariot_summary([{"name": "asleep", "duration": 1}, {"name": "asleep"}], "classic")
