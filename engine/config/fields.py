"""The config's field types and fixed vocabularies: numbers, shares, existing paths,
choices (a JSON Schema ``enum``), and the base of every TOML table.

The names of the synthetic generators are declared here, not read from
:mod:`engine.sources.synthetic`: the sources import the config, never the other way
round, and ``tests/test_config.py`` checks that the generators implement exactly
these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic_core import core_schema

from zicht.disclosure.rules import UNIT_TYPES
from zicht.errors import quoted
from zicht.models.composite import DIRECTIONS

KINDS = ("count", "sum", "rate", "share", "mean")
ADDITIVE = ("count", "sum")
MEASURES = ("records", "units", "amount")
STATISTICS = ("mean", "sum", "share_above")
# which kind an indicator has, given its microdata measure or raster statistic
MEASURE_KIND = {"records": "count", "units": "count", "amount": "sum"}
STATISTIC_KIND = {"mean": "mean", "sum": "sum", "share_above": "share"}
# the synthetic generators (engine.sources.synthetic.GENERATORS implements each), and
# those whose records carry an SBI code
GENERATOR_NAMES = (
    "kadaster_verkopen",
    "drugsincidenten",
    "hennepkwekerijen",
    "drugsveroordelingen",
    "fiu_meldingen",
    "kvk_vestigingen",
)
SBI_GENERATORS = ("kvk_vestigingen",)


# --- field types --------------------------------------------------------------------


@dataclass(frozen=True)
class OneOf:
    """A string that must be one of ``choices`` (a JSON Schema ``enum``)."""

    choices: tuple[str, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.literal_schema(list(self.choices))


def to_number(value: Any) -> Any:
    # TOML has integers and floats; both are numbers, but true and "3" are not
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {quoted(value)}")
    return float(value)


def _existing_path(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {quoted(value)}")
    base = (info.context or {}).get("base", Path.cwd())
    path = Path(value) if Path(value).is_absolute() else (base / value).resolve()
    if not path.exists():
        raise ValueError(f"names {path}, which does not exist")
    return path


def _new_path(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {quoted(value)}")
    base = (info.context or {}).get("base", Path.cwd())
    path = Path(value) if Path(value).is_absolute() else (base / value).resolve()
    if not path.parent.is_dir():
        raise ValueError(f"names {path}, in a folder that does not exist")
    return path


def _cache_setting(value: Any, info: ValidationInfo) -> bool | Path:
    """``[run] cache``: true (the user's cache folder), false (none) or a folder."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be true, false or a folder, got {quoted(value)}")
    base = (info.context or {}).get("base", Path.cwd())
    path = Path(value).expanduser()
    path = path if path.is_absolute() else (base / path).resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"names {path}, which is a file, not a folder")
    return path


def to_text(value: Any) -> str:
    # na_values: "-99999999" and -99999999 mean the same code
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must list strings or numbers, got {quoted(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


Number = Annotated[float, BeforeValidator(to_number)]
Share = Annotated[float, BeforeValidator(to_number), Field(ge=0, le=1)]
ExistingPath = Annotated[Path, BeforeValidator(_existing_path)]
# a path a run may create (its folder must exist)
NewPath = Annotated[Path, BeforeValidator(_new_path)]
# where a run keeps what it may read again (boundaries.cache): on, off or a folder
CacheSetting = Annotated[bool | Path, BeforeValidator(_cache_setting)]
Kind = Annotated[str, OneOf(KINDS)]
Direction = Annotated[str, OneOf((*DIRECTIONS, "none"))]
UnitType = Annotated[str, OneOf(UNIT_TYPES)]


class Section(BaseModel):
    """A TOML table: unknown keys are errors, values are frozen after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
