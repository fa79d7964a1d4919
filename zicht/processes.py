"""Second processes: whether this process may start them, and a pool that does.

A large run does part of its work in second processes: half its microdata sources
(:mod:`engine.sources.record_cells`), the groups of indicators the company rule cannot
touch (:mod:`disclosure.protect`) and the hotspot workbook
(:mod:`engine.outputs.writers`). They are spawned, not forked (a forked child would
inherit the parent's BLAS, OpenMP and HiGHS threads in whatever state they were), so
each starts by importing the module that started its parent again. A script without
an ``if __name__ == "__main__":`` guard would start its run over in there: a run
refuses to start while its process is still importing (:func:`refuse_while_importing`),
the second process ends, and the parent does the work itself, told once.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

from zicht.errors import ZichtError

log = logging.getLogger("zicht")
R = TypeVar("R")

GUARD = 'a script that calls zicht needs its code under `if __name__ == "__main__":`'
# what a run says when a second process stopped or never started
STOPPED = "{what}: a second process stopped or could not start, so this one {does}; " + GUARD
# the second processes a large run started early (helper_processes), shared by its Helpers
_SHARED: ContextVar[ProcessPoolExecutor | None] = ContextVar("zicht_helpers", default=None)


def importing_parent_main() -> bool:
    """Whether this process is a second process still importing the module that
    started its parent (the check multiprocessing itself makes before it starts one)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def refuse_while_importing(what: str) -> None:
    """Raise :class:`~zicht.errors.ZichtError` where :func:`importing_parent_main`:
    ``what`` (a run) would start over in a second process."""
    if importing_parent_main():
        raise ZichtError(
            f"{what} does not start in a second process that imports the script of its "
            f"parent; {GUARD}"
        )


def helper_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of up to ``workers`` spawned processes; None where this process may not
    start any (a daemonic process, such as a worker of a multiprocessing pool, or a
    system without the semaphores a pool needs): the caller then works alone."""
    if multiprocessing.current_process().daemon:
        return None
    try:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    except (OSError, NotImplementedError):
        return None


@contextlib.contextmanager
def helper_processes(workers: int, warm: tuple[str, ...] = ()) -> Iterator[None]:
    """A pool of up to ``workers`` second processes (none with 0, or where none may
    start) that every :class:`Helpers` within shares, whatever ``workers`` it asks
    for. Its first process starts now and imports the ``warm`` modules meanwhile (the
    others start as jobs arrive): a spawned process takes a second or two to import
    what its jobs need, and started early it does so while this process still works
    alone, instead of when the first job waits for it."""
    pool = helper_pool(workers) if workers else None
    if pool is None:
        yield
        return
    shared = _SHARED.set(pool)
    try:
        with contextlib.suppress(OSError, RuntimeError):  # Helpers tells, where it matters
            pool.submit(_imported, warm)
        yield
    finally:
        _SHARED.reset(shared)
        pool.shutdown(cancel_futures=True)


def started_early() -> bool:
    """Whether this run started its second processes early (:func:`helper_processes`):
    a job too short to wait for a process to start may go to one of them."""
    return _SHARED.get() is not None


def _called(payload: bytes) -> Any:
    """The job pickled in ``payload`` with its arguments, done (:meth:`Helpers.submit`)."""
    job, args = pickle.loads(payload)
    return job(*args)


def _imported(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (in a second process started early: :func:`helper_processes`),
    and set what is alive then aside from the collector's passes (:func:`frozen_heap`),
    for good: the second process lives as long as the run. Done here, in the run's own
    process (where a test fakes the pool), it sets nothing aside."""
    for name in modules:
        importlib.import_module(name)
    if multiprocessing.parent_process() is not None:
        gc.collect()
        gc.freeze()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Within it, the cycle collector passes over the objects made since it started
    only: those alive at its start (the imported libraries' modules, classes and
    functions, a few hundred thousand) are set aside (:func:`gc.freeze`) and handed
    back when it ends. A run makes millions of short-lived containers (the insiders'
    edges, the attacker's lists, pandas' objects), and each full collection walked the
    libraries too: 15 of them took 1.1 s of a national run, 0.3 s set aside. Cycles
    among the objects set aside are collected only after it ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Helpers:
    """Jobs for up to ``workers`` second processes (none with 0), each done in this
    process instead where they may not start (:func:`helper_pool`), could not start
    or stopped: told once, as ``what`` and what this process ``does`` then. Within
    :func:`helper_processes` the jobs go to the processes it started. A context
    manager: leaving it cancels the jobs not started, and waits for the others."""

    def __init__(self, workers: int, what: str, does: str) -> None:
        self.workers = workers
        shared = _SHARED.get() if workers else None
        self.own = workers > 0 and shared is None  # a pool of its own, shut down on leaving
        self.pool = helper_pool(workers) if self.own else shared
        self.jobs: list[Future[Any]] = []
        self.what, self.does = what, does
        self.told = False

    def submit(self, job: Callable[..., R], *args: Any) -> Future[R] | None:
        """``job(*args)`` in a second process; None where none takes it (the caller
        does it here). The job and its arguments are pickled here, at once: a pool
        pickles them later, on a thread of its own, and would read whatever this
        process changes in them meanwhile. Where the shared processes stopped, a pool
        of this stage's own takes the job."""
        if self.pool is None:
            return None
        payload = pickle.dumps((job, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.jobs.append(self.pool.submit(_called, payload))
            return self.jobs[-1]
        except (OSError, RuntimeError):  # its process could not start, or stopped
            if not self.own:  # the shared ones stopped: a pool of this stage's own
                self.pool, self.own = helper_pool(self.workers), True
                if self.pool is not None:
                    return self.submit(job, *args)
            self._tell()
            return None

    def result(self, pending: Future[R], here: Callable[[], R]) -> R:
        """What ``pending`` returns (an error it raised is the caller's); ``here()``
        where its process stopped or never started."""
        try:
            return pending.result()
        except BrokenProcessPool:
            self._tell()
            return here()

    def _tell(self) -> None:
        if not self.told:
            log.warning(STOPPED.format(what=self.what, does=self.does))
        self.told = True

    def __enter__(self) -> Helpers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pool is not None and self.own:
            self.pool.shutdown(cancel_futures=True)
        elif self.jobs:  # the shared processes go on: only this one's jobs end here
            for job in self.jobs:
                job.cancel()
            wait(self.jobs)
