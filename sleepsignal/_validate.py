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
from typing import Any, TypeVar

import numpy as np

from .errors import SignalError

__all__ = [
    "MAX_BINS",
    "MAX_FS",
    "check_bins",
    "check_fs",
    "check_instance",
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


def real_number(value: object, name: str) -> float:
    """``value`` as a Python float when it is a real number (not bool, not a string).

    Range checks stay with the caller, whose message says which range is allowed.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise SignalError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        raise SignalError(f"{name} is too large for a float, got {value!r}") from None


def real_array(value: object, name: str) -> np.ndarray:
    """``value`` as a 1-D float64 array when it holds real numbers (bool, integers,
    floats), else :class:`SignalError` naming ``name``. Values are not checked."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged nested sequences
        raise SignalError(f"{name} must be a 1-D array of real numbers: {e}") from None
    if a.ndim != 1:
        raise SignalError(f"{name} must be a 1-D array of real numbers, got shape {a.shape}")
    if a.dtype.kind not in "buif":
        raise SignalError(f"{name} must hold real numbers (integer or float), got dtype {a.dtype}")
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
    if isinstance(fs, (bool, np.bool_)) or not isinstance(
        fs, (int, float, np.integer, np.floating)
    ):
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
