"""Many nights: analyse every session under a folder tree with a pool of worker processes.

Each worker process lives for the whole batch, so numba's compilation (or cache load) is
paid once per worker, not once per night. A session that fails is recorded with its
reason and the others go on. Outputs are written into a temporary folder and renamed
into place, so an interrupted batch never leaves half-written output, and a re-run skips
what is complete and newer than the session's ``updated`` field.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import SleepSignalError

__all__ = ["BatchResult", "find_session_files", "run_batch"]

#: Environment set in every worker before numpy/numba load: one thread per process, so
#: N workers on N cores do not start N x N threads.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


#: Times a Dask task is retried after its worker died or it raised.
DASK_RETRIES = 2


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    done : list of str
        Session keys (``<file>#<id>``) analysed and written.
    failed : list of (str, str)
        Session key (or file) and the reason, one line.
    skipped : list of (str, str)
        Session key (or file) and why it was skipped (up to date, not a session,
        not selected by ``updated_after``).
    """

    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for a person: counts, then each failure with its reason."""
        lines = [f"done {len(self.done)}, failed {len(self.failed)}, skipped {len(self.skipped)}"]
        lines += [f"  failed {key}: {reason}" for key, reason in self.failed]
        return "\n".join(lines)


def find_session_files(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every ``*.json`` file named or found under the folders named, sorted."""
    found: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found.update(q for q in p.rglob("*.json") if q.is_file())
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"batch input {p} does not exist")
    return sorted(found)


def _peek(path: Path) -> list[dict[str, Any]] | str:
    """The session objects of a file (metadata only matter here), or why it is not one."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not a session file ({type(exc).__name__}: {exc})"
    items = obj if isinstance(obj, list) else [obj]
    if not items or not all(isinstance(i, dict) and "start_timestamp" in i for i in items):
        return "not a session file (no start_timestamp)"
    return items


def _session_id(session_obj: dict[str, Any]) -> int:
    """The id :attr:`Session.id` will have (``int(start_timestamp)`` when absent)."""
    try:
        return int(session_obj.get("id", session_obj["start_timestamp"]))
    except (TypeError, ValueError):
        return -1  # not a number: reading the session reports it


def _output_dir(out: Path, session_obj: dict[str, Any]) -> Path:
    return out / str(_session_id(session_obj))


def _up_to_date(out_dir: Path, session_obj: dict[str, Any], source: Path) -> bool:
    marker = out_dir / "session.json"
    if not marker.is_file():
        return False
    updated = session_obj.get("updated")
    reference = float(updated) if isinstance(updated, (int, float)) else source.stat().st_mtime
    return marker.stat().st_mtime > reference


def _init_worker(lean: bool = True) -> None:
    """Worker start: one thread per process, then the analysis imported once with the
    garbage collector paused and its objects frozen (as ``sleepsignal analyze`` does,
    see ``cli._load_analysis``), so no full collection of the night's garbage walks
    numba's and llvmlite's objects again. A local pool's worker runs only sleepsignal's
    kernels, so it uses the kernels compiled ahead of time when they can be trusted, or
    else starts numba ``lean``, as the command line does (``sleepsignal._numba.prefer_aot``,
    ``lean_process``); a Dask worker may run other code too (and threads) and passes
    ``lean=False``: plain numba JIT."""
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)
    from .cli import _load_analysis

    _load_analysis(lean=lean)


def analyze_file(
    path: str,
    out: str,
    index: int,
    ids: dict[str, str | None],
    store: str | None = None,
    stream: bool = False,
) -> str | None:
    """Worker task: analyse session ``index`` of ``path`` into ``out``/<id> atomically.

    With ``store``, the session's tracks also go into the Parquet track store there. A
    session longer than :data:`sleepsignal.pipeline.STREAM_ABOVE_S` with its raw BCG in
    a local blob, or any such session with ``stream``, is analysed in chunks by
    :func:`~sleepsignal.pipeline.analyze_streamed`: the outputs of
    ``sleepsignal analyze`` for it (the session with its tracks, the blobs copied, and
    each night found in it staged into ``nights/<id>/``), in memory bounded
    independently of its length.

    Returns
    -------
    str or None
        ``None`` when done, else the reason it failed (``"DecodeError: ..."``). Errors
        are returned rather than raised so that an executor retries only crashed
        workers, not sessions that fail the same way every time.
    """
    try:
        _analyze_into(path, out, index, ids, store, stream)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {reason}".rstrip(": ")
    return None


def _analyze_into(
    path: str,
    out: str,
    index: int,
    ids: dict[str, str | None],
    store: str | None,
    stream: bool = False,
) -> None:
    from .errors import DecodeError
    from .io.beddit import _is_local, load_json, session_from_dict
    from .pipeline import STREAM_ABOVE_S, analyze, analyze_streamed, write_analysis

    # decode only this session's blobs (read_sessions would decode every session of a
    # list file for each of its sessions); the probe leaves them on disk (only checked)
    # so that a long session is never loaded whole
    obj = load_json(Path(path))
    item = obj[index] if isinstance(obj, list) else obj
    where = f"{path}[{index}]" if isinstance(obj, list) else path
    base = Path(path).parent
    probe = session_from_dict(item, base_dir=base, where=where, lazy=("normal", "noise"))
    normal = probe.sampled_tracks.get("normal")
    url = None if normal is None else normal.extra.get("data_url")
    streamable = normal is not None and isinstance(url, str) and _is_local(url)
    streamed = streamable and (stream or probe.duration > STREAM_ABOVE_S)
    if stream and not streamable:  # as sleepsignal analyze --stream refuses it
        raise DecodeError(
            f"{where}: --stream needs a raw BCG track 'normal' in a local blob file; this "
            "session has none (analyze it without --stream)"
        )
    if streamed and isinstance(obj, list):
        raise DecodeError(
            f"{where}: streaming (--stream, or a session longer than "
            f"{STREAM_ABOVE_S / 3600:g} h) reads one session per file; write the long "
            "session to a file of its own"
        )
    target = Path(out) / str(probe.id)
    tmp = Path(out) / f".{probe.id}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if streamed:
            session = analyze_streamed(
                path,
                tmp,
                patient_id=ids.get("patient_id"),
                device_id=ids.get("device_id"),
                device_identifier=ids.get("device_identifier"),
            ).session
        else:
            analysis = analyze(
                session_from_dict(item, base_dir=base, where=where),
                patient_id=ids.get("patient_id"),
                device_id=ids.get("device_id"),
                device_identifier=ids.get("device_identifier"),
            )
            write_analysis(analysis, tmp)
            session = analysis.session
        if target.exists():
            old = Path(out) / f".{session.id}.old-{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            tmp.rename(target)
        if store is not None:
            from .store import write_tracks

            write_tracks(session, store)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: (session key, None when done or the reason it failed)
Outcome = Iterator[tuple[str, str | None]]


def _reason(fut: Any) -> str | None:
    """The task's own failure reason, or the executor's (worker crashed, cancelled)."""
    exc = fut.exception()
    if exc is None:
        return fut.result()
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"worker failed: {type(exc).__name__}: {text}".rstrip(": ")


def _run_local(
    calls: list[tuple[str, tuple[Any, ...]]], workers: int, task: Callable[..., Any] | None
) -> Outcome:
    import multiprocessing

    fn = task or analyze_file
    with ProcessPoolExecutor(
        max_workers=min(workers, len(calls)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    ) as executor:
        pending: dict[Future[Any], str] = {executor.submit(fn, *args): key for key, args in calls}
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                yield pending.pop(fut), _reason(fut)


def _run_dask(
    calls: list[tuple[str, tuple[Any, ...]]], address: str, task: Callable[..., Any] | None
) -> Outcome:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SleepSignalError(
            "--scheduler needs Dask distributed: pip install 'sleepsignal[dask]'"
        ) from None
    from ._dask_plugin import WarmWorker

    fn = task or analyze_file
    with Client(address, timeout="30s") as client:
        client.register_plugin(WarmWorker())
        try:
            futures = {
                client.submit(
                    fn, *args, pure=False, retries=DASK_RETRIES, key=f"sleepsignal-{n}-{key}"
                ): key
                for n, (key, args) in enumerate(calls)
            }
            for fut in as_completed(list(futures)):
                yield futures[fut], _reason(fut)
        finally:  # workers that join the cluster later are not prepared for us
            client.unregister_worker_plugin(WarmWorker.name)


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    updated_after: float | None = None,
    patient_id: str | None = None,
    device_id: str | None = None,
    device_identifier: str | None = None,
    store: str | os.PathLike[str] | None = None,
    progress: TextIO | None = None,
    scheduler: str | None = None,
    stream: bool = False,
    _task: Callable[..., Any] | None = None,
) -> BatchResult:
    """Analyse every session under ``inputs`` into ``out/<session id>/``.

    Parameters
    ----------
    inputs : sequence of path-like
        Session JSON files and folders searched recursively for ``*.json``.
    out : path-like
        Output folder; each session gets ``out/<id>/`` with the files of
        ``sleepsignal analyze``.
    workers : int, optional
        Worker processes (default: one per core). ``1`` still runs in a worker.
    updated_after : float, optional
        Unix seconds: only sessions whose ``updated`` is later (the Beddit query rule).
    patient_id, device_id, device_identifier : str, optional
        Impilo identifier passed to every session.
    store : path-like, optional
        Also write every session's tracks into this Parquet store (one table per
        track; needs the ``parquet`` extra), see :mod:`sleepsignal.store`.
    progress : text stream, optional
        Where the progress line goes (default: stderr).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``): run the sessions
        on that cluster instead of a local process pool (needs the ``dask`` extra).
        Tasks are retried when a worker dies, and each session's output is renamed
        into place whole, so none is lost or written twice.
    stream : bool
        Analyse every session in chunks, as ``sleepsignal analyze --stream`` does (tracks
        and blobs, then each night staged from its tracks); sessions longer than
        :data:`sleepsignal.pipeline.STREAM_ABOVE_S` are streamed without it.

    Returns
    -------
    BatchResult
    """
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    if store is not None:
        from .store import _require_pyarrow

        _require_pyarrow()
    result = BatchResult()
    ids = {"patient_id": patient_id, "device_id": device_id, "device_identifier": device_identifier}
    tasks: list[tuple[str, Path, int]] = []
    claimed: dict[int, str] = {}  # session id -> the session that writes out/<id>
    for path in find_session_files(inputs):
        if out_path.resolve() in path.resolve().parents:
            continue  # our own outputs
        items = _peek(path)
        if isinstance(items, str):
            result.skipped.append((str(path), items))
            continue
        for i, obj in enumerate(items):
            sid = _session_id(obj)
            key = f"{path}#{sid}"
            upd = obj.get("updated")
            if updated_after is not None and not (
                isinstance(upd, (int, float)) and upd > updated_after
            ):
                result.skipped.append((key, f"not updated after {updated_after}"))
            elif sid in claimed and sid != -1:
                result.failed.append(
                    (key, f"session id {sid} also comes from {claimed[sid]}; outputs would collide")
                )
            elif _up_to_date(_output_dir(out_path, obj), obj, path):
                result.skipped.append((key, "outputs are newer than the session"))
            else:
                claimed[sid] = key
                tasks.append((key, path, i))
    log = progress if progress is not None else sys.stderr
    total = len(tasks) + len(result.failed)  # pre-dispatch failures count as finished

    def show(final: bool = False) -> None:
        n = len(result.done) + len(result.failed)
        end = "\n" if final or not log.isatty() else ""
        log.write(
            f"\r[{n}/{total}] done {len(result.done)} failed {len(result.failed)} "
            f"skipped {len(result.skipped)}{end}"
        )
        log.flush()

    if not tasks:
        show(final=True)
        return result
    store_arg = None if store is None else str(store)
    calls = [(key, (str(path), str(out_path), i, ids, store_arg, stream)) for key, path, i in tasks]
    if scheduler is None:
        outcomes = _run_local(calls, workers or os.cpu_count() or 1, _task)
    else:
        outcomes = _run_dask(calls, scheduler, _task)
    for key, reason in outcomes:
        if reason is None:
            result.done.append(key)
        else:  # a bad session fails alone
            result.failed.append((key, reason))
        show()
    show(final=True)
    return result
