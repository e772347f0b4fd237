"""Tests of the Hypnogram extensions: pandas views, JSON round trip, sleep cycles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import DecodeError, SignalError
from sleepsignal.hypnogram import (
    BEDDIT_SLEEP_STAGE_CODES,
    CLASSIC_NAMES,
    JAWBONE_PHASES,
    OCARIOT_STAGE_NAMES,
    SLEEP_CYCLES_STEP,
    STAGES,
    Hypnogram,
)


def _hyp(**kw: object) -> Hypnogram:
    stages = np.array([0, 1, 1, 2, 3, 4, 5, 1, 0])
    probs = np.full((9, 4), 0.25)
    probs[5:7] = np.nan
    probs[3] = [0.1, 0.2, 0.6, 0.1]
    defaults: dict[str, object] = {
        "restless": np.array([0, 1, 0, 0, 0, 0, 0, 1, 0], bool),
        "probabilities": probs,
        "info": {"model": "heartbeat", "inputs": ["heartbeat"], "message": ""},
    }
    defaults.update(kw)
    return Hypnogram(stages, 1700000000.25, "Europe/Helsinki", **defaults)  # type: ignore[arg-type]


# -- pandas views ---------------------------------------------------------------------
def test_to_series_tz_aware_index_on_epoch_starts() -> None:
    h = _hyp()
    s = h.to_series()
    assert isinstance(s.index, pd.DatetimeIndex)
    assert str(s.index.tz) == "Europe/Helsinki"
    assert s.index[0] == pd.Timestamp(1700000000.25, unit="s", tz="UTC")
    assert (np.diff(s.index.asi8) == 30_000_000_000).all()
    assert list(s.astype(str)) == [STAGES[c] for c in h.stages]
    assert list(s.cat.categories) == list(STAGES)


def test_to_frame_columns_and_probabilities() -> None:
    h = _hyp()
    df = h.to_frame()
    assert list(df.columns) == ["stage", "code", "restless", "p_wake", "p_light", "p_deep", "p_rem"]
    np.testing.assert_array_equal(df["code"].to_numpy(), h.stages)
    np.testing.assert_array_equal(df["restless"].to_numpy(), h.restless)
    assert df["p_deep"].iloc[3] == 0.6
    assert "p_wake" not in Hypnogram(np.array([0, 1]), 0.0).to_frame().columns


def test_empty_hypnogram_views() -> None:
    h = Hypnogram(np.zeros(0, int), 0.0, "UTC")
    assert len(h.to_series()) == 0 and len(h.to_frame()) == 0
    c = h.sleep_cycles()
    assert c.times.shape == (0,) and c.depth.dtype == np.float32


# -- JSON ---------------------------------------------------------------------------------
def _same(a: Hypnogram, b: Hypnogram) -> None:
    np.testing.assert_array_equal(a.stages, b.stages)
    np.testing.assert_array_equal(a.restless, b.restless)
    assert a.start == b.start and a.timezone == b.timezone
    assert a.epoch_length == b.epoch_length
    assert dict(a.info) == dict(b.info)
    if a.probabilities is None:
        assert b.probabilities is None
    else:
        assert b.probabilities is not None
        np.testing.assert_array_equal(a.probabilities, b.probabilities)  # NaN == NaN here


def test_json_round_trip_is_lossless() -> None:
    h = _hyp()
    text = h.to_json()
    back = Hypnogram.from_json(text)
    _same(h, back)
    assert back.to_json() == text
    assert json.loads(text)["probabilities"][5] == [None, None, None, None]


@given(
    st.lists(st.integers(0, 5), min_size=0, max_size=40),
    st.floats(0, 4e9, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
)
def test_json_round_trip_property(codes: list[int], start: float, p: float) -> None:
    n = len(codes)
    probs = np.tile([p, 1 - p, 0.0, 0.0], (n, 1))
    h = Hypnogram(
        np.array(codes, dtype=np.int64),
        start,
        "UTC",
        restless=np.arange(n) % 3 == 0,
        probabilities=probs,
    )
    _same(h, Hypnogram.from_json(h.to_json()))


def test_from_json_errors() -> None:
    good = json.loads(_hyp().to_json())
    with pytest.raises(DecodeError, match="could not be parsed"):
        Hypnogram.from_json("{not json")
    with pytest.raises(DecodeError, match="must be an object"):
        Hypnogram.from_json("[1, 2]")
    with pytest.raises(DecodeError, match="lacks stages"):
        Hypnogram.from_json(json.dumps({k: v for k, v in good.items() if k != "stages"}))
    with pytest.raises(DecodeError, match="version"):
        Hypnogram.from_json(json.dumps({**good, "version": 99}))
    with pytest.raises(DecodeError, match="unknown fields"):
        Hypnogram.from_json(json.dumps({**good, "colour": "blue"}))
    with pytest.raises(DecodeError, match="stage_names"):
        Hypnogram.from_json(json.dumps({**good, "stage_names": ["w", "s"]}))
    with pytest.raises(SignalError, match="probabilities"):
        Hypnogram.from_json(json.dumps({**good, "probabilities": [[0.1, 0.2, 0.3, 0.4]]}))


def test_to_json_refuses_non_json_info() -> None:
    with pytest.raises(SignalError, match="JSON-compatible"):
        _hyp(info={"x": object()}).to_json()


# -- vendor tables still map every stage --------------------------------------------------------
@pytest.mark.parametrize(
    "table", [BEDDIT_SLEEP_STAGE_CODES, CLASSIC_NAMES, OCARIOT_STAGE_NAMES, JAWBONE_PHASES]
)
def test_vendor_tables_cover_every_stage(table: object) -> None:
    h = _hyp()
    labels = h.vendor_labels(table)  # type: ignore[arg-type]
    assert len(labels) == len(h)


# -- sleep cycles -----------------------------------------------------------------------------
def _cycling(n_cycles: int = 4) -> Hypnogram:
    cycle = np.repeat([1, 2, 1, 3], 45)  # 90 min: light, deep, light, rem
    stages = np.r_[np.zeros(20, int), np.tile(cycle, n_cycles), np.zeros(10, int)]
    return Hypnogram(stages, 1.7e9, "UTC")


def test_sleep_cycles_spans_onset_to_final_awakening_every_2_min() -> None:
    h = _cycling()
    c = h.sleep_cycles()
    onset = h.start + 20 * 30
    final = h.start + (20 + 4 * 180) * 30
    assert c.times[0] == onset
    assert c.times[-1] <= final and final - c.times[-1] < SLEEP_CYCLES_STEP
    np.testing.assert_array_equal(np.diff(c.times), SLEEP_CYCLES_STEP)
    assert c.depth.dtype == np.float32
    assert (c.depth >= 0).all() and (c.depth <= 1).all()


def test_sleep_cycles_peaks_in_deep_and_dips_in_rem() -> None:
    c = _cycling().sleep_cycles()
    rel_min = (c.times - c.times[0]) / 60
    for k in range(4):
        deep_mid = 90 * k + 22.5 + 11.25
        rem_mid = 90 * k + 67.5 + 11.25
        d = c.depth[np.argmin(np.abs(rel_min - deep_mid))]
        r = c.depth[np.argmin(np.abs(rel_min - rem_mid))]
        assert d > 0.8 and r < 0.4


def test_sleep_cycles_no_sleep_is_empty_and_away_is_ignored() -> None:
    assert len(Hypnogram(np.array([0, 0, 4, 5]), 0.0).sleep_cycles().times) == 0
    h = Hypnogram(np.r_[np.full(30, 2), np.full(30, 4), np.full(30, 2)], 0.0)
    c = h.sleep_cycles()
    # away epochs carry no depth: within 5 min of deep epochs the depth stays 1; in the
    # middle of a 15 min absence no scored epoch is in the window and the depth is 0
    rel = c.times - h.start
    assert np.allclose(c.depth[(rel < 900) | (rel > 1800)], 1.0)
    assert np.allclose(c.depth[(rel > 1200) & (rel < 1500)], 0.0)
    assert np.isnan(h.sleep_depth()[30:60]).all()


def test_sleep_depth_uses_probabilities_when_present() -> None:
    h = _hyp()
    d = h.sleep_depth()
    assert d[3] == pytest.approx(0.2 * 0.5 + 0.6 * 1.0 + 0.1 * 0.25)
    assert np.isnan(d[5]) and np.isnan(d[6])


@pytest.mark.parametrize("module", ["sleepsignal.hypnogram", "sleepsignal.staging"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
