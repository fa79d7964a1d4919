"""The streaming aggregation (:mod:`engine.sources.streaming`) on dask.distributed.

``[run] engine = "dask"``: the first pass is one task per file of the source, the
second one task per bucket, scheduled by dask.distributed; the client adds the
buckets' cells up in bucket order, so a run gives the same cells on any number of
workers as the ``stream`` engine in one process. By default a ``LocalCluster`` of one
single-threaded worker process per thread of the run (``[run] threads``, or the cores
free to it: :func:`engine.threads.free_cores`); with ``[run] scheduler`` the cluster
at that address, whose workers must have zicht installed and see the source's files
and ``[run] scratch`` under the same paths.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, LocalCluster

from zicht.engine.config import RunSection
from zicht.engine.sources.partitions import partition_files
from zicht.engine.sources.streaming import (
    Counts,
    Partial,
    SourcePlan,
    bucket_cells,
    combine,
    spill_file,
)
from zicht.engine.threads import free_cores


@contextmanager
def dask_aggregator(
    run: RunSection,
) -> Iterator[Callable[[SourcePlan], tuple[Partial, Counts]]]:
    """Aggregate sources on the run's cluster (:func:`connect`), open while in use."""
    with connect(run) as client:
        yield lambda plan: dask_source(plan, client, run.scratch)


def dask_source(
    plan: SourcePlan, client: Client, scratch: Path | None = None
) -> tuple[Partial, Counts]:
    """All cells of one source's indicators, aggregated on dask (see the module)."""
    assert plan.spec.path is not None, "a generated source is not streamed"
    files = partition_files(plan.spec.path)
    with tempfile.TemporaryDirectory(prefix="zicht-spill-", dir=scratch) as spill:
        [shared] = client.scatter([plan], broadcast=True)
        targets = [Path(spill) / f"part-{i:06d}.parquet" for i in range(len(files))]
        spilled = client.map(_spill, files, targets, plan=shared, pure=False)
        counts = sum(client.gather(spilled), Counts())
        buckets = client.map(
            _bucket, range(plan.buckets), spill=Path(spill), plan=shared, pure=False
        )
        total: Partial | None = None
        for future in buckets:
            # in bucket order: the same sums, to the last digit, on any cluster
            total = combine(total, future.result())
            future.release()
    assert total is not None
    return total, counts


@contextmanager
def connect(run: RunSection) -> Iterator[Client]:
    """A client of the cluster at ``[run] scheduler``, or of a local cluster on the
    run's threads that is shut down with it."""
    if run.scheduler is not None:
        with Client(run.scheduler) as client:
            yield client
        return
    workers = run.threads or free_cores()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: others may run a cluster here
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _spill(file: Path, target: Path, plan: SourcePlan) -> Counts:
    return spill_file(plan, file, target)


def _bucket(bucket: int, spill: Path, plan: SourcePlan) -> Partial:
    return bucket_cells(plan, spill, bucket)
