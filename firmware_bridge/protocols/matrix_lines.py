"""``matrix_lines``: a pressure mat sending one frame per text line (e.g. Kitronyx CSV logs).

A line holds rows x cols values row by row, optionally with a device-time column, separated by
comma, tab, semicolon or spaces, maybe ending in one extra delimiter. A line with the wrong
number of values is counted as ``wrong_size`` and never reshaped; values outside the profile's
raw range are kept and their frame flagged. docs/protocols-text.md has the details.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from firmware_bridge.frames import FLAG_OUT_OF_RANGE, FrameBlock, Notice
from firmware_bridge.profiles import Profile, refuse
from firmware_bridge.protocols import Decoded
from firmware_bridge.protocols._numbers import LF, number_bytes, parse_block
from firmware_bridge.protocols._text import (
    MAX_LINE,
    detect_delimiter,
    field_names,
    is_text,
    longest_line,
    parse_options,
    segments,
    split_fields,
    strip_trailing,
)
from firmware_bridge.protocols._textdecoder import PARTIAL_FIRST, FirstLine, TextDecoder


class MatrixLinesDecoder(TextDecoder):
    """Decodes one-frame-per-line text into (n, rows, cols) float64 frames."""

    name = "matrix_lines"
    OPTIONS: ClassVar[tuple[str, ...]] = ("delimiter", "header", "time_column", "time_unit",
                                          "first_line")
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        m = profile.matrix
        assert m is not None, "make_decoder checks the profile first"
        self.options = opts = parse_options(profile, self.name, self.OPTIONS, self.DEFAULTS)
        self._shape = (m.rows, m.cols)
        self._nvals = m.rows * m.cols
        self._nfields = self._nvals + (opts.time_column is not None)
        self._range = (m.raw_min, m.raw_max)
        self._delim = opts.delimiter
        self._header: list[str] | None = None
        self._time_idx: int | None = None
        self._value_idx: np.ndarray | slice = slice(None)
        if isinstance(opts.time_column, int):
            self._set_time(opts.time_column)

    def _set_time(self, idx: int) -> None:
        self._time_idx = idx
        if idx == 0:
            self._value_idx = slice(1, None)
        else:
            self._value_idx = np.array([i for i in range(self._nfields) if i != idx])

    @property
    def _ready(self) -> bool:
        """Past the first line, delimiter known, no header awaited: whole runs can go in bulk."""
        return (not self._first and self._first_wait is None and self._delim is not None
                and not self._waiting_for_header)

    @property
    def _waiting_for_header(self) -> bool:
        named_time = isinstance(self.options.time_column, str)
        return self._header is None and (named_time or self.options.header == "yes")

    # -- the Decoder interface ------------------------------------------------------------------

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """A mat, and the options this protocol takes."""
        if profile.matrix is None:
            raise refuse(profile, "[[channels]]", f"{cls.name} needs a [matrix] (it reads a "
                                                  "mat), not [[channels]]")
        parse_options(profile, cls.name, cls.OPTIONS, cls.DEFAULTS)

    @classmethod
    def read_size(cls, profile: Profile) -> None:
        return None

    def feed(self, data: bytes, host_time: float) -> Decoded:
        self.counters.bytes += len(data)
        body, overlong = self._split.feed(data)
        rows: list[np.ndarray] = []
        hosts: list[float] = []
        notices: list[Notice] = []
        pos = 0
        while pos < len(body) and not self._ready:
            end = body.find(LF, pos)  # a body always ends with LF
            self._line(body[pos:end], host_time, rows, hosts, notices)
            pos = end + 1
        rest = body[pos:] if pos else body
        for clean, part in segments(rest, number_bytes(self._delim)) if rest else ():
            arr = self._fast(part) if clean else None
            if arr is not None:
                lines = part.count(LF)
                self.counters.blank_lines += lines - len(arr)
                self._good(len(part) - lines)
                if len(arr):
                    rows.append(arr)
                    hosts.extend([host_time] * len(arr))
            else:
                for raw in part.split(LF)[:-1]:  # a part ends with LF
                    self._line(raw, host_time, rows, hosts, notices)
        if overlong is not None:
            self._overlong(overlong, host_time, notices, counted=True)
        return self._finish(rows, hosts, notices, host_time)

    def flush(self, host_time: float, cut: bool = False) -> Decoded:
        rows: list[np.ndarray] = []
        hosts: list[float] = []
        notices: list[Notice] = []
        rest = self._rest(cut)
        if rest:
            self._line(rest, host_time, rows, hosts, notices)
        self._unsettled_first(notices)
        return self._finish(rows, hosts, notices, host_time)

    # -- decoding -------------------------------------------------------------------------------

    def _fast(self, body: bytes) -> np.ndarray | None:
        """A run of lines at once, when every one is a whole frame; None sends them one by one."""
        if not self._ready or longest_line(body) > MAX_LINE:
            return None
        return parse_block(body, self._delim, self._nfields, checked=True)

    def _line(self, raw: bytes, host_time: float, rows: list[np.ndarray], hosts: list[float],
              notices: list[Notice]) -> None:
        if len(raw) > MAX_LINE:
            self._overlong(raw, host_time, notices)
            return
        delim = self._delim if self._delim is not None else detect_delimiter(raw)
        line = strip_trailing(raw, delim)
        if not line.strip():
            self._blank(raw)
            return
        first = self._first_may_be_partial()
        fields = split_fields(line, delim)
        row = parse_block(raw + LF, delim, len(fields))  # the bulk parser's rules, line by line
        if row is None:
            if len(fields) > 1 and all(is_text(f) for f in fields):
                self._text_line(fields, delim, raw, host_time, notices)
            else:
                self._bad(notices, host_time, "not a line of numbers", raw)
            return
        if first and (len(fields) != self._nfields or self._waiting_for_header):
            self._bad(notices, host_time, PARTIAL_FIRST, raw)
        elif first and self._time_idx == 0:  # held until the next line shows its time whole
            self._first_wait = FirstLine(row, raw, host_time, fields[0], float(row[0, 0]))
        elif self._waiting_for_header:
            self._bad(notices, host_time, "no header yet", raw)
        elif len(fields) != self._nfields:
            got = len(fields) - (self._nfields - self._nvals)
            self._bad(notices, host_time, f"{got} values, a frame has {self._nvals}", raw,
                      kind="wrong_size")
        else:
            if self._delim is None:
                self._delim = delim
            self._take(row, raw, host_time, rows, hosts, notices)

    def _take(self, row: np.ndarray, raw: bytes, host_time: float, rows: list[np.ndarray],
              hosts: list[float], notices: list[Notice]) -> None:
        """A frame line; the waiting first line goes before it when their times show it whole."""
        first = self._settle_first(float(row[0, 0]), notices) if self._first_wait else None
        if first is not None:
            self._take(first.item, first.raw, first.host_time, rows, hosts, notices)
        rows.append(row)
        hosts.append(host_time)
        self._good(len(raw))

    def _text_line(self, fields: list[bytes], delim: bytes | None, raw: bytes,
                   host_time: float, notices: list[Notice]) -> None:
        names = field_names(fields)
        if self._header is not None:
            if names == self._header:
                self._header_line(raw)
            else:
                self._bad(notices, host_time, "text line, not a frame", raw)
            return
        tc = self.options.time_column
        if self.options.header == "no" or len(names) != self._nfields or (
                isinstance(tc, str) and tc not in names):
            self._bad(notices, host_time, "text line, not a frame header", raw)
            return
        self._header = names
        self._header_line(raw)
        if isinstance(tc, str):
            self._set_time(names.index(tc))
        if self._delim is None:
            self._delim = delim

    def _finish(self, rows: list[np.ndarray], hosts: list[float], notices: list[Notice],
                host_time: float) -> Decoded:
        self._tally()
        if not rows:
            return Decoded(None, notices)
        arr = np.concatenate(rows) if len(rows) > 1 else rows[0]
        n = len(arr)
        values = np.ascontiguousarray(arr[:, self._value_idx]).reshape(n, *self._shape)
        device = None
        if self._time_idx is not None:
            device = arr[:, self._time_idx] * self.options.time_scale
        lo, hi = self._range
        outside = ((values < lo) | (values > hi)).reshape(n, -1).any(axis=1)
        flags = np.where(outside, FLAG_OUT_OF_RANGE, 0).astype(np.uint8)
        k = int(outside.sum())
        if k:
            self.counters.out_of_range += k
            bad = values[outside]
            notices.append(Notice(host_time, "out_of_range",
                                  f"{k} frame(s) with values outside [{lo:g}, {hi:g}], kept",
                                  {"frames": k, "min": float(bad.min()),
                                   "max": float(bad.max())}))
        self.counters.frames += n
        return Decoded(FrameBlock.build(values, np.array(hosts), device, flags=flags), notices)
