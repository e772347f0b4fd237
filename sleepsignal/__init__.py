"""sleepsignal: bed-sensor (BCG) recordings to sleep tracks, stages and API records.

The flow is one way: decode (:mod:`sleepsignal.io`) -> kernels -> tracks -> staging ->
records. Public names are imported lazily, so ``import sleepsignal`` stays fast and does
not import numba or pandas until they are needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Session": "sleepsignal.session",
    "SampledTrack": "sleepsignal.session",
    "TimeValueTrack": "sleepsignal.session",
    "SleepSignalError": "sleepsignal.errors",
    "DecodeError": "sleepsignal.errors",
    "NotLoadedError": "sleepsignal.errors",
    "QueryError": "sleepsignal.errors",
    "SignalError": "sleepsignal.errors",
    "RecordValidationError": "sleepsignal.errors",
    "SleepSignalWarning": "sleepsignal.errors",
    "read_session": "sleepsignal.io.beddit",
    "read_sessions": "sleepsignal.io.beddit",
    "write_session": "sleepsignal.io.beddit",
    "query_sessions": "sleepsignal.io.beddit",
    "read_bt2": "sleepsignal.io.bt2",
    "write_bt2": "sleepsignal.io.bt2",
    # heartbeats
    "Heartbeats": "sleepsignal.heartbeats",
    "detect_heartbeats": "sleepsignal.heartbeats",
    "heart_rate": "sleepsignal.heartbeats",
    "heartbeat_tracks": "sleepsignal.heartbeats",
    "rmssd": "sleepsignal.hrv",
    "night_hrv_indices": "sleepsignal.hrv",
    # breathing, movement, presence, sensor status, snoring
    "SessionTracks": "sleepsignal.tracks",
    "session_tracks": "sleepsignal.tracks",
    "stream_tracks": "sleepsignal.streaming",
    "stream_session_tracks": "sleepsignal.streaming",
    "StreamedTracks": "sleepsignal.streaming",
    "Breathing": "sleepsignal.respiration",
    "detect_breathing": "sleepsignal.respiration",
    "respiration_rate": "sleepsignal.respiration",
    "Movements": "sleepsignal.activity",
    "Presence": "sleepsignal.activity",
    "movement_bursts": "sleepsignal.activity",
    "presence": "sleepsignal.activity",
    "actigram": "sleepsignal.activity",
    "SensorStatus": "sleepsignal.mains",
    "mains_interference": "sleepsignal.mains",
    "Snoring": "sleepsignal.snoring",
    "detect_snoring": "sleepsignal.snoring",
    # simulator
    "simulate_night": "sleepsignal.simulate",
    "SimulatedNight": "sleepsignal.simulate",
    "NightTruth": "sleepsignal.simulate",
    "write_simulated": "sleepsignal.simulate",
    "load_li2024_rr": "sleepsignal.simulate",
    "load_li2024_resp": "sleepsignal.simulate",
    # stages, statistics, records
    "Hypnogram": "sleepsignal.hypnogram",
    "SleepCycles": "sleepsignal.hypnogram",
    "EpochStages": "sleepsignal.staging",
    "stage_session": "sleepsignal.staging",
    "stage_epochs": "sleepsignal.staging",
    "actigraphy_sleep_wake": "sleepsignal.staging",
    "hypnogram_csv": "sleepsignal.staging",
    "write_hypnogram_csv": "sleepsignal.staging",
    "NightStatistics": "sleepsignal.statistics",
    "SleepScore": "sleepsignal.statistics",
    "night_statistics": "sleepsignal.statistics",
    "sleep_score": "sleepsignal.statistics",
    "build_records": "sleepsignal.records",
    # the main job
    "Analysis": "sleepsignal.pipeline",
    "analyze": "sleepsignal.pipeline",
    "analyze_streamed": "sleepsignal.pipeline",
    "StreamedAnalysis": "sleepsignal.pipeline",
    "SleepPeriod": "sleepsignal.nights",
    "sleep_periods": "sleepsignal.nights",
    "split_nights": "sleepsignal.nights",
    "write_analysis": "sleepsignal.pipeline",
    "run_batch": "sleepsignal.batch",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sleepsignal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
