"""Column names of the CBS Wijk- en Buurtkaart, per schema and level.

Two CBS schemas are in use: the upper-case one of the older Wijk- en Buurtkaart
(``BU_CODE``, ``BU_NAAM``, ``WK_CODE``, ``GM_CODE``, ``GM_NAAM``, ``WATER``) and the
lower-case one of recent years (``buurtcode``, ``buurtnaam``, ``wijkcode``,
``gemeentecode``, ``gemeentenaam``, ``water``). Any other file is read through an
explicit mapping of the same logical fields.
"""

from __future__ import annotations

from collections.abc import Mapping

FIELDS = (
    "code",
    "naam",
    "wijkcode",
    "wijknaam",
    "gemeentecode",
    "gemeentenaam",
    "water",
    "provincie",  # the province's name, where a file has it: for ``select``
    "inwoners",  # inhabitants, where a file has them: for the geometry check
    "oppervlakte",  # the area the file states (ha), where it has one: idem
)

SCHEMAS: dict[str, dict[str, dict[str, str]]] = {
    "cbs-upper": {
        "buurt": {
            "code": "BU_CODE",
            "naam": "BU_NAAM",
            "wijkcode": "WK_CODE",
            "wijknaam": "WK_NAAM",
            "gemeentecode": "GM_CODE",
            "gemeentenaam": "GM_NAAM",
            "water": "WATER",
            "inwoners": "AANT_INW",
            "oppervlakte": "OPP_TOT",
        },
        "wijk": {
            "code": "WK_CODE",
            "naam": "WK_NAAM",
            "gemeentecode": "GM_CODE",
            "gemeentenaam": "GM_NAAM",
            "water": "WATER",
            "inwoners": "AANT_INW",
            "oppervlakte": "OPP_TOT",
        },
        "gemeente": {
            "code": "GM_CODE",
            "naam": "GM_NAAM",
            "water": "WATER",
            "inwoners": "AANT_INW",
            "oppervlakte": "OPP_TOT",
        },
    },
    "cbs-lower": {
        "buurt": {
            "code": "buurtcode",
            "naam": "buurtnaam",
            "wijkcode": "wijkcode",
            "wijknaam": "wijknaam",
            "gemeentecode": "gemeentecode",
            "gemeentenaam": "gemeentenaam",
            "water": "water",
            "provincie": "provincie",
            "inwoners": "aantal_inwoners",
            "oppervlakte": "oppervlakte_totaal_in_ha",
        },
        "wijk": {
            "code": "wijkcode",
            "naam": "wijknaam",
            "gemeentecode": "gemeentecode",
            "gemeentenaam": "gemeentenaam",
            "water": "water",
            "provincie": "provincie",
            "inwoners": "aantal_inwoners",
            "oppervlakte": "oppervlakte_totaal_in_ha",
        },
        "gemeente": {
            "code": "gemeentecode",
            "naam": "gemeentenaam",
            "water": "water",
            "provincie": "provincie",
            "inwoners": "aantal_inwoners",
            "oppervlakte": "oppervlakte_totaal_in_ha",
        },
    },
}

# The code column that identifies a schema and level.
_SIGNATURES = [
    ("cbs-upper", "buurt", "BU_CODE"),
    ("cbs-lower", "buurt", "buurtcode"),
    ("cbs-upper", "wijk", "WK_CODE"),
    ("cbs-lower", "wijk", "wijkcode"),
    ("cbs-upper", "gemeente", "GM_CODE"),
    ("cbs-lower", "gemeente", "gemeentecode"),
]


def detect(columns: list[str]) -> tuple[str, str] | None:
    """The (schema, level) a layer's columns match, finest level first, or None."""
    present = set(columns)
    for schema, level, code_column in _SIGNATURES:
        if code_column in present:
            return schema, level
    return None


def resolve(
    columns: list[str], level: str, schema: str | None, overrides: Mapping[str, str] | None
) -> dict[str, str]:
    """The logical-field -> column mapping for a layer: schema defaults, then overrides.

    Schema columns missing from the layer are left out (they are optional), while an
    override naming a missing column is an error the caller reports.
    """
    present = set(columns)
    mapping: dict[str, str] = {}
    if schema is not None:
        mapping = {f: c for f, c in SCHEMAS[schema][level].items() if c in present}
    mapping.update(dict(overrides or {}))
    return mapping
