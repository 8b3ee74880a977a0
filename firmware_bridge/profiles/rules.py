"""What a profile key accepts, as pieces of pydantic schema that also say it in words.

A rule goes in a field's ``Annotated[...]``. pydantic validates the value with the rule's core
schema, and a value that fails gets the rule's own words (``must be a whole number from 1 to
256``), whatever check inside tripped, so a person reads what the key takes. Numbers are strict:
``"32"`` is not a number, ``true`` is not 1, ``1.5`` is not a whole number, and NaN or infinity
is never a value.
"""

from __future__ import annotations

import abc
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema
from pydantic_core import core_schema as cs

RULE_ERROR = "profile_value"  # the pydantic error type of a value a rule refused
SHOW_CHARS = 60  # how much of a refused value a message quotes
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # a TOML key that needs no quotes


def show(value: Any) -> str:
    """A value as the TOML that gave it, cut to SHOW_CHARS: ``"32"``, ``[1, "x"]``, ``nan``."""
    text = _toml(value, SHOW_CHARS)
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 3] + "..."


def show_key(key: str) -> str:
    """A key as TOML spells it: bare (``ramp``) or quoted (``"two words"``), so on one line."""
    return key if _BARE_KEY.fullmatch(key) else show(key)


def _toml(value: Any, room: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value[:room], ensure_ascii=False)  # escapes line breaks: one line
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        items = [_toml(v, room) for v in value[: room // 3]]  # enough to fill the room
        return "[" + ", ".join(items) + "]"
    return str(value)


def number(value: float) -> str:
    """A number as a person wrote it, most likely: ``255``, not ``255.0``; ``1.5``; ``1e+30``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


class Rule(abc.ABC):
    """A key's kind of value: ``says`` in words, ``core`` as a pydantic-core schema."""

    @property
    @abc.abstractmethod
    def says(self) -> str:
        """What the key takes, to follow "must be"."""

    @abc.abstractmethod
    def core(self) -> CoreSchema:
        """The pydantic-core schema that validates (and may convert) a value."""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return cs.custom_error_schema(self.core(), custom_error_type=RULE_ERROR,
                                      custom_error_message="must be {says}",
                                      custom_error_context={"says": self.says})


@dataclass(frozen=True)
class Whole(Rule):
    """A whole number from ``lo`` to ``hi``; ``noun`` says what it counts."""

    lo: int
    hi: int
    noun: str = "a whole number"

    @property
    def says(self) -> str:
        return f"{self.noun} from {self.lo} to {self.hi}"

    def core(self) -> CoreSchema:
        return cs.int_schema(strict=True, ge=self.lo, le=self.hi)


def _not_zero(value: float) -> float:
    if value == 0:
        raise ValueError("zero")
    return value


@dataclass(frozen=True)
class Number(Rule):
    """A finite number (an integer is taken as a float): above ``above``, at most ``hi``, and
    not 0 when ``nonzero``."""

    above: float | None = None
    hi: float | None = None
    nonzero: bool = False

    @property
    def says(self) -> str:
        bounds = [f"above {number(self.above)}"] if self.above is not None else []
        bounds += [f"at most {number(self.hi)}"] if self.hi is not None else []
        noun = "a number" if bounds else "a finite number"  # a bound says it is finite
        bounds += ["other than 0"] if self.nonzero else []
        return " ".join([noun, " and ".join(bounds)]).strip()

    def core(self) -> CoreSchema:
        schema = cs.float_schema(strict=True, allow_inf_nan=False, gt=self.above, le=self.hi)
        if self.nonzero:
            return cs.no_info_after_validator_function(_not_zero, schema)
        return schema


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a few strings or numbers (``stopbits = 1.0`` is 1; ``true`` is never 1)."""

    choices: tuple[Any, ...]

    @property
    def says(self) -> str:
        shown = [show(c) for c in self.choices]
        return "one of " + ", ".join(shown)

    def core(self) -> CoreSchema:
        exact = cs.literal_schema(list(self.choices))
        if all(isinstance(c, str) for c in self.choices):
            return exact
        return cs.chain_schema([cs.float_schema(strict=True), exact])


class Flag(Rule):
    """``true`` or ``false`` (not 1, not "yes")."""

    @property
    def says(self) -> str:
        return "true or false"

    def core(self) -> CoreSchema:
        return cs.bool_schema(strict=True)


@dataclass(frozen=True)
class Text(Rule):
    """A string matching ``pattern``, described by ``words``."""

    pattern: str
    words: str

    @property
    def says(self) -> str:
        return self.words

    def core(self) -> CoreSchema:
        return cs.str_schema(strict=True, pattern=self.pattern)


@dataclass(frozen=True)
class Either(Rule):
    """A value that one of ``rules`` accepts (tried in order)."""

    rules: tuple[Rule, ...]

    @property
    def says(self) -> str:
        return ", or ".join(r.says for r in self.rules)

    def core(self) -> CoreSchema:
        return cs.union_schema([r.core() for r in self.rules])


def _both(value: float | tuple[float, float]) -> tuple[float, float]:
    return value if isinstance(value, tuple) else (value, value)


@dataclass(frozen=True)
class OneOrTwo(Rule):
    """One value ``rule`` accepts, for both axes, or ``[row, col]``: read as a (row, col) pair."""

    rule: Rule

    @property
    def says(self) -> str:
        return f"{self.rule.says}, or two of them [row, col]"

    def core(self) -> CoreSchema:
        one = self.rule.core()
        either = cs.union_schema([one, cs.tuple_schema([one, one])])
        return cs.no_info_after_validator_function(_both, either)
