"""``lines``: delimited text from load-cell sketches (HX711, NAU7802) and SparkFun OpenScale.

One line is one sample: an optional device-time column and one column per channel, separated by
comma, tab, semicolon or spaces. The column layout is learnt from the stream, never guessed per
line: the first two lines that agree on it (field count and which columns hold the channels)
fix it, then every line, the ones held back meanwhile included, must fit it or is counted as
undecodable. docs/protocols-text.md
tells the whole story, option by option.
"""

from __future__ import annotations

import re
from typing import NamedTuple, cast

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile, refuse, show
from firmware_bridge.protocols import Decoded
from firmware_bridge.protocols._layout import Layout, place_columns
from firmware_bridge.protocols._linesbulk import BulkLines, Times, at_line
from firmware_bridge.protocols._numbers import (
    LF,
    NUMBER_CHARS,
    number,
    number_bytes,
)
from firmware_bridge.protocols._output import Output
from firmware_bridge.protocols._text import (
    MAX_LINE,
    detect_delimiter,
    field_names,
    is_text,
    parse_options,
    segments,
    split_fields,
    strip_trailing,
)
from firmware_bridge.protocols._textdecoder import PARTIAL_FIRST, FirstLine, TextDecoder

OPTIONS = ("delimiter", "header", "time_column", "time_unit", "prefix", "first_line")
MAX_HELD = 16  # data lines kept while the layout is still unknown
FEW_BYTES = 320  # lines this short in all (a read, or a piece of one): plain Python is faster
_AUTO_PREFIX = re.compile(rb"^[A-Za-z][^:=,;\t]*[:=][ \t]*")  # "Reading: ", "weight = "


class _Line(NamedTuple):
    """A line held back until it is judged: a layout candidate or a header candidate."""

    raw: bytes
    host_time: float
    fields: list[bytes]
    values: list[float | None]
    delim: bytes | None
    layout: Layout | None
    first: bool = False  # the stream's first line, kept only once it is shown whole


class LinesDecoder(TextDecoder, BulkLines):
    """Decodes delimited text lines into (n, channels) float64 frames."""

    name = "lines"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.options = opts = parse_options(profile, "lines", OPTIONS)
        self._columns = [c.column for c in profile.channels]
        self._names = [c for c in (opts.time_column, *self._columns) if isinstance(c, str)]
        if opts.prefix == "auto":
            self._prefix: re.Pattern[bytes] | None = _AUTO_PREFIX
        elif opts.prefix:
            self._prefix = re.compile(re.escape(opts.prefix.encode("utf-8")))
        else:
            self._prefix = None
        self._delim = opts.delimiter
        self._header: list[str] | None = None
        self._layout: Layout | None = None
        self._held: list[_Line] = []  # data lines waiting until two agree on the layout
        self._header_candidate: _Line | None = None  # text line waiting for data to confirm it
        self.few_bytes = FEW_BYTES  # reads up to this long are read in plain Python
        # set once the layout is fixed and all numbers: then clean lines go in bulk
        self._bulk = False
        self._bulk_delim: bytes | None = None
        self._bulk_bytes = b""
        # a literal prefix that a line of numbers could start with keeps every line on _line
        self._prefix_in_numbers = bool(opts.prefix) and opts.prefix != "auto" and not (
            opts.prefix.encode("utf-8").translate(None, NUMBER_CHARS + b",;\t"
                                                  + (opts.delimiter or b"")))

    # -- the Decoder interface ------------------------------------------------------------------

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """Load cells, the options, and columns that can be found: by a header name only when
        a header may come, and no column given twice."""
        if profile.matrix is not None or not profile.channels:
            raise refuse(profile, "[matrix]" if profile.matrix else "[[channels]]",
                         "lines reads load cells: it needs [[channels]], not a [matrix] "
                         "(matrix_lines reads a mat)")
        opts = parse_options(profile, "lines", OPTIONS)
        taken = {opts.time_column: "the time column"} if opts.time_column is not None else {}
        for i, ch in enumerate(profile.channels):
            where, col = f"[[channels]] #{i + 1} column", ch.column
            if isinstance(col, str) and opts.header == "no":
                raise refuse(profile, where, f"the header name {show(col)} needs [options] "
                                             'header = "auto" or "yes", not "no"')
            if col is None:
                continue
            if col in taken:
                raise refuse(profile, where, f"{show(col)} is {taken[col]} too; two values "
                                             "cannot share a column")
            taken[col] = f"channel #{i + 1}'s column"

    @classmethod
    def read_size(cls, profile: Profile) -> None:
        return None

    def feed(self, data: bytes, host_time: float) -> Decoded:
        return self._feed(data, host_time, None)

    def feed_reads(self, data: bytes, starts: np.ndarray, times: np.ndarray) -> Decoded:
        """Consecutive reads in bulk, each line stamped with the time of the read its line end
        arrived in (``TextDecoder.line_times``)."""
        at = self.line_times(data, starts, times)
        if at is None:
            return super().feed_reads(data, starts, times)
        return self._feed(data, float(times[-1]) if len(times) else 0.0, at)

    def _feed(self, data: bytes, host_time: float, at: np.ndarray | None) -> Decoded:
        """``at``: the time of each line cut from ``data``, else every line's is ``host_time``."""
        host_time = float(host_time)
        self.counters.bytes += len(data)
        before = self._split.lines
        body, overlong = self._split.feed(data)
        if not body and overlong is None:
            self._tally(self._held_lines())
            return Decoded()
        out = Output()
        pos = k = 0
        while pos < len(body) and not self._bulk:
            end = body.find(LF, pos)  # a body always ends with LF
            self._line(body[pos:end], host_time if at is None else float(at[k]), out)
            pos, k = end + 1, k + 1
        if pos < len(body):  # the layout is known and all numbers: bulk runs, odd lines alone
            rest = body[pos:] if pos else body
            times: Times = host_time if at is None else at[k:]
            if len(rest) <= self.few_bytes:
                self._few(rest, times, out)
            else:
                whole = self._split.lines - before if pos == 0 else None  # lines in body
                for clean, part in segments(rest, self._bulk_bytes):
                    n = whole if len(part) == len(body) else None
                    part_times: Times = times
                    if not isinstance(times, float):
                        n = part.count(LF) if n is None else n
                        part_times, times = times[:n], times[n:]
                    if clean:
                        self._run(part, part_times, out, n, short=at is not None)
                    else:
                        for i, raw in enumerate(part.split(LF)[:-1]):  # a part ends with LF
                            self._line(raw, at_line(part_times, i), out)
        if overlong is not None:
            self._overlong(overlong, host_time, out.notices, counted=True)
        return self._finish(out)

    def flush(self, host_time: float, cut: bool = False) -> Decoded:
        out = Output()
        rest = self._rest(cut)
        if rest:
            self._line(rest, host_time, out)
        if self._layout is None and self._held:
            if cut:  # the stream stopped before two lines agreed: nothing is decided for them
                held, self._held = self._held, []
                for ln in held:
                    self._reject(ln, "cut off before a second line confirmed its columns", out)
            else:  # no second line came: the first one decides
                first = self._held[0].layout
                assert first is not None
                self._adopt(first, out)
        self._unsettled_first(out.notices)
        if self._header_candidate is not None:
            hc, self._header_candidate = self._header_candidate, None
            self._bad(out.notices, hc.host_time, "text line, not data", hc.raw)
        return self._finish(out)

    # -- line by line ---------------------------------------------------------------------------

    def _line(self, raw: bytes, host_time: float, out: Output) -> None:
        if len(raw) > MAX_LINE:
            self._overlong(raw, host_time, out.notices)
            return
        line = raw
        labelled = False  # a label came first: a cut, if any, fell inside it
        if self._prefix is not None:
            m = self._prefix.match(line)
            if m and line[m.end():].strip():  # a label alone ("Readings:") stays a text line
                line, labelled = line[m.end():], True
        delim = self._delim if self._delim is not None else detect_delimiter(line)
        line = strip_trailing(line, delim)
        if not line.strip():
            if labelled:  # "weight=," is no reading, and no blank line either
                self._first = False
                self._bad(out.notices, host_time, "a label without a value", raw)
            else:
                self._blank(raw)
            return
        first = self._first_may_be_partial() and not labelled
        fields = split_fields(line, delim)
        values = [number(f) for f in fields]
        if all(v is None and is_text(f) for f, v in zip(fields, values, strict=True)):
            self._text_line(_Line(raw, host_time, fields, values, delim, None), out)
            return
        ln = _Line(raw, host_time, fields, values, delim, None, first)
        for i, (f, v) in enumerate(zip(fields, values, strict=True)):
            if v is None and not is_text(f):
                self._reject(ln, f"field {i + 1} is not a number", out)
                return
        self._data_line(ln, out)

    def _reject(self, ln: _Line, reason: str, out: Output) -> None:
        """Count ``ln`` as undecodable: a partial first line, when it is the first."""
        self._bad(out.notices, ln.host_time, f"{PARTIAL_FIRST}: {reason}" if ln.first else reason,
                  ln.raw)

    def _data_line(self, ln: _Line, out: Output) -> None:
        if self._layout is not None:
            self._judge(ln, out)
            return
        found = self._resolve(ln)
        if isinstance(found, str):
            self._reject(ln, found, out)
            return
        self._held.append(ln._replace(layout=found))
        if sum(h.layout is not None and h.layout[:4] == found[:4] for h in self._held) >= 2:
            self._adopt(found, out)
        elif len(self._held) > MAX_HELD:
            old = self._held.pop(0)
            self._reject(old, "no two lines agree on the columns", out)

    def _judge(self, ln: _Line, out: Output) -> None:
        """Emit a line that fits the layout; count one that does not. The stream's first line,
        fitting, waits for the next line to show its time whole (``_emit``)."""
        lay = self._layout
        assert lay is not None
        if len(ln.fields) != lay.nfields:
            why = f"{len(ln.fields)} field(s), expected {lay.nfields} (lines glued or cut?)"
        elif lay.delim is not None and ln.delim != lay.delim:
            why = "another delimiter than the lines before"
        elif any(ln.values[i] is None for i in (*lay.chan_idx, *self._time_idx(lay))):
            why = "text where a channel or the time should be"
        elif ln.first and lay.time_idx != 0:
            why = "no time in the first column to show the line whole"
        elif ln.first:
            assert ln.values[0] is not None  # the time column, checked
            self._first_wait = FirstLine(ln, ln.raw, ln.host_time, ln.fields[0], ln.values[0])
            self._bulk = False  # the next line comes through _emit, which settles this one
            return
        else:
            self._emit(ln, out)
            return
        self._reject(ln, why, out)

    def _text_line(self, ln: _Line, out: Output) -> None:
        names = field_names(ln.fields)
        if self._header is not None:
            if names == self._header:
                self._header_line(ln.raw)
            else:
                self._bad(out.notices, ln.host_time, "text line, not data", ln.raw)
            return
        mode = self.options.header
        if mode == "no" or len(names) < 2 and not self._names:
            self._bad(out.notices, ln.host_time, "text line, not data", ln.raw)
            return
        if self._names:  # the header is the line that names the columns asked for
            if all(n in names for n in self._names):
                self._take_header(ln)
            else:
                self._bad(out.notices, ln.host_time, "text line without the named columns", ln.raw)
            return
        lay = self._layout
        if lay is not None or mode == "yes":  # data already fixed the layout, or told to expect
            if lay is None or len(names) == lay.nfields:
                self._take_header(ln)
            else:
                self._bad(out.notices, ln.host_time, "text line, not data", ln.raw)
            return
        if self._header_candidate is not None:  # the text before it was preamble
            old = self._header_candidate
            self._bad(out.notices, old.host_time, "text line, not data", old.raw)
        self._header_candidate = ln

    # -- layout ---------------------------------------------------------------------------------

    def _resolve(self, ln: _Line) -> Layout | str:
        """The layout this line implies, or why it cannot be decoded."""
        if self._names and self._header is None:
            return f"no header yet naming {', '.join(repr(n) for n in self._names)}"
        if self.options.header == "yes" and self._header is None:
            return "no header yet"
        nf = len(ln.fields)
        if self._header is not None and nf != len(self._header):
            return f"{nf} field(s), the header has {len(self._header)}"
        return place_columns(ln.values, ln.delim, self._header, self.options.time_column,
                             self._columns, [ch.name for ch in self.profile.channels])

    def _adopt(self, lay: Layout, out: Output) -> None:
        """Fix the layout, settle the header candidate, then judge the lines held so far."""
        self._layout = lay
        if self._delim is None and lay.delim is not None:
            self._delim = lay.delim
        hc, self._header_candidate = self._header_candidate, None
        if hc is not None:
            if len(hc.fields) == lay.nfields and hc.delim == lay.delim:
                self._take_header(hc)
            else:
                self._bad(out.notices, hc.host_time, "text line, not data", hc.raw)
        held, self._held = self._held, []
        self._set_bulk()
        for ln in held:
            self._judge(ln, out)

    def _take_header(self, ln: _Line) -> None:
        self._header = field_names(ln.fields)
        self._header_line(ln.raw)
        if self._delim is None and len(ln.fields) > 1:
            self._delim = ln.delim
            self._set_bulk()

    def _set_bulk(self) -> None:
        lay = self._layout
        if lay is None:
            return
        self._bulk = lay.numeric and not self._prefix_in_numbers and self._first_wait is None
        self._bulk_delim = self._delim if self._delim is not None else lay.delim
        self._bulk_bytes = number_bytes(self._bulk_delim)

    @staticmethod
    def _time_idx(lay: Layout) -> tuple[int, ...]:
        return () if lay.time_idx is None else (lay.time_idx,)

    # -- output ---------------------------------------------------------------------------------

    def _emit(self, ln: _Line, out: Output) -> None:
        if self._first_wait is not None:  # the first line goes first, if this one shows it whole
            t_next = ln.values[0]
            assert t_next is not None  # the time column, checked
            first = self._settle_first(t_next, out.notices)
            self._set_bulk()
            if first is not None:
                self._emit(first.item, out)
        lay = self._layout
        assert lay is not None
        vals = cast(list[float], ln.values)  # the layout's columns were checked to be numbers
        out.rows.append([vals[i] for i in lay.chan_idx])
        t = vals[lay.time_idx] if lay.time_idx is not None else None
        out.times.append(t * self.options.time_scale if t is not None else float("nan"))
        out.hosts.append(ln.host_time)
        self._good(len(ln.raw))

    def _held_lines(self) -> list[bytes]:
        """The whole lines held, not judged yet (besides the first line)."""
        if not self._held and self._header_candidate is None:
            return []
        return [ln.raw for ln in (*self._held, self._header_candidate) if ln]

    def _finish(self, out: Output) -> Decoded:
        self._tally(self._held_lines())
        out.close_rows()
        if not out.blocks:
            return Decoded(None, out.notices)
        block = FrameBlock.concat(out.blocks)
        self.counters.frames += len(block)
        return Decoded(block, out.notices)
