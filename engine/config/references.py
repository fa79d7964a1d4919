"""References between sections: ids that must be unique, themes, indicators, tables
and SBI nodes that must exist, and what a reference may point at (weights and parts
are counts or sums; a count in a score has an exposure). Checked after the types,
every problem at once, in the order of the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zicht.engine.config.fields import ADDITIVE, SBI_GENERATORS
from zicht.engine.config.indicators import (
    BaseIndicator,
    MicrodataIndicator,
    RasterIndicator,
    RatioIndicator,
    TableIndicator,
)
from zicht.engine.config.messages import missing_id, missing_ids, unknown_theme
from zicht.engine.config.sections import BranchesSpec
from zicht.engine.sbi import SbiTree

if TYPE_CHECKING:
    from zicht.engine.config.schema import Config


def reference_problems(config: Config, raw: dict[str, Any]) -> list[str]:
    """Ids that must be unique and references that must exist, all at once; ``raw``
    is the file as parsed (which keys it gives, not their defaults)."""
    ids = [d.id for d in config.indicators]
    return (
        _repeated_ids(config)
        + _theme_problems(config)
        + _indicator_references(config, ids)
        + _driver_problems(config)
        + _analysis_references(config, raw, ids)
        + _branche_problems(config)
        + _interpolation_problems(config)
    )


def _repeated_ids(config: Config) -> list[str]:
    problems = []
    for section in ("tables", "microdata", "rasters", "indicators", "trends", "own_areas"):
        problems += _repeats([item.id for item in getattr(config, section)], section)
    problems += _repeats([t.theme for t in config.models.targets], "models.targets", "theme")
    problems += _repeats([t.id for t in config.themes], "themes")
    return problems


def _theme_problems(config: Config) -> list[str]:
    """Indicators and models name themes of the run (or none, for an indicator)."""
    problems = []
    themes = [t.id for t in config.all_themes]
    for i, d in enumerate(config.indicators):
        if d.theme != "none" and d.theme not in themes:
            problems.append(unknown_theme(d.theme, themes, f"indicators[{i}].theme"))
    for i, t in enumerate(config.models.targets):
        if t.theme not in themes:
            problems.append(unknown_theme(t.theme, themes, f"models.targets[{i}].theme"))
    return problems


def _indicator_references(config: Config, ids: list[str]) -> list[str]:
    """The table, microdata or raster of every indicator, and the indicators it is
    computed from."""
    kinds = {d.id: d.kind for d in config.indicators}
    sources = {
        "table": {t.id for t in config.tables},
        "microdata": {m.id for m in config.microdata},
        "raster": {r.id for r in config.rasters},
    }
    problems = []
    for i, d in enumerate(config.indicators):
        key = f"indicators[{i}]"
        for source, known in sources.items():
            ref = getattr(d, source, None)
            if ref is not None and ref not in known:
                problems.append(
                    f"key '{key}.{source}' names {ref!r}, which is not a {source} "
                    f"id ({sorted(known)})"
                )
        problems += _part_problems(d, key, ids, kinds)
    return problems


def _part_problems(d: BaseIndicator, key: str, ids: list[str], kinds: dict[str, str]) -> list[str]:
    """Weights, numerators and denominators: other indicators, counts or sums."""
    problems = []
    for part, ref in d.references.items():
        problem = missing_id(ref, ids, f"{key}.{part}")
        if problem:
            problems.append(problem)
        elif ref == d.id:
            problems.append(f"key '{key}.{part}' refers to the indicator itself")
        elif kinds[ref] not in ADDITIVE:
            problems.append(
                f"key '{key}.{part}' names {ref!r}, a {kinds[ref]}; weights, "
                "numerators and denominators must be counts or sums"
            )
    return problems


def _driver_problems(config: Config) -> list[str]:
    """The synthetic generators' drivers are indicators read from an area table."""
    if config.synthetic is None:
        return []
    problems = []
    tabled = {d.id for d in config.indicators if isinstance(d, TableIndicator)}
    for name in ("inhabitants", "households", "woz", "address_density", "land_area"):
        ref = getattr(config.synthetic, name)
        if ref is not None and ref not in tabled:
            problems.append(
                f"key 'synthetic.{name}' names {ref!r}, which is not an indicator "
                "read from an area table; the synthetic generators need it as a "
                "driver"
            )
    return problems


def _branche_problems(config: Config) -> list[str]:
    """Branche indicators are counts or sums of records with an SBI code; risk branches
    are disjoint nodes of the SBI tree."""
    with_sbi = {m.id for m in config.microdata if m.sbi or m.generator in SBI_GENERATORS}
    tree = SbiTree.default()
    problems = []
    b = config.branches
    if b is not None:
        problems += _branche_indicator_problems(config, b, with_sbi)
        problems += _risk_problems(b, tree)
        problems += _branche_section_problems(b)
        problems += _depth_problems(b, tree)
    return problems + _sbi_filter_problems(config, tree, with_sbi)


def _branche_indicator_problems(config: Config, b: BranchesSpec, with_sbi: set[str]) -> list[str]:
    problems = []
    for i, ref in enumerate(b.indicators):
        key = f"branches.indicators[{i}]"
        found = next((d for d in config.indicators if d.id == ref), None)
        if found is None:
            problems += missing_ids([ref], [d.id for d in config.indicators], key)
        elif not isinstance(found, MicrodataIndicator) or found.microdata not in with_sbi:
            problems.append(
                f"key '{key}' names {ref!r}, which is not a count or sum of microdata "
                "with an SBI column (key 'sbi' of its [[microdata]])"
            )
    return problems


def _risk_problems(b: BranchesSpec, tree: SbiTree) -> list[str]:
    try:
        tree.validate_risk([r.sbi for r in b.risk], "branches.risk")
    except ValueError as exc:
        return [str(exc)]
    return []


def _branche_section_problems(b: BranchesSpec) -> list[str]:
    """``companies`` and ``trend`` name branche indicators; the levels go down from
    the gemeente."""
    problems = []
    for key, refs in (("companies", [b.companies] if b.companies else []), ("trend", b.trend)):
        for ref in refs:
            if ref not in b.indicators:
                problems.append(
                    f"key 'branches.{key}' names {ref!r}, which is not one of branches.indicators"
                )
    if (
        b.levels[:1] != ("gemeente",)
        or list(b.levels) != ["gemeente", "wijk", "buurt"][: len(b.levels)]
    ):
        problems.append(
            "key 'branches.levels' must go down from gemeente without skipping a level "
            '(["gemeente"], ["gemeente", "wijk"] or ["gemeente", "wijk", "buurt"])'
        )
    return problems


def _depth_problems(b: BranchesSpec, tree: SbiTree) -> list[str]:
    risk = [r.sbi for r in b.risk]
    deep = [r for r in risk if r in tree.level and tree.level[r] in ("groep", "klasse")]
    if deep and b.depth != "klasse":
        return [
            f"key 'branches.risk' lists {deep[0]!r}, below depth {b.depth!r}: use "
            'depth = "klasse" or risk branches of that depth'
        ]
    return []


def _sbi_filter_problems(config: Config, tree: SbiTree, with_sbi: set[str]) -> list[str]:
    """An indicator's ``sbi`` filter needs records with an SBI code, and names nodes of
    the tree (or "risico", with risk branches)."""
    problems = []
    sources = {m.id for m in config.microdata}
    b = config.branches
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
        problems += missing_ids(trend.indicators, ids, f"trends[{i}].indicators")
    problems += missing_ids(list(config.models.weights), ids, "models.weights")
    for i, t in enumerate(config.models.targets):
        key = f"models.targets[{i}]"
        problems += missing_ids([t.target], ids, f"{key}.target")
        problems += missing_ids([r for r in (t.population, t.previous) if r], ids, key)
        problems += missing_ids(t.features or (), ids, f"{key}.features")
        if t.features and t.target in t.features:
            problems.append(f"key '{key}.features' contains the target itself")
        elif t.target in ids:
            problems += _leak_problems(config, t.target, t.features or (), f"{key}.features")
    problems += _size_problems(config, ids)
    given = raw.get("disclosure", {}) if isinstance(raw.get("disclosure"), dict) else {}
    for i, d in enumerate(config.indicators):
        if d.subset_of is not None:
            problems += missing_ids([d.subset_of], ids, f"indicators[{i}].subset_of")
    for name in ("inhabitants", "households", "companies"):
        if name in given:
            problems += missing_ids([getattr(config.disclosure, name)], ids, f"disclosure.{name}")
    return problems


def _leak_problems(config: Config, target: str, features: tuple[str, ...], key: str) -> list[str]:
    problems = []
    for feature in features:
        reason = target_leak(config, target, feature)
        if reason is not None:
            problems.append(
                f"key '{key}' names {feature!r}, which {reason}: a feature may not carry "
                "what the model predicts (target leakage)"
            )
    return problems


def target_leak(config: Config, target: str, feature: str) -> str | None:
    """How ``feature`` carries the model target ``target``, in words, or None.

    A feature leaks when it, or an indicator it is computed from (numerator,
    denominator, at any depth), is the target, counts the same microdata records
    (the same source under any filter), reads the same table column or raster, or is
    declared a subset of the target (or the target of it). Unknown ids leak nothing
    (they are reported as missing)."""
    known = {d.id: d for d in config.indicators}
    if target not in known:
        return None
    origin = _origin(known[target])
    seen: set[str] = set()
    stack = [(feature, "")]
    while stack:
        ident, via = stack.pop()
        if ident in seen or ident not in known:
            continue
        seen.add(ident)
        d = known[ident]
        reason = _leak_reason(d, known[target], origin)
        if reason is not None:
            return reason + via
        parts = d.references if isinstance(d, RatioIndicator) else {}
        stack += [(ref, via or f" (through its {part} {ref!r})") for part, ref in parts.items()]
    return None


def _leak_reason(d: BaseIndicator, target: BaseIndicator, origin: str | None) -> str | None:
    if d.id == target.id:
        return f"is built from the target {target.id!r}"
    if origin is not None and _origin(d) == origin:
        return f"reads the source of the target {target.id!r} ({origin})"
    if target.id == d.subset_of or d.id == target.subset_of:
        return f"counts a filter of the records of the target {target.id!r}"
    return None


def _origin(d: BaseIndicator) -> str | None:
    """Where an indicator's values come from: a microdata source (any filter), a table
    column or a raster; None for a ratio (its parts have origins)."""
    if isinstance(d, MicrodataIndicator):
        return f"microdata {d.microdata!r}"
    if isinstance(d, TableIndicator):
        return f"column {d.column!r} of table {d.table!r}"
    if isinstance(d, RasterIndicator):
        return f"raster {d.raster!r}"
    return None


def _size_problems(config: Config, ids: list[str]) -> list[str]:
    """Scores rank risk, not size: a count or sum in a score needs an exposure, and a
    model uses counts and sums as features only with ``size_features = true``."""
    problems = []
    kinds = {d.id: d.kind for d in config.indicators}
    for i, d in enumerate(config.indicators):
        key = f"indicators[{i}]"
        if d.exposure is not None:
            problem = missing_id(d.exposure, ids, f"{key}.exposure")
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


def _interpolation_problems(config: Config) -> list[str]:
    """A table moved from other boundaries: its means and shares are weighted by a
    count of the same table (both are moved), and a target density ``weight`` is a
    count or sum of another table, read on the run's own areas."""
    moved = {t.id for t in config.tables if t.interpolate_from is not None}
    tabled = {d.id: d for d in config.indicators if isinstance(d, TableIndicator)}
    problems = []
    for i, d in enumerate(config.indicators):
        if isinstance(d, TableIndicator) and d.table in moved and d.weight is not None:
            if tabled.get(d.weight) is None or tabled[d.weight].table != d.table:
                problems.append(
                    f"key 'indicators[{i}].weight' names {d.weight!r}, not a column of table "
                    f"{d.table!r}: a mean of a table moved from other boundaries is moved "
                    "with its denominator, which must be of the same table"
                )
    counts = sorted(i for i, d in tabled.items() if d.table not in moved and d.kind in ADDITIVE)
    for i, t in enumerate(config.tables):
        ref = t.interpolate_from.weight if t.interpolate_from is not None else "area"
        if ref != "area" and ref not in counts:
            problems.append(
                f"key 'tables[{i}].interpolate_from.weight' names {ref!r}: give \"area\" or "
                f"a count or sum of a table on the run's own boundaries ({counts[:8]})"
            )
    return problems
