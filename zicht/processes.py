"""Second processes: whether this process may start them, and a pool that does.

A large run does part of its work in second processes: the groups of indicators the
company rule cannot touch (:mod:`disclosure.protect`) and the hotspot workbook
(:mod:`engine.outputs.writers`). They are spawned, not forked (a forked child would
inherit the parent's BLAS, OpenMP and HiGHS threads in whatever state they were), so
each starts by importing the module that started its parent again. A script without
an ``if __name__ == "__main__":`` guard would start its run over in there: a run
refuses to start while its process is still importing (:func:`refuse_while_importing`),
the second process ends, and the parent does the work itself, told once.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from zicht.errors import ZichtError

GUARD = 'a script that calls zicht needs its code under `if __name__ == "__main__":`'
# what a run says when a second process stopped or never started
STOPPED = "a second process stopped or could not start, so this one {does}; " + GUARD


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
