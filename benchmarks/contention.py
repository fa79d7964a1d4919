"""Benchmark: a run on a busy shared server, against the same run on an idle one.

Each run is a fresh ``zicht`` process; its CPU time (user + system, of the process and
its threads) and wall time are measured idle, and with two other CPU-bound processes
running ("busy"). Busy runs use the default thread budget (the cores free to the run,
bounded with threadpoolctl), and once with ``--threads`` set to every core, which is
what the numeric libraries do unbounded. Goal (issue 14): busy CPU time within 1.5x
of idle.

Runs: the demo (518 buurten, a gradient boosting model) and, where
../shared/data is present, the national 2015 buurten with a Poisson model of the
drugs target.

    python -m benchmarks.contention [--national-only]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import NATIONAL_2015
from zicht.engine.threads import machine_cores

BURNER = "import time\nend = time.time() + 900\nwhile time.time() < end: pass\n"


# the national benchmark set with a Poisson model of the drugs target, run in a child
NATIONAL_RUN = """
import sys
from benchmarks.common import national_config
from zicht.engine.config import TargetSpec
from zicht.engine.pipeline import run

config = national_config(scale=1.75)
target = TargetSpec(theme="drugs", target="hennepkwekerijen", groups="gemeente",
                    features=("omgevingsadressendichtheid", "ww_per_1000"))
config = config.model_copy(
    update={"models": config.models.model_copy(update={"targets": (target,)})}
)
threads = int(sys.argv[2]) if len(sys.argv) > 2 else None
run(config, sys.argv[1], threads=threads)
"""


def _timed(command: list[str], limit: float | None = None) -> tuple[float, float, bool]:
    """Wall and CPU seconds of one child process, and whether it finished within
    ``limit`` seconds (it is stopped there: an oversubscribed run can take an hour)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        finished = child.wait(timeout=limit) == 0
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        finished = False
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, finished


def _measure(name: str, command: list[str], threads_flag: list[str]) -> None:
    cores = str(machine_cores())
    idle = _timed(command)
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(2)]
    try:
        time.sleep(2)
        busy = _timed(command)
        unbounded = _timed([*command, *threads_flag, cores], limit=max(120.0, 5 * idle[0]))
    finally:
        for b in burners:
            b.kill()
    print(f"\n{name}")
    print(f"{'':28}{'wall':>8}{'cpu':>8}{'cpu / idle':>12}")
    for label, (wall, cpu, finished) in (
        ("idle", idle),
        ("busy, free cores (default)", busy),
        (f"busy, threads {cores}", unbounded),
    ):
        more = "" if finished else "   (stopped: more than 5x the idle wall time)"
        print(f"{label:28}{wall:7.1f}s{cpu:7.1f}s{cpu / idle[1]:11.2f}x{more}")


def main() -> None:
    zicht = [sys.executable, "-m", "zicht", "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        demo = [*zicht, "demo", "--out", str(out)]
        if "--national-only" not in sys.argv:
            _measure("demo (518 buurten, gradient boosting model)", demo, ["--threads"])
        if NATIONAL_2015.exists():
            _measure(
                "national 2015 (12,229 buurten, Poisson model of the drugs target)",
                [sys.executable, "-c", NATIONAL_RUN, str(out)],
                [],
            )
        else:
            print(f"SKIPPED national: {NATIONAL_2015} is absent")


if __name__ == "__main__":
    main()
