"""The profile TOML schema: one pydantic model per table, every key typed and bounded.

Unknown keys are refused at every level. A key left out takes the default of the dataclass it
fills (``model.py``), so the two never disagree. What a protocol alone knows (its options, the
shape it sends) is checked by the protocol: ``firmware_bridge.protocols.check_profile``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from firmware_bridge.profiles.model import Channel, Matrix, Profile, SerialSettings
from firmware_bridge.profiles.rules import (
    Either,
    Flag,
    Number,
    OneOf,
    OneOrTwo,
    Text,
    Whole,
    number,
    show,
)
from firmware_bridge.words import BLOCK_SIDES, FORCE_UNITS, OTHER_UNITS, PROTOCOLS

RULE_BROKEN = "profile_rule"  # the pydantic error type of a rule between keys
MAX_SENSELS = 256  # rows or cols of a mat: the largest mats sotlog knows are 64x32 and 48x48
MAX_CHANNELS = 64
MAX_COLUMN = 4095
MAX_RATE_HZ = 10_000.0
MAX_STALL_S = 3600.0  # a silence longer than an hour is not a stall to wait for
MAX_PITCH_MM = 1000.0
# numpy dtype names of raw values: (lowest, highest) an integer type holds; None for a float
DTYPES: dict[str, tuple[int, int] | None] = {
    **{f"uint{b}": (0, 2**b - 1) for b in (8, 16, 32, 64)},
    **{f"int{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"float{b}": None for b in (16, 32, 64)},
}
UNITS = (*FORCE_UNITS, *OTHER_UNITS)

_LINE = r"[^\x00-\x1f\x7f]"  # a character that keeps text on one line
PROFILE_NAME = Text(rf"^[^\s\x00-\x1f\x7f]{_LINE}{{0,63}}$",
                    "a name of 1 to 64 characters on one line")
DESCRIPTION = Text(rf"^{_LINE}{{0,300}}$", "one line of at most 300 characters")
CHANNEL_NAME = Text(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$",
                    "a name of up to 32 letters, digits, _ or -, starting with a letter")
HEADER_NAME = Text(rf"^[^\s\x00-\x1f\x7f]({_LINE}{{0,198}}[^\s\x00-\x1f\x7f])?$",
                   "a header name (one line, no spaces at its ends)")
COLUMN = Either((Whole(0, MAX_COLUMN, "a 0-based column number"), HEADER_NAME))
FINITE = Number()
SIDE = OneOf(BLOCK_SIDES)
# The image edges beside each one: where the patient's left can be, given the head's edge.
BESIDE = {"top": ("left", "right"), "bottom": ("left", "right"), "left": ("top", "bottom"),
          "right": ("top", "bottom")}
EDGE = OneOf(tuple(BESIDE))
UNIT = OneOf(UNITS)


def broken(key: str | tuple[str | int, ...], problem: str) -> PydanticCustomError:
    """A rule between keys, broken at ``key`` (below the table that checks it)."""
    return PydanticCustomError(RULE_BROKEN, "{problem}",
                               {"key": key if isinstance(key, tuple) else (key,),
                                "problem": problem})


class Table(BaseModel):
    """A TOML table of a profile: only the keys declared, each checked by its rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SerialTable(Table):
    """``[serial]``."""

    baudrate: Annotated[int, Whole(300, 12_000_000)] = SerialSettings.baudrate
    bytesize: Annotated[int, OneOf((5, 6, 7, 8))] = SerialSettings.bytesize
    parity: Annotated[str, OneOf(("N", "E", "O", "M", "S"))] = SerialSettings.parity
    stopbits: Annotated[float, OneOf((1, 1.5, 2))] = SerialSettings.stopbits
    rtscts: Annotated[bool, Flag()] = SerialSettings.rtscts
    dsrdtr: Annotated[bool, Flag()] = SerialSettings.dsrdtr


class ChannelTable(Table):
    """One ``[[channels]]`` table."""

    name: Annotated[str, CHANNEL_NAME]
    column: Annotated[int | str | None, COLUMN] = None
    unit: Annotated[str, UNIT] = Channel.unit
    block: Annotated[str | None, SIDE] = None
    scale: Annotated[float, Number(nonzero=True)] = Channel.scale
    offset: Annotated[float, FINITE] = Channel.offset


class MatrixTable(Table):
    """``[matrix]``: a mat's geometry, orientation and raw range."""

    rows: Annotated[int, Whole(1, MAX_SENSELS)]
    cols: Annotated[int, Whole(1, MAX_SENSELS)]
    pitch_mm: Annotated[tuple[float, float],
                        OneOrTwo(Number(above=0, hi=MAX_PITCH_MM))] = Matrix.pitch_mm
    raw_min: Annotated[float, FINITE] = Matrix.raw_min
    raw_max: Annotated[float, FINITE] = Matrix.raw_max
    head_edge: Annotated[str, EDGE] = Matrix.head_edge
    patient_left: Annotated[str, EDGE] = Matrix.patient_left
    unit: Annotated[str, UNIT] = Matrix.unit
    scale: Annotated[float, Number(nonzero=True)] = Matrix.scale
    offset: Annotated[float, FINITE] = Matrix.offset
    noise_threshold: Annotated[float, FINITE] = Matrix.noise_threshold
    dtype: Annotated[str, OneOf(tuple(DTYPES))] = Matrix.dtype

    @model_validator(mode="after")
    def _beside(self) -> MatrixTable:
        """The patient's left is an edge beside the head's, so the two give a plane."""
        beside = BESIDE[self.head_edge]
        if self.patient_left not in beside:
            raise broken("patient_left", f"must be an edge beside head_edge "
                                         f"{show(self.head_edge)}: {' or '.join(map(show, beside))}"
                                         f", not {show(self.patient_left)}")
        return self

    @model_validator(mode="after")
    def _raw_range(self) -> MatrixTable:
        """The raw range is a range, the dtype can hold it, and some values are above noise."""
        holds = DTYPES[self.dtype]
        for key in ("raw_min", "raw_max"):
            value = getattr(self, key)
            if holds is not None and not holds[0] <= value <= holds[1]:
                raise broken(key, f"must fit dtype {self.dtype} ({holds[0]} to {holds[1]}), "
                                  f"not {number(value)}")
        if not self.raw_min < self.raw_max:
            raise broken("raw_min", f"must be below raw_max ({number(self.raw_max)}), "
                                    f"not {number(self.raw_min)}")
        if not self.noise_threshold < self.raw_max:
            raise broken("noise_threshold", f"must be below raw_max ({number(self.raw_max)}), "
                                            f"not {number(self.noise_threshold)}")
        return self


class ProfileTable(Table):
    """The whole document: the top-level keys and the tables under them."""

    name: Annotated[str, PROFILE_NAME]
    protocol: Annotated[str, OneOf(tuple(PROTOCOLS))]
    description: Annotated[str, DESCRIPTION] = ""
    nominal_rate_hz: Annotated[float | None, Number(above=0, hi=MAX_RATE_HZ)] = None
    stall_after_s: Annotated[float | None, Number(above=0, hi=MAX_STALL_S)] = None
    serial: SerialTable = SerialTable()
    options: dict[str, Any] = Field(default_factory=dict)  # the protocol checks them
    channels: Annotated[list[ChannelTable], Field(max_length=MAX_CHANNELS)] = Field(
        default_factory=list)
    matrix: MatrixTable | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ProfileTable:
        """A mat or load cells, never both; channel names unique (whatever their case)."""
        if self.matrix is not None and self.channels:
            raise broken("matrix", "a profile has a [matrix] (a mat) or [[channels]] (load "
                                   "cells), not both")
        if self.matrix is None and not self.channels:
            raise broken((), "a profile needs [[channels]] (load cells) or a [matrix] (a mat)")
        first: dict[str, int] = {}
        for i, ch in enumerate(self.channels):
            j = first.setdefault(ch.name.casefold(), i)
            if j != i:
                raise broken(("channels", i, "name"),
                             f"{show(ch.name)} is channel #{j + 1}'s name already "
                             "(names are unique, whatever their case)")
        return self

    def profile(self, source: str, path: str) -> Profile:
        """The Profile this document describes; ``source`` is its TOML text."""
        return Profile(
            name=self.name, protocol=self.protocol, description=self.description,
            serial=SerialSettings(**dict(self.serial)), options=dict(self.options),
            channels=tuple(Channel(**dict(c)) for c in self.channels),
            matrix=None if self.matrix is None else Matrix(**dict(self.matrix)),
            nominal_rate_hz=self.nominal_rate_hz, stall_after_s=self.stall_after_s,
            source=source, path=path,
        )


# The table a location's keys belong to, by its first part (channels: by any channel's).
TABLES: dict[str, type[Table]] = {"serial": SerialTable, "channels": ChannelTable,
                                  "matrix": MatrixTable}
