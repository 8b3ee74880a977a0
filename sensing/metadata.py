"""Session metadata, modelled once: who/what/when/where of block placement.

Subject codes only, never names. The command line, the web forms, the store and the exports all
read and check metadata through these two models; the words they accept are in
``sensing.vocabulary``. A bad field is a ``MetadataError`` with one line.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from firmware_bridge.errors import MetadataError
from firmware_bridge.words import BLOCK_SIDES
from sensing.vocabulary import (
    ANGLE_RANGE_DEG,
    BODY_WEIGHT_RANGE_KG,
    CATEGORIES,
    LANDMARKS,
    MAX_BLOCKS,
    MAX_NOTE_CHARS,
    POSITIONS,
    SHORT_LEG_SIDES,
    SUBJECT_CODE_ENV,
    SUBJECT_CODE_HINT,
    SUBJECT_CODE_RE,
    check_choice,
)


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _one_of(name: str, allowed: tuple[str, ...]) -> AfterValidator:
    """Checks an optional text field against ``allowed``."""
    return AfterValidator(lambda v: check_choice(name, v, allowed))


# Optional choices; "" from a form means not given.
Position = Annotated[str | None, BeforeValidator(_blank_is_none), _one_of("position", POSITIONS)]
Category = Annotated[str | None, BeforeValidator(_blank_is_none), _one_of("category", CATEGORIES)]
ShortLeg = Annotated[str | None, BeforeValidator(_blank_is_none),
                     _one_of("short_leg", SHORT_LEG_SIDES)]


# Shapes of a date inside a code: 1975-03-14, 19750314, 14.03.1975, 14031975, 14/3/75.
_DATES = (
    (re.compile(r"(?<!\d)((?:19|20)\d\d)[-./_]?(\d\d)[-./_]?(\d\d)(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d\d)[-./_]?(\d\d)[-./_]?((?:19|20)\d\d)(?!\d)"), (3, 2, 1)),
    (re.compile(r"(?<!\d)(\d{1,2})[-./](\d{1,2})[-./](\d\d)(?!\d)"), (3, 2, 1)),
)
_WORD = re.compile(r"[A-Za-z]+")


def _is_date(year: str, month: str, day: str) -> bool:
    y = int(year) + (1900 if len(year) == 2 else 0)
    try:
        date(y, int(month), int(day))
    except ValueError:
        return False
    return True


def subject_code_problem(code: str) -> str | None:
    """Why ``code`` is not a pseudonym, or None when it is one.

    With ``$SOTLOG_SUBJECT_CODE_PATTERN`` set, the code must match that pattern (whole) instead
    of the built-in shape rules; letters, digits and - _ . of at most 32 always apply.
    """
    if not SUBJECT_CODE_RE.match(code):
        return "it may hold only letters, digits and - _ . (at most 32, not starting with - _ .)"
    site = os.environ.get(SUBJECT_CODE_ENV)
    if site:
        try:
            matched = re.fullmatch(site, code)
            return None if matched else f"it does not match the site's pattern {site!r}"
        except re.error as err:
            return f"${SUBJECT_CODE_ENV} is not a valid pattern ({err})"
    for pattern, (y, m, d) in _DATES:
        for found in pattern.finditer(code):
            if _is_date(found.group(y), found.group(m), found.group(d)):
                return f"it holds a date ({found.group(0)})"
    if not any(c.isdigit() for c in code):
        return "it has no digit, as a name has none"
    for word in _WORD.findall(code):
        if _name_like(word):
            return f"{word!r} reads like a name"
    return None


def _name_like(word: str) -> bool:
    """A word shaped like a name: Capitalised or CamelCase from 3 letters, one case from 5
    (short capitals such as SOT or LAB, and short lower-case tags, are codes' own words)."""
    if len(word) < 3:
        return False
    if word.isupper() or word.islower():
        return len(word) >= 5
    return True


def _subject_code(value: str | None) -> str | None:
    if value is not None:
        problem = subject_code_problem(value)
        if problem:
            raise ValueError(f"subject code {value!r} is not a pseudonym: {problem}. Use "
                             f"{SUBJECT_CODE_HINT}")
    return value


def _side(value: str) -> str:
    if value not in BLOCK_SIDES:
        raise ValueError(f"block side must be left or right, not {value!r}")
    return value


def _landmark(value: str) -> str:
    if value not in LANDMARKS:
        raise ValueError(f"block landmark must be one of {', '.join(LANDMARKS)}, not {value!r}")
    return value


def _angle(value: float | None) -> float | None:
    lo, hi = ANGLE_RANGE_DEG
    if value is not None and not lo <= value <= hi:
        raise ValueError(f"block angle must be between {lo:g} and {hi:g} degrees: {value:g}")
    return value


def _body_weight(value: float | None) -> float | None:
    lo, hi = BODY_WEIGHT_RANGE_KG
    if value is not None and not lo <= value <= hi:
        raise ValueError(f"body weight must be {lo:g}-{hi:g} kg, not {value:g}")
    return value


class _Checked(BaseModel):
    """A model whose constructor says what does not fit in one MetadataError line (only for
    models that are never nested: pydantic calls an overridden constructor for nested ones)."""

    model_config = ConfigDict(extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise MetadataError(describe(err)) from None


class Block(BaseModel):
    """One wedge under the pelvis, and the channel (or mat region) that measures it.

    Built from text with ``Block.parse``; inside a SessionMeta its errors join the meta's line.
    """

    model_config = ConfigDict(extra="forbid")

    side: Annotated[str, AfterValidator(_side)]
    landmark: Annotated[str, AfterValidator(_landmark)]
    angle_deg: Annotated[float | None, AfterValidator(_angle)] = None
    channel: Annotated[Annotated[str, Field(max_length=64)] | None,
                       BeforeValidator(_blank_is_none)] = None

    @classmethod
    def parse(cls, spec: str) -> Block:
        """Parse ``SIDE:LANDMARK[:ANGLE]``, e.g. ``left:iliac_crest:30``."""
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise MetadataError(f"block spec {spec!r} must be SIDE:LANDMARK[:ANGLE]")
        fields: dict[str, Any] = {"side": parts[0], "landmark": parts[1]}
        if len(parts) == 3:
            try:
                fields["angle_deg"] = float(parts[2])
            except ValueError:
                raise MetadataError(f"block spec {spec!r}: angle must be a number") from None
        return checked(cls, fields)


class SessionMeta(_Checked):
    """What the practitioner enters about a session. Every field is optional but checked."""

    subject_code: Annotated[str | None, BeforeValidator(_blank_is_none),
                            AfterValidator(_subject_code)] = None
    position: Position = None
    category: Category = None
    short_leg: ShortLeg = None
    body_weight_kg: Annotated[float | None, AfterValidator(_body_weight)] = None
    note: Annotated[str, BeforeValidator(lambda v: "" if v is None else v),
                    Field(max_length=MAX_NOTE_CHARS)] = ""
    blocks: Annotated[list[Block], Field(max_length=MAX_BLOCKS)] = []

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionMeta:
        return checked(cls, d)

    def changed(self, changes: dict[str, Any]) -> SessionMeta:
        """A copy with ``changes`` applied and checked; an unknown field is a MetadataError."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise MetadataError(f"unknown session field(s): {', '.join(unknown)} "
                                f"(known: {', '.join(FIELDS)})")
        return checked(SessionMeta, {**self.as_dict(), **changes})


FIELDS = tuple(SessionMeta.model_fields)
M = TypeVar("M", bound=BaseModel)


def checked(model: type[M], data: dict[str, Any]) -> M:
    """``model`` from ``data``; what does not fit is one MetadataError line naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise MetadataError(describe(err)) from None


def describe(err: ValidationError) -> str:
    """A pydantic error as one line: ``field: problem; field: problem``."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        named = where.rsplit(".", 1)[-1].replace("_", " ") in msg.replace("_", " ")
        parts.append(msg if not where or named else f"{where}: {msg}")
    return "; ".join(parts) or "invalid metadata"
