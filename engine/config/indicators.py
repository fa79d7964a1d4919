"""``[[indicators]]``: four variants, told apart by their source key: ``table``,
``microdata``, ``raster``, or ``numerator``/``denominator``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, StrictBool, StrictStr, Tag, model_validator

from zicht.engine.config.fields import (
    ADDITIVE,
    MEASURE_KIND,
    MEASURES,
    STATISTIC_KIND,
    STATISTICS,
    Direction,
    Kind,
    Number,
    OneOf,
    Section,
)


class BaseIndicator(Section):
    """What every indicator has: id, kind, theme, labels, unit, direction."""

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


class TableIndicator(BaseIndicator):
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


class MicrodataIndicator(BaseIndicator):
    """Records, distinct units or the summed amount of the ``microdata`` records that
    match ``where`` (column -> allowed values)."""

    microdata: StrictStr
    measure: Annotated[str, OneOf(MEASURES)]
    kind: Kind = Field("count", description="inferred from 'measure' where not given")
    where: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    # only records whose SBI code lies in these nodes of the SBI tree ("96.02", "56",
    # "K"), or "risico": in the risk branches of [branches]
    sbi: tuple[StrictStr, ...] | Annotated[str, OneOf(("risico",))] | None = None

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        """The measure decides the kind: no need to repeat it."""
        return _inferred(data, "measure", MEASURE_KIND)

    @model_validator(mode="after")
    def _kind(self) -> MicrodataIndicator:
        if self.kind != MEASURE_KIND[self.measure]:
            raise ValueError(
                f"key 'kind' must be {MEASURE_KIND[self.measure]!r} for measure {self.measure!r}"
            )
        return self


class RasterIndicator(BaseIndicator):
    """The ``statistic`` of a ``raster`` per area (``share_above`` a ``threshold``)."""

    raster: StrictStr
    statistic: Annotated[str, OneOf(STATISTICS)]
    threshold: Number | None = None
    kind: Kind = Field("mean", description="inferred from 'statistic' where not given")

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        """The statistic decides the kind: no need to repeat it."""
        return _inferred(data, "statistic", STATISTIC_KIND)

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


class RatioIndicator(BaseIndicator):
    """``numerator`` / ``denominator`` x ``per`` (1000 for "per 1,000"), recomputed on
    every level from the summed parts."""

    numerator: StrictStr
    denominator: StrictStr
    per: Number = 1.0
    kind: Kind = "rate"  # a share or mean says so

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


def _inferred(data: Any, key: str, kinds: dict[str, str]) -> Any:
    """``data`` with the ``kind`` its ``key`` decides, where it names none."""
    if isinstance(data, dict) and "kind" not in data and data.get(key) in kinds:
        return {**data, "kind": kinds[data[key]]}
    return data


VARIANTS: dict[str, type[BaseIndicator]] = {
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
