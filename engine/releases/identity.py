"""What makes a protected master the same one again, and a cell the same figure.

A cell's identity is its indicator's definition (microdata source, measure, filter
and SBI nodes; or table and column; :func:`identity`), its area (level and code) and
its SBI node: two runs that both compute it compute the same unknown, whatever the
indicator is called. :func:`master_key` digests everything that decides a protected
master: a run with the key of a ledger's release takes that release's master
(:mod:`engine.releases.ledger`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from zicht.engine.config import (
    Config,
    IndicatorSpec,
    MicrodataIndicator,
    RasterIndicator,
    RatioIndicator,
    TableIndicator,
)
from zicht.engine.indicators import IndicatorResult
from zicht.engine.outputs.manifest import sha256_of

# keys that change what a run says, not what it computes or protects
PRESENTATION = frozenset(
    {"label_nl", "label_en", "unit", "direction", "map", "theme", "exposure", "source", "path"}
)
KEY = ["identity", "level", "code", "sbi"]  # the columns of a cell's identity


def identity(d: IndicatorSpec, config: Config) -> str:
    """What an indicator computes, as text: the same text in two runs is the same
    figure, whatever its id."""
    source: dict[str, Any]
    if isinstance(d, MicrodataIndicator):
        nodes = config.sbi_nodes(d)
        source = {
            "microdata": d.microdata,
            "measure": d.measure,
            "where": {c: sorted(v, key=repr) for c, v in sorted(d.where.items())},
            "sbi": sorted(nodes) if nodes is not None else None,
        }
    elif isinstance(d, TableIndicator):
        source = {"table": d.table, "column": d.column}
    elif isinstance(d, RasterIndicator):
        source = {"raster": d.raster, "statistic": d.statistic, "threshold": d.threshold}
    else:
        assert isinstance(d, RatioIndicator)
        source = {"numerator": d.numerator, "denominator": d.denominator, "per": d.per}
    return json.dumps(source, sort_keys=True, default=str)


def definitions(config: Config, indicators: IndicatorResult) -> dict[str, dict[str, Any]]:
    """Per indicator id what the ledger records of it: identity, kind, sensitivity,
    unit type, whether it is broken down by SBI node, the indicator it is a subset of."""
    broken_down = set(config.branches.indicators) if config.branches else set()
    out = {}
    for d in config.indicators:
        cells = indicators.cells[d.id]
        out[d.id] = {
            "identity": identity(d, config),
            "kind": d.kind,
            "sensitive": bool(cells.sensitive),
            "unit_type": cells.unit_type,
            "branches": d.id in broken_down,
            "subset_of": d.subset_of,
        }
    return out


def input_digests(config: Config, indicators: IndicatorResult) -> dict[str, str]:
    """The SHA-256 of every input by name: files by their bytes, generated records by
    their values. Confidential: they belong in the ledger, never in an output."""
    out = {f"boundaries:{config.boundaries.path.name}": sha256_of(config.boundaries.path)}
    out |= {f"table:{t.id}": sha256_of(t.path) for t in config.tables}
    out |= {f"raster:{r.id}": sha256_of(r.path) for r in config.rasters}
    for m in config.microdata:
        if m.path is not None:
            out[f"microdata:{m.id}"] = sha256_of(m.path)
        elif m.id in indicators.synthetic:
            out[f"microdata:{m.id}"] = _records_digest(indicators.synthetic[m.id].records)
    return out


def _records_digest(records: pd.DataFrame) -> str:
    """SHA-256 over the values of a table of records (its columns, index and order)."""
    digest = hashlib.sha256(json.dumps([str(c) for c in records.columns]).encode())
    plain = records.apply(lambda s: s.astype(str) if s.dtype == object else s)
    digest.update(pd.util.hash_pandas_object(plain, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def master_key(config: Config, level: str, inputs: dict[str, str]) -> str:
    """The digest of everything that decides a protected master: the inputs (by
    digest), the sources and indicators as configured (labels aside), the rules, the
    branche analysis, the seed and the level protected on. A selection and a coarser
    published level are cuts of the master: they are not part of it."""
    boundaries = config.boundaries.model_dump(mode="json", exclude={"select", "level"})
    settings = {
        "inputs": inputs,
        "level": level,
        "seed": config.seed,
        "boundaries": boundaries,
        "tables": [t.model_dump(mode="json") for t in config.tables],
        "microdata": [m.model_dump(mode="json") for m in config.microdata],
        "rasters": [r.model_dump(mode="json") for r in config.rasters],
        "synthetic": config.synthetic.model_dump(mode="json") if config.synthetic else None,
        "indicators": [d.model_dump(mode="json") for d in config.indicators],
        "disclosure": config.disclosure.model_dump(mode="json"),
        "branches": config.branches.model_dump(mode="json") if config.branches else None,
    }
    text = json.dumps(_without_presentation(settings), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _without_presentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_presentation(v) for k, v in value.items() if k not in PRESENTATION}
    if isinstance(value, list):
        return [_without_presentation(v) for v in value]
    return value
