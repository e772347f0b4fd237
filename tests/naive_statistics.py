"""Slow, obviously correct references for the night statistics (plain loops over epochs)."""

from __future__ import annotations

from typing import Any

WAKE, LIGHT, DEEP, REM, AWAY, NO_SIGNAL = range(6)
SLEEP = (LIGHT, DEEP, REM)


def naive_night(
    stages: list[int], epoch: float = 30.0, min_awakening: float = 120.0
) -> dict[str, Any]:
    """TIB, TST, SOL, WASO, SE, awakenings, bed exits by walking the epochs one by one."""
    n = len(stages)
    first_bed = last_bed = None
    for i in range(n):
        if stages[i] not in (AWAY, NO_SIGNAL):
            if first_bed is None:
                first_bed = i
            last_bed = i
    first_sleep = last_sleep = None
    for i in range(n):
        if stages[i] in SLEEP:
            if first_sleep is None:
                first_sleep = i
            last_sleep = i
    out: dict[str, Any] = {}
    out["time_in_bed"] = 0.0 if first_bed is None else (last_bed - first_bed + 1) * epoch
    out["total_sleep_time"] = sum(epoch for s in stages if s in SLEEP)
    if first_sleep is None:
        out.update(
            sleep_onset_latency=None,
            sleep_efficiency=None,
            wake_after_sleep_onset=0.0,
            awakenings=0,
        )
    else:
        out["sleep_onset_latency"] = (first_sleep - first_bed) * epoch
        out["sleep_efficiency"] = out["total_sleep_time"] / out["time_in_bed"]
        waso = 0.0
        awakenings = 0
        bout = 0
        for i in range(first_sleep, last_sleep + 1):
            if stages[i] in (WAKE, AWAY):
                waso += epoch
                bout += 1
            else:
                if bout * epoch >= min_awakening:
                    awakenings += 1
                bout = 0
        out["wake_after_sleep_onset"] = waso
        out["awakenings"] = awakenings  # a bout cannot end the period: the last epoch is sleep
    exits = 0
    if first_bed is not None:
        for i in range(first_bed, last_bed + 1):
            if stages[i] == AWAY and stages[i - 1] != AWAY:
                exits += 1
    out["bed_exits"] = exits
    return out
