"""Where the numbers of a ``lines`` device are: the layout one data line implies.

A layout is the field count, the delimiter, and the columns of the device time and of each
channel, each given in the profile by number, by header name, or left out (the next column
holding a number after the previous channel's). The ``lines`` decoder fixes it once two lines
agree (docs/protocols-text.md).
"""

from __future__ import annotations

from typing import NamedTuple


class Layout(NamedTuple):
    """Where the numbers are: fixed once, from the header and the first agreeing lines."""

    nfields: int
    delim: bytes | None
    time_idx: int | None
    chan_idx: tuple[int, ...]
    numeric: bool  # every field was a number: the bulk parser can take whole chunks


def place_columns(values: list[float | None], delim: bytes | None, header: list[str] | None,
                  time_column: int | str | None, columns: list[int | str | None],
                  channel_names: list[str]) -> Layout | str:
    """The layout of a line whose fields hold ``values`` (None: not a number), or why it has
    none: a column named but not in ``header``, past the line's end, or not a number."""
    nf = len(values)
    used: set[int] = set()

    def place(col: int | str | None, what: str, after: int) -> int | str:
        if col is None:
            idx = next((i for i in range(after + 1, nf)
                        if values[i] is not None and i not in used), None)
            return f"no number left for {what}" if idx is None else idx
        if isinstance(col, str):
            if header is None or col not in header:
                return f"the header has no column {col!r}"
            col = header.index(col)
        if col >= nf:
            return f"{nf} field(s), {what} is column {col}"
        if values[col] is None:
            return f"{what} (column {col}) is not a number"
        return col

    time_idx: int | None = None
    if time_column is not None:
        got = place(time_column, "the time", -1)
        if isinstance(got, str):
            return got
        time_idx = got
        used.add(got)
    chans: list[int] = []
    cursor = -1
    for col, name in zip(columns, channel_names, strict=True):
        got = place(col, f"channel {name!r}", cursor)
        if isinstance(got, str):
            return got
        chans.append(got)
        used.add(got)
        cursor = got
    return Layout(nf, delim if nf > 1 else None, time_idx, tuple(chans),
                  all(v is not None for v in values))
