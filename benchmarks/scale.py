"""Benchmark: records by the hundred million (issue 32), time and peak memory per size.

On the national 2015 buurten (12,229; ../shared/data/nl_buurten_2015.gpkg): the six
synthetic sources of the demo's themes, written as partitioned Parquet by
``zicht synthetic`` (:func:`engine.indicators.write_synthetic_sources`), then
aggregated to every indicator's cells on buurt, wijk and gemeente by each engine
(``memory``: every source read whole; ``stream``: in partitions in this process;
``dask``: the same on a LocalCluster of one worker per free core), and the
companies' area x SBI cells of the demo's branche tables (gemeente and wijk x every
SBI node). Every step runs in
a fresh process, so its peak memory is its own: for ``dask`` the client's and the
largest worker's (each worker holds one partition or bucket at a time).

    python -m benchmarks.scale --records 1000000 10000000 --engines memory stream dask
    python -m benchmarks.scale --records 100000000 --engines stream --data /tmp/scale

The files are kept in ``--data`` (one folder per size) and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from benchmarks.common import national_config, peak_memory_mb, require_national_data

PARTITION_ROWS = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--engines", nargs="+", default=["memory", "stream", "dask"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/zicht-scale"))
    parser.add_argument("--partition-rows", type=int, default=PARTITION_ROWS)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    require_national_data()
    if args.write is not None:
        _write(args.write, int(args.records[0]), args.partition_rows)
        return
    if args.measure is not None:
        _measure(args.measure, args.engine, args.partition_rows)
        return
    args.data.mkdir(parents=True, exist_ok=True)
    for records in (int(r) for r in args.records):
        folder = args.data / f"records-{records}"
        if not folder.exists():
            _report(f"write {records:,}", _child(args, "--write", folder, records))
        for engine in args.engines:
            _report(f"{engine} {records:,}", _child(args, "--measure", folder, records, engine))


def _child(
    args: argparse.Namespace, mode: str, folder: Path, records: int, engine: str = ""
) -> dict[str, float]:
    """One step in a fresh process; its last line is a JSON object of figures."""
    command = [sys.executable, "-m", "benchmarks.scale", mode, str(folder)]
    command += ["--records", str(records), "--partition-rows", str(args.partition_rows)]
    command += ["--engine", engine] if engine else []
    # its progress (stderr) shows as it goes: a run of 10^8 records takes long
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(step: str, figures: dict[str, float]) -> None:
    parts = [f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in figures.items()]
    print(f"{step:<22} " + ", ".join(parts), flush=True)


def _write(folder: Path, records: int, partition_rows: int) -> None:
    from zicht.engine.indicators import write_synthetic_sources

    start = time.perf_counter()
    written = write_synthetic_sources(national_config(), folder, records, partition_rows)
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    figures = {
        "records": sum(w.records for w in written),
        "files": sum(w.files for w in written),
        "MB": size / 1e6,
        "s": time.perf_counter() - start,
        "cpu s": _cpu_seconds(),
        "peak MiB": peak_memory_mb(),
    }
    print(json.dumps(figures))


def _measure(folder: Path, engine: str, partition_rows: int) -> None:
    """Aggregate the files in ``folder`` with ``engine``; time per stage, peak memory."""
    from zicht.boundaries import read_boundaries
    from zicht.engine.config import MicrodataSpec
    from zicht.engine.indicators import compute_indicators
    from zicht.engine.sources import streaming

    raw = tomllib.loads((folder / "microdata.toml").read_text(encoding="utf-8"))
    microdata = tuple(
        MicrodataSpec.model_validate(m, context={"base": folder}) for m in raw["microdata"]
    )
    config = national_config(branche_tables=True)
    run = config.run.model_copy(update={"engine": engine, "partition_rows": partition_rows})
    config = config.model_copy(update={"microdata": microdata, "run": run})
    stages = _timed_stages(streaming)
    start = time.perf_counter()
    b = config.boundaries
    boundaries = read_boundaries(b.path, b.layer, b.columns, b.drop_water)
    read, read_cpu = time.perf_counter(), _cpu_seconds()
    result = compute_indicators(config, boundaries)
    done = time.perf_counter()
    figures = {
        "records": sum(p.records for p in result.placements.values()),
        "boundaries s": read - start,
        "aggregate s": done - read,
        "aggregate cpu s": _cpu_seconds() - read_cpu,
        **{f"{k} s": v for k, v in stages.items() if v},
        "cpu s": _cpu_seconds(),
        "peak MiB": peak_memory_mb(),
    }
    if engine == "dask":
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        figures["largest worker peak MiB"] = children
    print(json.dumps(figures))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (dask's workers): on a
    shared machine the wall time says more about the others' load than about zicht."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed_stages(streaming: object) -> dict[str, float]:
    """Wall and CPU time of the stream engine's two passes (in this process only)."""
    stages = {
        "pass 1 (read, place, spill)": 0.0,
        "pass 1 cpu": 0.0,
        "pass 2 (buckets)": 0.0,
        "pass 2 cpu": 0.0,
    }
    for name, stage in (
        ("spill_file", "pass 1 (read, place, spill)"),
        ("bucket_cells", "pass 2 (buckets)"),
    ):
        original = getattr(streaming, name)

        def timed(*args: object, _f: object = original, _s: str = stage) -> object:
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return _f(*args)  # type: ignore[operator]
            finally:
                stages[_s] += time.perf_counter() - t
                stages[_s.split(" (")[0] + " cpu"] += time.process_time() - cpu
                _progress(_s, args, stages)

        setattr(streaming, name, timed)
    return stages


def _progress(stage: str, args: tuple[Any, ...], stages: dict[str, float]) -> None:
    """One line per file or bucket done, to stderr: the figures so far."""
    plan, where = args[0], args[1]
    step = where.name if isinstance(where, Path) and stage.startswith("pass 1") else args[2]
    name = stage.split(" (")[0]
    print(
        f"{time.strftime('%H:%M:%S')} {plan.spec.id} {name} {step}: "
        f"{stages[stage]:.0f} s, {stages[name + ' cpu']:.0f} s CPU so far, "
        f"peak {peak_memory_mb():,.0f} MiB",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()
