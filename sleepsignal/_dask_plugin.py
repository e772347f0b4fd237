"""The Dask worker plugin of ``sleepsignal batch --scheduler``: imported only there, since it
needs the ``dask`` extra on the client and on every worker."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

__all__ = ["WarmWorker"]


class WarmWorker(WorkerPlugin):
    """Prepare a Dask worker as the local pool's initializer prepares its processes.

    The thread-count variables of :data:`sleepsignal.batch.WORKER_ENV` are set when the
    worker has not set them (they only bind libraries not loaded yet: start workers with
    them, see the README), then the analysis is imported with the garbage collector
    paused and frozen (``cli._load_analysis``), so full collections during the nights do
    not walk numba's objects. numba is not started lean (``sleepsignal._numba.lean_process``
    leaves out CFFI and numba extensions): a Dask worker may run other people's tasks.
    Registered with a fixed name for the length of one batch, it runs once on each
    worker, including workers that join or are restarted during the batch, and is
    unregistered at the end (the analysis stays imported in the workers it prepared).
    """

    name = "sleepsignal-warm-worker"

    def setup(self, worker: Any) -> None:
        import gc

        from .batch import _init_worker

        gc.collect()  # nothing the worker already holds as garbage gets frozen
        _init_worker(lean=False)
