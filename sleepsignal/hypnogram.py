"""The :class:`Hypnogram` value object and the vendors' stage vocabularies.

Stages live on a grid of 30 s epochs aligned to the session start. Each epoch holds one
of :data:`STAGES`; a boolean ``restless`` flag marks sleep epochs with movement (the
classic ``restless`` / Beddit 82 state). Vendor vocabularies are data tables below, not
code paths, so a record builder maps stages with one lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import SignalError

__all__ = [
    "AWAY",
    "BEDDIT_SLEEP_STAGE_CODES",
    "CLASSIC_NAMES",
    "DEEP",
    "EPOCH_LENGTH",
    "JAWBONE_PHASES",
    "LIGHT",
    "NO_SIGNAL",
    "OCARIOT_STAGE_NAMES",
    "REM",
    "STAGES",
    "WAKE",
    "Hypnogram",
]

#: Epoch length in s.
EPOCH_LENGTH = 30.0

#: Stage names; an epoch's code is its index here.
STAGES: tuple[str, ...] = ("wake", "light", "deep", "rem", "away", "no_signal")
WAKE, LIGHT, DEEP, REM, AWAY, NO_SIGNAL = range(6)
#: Codes of the stages that count as sleep.
SLEEP_CODES = (LIGHT, DEEP, REM)

#: Beddit Sleep ``sleep_stages`` codes. Restless sleep (82) is sleep with ``restless``
#: set; 71 (gap in measurement) is used for epochs outside any session of a night.
BEDDIT_SLEEP_STAGE_CODES: Mapping[str, int] = MappingProxyType(
    {
        "wake": 87,
        "light": 83,
        "deep": 83,
        "rem": 83,
        "restless": 82,
        "away": 65,
        "no_signal": 78,
        "gap": 71,
    }
)
#: OCARIoT / classic names: sleep is ``asleep`` or ``restless``; wake and away ``awake``.
#: ``no_signal`` has no classic name (it is left out of the record's data set).
CLASSIC_NAMES: Mapping[str, str | None] = MappingProxyType(
    {
        "wake": "awake",
        "light": "asleep",
        "deep": "asleep",
        "rem": "asleep",
        "restless": "restless",
        "away": "awake",
        "no_signal": None,
    }
)
#: OCARIoT ``stages`` names.
OCARIOT_STAGE_NAMES: Mapping[str, str | None] = MappingProxyType(
    {
        "wake": "awake",
        "light": "light",
        "deep": "deep",
        "rem": "rem",
        "away": "awake",
        "no_signal": None,
    }
)
#: Jawbone snapshot phases: 1 awake, 2 light, 3 deep. REM has no phase of its own in
#: the snapshot (Jawbone reports it only as ``details.rem`` seconds); it is drawn as light.
JAWBONE_PHASES: Mapping[str, int | None] = MappingProxyType(
    {"wake": 1, "light": 2, "deep": 3, "rem": 2, "away": 1, "no_signal": None}
)


@dataclass(frozen=True, eq=False)
class Hypnogram:
    """Sleep stages on a 30 s epoch grid.

    Parameters
    ----------
    stages : array_like of int
        Stage code per epoch, an index into :data:`STAGES`.
    start : float
        Start of epoch 0, Unix seconds (the session start).
    timezone : str
        IANA time zone of the night.
    restless : array_like of bool, optional
        Sleep epochs with movement (classic ``restless``). Defaults to all False.
    probabilities : array_like, optional
        ``(n_epochs, 4)`` model probabilities of wake, light, deep, rem.
    epoch_length : float
        Epoch length in s (30).
    """

    stages: np.ndarray
    start: float
    timezone: str = "UTC"
    restless: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    epoch_length: float = EPOCH_LENGTH
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.asarray(self.stages)
        if s.ndim != 1:
            raise SignalError(f"stages must be 1-D, got shape {s.shape}")
        if len(s) and (s.dtype.kind not in "iu" or s.min() < 0 or s.max() >= len(STAGES)):
            raise SignalError(
                f"stages must be integer codes 0..{len(STAGES) - 1} ({', '.join(STAGES)})"
            )
        s = np.array(s, dtype=np.int8)
        s.flags.writeable = False
        object.__setattr__(self, "stages", s)
        r = np.zeros(len(s), bool) if self.restless is None else np.array(self.restless, bool)
        if r.shape != s.shape:
            raise SignalError(f"restless must have one flag per epoch, got {r.shape} for {s.shape}")
        r &= np.isin(s, SLEEP_CODES)
        r.flags.writeable = False
        object.__setattr__(self, "restless", r)
        if self.probabilities is not None:
            p = np.array(self.probabilities, dtype=np.float64)
            if p.shape != (len(s), 4):
                raise SignalError(
                    f"probabilities must have shape (n_epochs, 4) = ({len(s)}, 4), got {p.shape}"
                )
            p.flags.writeable = False
            object.__setattr__(self, "probabilities", p)
        if not self.epoch_length > 0:
            raise SignalError(f"epoch_length must be positive, got {self.epoch_length!r}")
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __len__(self) -> int:
        return len(self.stages)

    @property
    def end(self) -> float:
        """End of the last epoch, Unix seconds."""
        return self.start + len(self.stages) * self.epoch_length

    def epoch_starts(self) -> np.ndarray:
        """Start of every epoch, Unix seconds (float64)."""
        return self.start + np.arange(len(self.stages)) * self.epoch_length

    def names(self) -> np.ndarray:
        """Stage name of every epoch."""
        return np.asarray(STAGES, dtype=object)[self.stages]

    def vendor_labels(self, table: Mapping[str, Any]) -> list[Any]:
        """Map every epoch through a vendor table (restless sleep uses ``"restless"``)."""
        names = self.names()
        flags = self.restless if self.restless is not None else np.zeros(len(names), bool)
        out = []
        for name, restless in zip(names, flags, strict=True):
            key = "restless" if restless and "restless" in table else name
            out.append(table[key])
        return out
