"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_with"]


def atomic_write_with(target: Path, write: Callable[[Path], object]) -> None:
    """Let ``write(tmp_path)`` fill a temporary file beside ``target``, then rename it.

    The rename is atomic on one file system, so ``target`` is either the old file or the
    whole new one; the temporary file is removed when ``write`` fails (a full disk).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    atomic_write_with(target, lambda tmp: tmp.write_bytes(data))
