"""Golden files: every record of the fixed night (``tests/test_records_beddit.fixed_night``).

A change in a golden file is a change in what a service receives: review the diff, then
regenerate with ``SLEEPSIGNAL_REGEN_GOLDEN=1 python -m pytest tests/test_records_golden.py``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from test_records_beddit import fixed_night

from sleepsignal.records import build_records

GOLDEN = Path(__file__).parent / "golden"
NAMES = ["sleep.json", "ocariot.json", "jawbone.json", "jawbone_snapshot.json", "impilo.json"]


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON values; floats to 1e-9 relative (platform rounding), types exact."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def records() -> dict[str, Any]:
    session, hyp = fixed_night()
    built = build_records(session, hyp, patient_id=42, child_id="5a62be07de34500146d9c544")
    assert built.notes == ()
    return {k: json.loads(json.dumps(v, allow_nan=False)) for k, v in built.records.items()}


@pytest.mark.parametrize("name", NAMES)
def test_golden(records: dict[str, Any], name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SLEEPSIGNAL_REGEN_GOLDEN"):
        path.write_text(json.dumps(records[name], indent=1) + "\n")
    _same(records[name], json.loads(path.read_text()), name)
