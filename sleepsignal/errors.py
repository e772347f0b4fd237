"""Exception and warning hierarchy of sleepsignal.

Every error the package raises on purpose derives from :class:`SleepSignalError`, so a
backend job can catch one class; the subclasses say which layer refused the input.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = [
    "DecodeError",
    "MissingTrackError",
    "NotLoadedError",
    "QueryError",
    "RecordValidationError",
    "SignalError",
    "SleepSignalError",
    "SleepSignalWarning",
    "warn_user",
]


class SleepSignalError(Exception):
    """Base class of every error raised on purpose by sleepsignal."""


class DecodeError(SleepSignalError, ValueError):
    """Raw input (JSON, blob, packet stream) does not match what its format declares."""


class MissingTrackError(SleepSignalError, KeyError):
    """A session has no track of the name asked for (the message lists those it has)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class NotLoadedError(SleepSignalError, LookupError):
    """A sampled track's bytes were not loaded (remote ``data_url``, never fetched)."""


class QueryError(SleepSignalError, ValueError):
    """A session query used a combination of parameters the Beddit API refuses."""


class SignalError(SleepSignalError, ValueError):
    """An array handed to an analysis function is unusable (wrong shape, ``fs``, dtype)."""


class RecordValidationError(SleepSignalError, ValueError):
    """A record failed validation; ``errors`` holds the API-shaped error objects.

    Parameters
    ----------
    errors : list of dict
        Each item carries the API's own fields (for example OCARIoT's ``code``,
        ``message`` and ``description``).
    """

    def __init__(self, errors: list[dict[str, object]]) -> None:
        self.errors = errors
        parts = []
        for e in errors:
            message = str(e.get("message", "")) or str(e)
            description = str(e.get("description", ""))
            same = not description or description == message
            parts.append(message if same else f"{message}: {description}")
        super().__init__("; ".join(parts) or "invalid record")


class SleepSignalWarning(UserWarning):
    """Category of every warning sleepsignal emits (filter it as one class)."""


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn_user(message: str) -> None:
    """Emit a :class:`SleepSignalWarning` pointing at the first caller outside the package.

    A fixed ``stacklevel`` is right for one entry point only; a decoder warning reached
    through ``read_session`` and through ``read_sessions`` must blame the user's line both
    times.
    """
    level = 2  # 1 is this function, 2 its caller
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, SleepSignalWarning, stacklevel=level)
