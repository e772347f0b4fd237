"""The plain scipy peer: beats and breaths of a Beddit session by band-pass + find_peaks.

What a researcher would write in ten minutes without sleepsignal, so that a whole
``sleepsignal analyze`` process and the in-process pipeline have a baseline timed in the
same session (``benchmarks/bench_pipeline.py``). No gating, no staging, no records.

Run as a process::

    python benchmarks/peer_scipy.py SESSION.json OUT.json

It reads the session JSON and its ``normal`` blob (uint16) with numpy only, and writes
the beat-to-beat and breath-to-breath intervals (s) as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def scipy_pipeline(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Beat and breath intervals (s): band-pass + ``find_peaks``, 2-20 Hz and 0.1-0.5 Hz."""
    from scipy.signal import butter, find_peaks, sosfiltfilt

    beat = sosfiltfilt(butter(4, [2.0, 20.0], btype="bandpass", fs=fs, output="sos"), x)
    beats, _ = find_peaks(beat, distance=max(1, int(0.375 * fs)))
    breath = sosfiltfilt(butter(2, [0.1, 0.5], btype="bandpass", fs=fs, output="sos"), x)
    breaths, _ = find_peaks(breath, distance=max(1, int(1.5 * fs)))
    return np.diff(beats) / fs, np.diff(breaths) / fs


def main(argv: list[str]) -> None:
    session_path, out_path = (Path(a) for a in argv)
    meta = json.loads(session_path.read_text())
    track = meta["sampled_tracks"]["normal"]
    fs = track["samples_per_frame"] / meta.get("frame_length", 0.2)
    blob = session_path.parent / track["data_url"]
    x = np.fromfile(blob, dtype="<" + {"uint16": "u2", "float32": "f4"}[track["data_type"]])
    beats, breaths = scipy_pipeline(x.astype(np.float64), fs)
    out = {"beat_intervals": beats.tolist(), "breath_intervals": breaths.tolist()}
    out_path.write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
