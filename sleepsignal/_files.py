"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_all", "atomic_write_with"]


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


def atomic_write_all(files: list[tuple[Path, Callable[[Path], object]]]) -> None:
    """Fill a temporary file for every ``(target, write)``, then rename them in order.

    Nothing is renamed until every file was written in full, so a failure (a full disk)
    leaves every target as it was and removes the temporary files; put the file that
    names the others (a session's JSON) last.
    """
    tmps: list[Path] = []
    try:
        for target, write in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
            tmps.append(tmp)
            write(tmp)
        for (target, _), tmp in zip(files, tmps, strict=True):
            os.replace(tmp, target)
    finally:
        for tmp in tmps:
            if tmp.exists():
                tmp.unlink()
