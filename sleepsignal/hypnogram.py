"""The :class:`Hypnogram` value object and the vendors' stage vocabularies.

Stages live on a grid of 30 s epochs aligned to the session start. Each epoch holds one
of :data:`STAGES`; a boolean ``restless`` flag marks sleep epochs with movement (the
classic ``restless`` / Beddit 82 state). Vendor vocabularies are data tables below, not
code paths, so a record builder maps stages with one lookup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .errors import DecodeError, SignalError

if TYPE_CHECKING:
    import pandas as pd

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
    "SLEEP_DEPTH",
    "STAGES",
    "WAKE",
    "Hypnogram",
    "SleepCycles",
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

#: Sleep depth (0 lightest .. 1 deepest) of each stage for the ``sleep_cycles`` curve.
SLEEP_DEPTH: Mapping[str, float] = MappingProxyType(
    {"wake": 0.0, "rem": 0.25, "light": 0.5, "deep": 1.0}
)
#: Spacing of ``sleep_cycles`` points, s (Beddit: every 2 minutes).
SLEEP_CYCLES_STEP = 120.0
#: Width of the centred moving average applied to the depth before sampling, s.
SLEEP_CYCLES_SMOOTHING = 600.0
#: Version of the JSON layout written by :meth:`Hypnogram.to_json`.
JSON_VERSION = 1


class SleepCycles(NamedTuple):
    """The Beddit ``sleep_cycles`` curve.

    Attributes
    ----------
    times : numpy.ndarray
        float64 Unix seconds, one point every 120 s from sleep onset to the final
        awakening (both inclusive of their epoch); empty when there is no sleep.
    depth : numpy.ndarray
        float32 sleep depth, 0.0 lightest to 1.0 deepest.
    """

    times: np.ndarray
    depth: np.ndarray


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
        codes = self.stages.astype(np.int64)
        if self.restless is not None and "restless" in table:
            codes = np.where(self.restless, len(STAGES), codes)
        keys = (*STAGES, "restless")
        # one table look-up per distinct key, in the order the epochs first use them (so
        # a key missing from the table fails as at its first epoch)
        used, first = np.unique(codes, return_index=True)
        value = {int(c): table[keys[c]] for c in used[np.argsort(first)]}
        return [value[c] for c in codes.tolist()]

    # -- extensions: pandas, JSON, sleep cycles ------------------------------------
    def _index(self) -> pd.DatetimeIndex:
        import pandas as pd

        # integer nanoseconds from a microsecond-rounded start: float64 Unix seconds
        # times 1e9 would lose ~256 ns
        start_ns = round(self.start * 1e6) * 1000
        step_ns = round(self.epoch_length * 1e9)
        ns = start_ns + np.arange(len(self.stages), dtype=np.int64) * step_ns
        return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True), name="start").tz_convert(
            self.timezone
        )

    def to_series(self) -> pd.Series:
        """Stage names (categorical, categories :data:`STAGES`) on a tz-aware index.

        The index holds epoch starts in the hypnogram's time zone.
        """
        import pandas as pd

        cat = pd.Categorical.from_codes(
            self.stages.astype(np.int64), categories=pd.Index(list(STAGES))
        )
        return pd.Series(cat, index=self._index(), name="stage")

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch on a tz-aware ``DatetimeIndex`` (epoch starts).

        Columns: ``stage`` (categorical name), ``code`` (int8), ``restless`` (bool), and
        ``p_wake``, ``p_light``, ``p_deep``, ``p_rem`` when probabilities exist.
        """
        import pandas as pd

        df = pd.DataFrame(
            {"stage": self.to_series(), "code": self.stages, "restless": self.restless},
            index=self._index(),
        )
        if self.probabilities is not None:
            for j, name in enumerate(STAGES[:4]):
                df[f"p_{name}"] = self.probabilities[:, j]
        return df

    def to_json(self) -> str:
        """Lossless JSON text (floats written with ``repr``; NaN probabilities as null).

        ``info`` must hold JSON-compatible values; it is written as is.

        Examples
        --------
        >>> import numpy as np
        >>> h = Hypnogram(np.array([0, 1, 5]), 1700000000.5, "Europe/Helsinki")
        >>> Hypnogram.from_json(h.to_json()).to_json() == h.to_json()
        True
        """
        doc: dict[str, Any] = {
            "version": JSON_VERSION,
            "start": float(self.start),
            "timezone": self.timezone,
            "epoch_length": float(self.epoch_length),
            "stage_names": list(STAGES),
            "stages": self.stages.tolist(),
            "restless": [int(r) for r in np.asarray(self.restless)],
            "probabilities": None
            if self.probabilities is None
            else [
                [None if math.isnan(v) else v for v in row] for row in self.probabilities.tolist()
            ],
            "info": dict(self.info),
        }
        try:
            return json.dumps(doc, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SignalError(f"hypnogram info is not JSON-compatible: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Hypnogram:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        DecodeError
            Not JSON, a missing field, an unknown version, or stage names that differ
            from :data:`STAGES`.
        """
        try:
            doc = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"hypnogram JSON could not be parsed: {exc}") from None
        if not isinstance(doc, dict):
            raise DecodeError(f"hypnogram JSON must be an object, got {type(doc).__name__}")
        missing = [k for k in ("version", "start", "timezone", "stages") if k not in doc]
        if missing:
            raise DecodeError(f"hypnogram JSON lacks {', '.join(missing)}")
        if doc["version"] != JSON_VERSION:
            raise DecodeError(
                f"hypnogram JSON version {doc['version']!r} is not supported (only {JSON_VERSION})"
            )
        if list(doc.get("stage_names", STAGES)) != list(STAGES):
            raise DecodeError(
                f"hypnogram JSON stage_names {doc.get('stage_names')!r} differ from {list(STAGES)}"
            )
        known = {
            "version",
            "start",
            "timezone",
            "epoch_length",
            "stage_names",
            "stages",
            "restless",
            "probabilities",
            "info",
        }
        unknown = sorted(set(doc) - known)
        if unknown:
            raise DecodeError(
                f"hypnogram JSON has unknown fields {unknown}; allowed {sorted(known)}"
            )
        probs = doc.get("probabilities")
        p = (
            None
            if probs is None
            else np.array(
                [[np.nan if v is None else v for v in row] for row in probs], dtype=np.float64
            ).reshape(-1, 4)
        )
        return cls(
            np.array(doc["stages"], dtype=np.int64),
            float(doc["start"]),
            str(doc["timezone"]),
            restless=None if doc.get("restless") is None else np.array(doc["restless"], bool),
            probabilities=p,
            epoch_length=float(doc.get("epoch_length", EPOCH_LENGTH)),
            info=doc.get("info") or {},
        )

    def sleep_depth(self) -> np.ndarray:
        """Sleep depth 0..1 per epoch (NaN on away / no-signal epochs).

        From the probabilities when present (expected :data:`SLEEP_DEPTH`), else from
        the stage of each epoch.
        """
        depth_of = np.array([SLEEP_DEPTH[s] for s in STAGES[:4]])
        if self.probabilities is not None:
            d = self.probabilities @ depth_of
        else:
            d = np.full(len(self.stages), np.nan)
            scored = self.stages < 4
            d[scored] = depth_of[self.stages[scored]]
        d = np.where(self.stages >= 4, np.nan, d)
        return d

    def sleep_cycles(self) -> SleepCycles:
        """The Beddit ``sleep_cycles`` curve: depth 0..1 every 2 min, onset to final awakening.

        Returns
        -------
        SleepCycles
            Empty arrays when the hypnogram has no sleep epoch.

        Notes
        -----
        1. Depth per epoch from :meth:`sleep_depth` (wake 0, REM 0.25, light 0.5,
           deep 1; expectation under the model probabilities when present).
        2. Centred moving average over 10 minutes, ignoring away/no-signal epochs
           (a stretch with no scored epoch in the window stays NaN -> depth 0).
        3. Sampled every 120 s from the start of the first sleep epoch to the end of
           the last sleep epoch (the final awakening), by linear interpolation between
           epoch centres; clipped to 0..1.

        Examples
        --------
        >>> import numpy as np
        >>> h = Hypnogram(np.r_[[0] * 4, [2] * 40, [0] * 4], 1700000000.0)
        >>> c = h.sleep_cycles()
        >>> float(c.times[0] - h.start), len(c.times), float(c.depth.max())
        (120.0, 11, 1.0)
        """
        sleep = np.isin(self.stages, SLEEP_CODES)
        if not sleep.any():
            return SleepCycles(np.zeros(0), np.zeros(0, np.float32))
        idx = np.flatnonzero(sleep)
        first, last = int(idx[0]), int(idx[-1])
        d = self.sleep_depth()
        k = max(1, round(SLEEP_CYCLES_SMOOTHING / self.epoch_length))
        k += (k + 1) % 2
        ok = np.isfinite(d)
        n, half = len(d), k // 2
        num = np.convolve(np.where(ok, d, 0.0), np.ones(k))[half : half + n]
        den = np.convolve(ok.astype(np.float64), np.ones(k))[half : half + n]
        with np.errstate(invalid="ignore", divide="ignore"):
            sm = np.where(den > 0, num / np.maximum(den, 1), 0.0)
        onset = self.start + first * self.epoch_length
        end = self.start + (last + 1) * self.epoch_length
        times = onset + np.arange(0.0, end - onset + 1e-9, SLEEP_CYCLES_STEP)
        centres = self.epoch_starts() + self.epoch_length / 2
        depth = np.clip(np.interp(times, centres, sm), 0.0, 1.0).astype(np.float32)
        return SleepCycles(times, depth)
