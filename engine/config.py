"""Run configuration: a TOML file, validated on load.

Every error names the file and the key (``indicators[3].kind``), and an unknown key
comes with the nearest valid one. Relative paths are resolved against the folder of
the config file, so a config and its data travel together.

>>> from engine.data import DEMO_CONFIG
>>> cfg = load_config(DEMO_CONFIG)
>>> cfg.boundaries.layer
'buurten'
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

THEMES = ("vastgoed", "drugs", "transacties", "branches")
KINDS = ("count", "sum", "rate", "share", "mean")
ADDITIVE = ("count", "sum")
DIRECTIONS = ("higher", "lower", "none")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Key:
    """One allowed key: its type(s), whether it is required, its default and choices."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] | None = None


def _k(*types: type, required: bool = False, default: Any = None,
       choices: tuple[Any, ...] | None = None) -> Key:
    return Key(types, required, default, choices)


RUN_KEYS = {
    "name": _k(str, default="zicht run"),
    "seed": _k(int, default=0),
    "attribution": _k(str, default=""),
}
BOUNDARY_KEYS = {
    "path": _k(str, required=True),
    "layer": _k(str),
    "columns": _k(dict, default={}),
    "drop_water": _k(bool, default=True),
    "source": _k(str, default=""),
}
TABLE_KEYS = {
    "id": _k(str, required=True),
    "path": _k(str, required=True),
    "layer": _k(str),
    "key": _k(str, required=True),
    "source": _k(str, default=""),
    "synthetic": _k(bool, default=False),
    "min_match": _k(float, int, default=0.5),
}
INDICATOR_KEYS = {
    "id": _k(str, required=True),
    "kind": _k(str, required=True, choices=KINDS),
    "theme": _k(str, default="none", choices=(*THEMES, "none")),
    "label_nl": _k(str, required=True),
    "label_en": _k(str, required=True),
    "unit": _k(str, default=""),
    "direction": _k(str, default="none", choices=DIRECTIONS),
    "table": _k(str),
    "column": _k(str),
    "weight": _k(str),
    "numerator": _k(str),
    "denominator": _k(str),
    "per": _k(float, int, default=1.0),
}
TOP_KEYS = {"run": dict, "boundaries": dict, "tables": list, "indicators": list}


@dataclass(frozen=True)
class BoundarySpec:
    path: Path
    layer: str | None
    columns: dict[str, str]
    drop_water: bool
    source: str


@dataclass(frozen=True)
class TableSpec:
    """An area table keyed by CBS code (CSV incl. StatLine exports, Parquet, GeoPackage)."""

    id: str
    path: Path
    layer: str | None
    key: str
    source: str
    synthetic: bool
    min_match: float


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator: where its buurt values come from and how they aggregate upwards.

    ``count``/``sum`` add up. ``mean``/``share`` are either a ``column`` weighted by
    the indicator named in ``weight``, or ``numerator``/``denominator`` indicators;
    ``rate`` is ``numerator``/``denominator`` times ``per`` (1000 for "per 1,000").
    """

    id: str
    kind: str
    theme: str
    label_nl: str
    label_en: str
    unit: str
    direction: str
    table: str | None
    column: str | None
    weight: str | None
    numerator: str | None
    denominator: str | None
    per: float

    @property
    def is_ratio(self) -> bool:
        return self.numerator is not None


@dataclass(frozen=True)
class Config:
    path: Path
    sha256: str
    name: str
    seed: int
    attribution: str
    boundaries: BoundarySpec
    tables: tuple[TableSpec, ...] = ()
    indicators: tuple[IndicatorSpec, ...] = field(default_factory=tuple)

    def indicator(self, indicator_id: str) -> IndicatorSpec:
        return next(i for i in self.indicators if i.id == indicator_id)


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML run configuration. Raises :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    raw_bytes = path.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(raw, path, hashlib.sha256(raw_bytes).hexdigest())


def parse_config(raw: dict[str, Any], path: Path, sha256: str = "") -> Config:
    """Validate an already parsed config dictionary; ``path`` anchors relative paths."""
    where = str(path)
    _unknown(raw, TOP_KEYS, "", where)
    for key, typ in TOP_KEYS.items():
        if key in raw and not isinstance(raw[key], typ):
            kind = "a table" if typ is dict else "an array of tables ([[" + key + "]])"
            raise ConfigError(f"{where}: key '{key}' must be {kind}")
    if "boundaries" not in raw:
        raise ConfigError(f"{where}: missing required section [boundaries]")
    base = path.parent
    run = _check(raw.get("run", {}), RUN_KEYS, "run", where)
    b = _check(raw["boundaries"], BOUNDARY_KEYS, "boundaries", where)
    for field_name, column in b["columns"].items():
        if not isinstance(column, str):
            raise ConfigError(f"{where}: key 'boundaries.columns.{field_name}' must be a string")
    boundaries = BoundarySpec(_existing(base, b["path"], "boundaries.path", where), b["layer"],
                              dict(b["columns"]), b["drop_water"], b["source"])

    tables = []
    for i, t in enumerate(raw.get("tables", [])):
        t = _check(t, TABLE_KEYS, f"tables[{i}]", where)
        if not 0 <= t["min_match"] <= 1:
            raise ConfigError(f"{where}: key 'tables[{i}].min_match' must be between 0 and 1")
        tables.append(TableSpec(t["id"], _existing(base, t["path"], f"tables[{i}].path", where),
                                t["layer"], t["key"], t["source"], t["synthetic"],
                                float(t["min_match"])))
    _unique([t.id for t in tables], "tables", where)

    indicators = []
    for i, d in enumerate(raw.get("indicators", [])):
        d = _check(d, INDICATOR_KEYS, f"indicators[{i}]", where)
        d["per"] = float(d["per"])
        indicators.append(IndicatorSpec(**d))
    _unique([d.id for d in indicators], "indicators", where)
    _check_indicator_links(indicators, {t.id for t in tables}, where)
    return Config(path=path, sha256=sha256, name=run["name"], seed=run["seed"],
                  attribution=run["attribution"], boundaries=boundaries,
                  tables=tuple(tables), indicators=tuple(indicators))


def _check(raw: Any, spec: dict[str, Key], prefix: str, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: key '{prefix}' must be a table")
    _unknown(raw, spec, prefix + ".", where)
    out: dict[str, Any] = {}
    for key, rule in spec.items():
        name = f"{prefix}.{key}"
        if key not in raw:
            if rule.required:
                raise ConfigError(f"{where}: missing required key '{name}'")
            out[key] = rule.default
            continue
        value = raw[key]
        # bool is an int in Python; a seed of `true` is a mistake, not 1.
        if not isinstance(value, rule.types) or (isinstance(value, bool) and bool not in rule.types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in rule.types)
            raise ConfigError(f"{where}: key '{name}' must be {wanted}, got {value!r}")
        if rule.choices is not None and value not in rule.choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in rule.choices], n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}: key '{name}' is {value!r}; must be one of "
                              f"{list(rule.choices)}{suggestion}")
        out[key] = value
    return out


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "a table", list: "an array"}


def _unknown(raw: dict[str, Any], spec: dict[str, Any], prefix: str, where: str) -> None:
    for key in raw:
        if key not in spec:
            hint = difflib.get_close_matches(key, list(spec), n=1)
            suggestion = f"; did you mean '{prefix}{hint[0]}'?" if hint else ""
            raise ConfigError(f"{where}: unknown key '{prefix}{key}'{suggestion} "
                              f"(valid keys: {', '.join(spec)})")


def _existing(base: Path, value: str, key: str, where: str) -> Path:
    path = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    if not path.exists():
        raise ConfigError(f"{where}: key '{key}' names {path}, which does not exist")
    return path


def _unique(ids: list[str], section: str, where: str) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise ConfigError(f"{where}: key '{section}[{i}].id' repeats the id {ident!r}")
        seen.add(ident)


def _check_indicator_links(indicators: list[IndicatorSpec], tables: set[str], where: str) -> None:
    ids = {d.id for d in indicators}
    kinds = {d.id: d.kind for d in indicators}
    for i, d in enumerate(indicators):
        key = f"indicators[{i}]"
        has_column = d.column is not None
        has_ratio = d.numerator is not None or d.denominator is not None
        if has_column and has_ratio:
            raise ConfigError(f"{where}: '{key}' ({d.id}) has both 'column' and "
                              "'numerator'/'denominator'; give one of the two")
        if has_column:
            if d.table is None:
                raise ConfigError(f"{where}: missing required key '{key}.table' ({d.id} reads "
                                  f"column {d.column!r} from a table)")
            if d.table not in tables:
                raise ConfigError(f"{where}: key '{key}.table' names {d.table!r}, which is not "
                                  f"a table id ({sorted(tables)})")
            if d.kind in ("mean", "share") and d.weight is None:
                raise ConfigError(f"{where}: missing key '{key}.weight': a {d.kind} is weighted "
                                  "by its denominator when aggregated, never averaged plainly")
            if d.kind == "rate":
                raise ConfigError(f"{where}: '{key}' ({d.id}) is a rate: give 'numerator' and "
                                  "'denominator' indicators so it can be recomputed per area")
        elif has_ratio:
            if d.kind in ADDITIVE:
                raise ConfigError(f"{where}: '{key}' ({d.id}) is a {d.kind}; only rate, share "
                                  "and mean take 'numerator'/'denominator'")
            for part in ("numerator", "denominator"):
                if getattr(d, part) is None:
                    raise ConfigError(f"{where}: missing key '{key}.{part}'")
        else:
            raise ConfigError(f"{where}: '{key}' ({d.id}) needs 'table' and 'column', or "
                              "'numerator' and 'denominator'")
        for part in ("weight", "numerator", "denominator"):
            ref = getattr(d, part)
            if ref is not None and ref not in ids:
                hint = difflib.get_close_matches(ref, list(ids), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(f"{where}: key '{key}.{part}' names {ref!r}, which is not an "
                                  f"indicator id{suggestion}")
            if ref is not None and ref == d.id:
                raise ConfigError(f"{where}: key '{key}.{part}' refers to the indicator itself")
            if ref is not None and kinds[ref] not in ADDITIVE:
                raise ConfigError(f"{where}: key '{key}.{part}' names {ref!r}, a {kinds[ref]}; "
                                  "weights, numerators and denominators must be counts or sums")
