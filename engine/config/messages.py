"""How a validation problem becomes one line: the key at fault (``indicators[3].kind``),
what it must be, and for an unknown key, choice or id the nearest valid one."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from zicht.engine.config.indicators import VARIANTS, BaseIndicator
from zicht.errors import quoted

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
_RANGE_WORDS = {
    "greater_than_equal": "at least",
    "greater_than": "greater than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


@dataclass(frozen=True, kw_only=True)
class _Problem:
    """One pydantic error, with the key it names and the model the file validates as."""

    loc: tuple[Any, ...]
    key: str
    kind: str
    ctx: dict[str, Any]
    value: Any
    msg: str
    root: type[BaseModel]


def describe(error: Any, root: type[BaseModel]) -> str:
    """One pydantic error (of :meth:`ValidationError.errors`) as a line naming the key;
    ``root`` is the model of the whole file (for the valid keys of a table)."""
    loc = tuple(error["loc"])
    problem = _Problem(
        loc=loc,
        key=_key(loc),
        kind=error["type"],
        ctx=error.get("ctx") or {},
        value=error.get("input"),
        msg=error["msg"],
        root=root,
    )
    handler = _HANDLERS.get(problem.kind)
    if handler is not None:
        return handler(problem)
    return f"key '{problem.key}': {problem.msg}"


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


def _missing(p: _Problem) -> str:
    if len(p.loc) == 1:
        return f"missing required section [{p.key}]"
    return f"missing required key '{p.key}'"


def _wrong_type(p: _Problem) -> str:
    if len(p.loc) == 1 and p.kind in ("model_type", "tuple_type", "dict_type", "list_type"):
        wanted = (
            "a table"
            if p.kind in ("model_type", "dict_type")
            else f"an array of tables ([[{p.key}]])"
        )
        return f"key '{p.key}' must be {wanted}"
    return f"key '{p.key}' must be {_TYPE_WORDS[p.kind]}, got {quoted(p.value)}"


def _not_a_choice(p: _Problem) -> str:
    choices = [
        c.strip("'") for c in str(p.ctx.get("expected", "")).replace(" or ", ", ").split(", ")
    ]
    hint = difflib.get_close_matches(str(p.value), choices, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"key '{p.key}' is {quoted(p.value)}; must be one of {choices}{suggestion}"


def _no_single_source(p: _Problem) -> str:
    ident = p.value.get("id", "?") if isinstance(p.value, dict) else "?"
    return (
        f"'{p.key}' ({ident}) needs exactly one source: 'table', 'microdata', 'raster', "
        "or 'numerator' and 'denominator'"
    )


def _out_of_range(p: _Problem) -> str:
    limit = next(iter(p.ctx.values()))
    return f"key '{p.key}' must be {_RANGE_WORDS[p.kind]} {limit}"


def _wrong_length(p: _Problem) -> str:
    return (
        f"key '{p.key}' needs at least {p.ctx.get('min_length')} entries"
        if p.kind == "too_short"
        else f"key '{p.key}' has too many entries"
    )


def _invalid_value(p: _Problem) -> str:
    """A validator's own message, with the key in front (or inside, where the message
    names a key of the table itself)."""
    message = str(p.ctx.get("error", p.msg))
    if p.key == "disclosure":
        return f"[disclosure]: {message}"
    if message.startswith("("):
        return f"'{p.key}' {message}"
    if message.startswith(("key '", "missing")):
        prefix = message.split("'")[1]
        return message.replace(f"'{prefix}'", f"'{p.key}.{prefix}'", 1)
    return f"key '{p.key}' {message}"


def _unknown_key(p: _Problem) -> str:
    loc, key = p.loc, p.key
    parent, name = key.rpartition(".")[0], str(loc[-1])
    valid = _valid_keys(loc[:-1], p.root)
    prefix = f"{parent}." if parent else ""
    if loc[0] == "indicators" and len(loc) == 4:
        owner = next((tag for tag, model in VARIANTS.items() if name in model.model_fields), None)
        if owner is not None:
            owner = "numerator" if owner == "ratio" else owner
            return f"key '{key}' only applies with '{owner}'"
    hint = difflib.get_close_matches(name, valid, n=1)
    suggestion = f"; did you mean '{prefix}{hint[0]}'?" if hint else ""
    return f"unknown key '{key}'{suggestion} (valid keys: {', '.join(valid)})"


_HANDLERS: dict[str, Callable[[_Problem], str]] = {
    "extra_forbidden": _unknown_key,
    "missing": _missing,
    **dict.fromkeys(_TYPE_WORDS, _wrong_type),
    "literal_error": _not_a_choice,
    "indicator_source": _no_single_source,
    **dict.fromkeys(_RANGE_WORDS, _out_of_range),
    "too_short": _wrong_length,
    "too_long": _wrong_length,
    "value_error": _invalid_value,
}


def _valid_keys(loc: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    """The keys allowed in the table at ``loc``."""
    model: Any = root
    for i, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if loc[0] == "indicators" and i == 2:
            model = VARIANTS[part]
            continue
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
    return [name for name in model.model_fields]


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
    return BaseIndicator


def unknown_theme(theme: str, themes: list[str], key: str) -> str:
    """A theme that is not one of the run's, with the nearest one."""
    hint = difflib.get_close_matches(theme, themes, n=1)
    return f"key '{key}' is {theme!r}, not a theme of this run ({', '.join(themes)}, or 'none')" + (
        f"; did you mean {hint[0]!r}?" if hint else "; declare it under [[themes]]"
    )


def missing_id(ref: str, ids: list[str], key: str) -> str | None:
    """A reference to an indicator id that does not exist (None if it does), with the
    nearest id."""
    if ref in ids:
        return None
    hint = difflib.get_close_matches(str(ref), ids, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"key '{key}' names {ref!r}, which is not an indicator id{suggestion}"


def missing_ids(refs: Any, ids: list[str], key: str) -> list[str]:
    """:func:`missing_id` of every reference in ``refs``."""
    return [p for p in (missing_id(ref, ids, key) for ref in refs) if p]
