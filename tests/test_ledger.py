"""The release ledger: a cut taken from a stored master publishes what a fresh cut
does, and an edition protected with the ledger of the one before gives nothing away
that either withheld (the issue's fifth attack: the company source with window
2022-2024, and the edition of a year earlier, 2021-2023, on the same records). As a
control, the same edition protected without the ledger does give cells away.

The master is stadsdeel Zuidoost of the demo; the synthetic records are frozen after
the first run, as a steward's files would be. The attacker reads only the published
directories (tests/attacker.py) and knows the relations from the data dictionary,
written out here by hand.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.attacker import KNOWN, exposed, read_layers, union
from tests.conftest import DEMO_STADSDEEL, _demo_on
from tests.test_disclosure import NO_DERIVED, NO_SIZES, lp_exposed, table
from zicht.disclosure import Relations, protect
from zicht.disclosure.protect import FROZEN, FROZEN_PUBLISHED
from zicht.engine import load_config, run
from zicht.engine.cli import main
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG
from zicht.engine.releases.ledger import MANIFEST, open_ledger
from zicht.engine.sources import record_cells
from zicht.errors import ConfigError, DisclosureError, OutputError
from zicht.versions import software_versions

PART = tuple(w for w in DEMO_STADSDEEL if w != "WK0363TA")
# the company figures whose window moves with the edition
WINDOWED = (
    "vestigingen",
    "vestigingen_risicobranche",
    "kortlevende_vestigingen",
    "vestigingen_drukke_adressen",
    "omzet_nieuwe_vestigingen",
)
YEARS = {"2224": ("gestart_2022", "gestart_2023", "gestart_2024"), "2123": ("gestart_2021",)}


def _config(folder, name, codes=(), earlier=False):
    """The demo's config (with ``[boundaries] select = codes``); ``earlier``: the
    edition of a year before, window 2021-2023 and ``gestart_2021`` for 2024."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "amsterdam_buurten_2024.gpkg"', f'path = "{DEMO_BOUNDARIES}"')
    if codes:
        text = text.replace("[boundaries]\n", f"[boundaries]\nselect = {json.dumps(codes)}\n")
    if earlier:
        text = text.replace("startjaar = [2022, 2023, 2024]", "startjaar = [2021, 2022, 2023]")
        text = text.replace('id = "gestart_2024"', 'id = "gestart_2021"')
        text = text.replace("startjaar = [2024] }", "startjaar = [2021] }")
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The first release (recorded in a fresh ledger) and the frozen records:
    (RunResult, ledger path, records by generator)."""
    folder = tmp_path_factory.mktemp("ledger")
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        result = run(
            load_config(_config(folder, "first")), folder / "first", ledger=folder / "book"
        )
    frozen = {data.name: data for data in result.indicators.synthetic.values()}
    return result, folder / "book", frozen


@pytest.fixture
def steward(monkeypatch, first):
    """Runs on the stadsdeel with the first release's records frozen."""
    _demo_on(monkeypatch, DEMO_STADSDEEL)
    frozen = first[2]
    monkeypatch.setattr(record_cells, "generate", lambda name, *a, **kw: frozen[name])
    return first


@pytest.fixture(scope="module")
def cuts(first, tmp_path_factory):
    """The same cut taken from the ledger (from the command line) and computed fresh."""
    folder = tmp_path_factory.mktemp("cuts")
    _, book, frozen = first
    config = _config(folder, "part", PART)
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        mp.setattr(record_cells, "generate", lambda name, *a, **kw: frozen[name])
        fresh = run(load_config(config), folder / "fresh")
        code = main(
            ["--quiet", "run", str(config), "--out", str(folder / "kept")] + ["--ledger", str(book)]
        )
    return fresh, folder / "kept", code


def test_a_cut_from_the_ledger_is_the_cut_computed_fresh(cuts, first):
    fresh, kept, code = cuts
    assert code == 0
    assert len(open_ledger(first[1]).releases) == 1  # the same master: no new release
    mine, theirs = read_layers(kept), read_layers(fresh.out_dir)
    assert set(mine) == set(theirs) == {"buurt", "wijk"}
    for level, layer in theirs.items():
        pd.testing.assert_frame_equal(mine[level], layer, obj=level)
    for name in ("hotspots.csv", "report.html"):
        assert _untimed(kept / name) == _untimed(fresh.out_dir / name), name


def _untimed(path: Path) -> str:
    """A file's text without the minute it was made (two runs may straddle one)."""
    return re.sub(r"\d\d-\d\d-\d{4} \d\d:\d\d", "<made>", path.read_text(encoding="utf-8"))


def test_a_master_reads_back_from_the_ledger_as_it_was_protected(first):
    result, book, _ = first
    ledger = open_ledger(book)
    stored = ledger.protection(ledger.releases[0])
    pd.testing.assert_frame_equal(stored.cells, result.protection.cells)
    pd.testing.assert_frame_equal(stored.branches, result.protection.branches)
    assert stored.params == result.protection.params
    # which solvers chose its complements: a run that takes this master publishes them
    assert ledger.releases[0].software == software_versions()


def test_a_ledger_written_before_the_software_was_recorded_still_reads(first, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(first[1], book)
    manifest = json.loads((book / MANIFEST).read_text(encoding="utf-8"))
    for release in manifest["releases"]:
        del release["software"]
    (book / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert open_ledger(book).releases[0].software == {}
    manifest["releases"][0]["surplus"] = 1  # a key no zicht wrote is still refused
    (book / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(OutputError, match=r"release 1 is malformed .*\['surplus'\] unknown"):
        open_ledger(book)


def test_the_ledger_stays_out_of_the_output(first, cuts, tmp_path):
    result, book, _ = first
    release = open_ledger(book).releases[0]
    secrets = [v for k, v in release.inputs.items() if k.startswith("microdata:")]
    assert secrets and release.key
    for out in (result.out_dir, cuts[1]):
        for path in out.rglob("*"):
            assert path.name != MANIFEST and path.suffix != ".npy", path
            if path.is_file():
                data = path.read_bytes()
                assert not any(s.encode() in data for s in [*secrets, release.key]), path
    with pytest.raises(OutputError, match="inside the output directory"):
        run(load_config(_config(tmp_path, "in")), tmp_path / "out", ledger=tmp_path / "out" / "l")
    assert not (tmp_path / "out").exists()


def test_the_ledger_key_of_the_config(tmp_path):
    text = _config(tmp_path, "plain").read_text(encoding="utf-8")
    kept = tmp_path / "kept.toml"
    kept.write_text(text + '\n[release]\nledger = "steward/ledger"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'release.ledger' names .*steward.ledger, in a fold"):
        load_config(kept)
    (tmp_path / "steward").mkdir()
    assert load_config(kept).release.ledger == tmp_path / "steward" / "ledger"
    assert load_config(_config(tmp_path, "none")).release.ledger is None


def test_a_corrupt_ledger_stops_the_run_before_any_output(steward, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(steward[1], book)
    (book / MANIFEST).write_text("{", encoding="utf-8")
    config = load_config(_config(tmp_path, "c"))
    with pytest.raises(OutputError, match=str(book / MANIFEST)):
        run(config, tmp_path / "out", ledger=book)
    (book / MANIFEST).write_text(json.dumps({"format": "zicht-ledger", "version": 99}))
    with pytest.raises(OutputError, match="version 99"):
        run(config, tmp_path / "out", ledger=book)
    shutil.copy(steward[1] / MANIFEST, book / MANIFEST)
    (book / "release-0001" / "cells" / "c000.npy").write_bytes(b"not a column")
    with pytest.raises(OutputError, match="release-0001/cells/c000.npy"):
        run(config, tmp_path / "out", ledger=book)
    assert not (tmp_path / "out").exists()


def test_a_ledger_protected_under_other_rules_is_refused(steward, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(steward[1], book)
    manifest = json.loads((book / MANIFEST).read_text(encoding="utf-8"))
    manifest["releases"][0]["rules"]["min_units"] = 11
    (book / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DisclosureError, match=r"\[disclosure\] min_units"):
        run(load_config(_config(tmp_path, "same")), tmp_path / "out", ledger=book)
    assert not (tmp_path / "out").exists()


def test_a_revised_source_is_refused(steward, tmp_path, monkeypatch):
    book = tmp_path / "book"
    shutil.copytree(steward[1], book)
    frozen = dict(steward[2])
    kvk = next(name for name, data in frozen.items() if data.unit_type == "company")
    records = frozen[kvk].records
    revised = records.drop(index=records.index[records["startjaar"] == 2023][:1])
    frozen[kvk] = type(frozen[kvk])(**{**vars(frozen[kvk]), "records": revised})
    monkeypatch.setattr(record_cells, "generate", lambda name, *a, **kw: frozen[name])
    with pytest.raises(DisclosureError, match="revised: .*gestart_2023"):
        run(load_config(_config(tmp_path, "e", earlier=True)), tmp_path / "out", ledger=book)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def editions(first, tmp_path_factory):
    """The edition of a year earlier on the same records, protected with the ledger
    of the first release and, as the control, without it."""
    folder = tmp_path_factory.mktemp("editions")
    _, book, frozen = first
    shutil.copytree(book, folder / "book")
    config = load_config(_config(folder, "earlier", earlier=True))
    with pytest.MonkeyPatch.context() as mp:
        _demo_on(mp, DEMO_STADSDEEL)
        mp.setattr(record_cells, "generate", lambda name, *a, **kw: frozen[name])
        joint = run(config, folder / "joint", ledger=folder / "book")
        alone = run(config, folder / "alone")
    return joint, alone, folder / "book"


def _window(frame, suffix, column=None):
    """The windowed indicators of one edition under names of their own."""
    names = {i: f"{i}_{suffix}" for i in WINDOWED}
    return frame.rename(columns=names) if column is None else frame.replace({column: names})


# What the data dictionary says of the two editions: each window is the sum of its
# years, and each edition's company figures are subsets of its window.
EDITIONS = Relations(
    subsets=tuple(p for p in KNOWN.subsets if p[1] != "vestigingen")
    + tuple(
        (f"{part}_{suffix}", f"vestigingen_{suffix}") for suffix in YEARS for part in WINDOWED[1:4]
    ),
    sums=(
        ("vestigingen_2224", YEARS["2224"]),
        ("vestigingen_2123", ("gestart_2021", "gestart_2022", "gestart_2023")),
    ),
)


def _attack(one, other) -> pd.DataFrame:
    """What an outsider who reads both editions' directories pins down."""
    layers = union(
        {lv: _window(f, "2224") for lv, f in read_layers(one.out_dir).items()},
        {lv: _window(f, "2123") for lv, f in read_layers(other.out_dir).items()},
    )
    truth = pd.concat(
        [
            _window(one.protection.cells, "2224", "indicator"),
            _window(other.protection.cells, "2123", "indicator"),
        ],
        ignore_index=True,
    ).drop_duplicates(["indicator", "level", "code"])
    return exposed(layers, truth, sample=60, known=EDITIONS)


def test_two_editions_with_the_ledger_give_nothing_away(first, editions):
    joint, _, book = editions
    assert [r.number for r in open_ledger(book).releases] == [1, 2]
    assert _attack(first[0], joint).empty
    # what both editions compute (the years, the other sources) is one figure: it is
    # published, or withheld, in both alike
    cells = first[0].protection.cells
    shared = cells["sensitive"] & cells["kind"].isin(["count", "sum"])
    shared &= ~cells["indicator"].isin(WINDOWED + YEARS["2224"][2:])
    ids = sorted(set(cells.loc[shared, "indicator"]))
    assert {"gestart_2022", "gestart_2023", "transactiebedrag"} <= set(ids)
    theirs = read_layers(joint.out_dir)
    for level, layer in read_layers(first[0].out_dir).items():
        pd.testing.assert_frame_equal(layer[ids], theirs[level][ids], obj=level)


def test_two_editions_protected_each_on_its_own_do_give_cells_away(first, editions):
    _, alone, _ = editions
    found = _attack(first[0], alone)
    assert len(found) > 0, "the control found nothing: the test could not fail"
    assert "gestart_2024" in set(found["indicator"])


def test_the_loop_keeps_what_a_release_fixed():
    """The frozen status in the protection loop, on a small table: cells a release
    published stay published (even where they were the natural complements), a cell it
    withheld stays withheld, and the table is still protected."""
    # a frequency cell of 100 (3 units): the rounding of its neighbours cannot hide it
    cells = table([[100, 40, 50], [30, 60]], units=[[3, 40, 50], [30, 60]])
    fresh = protect(cells, NO_SIZES, NO_DERIVED).cells
    natural = np.flatnonzero(fresh["reason"] == "secondary")
    assert len(natural)
    frozen = cells.copy()
    frozen[FROZEN] = ""
    frozen.loc[natural, FROZEN] = FROZEN_PUBLISHED
    kept = np.flatnonzero(cells["code"] == "BU00010101")
    frozen.loc[kept, FROZEN] = "secondary"
    decided = protect(frozen, NO_SIZES, NO_DERIVED)
    result = decided.cells
    assert (result.loc[natural, "reason"] == "").all()
    assert result.loc[natural, "published"].notna().all()
    assert result.loc[kept, "reason"].tolist() == ["secondary"]
    assert (result["reason"] != "").sum() > 2  # other complements took their place
    assert len(decided.failures) == 0
    columns = ("published", "reason", "upper", "lower")
    published, reason, upper, lower = (result[c] for c in columns)
    assert not lp_exposed(
        cells, published.to_numpy(), reason, upper.to_numpy(), lower.to_numpy()
    ).any()
