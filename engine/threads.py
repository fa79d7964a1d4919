"""How many threads a run gives the numeric libraries: the cores this process may use,
less those other work is using now."""

from __future__ import annotations

import os
from pathlib import Path


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def free_cores() -> int:
    """The cores this process may run on that other work is not using now: its CPU
    affinity minus the tasks running besides it, at least 1. On a shared server this
    keeps the numeric libraries from starting a thread per core on a busy machine,
    where the threads would only wait for each other."""
    cores = machine_cores()
    return max(1, min(cores, round(cores - _busy())))


def _busy() -> float:
    """How many cores other work uses now: the runnable tasks besides this one (Linux's
    ``/proc/loadavg``, which reacts at once), else the one-minute load average."""
    try:
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        return max(0.0, float(running) - 1)
    except (OSError, IndexError, ValueError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
