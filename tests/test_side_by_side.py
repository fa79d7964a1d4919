"""Work done side by side (issue 31): groups of linked indicators searched in a second
process, themes analysed on threads, the workbook written by a second process. Each
gives what one thread gives, and a second process that cannot start costs time, never
the run."""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import pickle
import subprocess
import sys
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pandas as pd
import pytest

import zicht.engine.outputs.writers as writers
import zicht.processes as processes
from zicht.disclosure import Relations, protect
from zicht.disclosure.limits import LIMITS
from zicht.engine import load_config, run
from zicht.engine.data import DEMO_CONFIG
from zicht.engine.outputs.workbook import write_xlsx
from zicht.processes import Helpers, helper_pool, helper_processes, started_early

from .test_disclosure import NO_DERIVED, NO_SIZES, table
from .test_spreadsheets import HEADERS, _table

# the module (the package's name `protect` is the function)
protect_module = importlib.import_module("zicht.disclosure.protect")

# a gemeente of small counts: every indicator gets primary and secondary suppressions
WIJKEN = [[3, 12, 40, 7, 25], [1, 18, 22, 30], [4, 4, 60, 11, 9, 2], [15, 6, 33]]


def _cells() -> pd.DataFrame:
    """The company count (its own linked table, under the company rule) and two
    indicators of persons, whose groups the company rule cannot touch."""
    rng = np.random.default_rng(3)
    parts = [table(WIJKEN, indicator="vestigingen", unit_type="company")]
    for name in ("woningverkopen", "drugsincidenten"):
        values = [[int(v) for v in rng.integers(0, 40, len(w))] for w in WIJKEN]
        parts.append(table(values, indicator=name, unit_type="person"))
    return pd.concat(parts, ignore_index=True)


class _Spawned:
    """The real pool of second processes (:func:`zicht.processes.helper_pool`),
    counting the pools made. A job it is given is handed to its process before
    ``submit`` returns (a pool holds one job more than it has processes): this
    process cannot take it back, however slowly the second process starts on a busy
    machine (where this process, done first, took a group back)."""

    made = 0

    def __init__(self, workers: int) -> None:
        type(self).made += 1
        self.pool = helper_pool(workers)

    def submit(self, *args, **kwargs):
        job = self.pool.submit(*args, **kwargs)
        waited = 0.0
        while not (job.running() or job.done()) and waited < 60:
            time.sleep(0.01)
            waited += 0.01
        return job

    def shutdown(self, **kwargs) -> None:
        self.pool.shutdown(**kwargs)


class _Broken:
    """A process pool whose process could not start (as when a script without a
    ``__main__`` guard calls zicht)."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def submit(self, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_exception(BrokenProcessPool("the child process died"))
        return future

    def shutdown(self, **kwargs) -> None:
        pass


class _InProcess:
    """A pool that does each job at once, in this process, on a pickled copy of it and
    its arguments (what a second process gets), recording the jobs' names."""

    jobs: list[str] = []
    shut = 0

    def __init__(self, workers: int) -> None:
        pass

    def submit(self, job, *args) -> Future:
        job, args = pickle.loads(pickle.dumps((job, args)))
        if job is processes._called:  # what Helpers sends: the job pickled at submit
            job, args = pickle.loads(args[0])
        type(self).jobs.append(getattr(job, "func", job).__name__)
        future: Future = Future()
        try:
            future.set_result(job(*args))
        except Exception as error:  # noqa: BLE001 (as a pool hands it over)
            future.set_exception(error)
        return future

    def shutdown(self, **kwargs) -> None:
        type(self).shut += 1


class _Waiting(Future):
    """A job that never starts: waiting for it fails (it should have been taken back)."""

    def result(self, timeout=None):
        raise AssertionError("waited for a job this process should have taken back")


class _NeverStarts:
    """A process pool whose process never gets to its jobs: each can be taken back."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def submit(self, *args, **kwargs) -> Future:
        return _Waiting()

    def shutdown(self, **kwargs) -> None:
        pass


SEARCHED_HERE: list[str] = []
_SEARCHED = protect_module._searched


def recording_searched(frame: pd.DataFrame, *args: object) -> tuple[object, int]:
    """:func:`_searched`, recording the group's first indicator (picklable: a second
    process imports it, and records in its own list)."""
    SEARCHED_HERE.append(str(frame["indicator"].iloc[0]))
    return _SEARCHED(frame, *args)


def test_groups_searched_in_a_second_process_decide_as_one_thread(monkeypatch):
    cells = _cells()
    alone = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=1)
    monkeypatch.setattr(protect_module, "ASIDE_CELLS", 0)
    monkeypatch.setattr(processes, "helper_pool", _Spawned)
    # searched in this process: what the second process searches is recorded there
    monkeypatch.setattr(protect_module, "_searched", recording_searched)
    SEARCHED_HERE.clear()
    _Spawned.made = 0
    side = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=2)
    assert _Spawned.made == 1 and SEARCHED_HERE == []  # the person groups went aside
    assert (alone.cells["reason"] == "secondary").any()  # complements were needed
    pd.testing.assert_frame_equal(side.cells, alone.cells)
    assert side.rounds == alone.rounds


def test_only_groups_the_company_rule_cannot_touch_go_aside():
    cells = _cells()
    cells.loc[cells["indicator"] == "drugsincidenten", "unit_type"] = "company"
    run = protect_module._Run(cells, protect_module.DisclosureParams(), Relations(), LIMITS)
    groups = [["woningverkopen"], ["drugsincidenten"]]
    assert protect_module.ASIDE_CELLS > len(cells)  # a small table stays in this process
    assert run.aside(groups, ["vestigingen"], threads=2) == []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(protect_module, "ASIDE_CELLS", 0)
        assert run.aside(groups, ["vestigingen"], threads=2) == [["woningverkopen"]]
        assert run.aside(groups, ["vestigingen"], threads=1) == []
        # without a company table, the largest group stays here meanwhile
        assert run.aside(groups, None, threads=2) == [["drugsincidenten"]]


def test_a_second_process_that_cannot_start_costs_time_not_the_run(monkeypatch, caplog):
    cells = _cells()
    alone = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=1)
    monkeypatch.setattr(protect_module, "ASIDE_CELLS", 0)
    monkeypatch.setattr(processes, "helper_pool", _Broken)
    with caplog.at_level(logging.WARNING, logger="zicht"):
        side = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=2)
    pd.testing.assert_frame_equal(side.cells, alone.cells)
    assert caplog.text.count("__main__") == 1  # it says what to do about it, once


def test_groups_a_second_process_has_not_started_are_taken_back(monkeypatch):
    """Once this process is done with the company table, it searches the groups the
    second one has not started (the smallest first), and decides as one thread."""
    cells = _cells()
    alone = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=1)
    monkeypatch.setattr(protect_module, "ASIDE_CELLS", 0)
    monkeypatch.setattr(processes, "helper_pool", _NeverStarts)
    taken = []
    taken_back = protect_module._Run.taken_back

    def counted(run, aside, pending, threads):
        found = taken_back(run, aside, pending, threads)
        taken.append((len(found), len(pending)))
        return found

    monkeypatch.setattr(protect_module._Run, "taken_back", counted)
    side = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=2)
    pd.testing.assert_frame_equal(side.cells, alone.cells)
    assert taken == [(2, 0)]  # both person groups taken back, none left waiting


def test_a_workbook_process_that_cannot_start_leaves_the_workbook_to_this_one(tmp_path, caplog):
    broken = _Broken().submit()
    path = tmp_path / "hotspots.xlsx"
    helpers = Helpers(0, "hotspots.xlsx", "writes it")  # as write_outputs makes it
    with caplog.at_level(logging.WARNING, logger="zicht"):
        helpers.result(broken, lambda: write_xlsx(_table(), path, HEADERS, ["Bron: CBS"], "nl"))
    assert pd.read_excel(path, sheet_name="Drugs")["Naam"].iloc[-1] == "Oude Pijp"
    assert "__main__" in caplog.text


@pytest.mark.slow
def test_a_run_on_two_threads_publishes_what_one_thread_publishes(
    tmp_path, monkeypatch, demo_on_one_stadsdeel
):
    """The demo on one stadsdeel (scores, hotspots, all four themes), with every group
    the company rule cannot touch searched in a second process and the themes on two
    threads, against the same run on one thread."""
    monkeypatch.setattr(protect_module, "ASIDE_CELLS", 0)
    monkeypatch.setattr(processes, "helper_pool", _Spawned)
    monkeypatch.setattr(writers, "WORKBOOK_PROCESS_ROWS", 0)
    import zicht.engine.pipeline as pipeline

    audited = []
    audit = pipeline._audit
    monkeypatch.setattr(pipeline, "_audit", lambda *a: audited.append(a[0]) or audit(*a))
    config = load_config(DEMO_CONFIG)
    _Spawned.made = 0
    two = run(config, tmp_path / "two", threads=2)
    assert _Spawned.made == 2  # the groups' second process and the workbook's
    monkeypatch.setattr(pipeline, "EARLY_HELPER_AREAS", 0)
    early = run(config, tmp_path / "early", threads=2)
    assert _Spawned.made == 3  # one, started early: the sources', groups' and workbook's
    one = run(config, tmp_path / "one", threads=1)
    assert _Spawned.made == 3
    assert len(audited) == 3  # the files audited in each, the workbook's process or not
    for side in (two, early):
        _same_outputs(side, one)


def _same_outputs(side, one) -> None:
    """The same protection, layers, hotspot list and workbook sheets in both runs."""
    pd.testing.assert_frame_equal(side.protection.cells, one.protection.cells)
    pd.testing.assert_frame_equal(side.protection.branches, one.protection.branches)
    for level, layer in one.layers.items():
        pd.testing.assert_frame_equal(side.layers[level], layer, obj=level)
    csv = [(r.out_dir / "hotspots.csv").read_bytes() for r in (side, one)]
    assert csv[0] == csv[1]
    sheets = [pd.read_excel(r.out_dir / "hotspots.xlsx", sheet_name=None) for r in (side, one)]
    assert sheets[0].keys() == sheets[1].keys()
    for name in sheets[0]:
        pd.testing.assert_frame_equal(sheets[0][name], sheets[1][name], obj=name)


def test_a_run_audits_its_files_first_and_its_manifest_once_written(
    tmp_path, monkeypatch, demo_on_one_wijk
):
    """The files are audited while the workbook may still be written (before the
    manifest exists); the manifest is checked after: a file changed after it was
    listed stops the run, and nothing is written."""
    import zicht.engine.pipeline as pipeline
    from zicht.errors import DisclosureError

    steps = []
    audit, check = pipeline._audit, pipeline.check_manifest

    def audit_files(staging, proven):
        steps.append(("files", (staging / "manifest.json").exists()))
        audit(staging, proven)

    def tamper_then_check(staging):
        steps.append(("manifest", (staging / "manifest.json").exists()))
        with open(staging / "report.html", "a", encoding="utf-8") as page:
            page.write("<!-- changed after the manifest listed it -->")
        check(staging)

    monkeypatch.setattr(pipeline, "_audit", audit_files)
    monkeypatch.setattr(pipeline, "check_manifest", tamper_then_check)
    with pytest.raises(DisclosureError, match="report.html does not match its manifest"):
        run(load_config(DEMO_CONFIG), tmp_path / "out")
    assert steps == [("files", False), ("manifest", True)]
    assert not (tmp_path / "out").exists()


def test_a_long_branche_table_sends_the_workbook_to_a_second_process():
    """The national branche run's list is short (15,438 rows) and its branche table
    long (346,572 rows, 20 s of XlsxWriter): the table's rows count too."""
    short_list = pd.DataFrame({"thema": ["Drugs"] * 10})
    long_table = pd.DataFrame({"code": ["WK000100"] * writers.WORKBOOK_PROCESS_ROWS})
    assert not writers.workbook_aside(short_list, None, threads=2)
    assert writers.workbook_aside(short_list, long_table, threads=2)
    assert not writers.workbook_aside(short_list, long_table, threads=1)


# a script that calls zicht without the `if __name__ == "__main__":` guard; its second
# process imports it again, and there picks one thread (as on a busy machine)
UNGUARDED = """
import importlib, logging, pickle
logging.basicConfig(level=logging.WARNING, format="%(message)s")
protect_module = importlib.import_module("zicht.disclosure.protect")
protect_module.ASIDE_CELLS = 0
cells, sizes, derived = pickle.load(open({cells!r}, "rb"))
threads = 2 if __name__ == "__main__" else 1
found = protect_module.protect(cells, sizes, derived, companies="vestigingen", threads=threads)
with open({finished!r}, "a") as done:
    done.write(__name__ + "\\n")
found.cells.to_pickle({out!r})
"""


def test_a_script_without_the_main_guard_runs_once_and_is_told(tmp_path):
    """The second process refuses to start the script's work over (it would, on one
    thread, without a word); the script's own process searches every group itself and
    says why, once."""
    cells = _cells()
    pd.to_pickle((cells, NO_SIZES, NO_DERIVED), tmp_path / "cells.pkl")
    paths = {k: str(tmp_path / f"{k}.txt") for k in ("finished", "out")}
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(cells=str(tmp_path / "cells.pkl"), **paths))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "finished.txt").read_text().split() == ["__main__"]
    assert done.stderr.count("stopped or could not start") == 1
    alone = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=1)
    pd.testing.assert_frame_equal(pd.read_pickle(paths["out"]), alone.cells)


def protect_in_a_worker(cells: pd.DataFrame) -> pd.DataFrame:
    """Disclosure control on two threads inside a worker of a multiprocessing pool (a
    daemonic process, which may not start processes of its own)."""
    protect_module.ASIDE_CELLS = 0
    return protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=2).cells


def test_a_worker_of_a_process_pool_protects_alone():
    cells = _cells()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        inside = pool.apply(protect_in_a_worker, (cells,))
    alone = protect(cells, NO_SIZES, NO_DERIVED, companies="vestigingen", threads=1)
    pd.testing.assert_frame_equal(inside, alone.cells)


def test_second_processes_started_early_serve_every_stage_and_end_with_the_run(monkeypatch):
    """A large run starts its second process before it counts the sources; the stages
    that want one (the sources, disclosure's groups, the workbook) share it, and only
    leaving :func:`helper_processes` ends it."""
    monkeypatch.setattr(processes, "helper_pool", _InProcess)
    _InProcess.jobs, _InProcess.shut = [], 0
    assert not started_early()
    with helper_processes(1, ("json",)):
        assert started_early()
        with Helpers(1, "one stage", "does it") as first:
            assert first.submit(len, "abc").result() == 3
        with Helpers(1, "another stage", "does it") as second:
            assert second.pool is first.pool
        with Helpers(0, "a stage that wants none", "does it") as none:
            assert none.submit(len, "abc") is None
        assert _InProcess.shut == 0
    assert _InProcess.jobs == ["_imported", "len"]  # the warm-up first
    assert _InProcess.shut == 1
    assert not started_early()


def test_sources_counted_in_a_second_process_give_the_cells_counted_here(
    monkeypatch, demo_on_one_stadsdeel
):
    """Every other in-memory source of the demo counted aside: the same cells, own-area
    cells, branche cells and placements as all counted in one process."""
    import zicht.engine.pipeline as pipeline
    from zicht.engine.indicators import compute_indicators
    from zicht.engine.sources.record_cells import used_by

    config = load_config(DEMO_CONFIG)
    boundaries = pipeline._read_boundaries(config)
    here = compute_indicators(config, boundaries)
    monkeypatch.setattr(processes, "helper_pool", _InProcess)
    _InProcess.jobs = []
    with helper_processes(1):
        aside = compute_indicators(config, boundaries)
    sources = [m for m in config.microdata if used_by(config, m)]
    assert _InProcess.jobs.count("source_cells") == len(sources) // 2 > 0
    assert list(aside.cells) == list(here.cells)
    for name, cells in here.cells.items():
        for level, frame in cells.levels.items():
            pd.testing.assert_frame_equal(aside.cells[name].levels[level], frame, obj=name)
        for own, frame in cells.own.items():
            pd.testing.assert_frame_equal(aside.cells[name].own[own], frame, obj=name)
        assert aside.cells[name].source == cells.source
        assert aside.cells[name].unit_type == cells.unit_type
    pd.testing.assert_frame_equal(aside.branches, here.branches)
    assert list(aside.placements) == list(here.placements)
    for name, placement in here.placements.items():
        np.testing.assert_array_equal(aside.placements[name].unit, placement.unit)
    assert list(aside.synthetic) == list(here.synthetic)
    for name, data in here.synthetic.items():  # the records a ledger digests
        pd.testing.assert_frame_equal(aside.synthetic[name].records, data.records)


class _Stopped:
    """Shared second processes that stopped: every job is refused."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def submit(self, *args, **kwargs) -> Future:
        raise BrokenProcessPool("the shared process died")

    def shutdown(self, **kwargs) -> None:
        pass


def test_a_stage_whose_shared_process_stopped_starts_one_of_its_own(monkeypatch):
    """One process that died (killed for memory, say) does not leave every later
    stage of the run alone: the stage starts a process of its own."""
    pools = iter([_Stopped, _InProcess])
    monkeypatch.setattr(processes, "helper_pool", lambda workers: next(pools)(workers))
    _InProcess.jobs = []
    with helper_processes(1), Helpers(1, "a stage", "does it") as helpers:
        assert helpers.submit(len, "abcd").result() == 4
    assert _InProcess.jobs == ["len"]


class _Later:
    """A pool that does a job only when its result is asked for: as a real pool,
    whose own thread pickles a job some time after it was submitted."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def submit(self, job, *args) -> Future:
        future: Future = Future()
        future.result = lambda timeout=None: job(*args)  # type: ignore[method-assign]
        return future

    def shutdown(self, **kwargs) -> None:
        pass


def test_a_job_gets_its_arguments_as_they_were_when_it_was_sent(monkeypatch):
    """What this process changes after sending a job (a cache filled meanwhile) is not
    what the second process gets, half-changed: the job is pickled when it is sent."""
    monkeypatch.setattr(processes, "helper_pool", _Later)
    values = [1, 2, 3]
    with Helpers(1, "a stage", "does it") as helpers:
        pending = helpers.submit(len, values)
        values.append(4)
        assert pending is not None and pending.result() == 3


def test_of_two_failing_sources_the_first_configured_is_reported(
    monkeypatch, demo_on_one_stadsdeel
):
    """This process counts its own sources before it reads those counted aside; an
    error is still the first source's in the configured order, as in one process."""
    import zicht.engine.pipeline as pipeline
    from zicht.engine.indicators import compute_indicators
    from zicht.engine.sources import record_cells
    from zicht.errors import MicrodataError

    config = load_config(DEMO_CONFIG)
    boundaries = pipeline._read_boundaries(config)
    sources = [m.id for m in config.microdata if record_cells.used_by(config, m)]
    failing = {sources[1], sources[2]}  # the first goes aside, the second stays here
    monkeypatch.setattr(record_cells, "source_cells", _failing_source_cells)
    monkeypatch.setattr(processes, "helper_pool", _InProcess)
    monkeypatch.setenv("ZICHT_TEST_FAILING", ",".join(sorted(failing)))
    with helper_processes(1), pytest.raises(MicrodataError, match=f"'{sources[1]}'"):
        compute_indicators(config, boundaries)


_SOURCE_CELLS = importlib.import_module("zicht.engine.sources.record_cells").source_cells


def _failing_source_cells(config, boundaries, spec, used, context):
    """:func:`source_cells`, failing for the sources named in ZICHT_TEST_FAILING."""
    import os

    from zicht.errors import MicrodataError

    if spec.id in os.environ.get("ZICHT_TEST_FAILING", "").split(","):
        raise MicrodataError(f"source {spec.id!r} fails")
    return _SOURCE_CELLS(config, boundaries, spec, used, context)


class _Cycle:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_run_keeps_the_collector_off_what_lived_before_it_and_hands_it_back():
    """Within ``frozen_heap`` the objects alive at its start are set aside (the full
    collections of a national run walked the libraries each time), cycles made within
    are still collected, and at its end everything is handed back: a process that runs
    many times (the test suite, a server) collects the cycles of earlier runs."""
    import gc
    import weakref

    before = _Cycle()
    gone = weakref.ref(before)
    assert gc.get_freeze_count() == 0
    with processes.frozen_heap():
        assert gc.get_freeze_count() > 1000
        inside = weakref.ref(_Cycle())
        gc.collect()
        assert inside() is None  # made within: collected as ever
        del before
        gc.collect()
        assert gone() is not None  # set aside: not walked
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # handed back: collected


def test_a_helper_process_sets_its_imports_aside():
    """The second process a large run starts early imports what its jobs need and sets
    it aside from the collector (it lives as long as the run); the run's own process,
    where a test fakes the pool, does not."""
    import gc

    processes._imported(("zicht.disclosure.search",))
    assert gc.get_freeze_count() == 0
    pool = helper_pool(1)
    assert pool is not None
    with pool:
        pool.submit(processes._imported, ("zicht.disclosure.search",)).result()
        assert pool.submit(gc.get_freeze_count).result() > 1000
