"""Argument checks shared by the public functions (numbers, arrays, result objects).

Each helper either returns the argument in the form the computation needs or raises
:class:`~sleepsignal.errors.SignalError` with a message that names the argument, says
what was received and what is allowed. They exist so that a wrong type (a string, None,
a list where a number belongs, complex samples) is refused at the public function and
never reaches numpy or a numba kernel, where it would surface as a ``TypeError`` from
inside a ufunc or be silently cast (complex to real drops the imaginary part).
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard, TypeVar

import numpy as np

from .errors import SignalError

__all__ = [
    "MAX_BINS",
    "MAX_FS",
    "array_1d",
    "check_bins",
    "check_fs",
    "check_instance",
    "is_integer",
    "is_real",
    "real_array",
    "real_number",
]

#: Most time bins (windows, epochs, minutes) one call may allocate: 10**8 bins of 1 s
#: are over three years, so more means a unit mistake (ms for s) or an absurd value.
MAX_BINS = 10**8

#: Highest sampling rate (Hz) any public function accepts: window lengths in samples
#: must stay integers a kernel can hold, and no bed sensor samples at a MHz.
MAX_FS = 1e6

T = TypeVar("T")


def is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    """A Python or numpy integer or float, not a bool (``True`` is no rate or time)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def is_integer(value: object) -> TypeGuard[int | np.integer[Any]]:
    """A Python or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def array_1d(value: object, name: str, *, kinds: str = "uif", what: str = "samples") -> np.ndarray:
    """``np.asarray(value)`` when it is 1-D with a dtype kind in ``kinds`` (dtype kept),
    else :class:`SignalError` naming ``name`` (a ragged nested list included)."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged nested sequences
        raise SignalError(f"{name} must be a 1-D array of {what}: {e}") from None
    if a.ndim != 1:
        raise SignalError(f"{name} must be a 1-D array of {what}, got shape {a.shape}")
    if a.dtype.kind not in kinds:
        raise SignalError(f"{name} must hold real numbers (integer or float), got dtype {a.dtype}")
    return a


def real_number(value: object, name: str) -> float:
    """``value`` as a Python float when it is a real number (not bool, not a string).

    Range checks stay with the caller, whose message says which range is allowed.
    """
    if not is_real(value):
        raise SignalError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        raise SignalError(f"{name} is too large for a float, got {value!r}") from None


def real_array(value: object, name: str) -> np.ndarray:
    """``value`` as a 1-D float64 array when it holds real numbers (bool, integers,
    floats), else :class:`SignalError` naming ``name``. Values are not checked."""
    a = array_1d(value, name, kinds="buif", what="real numbers")
    return np.asarray(a, dtype=np.float64)


def check_instance(value: Any, cls: type[T], name: str) -> T:
    """``value`` when it is a ``cls``, else :class:`SignalError` naming ``name``."""
    if not isinstance(value, cls):
        raise SignalError(
            f"{name} must be a {cls.__name__} (as returned by sleepsignal), "
            f"got {type(value).__name__}"
        )
    return value


def check_bins(span: float, step: float, name: str, limit: int = MAX_BINS) -> None:
    """Refuse a ``span / step`` count of bins above ``limit`` (names ``name``)."""
    n = span / step
    if not math.isfinite(n) or n > limit:
        raise SignalError(
            f"{name} asks for {n:.3g} bins of {step:g} s; at most {limit:.0e} are "
            "allowed (check that times and durations are in s)"
        )


def check_fs(fs: object, name: str = "fs", *, minimum: float, too_low: str = "") -> float:
    """``fs`` as a float in ``[minimum, MAX_FS]`` Hz, else :class:`SignalError` naming
    ``name``. ``too_low``, when given, replaces the message for a finite rate below
    ``minimum`` (a caller's own reason, e.g. heartbeats cannot be timed)."""
    if not is_real(fs):
        raise SignalError(f"{name} must be a sampling rate in Hz (a number), got {fs!r}")
    try:
        f = float(fs)
    except OverflowError:  # an int beyond the float range
        f = math.inf
    if too_low and 0 < f < minimum:
        raise SignalError(too_low.format(name=name, fs=f, minimum=minimum))
    if not (math.isfinite(f) and f > 0 and minimum <= f <= MAX_FS):
        raise SignalError(
            f"{name} must be a finite sampling rate of at least {minimum:g} Hz and at most "
            f"{MAX_FS:g} Hz, got {fs!r}"
        )
    return f
