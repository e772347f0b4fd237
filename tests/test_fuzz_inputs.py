"""Generated bad input thrown at every public function that takes arrays, numbers or bytes.

The property, for every call: it returns a result of the documented type, or raises a
subclass of :class:`sleepsignal.SleepSignalError` whose message names the argument, and
it emits no warning other than :class:`sleepsignal.SleepSignalWarning`. Anything else (a
``TypeError`` or ``ValueError`` from inside numpy, numba or pandas, a numba typing error,
a ``RuntimeWarning`` or ``ComplexWarning`` escaping, a hang or a memory blow-up on a huge
number) is a defect of the public function's validation.

The examples are derandomized (the ``ci`` profile of ``conftest.py``; each test sets a
small ``max_examples``), so every run tries the same inputs; the file runs in well under
a minute once the kernels are compiled.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sleepsignal as ss
from sleepsignal.errors import SleepSignalError, SleepSignalWarning

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"
FS = 140.0

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------


def holds(
    call: Callable[[], Any],
    names: str | tuple[str, ...],
    result: Any = object,
    *,
    must_raise: type[Exception] | None = None,
    after: str | None = None,
) -> None:
    """Run ``call``: a ``result`` instance, or a SleepSignalError naming one of ``names``;
    no warning but SleepSignalWarning. With ``must_raise`` (an input known to be invalid)
    a result of any kind fails: the call must raise that SleepSignalError subclass. With
    ``after`` (a file path every message starts with), only the text after it counts."""
    if isinstance(names, str):
        names = (names,)
    raised = None
    if after is not None:  # names must appear in the text after ``after`` (a path)
        inner = call

        def call() -> Any:
            try:
                return inner()
            except SleepSignalError as e:
                message = str(e)
                cut = message.find(after)
                if cut >= 0:
                    message = message[cut + len(after) :]
                raise type(e)(message) from e

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call()
        except SleepSignalError as e:
            raised = e
            message = str(e)
            assert any(n in message for n in names), (
                f"error message names none of {names}: {message!r}"
            )
            out = None
    foreign = [w for w in caught if not issubclass(w.category, SleepSignalWarning)]
    assert not foreign, [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in foreign
    ]
    if must_raise is not None:
        assert isinstance(raised, must_raise), (
            f"expected {must_raise.__name__} naming {names}, got "
            f"{type(raised).__name__ if raised else 'a result: ' + type(out).__name__}"
        )
        return
    if out is not None:
        assert isinstance(out, result), f"expected {result}, got {type(out).__name__}"
        _numbers_as_documented(out)


def _numbers_as_documented(out: Any) -> None:
    """Fields documented as times, lengths or rates hold finite numbers, never NaN."""
    fields: dict[str, tuple[str, ...]] = {
        "Heartbeats": ("beat_times", "intervals", "interval_starts", "confidence"),
        "Breathing": ("starts", "lengths", "amplitudes", "peaks"),
        "Movements": ("starts", "ends", "peak_ratio"),
        "Presence": ("times",),
    }
    for name in fields.get(type(out).__name__, ()):
        v = np.asarray(getattr(out, name), dtype=np.float64)
        assert np.isfinite(v).all(), f"{type(out).__name__}.{name} holds {v[~np.isfinite(v)][:3]}"
    if type(out) is tuple:  # heart_rate, actigram: (times, values) of numbers
        for a in out:
            assert np.isfinite(np.asarray(a, dtype=np.float64)).all(), out
    if isinstance(out, dict):  # night_hrv_indices: a key is omitted, never NaN
        assert all(np.isfinite(v) for v in out.values()), out


# --------------------------------------------------------------------------------------
# Strategies: the bad inputs of the brief
# --------------------------------------------------------------------------------------

_rng = np.random.default_rng(0)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


NAMED_ARRAYS: dict[str, Any] = {
    "empty": np.array([]),
    "one": np.array([1.0]),
    "three": np.array([1.0, 2.0, 3.0]),
    "all_nan": np.full(600, np.nan),
    "some_nan": np.where(_rng.random(600) < 0.1, np.nan, _rng.normal(size=600)),
    "some_inf": np.where(_rng.random(600) < 0.02, np.inf, _rng.normal(size=600)),
    "constant": np.full(600, 5.0),
    "huge": _rng.normal(size=600) * 1e300,
    "tiny": _rng.normal(size=600) * 1e-300,
    "int64": _rng.integers(0, 1000, 600),
    "uint16": _rng.integers(0, 65535, 600).astype(np.uint16),
    "int8": _rng.integers(-128, 127, 600).astype(np.int8),
    "uint64_big": np.array([0, 2**63, 2**64 - 1], dtype=np.uint64),
    "bool": _rng.random(600) < 0.5,
    "complex": _rng.normal(size=600) + 1j,
    "object": np.array([1.0] * 600, dtype=object),
    "float16": _rng.normal(size=600).astype(np.float16),
    "float32": _rng.normal(size=600).astype(np.float32),
    "2d": _rng.normal(size=(2, 300)),
    "non_contiguous": _rng.normal(size=1200)[::2],
    "read_only": _readonly(_rng.normal(size=600)),
    "list": [float(v) for v in _rng.normal(size=600)],
    "ragged": [[1.0, 2.0], [3.0]],
    "string": "abc",
    "none": None,
    "scalar": 3.0,
    "unsorted": _rng.random(60) * 100,
    "duplicated": np.repeat(np.arange(30.0), 2),
    "negative": -np.arange(60.0),
}

BAD_NUMBERS: list[Any] = [
    0,
    0.0,
    -1.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    "140",
    None,
    [1.0, 2.0],
    1e300,
    1e-300,
    10**400,
    np.float32(2.0),
    np.int64(3),
    1.0 + 1j,
]


def arrays() -> st.SearchStrategy[Any]:
    """One of the named bad arrays, or a short random float array with NaN/inf/huge."""
    generated = st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=40
    ).map(lambda v: np.asarray(v, dtype=np.float64))
    return st.one_of(st.sampled_from(sorted(NAMED_ARRAYS)).map(NAMED_ARRAYS.__getitem__), generated)


def numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(BAD_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**6), max_value=10**6),
    )


def signals() -> st.SearchStrategy[Any]:
    """Bad arrays, plus a stretch of the simulated night (valid) spoiled in one way."""

    def spoil(kind: str) -> Any:
        x = _night().x[: 20 * int(FS)].copy()
        if kind == "nan_run":
            x[500:900] = np.nan
        elif kind == "inf":
            x[10] = np.inf
        elif kind == "flat_tail":
            x[1000:] = x[1000]
        elif kind == "huge":
            x = x * 1e300
        elif kind == "reversed":
            x = x[::-1]
        return x

    spoiled = st.sampled_from(["nan_run", "inf", "flat_tail", "huge", "reversed", "none"]).map(
        spoil
    )
    return st.one_of(arrays(), spoiled)


# --------------------------------------------------------------------------------------
# Valid objects to spoil (one short simulated night, analysed once)
# --------------------------------------------------------------------------------------


class _Night:
    def __init__(self) -> None:
        from sleepsignal.simulate import simulate_night

        night = simulate_night(0.25, seed=3)
        self.session = night.session
        x, fs = self.session.signal("normal")
        self.x = np.asarray(x, dtype=np.float64)
        self.fs = fs
        self.noise, self.noise_fs = self.session.signal("noise")
        self.analysis = ss.analyze(self.session)
        self.heartbeats = ss.detect_heartbeats(self.x, fs)
        self.breathing = ss.detect_breathing(self.x, fs)
        self.present = ss.presence(self.x, fs)
        self.movements = ss.movement_bursts(self.x, fs, present=self.present)


_NIGHT: list[_Night] = []


def _night() -> _Night:
    if not _NIGHT:
        _NIGHT.append(_Night())
    return _NIGHT[0]


# --------------------------------------------------------------------------------------
# Signal functions: detect_heartbeats, detect_breathing, movement_bursts, presence,
# mains_interference, detect_snoring
# --------------------------------------------------------------------------------------

SIGNAL_FUNCTIONS = {
    "detect_heartbeats": lambda: ss.detect_heartbeats,
    "detect_breathing": lambda: ss.detect_breathing,
    "movement_bursts": lambda: ss.movement_bursts,
    "presence": lambda: ss.presence,
    "mains_interference": lambda: ss.mains_interference,
}
RESULT_TYPES = {
    "detect_heartbeats": "Heartbeats",
    "detect_breathing": "Breathing",
    "movement_bursts": "Movements",
    "presence": "Presence",
    "mains_interference": "SensorStatus",
}


@pytest.mark.parametrize("name", sorted(SIGNAL_FUNCTIONS))
@FUZZ
@given(signal=signals())
def test_signal_functions_bad_signal(name: str, signal: Any) -> None:
    f = SIGNAL_FUNCTIONS[name]()
    holds(lambda: f(signal, FS), "signal", getattr(ss, RESULT_TYPES[name]))


@pytest.mark.parametrize("name", sorted(SIGNAL_FUNCTIONS))
@FUZZ
@given(fs=numbers())
def test_signal_functions_bad_fs(name: str, fs: Any) -> None:
    f = SIGNAL_FUNCTIONS[name]()
    x = _night().x[: 20 * int(FS)]
    holds(lambda: f(x, fs), "fs", getattr(ss, RESULT_TYPES[name]))


@FUZZ
@given(
    option=st.sampled_from(["bpm_range", "band", "min_ncc", "max_deviation", "min_confidence"]),
    value=st.one_of(numbers(), st.tuples(numbers(), numbers()), st.tuples(numbers())),
)
def test_detect_heartbeats_bad_options(option: str, value: Any) -> None:
    x = _night().x[: 20 * int(FS)]
    holds(lambda: ss.detect_heartbeats(x, FS, **{option: value}), option, ss.Heartbeats)


@FUZZ
@given(which=st.sampled_from(["beat_times", "exclude", "exclude_one"]), a=arrays())
def test_detect_breathing_bad_side_inputs(which: str, a: Any) -> None:
    x = _night().x[: 60 * int(FS)]
    if which == "beat_times":
        kw: dict[str, Any] = {"beat_times": a}
    elif which == "exclude":
        kw = {"exclude": (a, a)}
    else:
        kw = {"exclude": a}
    holds(lambda: ss.detect_breathing(x, FS, **kw), which.split("_one")[0], ss.Breathing)


@settings(FUZZ, max_examples=10, phases=[Phase.explicit, Phase.generate])
@given(noise_fs=numbers().filter(lambda v: not (isinstance(v, float) and 1.0 <= v <= 1e6)))
def test_detect_snoring_bad_noise_fs(noise_fs: Any) -> None:
    n = _night()
    holds(lambda: ss.detect_snoring(n.noise, noise_fs, n.breathing), "noise_fs", ss.Snoring)


@pytest.mark.parametrize("breathing", [None, (1, 2), "breathing"])
def test_detect_snoring_bad_breathing(breathing: Any) -> None:
    holds(lambda: ss.detect_snoring(_night().noise, 10.0, breathing), "breathing", ss.Snoring)


@FUZZ
@given(noise=signals())
def test_detect_snoring_bad_noise(noise: Any) -> None:
    holds(lambda: ss.detect_snoring(noise, 10.0, _night().breathing), "noise", ss.Snoring)


# --------------------------------------------------------------------------------------
# Derived values: heart_rate, rmssd, night_hrv_indices, respiration_rate, actigram
# --------------------------------------------------------------------------------------


@FUZZ
@given(
    option=st.sampled_from(["duration", "window", "min_coverage", "heartbeats"]),
    value=numbers(),
)
def test_heart_rate_bad_input(option: str, value: Any) -> None:
    hb: Any = _night().heartbeats
    kw: dict[str, Any] = {"duration": 900.0}
    if option == "heartbeats":
        hb = value
    else:
        kw[option] = value
    holds(lambda: ss.heart_rate(hb, **kw), option, tuple)


@FUZZ
@given(
    option=st.sampled_from(["intervals", "starts", "tolerance", "min_pairs"]),
    a=arrays(),
    value=numbers(),
)
def test_rmssd_bad_input(option: str, a: Any, value: Any) -> None:
    iv: Any = np.full(60, 0.8)
    kw: dict[str, Any] = {}
    if option == "intervals":
        iv = a
    elif option == "starts":
        kw["starts"] = a
    else:
        kw[option] = value
    holds(lambda: ss.rmssd(iv, **kw), option, float)


@FUZZ
@given(
    option=st.sampled_from(["times", "intervals", "both", "start", "end"]),
    a=arrays(),
    value=numbers(),
)
def test_night_hrv_indices_bad_input(option: str, a: Any, value: Any) -> None:
    iv: Any = np.full(900, 0.9)
    t: Any = np.cumsum(iv) - 0.9
    kw: dict[str, Any] = {"start": 0.0, "end": 900.0}
    if option == "times":
        t = a
    elif option == "intervals":
        iv = a
    elif option == "both":
        t = iv = a
    else:
        kw[option] = value
    names = ("times", "intervals") if option == "both" else option
    holds(lambda: ss.night_hrv_indices(t, iv, **kw), names, dict)


@FUZZ
@given(
    option=st.sampled_from(["starts", "lengths", "start", "end", "cycles"]),
    a=arrays(),
    value=numbers(),
)
def test_respiration_rate_bad_input(option: str, a: Any, value: Any) -> None:
    starts: Any = np.arange(0.0, 300.0, 4.0)
    lengths: Any = np.full(starts.shape, 4.0)
    kw: dict[str, Any] = {"start": 0.0, "end": 300.0}
    cycles: Any = None
    if option == "starts":
        starts = a
    elif option == "lengths":
        lengths = a
    elif option == "cycles":
        cycles = value
    else:
        kw[option] = value
    if cycles is None:
        cycles = (starts, lengths)
    names = ("cycle", "starts", "lengths") if option in ("starts", "lengths") else option
    holds(lambda: ss.respiration_rate(cycles, **kw), names, float)


@FUZZ
@given(
    option=st.sampled_from(["duration", "epoch_s", "movements", "present"]),
    value=numbers(),
)
def test_actigram_bad_input(option: str, value: Any) -> None:
    n = _night()
    args: dict[str, Any] = {"movements": n.movements, "present": n.present}
    kw: dict[str, Any] = {"duration": 900.0}
    if option in args:
        args[option] = value
    else:
        kw[option] = value
    holds(lambda: ss.actigram(args["movements"], args["present"], **kw), option, tuple)


# --------------------------------------------------------------------------------------
# Staging, statistics, nights
# --------------------------------------------------------------------------------------

PAIRS = ["heartbeat", "heart_rate", "actigram", "respiration_cycles", "presence", "sensor_status"]


@FUZZ
@given(
    pair=st.sampled_from(PAIRS),
    times=arrays(),
    values=st.one_of(arrays(), st.just("same")),
    n_epochs=st.one_of(st.just(30), numbers(), st.just(2**40)),
)
def test_stage_epochs_bad_input(pair: str, times: Any, values: Any, n_epochs: Any) -> None:
    v = times if isinstance(values, str) else values
    holds(
        lambda: ss.stage_epochs(n_epochs, **{pair: (times, v)}),
        (pair, "n_epochs"),
        ss.EpochStages,
    )


@FUZZ
@given(value=st.one_of(numbers(), st.sampled_from(["nope", ("a",), (np.ones(3),)])))
def test_stage_epochs_bad_pair_object(value: Any) -> None:
    holds(lambda: ss.stage_epochs(30, heartbeat=value), "heartbeat", ss.EpochStages)


@FUZZ
@given(
    option=st.sampled_from(
        ["times", "codes", "duration", "min_gap", "min_period", "pad", "max_period"]
    ),
    a=arrays(),
    value=numbers(),
)
def test_sleep_periods_bad_input(option: str, a: Any, value: Any) -> None:
    times: Any = np.array([0.0, 100.0, 5000.0])
    codes: Any = np.array([1, 0, 1])
    duration: Any = 10000.0
    kw: dict[str, Any] = {}
    if option == "times":
        times = a
    elif option == "codes":
        codes = a
    elif option == "duration":
        duration = value
    else:
        kw[option] = value
    names = ("presence", option) if option in ("times", "codes") else option
    holds(lambda: ss.sleep_periods(times, codes, duration, **kw), names, list)


@FUZZ
@given(
    option=st.sampled_from(
        ["hypnogram", "session", "min_awakening", "hrv", "hrv_value", "respiration_rate"]
    ),
    value=numbers(),
)
def test_night_statistics_bad_input(option: str, value: Any) -> None:
    n = _night()
    args: dict[str, Any] = {"hypnogram": n.analysis.hypnogram, "session": n.session}
    kw: dict[str, Any] = {}
    if option in args:
        args[option] = value
    elif option == "hrv_value":
        kw["hrv"] = {"all_night_HRV_index": value}
    else:
        kw[option] = value
    holds(
        lambda: ss.night_statistics(args["hypnogram"], args["session"], **kw),
        option.split("_value")[0],
        ss.NightStatistics,
    )


@FUZZ
@given(option=st.sampled_from(["stats", "sleep_time_target"]), value=numbers())
def test_sleep_score_bad_input(option: str, value: Any) -> None:
    stats: Any = _night().analysis.statistics
    kw: dict[str, Any] = {}
    if option == "stats":
        stats = value
    else:
        kw[option] = value
    holds(lambda: ss.sleep_score(stats, **kw), option, ss.SleepScore)


@FUZZ
@given(value=st.one_of(numbers(), st.sampled_from(["hypnogram", "stats"])))
def test_hypnogram_csv_bad_input(value: Any) -> None:
    if value == "hypnogram":
        value = _night().analysis.hypnogram
    elif value == "stats":
        value = _night().analysis.statistics
    holds(lambda: ss.hypnogram_csv(value), "hypnogram", str)


# --------------------------------------------------------------------------------------
# Sessions: Session.from_array + session_tracks + stage_session + analyze, split_nights,
# build_records, query_sessions
# --------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=30)
@given(
    option=st.sampled_from(["samples", "fs", "start", "noise", "noise_fs"]),
    a=signals(),
    value=numbers(),
)
def test_session_from_array_then_analyze(option: str, a: Any, value: Any) -> None:
    n = _night()
    kw: dict[str, Any] = {
        "samples": n.x[: 120 * int(FS)],
        "fs": FS,
        "start": 1.7e9,
        "noise": np.asarray(n.noise[:1200]),
        "noise_fs": 10.0,
    }
    kw[option] = a if option in ("samples", "noise") else value
    # the frame checks compare samples, fs, noise and noise_fs: naming either side is right
    names = (option, "samples", "noise") if option in ("fs", "noise_fs") else option
    samples, fs = kw.pop("samples"), kw.pop("fs")
    holds(lambda: ss.Session.from_array(samples, fs, **kw), names, ss.Session)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SleepSignalWarning)
            session = ss.Session.from_array(samples, FS, start=1.7e9)
    except SleepSignalError:
        return
    # whatever the samples, the rest of the pipeline on the session holds the property
    holds(lambda: ss.session_tracks(session), ("signal", "normal", "samples"), ss.SessionTracks)
    holds(lambda: ss.stage_session(session), ("signal", "normal", "session"), ss.Hypnogram)
    holds(lambda: ss.analyze(session), ("signal", "normal", "session"), ss.Analysis)
    holds(lambda: ss.split_nights(session), ("signal", "session", "presence"), list)


@FUZZ
@given(beat_times=arrays())
def test_session_tracks_bad_beat_times(beat_times: Any) -> None:
    holds(
        lambda: ss.session_tracks(_night().session, beat_times=beat_times),
        "beat_times",
        ss.SessionTracks,
    )


@FUZZ
@given(
    option=st.sampled_from(
        [
            "session",
            "hypnogram",
            "stats",
            "updated",
            "hrv",
            "respiration_rate",
            "sleep_time_target",
            "patient_id",
        ]
    ),
    value=numbers(),
)
def test_build_records_bad_input(option: str, value: Any) -> None:
    n = _night()
    args: dict[str, Any] = {"session": n.session, "hypnogram": n.analysis.hypnogram}
    kw: dict[str, Any] = {}
    if option in args:
        args[option] = value
    elif option == "hrv":
        kw["hrv"] = {"all_night_HRV_index": value}
    else:
        kw[option] = value
    # identifiers are refused in the API's own words (patientId)
    names = (option, "patientId") if option == "patient_id" else option
    holds(lambda: ss.build_records(args["session"], args["hypnogram"], **kw), names, object)


@FUZZ
@given(
    option=st.sampled_from(["updated_after", "start_timestamp", "end_timestamp", "sessions"]),
    value=numbers(),
)
def test_query_sessions_bad_input(option: str, value: Any) -> None:
    sessions: Any = [_night().session]
    kw: dict[str, Any] = {}
    if option == "sessions":
        sessions = value
        kw["updated_after"] = 0.0
    elif option == "updated_after":
        kw[option] = value
    else:
        kw = {"start_timestamp": 0.0, "end_timestamp": 2e9}
        kw[option] = value
    # the API's wording names the query parameters it needs, not ``sessions``
    names = (option, "updated_after", "start_timestamp") if option == "sessions" else option
    holds(lambda: ss.query_sessions(sessions, **kw), names, list)


# --------------------------------------------------------------------------------------
# Decoders: read_bt2 (random and mutated bytes), read_session (spoiled demo session)
# --------------------------------------------------------------------------------------

_BT2_SAMPLES = (np.arange(28 * 2 * 6, dtype=np.int64).reshape(-1, 2) * 37 % 4096).astype(np.uint16)


def _valid_bt2() -> bytes:
    return ss.write_bt2(_BT2_SAMPLES)


@FUZZ
@given(data=st.binary(max_size=400), channels=st.one_of(st.just(2), numbers()))
def test_read_bt2_random_bytes(data: bytes, channels: Any) -> None:
    from sleepsignal.io.bt2 import Bt2Stream

    holds(lambda: ss.read_bt2(data, channels=channels), ("stream", "channels", "packet"), Bt2Stream)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "drop", "dup"]),
            st.integers(0, 10**6),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=4,
    ),
    strict=st.booleans(),
)
def test_read_bt2_mutated_stream(edits: list[tuple[str, int, int]], strict: bool) -> None:
    from sleepsignal.io.bt2 import Bt2Stream

    data = bytearray(_valid_bt2())
    for kind, pos, byte in edits:
        if not data:
            break
        i = pos % len(data)
        if kind == "flip":
            data[i] ^= byte or 1
        elif kind == "cut":
            data = data[:i]
        elif kind == "drop":
            del data[i : i + byte % 40 + 1]
        else:
            data[i:i] = data[i : i + byte % 40 + 1]
    holds(lambda: ss.read_bt2(bytes(data), strict=strict), ("stream", "packet", "byte"), Bt2Stream)


@settings(FUZZ, max_examples=30)
@given(
    option=st.sampled_from(["source", "chunks", "fs", "noise", "noise_fs", "chunk_s", "offset"]),
    a=signals(),
    value=numbers(),
)
def test_stream_tracks_bad_input(option: str, a: Any, value: Any) -> None:
    n = _night()
    source: Any = n.x[: 120 * int(FS)]
    fs: Any = FS
    kw: dict[str, Any] = {"noise": np.asarray(n.noise[:1200]), "noise_fs": 10.0}
    if option == "source":
        source = a
    elif option == "chunks":
        source = [source[:5000], a, source[5000:]]
    elif option == "fs":
        fs = value
    elif option == "noise":
        kw["noise"] = a
    else:
        kw[option] = value
    names = {"source": "signal", "chunks": "chunk", "noise_fs": "fs"}.get(option, option)
    holds(lambda: ss.stream_tracks(source, fs, heartbeats=False, **kw), names, ss.StreamedTracks)


@FUZZ
@given(
    option=st.sampled_from(["samples", "samples_per_packet", "first_packet_number"]),
    a=arrays(),
    value=st.one_of(numbers(), st.sampled_from([40000, 2**40, 2**32 + 5])),
)
def test_write_bt2_bad_input(option: str, a: Any, value: Any) -> None:
    samples: Any = np.ones((40000, 2), np.uint16)
    kw: dict[str, Any] = {}
    if option == "samples":
        samples = a
    else:
        kw[option] = value
    holds(lambda: ss.write_bt2(samples, **kw), option, bytes)


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for k in path[:-1]:
        obj = obj[k]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()
_JSON_PATHS: list[tuple[Any, ...]] = [
    ("start_timestamp",),
    ("end_timestamp",),
    ("frame_length",),
    ("timezone",),
    ("id",),
    ("sampled_tracks",),
    ("sampled_tracks", "normal"),
    ("sampled_tracks", "normal", "samples_per_frame"),
    ("sampled_tracks", "normal", "data_type"),
    ("sampled_tracks", "normal", "data_url"),
    ("sampled_tracks", "noise", "samples_per_frame"),
    ("time_value_tracks",),
    ("time_value_tracks", "heart_rate"),
    ("time_value_tracks", "heart_rate", "items"),
    ("time_value_tracks", "heart_rate", "value_data_type"),
    ("time_value_tracks", "heart_rate", "items", 0),
    ("time_value_tracks", "heart_rate", "items", 1, 0),
    ("time_value_tracks", "heart_rate", "items", 1, 1),
]
_JSON_VALUES: list[Any] = [
    _DELETE,
    None,
    "text",
    -1,
    0,
    1e300,
    -1e300,
    2.5,
    True,
    [],
    {},
    [1],
    [[5.0, 1.0], [1.0, 2.0]],
    [[1.0, 1.0], [1.0, 2.0]],
    "int8",
    "float64",
    "http://example.org/x.bin",
    "../outside.bin",
    "file:///nonexistent/x.bin",
]


def _demo(tmp: Path) -> Path:
    target = tmp / "demo"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(FIXTURES / "demo_session", target)
    doc = json.loads((target / "session.json").read_text())
    # a time-value track with out-of-order and duplicated candidates to spoil
    doc["time_value_tracks"]["heart_rate"] = {
        "value_data_type": "float32",
        "items": [[0.0, 60.0], [30.0, 61.0], [60.0, 62.0]],
    }
    (target / "session.json").write_text(json.dumps(doc))
    return target


@settings(FUZZ, max_examples=120)
@given(
    path=st.sampled_from(_JSON_PATHS),
    value=st.sampled_from(range(len(_JSON_VALUES))),
)
def test_read_session_spoiled_json(
    tmp_path_factory: Any, path: tuple[Any, ...], value: int
) -> None:
    from sleepsignal.session import Session

    d = _demo(tmp_path_factory.mktemp("json"))
    doc = json.loads((d / "session.json").read_text())
    _set(doc, path, _JSON_VALUES[value])
    (d / "session.json").write_text(json.dumps(doc))

    def read_and_use() -> Session:
        s = ss.read_session(d / "session.json")
        s.signal("normal")
        s.to_frame()
        return s

    # "normal": the spoiled JSON may hold no such track (MissingTrackError from .signal)
    # the message starts with the file path: the field must be named after it
    holds(
        read_and_use,
        (str(path[-1]), "'normal'"),
        Session,
        after=str(d / "session.json") + ": ",
    )


@FUZZ
@given(
    cut=st.integers(0, 400),
    blob=st.sampled_from(["normal.bin", "noise.bin", "session.json"]),
    mode=st.sampled_from(["truncate", "garbage", "empty"]),
)
def test_read_session_spoiled_files(tmp_path_factory: Any, cut: int, blob: str, mode: str) -> None:
    from sleepsignal.session import Session

    d = _demo(tmp_path_factory.mktemp("blob"))
    p = d / blob
    data = p.read_bytes()
    if mode == "truncate":
        data = data[: max(0, len(data) - 1 - cut)]
    elif mode == "garbage":
        data = data[:cut] + bytes(range(256))[: cut % 64 + 1] + data[cut + 1 :]
    else:
        data = b""
    p.write_bytes(data)

    def read_and_use() -> Session:
        s = ss.read_session(d / "session.json")
        s.signal("normal")
        return s

    # a spoiled blob must be named after the session.json path every message starts with
    names = ("normal", "noise") if blob != "session.json" else ("JSON", "json")
    holds(read_and_use, names, Session, after=str(d / "session.json") + ": ")


def test_night_hrv_indices_night_longer_than_the_intervals() -> None:
    """Found by the fuzz test: a span starting after the last interval indexed past the
    cumulative pair count (IndexError) whenever the night outlasted the intervals."""
    iv = np.full(900, 0.9)
    t = np.cumsum(iv) - 0.9
    out = ss.night_hrv_indices(t, iv, start=0.0, end=8000.0)
    assert out["evening_HRV_index"] == 0.0  # constant intervals: RMSSD 0
    assert "morning_HRV_index" not in out  # no interval in the last third


@FUZZ
@given(
    function=st.sampled_from(["session_tracks", "stage_session", "analyze", "split_nights"]),
    value=st.one_of(numbers(), st.sampled_from(["session.json", {"start_timestamp": 0.0}])),
)
def test_session_functions_refuse_what_is_not_a_session(function: str, value: Any) -> None:
    f = getattr(ss, function)
    holds(lambda: f(value), "session", object)


@FUZZ
@given(
    option=st.sampled_from(["min_gap", "min_period", "pad", "max_period"]),
    value=numbers(),
)
def test_split_nights_bad_options(option: str, value: Any) -> None:
    # the analysed session carries the presence track split_nights needs
    session = _night().analysis.session
    holds(lambda: ss.split_nights(session, **{option: value}), option, list)


@FUZZ
@given(
    option=st.sampled_from(["patient_id", "device_id", "device_identifier", "updated"]),
    value=numbers(),
)
def test_analyze_bad_options(option: str, value: Any) -> None:
    names = (option, "patientId", "deviceId", "deviceIdentifier")
    holds(lambda: ss.analyze(_night().session, **{option: value}), names, ss.Analysis)


@FUZZ
@given(present=st.one_of(numbers(), st.sampled_from(["movements", "presence"])))
def test_movement_bursts_bad_present(present: Any) -> None:
    n = _night()
    if present == "movements":
        present = n.movements
    elif present == "presence":
        present = n.present
    x = n.x[: 60 * int(FS)]
    holds(lambda: ss.movement_bursts(x, FS, present=present), "present", ss.Movements)


@FUZZ
@given(
    option=st.sampled_from(["timezone", "name", "start"]),
    value=st.one_of(numbers(), st.sampled_from(["Nowhere/Land", "", "UTC"])),
)
def test_session_from_array_bad_metadata(option: str, value: Any) -> None:
    x = _night().x[:1400]
    holds(
        lambda: ss.Session.from_array(x, FS, **{"start": 1.7e9, option: value}),
        (option, "time zone"),
        ss.Session,
    )


@pytest.mark.parametrize("reader", ["read_session", "read_bt2"])
def test_readers_missing_or_odd_path(tmp_path: Path, reader: str) -> None:
    f = getattr(ss, reader)
    for path in (tmp_path / "absent.json", tmp_path, 3.0):
        holds(lambda path=path: f(path), (str(path), "path", "stream"), object)


# --------------------------------------------------------------------------------------
# Each finding of the fuzz merge (bb643b5, its commit messages), pinned as one explicit
# case: the error class and the argument the message names. The generated tests above
# accept any result of the documented type, so a fix reverted to a silent empty answer
# (a NaN bound giving []) would pass them; these cannot.
# --------------------------------------------------------------------------------------


def _x() -> np.ndarray:
    return np.asarray(_night().x[: 60 * int(FS)], dtype=np.float64)


def _hb() -> Any:
    return ss.detect_heartbeats(_x(), FS)


def _session() -> Any:
    return ss.Session.from_array(_x().astype(np.float32), FS, start=1.6e9)


def _hyp() -> Any:
    return ss.Hypnogram(np.array([0, 0, 1, 1, 2, 2, 0, 0]), start=1.6e9)


def _mv_pr() -> tuple[Any, Any]:
    x = _x()
    pr = ss.presence(x, FS)
    return ss.movement_bursts(x, FS, present=pr), pr


_E = ss.SignalError
_t5 = np.arange(5.0)
_FINDINGS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # 01a3b96 detect_heartbeats / heart_rate
    (
        "hb bpm_range short",
        lambda: ss.detect_heartbeats(_x(), FS, bpm_range=(30,)),
        _E,
        "bpm_range",
    ),
    ("hb band short", lambda: ss.detect_heartbeats(_x(), FS, band=(2,)), _E, "band"),
    ("hb bpm_range str", lambda: ss.detect_heartbeats(_x(), FS, bpm_range="a"), _E, "bpm_range"),
    ("hb min_ncc str", lambda: ss.detect_heartbeats(_x(), FS, min_ncc="1"), _E, "min_ncc"),
    ("hb min_ncc None", lambda: ss.detect_heartbeats(_x(), FS, min_ncc=None), _E, "min_ncc"),
    (
        "hb max_deviation 0",
        lambda: ss.detect_heartbeats(_x(), FS, max_deviation=0),
        _E,
        "max_deviation",
    ),
    ("hb fs huge int", lambda: ss.detect_heartbeats(_x(), 10**400), _E, "fs"),
    ("hb ragged", lambda: ss.detect_heartbeats([[1.0, 2.0], [3.0]], FS), _E, "signal"),
    ("hr duration str", lambda: ss.heart_rate(_hb(), duration="1"), _E, "duration"),
    ("hr duration None", lambda: ss.heart_rate(_hb(), duration=None), _E, "duration"),
    ("hr duration list", lambda: ss.heart_rate(_hb(), duration=[1, 2]), _E, "duration"),
    ("hr duration huge", lambda: ss.heart_rate(_hb(), duration=1e300), _E, "duration"),
    ("hr window tiny", lambda: ss.heart_rate(_hb(), duration=60.0, window=1e-300), _E, "window"),
    ("hr not Heartbeats", lambda: ss.heart_rate((1, 2), duration=60.0), _E, "heartbeats"),
    # 77fa4dd track functions
    ("mains fs huge", lambda: ss.mains_interference(_x(), 1e300), _E, "fs"),
    ("mains fs huge int", lambda: ss.mains_interference(_x(), 10**400), _E, "fs"),
    ("movement x1e300", lambda: ss.movement_bursts(_x() * 1e300, FS), _E, "signal"),
    ("presence ragged", lambda: ss.presence([[1.0, 2.0], [3.0]], FS), _E, "signal"),
    # 2414a2e rmssd / night_hrv_indices
    ("rmssd str", lambda: ss.rmssd("abc"), _E, "intervals"),
    ("rmssd complex", lambda: ss.rmssd(np.ones(5) + 1j), _E, "intervals"),
    ("rmssd min_pairs str", lambda: ss.rmssd(np.ones(5), min_pairs="1"), _E, "min_pairs"),
    ("rmssd min_pairs None", lambda: ss.rmssd(np.ones(5), min_pairs=None), _E, "min_pairs"),
    ("rmssd tolerance nan", lambda: ss.rmssd(np.ones(5), tolerance=float("nan")), _E, "tolerance"),
    ("rmssd tolerance <0", lambda: ss.rmssd(np.ones(5), tolerance=-1.0), _E, "tolerance"),
    ("hrv idx str", lambda: ss.night_hrv_indices(_t5, "abc", start=0.0, end=5.0), _E, "intervals"),
    (
        "hrv idx start str",
        lambda: ss.night_hrv_indices(_t5, np.ones(5), start="1", end=5.0),
        _E,
        "start",
    ),
    (
        "hrv idx start None",
        lambda: ss.night_hrv_indices(_t5, np.ones(5), start=None, end=5.0),
        _E,
        "start",
    ),
    (
        "hrv idx end huge",
        lambda: ss.night_hrv_indices(_t5, np.ones(5), start=0.0, end=1e300),
        _E,
        "end",
    ),
    # 2e53b04 detect_breathing / respiration_rate
    (
        "br beat_times complex",
        lambda: ss.detect_breathing(_x(), FS, beat_times=_t5 + 1j),
        _E,
        "beat_times",
    ),
    (
        "br exclude complex",
        lambda: ss.detect_breathing(_x(), FS, exclude=(_t5 + 1j, _t5 + 1j)),
        _E,
        "exclude",
    ),
    (
        "rr complex",
        lambda: ss.respiration_rate((_t5 + 1j, _t5 + 1j), start=0.0, end=5.0),
        _E,
        "cycle",
    ),
    ("rr str", lambda: ss.respiration_rate(("abc", "abc"), start=0.0, end=5.0), _E, "cycle"),
    (
        "rr start str",
        lambda: ss.respiration_rate((_t5, np.ones(5)), start="1", end=5.0),
        _E,
        "start",
    ),
    (
        "rr start list",
        lambda: ss.respiration_rate((_t5, np.ones(5)), start=[1, 2], end=5.0),
        _E,
        "start",
    ),
    # d3ba65d actigram
    ("acti duration str", lambda: ss.actigram(*_mv_pr(), duration="1"), _E, "duration"),
    ("acti duration list", lambda: ss.actigram(*_mv_pr(), duration=[1, 2]), _E, "duration"),
    ("acti duration huge", lambda: ss.actigram(*_mv_pr(), duration=1e300), _E, "duration"),
    (
        "acti epoch tiny",
        lambda: ss.actigram(*_mv_pr(), duration=60.0, epoch_s=1e-300),
        _E,
        "epoch_s",
    ),
    ("acti swapped", lambda: ss.actigram(*_mv_pr()[::-1], duration=60.0), _E, "movements"),
    # 765c763 stage_epochs / hypnogram_csv
    (
        "stage nan time",
        lambda: ss.stage_epochs(30, heartbeat=(np.array([np.nan]), np.ones(1))),
        _E,
        "heartbeat",
    ),
    (
        "stage inf time",
        lambda: ss.stage_epochs(30, actigram=(np.array([np.inf]), np.ones(1))),
        _E,
        "actigram",
    ),
    (
        "stage huge time",
        lambda: ss.stage_epochs(30, presence=(np.array([1e300]), np.ones(1))),
        _E,
        "presence",
    ),
    ("stage complex", lambda: ss.stage_epochs(30, heartbeat=(_t5 + 1j, _t5 + 1j)), _E, "heartbeat"),
    ("stage huge n", lambda: ss.stage_epochs(2**40), _E, "n_epochs"),
    ("csv None", lambda: ss.hypnogram_csv(None), _E, "hypnogram"),
    # a4fee54 sleep_periods
    ("periods str", lambda: ss.sleep_periods("abc", np.ones(3), 1e4), _E, "presence_times"),
    ("periods complex", lambda: ss.sleep_periods(_t5 + 1j, np.ones(5), 1e4), _E, "presence_times"),
    ("periods duration str", lambda: ss.sleep_periods(_t5, np.ones(5), "1"), _E, "duration"),
    (
        "periods min_gap None",
        lambda: ss.sleep_periods(_t5, np.ones(5), 1e4, min_gap=None),
        _E,
        "min_gap",
    ),
    # a71813e night_statistics / sleep_score
    ("stats None", lambda: ss.night_statistics(None), _E, "hypnogram"),
    ("stats hrv int", lambda: ss.night_statistics(_hyp(), hrv=3), _E, "hrv"),
    (
        "stats rr str",
        lambda: ss.night_statistics(_hyp(), respiration_rate="1"),
        _E,
        "respiration_rate",
    ),
    ("score None", lambda: ss.sleep_score(None), _E, "stats"),
    (
        "score target str",
        lambda: ss.sleep_score(ss.night_statistics(_hyp()), sleep_time_target="1"),
        _E,
        "sleep_time_target",
    ),
    # 4a34209 / 60ba054 build_records
    (
        "records updated nan",
        lambda: ss.build_records(_session(), _hyp(), updated=float("nan")),
        _E,
        "updated",
    ),
    (
        "records updated list",
        lambda: ss.build_records(_session(), _hyp(), updated=[1, 2]),
        _E,
        "updated",
    ),
    (
        "records hrv 1e300",
        lambda: ss.build_records(_session(), _hyp(), hrv={"all_night_HRV_index": 1e300}),
        _E,
        "all_night_HRV_index",
    ),
    (
        "records hrv 10**400",
        lambda: ss.build_records(_session(), _hyp(), hrv={"all_night_HRV_index": 10**400}),
        _E,
        "all_night_HRV_index",
    ),
    (
        "records hrv bool",
        lambda: ss.build_records(_session(), _hyp(), hrv={"all_night_HRV_index": True}),
        _E,
        "all_night_HRV_index",
    ),
    # 33716d2 Session.from_array
    (
        "from_array complex noise",
        lambda: ss.Session.from_array(_x(), FS, start=0.0, noise=np.ones(40) + 1j, noise_fs=10.0),
        _E,
        "noise",
    ),
    (
        "from_array str noise",
        lambda: ss.Session.from_array(_x(), FS, start=0.0, noise="abc", noise_fs=10.0),
        _E,
        "noise",
    ),
    (
        "from_array scalar noise",
        lambda: ss.Session.from_array(_x(), FS, start=0.0, noise=3.0, noise_fs=10.0),
        _E,
        "noise",
    ),
    (
        "from_array noise 1e300",
        lambda: ss.Session.from_array(_x(), FS, start=0.0, noise=np.full(40, 1e300), noise_fs=10.0),
        _E,
        "noise",
    ),
    (
        "from_array x1e300",
        lambda: ss.Session.from_array(_x() * 1e300, FS, start=0.0),
        _E,
        "float32",
    ),
    ("from_array fs huge", lambda: ss.Session.from_array(_x(), 10**400, start=0.0), _E, "fs"),
    ("from_array start huge", lambda: ss.Session.from_array(_x(), FS, start=10**400), _E, "start"),
    (
        "from_array ragged",
        lambda: ss.Session.from_array([[1.0, 2.0], [3.0]], FS, start=0.0),
        _E,
        "samples",
    ),
    # ea34a14 query_sessions
    (
        "query start str",
        lambda: ss.query_sessions([_session()], start_timestamp="140", end_timestamp=2e9),
        ss.QueryError,
        "start_timestamp",
    ),
    (
        "query updated nan",
        lambda: ss.query_sessions([_session()], updated_after=float("nan")),
        ss.QueryError,
        "updated_after",
    ),
    (
        "query start nan",
        lambda: ss.query_sessions([_session()], start_timestamp=float("nan"), end_timestamp=2e9),
        ss.QueryError,
        "start_timestamp",
    ),
    (
        "query not iterable",
        lambda: ss.query_sessions(0, updated_after=0.0),
        ss.QueryError,
        "sessions",
    ),
    (
        "query not sessions",
        lambda: ss.query_sessions([1.0, 2.0], updated_after=0.0),
        ss.QueryError,
        "sessions",
    ),
    # c3cc8a2 / 44dcb0c read_bt2, read_session
    ("bt2 channels nan", lambda: ss.read_bt2(b"", channels=float("nan")), _E, "channels"),
    ("bt2 channels str", lambda: ss.read_bt2(b"", channels="140"), _E, "channels"),
    ("bt2 channels huge", lambda: ss.read_bt2(b"", channels=10**400), _E, "channels"),
    ("bt2 absent", lambda: ss.read_bt2("absent.bt2"), ss.DecodeError, "absent.bt2"),
    ("bt2 float", lambda: ss.read_bt2(3.0), ss.DecodeError, "stream"),
    ("session float", lambda: ss.read_session(3.0), ss.DecodeError, "path"),
    # 2a362c4 write_bt2
    (
        "wbt2 spp float",
        lambda: ss.write_bt2(np.ones((40, 2), np.uint16), samples_per_packet=1.5),
        _E,
        "samples_per_packet",
    ),
    (
        "wbt2 spp None",
        lambda: ss.write_bt2(np.ones((40, 2), np.uint16), samples_per_packet=None),
        _E,
        "samples_per_packet",
    ),
    (
        "wbt2 first str",
        lambda: ss.write_bt2(np.ones((40, 2), np.uint16), first_packet_number="a"),
        _E,
        "first_packet_number",
    ),
    (
        "wbt2 payload",
        lambda: ss.write_bt2(np.ones((40000, 2), np.uint16), samples_per_packet=40000),
        _E,
        "samples_per_packet",
    ),
    # 09508c6 stream_tracks
    ("stream x1e300", lambda: ss.stream_tracks(_x() * 1e300, FS, heartbeats=False), _E, "signal"),
    ("stream None", lambda: ss.stream_tracks(None, FS, heartbeats=False), _E, "signal"),
    (
        "stream ragged noise",
        lambda: ss.stream_tracks(
            _x(), FS, noise=[[1.0], [2.0, 3.0]], noise_fs=10.0, heartbeats=False
        ),
        _E,
        "noise",
    ),
    (
        "stream offset str",
        lambda: ss.stream_tracks(_x(), FS, offset="1", heartbeats=False),
        _E,
        "offset",
    ),
    (
        "stream offset nan",
        lambda: ss.stream_tracks(_x(), FS, offset=float("nan"), heartbeats=False),
        _E,
        "offset",
    ),
    (
        "stream offset list",
        lambda: ss.stream_tracks(_x(), FS, offset=[1, 2], heartbeats=False),
        _E,
        "offset",
    ),
    (
        "stream offset huge",
        lambda: ss.stream_tracks(_x(), FS, offset=10**400, heartbeats=False),
        _E,
        "offset",
    ),
    (
        "stream chunk_s huge",
        lambda: ss.stream_tracks(_x(), FS, chunk_s=10**400, heartbeats=False),
        _E,
        "chunk_s",
    ),
    # 464b0f9, 250d4fd
    ("movement present int", lambda: ss.movement_bursts(_x(), FS, present=0), _E, "present"),
    ("analyze int", lambda: ss.analyze(0), _E, "session"),
    ("stage_session dict", lambda: ss.stage_session({"start_timestamp": 0.0}), _E, "session"),
    ("split_nights str", lambda: ss.split_nights("session.json"), _E, "session"),
]


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [pytest.param(c, e, n, id=i) for i, c, e, n in _FINDINGS],
)
def test_fuzz_finding_raises(call: Callable[[], Any], error: type[Exception], name: str) -> None:
    """Each input the fuzz merge fixed raises its error naming the argument."""
    holds(call, name, object, must_raise=error)


# --------------------------------------------------------------------------------------
# stage_session keeps its contract (no_signal and a message, never an exception) for
# session data that stage_epochs refuses: the fuzz limits must not fail a batch session.
# --------------------------------------------------------------------------------------


def _tv_session(duration: float, times: np.ndarray) -> Any:
    from sleepsignal.session import Session

    s = Session(
        metadata={"start_timestamp": 1.7e9, "end_timestamp": 1.7e9 + duration, "timezone": "UTC"}
    )
    hr = ss.TimeValueTrack("heart_rate", times, np.full(len(times), 60, np.float32), "float32")
    return s.with_tracks([hr])


@pytest.mark.parametrize("method", ["auto", "heart_rate"])
def test_stage_session_track_times_in_ms_are_no_signal_with_a_message(method: str) -> None:
    """heart_rate times in ms of Unix time (beyond +-1e12 s): stage_epochs raises, but
    stage_session leaves the track out, names it and stages no_signal."""
    s = _tv_session(1800.0, 1.7e12 + np.arange(0.0, 1.8e6, 3e4))
    h = ss.stage_session(s, method=method)  # type: ignore[arg-type]
    assert len(h) == 60 and (h.stages == 5).all()
    assert h.info["message"].startswith("heart_rate: times must be finite"), h.info
    a = ss.analyze(s)
    assert any("heart_rate: times" in n for n in a.notes), a.notes


def test_stage_session_absurd_duration_is_a_message_not_an_error() -> None:
    """end_timestamp = start + 4e8 s is more epochs than stage_epochs allows: no epoch
    and a message naming the timestamps (it raised SignalError out of analyze)."""
    s = _tv_session(4e8, np.arange(15.0, 1800.0, 30.0))
    h = ss.stage_session(s)
    assert len(h) == 0
    assert "end_timestamp" in h.info["message"], h.info
    assert len(ss.analyze(s).hypnogram) == 0


def test_stage_session_still_raises_for_bad_arguments() -> None:
    s = _tv_session(1800.0, np.arange(15.0, 1800.0, 30.0))
    with pytest.raises(ss.SignalError, match="method"):
        ss.stage_session(s, method="bogus")  # type: ignore[arg-type]
    with pytest.raises(ss.SignalError, match="heartbeat track"):
        ss.stage_session(s, method="heartbeat")
    assert ss.stage_session(s).info["model"] == "heart_rate"  # valid input is staged


# --------------------------------------------------------------------------------------
# Valid input the fuzz merge's checks refused (review of fuzz): each gives the same
# answer as its plain-Python spelling.
# --------------------------------------------------------------------------------------


def test_pairs_as_any_real_array_like() -> None:
    import pandas as pd

    x = _x()
    want = ss.detect_heartbeats(x, FS, band=(5.0, 20.0), bpm_range=(40.0, 150.0))
    for band, bpm in [
        (pd.Series([5, 20]), pd.Series([40, 150])),
        (np.array([5.0, 20.0]), np.array([40, 150])),
        ([np.float32(5), np.int64(20)], [40, 150.0]),
    ]:
        got = ss.detect_heartbeats(x, FS, band=band, bpm_range=bpm)
        np.testing.assert_array_equal(got.beat_times, want.beat_times)
    for bad in [(True, 20), ("5", "20"), np.array([[5, 20]]), (5, 20, 30), [[5], [20, 1]]]:
        with pytest.raises(ss.SignalError, match="band"):
            ss.detect_heartbeats(x, FS, band=bad)


def test_night_statistics_hrv_series_numpy_numbers_and_nan() -> None:
    import pandas as pd

    h = ss.Hypnogram(np.array([0, 1, 1, 2, 2, 3, 0, 1, 1, 0]), start=1.6e9)
    want = ss.night_statistics(h, hrv={"a": 0.03, "b": 0.04}, min_awakening=60.0)
    for hrv, mina in [
        (pd.Series({"a": 0.03, "b": 0.04}), 60),
        ({"a": np.float64(0.03), "b": 0.04, "c": np.float32("nan")}, np.float64(60.0)),
        ({"a": 0.03, "b": np.float32(0.04).item(), "c": float("nan")}, np.int64(60)),
    ]:
        got = ss.night_statistics(h, hrv=hrv, min_awakening=mina)
        assert got.hrv.keys() == want.hrv.keys()
        assert got.awakenings == want.awakenings
    got = ss.night_statistics(h, hrv={"a": np.float32(0.03)})
    assert got.hrv["a"] == float(np.float32(0.03))
    for bad in [{"a": True}, {"a": "0.03"}, {"a": -1.0}, {"a": np.float32("inf")}]:
        with pytest.raises(ss.SignalError, match="hrv"):
            ss.night_statistics(h, hrv=bad)
    with pytest.raises(ss.SignalError, match="min_awakening"):
        ss.night_statistics(h, min_awakening=np.float64("nan"))


def test_rmssd_min_pairs_whole_float() -> None:
    iv = np.array([0.80, 0.82, 0.79, 0.81])
    assert ss.rmssd(iv, min_pairs=2.0) == ss.rmssd(iv, min_pairs=2)
    assert ss.rmssd(iv, min_pairs=np.int64(3)) == ss.rmssd(iv)
    with pytest.raises(ss.SignalError, match="min_pairs"):
        ss.rmssd(iv, min_pairs=2.5)


def test_from_array_python_ints() -> None:
    s = ss.Session.from_array([1, 2, 3] * 28, 140.0, start=0.0)
    assert s.sampled_tracks["normal"].data_type == "int32"
    np.testing.assert_array_equal(s.signal("normal")[0], [1, 2, 3] * 28)
    big = ss.Session.from_array([2**40, 0, 1] * 28, 140.0, start=0.0)
    assert big.sampled_tracks["normal"].data_type == "float64"
    np.testing.assert_array_equal(big.signal("normal")[0], np.float32([2**40, 0, 1] * 28))


@pytest.mark.parametrize("fs", [1e300, 2e6, 10**400, float("inf"), 0.0, -140.0])
@pytest.mark.parametrize(
    "function", ["detect_heartbeats", "presence", "movement_bursts", "mains_interference"]
)
def test_one_fs_check_for_heartbeats_and_tracks(function: str, fs: float) -> None:
    """detect_heartbeats had its own fs check without the 1e6 Hz cap of the track
    functions: detect_heartbeats(x, 1e300) returned a result (review of fuzz)."""
    with pytest.raises(ss.SignalError, match="fs must be a finite sampling rate"):
        getattr(ss, function)(_x()[:1400], fs)


def test_detect_heartbeats_low_fs_says_why() -> None:
    with pytest.raises(ss.SignalError, match="too low to time heartbeats"):
        ss.detect_heartbeats(_x()[:1400], 20.0)


class _Reader:
    """A file-like object whose read() gives ``got`` or raises it."""

    def __init__(self, got: Any) -> None:
        self.got = got

    def read(self) -> Any:
        if isinstance(self.got, Exception):
            raise self.got
        return self.got


def test_read_bt2_file_objects() -> None:
    """review of fuzz: a read() giving a memoryview was refused ('must be opened in
    binary mode'); an OSError from read() escaped while a path's was a DecodeError."""
    data = ss.write_bt2(np.arange(280, dtype=np.uint16).reshape(140, 2))
    want = ss.read_bt2(data).channel(0)
    for got in (data, bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(ss.read_bt2(_Reader(got)).channel(0), want)
    with pytest.raises(ss.DecodeError, match="cannot read the bt2 stream"):
        ss.read_bt2(_Reader(OSError(5, "Input/output error")))
    with pytest.raises(ss.DecodeError, match="binary mode"):
        ss.read_bt2(_Reader("text"))
    with pytest.raises(ss.DecodeError, match="must give bytes"):
        ss.read_bt2(_Reader(3.0))


def test_from_array_float32_range_with_nan_and_inf() -> None:
    """The float32-range check takes min/max first (no 4 M temporaries on a valid night)
    and a mask only when they are not conclusive: NaN or inf must not hide a 1e300."""
    a = np.zeros(280)
    a[[3, 7]] = [np.nan, np.inf]
    ss.Session.from_array(a, FS, start=0.0)  # NaN and inf are gaps, not out of range
    for where in (0, 100, 279):
        b = a.copy()
        b[where] = -1e300
        with pytest.raises(ss.SignalError, match="float32 range"):
            ss.Session.from_array(b, FS, start=0.0)


def test_read_bt2_buffers_of_bytes() -> None:
    """A numpy uint8 array or array('B') of the stream reads like its bytes; a buffer of
    wider items (float64 samples passed by mistake) is refused."""
    import array

    data = ss.write_bt2(np.arange(280, dtype=np.uint16).reshape(140, 2))
    want = ss.read_bt2(data).channel(1)
    for buf in (np.frombuffer(data, np.uint8), array.array("B", data)):
        np.testing.assert_array_equal(ss.read_bt2(buf).channel(1), want)
    with pytest.raises(ss.DecodeError, match="buffer of bytes"):
        ss.read_bt2(np.zeros(8))
