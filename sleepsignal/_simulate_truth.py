"""The ground truth of a simulated night (:class:`NightTruth`), with its JSON form.

Private module: the class is public as :class:`sleepsignal.simulate.NightTruth`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SignalError
from .hypnogram import STAGES, Hypnogram

__all__ = ["NightTruth"]


@dataclass(frozen=True, eq=False)
class NightTruth:
    """Ground truth of a simulated night. Times are s from the session start.

    Attributes
    ----------
    beat_times : numpy.ndarray
        Time of each beat's J peak (float64, increasing). No beat exists while away.
    rj_delay : float
        R-peak to J-peak lag in s used by the simulation: ``beat_times - rj_delay`` are
        the matching ECG R peaks, for scoring against ECG-style references.
    breath_starts : numpy.ndarray
        Onset of inspiration of each breathing cycle (float64, increasing), none while away.
    movements : numpy.ndarray
        ``(n, 2)`` [start, end] of body movements (merged, sorted).
    away : numpy.ndarray
        ``(n, 2)`` [start, end] out of bed.
    mains : numpy.ndarray
        ``(n, 2)`` [start, end] with mains hum in the signal.
    mains_hz : numpy.ndarray
        ``(n,)`` hum frequency (50.0 or 60.0) of each ``mains`` interval.
    snoring : numpy.ndarray
        ``(n, 2)`` [start, end] of snoring runs.
    stages : numpy.ndarray
        int8 stage code per 30 s epoch from the session start (0 wake, 1 light, 2 deep,
        3 rem, 4 away; see :data:`sleepsignal.hypnogram.STAGES`).
    ectopic : numpy.ndarray
        Times (a subset of ``beat_times``) of premature beats: each comes early and is
        followed by a compensatory pause. Empty when none (always for ``rr``-driven
        nights, whose real series carries its own).
    """

    beat_times: np.ndarray
    rj_delay: float
    breath_starts: np.ndarray
    movements: np.ndarray
    away: np.ndarray
    mains: np.ndarray
    mains_hz: np.ndarray
    snoring: np.ndarray
    stages: np.ndarray
    ectopic: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        for name in ("beat_times", "breath_starts", "mains_hz", "ectopic"):
            a = np.array(getattr(self, name), dtype=np.float64).reshape(-1)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        for name in ("movements", "away", "mains", "snoring"):
            iv = np.array(getattr(self, name), dtype=np.float64).reshape(-1, 2)
            iv.flags.writeable = False
            object.__setattr__(self, name, iv)
        s = np.array(self.stages, dtype=np.int8).reshape(-1)
        s.flags.writeable = False
        object.__setattr__(self, "stages", s)
        object.__setattr__(self, "rj_delay", float(self.rj_delay))
        if len(self.mains_hz) != len(self.mains):
            raise SignalError(
                f"mains_hz needs one frequency per mains interval: {len(self.mains_hz)} "
                f"for {len(self.mains)}"
            )

    # -- derived views ----------------------------------------------------------
    def true_intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Beat-to-beat intervals that a detector can see: both beats present and no
        movement or bed exit in between.

        Returns
        -------
        t_start : numpy.ndarray
            Time of the first beat of each interval (s).
        interval_s : numpy.ndarray
            Interval length (s).
        """
        b = self.beat_times
        if len(b) < 2:
            return np.empty(0), np.empty(0)
        ok = np.ones(len(b) - 1, dtype=bool)
        for iv in (self.away, self.movements):
            for s, e in iv:
                ok &= ~((b[:-1] < e) & (b[1:] > s))
        return b[:-1][ok], np.diff(b)[ok]

    def breath_cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """Breathing cycles ``(t_start, cycle_length_s)`` not interrupted by a bed exit."""
        b = self.breath_starts
        if len(b) < 2:
            return np.empty(0), np.empty(0)
        ok = np.ones(len(b) - 1, dtype=bool)
        for s, e in self.away:
            ok &= ~((b[:-1] < e) & (b[1:] > s))
        return b[:-1][ok], np.diff(b)[ok]

    def hypnogram(self, start: float, timezone: str = "UTC") -> Hypnogram:
        """The true stages as a :class:`~sleepsignal.hypnogram.Hypnogram`.

        Parameters
        ----------
        start : float
            Session start, Unix seconds (``night.session.start_timestamp``).
        timezone : str
            IANA time zone.
        """
        return Hypnogram(self.stages, start, timezone)

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (floats kept exactly: Python writes the shortest repr)."""
        return {
            "format": "sleepsignal.simulate.NightTruth/1",
            "time_reference": "seconds from session start",
            "stage_names": list(STAGES),
            "rj_delay": self.rj_delay,
            "beat_times": self.beat_times.tolist(),
            "breath_starts": self.breath_starts.tolist(),
            "movements": self.movements.tolist(),
            "away": self.away.tolist(),
            "mains": self.mains.tolist(),
            "mains_hz": self.mains_hz.tolist(),
            "snoring": self.snoring.tolist(),
            "stages": self.stages.tolist(),
            "ectopic": self.ectopic.tolist(),
        }

    def to_json(self) -> str:
        """The truth as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> NightTruth:
        """Read what :meth:`to_json` wrote."""
        d = json.loads(text)
        fields = (
            "beat_times",
            "rj_delay",
            "breath_starts",
            "movements",
            "away",
            "mains",
            "mains_hz",
            "snoring",
            "stages",
        )
        missing = [f for f in fields if f not in d]
        if missing:
            raise SignalError(f"truth JSON lacks {', '.join(missing)}")
        return cls(**{f: d[f] for f in fields}, ectopic=d.get("ectopic", []))

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path``."""
        p = Path(path)
        p.write_text(self.to_json(), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> NightTruth:
        """Read a file written by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


NightTruth.__module__ = "sleepsignal.simulate"  # its public home (docs, pickling)
