"""The release ledger: what a steward has released, kept outside every output.

A ledger is a folder the steward keeps private (it holds true values): a manifest,
``ledger.json``, and per release a folder with the protected master's cells
(``cells``) and branche cells (``branches``), one NumPy file per column (text as
codes into its distinct values; read without pickles; the manifest names each column
and its dtype): true value, reason ('' = published),
published value, protection levels and the attacker's interval, as
:class:`~disclosure.protect.Protection` holds them. The manifest records per release
what makes it that release (:class:`Release`): the digest of its inputs and settings
(``key``), every indicator's definition (its identity: microdata source, measure,
filter and SBI nodes, or table and column), the rule parameters, and the digests of
the confidential inputs, which belong here and in no published file.

Writing is atomic: a release's folder is written under a temporary name and moved into
place, then the manifest is replaced the same way; a release the manifest does not
name does not exist. Reading checks the format and names the file at fault.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zicht.disclosure import DisclosureParams, Protection
from zicht.errors import OutputError
from zicht.versions import software_versions

FORMAT = "zicht-ledger"
VERSION = 1
MANIFEST = "ledger.json"
TABLES = ("cells", "branches")


@dataclass(frozen=True)
class Release:
    """One release as the manifest records it.

    ``key``: the digest of everything that decides the protected master (inputs by
    digest, indicator definitions, rule parameters, the level protected on); a run
    with the same key takes this release's master instead of protecting again.
    ``indicators``: per indicator id its definition (``identity``, ``kind``,
    ``sensitive``, ``unit_type``, ``branches``, ``subset_of``). ``inputs``: the
    SHA-256 of every input, by name. ``columns``: per table, the dtype of each column.
    ``software``: the versions that protected it (:func:`~zicht.versions.software_versions`:
    a run that takes this master publishes these versions' complements; empty in a
    ledger written before they were recorded).
    """

    number: int
    created: str
    key: str
    file: str
    level: str
    rounds: int
    rules: dict[str, Any]
    inputs: dict[str, str]
    indicators: dict[str, dict[str, Any]]
    columns: dict[str, dict[str, str]]
    software: dict[str, str] = field(default_factory=dict)


# what a release of a ledger written before a field was added may lack
_OPTIONAL = {"software"}


@dataclass(frozen=True)
class Ledger:
    """A ledger folder and its releases, oldest first."""

    path: Path
    releases: tuple[Release, ...] = ()

    def find(self, key: str) -> Release | None:
        """The release whose master has this ``key``, if any."""
        return next((r for r in self.releases if r.key == key), None)

    def protection(self, release: Release) -> Protection:
        """The protected master of ``release``, as the run that made it decided it."""
        cells, branches = (self.table(release, t) for t in TABLES)
        params = DisclosureParams(**release.rules)
        return Protection(cells, params, release.rounds, branches)

    def table(self, release: Release, table: str) -> pd.DataFrame:
        """One table of a release (``cells`` or ``branches``) with its dtypes."""
        folder = self.path / release.file / table
        columns = {}
        for k, (column, dtype) in enumerate(release.columns.get(table, {}).items()):
            columns[column] = _read_column(folder / f"c{k:03d}.npy", dtype)
        return pd.DataFrame(columns)


def open_ledger(path: Path) -> Ledger:
    """The ledger at ``path``; an empty one where the folder does not exist yet (its
    parent must). Raises :class:`~zicht.errors.OutputError` naming the file at fault."""
    path = Path(path)
    manifest = path / MANIFEST
    if not path.exists():
        if not path.parent.is_dir():
            raise OutputError(f"{path}: ledger in a folder that does not exist")
        return Ledger(path)
    if not path.is_dir():
        raise OutputError(f"{path}: a ledger is a folder, this is a file")
    if not manifest.exists():
        if any(path.iterdir()):
            raise OutputError(f"{manifest}: missing; {path} is not a zicht ledger")
        return Ledger(path)
    return Ledger(path, _read_manifest(manifest))


def _read_manifest(manifest: Path) -> tuple[Release, ...]:
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OutputError(f"{manifest}: not a zicht ledger manifest ({e})") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise OutputError(f"{manifest}: not a zicht ledger manifest (no format {FORMAT!r})")
    if raw.get("version") != VERSION:
        raise OutputError(
            f"{manifest}: ledger format version {raw.get('version')!r}; this zicht reads "
            f"version {VERSION}"
        )
    names = {f.name for f in fields(Release)}
    required = names - _OPTIONAL
    releases = []
    for k, entry in enumerate(raw.get("releases", []), start=1):
        if not isinstance(entry, dict) or not required <= set(entry) <= names:
            keys = set(entry) if isinstance(entry, dict) else set()
            missing, unknown = sorted(required - keys), sorted(keys - names)
            raise OutputError(
                f"{manifest}: release {k} is malformed (keys {missing} missing, {unknown} unknown)"
            )
        release = Release(**entry)
        if not (manifest.parent / release.file).is_dir():
            raise OutputError(f"{manifest.parent / release.file}: missing (release {k})")
        releases.append(release)
    return tuple(releases)


def record_release(
    ledger: Ledger,
    protection: Protection,
    *,
    key: str,
    level: str,
    inputs: Mapping[str, str],
    indicators: Mapping[str, dict[str, Any]],
) -> Ledger:
    """Add ``protection`` (a protected master) as the next release; returns the
    ledger with it. The release file is moved into place before the manifest names
    it, and the manifest is replaced atomically."""
    ledger.path.mkdir(exist_ok=True)
    number = len(ledger.releases) + 1
    name = f"release-{number:04d}"
    tmp = ledger.path / f".{name}.tmp"
    tables = {"cells": protection.cells, "branches": protection.branches}
    shutil.rmtree(tmp, ignore_errors=True)
    for table, frame in tables.items():
        (tmp / table).mkdir(parents=True)
        for k, column in enumerate(frame.columns):
            _write_column(tmp / table / f"c{k:03d}.npy", frame[column])
    shutil.rmtree(ledger.path / name, ignore_errors=True)  # left by a run that failed
    os.replace(tmp, ledger.path / name)
    release = Release(
        number=number,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        key=key,
        file=name,
        level=level,
        rounds=protection.rounds,
        rules=asdict(protection.params),
        inputs=dict(inputs),
        indicators={k: dict(v) for k, v in indicators.items()},
        columns={t: {c: _dtype(f[c]) for c in f.columns} for t, f in tables.items()},
        software=software_versions(),
    )
    releases = (*ledger.releases, release)
    manifest = {"format": FORMAT, "version": VERSION, "releases": [asdict(r) for r in releases]}
    tmp_manifest = ledger.path / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=1, default=float), encoding="utf-8")
    os.replace(tmp_manifest, ledger.path / MANIFEST)
    return Ledger(ledger.path, releases)


def _dtype(column: pd.Series) -> str:
    """A column's dtype as the manifest records it; a text column whose missing values
    are NaN rather than None is ``object:nan``."""
    dtype = str(column.dtype)
    if dtype == "object":
        missing = column[column.isna()]
        if len(missing) and isinstance(missing.iloc[0], float):
            return "object:nan"
    return dtype


def _write_column(path: Path, column: pd.Series) -> None:
    """One column as NumPy files (no pickles): numbers and booleans as they are; text
    as codes (-1: missing) into its distinct values, ``*.values.npy``."""
    if column.dtype.kind in "biuf":
        np.save(path, column.to_numpy(), allow_pickle=False)
        return
    codes, values = pd.factorize(column.astype(object), use_na_sentinel=True)
    np.save(path, codes.astype(np.int32), allow_pickle=False)
    np.save(path.with_suffix(".values.npy"), np.asarray(values, dtype=str), allow_pickle=False)


def _read_column(path: Path, dtype: str) -> pd.Series:
    """A column :func:`_write_column` wrote, with its recorded ``dtype``."""
    text = dtype in ("object", "object:nan", "str") or dtype.startswith("string")
    try:
        codes = np.load(path, allow_pickle=False)
        if not text:
            return pd.Series(codes).astype(dtype)
        values = np.load(path.with_suffix(".values.npy"), allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise OutputError(f"{path}: not a readable column of a ledger release ({e})") from e
    cells = np.append(values.astype(object), np.array([None], dtype=object))[codes]  # -1: None
    if dtype == "object:nan":
        cells[codes < 0] = np.nan
    return pd.Series(cells, dtype=object if dtype.startswith("object") else dtype)
