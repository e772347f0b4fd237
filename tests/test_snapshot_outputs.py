"""The output-snapshot check of ``benchmarks/snapshot_outputs.py`` sees every change."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def snapshot():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("snapshot_outputs")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_moved_names_each_kind_of_change(snapshot):
    a = np.array([1.0, 2.0, np.nan])
    assert snapshot._moved(a, a.copy()) is None
    b = a.copy()
    b[1] += 1e-12
    assert snapshot._moved(a, b) == "1 of 3 differ, largest 1e-12"
    assert snapshot._moved(a, a[:2]) == "shape (3,) -> (2,)"
    assert snapshot._moved(a, a.astype(np.float32)) == "dtype float64 -> float32"
    # -0.0 == 0.0 but is not the same bits: a bit-identity check must see it
    assert snapshot._moved(np.array([0.0]), np.array([-0.0])) is not None
    assert snapshot._moved("abc", "abc") is None
    assert snapshot._moved("abcd", "abXd").startswith("text differs from character 2")


def test_compare_passes_on_itself_and_fails_on_a_change(snapshot, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(snapshot, "CASES", {"demo": None})
    path = tmp_path / "snap.pkl"
    assert snapshot.main(["save", str(path)]) == 0
    assert snapshot.main(["compare", str(path)]) == 0
    assert "all outputs identical" in capsys.readouterr().out

    import pickle

    snap = pickle.loads(path.read_bytes())
    values = snap["demo"]["track.heart_rate.values"]
    values[0] += 1.0
    path.write_bytes(pickle.dumps(snap))
    assert snapshot.main(["compare", str(path)]) == 1
    out = capsys.readouterr().out
    assert "track.heart_rate.values" in out and "1 outputs moved" in out
