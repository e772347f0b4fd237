"""Exception and warning hierarchy of sleepsignal.

Every error the package raises on purpose derives from :class:`SleepSignalError`, so a
backend job can catch one class; the subclasses say which layer refused the input.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "NotLoadedError",
    "QueryError",
    "RecordValidationError",
    "SignalError",
    "SleepSignalError",
    "SleepSignalWarning",
]


class SleepSignalError(Exception):
    """Base class of every error raised on purpose by sleepsignal."""


class DecodeError(SleepSignalError, ValueError):
    """Raw input (JSON, blob, packet stream) does not match what its format declares."""


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
        first = errors[0] if errors else {}
        text = (
            "; ".join(str(e.get("description") or e.get("message") or e) for e in errors)
            or "invalid record"
        )
        super().__init__(f"{first.get('message', 'invalid record')}: {text}" if first else text)


class SleepSignalWarning(UserWarning):
    """Category of every warning sleepsignal emits (filter it as one class)."""
