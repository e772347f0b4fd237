"""Jawbone UP sleeps: the item, snapshot phases, list pages."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import QueryError, SignalError
from sleepsignal.hypnogram import Hypnogram
from sleepsignal.records.jawbone import (
    jawbone_list_page,
    jawbone_sleep,
    jawbone_snapshot,
    jawbone_sub_type,
    jawbone_title,
    jawbone_xid,
)
from sleepsignal.statistics import jawbone_quality, night_statistics

W, L, D, R, A, N = range(6)
T0 = 1_385_020_800.0  # 2013-11-21T08:00:00Z = 00:00 in Los Angeles
TZ = "America/Los_Angeles"


def hyp(stages: list[int], start: float = T0, tz: str = TZ) -> Hypnogram:
    return Hypnogram(np.array(stages, dtype=np.int64), start=start, timezone=tz)


def test_document_example_title_and_duration() -> None:
    # the document's item: light 8340 + deep 16044 asleep -> "for 6h 46m";
    # duration 27900 = light + deep + rem + awake
    assert jawbone_title(8340 + 16044 + 0) == "for 6h 46m"
    assert 8340 + 16044 + 0 + 3516 == 27900
    assert jawbone_title(0) == "for 0h 0m"
    assert jawbone_title(6 * 3600) == "for 6h 0m"


def test_sub_type_rule() -> None:
    assert jawbone_sub_type(44 * 60) == 1
    assert jawbone_sub_type(45 * 60) == 2
    assert jawbone_sub_type(3 * 3600 - 1) == 2
    assert jawbone_sub_type(3 * 3600) == 0


def test_item_fields() -> None:
    stages = [A] * 2 + [W] * 10 + [L] * 400 + [D] * 200 + [W] * 8 + [R] * 100 + [N] * 2 + [W] * 4
    h = hyp(stages + [A] * 3)
    s = night_statistics(h)
    item = jawbone_sleep(h, s)
    d = item["details"]
    assert item["time_created"] == T0 + 60
    assert item["time_completed"] == T0 + 60 + 724 * 30
    assert d["light"] == 12000 and d["deep"] == 6000 and d["rem"] == 3000
    assert d["awake"] == (10 + 8 + 2 + 4) * 30  # wake + no-signal inside the event
    assert d["duration"] == d["light"] + d["deep"] + d["rem"] + d["awake"]
    assert d["duration"] == item["time_completed"] - item["time_created"]
    assert d["asleep_time"] == T0 + 12 * 30 and d["awake_time"] == T0 + 720 * 30
    assert d["awakenings"] == 1  # the 8-epoch wake bout
    assert d["quality"] == jawbone_quality(s)
    assert d["tz"] == TZ and d["smart_alarm_fire"] == 0
    assert item["title"] == "for 5h 50m"
    assert item["sub_type"] == 0
    assert item["date"] == 20131121  # local day of time_completed
    assert item["place_lat"] is None and item["place_name"] is None
    assert item["xid"] == jawbone_xid(int(T0 + 60), TZ) and len(item["xid"]) == 22
    assert jawbone_sleep(h, s) == item  # deterministic
    assert json.loads(json.dumps(item)) == item


def test_date_is_in_the_sleeps_own_time_zone() -> None:
    # ends 2013-11-21T06:00Z: the 20th in Los Angeles, the 21st in Helsinki
    stages = [L] * 120
    for tz, day in (("America/Los_Angeles", 20131120), ("Europe/Helsinki", 20131121)):
        h = hyp(stages, start=T0 - 7200 - 3600, tz=tz)
        assert jawbone_sleep(h, night_statistics(h))["date"] == day


def test_no_sleep_falls_back_to_event_bounds_and_errors() -> None:
    h = hyp([W] * 10)
    item = jawbone_sleep(h, night_statistics(h))
    assert item["details"]["asleep_time"] == item["time_created"]
    assert item["details"]["awake_time"] == item["time_completed"]
    assert item["title"] == "for 0h 0m" and item["sub_type"] == 1
    assert item["details"]["quality"] == 0
    never = hyp([A, A])
    with pytest.raises(SignalError, match="no in-bed epoch"):
        jawbone_sleep(never, night_statistics(never))
    assert jawbone_snapshot(never) == []
    with pytest.raises(SignalError, match="unknown time zone"):
        bad = hyp([L], tz="Mars/Olympus")
        jawbone_sleep(bad, night_statistics(bad))


def test_snapshot_rows() -> None:
    h = hyp([A, W, L, R, L, D, D, N, W, L, A])
    assert jawbone_snapshot(h) == [
        [int(T0) + 30, 1],
        [int(T0) + 60, 2],
        [int(T0) + 150, 3],
        [int(T0) + 210, 1],
        [int(T0) + 270, 2],
    ]


@given(st.lists(st.integers(0, 5), min_size=1, max_size=200))
def test_properties(stages: list[int]) -> None:
    h = hyp(stages)
    s = night_statistics(h)
    snap = jawbone_snapshot(h, s)
    if s.bed_start is None:
        assert snap == []
        return
    item = jawbone_sleep(h, s)
    d = item["details"]
    assert d["duration"] == d["light"] + d["deep"] + d["rem"] + d["awake"]
    assert d["duration"] == item["time_completed"] - item["time_created"]
    # snapshot rows alternate and add up to the details
    assert all(a[1] != b[1] for a, b in itertools.pairwise(snap))
    assert snap[0][0] == item["time_created"]
    ends = [r[0] for r in snap[1:]] + [item["time_completed"]]
    per_phase = {1: 0, 2: 0, 3: 0}
    for (t, p), e in zip(snap, ends, strict=False):
        per_phase[p] += e - t
    assert per_phase == {1: d["awake"], 2: d["light"] + d["rem"], 3: d["deep"]}
    # round trip: the snapshot gives back the phase of every in-bed epoch
    b0 = round((s.bed_start - h.start) / 30)
    expected = [1 if x in (W, A, N) else 3 if x == D else 2 for x in stages[b0 : b0 + len(stages)]]
    rebuilt = []
    for (t, p), e in zip(snap, ends, strict=True):
        rebuilt += [p] * ((e - t) // 30)
    assert rebuilt == expected[: len(rebuilt)] and len(rebuilt) == d["duration"] // 30
    assert 0 <= d["quality"] <= 100


# -- list pages ----------------------------------------------------------------------


def nights(k: int) -> list[dict]:
    out = []
    for i in range(k):
        h = hyp([W] * 4 + [L] * 800 + [W] * 4, start=T0 + i * 86400)
        out.append(jawbone_sleep(h, night_statistics(h), updated=T0 + i * 86400 + 30000 + i))
    return out


def test_paging_walks_every_sleep_once() -> None:
    sleeps = nights(25)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = jawbone_list_page(sleeps, page_token=token, limit=10)
        assert page["meta"] == {"user_xid": "@me", "message": "OK", "code": 200}
        items = page["data"]["items"]
        assert page["data"]["size"] == len(items)
        seen += [s["xid"] for s in items]
        pages += 1
        nxt = page["data"].get("links", {}).get("next")
        if nxt is None:
            break
        assert nxt.startswith("/nudge/api/v.1.0/users/@me/sleeps?page_token=")
        token = int(nxt.rsplit("=", 1)[1])
    assert pages == 3
    assert seen == [s["xid"] for s in sorted(sleeps, key=lambda s: -s["time_created"])]


def test_filters() -> None:
    sleeps = nights(5)
    day = sleeps[2]["date"]
    assert [s["xid"] for s in jawbone_list_page(sleeps, date=day)["data"]["items"]] == [
        sleeps[2]["xid"]
    ]
    lo, hi = sleeps[1]["time_completed"], sleeps[3]["time_created"]
    got = jawbone_list_page(sleeps, start_time=lo, end_time=hi)["data"]["items"]
    assert [s["xid"] for s in got] == [sleeps[3]["xid"], sleeps[2]["xid"], sleeps[1]["xid"]]
    got = jawbone_list_page(sleeps, updated_after=sleeps[2]["time_updated"])["data"]["items"]
    assert {s["xid"] for s in got} == {sleeps[3]["xid"], sleeps[4]["xid"]}
    # next link keeps the filters
    page = jawbone_list_page(sleeps, start_time=int(T0), limit=2)
    assert page["data"]["links"]["next"].startswith(
        f"/nudge/api/v.1.0/users/@me/sleeps?start_time={int(T0)}&page_token="
    )


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"end_time": 5}, "together with start_time"),
        ({"start_time": 9, "end_time": 5}, "after end_time"),
        ({"date": "20131121"}, "date must be an integer"),
        ({"limit": 0}, "limit must be a positive"),
    ],
)
def test_bad_parameters(kw: dict, match: str) -> None:
    with pytest.raises(QueryError, match=match):
        jawbone_list_page([], **kw)


def test_list_page_refuses_foreign_items() -> None:
    with pytest.raises(SignalError, match="lacks xid"):
        jawbone_list_page([{"date": 1, "time_created": 1, "time_completed": 2}])
