"""The ``sleepsignal`` command line.

Subcommands: ``analyze`` (the main job), ``demo``, ``simulate``, ``validate``. Errors
reach the user as one line on stderr and exit code 2 (1 for an invalid record in
``validate``); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from . import __version__
from .errors import DecodeError, SleepSignalError

__all__ = ["main"]

#: Where the committed demo night lives in a source checkout.
FIXTURE = Path("data") / "fixtures" / "demo_session" / "session.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sleepsignal",
        description="Bed-sensor (BCG) sessions to sleep tracks, stages and API records.",
    )
    p.add_argument("--version", action="version", version=f"sleepsignal {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", help="analyse a Beddit Session JSON and write the records")
    a.add_argument("session", type=Path, help="Session JSON (one object or a list)")
    a.add_argument("--out", type=Path, required=True, help="output folder")
    _add_identifiers(a)
    a.add_argument(
        "--trim-partial-frames",
        action="store_true",
        help="drop a blob's partial last frame (with a warning) instead of failing",
    )
    a.add_argument(
        "--stream",
        action="store_true",
        help="read the raw BCG in chunks and write only the tracks (automatic above 24 h)",
    )

    d = sub.add_parser("demo", help="analyse the bundled example night and summarise it")
    d.add_argument(
        "--out",
        type=Path,
        default=Path("sleepsignal-demo"),
        help="output folder (default: ./sleepsignal-demo)",
    )

    s = sub.add_parser("simulate", help="write a simulated night with its ground truth")
    s.add_argument("--hours", type=float, required=True, help="length of the night in hours")
    s.add_argument("--seed", type=int, required=True, help="random seed (same seed, same bytes)")
    s.add_argument("--out", type=Path, required=True, help="output folder")
    s.add_argument(
        "--profile",
        choices=["cardiac", "mixed", "respiratory"],
        default="mixed",
        help="which component dominates the bed signal (default: mixed)",
    )
    s.add_argument(
        "--mains-hz",
        type=float,
        choices=[0.0, 50.0, 60.0],
        default=None,
        help="mains hum frequency (0: none; default: drawn per night)",
    )
    s.add_argument(
        "--rr",
        type=Path,
        default=None,
        help="drive beat timing with a li2024 RR file (*_RR.csv.gz)",
    )
    s.add_argument(
        "--resp",
        type=Path,
        default=None,
        help="drive breathing with a li2024 belt file (*_resp.csv.gz)",
    )

    b = sub.add_parser("batch", help="analyse every session under INPUT with worker processes")
    b.add_argument(
        "inputs",
        type=Path,
        nargs="+",
        metavar="INPUT",
        help="session JSON files or folders (searched recursively)",
    )
    b.add_argument("--out", type=Path, required=True, help="output folder, one folder per session")
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    b.add_argument(
        "--updated-after",
        type=float,
        default=None,
        metavar="TS",
        help="only sessions updated after TS (Unix s), as the Beddit query",
    )
    b.add_argument(
        "--parquet",
        action="store_true",
        help="also write every track into OUT/tracks/<track>/<id>.parquet (parquet extra)",
    )
    b.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask distributed scheduler, e.g. tcp://host:8786 (dask extra)",
    )
    b.add_argument(
        "--stream",
        action="store_true",
        help="analyse every session as analyze --stream does (automatic above 24 h)",
    )
    _add_identifiers(b)

    v = sub.add_parser("validate", help="validate an incoming OCARIoT or Impilo record")
    v.add_argument("--format", choices=["ocariot", "impilo"], required=True)
    v.add_argument("file", type=Path, help="JSON file (an object or a list of them)")
    return p


def _add_identifiers(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--patient-id", help="Impilo patientId (enables impilo.json)")
    g.add_argument("--device-id", help="Impilo deviceId (enables impilo.json)")
    g.add_argument("--device-identifier", help="Impilo deviceIdentifier (enables impilo.json)")


#: Whether this process is the command line itself (``main()`` reading ``sys.argv``),
#: which may use the kernels compiled ahead of time (:func:`sleepsignal._numba.prefer_aot`)
#: or start numba lean (:func:`sleepsignal._numba.lean_process`). ``main(argv)`` called
#: from Python (tests, an embedding program) leaves the caller's numba as it is.
_whole_process = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    global _whole_process
    _whole_process = argv is None
    if _whole_process:  # before any kernel module is imported (see _load_analysis)
        from ._numba import prefer_aot

        prefer_aot()
    args = _parser().parse_args(argv)
    try:
        return int(_COMMANDS[args.command](args))
    except (SleepSignalError, OSError, ValueError) as exc:
        if args.debug:
            raise
        print(f"sleepsignal: error: {exc}", file=sys.stderr)
        return 2


def _load_analysis(raw: bool = True, *, lean: bool | None = None) -> None:
    """Import the analysis modules with the cyclic garbage collector paused, then freeze.

    numba, llvmlite and scipy leave ~150 000 long-lived objects behind their imports,
    and every full collection walks all of them: ~0.3-0.5 s of an 8 h ``analyze``
    process went to full collections during these imports, while the records were
    turned into JSON, and at exit. ``gc.freeze`` moves the objects alive after the
    imports out of the collector's sight (they live until the process ends anyway);
    garbage made by the analysis itself is still collected as usual. The kernels of the
    raw signal are imported only when ``raw`` is true, as
    :func:`sleepsignal.pipeline.analyze` would. With ``lean`` (default: when this
    process is the command line itself) the kernels compiled ahead of time are used when
    the installation has them and they can be trusted (:func:`sleepsignal._numba.prefer_aot`:
    then numba is not imported at all); otherwise numba is started without what
    sleepsignal's kernels never need, and its CPU target is set up inside the paused
    window (:func:`sleepsignal._numba.lean_process`).
    """
    import gc

    if lean is None:
        lean = _whole_process
    enabled = gc.isenabled()
    gc.disable()
    try:
        if lean:
            from ._numba import aot_status, lean_process, prefer_aot

            prefer_aot()
            if aot_status() != "aot":  # kernels compiled ahead of time need no numba
                lean_process()
        from . import pipeline, records, staging, statistics  # noqa: F401

        if raw:
            from . import heartbeats, tracks  # noqa: F401
    finally:
        gc.freeze()
        if enabled:  # as the caller had it
            gc.enable()


def _has_raw(session: Any) -> bool:
    normal = session.sampled_tracks.get("normal")
    return normal is not None and normal.loaded


def _analyze(args: argparse.Namespace) -> int:
    from .io.beddit import read_sessions

    probe = _probe(args.session, args.trim_partial_frames)
    if args.stream or any(_long(s) for s in probe):
        return _analyze_streamed(args, probe)
    sessions = read_sessions(args.session, trim_partial_frames=args.trim_partial_frames)
    if not sessions:
        raise DecodeError(f"{args.session}: holds no sessions (an empty list)")
    _load_analysis(raw=any(_has_raw(s) for s in sessions))
    if len({s.id for s in sessions}) != len(sessions):
        raise DecodeError(f"{args.session}: two sessions share an id; outputs would collide")
    for session in sessions:
        out = args.out if len(sessions) == 1 else args.out / str(session.id)
        if (out / "session.json").resolve() == Path(args.session).resolve():
            raise ValueError(
                f"--out {args.out} would overwrite the input {args.session}; choose another folder"
            )
    ids = _ids(args)
    for session in sessions:
        out = args.out if len(sessions) == 1 else args.out / str(session.id)
        _analyze_one(session, out, ids)
    return 0


def _probe(path: Path, trim_partial_frames: bool) -> list[Any]:
    """The sessions of a file with their raw blobs left on disk (only checked):
    their lengths decide whether ``analyze`` streams. Warnings wait for the real read."""
    import warnings

    from .io.beddit import read_sessions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_sessions(
            path, trim_partial_frames=trim_partial_frames, lazy=("normal", "noise")
        )


def _streamable(session: Any) -> bool:
    """Whether the session's raw BCG is a local blob that can be read in chunks."""
    from .io.beddit import _is_local

    normal = session.sampled_tracks.get("normal")
    if normal is None or normal.loaded:
        return False
    url = normal.extra.get("data_url")
    return isinstance(url, str) and _is_local(url)


def _long(session: Any) -> bool:
    """Longer than :data:`sleepsignal.pipeline.STREAM_ABOVE_S` with a raw BCG to stream
    (a long session of time-value tracks only is cheap and is staged as before)."""
    from .pipeline import STREAM_ABOVE_S

    return bool(session.duration > STREAM_ABOVE_S and _streamable(session))


def _analyze_streamed(args: argparse.Namespace, probe: list[Any]) -> int:
    from .pipeline import STREAM_ABOVE_S, analyze_streamed

    if len(probe) != 1:
        raise DecodeError(
            f"{args.session}: holds {len(probe)} sessions, and streaming (--stream, or a "
            f"session longer than {STREAM_ABOVE_S / 3600:g} h) reads one session per file; "
            "write the long session to a file of its own"
        )
    if not _streamable(probe[0]):
        raise DecodeError(
            f"{args.session}: --stream needs a raw BCG track 'normal' in a local blob file; "
            "this session has none (analyze it without --stream)"
        )
    if (args.out / "session.json").resolve() == Path(args.session).resolve():
        raise ValueError(
            f"--out {args.out} would overwrite the input {args.session}; choose another folder"
        )
    _load_analysis()
    t0 = time.perf_counter()
    result = analyze_streamed(
        args.session,
        args.out,
        trim_partial_frames=args.trim_partial_frames,
        **_ids(args),
    )
    seconds = time.perf_counter() - t0
    s = result.session
    print(f"sleepsignal: note: {result.notes[0]}", file=sys.stderr)
    lines = [
        f"session {s.id}: {s.duration / 3600:.2f} h from {_local(s.start_timestamp, s.timezone)}"
        f" ({s.timezone}), tracks streamed and nights staged in {seconds:.2f} s"
    ]
    tv = s.time_value_tracks
    lines.append("  tracks: " + (", ".join(f"{n} {len(tv[n])}" for n in tv) or "none"))
    lines.extend(f"  note: {note}" for note in result.notes[1:])
    nights_dir = args.out / "nights"
    for night in result.nights:
        n = night.session
        files = [f for f in result.files if f.parent == nights_dir / str(n.id)]
        body = _summary(night, files, 0.0).split("\n")[1:]  # without its heading
        lines.append(
            f"night {n.id}: {n.duration / 3600:.2f} h from {_local(n.start_timestamp, n.timezone)}"
        )
        lines.extend(
            "  " + line
            for line in body
            if "staged from the session's own time-value tracks" not in line
        )
    if not result.nights:
        lines.append("  stages and records: not written (see the note on stderr)")
    own = [f for f in result.files if nights_dir not in f.parents]
    lines.append("  wrote: " + ", ".join(str(f) for f in own))
    print("\n".join(lines))
    return 0


class _Ids(TypedDict):
    patient_id: str | None
    device_id: str | None
    device_identifier: str | None


def _ids(args: argparse.Namespace) -> _Ids:
    """The Impilo identifiers of the command line, as keyword arguments of ``analyze``,
    ``analyze_streamed`` and ``run_batch``."""
    return _Ids(
        patient_id=args.patient_id,
        device_id=args.device_id,
        device_identifier=args.device_identifier,
    )


def _analyze_one(session: Any, out: Path, ids: _Ids) -> None:
    from .pipeline import analyze, write_analysis

    t0 = time.perf_counter()
    analysis = analyze(session, **ids)
    files = write_analysis(analysis, out)
    print(_summary(analysis, files, time.perf_counter() - t0))


def _summary(analysis: Any, files: list[Path], seconds: float) -> str:
    s = analysis.session
    lines = [
        f"session {s.id}: {s.duration / 3600:.2f} h from {_local(s.start_timestamp, s.timezone)}"
        f" ({s.timezone}), analysed in {seconds:.2f} s"
    ]
    tv = s.time_value_tracks
    counts = ", ".join(f"{name} {len(tv[name])}" for name in tv)
    lines.append(f"  tracks: {counts or 'none'}")
    h = analysis.hypnogram
    names = h.names()
    minutes = {st: float((names == st).sum()) * h.epoch_length / 60 for st in dict.fromkeys(names)}
    lines.append("  stages (min): " + ", ".join(f"{k} {v:.0f}" for k, v in minutes.items()))
    stats = analysis.statistics
    for label, attr, fmt in (
        ("total sleep", "total_sleep_time", "{:.0f} min"),
        ("sleep efficiency", "sleep_efficiency", "{:.0%}"),
        ("resting heart rate", "resting_heart_rate", "{:.1f} bpm"),
    ):
        value = getattr(stats, attr, None)
        if value is not None and value == value:
            value = value / 60 if attr == "total_sleep_time" else value
            lines.append(f"  {label}: {fmt.format(value)}")
    for note in analysis.notes:
        lines.append(f"  note: {note}")
    lines.append("  wrote: " + ", ".join(str(f) for f in files))
    return "\n".join(lines)


def _local(ts: float, tz: str) -> str:
    """Local wall-clock time of a Unix time (zoneinfo: no pandas import for one line)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _demo(args: argparse.Namespace) -> int:
    from ._numba import aot_status
    from .io.beddit import read_session

    _load_analysis()
    status = aot_status()
    if status != "aot":  # also when the bundled example is not beside the installation
        print(
            "demo: the first run in a new environment compiles the numba kernels "
            "(about 20 s); later runs load them from numba's cache"
        )
        if _whole_process:  # why, since pip hides what the install's build said
            print(f"demo: kernels not compiled ahead of time: {status[5:]}")
    here = Path(__file__).resolve().parents[1] / FIXTURE
    for candidate in (Path.cwd() / FIXTURE, here):
        if candidate.is_file():
            print(f"demo: analysing the bundled example night {candidate}")
            session = read_session(candidate)
            break
    else:
        from .simulate import demo_night

        print(
            "demo: the bundled example is not beside this installation; simulating the "
            "same night (sleepsignal.simulate.DEMO_NIGHT)"
        )
        session = demo_night().session
    _analyze_one(session, args.out, _Ids(patient_id=None, device_id=None, device_identifier=None))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import load_li2024_resp, load_li2024_rr, simulate_night, write_simulated

    t0 = time.perf_counter()
    rr = load_li2024_rr(args.rr) if args.rr is not None else None
    resp, resp_fs = load_li2024_resp(args.resp) if args.resp is not None else (None, None)
    night = simulate_night(
        args.hours,
        seed=args.seed,
        profile=args.profile,
        mains_hz=args.mains_hz,
        rr=rr,
        resp=resp,
        resp_fs=resp_fs,
    )
    path = write_simulated(night, args.out)
    print(
        f"simulated {args.hours:g} h (seed {args.seed}) in {time.perf_counter() - t0:.1f} s: {path}"
    )
    return 0


def _batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    t0 = time.perf_counter()
    result = run_batch(
        args.inputs,
        args.out,
        workers=args.workers,
        updated_after=args.updated_after,
        store=args.out / "tracks" if args.parquet else None,
        scheduler=args.scheduler,
        **_ids(args),
        stream=args.stream,
    )
    print(result.summary() + f"\n  in {time.perf_counter() - t0:.1f} s")
    return 1 if result.failed else 0


def _validate(args: argparse.Namespace) -> int:
    from .records import validate_impilo, validate_ocariot

    try:
        obj = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.file}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if args.format == "ocariot" and isinstance(obj, list):
        # A list is what OCARIoT answers with 207 Multi-Status: each item validated, and
        # an item that repeats an earlier one (same child and times) is a 409 conflict.
        from .records import ocariot_multi_status

        body = ocariot_multi_status(obj)
        print(json.dumps({"code": 207, **body}, indent=1))
        return 1 if body["error"] else 0
    check = validate_ocariot if args.format == "ocariot" else validate_impilo
    items = obj if isinstance(obj, list) else [obj]
    failed = False
    for i, item in enumerate(items):
        errors = check(item)
        where = f"{args.file}" + (f"[{i}]" if isinstance(obj, list) else "")
        if errors:
            failed = True
            print(json.dumps({"item": where, "errors": errors}, indent=1))
        else:
            print(f"{where}: valid")
    return 1 if failed else 0


_COMMANDS = {
    "analyze": _analyze,
    "batch": _batch,
    "demo": _demo,
    "simulate": _simulate,
    "validate": _validate,
}

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
