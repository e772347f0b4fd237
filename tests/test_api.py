"""The public namespace: every export resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import sleepsignal


def test_every_export_resolves() -> None:
    for name in sleepsignal.__all__:
        assert getattr(sleepsignal, name) is not None, name
    assert set(dir(sleepsignal)) == set(sleepsignal.__all__)


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, sleepsignal; "
        "print(','.join(m for m in ('numba', 'pandas', 'scipy', 'matplotlib', 'distributed') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
