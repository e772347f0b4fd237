"""Regenerate the committed demo night ``data/fixtures/demo_session/``.

A 30-minute simulated night segment (seed 7) in the Beddit session layout
(``session.json``, ``normal.bin``, ``noise.bin``) plus its ground truth
(``truth.json``). The arguments are chosen so that every track has something to find:
a short bed exit, body movements, 50 Hz hum and snoring.

Run from the repository root::

    python scripts/make_fixture.py            # writes data/fixtures/demo_session
    python scripts/make_fixture.py OUT_DIR    # writes elsewhere (the tests do this)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a clone without installing
    sys.path.insert(0, str(ROOT))

from sleepsignal.simulate import demo_night, write_simulated  # noqa: E402

#: Where the fixture lives in the repository.
FIXTURE_DIR = ROOT / "data" / "fixtures" / "demo_session"


def make(out_dir: str | Path = FIXTURE_DIR) -> Path:
    """Simulate the demo night and write it to ``out_dir``; returns the folder."""
    return write_simulated(demo_night(), out_dir)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = make(argv[0] if argv else FIXTURE_DIR)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
