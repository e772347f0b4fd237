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
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["BatchResult", "find_session_files", "run_batch"]

#: Environment set in every worker before numpy/numba load: one thread per process, so
#: N workers on N cores do not start N x N threads.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


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


def _output_dir(out: Path, session_obj: dict[str, Any]) -> Path:
    sid = session_obj.get("id", int(float(session_obj["start_timestamp"])))
    return out / str(sid)


def _up_to_date(out_dir: Path, session_obj: dict[str, Any], source: Path) -> bool:
    marker = out_dir / "session.json"
    if not marker.is_file():
        return False
    updated = session_obj.get("updated")
    reference = float(updated) if isinstance(updated, (int, float)) else source.stat().st_mtime
    return marker.stat().st_mtime > reference


def _init_worker() -> None:
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)


def analyze_file(path: str, out: str, index: int, ids: dict[str, str | None]) -> tuple[str, float]:
    """Worker task: analyse session ``index`` of ``path`` into ``out``/<id> atomically."""
    from .io.beddit import read_sessions
    from .pipeline import analyze, write_analysis

    t0 = time.perf_counter()
    session = read_sessions(path)[index]
    target = Path(out) / str(session.id)
    tmp = Path(out) / f".{session.id}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        analysis = analyze(
            session,
            patient_id=ids.get("patient_id"),
            device_id=ids.get("device_id"),
            device_identifier=ids.get("device_identifier"),
        )
        write_analysis(analysis, tmp)
        if target.exists():
            old = Path(out) / f".{session.id}.old-{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target), time.perf_counter() - t0


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    updated_after: float | None = None,
    patient_id: str | None = None,
    device_id: str | None = None,
    device_identifier: str | None = None,
    progress: TextIO | None = None,
    submit: Callable[..., Future[Any]] | None = None,
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
    progress : text stream, optional
        Where the progress line goes (default: stderr).
    submit : callable, optional
        ``submit(fn, *args) -> Future`` of another executor (a Dask client's
        ``submit``); the default is a local process pool.

    Returns
    -------
    BatchResult
    """
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    ids = {"patient_id": patient_id, "device_id": device_id, "device_identifier": device_identifier}
    tasks: list[tuple[str, Path, int]] = []
    for path in find_session_files(inputs):
        if out_path.resolve() in path.resolve().parents:
            continue  # our own outputs
        items = _peek(path)
        if isinstance(items, str):
            result.skipped.append((str(path), items))
            continue
        for i, obj in enumerate(items):
            key = f"{path}#{obj.get('id', i)}"
            upd = obj.get("updated")
            if updated_after is not None and not (
                isinstance(upd, (int, float)) and upd > updated_after
            ):
                result.skipped.append((key, f"not updated after {updated_after}"))
            elif _up_to_date(_output_dir(out_path, obj), obj, path):
                result.skipped.append((key, "outputs are newer than the session"))
            else:
                tasks.append((key, path, i))
    stream = progress if progress is not None else sys.stderr
    total = len(tasks)

    def show(final: bool = False) -> None:
        n = len(result.done) + len(result.failed)
        end = "\n" if final or not stream.isatty() else ""
        stream.write(
            f"\r[{n}/{total}] done {len(result.done)} failed {len(result.failed)} "
            f"skipped {len(result.skipped)}{end}"
        )
        stream.flush()

    if not tasks:
        show(final=True)
        return result
    executor = None
    if submit is None:
        import multiprocessing

        n_workers = workers or os.cpu_count() or 1
        executor = ProcessPoolExecutor(
            max_workers=min(n_workers, total),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )
        submit = executor.submit
    try:
        pending: dict[Future[Any], str] = {
            submit(analyze_file, str(path), str(out_path), i, ids): key for key, path, i in tasks
        }
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                key = pending.pop(fut)
                try:
                    fut.result()
                except Exception as exc:  # a bad session fails alone
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    result.failed.append((key, f"{type(exc).__name__}: {reason}"))
                else:
                    result.done.append(key)
            show()
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    show(final=True)
    return result
