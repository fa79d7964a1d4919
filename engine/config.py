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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from disclosure.rules import DisclosureParams

THEMES = ("vastgoed", "drugs", "transacties", "branches")
KINDS = ("count", "sum", "rate", "share", "mean")
ADDITIVE = ("count", "sum")
DIRECTIONS = ("higher", "lower", "none")
MEASURES = ("records", "units", "amount")
UNIT_TYPES = ("person", "address", "company")
STATISTICS = ("mean", "sum", "share_above")


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
    "na_values": _k(list, default=[]),
    "public": _k(bool, default=False),
    "unit_type": _k(str, default="person", choices=UNIT_TYPES),
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
    "microdata": _k(str),
    "measure": _k(str, choices=MEASURES),
    "where": _k(dict, default={}),
    "raster": _k(str),
    "statistic": _k(str, choices=STATISTICS),
    "threshold": _k(float, int),
}
MICRODATA_KEYS = {
    "id": _k(str, required=True),
    "path": _k(str),
    "layer": _k(str),
    "generator": _k(str),
    "unit": _k(str),
    "x": _k(str),
    "y": _k(str),
    "crs": _k(str, default="EPSG:28992"),
    "code": _k(str),
    "amount": _k(str),
    "source": _k(str, default=""),
    "synthetic": _k(bool, default=False),
    "unit_type": _k(str, choices=UNIT_TYPES),
}
RASTER_KEYS = {
    "id": _k(str, required=True),
    "path": _k(str, required=True),
    "band": _k(int, default=1),
    "source": _k(str, default=""),
    "synthetic": _k(bool, default=False),
    "public": _k(bool, default=True),
}
DISCLOSURE_KEYS = {
    # every rule parameter, with the type and default of DisclosureParams
    **{f.name: _k(float, int, default=f.default) if isinstance(f.default, float)
       else _k(type(f.default), default=f.default) for f in fields(DisclosureParams)},
    "inhabitants": _k(str, default="inwoners"),
    "households": _k(str, default="huishoudens"),
}
SYNTHETIC_KEYS = {
    "inhabitants": _k(str, default="inwoners"),
    "households": _k(str, default="huishoudens"),
    "woz": _k(str),
    "address_density": _k(str),
    "land_area": _k(str),
    "scale": _k(float, int, default=1.0),
    "years": _k(int, default=1),
}
SPATIAL_KEYS = {
    "weights": _k(str, default="queen", choices=("queen", "knn", "distance")),
    "k": _k(int, default=6),
    "threshold": _k(float, int, default=1000.0),
    "islands_k": _k(int, default=1),
    "permutations": _k(int, default=999),
    "correction": _k(str, default="fdr", choices=("fdr", "bonferroni", "none")),
    "alpha": _k(float, default=0.05),
    "min_areas": _k(int, default=30),
}
TREND_KEYS = {
    "id": _k(str, required=True),
    "indicators": _k(list, required=True),
    "alpha": _k(float, default=0.10),
}
MODEL_KEYS = {
    "method": _k(str, default="rank", choices=("rank", "robust")),
    "clip": _k(float, int, default=3.0),
    "weights": _k(dict, default={}),
    "targets": _k(list, default=[]),
    "min_coverage": _k(float, int, default=0.5),
}
TARGET_KEYS = {
    "theme": _k(str, required=True, choices=THEMES),
    "target": _k(str, required=True),
    "features": _k(list),
    "model": _k(str, default="hgb", choices=("hgb", "ridge")),
    "groups": _k(str, default="wijk", choices=("wijk", "gemeente", "blocks")),
    "block_size": _k(float, int, default=2000.0),
    "spatial_lag": _k(bool, default=True),
    "population": _k(str),
    "previous": _k(str),
}
TOP_KEYS = {"run": dict, "boundaries": dict, "tables": list, "microdata": list, "rasters": list,
            "synthetic": dict, "indicators": list, "spatial": dict, "trends": list,
            "models": dict, "disclosure": dict}


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
    na_values: tuple[str, ...] = ()
    public: bool = False
    unit_type: str = "person"


@dataclass(frozen=True)
class MicrodataSpec:
    """Unit-level records (one row per report, sale, company...) read from a file or
    generated synthetically. Records are placed by ``x``/``y`` (in ``crs``) or by ``code``."""

    id: str
    path: Path | None
    layer: str | None
    generator: str | None
    unit: str | None
    x: str | None
    y: str | None
    crs: str
    code: str | None
    amount: str | None
    source: str
    synthetic: bool
    unit_type: str | None = None


@dataclass(frozen=True)
class RasterSpec:
    """A GeoTIFF (or any raster rasterio reads) summarised per area by zonal statistics."""

    id: str
    path: Path
    band: int
    source: str
    synthetic: bool
    public: bool = True


@dataclass(frozen=True)
class DisclosureSpec:
    """Disclosure-control rule parameters (see :mod:`disclosure.rules` for each default
    and its source) and the indicators holding inhabitants and households for the
    area rule."""

    params: DisclosureParams = field(default_factory=DisclosureParams)
    inhabitants: str = "inwoners"
    households: str = "huishoudens"


@dataclass(frozen=True)
class SyntheticSpec:
    """Which indicators drive the synthetic generators (ids of area-table indicators)."""

    inhabitants: str
    households: str
    woz: str | None
    address_density: str | None
    land_area: str | None
    scale: float
    years: int = 1


@dataclass(frozen=True)
class SpatialSpec:
    """Weights and inference settings for hotspots (see :mod:`spatial`)."""

    weights: str = "queen"
    k: int = 6
    threshold: float = 1000.0
    islands_k: int = 1
    permutations: int = 999
    correction: str = "fdr"
    alpha: float = 0.05
    min_areas: int = 30


@dataclass(frozen=True)
class TrendSpec:
    """Indicators that are the same figure in successive years, oldest first."""

    id: str
    indicators: tuple[str, ...]
    alpha: float = 0.10


@dataclass(frozen=True)
class TargetSpec:
    """A supervised model for one theme: predict ``target`` from ``features``."""

    theme: str
    target: str
    features: tuple[str, ...] | None
    model: str
    groups: str
    block_size: float
    spatial_lag: bool
    population: str | None
    previous: str | None


@dataclass(frozen=True)
class ModelSpec:
    method: str = "rank"
    clip: float = 3.0
    weights: dict[str, float] = field(default_factory=dict)
    targets: tuple[TargetSpec, ...] = ()
    min_coverage: float = 0.5


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator: where its buurt values come from and how they aggregate upwards.

    ``count``/``sum`` add up. ``mean``/``share`` are either a ``column`` weighted by
    the indicator named in ``weight``, or ``numerator``/``denominator`` indicators;
    ``rate`` is ``numerator``/``denominator`` times ``per`` (1000 for "per 1,000").
    Counts and sums may also come from ``microdata`` (``measure`` records, distinct
    units or the amount, of the records matching ``where``: column -> allowed values),
    and means, sums and shares above a ``threshold`` from a ``raster``.
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
    microdata: str | None = None
    measure: str | None = None
    where: dict[str, list[Any]] = field(default_factory=dict)
    raster: str | None = None
    statistic: str | None = None
    threshold: float | None = None

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
    microdata: tuple[MicrodataSpec, ...] = ()
    rasters: tuple[RasterSpec, ...] = ()
    synthetic: SyntheticSpec | None = None
    spatial: SpatialSpec = field(default_factory=SpatialSpec)
    trends: tuple[TrendSpec, ...] = ()
    models: ModelSpec = field(default_factory=ModelSpec)
    disclosure: DisclosureSpec = field(default_factory=DisclosureSpec)

    def theme_indicators(self, theme: str) -> list[IndicatorSpec]:
        """The risk indicators of a theme: those with a direction."""
        return [d for d in self.indicators if d.theme == theme and d.direction != "none"]

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
        for value in t["na_values"]:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ConfigError(f"{where}: key 'tables[{i}].na_values' must list strings or "
                                  f"numbers, got {value!r}")
        tables.append(TableSpec(t["id"], _existing(base, t["path"], f"tables[{i}].path", where),
                                t["layer"], t["key"], t["source"], t["synthetic"],
                                float(t["min_match"]),
                                tuple(_number_text(v) for v in t["na_values"]),
                                t["public"], t["unit_type"]))
    _unique([t.id for t in tables], "tables", where)

    microdata = []
    for i, m in enumerate(raw.get("microdata", [])):
        m = _check(m, MICRODATA_KEYS, f"microdata[{i}]", where)
        key = f"microdata[{i}]"
        if (m["path"] is None) == (m["generator"] is None):
            raise ConfigError(f"{where}: '{key}' ({m['id']}) needs either 'path' (a file of "
                              "records) or 'generator' (synthetic records), not both or neither")
        if m["path"] is not None:
            m["path"] = _existing(base, m["path"], f"{key}.path", where)
            if m["unit"] is None:
                raise ConfigError(f"{where}: missing required key '{key}.unit' (the column "
                                  "identifying the person, address or company of a record)")
            if m["code"] is None and (m["x"] is None or m["y"] is None):
                raise ConfigError(f"{where}: '{key}' needs 'x' and 'y' columns or a 'code' column")
        else:
            from engine.synthetic import GENERATORS

            if m["generator"] not in GENERATORS:
                hint = difflib.get_close_matches(m["generator"], list(GENERATORS), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(f"{where}: key '{key}.generator' is {m['generator']!r}; "
                                  f"generators are {list(GENERATORS)}{suggestion}")
            for column_key in ("unit", "x", "y", "code", "amount", "layer"):
                if m[column_key] is not None:
                    raise ConfigError(f"{where}: key '{key}.{column_key}' is set by the "
                                      f"generator {m['generator']!r}; leave it out")
            m["synthetic"] = True
        microdata.append(MicrodataSpec(**m))
    _unique([m.id for m in microdata], "microdata", where)

    rasters = []
    for i, r in enumerate(raw.get("rasters", [])):
        r = _check(r, RASTER_KEYS, f"rasters[{i}]", where)
        r["path"] = _existing(base, r["path"], f"rasters[{i}].path", where)
        rasters.append(RasterSpec(**r))
    _unique([r.id for r in rasters], "rasters", where)

    synthetic = None
    if "synthetic" in raw or any(m.generator for m in microdata):
        s = _check(raw.get("synthetic", {}), SYNTHETIC_KEYS, "synthetic", where)
        if s["scale"] <= 0:
            raise ConfigError(f"{where}: key 'synthetic.scale' must be positive")
        if not 1 <= s["years"] <= 10:
            raise ConfigError(f"{where}: key 'synthetic.years' must be between 1 and 10")
        s["scale"] = float(s["scale"])
        synthetic = SyntheticSpec(**s)

    indicators = []
    for i, d in enumerate(raw.get("indicators", [])):
        d = _check(d, INDICATOR_KEYS, f"indicators[{i}]", where)
        d["per"] = float(d["per"])
        if d["threshold"] is not None:
            d["threshold"] = float(d["threshold"])
        indicators.append(IndicatorSpec(**d))
    _unique([d.id for d in indicators], "indicators", where)
    sources = {"table": {t.id for t in tables}, "microdata": {m.id for m in microdata},
               "raster": {r.id for r in rasters}}
    _check_indicator_links(indicators, sources, where)
    if synthetic is not None:
        _check_drivers(synthetic, indicators, where)
    ids = [d.id for d in indicators]

    sp = _check(raw.get("spatial", {}), SPATIAL_KEYS, "spatial", where)
    if sp["permutations"] < 99:
        raise ConfigError(f"{where}: key 'spatial.permutations' must be at least 99")
    if not 0 < sp["alpha"] < 1:
        raise ConfigError(f"{where}: key 'spatial.alpha' must lie between 0 and 1")
    for key in ("k", "islands_k", "min_areas"):
        if sp[key] < (0 if key == "islands_k" else 1):
            raise ConfigError(f"{where}: key 'spatial.{key}' must be positive")
    spatial = SpatialSpec(**{**sp, "threshold": float(sp["threshold"])})

    trends = []
    for i, t in enumerate(raw.get("trends", [])):
        t = _check(t, TREND_KEYS, f"trends[{i}]", where)
        _check_ids(t["indicators"], ids, f"trends[{i}].indicators", where)
        if len(t["indicators"]) < 3:
            raise ConfigError(f"{where}: key 'trends[{i}].indicators' needs at least 3 years")
        trends.append(TrendSpec(t["id"], tuple(t["indicators"]), t["alpha"]))
    _unique([t.id for t in trends], "trends", where)

    m = _check(raw.get("models", {}), MODEL_KEYS, "models", where)
    _check_ids(list(m["weights"]), ids, "models.weights", where)
    for key, weight in m["weights"].items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
            raise ConfigError(f"{where}: key 'models.weights.{key}' must be a non-negative number")
    targets = []
    for i, t in enumerate(m["targets"]):
        t = _check(t, TARGET_KEYS, f"models.targets[{i}]", where)
        _check_ids([t["target"]], ids, f"models.targets[{i}].target", where)
        for key in ("population", "previous"):
            if t[key] is not None:
                _check_ids([t[key]], ids, f"models.targets[{i}].{key}", where)
        if t["features"] is not None:
            _check_ids(t["features"], ids, f"models.targets[{i}].features", where)
            if t["target"] in t["features"]:
                raise ConfigError(f"{where}: key 'models.targets[{i}].features' contains the "
                                  "target itself")
            t["features"] = tuple(t["features"])
        t["block_size"] = float(t["block_size"])
        targets.append(TargetSpec(**t))
    _unique([t.theme for t in targets], "models.targets", where)
    if not 0 <= m["min_coverage"] <= 1:
        raise ConfigError(f"{where}: key 'models.min_coverage' must be between 0 and 1")
    models = ModelSpec(m["method"], float(m["clip"]),
                       {k: float(v) for k, v in m["weights"].items()}, tuple(targets),
                       float(m["min_coverage"]))
    dc = _check(raw.get("disclosure", {}), DISCLOSURE_KEYS, "disclosure", where)
    for key in ("inhabitants", "households"):
        if "disclosure" in raw and key in raw["disclosure"]:
            _check_ids([dc[key]], ids, f"disclosure.{key}", where)
    params = DisclosureParams(**{f.name: type(f.default)(dc[f.name])
                                 for f in fields(DisclosureParams)})
    try:
        params.validate()
    except ValueError as exc:
        raise ConfigError(f"{where}: [disclosure]: {exc}") from None
    disclosure = DisclosureSpec(params, dc["inhabitants"], dc["households"])
    return Config(path=path, sha256=sha256, name=run["name"], seed=run["seed"],
                  attribution=run["attribution"], boundaries=boundaries,
                  tables=tuple(tables), indicators=tuple(indicators),
                  microdata=tuple(microdata), rasters=tuple(rasters), synthetic=synthetic,
                  spatial=spatial, trends=tuple(trends), models=models, disclosure=disclosure)


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


def _check_ids(refs: list[Any], ids: list[str], key: str, where: str) -> None:
    for ref in refs:
        if ref not in ids:
            hint = difflib.get_close_matches(str(ref), ids, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}: key '{key}' names {ref!r}, which is not an indicator "
                              f"id{suggestion}")


def _number_text(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _unique(ids: list[str], section: str, where: str) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise ConfigError(f"{where}: key '{section}[{i}].id' repeats the id {ident!r}")
        seen.add(ident)


def _check_indicator_links(indicators: list[IndicatorSpec], sources: dict[str, set[str]],
                           where: str) -> None:
    ids = {d.id for d in indicators}
    kinds = {d.id: d.kind for d in indicators}
    for i, d in enumerate(indicators):
        key = f"indicators[{i}]"
        given = [name for name in ("table", "microdata", "raster") if getattr(d, name)]
        has_ratio = d.numerator is not None or d.denominator is not None
        if len(given) + has_ratio != 1:
            raise ConfigError(f"{where}: '{key}' ({d.id}) needs exactly one source: 'table', "
                              "'microdata', 'raster', or 'numerator' and 'denominator'")
        if given:
            source = given[0]
            ref = getattr(d, source)
            if ref not in sources[source]:
                raise ConfigError(f"{where}: key '{key}.{source}' names {ref!r}, which is not "
                                  f"a {source} id ({sorted(sources[source])})")
        if d.table is not None:
            if d.column is None:
                raise ConfigError(f"{where}: missing required key '{key}.column'")
            if d.kind in ("mean", "share") and d.weight is None:
                raise ConfigError(f"{where}: missing key '{key}.weight': a {d.kind} is weighted "
                                  "by its denominator when aggregated, never averaged plainly")
            if d.kind == "rate":
                raise ConfigError(f"{where}: '{key}' ({d.id}) is a rate: give 'numerator' and "
                                  "'denominator' indicators so it can be recomputed per area")
        elif d.microdata is not None:
            if d.measure is None:
                raise ConfigError(f"{where}: missing required key '{key}.measure' "
                                  f"(one of {list(MEASURES)})")
            wanted = "sum" if d.measure == "amount" else "count"
            if d.kind != wanted:
                raise ConfigError(f"{where}: key '{key}.kind' must be {wanted!r} for measure "
                                  f"{d.measure!r}")
            for column, allowed in d.where.items():
                if not isinstance(allowed, list) or not allowed:
                    raise ConfigError(f"{where}: key '{key}.where.{column}' must be a non-empty "
                                      "array of allowed values")
        elif d.raster is not None:
            if d.statistic is None:
                raise ConfigError(f"{where}: missing required key '{key}.statistic' "
                                  f"(one of {list(STATISTICS)})")
            wanted = {"mean": "mean", "sum": "sum", "share_above": "share"}[d.statistic]
            if d.kind != wanted:
                raise ConfigError(f"{where}: key '{key}.kind' must be {wanted!r} for statistic "
                                  f"{d.statistic!r}")
            if d.statistic == "share_above" and d.threshold is None:
                raise ConfigError(f"{where}: missing required key '{key}.threshold'")
        else:
            if d.kind in ADDITIVE:
                raise ConfigError(f"{where}: '{key}' ({d.id}) is a {d.kind}; only rate, share "
                                  "and mean take 'numerator'/'denominator'")
            for part in ("numerator", "denominator"):
                if getattr(d, part) is None:
                    raise ConfigError(f"{where}: missing key '{key}.{part}'")
        for name in ("column", "weight", "measure", "statistic", "threshold"):
            owner = {"column": "table", "weight": "table", "measure": "microdata",
                     "statistic": "raster", "threshold": "raster"}[name]
            if getattr(d, name) is not None and getattr(d, owner) is None:
                raise ConfigError(f"{where}: key '{key}.{name}' only applies with '{owner}'")
        for part in ("weight", "numerator", "denominator"):
            ref = getattr(d, part)
            if ref is None:
                continue
            if ref not in ids:
                hint = difflib.get_close_matches(ref, list(ids), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(f"{where}: key '{key}.{part}' names {ref!r}, which is not an "
                                  f"indicator id{suggestion}")
            if ref == d.id:
                raise ConfigError(f"{where}: key '{key}.{part}' refers to the indicator itself")
            if kinds[ref] not in ADDITIVE:
                raise ConfigError(f"{where}: key '{key}.{part}' names {ref!r}, a {kinds[ref]}; "
                                  "weights, numerators and denominators must be counts or sums")


def _check_drivers(spec: SyntheticSpec, indicators: list[IndicatorSpec], where: str) -> None:
    by_id = {d.id: d for d in indicators}
    for name in ("inhabitants", "households", "woz", "address_density", "land_area"):
        ref = getattr(spec, name)
        if ref is None:
            continue
        if ref not in by_id or by_id[ref].table is None:
            raise ConfigError(f"{where}: key 'synthetic.{name}' names {ref!r}, which is not an "
                              "indicator read from an area table; the synthetic generators "
                              "need it as a driver")
