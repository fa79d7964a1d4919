"""The TOML sections other than the indicators: one pydantic model per table.

Their choices come from the stage packages that own them
(``spatial.hotspots.CORRECTIONS``, ``models.supervised.MODELS``, ...).
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    create_model,
    field_validator,
    model_validator,
)

from zicht.boundaries.own_areas import POLYGON_SUFFIXES, read_mapping
from zicht.boundaries.quality import QualityRules
from zicht.boundaries.schema import FIELDS as BOUNDARY_FIELDS
from zicht.disclosure.rules import DisclosureParams
from zicht.engine.config.fields import (
    GENERATOR_NAMES,
    CacheSetting,
    ExistingPath,
    NewPath,
    Number,
    OneOf,
    Section,
    Share,
    UnitType,
    to_number,
    to_text,
)
from zicht.engine.themes import Theme
from zicht.models.composite import METHODS
from zicht.models.supervised import GROUPS, MODELS
from zicht.spatial.hotspots import CORRECTIONS, INFERENCE, MAX_PERMUTATIONS
from zicht.spatial.weights import WEIGHTS

LANGUAGES = ("nl", "en")
ENGINES = ("memory", "stream", "dask")
DEFAULT_TITLES = {"nl": "Risicobeeld ondermijning", "en": "Risk picture of subversive crime"}


class RunSection(Section):
    """``[run]``: the run's name, seed, attribution text, the outputs' language and the
    report's title (default: :data:`DEFAULT_TITLES`); the outputs' licence, author and
    abstract (the metadata QGIS shows)."""

    name: StrictStr = "zicht run"
    seed: StrictInt = 0
    attribution: StrictStr = ""
    language: Annotated[str, OneOf(LANGUAGES)] = "nl"
    title: StrictStr = ""
    licence: StrictStr = "CC BY 4.0"
    author: StrictStr = ""
    abstract: StrictStr = ""
    # threads for the numeric libraries (BLAS, OpenMP); 0: the cores free to this run
    threads: StrictInt = Field(0, ge=0)
    # how microdata files are aggregated (engine.sources.streaming): "memory" reads each
    # source whole, "stream" in partitions of partition_rows records in bounded memory,
    # "dask" the same partitions on dask.distributed (a LocalCluster on the run's
    # threads, or the cluster at scheduler)
    engine: Annotated[str, OneOf(ENGINES)] = "memory"
    scheduler: StrictStr | None = None
    partition_rows: StrictInt = Field(1_000_000, ge=1)
    # where the partial cells of a streamed source are kept while it is aggregated
    # (default: the system's temporary folder; on a cluster a folder every worker sees)
    scratch: ExistingPath | None = None
    # the boundary cache (boundaries.cache): true for the user's cache folder
    # ($ZICHT_CACHE_DIR, else ~/.cache/zicht), false for none, or a folder
    cache: CacheSetting = True

    @model_validator(mode="after")
    def _scheduler_only_on_dask(self) -> RunSection:
        if self.scheduler is not None:
            if self.engine != "dask":
                raise ValueError("key 'scheduler' needs engine = \"dask\"")
            if not self.scheduler.startswith(("tcp://", "tls://")):
                raise ValueError(
                    f"key 'scheduler' must be a dask scheduler address (tcp://host:port), "
                    f"got {self.scheduler!r}"
                )
        return self


class ReleaseSpec(Section):
    """``[release]``: the steward's release ledger (:mod:`engine.ledger`), a folder
    outside every output: it holds true values. A run reads what earlier releases put
    out from it, protects jointly with that, and records its own release in it."""

    ledger: NewPath | None = None


class QualitySpec(Section):
    """``[boundaries.quality]``: when an area's geometry is suspect
    (:class:`boundaries.quality.QualityRules`), and what a run does with it."""

    # "exclude": suspect areas get no score, rank, class or trend, and no neighbours
    suspects: Annotated[str, OneOf(("exclude", "keep"))] = "exclude"
    max_density: Annotated[float, BeforeValidator(to_number), Field(gt=0)] = (
        1000.0  # inhabitants per hectare
    )
    min_area_share: Share = 0.001  # of the level's median area
    min_stated_share: Share = 0.1  # of the area the file states (OPP_TOT)
    max_overlap_share: Share = 0.1  # of the smaller neighbour
    gap_width: Annotated[float, BeforeValidator(to_number), Field(ge=0)] = (
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


class ThemeSpec(Section):
    """``[[themes]]``: a theme of the run's own (its id goes into column names)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name_nl: StrictStr
    name_en: StrictStr
    description_nl: StrictStr = ""
    description_en: StrictStr = ""

    @property
    def theme(self) -> Theme:
        return Theme(self.id, self.name_nl, self.name_en, self.description_nl, self.description_en)


class BoundarySpec(Section):
    """``[boundaries]``: the polygon file (CBS Wijk- en Buurtkaart or any polygon file)."""

    path: ExistingPath
    layer: StrictStr | None = None
    # logical field (boundaries.schema.FIELDS) -> the file's column
    columns: dict[str, StrictStr] = Field(default_factory=dict)
    drop_water: StrictBool = True
    source: StrictStr = ""
    # the boundaries' edition (default: the year in the file's name)
    year: StrictInt | None = Field(None, ge=1950, le=2100)
    # the area of interest: gemeente, wijk or buurt codes, or province names; published
    # as a cut of the protected whole file (coarser areas only where wholly selected)
    select: tuple[StrictStr, ...] = ()
    # the finest level to publish (default: the file's); computed on where a table is
    # keyed on its codes ("wijk" for wijk-level tables), else cut from the finer master
    level: Annotated[str, OneOf(("buurt", "wijk", "gemeente"))] | None = None
    quality: QualitySpec = Field(default_factory=QualitySpec)

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        return _boundary_fields(columns)


def _boundary_fields(columns: dict[str, str]) -> dict[str, str]:
    """A column mapping of a boundary file maps only its logical fields."""
    unknown = sorted(set(columns) - set(BOUNDARY_FIELDS))
    if unknown:
        raise ValueError(
            f"maps {unknown[0][:80]!r}, not a field of a boundary file; the fields are "
            + ", ".join(BOUNDARY_FIELDS)
        )
    return columns


class InterpolateFrom(Section):
    """``[[tables]] interpolate_from``: the boundaries a table's codes are of, when
    they are of another year than the run's; its figures are moved to the run's areas
    by areal interpolation and published as estimates (:mod:`boundaries.interpolate`)."""

    boundaries: ExistingPath
    layer: StrictStr | None = None
    # logical field (boundaries.schema.FIELDS) -> the file's column, as [boundaries]
    columns: dict[str, StrictStr] = Field(default_factory=dict)
    # "area", or a count of the run's areas (an indicator id from another table):
    # the pieces of an old area are weighted by that count per m² (target density)
    weight: StrictStr = "area"

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        return _boundary_fields(columns)


class TableSpec(Section):
    """``[[tables]]``: an area table keyed by CBS code (CSV incl. StatLine exports,
    Parquet, GeoPackage)."""

    id: StrictStr
    path: ExistingPath
    layer: StrictStr | None = None
    key: StrictStr
    source: StrictStr = ""
    synthetic: StrictBool = False
    min_match: Share = 0.5
    # the table's year (default: its period column, else the year in its file's name)
    year: StrictInt | None = Field(None, ge=1950, le=2100)
    # the column with its areas' names, compared with the boundaries' (default: a CBS
    # name column such as "Wijken en buurten", "regionaam" or "buurtnaam")
    names: StrictStr | None = None
    na_values: tuple[Annotated[str, BeforeValidator(to_text)], ...] = ()
    public: StrictBool = False
    unit_type: UnitType = "person"
    # the table's codes are of other boundaries: its figures are moved to the run's
    interpolate_from: InterpolateFrom | None = None

    @model_validator(mode="after")
    def _interpolated_public(self) -> TableSpec:
        if self.interpolate_from is not None and not self.public:
            raise ValueError(
                f"({self.id}) key 'interpolate_from' needs public = true: an estimate is "
                "a sum of the old figures with weights anyone can compute from the two "
                "boundary files, so the estimates give away the old figures; move "
                "figures that were published (protected on their own boundaries)"
            )
        return self


class MicrodataSpec(Section):
    """``[[microdata]]``: unit-level records (one row per report, sale, company...) read
    from a file (``path``) or generated synthetically (``generator``). Records are
    placed by ``x``/``y`` (in ``crs``) or by ``code``."""

    id: StrictStr
    path: ExistingPath | None = None
    layer: StrictStr | None = None
    generator: Annotated[str, OneOf(GENERATOR_NAMES)] | None = None
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


class RasterSpec(Section):
    """``[[rasters]]``: a GeoTIFF (or any raster rasterio reads) summarised per area."""

    id: StrictStr
    path: ExistingPath
    band: StrictInt = Field(1, ge=1)
    source: StrictStr = ""
    synthetic: StrictBool = False
    public: StrictBool = True


class SyntheticSpec(Section):
    """``[synthetic]``: which area-table indicators drive the synthetic generators."""

    inhabitants: StrictStr = "inwoners"
    households: StrictStr = "huishoudens"
    woz: StrictStr | None = None
    address_density: StrictStr | None = None
    land_area: StrictStr | None = None
    scale: Number = Field(1.0, gt=0)
    years: StrictInt = Field(1, ge=1, le=10)


class SpatialSpec(Section):
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
    # the fewest areas (with a score) for hotspots, LISA, trends and Moran's I; scores,
    # ranks and classes do not need it
    min_areas: StrictInt = Field(30, ge=1)
    # what the spatial statistics of a selection run on besides it: "none", "ring" (the
    # gemeenten bordering the selected ones) or a list of gemeente codes; only the
    # selection is published
    context: Annotated[str, OneOf(("none", "ring"))] | tuple[StrictStr, ...] = "none"

    @field_validator("context")
    @classmethod
    def _gemeente_codes(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(value, tuple):
            wrong = [c for c in value if not re.fullmatch(r"GM\d{4}", c)]
            if wrong:
                raise ValueError(f"lists {wrong[0][:80]!r}, not a gemeente code (GM and 4 digits)")
        return value


class RiskBranch(Section):
    """``[[branches.risk]]``: a node of the SBI tree treated as risk-prone, and why."""

    sbi: StrictStr
    reason: StrictStr = ""  # in Dutch
    reason_en: StrictStr = ""

    def why(self, language: str) -> str:
        """The reason in ``language`` (the Dutch one where no English is given)."""
        return (self.reason_en or self.reason) if language == "en" else self.reason


class BranchesSpec(Section):
    """``[branches]``: tables per area x SBI node (:mod:`engine.sbi`) for the
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


class OwnAreasSpec(Section):
    """``[[own_areas]]``: a set of own areas (police basisteams, RIEC regions, a
    gemeente's districts) as unions of buurten, from ``file``: a mapping table (CSV:
    ``buurtcode``, ``code``, ``naam``, optionally ``soort``) or polygons that follow
    buurt boundaries (:mod:`boundaries.own_areas`). Published as layer
    ``eigen_<id>``, protected jointly with the buurten."""

    id: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
    file: ExistingPath
    label_nl: StrictStr = ""  # what the areas are: the layer's ``indeling`` (default: id)
    label_en: StrictStr = ""

    @field_validator("file")
    @classmethod
    def _mapping(cls, path: Path) -> Path:
        """A mapping table is checked now (columns, values, a buurt listed twice);
        its buurt codes, and polygons, when the boundaries are read."""
        if path.suffix.lower() not in POLYGON_SUFFIXES:
            read_mapping(path)
        return path


class TrendSpec(Section):
    """``[[trends]]``: indicators that are the same figure in successive years, oldest
    first."""

    id: StrictStr
    indicators: tuple[StrictStr, ...] = Field(min_length=3)
    alpha: Number = Field(0.10, gt=0, lt=1)
    label_nl: StrictStr = ""  # what the years measure, for headers and legends (default: id)
    label_en: StrictStr = ""

    def label(self, language: str) -> str:
        return (self.label_en if language == "en" else self.label_nl) or self.id


class TargetSpec(Section):
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


class ModelSpec(Section):
    """``[models]``: the composite index and the supervised targets."""

    method: Annotated[str, OneOf(METHODS)] = "rank"
    clip: Number = Field(3.0, gt=0)
    weights: dict[str, Annotated[float, BeforeValidator(to_number), Field(ge=0)]] = Field(
        default_factory=dict
    )
    targets: tuple[TargetSpec, ...] = ()
    min_coverage: Share = 0.5
    # a model scores its theme only where its rank correlation in spatial
    # cross-validation reaches this (-1 to 1; -1: always); below it the theme is the
    # composite index
    min_skill: Number = Field(0.3, ge=-1, le=1)
    # parametric bootstrap draws behind every score's 90% interval and rank interval
    # (0: the intervals of withheld inputs only)
    draws: StrictInt = Field(200, ge=0, le=10_000)


def _param_field(default: Any) -> Any:
    return (Number if isinstance(default, float) else StrictInt, default)


# ``[disclosure]`` holds every field of disclosure.rules.DisclosureParams: one source for
# their names, types and defaults
_RuleParameters: Any = create_model(
    "RuleParameters",
    __base__=Section,
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
