"""Run configuration: a TOML file, validated on load against one declarative schema.

Each TOML section is one pydantic model below; the choices come from the stage
packages that own them (``spatial.hotspots.CORRECTIONS``, ``models.supervised.MODELS``,
...). An indicator is one of four variants, told apart by its source key: ``table``,
``microdata``, ``raster``, or ``numerator``/``denominator``. Validation collects every
problem in one pass; each names the file and the key (``indicators[3].kind``), and an
unknown key or choice comes with the nearest valid one. Relative paths are resolved
against the folder of the config file, so a config and its data travel together.
:func:`config_schema` gives the JSON Schema (``zicht config schema``) that editors use
for completion in TOML.

>>> from engine.data import DEMO_CONFIG
>>> cfg = load_config(DEMO_CONFIG)
>>> cfg.boundaries.layer
'buurten'
>>> type(cfg.indicator("misdrijven_per_1000")).__name__
'RatioIndicator'
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import core_schema

from zicht.boundaries.quality import QualityRules
from zicht.disclosure.rules import UNIT_TYPES, DisclosureParams
from zicht.engine.sources.sbi import SbiTree
from zicht.engine.sources.synthetic import GENERATORS, SBI_GENERATORS
from zicht.engine.themes import DEFAULT_THEMES, Theme
from zicht.errors import ConfigError
from zicht.models.composite import DIRECTIONS, METHODS
from zicht.models.supervised import GROUPS, MODELS
from zicht.spatial.hotspots import CORRECTIONS, INFERENCE, MAX_PERMUTATIONS
from zicht.spatial.weights import WEIGHTS

__all__ = ["Config", "ConfigError", "IndicatorSpec", "load_config", "parse_config", "config_schema"]

KINDS = ("count", "sum", "rate", "share", "mean")
ADDITIVE = ("count", "sum")
MEASURES = ("records", "units", "amount")
STATISTICS = ("mean", "sum", "share_above")
# which kind an indicator has, given its microdata measure or raster statistic
MEASURE_KIND = {"records": "count", "units": "count", "amount": "sum"}
STATISTIC_KIND = {"mean": "mean", "sum": "sum", "share_above": "share"}


# --- field types --------------------------------------------------------------------


@dataclass(frozen=True)
class OneOf:
    """A string that must be one of ``choices`` (a JSON Schema ``enum``)."""

    choices: tuple[str, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.literal_schema(list(self.choices))


def _number(value: Any) -> Any:
    # TOML has integers and floats; both are numbers, but true and "3" are not
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {value!r}")
    return float(value)


def _existing_path(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    base = (info.context or {}).get("base", Path.cwd())
    path = Path(value) if Path(value).is_absolute() else (base / value).resolve()
    if not path.exists():
        raise ValueError(f"names {path}, which does not exist")
    return path


def _text(value: Any) -> str:
    # na_values: "-99999999" and -99999999 mean the same code
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must list strings or numbers, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


Number = Annotated[float, BeforeValidator(_number)]
Share = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
ExistingPath = Annotated[Path, BeforeValidator(_existing_path)]
Kind = Annotated[str, OneOf(KINDS)]
Direction = Annotated[str, OneOf((*DIRECTIONS, "none"))]
UnitType = Annotated[str, OneOf(UNIT_TYPES)]


class _Section(BaseModel):
    """A TOML table: unknown keys are errors, values are frozen after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sections -----------------------------------------------------------------------


LANGUAGES = ("nl", "en")
DEFAULT_TITLES = {"nl": "Risicobeeld ondermijning", "en": "Risk picture of subversive crime"}


class RunSection(_Section):
    """``[run]``: the run's name, seed, attribution text, the outputs' language and the
    report's title (default: :data:`DEFAULT_TITLES`)."""

    name: StrictStr = "zicht run"
    seed: StrictInt = 0
    attribution: StrictStr = ""
    language: Annotated[str, OneOf(LANGUAGES)] = "nl"
    title: StrictStr = ""
    # threads for the numeric libraries (BLAS, OpenMP); 0: the cores free to this run
    threads: StrictInt = Field(0, ge=0)


class QualitySpec(_Section):
    """``[boundaries.quality]``: when an area's geometry is suspect
    (:class:`boundaries.quality.QualityRules`), and what a run does with it."""

    # "exclude": suspect areas get no score, rank, class or trend, and no neighbours
    suspects: Annotated[str, OneOf(("exclude", "keep"))] = "exclude"
    max_density: Annotated[float, BeforeValidator(_number), Field(gt=0)] = (
        1000.0  # inhabitants per hectare
    )
    min_area_share: Share = 0.001  # of the level's median area
    min_stated_share: Share = 0.1  # of the area the file states (OPP_TOT)
    max_overlap_share: Share = 0.1  # of the smaller neighbour
    gap_width: Annotated[float, BeforeValidator(_number), Field(ge=0)] = (
        40.0  # metres: gaps closed when dissolving
    )

    @property
    def rules(self) -> QualityRules:
        return QualityRules(
            self.max_density,
            self.min_area_share,
            self.min_stated_share,
            self.max_overlap_share,
            self.gap_width,
        )


class ThemeSpec(_Section):
    """``[[themes]]``: a theme of the run's own (its id goes into column names)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name_nl: StrictStr
    name_en: StrictStr
    description_nl: StrictStr = ""
    description_en: StrictStr = ""

    @property
    def theme(self) -> Theme:
        return Theme(self.id, self.name_nl, self.name_en, self.description_nl, self.description_en)


class BoundarySpec(_Section):
    """``[boundaries]``: the polygon file (CBS Wijk- en Buurtkaart or any polygon file)."""

    path: ExistingPath
    layer: StrictStr | None = None
    columns: dict[str, StrictStr] = Field(default_factory=dict)
    drop_water: StrictBool = True
    source: StrictStr = ""
    # the area of interest: gemeente, wijk or buurt codes, or province names
    select: tuple[StrictStr, ...] = ()
    # the finest level to compute on (default: the file's); "wijk" for wijk-level tables
    level: Annotated[str, OneOf(("buurt", "wijk", "gemeente"))] | None = None
    quality: QualitySpec = Field(default_factory=QualitySpec)


class TableSpec(_Section):
    """``[[tables]]``: an area table keyed by CBS code (CSV incl. StatLine exports,
    Parquet, GeoPackage)."""

    id: StrictStr
    path: ExistingPath
    layer: StrictStr | None = None
    key: StrictStr
    source: StrictStr = ""
    synthetic: StrictBool = False
    min_match: Share = 0.5
    na_values: tuple[Annotated[str, BeforeValidator(_text)], ...] = ()
    public: StrictBool = False
    unit_type: UnitType = "person"


class MicrodataSpec(_Section):
    """``[[microdata]]``: unit-level records (one row per report, sale, company...) read
    from a file (``path``) or generated synthetically (``generator``). Records are
    placed by ``x``/``y`` (in ``crs``) or by ``code``."""

    id: StrictStr
    path: ExistingPath | None = None
    layer: StrictStr | None = None
    generator: Annotated[str, OneOf(tuple(GENERATORS))] | None = None
    unit: StrictStr | None = None
    x: StrictStr | None = None
    y: StrictStr | None = None
    crs: StrictStr = "EPSG:28992"
    code: StrictStr | None = None
    amount: StrictStr | None = None
    source: StrictStr = ""
    synthetic: StrictBool = False
    unit_type: UnitType | None = None
    # the column with each record's SBI 2008 code (any depth), for branche tables
    sbi: StrictStr | None = None
    # the column with each unit's enterprise group: the rules count groups, not units
    group: StrictStr | None = None

    @model_validator(mode="after")
    def _file_or_generator(self) -> MicrodataSpec:
        if (self.path is None) == (self.generator is None):
            raise ValueError(
                f"({self.id}) needs either 'path' (a file of records) or "
                "'generator' (synthetic records), not both or neither"
            )
        if self.generator is not None:
            for key in ("unit", "x", "y", "code", "amount", "layer", "sbi", "group"):
                if getattr(self, key) is not None:
                    raise ValueError(
                        f"key '{key}' is set by the generator {self.generator!r}; leave it out"
                    )
            object.__setattr__(self, "synthetic", True)
        elif self.unit is None:
            raise ValueError(
                "missing required key 'unit' (the column identifying the person, "
                "address or company of a record)"
            )
        elif self.code is None and (self.x is None or self.y is None):
            raise ValueError(f"({self.id}) needs 'x' and 'y' columns or a 'code' column")
        return self


class RasterSpec(_Section):
    """``[[rasters]]``: a GeoTIFF (or any raster rasterio reads) summarised per area."""

    id: StrictStr
    path: ExistingPath
    band: StrictInt = Field(1, ge=1)
    source: StrictStr = ""
    synthetic: StrictBool = False
    public: StrictBool = True


class SyntheticSpec(_Section):
    """``[synthetic]``: which area-table indicators drive the synthetic generators."""

    inhabitants: StrictStr = "inwoners"
    households: StrictStr = "huishoudens"
    woz: StrictStr | None = None
    address_density: StrictStr | None = None
    land_area: StrictStr | None = None
    scale: Number = Field(1.0, gt=0)
    years: StrictInt = Field(1, ge=1, le=10)


class SpatialSpec(_Section):
    """``[spatial]``: weights and inference settings for hotspots (see :mod:`spatial`)."""

    weights: Annotated[str, OneOf(WEIGHTS)] = "queen"
    k: StrictInt = Field(6, ge=1)
    threshold: Number = Field(1000.0, gt=0)
    islands_k: StrictInt = Field(1, ge=0)
    permutations: StrictInt = Field(999, ge=99)
    correction: Annotated[str, OneOf(CORRECTIONS)] = "fdr"
    # adaptive: sequential permutations where the decision is open (the default; see
    # spatial.hotspots), permutation: a fixed number, analytic: Gi*'s normal p-value
    inference: Annotated[str, OneOf(INFERENCE)] = "adaptive"
    max_permutations: StrictInt = Field(MAX_PERMUTATIONS, ge=99)
    alpha: Number = Field(0.05, gt=0, lt=1)
    min_areas: StrictInt = Field(30, ge=1)


class RiskBranch(_Section):
    """``[[branches.risk]]``: a node of the SBI tree treated as risk-prone, and why."""

    sbi: StrictStr
    reason: StrictStr = ""  # in Dutch
    reason_en: StrictStr = ""

    def why(self, language: str) -> str:
        """The reason in ``language`` (the Dutch one where no English is given)."""
        return (self.reason_en or self.reason) if language == "en" else self.reason


class BranchesSpec(_Section):
    """``[branches]``: tables per area x SBI node (:mod:`engine.sources.sbi`) for the
    ``indicators`` (counts and sums of microdata with an SBI column), on the area
    ``levels``; the SBI tree down to ``depth``; the ``risk`` branches."""

    indicators: tuple[StrictStr, ...] = ()
    levels: tuple[Annotated[str, OneOf(("gemeente", "wijk", "buurt"))], ...] = (
        "gemeente",
        "wijk",
    )
    depth: Annotated[str, OneOf(("sectie", "afdeling", "klasse"))] = "klasse"
    risk: tuple[RiskBranch, ...] = ()
    # the indicator whose counts the location quotients and shares compare
    companies: StrictStr | None = None
    # the same figure in successive years, oldest first: the change over the years
    trend: tuple[StrictStr, ...] = ()


class TrendSpec(_Section):
    """``[[trends]]``: indicators that are the same figure in successive years, oldest
    first."""

    id: StrictStr
    indicators: tuple[StrictStr, ...] = Field(min_length=3)
    alpha: Number = Field(0.10, gt=0, lt=1)
    label_nl: StrictStr = ""  # what the years measure, for headers and legends (default: id)
    label_en: StrictStr = ""

    def label(self, language: str) -> str:
        return (self.label_en if language == "en" else self.label_nl) or self.id


class TargetSpec(_Section):
    """``[[models.targets]]``: a supervised model for one theme, predicting ``target``
    from ``features`` with spatial cross-validation."""

    theme: StrictStr
    target: StrictStr
    features: tuple[StrictStr, ...] | None = None
    model: Annotated[str, OneOf(MODELS)] = "hgb"
    groups: Annotated[str, OneOf(GROUPS)] = "wijk"
    block_size: Number = Field(2000.0, gt=0)
    spatial_lag: StrictBool = True
    population: StrictStr | None = None
    previous: StrictStr | None = None
    # counts and sums (inhabitants, households, ...) measure size, not risk: a model
    # may use them as features only when the config says so
    size_features: StrictBool = False


class ModelSpec(_Section):
    """``[models]``: the composite index and the supervised targets."""

    method: Annotated[str, OneOf(METHODS)] = "rank"
    clip: Number = Field(3.0, gt=0)
    weights: dict[str, Annotated[float, BeforeValidator(_number), Field(ge=0)]] = Field(
        default_factory=dict
    )
    targets: tuple[TargetSpec, ...] = ()
    min_coverage: Share = 0.5


def _param_field(default: Any) -> Any:
    return (Number if isinstance(default, float) else StrictInt, default)


# ``[disclosure]`` holds every field of disclosure.rules.DisclosureParams: one source for
# their names, types and defaults
_RuleParameters: Any = create_model(
    "RuleParameters",
    __base__=_Section,
    **{f.name: _param_field(f.default) for f in fields(DisclosureParams)},
)


class DisclosureSpec(_RuleParameters):
    """``[disclosure]``: rule parameters (see :mod:`disclosure.rules` for each default and
    its source) and the indicators holding inhabitants and households (area rule)."""

    inhabitants: StrictStr = "inwoners"
    households: StrictStr = "huishoudens"
    # the count of companies per area that decides the company area rule
    companies: StrictStr = "vestigingen"

    @property
    def params(self) -> DisclosureParams:
        return DisclosureParams(**{f.name: getattr(self, f.name) for f in fields(DisclosureParams)})

    @model_validator(mode="after")
    def _valid_params(self) -> DisclosureSpec:
        self.params.validate()
        return self


# --- indicators: four variants --------------------------------------------------------


class _Indicator(_Section):
    id: StrictStr
    kind: Kind
    theme: StrictStr = "none"
    label_nl: StrictStr
    label_en: StrictStr
    unit: StrictStr = ""
    direction: Direction = "none"
    # an indicator this one never exceeds in any area (an attacker knows it: it is
    # audited with it); relations within one microdata source are found by themselves
    subset_of: StrictStr | None = None
    # what a count or sum is measured against before it enters a score (inhabitants,
    # dwellings, sales, companies): scores rank risk, not size
    exposure: StrictStr | None = None
    # a map of its own: a QGIS style on every layer and a map in the report
    map: StrictBool = False

    @property
    def references(self) -> dict[str, str]:
        """Other indicators this one is computed from: key -> indicator id."""
        return {}

    def label(self, language: str) -> str:
        """The indicator's label in ``language`` (``nl`` or ``en``)."""
        return self.label_en if language == "en" else self.label_nl


class TableIndicator(_Indicator):
    """A ``column`` of an area ``table``; a mean or share names its ``weight``."""

    table: StrictStr
    column: StrictStr
    weight: StrictStr | None = None

    @model_validator(mode="after")
    def _kind(self) -> TableIndicator:
        if self.kind == "rate":
            raise ValueError(
                f"({self.id}) is a rate: give 'numerator' and 'denominator' "
                "indicators so it can be recomputed per area"
            )
        if self.kind in ("mean", "share") and self.weight is None:
            raise ValueError(
                f"missing key 'weight': a {self.kind} is weighted by its "
                "denominator when aggregated, never averaged plainly"
            )
        return self

    @property
    def references(self) -> dict[str, str]:
        return {"weight": self.weight} if self.weight else {}


class MicrodataIndicator(_Indicator):
    """Records, distinct units or the summed amount of the ``microdata`` records that
    match ``where`` (column -> allowed values)."""

    microdata: StrictStr
    measure: Annotated[str, OneOf(MEASURES)]
    where: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    # only records whose SBI code lies in these nodes of the SBI tree ("96.02", "56",
    # "K"), or "risico": in the risk branches of [branches]
    sbi: tuple[StrictStr, ...] | Annotated[str, OneOf(("risico",))] | None = None

    @model_validator(mode="after")
    def _kind(self) -> MicrodataIndicator:
        if self.kind != MEASURE_KIND[self.measure]:
            raise ValueError(
                f"key 'kind' must be {MEASURE_KIND[self.measure]!r} for measure {self.measure!r}"
            )
        return self


class RasterIndicator(_Indicator):
    """The ``statistic`` of a ``raster`` per area (``share_above`` a ``threshold``)."""

    raster: StrictStr
    statistic: Annotated[str, OneOf(STATISTICS)]
    threshold: Number | None = None

    @model_validator(mode="after")
    def _kind(self) -> RasterIndicator:
        if self.kind != STATISTIC_KIND[self.statistic]:
            raise ValueError(
                f"key 'kind' must be {STATISTIC_KIND[self.statistic]!r} for "
                f"statistic {self.statistic!r}"
            )
        if self.statistic == "share_above" and self.threshold is None:
            raise ValueError("missing required key 'threshold'")
        return self


class RatioIndicator(_Indicator):
    """``numerator`` / ``denominator`` x ``per`` (1000 for "per 1,000"), recomputed on
    every level from the summed parts."""

    numerator: StrictStr
    denominator: StrictStr
    per: Number = 1.0

    @model_validator(mode="after")
    def _kind(self) -> RatioIndicator:
        if self.kind in ADDITIVE:
            raise ValueError(
                f"({self.id}) is a {self.kind}; only rate, share and mean take "
                "'numerator'/'denominator'"
            )
        return self

    @property
    def references(self) -> dict[str, str]:
        return {"numerator": self.numerator, "denominator": self.denominator}


VARIANTS: dict[str, type[_Indicator]] = {
    "table": TableIndicator,
    "microdata": MicrodataIndicator,
    "raster": RasterIndicator,
    "ratio": RatioIndicator,
}


def _source_of(raw: Any) -> str | None:
    """The variant of a raw indicator: the one source key it has (None: none or several)."""
    if not isinstance(raw, dict):
        return "table"  # lets pydantic report "must be a table"
    given = [name for name in ("table", "microdata", "raster") if name in raw]
    if "numerator" in raw or "denominator" in raw:
        given.append("ratio")
    return given[0] if len(given) == 1 else None


IndicatorSpec = Annotated[
    Annotated[TableIndicator, Tag("table")]
    | Annotated[MicrodataIndicator, Tag("microdata")]
    | Annotated[RasterIndicator, Tag("raster")]
    | Annotated[RatioIndicator, Tag("ratio")],
    Discriminator(
        _source_of,
        custom_error_type="indicator_source",
        custom_error_message="needs exactly one source",
    ),
]


# --- the whole file -------------------------------------------------------------------


class Config(_Section):
    """A validated run configuration (see ``engine/data/demo.toml`` for a full example).

    Examples
    --------
    >>> from engine.data import DEMO_CONFIG
    >>> cfg = load_config(DEMO_CONFIG)
    >>> [d.id for d in cfg.theme_indicators("drugs")][:2]
    ['drugsincidenten_per_1000', 'hennepkwekerijen']
    """

    run: RunSection = Field(default_factory=RunSection)
    themes: tuple[ThemeSpec, ...] = ()
    boundaries: BoundarySpec
    tables: tuple[TableSpec, ...] = ()
    microdata: tuple[MicrodataSpec, ...] = ()
    rasters: tuple[RasterSpec, ...] = ()
    synthetic: SyntheticSpec | None = None
    indicators: tuple[IndicatorSpec, ...] = ()
    spatial: SpatialSpec = Field(default_factory=SpatialSpec)
    trends: tuple[TrendSpec, ...] = ()
    models: ModelSpec = Field(default_factory=ModelSpec)
    disclosure: DisclosureSpec = Field(default_factory=DisclosureSpec)
    branches: BranchesSpec | None = None
    _path: Path = PrivateAttr(default=Path("config.toml"))
    _sha256: str = PrivateAttr(default="")

    @property
    def path(self) -> Path:
        """The config file; relative paths in it were resolved against its folder."""
        return self._path

    @property
    def sha256(self) -> str:
        """SHA-256 of the config file's bytes."""
        return self._sha256

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def seed(self) -> int:
        return self.run.seed

    @property
    def attribution(self) -> str:
        return self.run.attribution

    def with_selection(self, codes: tuple[str, ...]) -> Config:
        """The same config for another area of interest (``zicht run --select``)."""
        boundaries = self.boundaries.model_copy(update={"select": codes})
        return self.model_copy(update={"boundaries": boundaries})

    @property
    def language(self) -> str:
        return self.run.language

    @property
    def title(self) -> str:
        """The report's title: ``[run] title``, else the default in the run's language."""
        return self.run.title or DEFAULT_TITLES[self.language]

    @property
    def all_themes(self) -> tuple[Theme, ...]:
        """The declared themes (``[[themes]]``), else :data:`~engine.themes.DEFAULT_THEMES`."""
        return tuple(t.theme for t in self.themes) or DEFAULT_THEMES

    @property
    def scored_themes(self) -> list[str]:
        """The ids of the themes with risk indicators, in declared order."""
        return [t.id for t in self.all_themes if self.theme_indicators(t.id)]

    def theme_name(self, theme: str, language: str | None = None) -> str:
        """A theme's name in ``language`` (the run's by default; its id if it has none)."""
        found = {t.id: t for t in self.all_themes}.get(theme)
        return found.name(language or self.language) if found else theme

    def theme_indicators(self, theme: str) -> list[IndicatorSpec]:
        """The risk indicators of a theme: those with a direction."""
        return [d for d in self.indicators if d.theme == theme and d.direction != "none"]

    def sbi_nodes(self, d: IndicatorSpec) -> tuple[str, ...] | None:
        """The SBI nodes a microdata indicator keeps (``sbi``), or None for all."""
        sbi = getattr(d, "sbi", None)
        if sbi == "risico":
            return tuple(r.sbi for r in self.branches.risk) if self.branches else ()
        return sbi

    def indicator(self, indicator_id: str) -> IndicatorSpec:
        """The indicator with this id; :class:`KeyError` (with the nearest id) if none."""
        for d in self.indicators:
            if d.id == indicator_id:
                return d
        ids = [d.id for d in self.indicators]
        hint = difflib.get_close_matches(indicator_id, ids, n=1)
        raise KeyError(
            f"no indicator {indicator_id!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
        )


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML run configuration.

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Naming the file and every key at fault (``problems`` lists them one by one).
    """
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
    if "synthetic" not in raw and any(
        isinstance(m, dict) and "generator" in m for m in raw.get("microdata", []) or []
    ):
        raw = {**raw, "synthetic": {}}  # generators need drivers: the defaults
    try:
        config = Config.model_validate(raw, context={"base": path.parent})
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise _error(path, problems) from None
    problems = _reference_problems(config, raw)
    if problems:
        raise _error(path, problems)
    config._path, config._sha256 = path, sha256
    return config


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the TOML config (for editors: completion and checks)."""
    schema = Config.model_json_schema()
    schema["title"] = "zicht run configuration"
    return schema


def _error(path: Path, problems: list[str]) -> ConfigError:
    lines = [f"{path}: {p}" for p in problems]
    return ConfigError("\n".join(lines), lines)


# --- messages -------------------------------------------------------------------------

_TYPE_WORDS = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "an array",
    "tuple_type": "an array",
    "float_type": "a number",
}


def _key(loc: tuple[Any, ...]) -> str:
    """``('indicators', 0, 'table', 'kind')`` -> ``indicators[0].kind`` (variant tags and
    pydantic's internal steps dropped)."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif (
            (i == 2 and loc[0] == "indicators" and part in VARIANTS)
            or str(part).startswith("function-")
            or "[" in str(part)
        ):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: Any) -> str:
    loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx") or {}
    key = _key(loc)
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(loc, key)
    if kind == "missing":
        if len(loc) == 1:
            return f"missing required section [{key}]"
        return f"missing required key '{key}'"
    if kind in _TYPE_WORDS:
        if len(loc) == 1 and kind in ("model_type", "tuple_type", "dict_type", "list_type"):
            wanted = (
                "a table"
                if kind in ("model_type", "dict_type")
                else f"an array of tables ([[{key}]])"
            )
            return f"key '{key}' must be {wanted}"
        return f"key '{key}' must be {_TYPE_WORDS[kind]}, got {value!r}"
    if kind == "literal_error":
        choices = [
            c.strip("'") for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(", ")
        ]
        hint = difflib.get_close_matches(str(value), choices, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"key '{key}' is {value!r}; must be one of {choices}{suggestion}"
    if kind == "indicator_source":
        ident = value.get("id", "?") if isinstance(value, dict) else "?"
        return (
            f"'{key}' ({ident}) needs exactly one source: 'table', 'microdata', 'raster', "
            "or 'numerator' and 'denominator'"
        )
    if kind in _RANGE_WORDS:
        limit = next(iter(ctx.values()))
        return f"key '{key}' must be {_RANGE_WORDS[kind]} {limit}"
    if kind in ("too_short", "too_long"):
        return (
            f"key '{key}' needs at least {ctx.get('min_length')} entries"
            if kind == "too_short"
            else f"key '{key}' has too many entries"
        )
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if key == "disclosure":
            return f"[disclosure]: {message}"
        if message.startswith("("):
            return f"'{key}' {message}"
        if message.startswith(("key '", "missing")):
            prefix = message.split("'")[1]
            return message.replace(f"'{prefix}'", f"'{key}.{prefix}'", 1)
        return f"key '{key}' {message}"
    return f"key '{key}': {error['msg']}"


_RANGE_WORDS = {
    "greater_than_equal": "at least",
    "greater_than": "greater than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def _unknown_key(loc: tuple[Any, ...], key: str) -> str:
    parent, name = key.rpartition(".")[0], str(loc[-1])
    valid = _valid_keys(loc[:-1])
    prefix = f"{parent}." if parent else ""
    if loc[0] == "indicators" and len(loc) == 4:
        owner = next((tag for tag, model in VARIANTS.items() if name in model.model_fields), None)
        if owner is not None:
            owner = "numerator" if owner == "ratio" else owner
            return f"key '{key}' only applies with '{owner}'"
    hint = difflib.get_close_matches(name, valid, n=1)
    suggestion = f"; did you mean '{prefix}{hint[0]}'?" if hint else ""
    return f"unknown key '{key}'{suggestion} (valid keys: {', '.join(valid)})"


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the table at ``loc``."""
    model: Any = Config
    for i, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if loc[0] == "indicators" and i == 2:
            model = VARIANTS[part]
            continue
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
    return [name for name in model.model_fields]


def _unknown_theme(theme: str, themes: list[str], key: str) -> str:
    hint = difflib.get_close_matches(theme, themes, n=1)
    return f"key '{key}' is {theme!r}, not a theme of this run ({', '.join(themes)}, or 'none')" + (
        f"; did you mean {hint[0]!r}?" if hint else "; declare it under [[themes]]"
    )


def _model_in(annotation: Any) -> Any:
    """The model class inside ``tuple[X, ...]``, ``X | None`` or ``Annotated[X, ...]``."""
    stack = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(getattr(current, "__args__", ()) or ())
        if hasattr(current, "__origin__") and not getattr(current, "__args__", None):
            stack.append(current.__origin__)
    return _Indicator


def _reference_problems(config: Config, raw: dict[str, Any]) -> list[str]:
    """Ids that must be unique and references that must exist, all at once."""
    problems = []
    for section in ("tables", "microdata", "rasters", "indicators", "trends"):
        problems += _repeats([item.id for item in getattr(config, section)], section)
    problems += _repeats([t.theme for t in config.models.targets], "models.targets", "theme")
    problems += _repeats([t.id for t in config.themes], "themes")
    themes = [t.id for t in config.all_themes]
    for i, d in enumerate(config.indicators):
        if d.theme != "none" and d.theme not in themes:
            problems.append(_unknown_theme(d.theme, themes, f"indicators[{i}].theme"))
    for i, t in enumerate(config.models.targets):
        if t.theme not in themes:
            problems.append(_unknown_theme(t.theme, themes, f"models.targets[{i}].theme"))
    ids = [d.id for d in config.indicators]
    kinds = {d.id: d.kind for d in config.indicators}
    sources = {
        "table": {t.id for t in config.tables},
        "microdata": {m.id for m in config.microdata},
        "raster": {r.id for r in config.rasters},
    }
    for i, d in enumerate(config.indicators):
        key = f"indicators[{i}]"
        for source, known in sources.items():
            ref = getattr(d, source, None)
            if ref is not None and ref not in known:
                problems.append(
                    f"key '{key}.{source}' names {ref!r}, which is not a {source} "
                    f"id ({sorted(known)})"
                )
        for part, ref in d.references.items():
            problem = _missing_id(ref, ids, f"{key}.{part}")
            if problem:
                problems.append(problem)
            elif ref == d.id:
                problems.append(f"key '{key}.{part}' refers to the indicator itself")
            elif kinds[ref] not in ADDITIVE:
                problems.append(
                    f"key '{key}.{part}' names {ref!r}, a {kinds[ref]}; weights, "
                    "numerators and denominators must be counts or sums"
                )
    if config.synthetic is not None:
        tabled = {d.id for d in config.indicators if isinstance(d, TableIndicator)}
        for name in ("inhabitants", "households", "woz", "address_density", "land_area"):
            ref = getattr(config.synthetic, name)
            if ref is not None and ref not in tabled:
                problems.append(
                    f"key 'synthetic.{name}' names {ref!r}, which is not an indicator "
                    "read from an area table; the synthetic generators need it as a "
                    "driver"
                )
    return problems + _analysis_references(config, raw, ids) + _branche_problems(config)


def _branche_problems(config: Config) -> list[str]:
    """Branche indicators are counts or sums of records with an SBI code; risk branches
    are disjoint nodes of the SBI tree."""
    problems = []
    sources = {m.id: m for m in config.microdata}
    with_sbi = {m.id for m in config.microdata if m.sbi or m.generator in SBI_GENERATORS}
    b = config.branches
    tree = SbiTree.default()
    if b is not None:
        for i, ref in enumerate(b.indicators):
            key = f"branches.indicators[{i}]"
            found = next((d for d in config.indicators if d.id == ref), None)
            if found is None:
                problems += _missing_ids([ref], [d.id for d in config.indicators], key)
            elif not isinstance(found, MicrodataIndicator) or found.microdata not in with_sbi:
                problems.append(
                    f"key '{key}' names {ref!r}, which is not a count or sum of microdata "
                    "with an SBI column (key 'sbi' of its [[microdata]])"
                )
        risk = [r.sbi for r in b.risk]
        try:
            tree.validate_risk(risk, "branches.risk")
        except ValueError as exc:
            problems.append(str(exc))
        for key, refs in (("companies", [b.companies] if b.companies else []), ("trend", b.trend)):
            for ref in refs:
                if ref not in b.indicators:
                    problems.append(
                        f"key 'branches.{key}' names {ref!r}, which is not one of "
                        "branches.indicators"
                    )
        if (
            b.levels[:1] != ("gemeente",)
            or list(b.levels) != ["gemeente", "wijk", "buurt"][: len(b.levels)]
        ):
            problems.append(
                "key 'branches.levels' must go down from gemeente without skipping a level "
                '(["gemeente"], ["gemeente", "wijk"] or ["gemeente", "wijk", "buurt"])'
            )
        deep = [r for r in risk if r in tree.level and tree.level[r] in ("groep", "klasse")]
        if deep and b.depth != "klasse":
            problems.append(
                f"key 'branches.risk' lists {deep[0]!r}, below depth {b.depth!r}: use "
                'depth = "klasse" or risk branches of that depth'
            )
    for i, d in enumerate(config.indicators):
        if not isinstance(d, MicrodataIndicator) or d.sbi is None:
            continue
        key = f"indicators[{i}].sbi"
        if d.microdata in sources and d.microdata not in with_sbi:
            problems.append(f"key '{key}': microdata {d.microdata!r} has no SBI column")
        if d.sbi == "risico" and (b is None or not b.risk):
            problems.append(f"key '{key}' is \"risico\", but [branches] lists no risk branch")
        elif d.sbi != "risico":
            try:
                tree.validate_risk(list(d.sbi), key)
            except ValueError as exc:
                problems.append(str(exc))
    return problems


def _analysis_references(config: Config, raw: dict[str, Any], ids: list[str]) -> list[str]:
    """References of trends, models, relations and the disclosure section."""
    problems = []
    for i, trend in enumerate(config.trends):
        problems += _missing_ids(trend.indicators, ids, f"trends[{i}].indicators")
    problems += _missing_ids(list(config.models.weights), ids, "models.weights")
    for i, t in enumerate(config.models.targets):
        key = f"models.targets[{i}]"
        problems += _missing_ids([t.target], ids, f"{key}.target")
        problems += _missing_ids([r for r in (t.population, t.previous) if r], ids, key)
        problems += _missing_ids(t.features or (), ids, f"{key}.features")
        if t.features and t.target in t.features:
            problems.append(f"key '{key}.features' contains the target itself")
    problems += _size_problems(config, ids)
    given = raw.get("disclosure", {}) if isinstance(raw.get("disclosure"), dict) else {}
    for i, d in enumerate(config.indicators):
        if d.subset_of is not None:
            problems += _missing_ids([d.subset_of], ids, f"indicators[{i}].subset_of")
    for name in ("inhabitants", "households", "companies"):
        if name in given:
            problems += _missing_ids([getattr(config.disclosure, name)], ids, f"disclosure.{name}")
    return problems


def _size_problems(config: Config, ids: list[str]) -> list[str]:
    """Scores rank risk, not size: a count or sum in a score needs an exposure, and a
    model uses counts and sums as features only with ``size_features = true``."""
    problems = []
    kinds = {d.id: d.kind for d in config.indicators}
    for i, d in enumerate(config.indicators):
        key = f"indicators[{i}]"
        if d.exposure is not None:
            problem = _missing_id(d.exposure, ids, f"{key}.exposure")
            if problem is None and kinds[d.exposure] not in ADDITIVE:
                problem = (
                    f"key '{key}.exposure' names {d.exposure!r}, a {kinds[d.exposure]}; "
                    "an exposure is a count or sum"
                )
            problems += [problem] if problem else []
        elif d.direction != "none" and d.kind in ADDITIVE:
            problems.append(
                f"key '{key}.exposure' is missing: {d.id!r} is a {d.kind} in the score of "
                f"theme {d.theme!r}, which ranks risk, not size; name what it is measured "
                'against (e.g. exposure = "inwoners")'
            )
    for i, t in enumerate(config.models.targets):
        key = f"models.targets[{i}]"
        if t.target in kinds and (
            kinds[t.target] not in ADDITIVE or _exposure(config, t.target) is None
        ):
            problems.append(
                f"key '{key}.target' names {t.target!r}: a target is a count or sum with an "
                "'exposure' (it is modelled as a rate against it)"
            )
        sizes = [f for f in t.features or () if kinds.get(f) in ADDITIVE]
        if sizes and not t.size_features:
            problems.append(
                f"key '{key}.features' has counts or sums ({', '.join(sizes)}): they measure "
                "size, not risk; use rates or means, or set size_features = true"
            )
    return problems


def _exposure(config: Config, indicator_id: str) -> str | None:
    return next((d.exposure for d in config.indicators if d.id == indicator_id), None)


def _repeats(ids: list[str], section: str, field: str = "id") -> list[str]:
    seen: set[str] = set()
    problems = []
    for i, ident in enumerate(ids):
        if ident in seen:
            problems.append(f"key '{section}[{i}].{field}' repeats the {field} {ident!r}")
        seen.add(ident)
    return problems


def _missing_id(ref: str, ids: list[str], key: str) -> str | None:
    if ref in ids:
        return None
    hint = difflib.get_close_matches(str(ref), ids, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"key '{key}' names {ref!r}, which is not an indicator id{suggestion}"


def _missing_ids(refs: Any, ids: list[str], key: str) -> list[str]:
    return [p for p in (_missing_id(ref, ids, key) for ref in refs) if p]
