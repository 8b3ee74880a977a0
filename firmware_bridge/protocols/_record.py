"""The layout of a ``binary`` record, read from a profile's ``[options]`` and checked (pydantic).

A record is the sync bytes (if any), then its fields in order, each a numpy dtype with its byte
order: the values (one per channel, or rows x cols of a mat, row by row), optionally the device
time, a sequence number, bytes to skip, and the checksum. The layout is one numpy structured
dtype, so a run of records becomes arrays with one ``frombuffer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field, ValidationError, model_validator

from firmware_bridge.profiles import Profile, refuse
from firmware_bridge.profiles.faults import schema_fault
from firmware_bridge.profiles.rules import OneOf, Text, Whole, show
from firmware_bridge.profiles.schema import Table, broken
from firmware_bridge.protocols._checksums import CHECKSUMS
from firmware_bridge.words import TIME_UNITS

USES = ("values", "time", "seq", "skip", "checksum")
MAX_FIELDS = 64
MAX_RECORD = 1 << 20
DTYPE = Text(r"^[<>]?[uif][1248]$|^[ui]1$",
             'a numpy dtype with its byte order: "<i2", ">u4", "<f4", "u1", ...')
HEX = Text(r"^\s*[0-9A-Fa-f]{2}(\s*[0-9A-Fa-f]{2}){0,15}\s*$",
           '1 to 16 bytes in hex, e.g. "AA" or "A5 5A"')


class FieldTable(Table):
    """One field of a record: what it is, its dtype, and (``skip`` only) how many."""

    use: Annotated[str, OneOf(USES)]
    dtype: Annotated[str, DTYPE] = "u1"
    count: Annotated[int, Whole(1, MAX_RECORD)] = 1

    @model_validator(mode="after")
    def _fits(self) -> FieldTable:
        dt = np.dtype(self.dtype)
        if self.count != 1 and self.use != "skip":
            raise broken("count", f"only a skip field has a count (the values' count is the "
                                  f"profile's channels or rows x cols), not {self.count}")
        if self.use in ("time", "seq", "checksum") and dt.kind not in "ui":
            raise broken("dtype", f"a {self.use} field is an integer, not {show(self.dtype)}")
        if self.use == "checksum" and dt.kind != "u":
            raise broken("dtype", f"a checksum is unsigned, not {show(self.dtype)}")
        return self


class BinaryOptions(Table):
    """``[options]`` of the ``binary`` protocol."""

    sync: Annotated[str | None, HEX] = None
    fields: Annotated[list[FieldTable], Field(min_length=1, max_length=MAX_FIELDS)]
    checksum: Annotated[str | None, OneOf(tuple(CHECKSUMS))] = None
    checksum_from: Annotated[int | None, Whole(0, MAX_RECORD)] = None
    time_unit: Annotated[str, OneOf(tuple(TIME_UNITS))] = "ms"

    @model_validator(mode="after")
    def _one_each(self) -> BinaryOptions:
        uses = [f.use for f in self.fields]
        for use in ("values", "time", "seq", "checksum"):
            if uses.count(use) > 1:
                raise broken("fields", f"one {use} field at most, not {uses.count(use)}")
        if "values" not in uses:
            raise broken("fields", 'needs a field with use = "values"')
        has = "checksum" in uses
        if has != (self.checksum is not None):
            raise broken("checksum", "a checksum and a checksum field go together: give both "
                                     "or neither")
        if self.checksum is not None:
            f = self.fields[uses.index("checksum")]
            size = CHECKSUMS[self.checksum].size
            if np.dtype(f.dtype).itemsize != size:
                raise broken("fields", f"the checksum field of {self.checksum} is {size} "
                                       f"byte(s): u{size}, not {show(f.dtype)}")
        elif self.checksum_from is not None:
            raise broken("checksum_from", "goes with a checksum")
        return self


class _Options(Table):
    options: BinaryOptions


@dataclass(frozen=True)
class Layout:
    """A checked record layout: sizes and offsets, and the structured dtype of one record."""

    sync: bytes
    record: np.dtype  # fields: "values" (n,), and "time", "seq", "checksum" when present
    size: int
    values: np.dtype  # one value's dtype, as sent
    count: int
    checksum: str | None
    covered: tuple[int, int]  # the bytes the checksum covers: [start, end) within a record
    time_scale: float  # seconds per unit of the time field

    @property
    def has(self) -> frozenset[str]:
        return frozenset(self.record.names or ())


def layout(profile: Profile) -> Layout:
    """The record layout ``profile`` describes; a ProfileError of one line if it cannot be."""
    return layout_of(profile, int(np.prod(profile.frame_shape)))


def layout_of(profile: Profile, count: int) -> Layout:
    """The layout of ``profile``'s records holding ``count`` values (the simulator sends as
    many as it has cells)."""
    origin = profile.path or profile.name
    try:
        opts = _Options.model_validate({"options": profile.options}).options
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        if first["type"] == "extra_forbidden":  # say the keys this table takes
            loc = first["loc"]
            table = FieldTable if "fields" in loc[:-1] else BinaryOptions
            known = ", ".join(table.model_fields)
            raise refuse(profile, f"[options] {' '.join(map(str, loc[1:]))}",
                         f"unknown key for binary (known here: {known})") from None
        raise schema_fault(err, origin) from None
    sync = bytes.fromhex(opts.sync) if opts.sync else b""
    names: list[tuple[str, np.dtype] | tuple[str, np.dtype, tuple[int, ...]]] = []
    if sync:
        names.append(("sync", np.dtype(f"V{len(sync)}")))
    skips = 0
    for f in opts.fields:
        dt = np.dtype(f.dtype)
        if f.use == "values":
            names.append(("values", dt, (count,)))
        elif f.use == "skip":
            names.append((f"skip{skips}", np.dtype(f"V{dt.itemsize * f.count}")))
            skips += 1
        else:
            names.append((f.use, dt))
    record = np.dtype(names)  # packed: no padding between fields
    if record.itemsize > MAX_RECORD:
        raise refuse(profile, "[options] fields", f"a record of {record.itemsize} bytes is "
                                                  f"more than {MAX_RECORD}")
    end = record.fields["checksum"][1] if opts.checksum else 0  # type: ignore[index]
    start = len(sync) if opts.checksum_from is None else opts.checksum_from
    if opts.checksum and not start < end:
        raise refuse(profile, "[options] checksum_from", f"must be before the checksum field "
                                                         f"(byte {end}), not {start}")
    values = np.dtype([f.dtype for f in opts.fields if f.use == "values"][0])
    return Layout(sync, record, record.itemsize, values, count, opts.checksum, (start, end),
                  TIME_UNITS[opts.time_unit])
