"""Shared fixtures: the real-data folder, the committed fixture, hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SLEEPSIGNAL_SHARED_DATA", ROOT.parent / "shared" / "data"))
FIXTURES = ROOT / "data" / "fixtures"

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test with a message when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real recordings not found at {SHARED_DATA} (they live beside the repository "
            "in ../shared/data; set SLEEPSIGNAL_SHARED_DATA to point elsewhere)"
        )
    return SHARED_DATA


def require_shared(*parts: str) -> Path:
    """Path inside ``../shared/data``, or skip with a message naming what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real recording {path} is absent (../shared/data not beside the repo)")
    return path
