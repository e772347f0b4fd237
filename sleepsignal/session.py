"""Value objects for a Beddit-style sleep session: sampled tracks and time-value tracks.

A :class:`Session` is what the Beddit cloud API calls a Session object: metadata (every
field found is kept, known or not), sampled tracks (raw BCG ``normal`` and ``noise``
blobs) and time-value tracks (``heartbeat``, ``heart_rate``, ``actigram``, ...). Objects
are immutable: arrays are read-only, and derived tracks are added with
:meth:`Session.with_tracks`, which returns a new session.

Times inside the objects are float64 seconds: sampled tracks start at
``start_timestamp`` (Unix seconds), time-value track times are seconds relative to the
session start (the Beddit Session convention). The pandas views (:meth:`SampledTrack.to_series`,
:meth:`TimeValueTrack.to_series`, :meth:`Session.to_frame`) use a tz-aware
``DatetimeIndex`` in the session's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import array_1d, check_fs, is_real
from .errors import (
    DecodeError,
    MissingTrackError,
    NotLoadedError,
    SignalError,
    warn_user,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_TYPES",
    "DEFAULT_FRAME_LENGTH",
    "SampledTrack",
    "Session",
    "TimeValueTrack",
]

#: Frame length (s) the Beddit documentation gives when ``frame_length`` is missing.
DEFAULT_FRAME_LENGTH = 0.2

#: Declared data types a track may have, with their little-endian numpy dtypes.
DATA_TYPES: Mapping[str, np.dtype[Any]] = MappingProxyType(
    {
        "uint8": np.dtype("<u1"),
        "int8": np.dtype("<i1"),
        "uint16": np.dtype("<u2"),
        "int16": np.dtype("<i2"),
        "uint32": np.dtype("<u4"),
        "int32": np.dtype("<i4"),
        "float32": np.dtype("<f4"),
        "float64": np.dtype("<f8"),
    }
)


def _dtype_of(data_type: str, where: str) -> np.dtype[Any]:
    try:
        return DATA_TYPES[data_type]
    except KeyError:
        raise DecodeError(
            f"{where}: unknown data type {data_type!r}; allowed: {', '.join(DATA_TYPES)}"
        ) from None


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only array with a's data: a itself when it already is read-only, else a copy
    (never freeze or alias the caller's writeable array)."""
    if a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


def epoch_ns(start: float, offsets: np.ndarray) -> np.ndarray:
    """Unix nanoseconds of ``start + offsets`` (s), start and offsets kept apart so that a
    Unix start near 1.7e9 s does not eat the sub-microsecond part (int64)."""
    whole = math.floor(start)
    return whole * 1_000_000_000 + np.round(
        (np.asarray(offsets, dtype=np.float64) + (start - whole)) * 1e9
    ).astype("int64")


def check_timezone(tz: object, where: str) -> str:
    """``tz`` if it is a known IANA time zone name, else a :class:`DecodeError`."""
    import zoneinfo

    if not isinstance(tz, str):
        raise DecodeError(f"{where}: timezone must be an IANA name, got {tz!r}")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DecodeError(
            f"{where}: unknown time zone {tz!r} (timezone); use an IANA name such as "
            "'Europe/Helsinki'"
        ) from None
    return tz


#: Every numpy dtype kind: from_array names an unsupported dtype itself (_dtype_name).
_ANY_KIND = "biufcmMOSUV"


def _real(value: object) -> bool:
    """A real number that ``math.isfinite`` takes (an int beyond the float range is not)."""
    if not is_real(value):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _noise_array(noise: object) -> np.ndarray:
    """``noise`` as 1-D little-endian float32, or :class:`SignalError` (no silent cast:
    complex, strings and values beyond the float32 range are refused)."""
    raw = array_1d(noise, "noise", kinds="buif", what="real numbers")
    _check_float32_range(raw, "noise")
    return raw.astype("<f4")


def _check_float32_range(a: np.ndarray, name: str) -> None:
    """Refuse finite float64 values that float32 (what the analysis reads) turns to inf."""
    if a.dtype != np.float64 or not a.size:
        return
    lim = float(np.finfo(np.float32).max)
    # two reductions, no temporaries; NaN (min/max give NaN) or inf takes the mask path
    if -lim <= float(a.min()) and float(a.max()) <= lim:
        return
    big = np.isfinite(a) & (np.abs(a) > lim)
    if big.any():
        i = int(np.argmax(big))
        raise SignalError(
            f"{name} value {a[i]!r} at {i} is beyond the float32 range the analysis reads "
            "samples in; rescale it"
        )


def _tz_index(start: float, offsets: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    """Absolute times ``start + offsets`` (s) as a tz-aware index at ns precision."""
    import pandas as pd

    ns = epoch_ns(start, offsets)
    return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True)).tz_convert(timezone)


@dataclass(frozen=True, eq=False)
class SampledTrack:
    """A regularly sampled track stored in frames (Beddit ``sampled_tracks`` entry).

    Parameters
    ----------
    name : str
        Track name (``"normal"`` for BCG, ``"noise"`` for loudness).
    data : numpy.ndarray or None
        Samples, 1-D, of the declared dtype; stored read-only. ``None`` means the bytes
        were not loaded (for example an ``https`` ``data_url``); reading :attr:`data`
        then raises :class:`~sleepsignal.errors.NotLoadedError`.
    samples_per_frame : int
        Samples per frame (28 for ``normal``, 2 for ``noise``).
    frame_length : float
        Frame length in s (0.2 for Beddit).
    start : float
        Time of the first sample, Unix seconds.
    data_type : str
        Declared type, one of :data:`DATA_TYPES`.
    extra : mapping
        Every other JSON field of the track (``data_url``, unknown fields), kept for
        writing it back.
    not_loaded_reason : str
        Why :attr:`data` is ``None``.
    """

    name: str
    _data: np.ndarray | None
    samples_per_frame: int
    frame_length: float
    start: float
    data_type: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    not_loaded_reason: str = ""

    def __post_init__(self) -> None:
        dtype = _dtype_of(self.data_type, f"sampled track {self.name!r}")
        if int(self.samples_per_frame) != self.samples_per_frame or self.samples_per_frame < 1:
            raise DecodeError(
                f"sampled track {self.name!r}: samples_per_frame must be a positive integer, "
                f"got {self.samples_per_frame!r}"
            )
        if not (math.isfinite(self.frame_length) and self.frame_length > 0):
            raise DecodeError(
                f"sampled track {self.name!r}: frame_length must be a positive number of "
                f"seconds, got {self.frame_length!r}"
            )
        if self._data is not None:
            a = np.asarray(self._data)
            if a.ndim != 1:
                raise SignalError(f"sampled track {self.name!r}: data must be 1-D, got {a.shape}")
            if a.dtype != dtype:
                raise DecodeError(
                    f"sampled track {self.name!r}: data has dtype {a.dtype}, but the track "
                    f"declares {self.data_type!r}"
                )
            object.__setattr__(self, "_data", _readonly(np.ascontiguousarray(a)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def data(self) -> np.ndarray:
        """The samples (read-only, declared dtype).

        Raises
        ------
        NotLoadedError
            When the blob was not loaded.
        """
        if self._data is None:
            raise NotLoadedError(
                f"sampled track {self.name!r} is not loaded: {self.not_loaded_reason or 'no data'}"
            )
        return self._data

    @property
    def loaded(self) -> bool:
        """Whether the samples are available."""
        return self._data is not None

    @property
    def fs(self) -> float:
        """Sampling rate in Hz (``samples_per_frame / frame_length``)."""
        return self.samples_per_frame / self.frame_length

    @property
    def n_frames(self) -> int:
        """Number of whole frames held."""
        return len(self.data) // self.samples_per_frame

    @property
    def duration(self) -> float:
        """Length of the track in s."""
        return len(self.data) / self.fs

    def times(self) -> np.ndarray:
        """Sample times in s relative to :attr:`start` (float64)."""
        return np.arange(len(self.data), dtype=np.float64) / self.fs

    def to_series(self, timezone: str = "UTC") -> pd.Series:
        """The samples as a pandas Series with a tz-aware ``DatetimeIndex``."""
        import pandas as pd

        index = _tz_index(self.start, self.times(), timezone)
        return pd.Series(self.data, index=index, name=self.name)


@dataclass(frozen=True, eq=False)
class TimeValueTrack:
    """A Beddit time-value track: ``[t, value]`` items.

    Parameters
    ----------
    name : str
        Track name (``"heart_rate"``, ``"heartbeat"``, ...).
    times : array_like
        Item times, float64 seconds relative to the session start, non-decreasing.
    values : array_like
        Item values; stored with the dtype of ``value_data_type``.
    value_data_type : str
        Declared type of the values, one of :data:`DATA_TYPES`.
    extra : mapping
        Other JSON fields of the track, kept for writing it back.
    source_items : list, optional
        The items as read from JSON (written back verbatim while the track is unchanged).
    type_declared : bool
        False when the JSON gave no ``value_data_type`` (float32 was assumed and the key
        is not added when writing back).

    Notes
    -----
    A track read from JSON remembers its original items, so writing it back reproduces
    them exactly (integers stay integers, decimals keep their digits).
    """

    name: str
    times: np.ndarray
    values: np.ndarray
    value_data_type: str = "float32"
    extra: Mapping[str, Any] = field(default_factory=dict)
    source_items: list[Any] | None = field(default=None, repr=False)
    type_declared: bool = True

    def __post_init__(self) -> None:
        dtype = _dtype_of(self.value_data_type, f"time-value track {self.name!r}")
        t = np.asarray(self.times, dtype=np.float64).reshape(-1)
        v = np.asarray(self.values)
        if v.ndim != 1 or len(v) != len(t):
            raise SignalError(
                f"time-value track {self.name!r}: times and values must be 1-D and of one "
                f"length, got {t.shape} and {v.shape}"
            )
        if not np.all(np.isfinite(t)):
            bad = int(np.flatnonzero(~np.isfinite(t))[0])
            raise DecodeError(
                f"time-value track {self.name!r}: item {bad} has a non-finite time "
                f"{float(t[bad])!r}"
            )
        if len(t) > 1 and np.any(np.diff(t) < 0):
            bad = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
            raise DecodeError(
                f"time-value track {self.name!r}: items out of order, item {bad} at "
                f"t={float(t[bad])!r} s comes after t={float(t[bad - 1])!r} s; "
                "times must not decrease"
            )
        if dtype.kind in "ui":
            vf = v.astype(np.float64) if v.dtype.kind == "f" else v
            if v.dtype.kind == "f" and (not np.all(np.isfinite(vf)) or np.any(vf != np.round(vf))):
                raise DecodeError(
                    f"time-value track {self.name!r}: declares {self.value_data_type!r} "
                    "but holds non-integer values"
                )
            info = np.iinfo(dtype)
            if len(v) and (np.min(vf) < info.min or np.max(vf) > info.max):
                raise DecodeError(
                    f"time-value track {self.name!r}: values outside the "
                    f"{self.value_data_type} range [{info.min}, {info.max}]"
                )
        elif dtype.itemsize < 8 and v.dtype.kind in "fiu" and len(v):
            big = np.abs(v[np.isfinite(v)]) if v.dtype.kind == "f" else np.abs(v)
            if len(big) and big.max() > np.finfo(dtype).max:
                raise DecodeError(
                    f"time-value track {self.name!r}: values beyond the "
                    f"{self.value_data_type} range (largest {float(big.max())!r})"
                )
        times = np.array(t, dtype=np.float64)
        values = np.array(v, dtype=dtype)
        times.flags.writeable = False
        values.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def __len__(self) -> int:
        return len(self.times)

    def items(self) -> list[list[float | int]]:
        """The items as JSON-ready ``[t, value]`` pairs (relative times).

        Float32 values are written with the shortest decimal that reads back to the same
        float32, as the Beddit API does (``64.59961``).
        """
        if self.source_items is not None:
            return self.source_items
        if self.values.dtype.kind == "f":
            if self.values.dtype == np.float32:
                vals: list[Any] = [float(str(x)) for x in self.values]
            else:
                vals = self.values.tolist()
        else:
            vals = [int(x) for x in self.values]
        return [[float(t), v] for t, v in zip(self.times.tolist(), vals, strict=False)]

    def to_series(self, start: float, timezone: str = "UTC") -> pd.Series:
        """Values as a pandas Series indexed by tz-aware absolute times.

        Parameters
        ----------
        start : float
            Session start, Unix seconds (times are relative to it).
        timezone : str
            IANA time zone of the index.
        """
        import pandas as pd

        return pd.Series(self.values, index=_tz_index(start, self.times, timezone), name=self.name)


#: Top-level keys that hold tracks rather than metadata.
_TRACK_KEYS = ("sampled_tracks", "time_value_tracks")


@dataclass(frozen=True, eq=False)
class Session:
    """A sleep session: metadata, sampled tracks and time-value tracks.

    Build one with :func:`sleepsignal.read_session` (Beddit JSON + blobs) or with
    :meth:`Session.from_array` (a researcher's own array).

    Parameters
    ----------
    metadata : mapping
        Every top-level field of the Session object other than the tracks, in the order
        found (``id``, ``start_timestamp``, ``end_timestamp``, ``timezone``, ``hardware``,
        ``software``, ``frame_length``, ``error_code``, ``updated`` and unknown fields).
        ``start_timestamp`` and ``end_timestamp`` are required.
    sampled_tracks : mapping of str to SampledTrack
    time_value_tracks : mapping of str to TimeValueTrack
    key_order : tuple of str
        Order of top-level keys, tracks included, for writing the JSON back unchanged.
    """

    metadata: Mapping[str, Any]
    sampled_tracks: Mapping[str, SampledTrack] = field(default_factory=dict)
    time_value_tracks: Mapping[str, TimeValueTrack] = field(default_factory=dict)
    key_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        md = dict(self.metadata)
        for key in ("start_timestamp", "end_timestamp"):
            if key not in md:
                raise DecodeError(f"session: required field {key!r} is missing")
            value = md[key]
            if not (_real(value) and math.isfinite(value)):
                raise DecodeError(
                    f"session: {key} must be a finite number of Unix seconds, got {value!r}"
                )
        if md["end_timestamp"] < md["start_timestamp"]:
            raise DecodeError(
                f"session: end_timestamp {md['end_timestamp']!r} is before start_timestamp "
                f"{md['start_timestamp']!r}"
            )
        check_timezone(md.get("timezone", "UTC"), "session")
        for key in ("id", "updated", "frame_length", "error_code"):
            if key in md and md[key] is not None and not _real(md[key]):
                raise DecodeError(f"session: {key} must be a number, got {md[key]!r}")
        object.__setattr__(self, "metadata", MappingProxyType(md))
        object.__setattr__(self, "sampled_tracks", MappingProxyType(dict(self.sampled_tracks)))
        object.__setattr__(
            self, "time_value_tracks", MappingProxyType(dict(self.time_value_tracks))
        )
        if not self.key_order:
            order = [k for k in md]
            for k in _TRACK_KEYS:
                if k not in order:
                    order.append(k)
            object.__setattr__(self, "key_order", tuple(order))

    # -- metadata accessors -------------------------------------------------------
    @property
    def start_timestamp(self) -> float:
        """Session start, Unix seconds."""
        return float(self.metadata["start_timestamp"])

    @property
    def end_timestamp(self) -> float:
        """Session end, Unix seconds."""
        return float(self.metadata["end_timestamp"])

    @property
    def duration(self) -> float:
        """``end_timestamp - start_timestamp`` in s."""
        return self.end_timestamp - self.start_timestamp

    @property
    def id(self) -> int:
        """Session id: ``int(start_timestamp)`` unless the JSON says otherwise."""
        return int(self.metadata.get("id", int(self.start_timestamp)))

    @property
    def timezone(self) -> str:
        """IANA time zone of the measurement (``"UTC"`` when absent)."""
        return str(self.metadata.get("timezone", "UTC"))

    @property
    def frame_length(self) -> float:
        """Frame length in s; 0.2 (the documented value) when the field is absent."""
        return float(self.metadata.get("frame_length", DEFAULT_FRAME_LENGTH))

    @property
    def hardware(self) -> str | None:
        """Sensor device version, if given."""
        return self.metadata.get("hardware")

    @property
    def software(self) -> str | None:
        """App version that created the session, if given."""
        return self.metadata.get("software")

    @property
    def error_code(self) -> int | None:
        """Why the session ended, if given."""
        return self.metadata.get("error_code")

    @property
    def updated(self) -> float | None:
        """When the object was stored on the server (Unix seconds), if given."""
        u = self.metadata.get("updated")
        return None if u is None else float(u)

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        samples: Iterable[float] | np.ndarray,
        fs: float,
        *,
        start: float,
        timezone: str = "UTC",
        noise: np.ndarray | None = None,
        noise_fs: float | None = None,
        name: str = "normal",
        **metadata: Any,
    ) -> Session:
        """Build a session from a researcher's own array.

        Parameters
        ----------
        samples : array_like
            BCG samples, 1-D. Integer arrays keep their dtype (``uint16`` like Beddit),
            except 64-bit integers (a list of Python ints), stored as int32 when every
            value fits and as float64 otherwise; floating arrays are stored as float32
            or float64 as given.
        fs : float
            Sampling rate in Hz. Required: a wrong rate gives wrong heart rates.
        start : float
            Time of the first sample, Unix seconds.
        timezone : str
            IANA time zone of the recording.
        noise : array_like, optional
            Loudness per window (Beddit ``noise`` track), float32.
        noise_fs : float, optional
            Rate of ``noise`` in Hz; required when ``noise`` is given.
        name : str
            Name of the sampled track.
        **metadata
            Extra session fields (``hardware``, ``software``, ...).

        Returns
        -------
        Session

        Raises
        ------
        SignalError
            For a non-1-D array, an unsupported dtype, float64 values beyond the float32
            range (the analysis reads samples as float32), or an ``fs`` or ``noise_fs``
            that is not a finite rate above 0 and at most 1e6 Hz
            (:data:`~sleepsignal._validate.MAX_FS`, the cap of every rate check).
        """
        a = array_1d(
            samples, "samples", kinds=_ANY_KIND, what="numbers"
        )  # unsupported dtypes: _dtype_name
        if a.dtype == np.float16 or a.dtype.kind == "b":
            a = a.astype(np.float32)
        elif a.dtype.kind in "iu" and a.dtype.itemsize == 8:  # a list of Python ints
            i32 = np.iinfo(np.int32)
            fits = not a.size or (int(a.min()) >= i32.min and int(a.max()) <= i32.max)
            a = a.astype(np.int32 if fits else np.float64)
        _check_float32_range(a, "samples")
        dt_name = _dtype_name(a.dtype)
        fs = check_fs(fs, "fs", minimum=0.0)  # the one rate check: positive, <= 1e6 Hz
        if not (_real(start) and math.isfinite(start)):
            raise SignalError(f"start must be a finite Unix time in s, got {start!r}")
        fs, start = float(fs), float(start)
        check_timezone(timezone, "from_array")
        spf, frame_length = _framing(float(fs))
        if len(a) % spf:
            warn_user(
                f"{len(a)} samples are not a whole number of {spf}-sample frames; the last "
                f"{len(a) % spf} samples are dropped"
            )
            a = a[: len(a) - len(a) % spf]
        duration = len(a) / fs
        tracks = {
            name: SampledTrack(
                name, a.astype(a.dtype.newbyteorder("<")), spf, frame_length, float(start), dt_name
            )
        }
        if noise is not None:
            noise_fs = check_fs(noise_fs, "noise_fs", minimum=0.0)
            n = _noise_array(noise)
            nspf = noise_fs * frame_length
            if abs(nspf - round(nspf)) > 1e-9 or round(nspf) < 1:
                raise SignalError(
                    f"noise_fs={noise_fs} Hz gives {nspf:g} samples per {frame_length} s frame; "
                    "it must be a whole number"
                )
            nspf_i = round(nspf)
            n_frames = len(a) // spf
            if abs(len(n) // nspf_i - n_frames) > 1:
                raise SignalError(
                    f"noise holds {len(n) / noise_fs:.3f} s at {noise_fs} Hz but samples hold "
                    f"{duration:.3f} s; they must cover the same time"
                )
            if len(n) != n_frames * nspf_i:
                warn_user(
                    f"noise has {len(n)} values, {n_frames * nspf_i} fit the {n_frames} frames "
                    "of samples; it was cut or padded with NaN (a gap) to match"
                )
                fitted = np.full(n_frames * nspf_i, np.nan, dtype="<f4")
                fitted[: min(len(n), len(fitted))] = n[: len(fitted)]
                n = fitted
            tracks["noise"] = SampledTrack(
                "noise", n, nspf_i, frame_length, float(start), "float32"
            )
        md: dict[str, Any] = {
            "id": int(start),
            "start_timestamp": float(start),
            "end_timestamp": float(start) + duration,
            "timezone": timezone,
            "frame_length": frame_length,
            **metadata,
        }
        return cls(md, tracks, {})

    def with_tracks(
        self,
        time_value_tracks: Iterable[TimeValueTrack] = (),
        sampled_tracks: Iterable[SampledTrack] = (),
    ) -> Session:
        """A new session with tracks added or replaced (by name)."""
        tv = dict(self.time_value_tracks)
        for t in time_value_tracks:
            tv[t.name] = t
        st = dict(self.sampled_tracks)
        for s in sampled_tracks:
            st[s.name] = s
        return Session(self.metadata, st, tv, self.key_order)

    def with_metadata(self, **fields: Any) -> Session:
        """A new session with metadata fields set.

        Changing ``start_timestamp`` or ``frame_length`` moves or reframes the sampled
        tracks with it, so that the session and its tracks never disagree.
        """
        md = dict(self.metadata)
        md.update(fields)
        order = self.key_order + tuple(k for k in fields if k not in self.key_order)
        sampled = dict(self.sampled_tracks)
        if "start_timestamp" in fields or "frame_length" in fields:
            from dataclasses import replace

            start = float(md["start_timestamp"])
            frame = float(md.get("frame_length", DEFAULT_FRAME_LENGTH))
            sampled = {n: replace(t, start=start, frame_length=frame) for n, t in sampled.items()}
        return Session(md, sampled, self.time_value_tracks, order)

    # -- views -----------------------------------------------------------------
    def signal(self, name: str = "normal") -> tuple[np.ndarray, float]:
        """A sampled track as float32 samples and its rate in Hz, ready for kernels.

        Raises
        ------
        MissingTrackError
            When the session has no such track.
        NotLoadedError
            When the track's bytes were not loaded.
        """
        track = self._sampled(name)
        return track.data.astype(np.float32), track.fs

    def _sampled(self, name: str) -> SampledTrack:
        if name not in self.sampled_tracks:
            raise MissingTrackError(
                f"session {self.id} has no sampled track {name!r}; it has "
                f"{sorted(self.sampled_tracks) or 'none'}"
            )
        return self.sampled_tracks[name]

    def to_series(self, name: str = "normal") -> pd.Series:
        """A sampled track as a pandas Series indexed in the session's time zone."""
        return self._sampled(name).to_series(self.timezone)

    def to_frame(self, name: str | None = None) -> pd.DataFrame:
        """Time-value tracks as one tidy DataFrame.

        Parameters
        ----------
        name : str, optional
            Only this track.

        Returns
        -------
        pandas.DataFrame
            Columns ``track``, ``value``; index: tz-aware ``DatetimeIndex`` named
            ``time`` in the session's time zone.
        """
        import pandas as pd

        names = [name] if name is not None else list(self.time_value_tracks)
        frames = []
        for n in names:
            t = self.time_value_tracks[n]
            frames.append(
                pd.DataFrame(
                    {"track": n, "value": t.values.astype(np.float64)},
                    index=_tz_index(self.start_timestamp, t.times, self.timezone),
                )
            )
        if not frames:
            idx = _tz_index(0.0, np.empty(0), self.timezone)
            return pd.DataFrame(
                {"track": pd.Series(dtype=str), "value": pd.Series(dtype=float)}, index=idx
            ).rename_axis("time")
        return pd.concat(frames).rename_axis("time")

    def __repr__(self) -> str:
        return (
            f"Session(id={self.id}, start={self.start_timestamp}, duration={self.duration:.1f} s, "
            f"timezone={self.timezone!r}, sampled={sorted(self.sampled_tracks)}, "
            f"time_value={sorted(self.time_value_tracks)})"
        )


def _dtype_name(dtype: np.dtype[Any]) -> str:
    for name, dt in DATA_TYPES.items():
        if dt.kind == dtype.kind and dt.itemsize == dtype.itemsize:
            return name
    raise SignalError(
        f"samples of dtype {dtype} are not supported; use one of {', '.join(DATA_TYPES)}"
    )


def _framing(fs: float) -> tuple[int, float]:
    """Samples per frame and frame length (s) for a rate: 0.2 s frames when whole."""
    spf = fs * DEFAULT_FRAME_LENGTH
    if abs(spf - round(spf)) < 1e-9 and round(spf) >= 1:
        return round(spf), DEFAULT_FRAME_LENGTH
    return 1, 1.0 / fs
