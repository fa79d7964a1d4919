"""Run configuration: a TOML file, validated on load against one declarative schema.

Each TOML section is one pydantic model; the choices come from the stage
packages that own them (``spatial.hotspots.CORRECTIONS``, ``models.supervised.MODELS``,
...). An indicator is one of four variants, told apart by its source key: ``table``,
``microdata``, ``raster``, or ``numerator``/``denominator``. Validation collects every
problem in one pass; each names the file and the key (``indicators[3].kind``), and an
unknown key or choice comes with the nearest valid one. Relative paths are resolved
against the folder of the config file, so a config and its data travel together.
:func:`config_schema` gives the JSON Schema (``zicht config schema``) that editors use
for completion in TOML.

The package: :mod:`~engine.config.fields` (field types and vocabularies),
:mod:`~engine.config.sections` and :mod:`~engine.config.indicators` (the models of
the TOML tables), :mod:`~engine.config.schema` (the whole file, loading),
:mod:`~engine.config.messages` (problems as lines naming the key) and
:mod:`~engine.config.references` (checks across sections).

>>> from zicht.engine.data import DEMO_CONFIG
>>> cfg = load_config(DEMO_CONFIG)
>>> cfg.boundaries.layer
'buurten'
>>> type(cfg.indicator("misdrijven_per_1000")).__name__
'RatioIndicator'
"""

from zicht.engine.config.fields import ADDITIVE, GENERATOR_NAMES, KINDS, SBI_GENERATORS
from zicht.engine.config.indicators import (
    VARIANTS,
    BaseIndicator,
    IndicatorSpec,
    MicrodataIndicator,
    RasterIndicator,
    RatioIndicator,
    TableIndicator,
)
from zicht.engine.config.schema import Config, config_schema, load_config, parse_config
from zicht.engine.config.sections import (
    DEFAULT_TITLES,
    LANGUAGES,
    BoundarySpec,
    BranchesSpec,
    DisclosureSpec,
    InterpolateFrom,
    MicrodataSpec,
    ModelSpec,
    OwnAreasSpec,
    QualitySpec,
    RasterSpec,
    ReleaseSpec,
    RiskBranch,
    RunSection,
    SpatialSpec,
    SyntheticSpec,
    TableSpec,
    TargetSpec,
    ThemeSpec,
    TrendSpec,
)
from zicht.errors import ConfigError

__all__ = [
    "ADDITIVE",
    "DEFAULT_TITLES",
    "GENERATOR_NAMES",
    "KINDS",
    "LANGUAGES",
    "SBI_GENERATORS",
    "VARIANTS",
    "BaseIndicator",
    "BoundarySpec",
    "BranchesSpec",
    "OwnAreasSpec",
    "Config",
    "ConfigError",
    "DisclosureSpec",
    "InterpolateFrom",
    "IndicatorSpec",
    "MicrodataIndicator",
    "MicrodataSpec",
    "ModelSpec",
    "QualitySpec",
    "RasterIndicator",
    "RasterSpec",
    "RatioIndicator",
    "ReleaseSpec",
    "RiskBranch",
    "RunSection",
    "SpatialSpec",
    "SyntheticSpec",
    "TableIndicator",
    "TableSpec",
    "TargetSpec",
    "ThemeSpec",
    "TrendSpec",
    "config_schema",
    "load_config",
    "parse_config",
]
