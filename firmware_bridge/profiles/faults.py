"""A bad profile is one line: the file, the table and key, and what is wrong with the value.

``my.toml: [matrix] rows: must be a whole number from 1 to 256, not "32"``. The schema's
errors are put this way by ``schema_fault``; a protocol says its own with ``refuse``.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles.model import Profile
from firmware_bridge.profiles.rules import RULE_ERROR, show, show_key
from firmware_bridge.profiles.schema import RULE_BROKEN, TABLES, ProfileTable

Loc = tuple[str | int, ...]


def place(loc: Loc) -> str:
    """Where ``loc`` is, as a person finds it in the file: ``[[channels]] #2 scale``."""
    if not loc:
        return ""
    head, *rest = loc
    if head == "channels":
        where = "[[channels]]"
        index = rest[0] if rest else None
        if isinstance(index, int):
            where, rest = f"{where} #{index + 1}", rest[1:]
    elif head in ("serial", "options", "matrix"):
        where = f"[{head}]"
    else:
        where = show_key(str(head))
    return " ".join([where, *(show_key(str(part)) for part in rest)])


def one_line(origin: str, where: str, problem: str) -> ProfileError:
    """The error for ``problem`` at ``where`` (``""``: the whole profile) in ``origin``."""
    return ProfileError(f"{origin}: {where}: {problem}" if where else f"{origin}: {problem}")


def refuse(profile: Profile, where: str, problem: str) -> ProfileError:
    """A protocol's refusal of ``profile``, said at ``where`` (e.g. ``[matrix] rows``)."""
    return one_line(profile.path or profile.name, where, problem)


def _known(loc: Loc) -> str:
    table = next((TABLES[p] for p in loc[:-1] if isinstance(p, str) and p in TABLES),
                 ProfileTable)
    return ", ".join(table.model_fields)


# What each kind of pydantic error says, given the error and its location.
_SAYS: dict[str, Callable[[ErrorDetails, Loc], str]] = {
    RULE_ERROR: lambda e, loc: f"{e['msg']}, not {show(e['input'])}",
    RULE_BROKEN: lambda e, loc: str(e.get("ctx", {})["problem"]),
    "extra_forbidden": lambda e, loc: f"unknown key (known here: {_known(loc)})",
    "missing": lambda e, loc: "is required but missing",
    "model_type": lambda e, loc: f"must be a table, not {show(e['input'])}",
    "dict_type": lambda e, loc: f"must be a table, not {show(e['input'])}",
    "list_type": lambda e, loc: (f"must be tables ([[{loc[-1]}]] each), "
                                 f"not {show(e['input'])}"),
    "too_long": lambda e, loc: (f"at most {e.get('ctx', {})['max_length']} tables, "
                                f"not {e.get('ctx', {})['actual_length']}"),
}


def schema_fault(err: ValidationError, origin: str) -> ProfileError:
    """The first of the schema's complaints as one line, with how many more there are."""
    errors = err.errors(include_url=False)
    first = errors[0]
    loc: Loc = first["loc"]
    if first["type"] == RULE_BROKEN:
        loc = (*loc, *first.get("ctx", {})["key"])
    says = _SAYS.get(first["type"])
    problem = says(first, loc) if says else first["msg"].replace("\n", " ")
    more = len(errors) - 1
    if more:
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return one_line(origin, place(loc), problem)
