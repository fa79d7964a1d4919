"""The whole configuration file: the :class:`Config` model over every section, and
loading and validating it (types and choices first, then the references between
sections, every problem in one pass)."""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError

from zicht.engine.config.fields import Section
from zicht.engine.config.indicators import IndicatorSpec
from zicht.engine.config.messages import describe
from zicht.engine.config.references import reference_problems
from zicht.engine.config.sections import (
    DEFAULT_TITLES,
    BoundarySpec,
    BranchesSpec,
    DisclosureSpec,
    MicrodataSpec,
    ModelSpec,
    OwnAreasSpec,
    RasterSpec,
    ReleaseSpec,
    RunSection,
    SpatialSpec,
    SyntheticSpec,
    TableSpec,
    ThemeSpec,
    TrendSpec,
)
from zicht.engine.themes import DEFAULT_THEMES, Theme
from zicht.errors import ConfigError


class Config(Section):
    """A validated run configuration (see ``engine/data/demo.toml`` for a full example).

    Examples
    --------
    >>> from zicht.engine.data import DEMO_CONFIG
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
    own_areas: tuple[OwnAreasSpec, ...] = ()
    release: ReleaseSpec = Field(default_factory=ReleaseSpec)
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

    def with_cache(self, cache: bool | Path) -> Config:
        """The same config with another ``[run] cache`` (``zicht run --no-cache``)."""
        return self.model_copy(update={"run": self.run.model_copy(update={"cache": cache})})

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

    @property
    def estimates(self) -> frozenset[str]:
        """The indicators that are estimates: read from a table moved from other
        boundaries (``interpolate_from``), or computed from such an indicator."""
        moved = {t.id for t in self.tables if t.interpolate_from is not None}
        found = {d.id for d in self.indicators if getattr(d, "table", None) in moved}
        grown = True
        while grown:  # a ratio of a ratio: until nothing is added
            more = {d.id for d in self.indicators if found & set(d.references.values())}
            grown = bool(more - found)
            found |= more
        return frozenset(found)

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
        problems = [describe(error, Config) for error in exc.errors()]
        raise _error(path, problems) from None
    problems = reference_problems(config, raw)
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
