"""The base of the text decoders: the line splitter, the stream's first line, and the count of
every line and byte.

Every line cut from the stream is exactly one of: a frame, a header line, a blank line, an
undecodable or wrong-size line, or held (not judged yet); every byte is the text of such a
line, a line end, a byte of an overlong line, the unfinished last line, or cut off with it
(docs/wire.md). Subclasses add the byte counts as they judge lines (``_good``, ``_blank``,
``_header_line``, ``_bad``) and ``_tally`` brings the counters up to date after each read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from firmware_bridge.frames import Notice
from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import Decoder
from firmware_bridge.protocols._text import (
    MAX_LINE,
    LineSplitter,
    TextOptions,
    crlf_only,
    line_notice,
)

PARTIAL_FIRST = "partial first line (the stream may have started mid-line)"


def first_time_misfit(field: bytes, t: float, t_next: float) -> str | None:
    """Why the stream's first line, whose first field is its time ``field`` (value ``t``),
    cannot be shown whole by the time ``t_next`` of the line after it (same unit); None when
    it is shown whole.

    A line the stream cut at its start lost leading characters of its first field; without
    them a time of k integer digits is at least 10**k smaller than it was (leading zeros lost
    change nothing). So a next time less than 10**k on from ``t`` shows the field whole, as
    long as the device clock goes forward.
    """
    text = field.strip()
    if text[:1] not in (b"-", b"+") and 0 <= t_next - t < 10 ** len(text.split(b".")[0]):
        return None
    shown = text.decode("latin-1")
    return f"{PARTIAL_FIRST}: its time {shown} is not shortly before the next line's {t_next:g}"


def line_ends(data: bytes, after_cr: bool = False) -> np.ndarray:
    """Where each line of ``data`` ends: its CR, the CR of its CRLF, or its lone LF (the byte
    that lets the splitter cut it); ``after_cr``: a LF first is a torn CRLF's, no end."""
    a = np.frombuffer(data, np.uint8)
    lf = np.flatnonzero(a == 10)
    if b"\r" not in data:
        return lf
    cr = np.flatnonzero(a == 13)
    lone = a[lf - 1] != 13  # a LF opening data is judged by after_cr, just below
    if len(lf) and lf[0] == 0:
        lone[0] = not after_cr
    if not lone.any():  # CRLF and lone CR only: every CR ends a line
        return cr
    return np.sort(np.concatenate((cr, lf[lone])))


def one_line_each(data: bytes, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether each read (``data[starts[i]:ends[i]]``, in a row) holds one line end, its own
    closing LF or CRLF: then each line's time is its read's. Counts and a gather, no search
    for the line ends (what ``line_ends`` does when this cannot tell)."""
    n = len(starts)
    if not n or (ends <= starts).any():
        return False
    a = np.frombuffer(data, np.uint8)
    if np.count_nonzero(a.take(ends - 1) == 10) != n or np.count_nonzero(a == 10) != n:
        return False  # a read not ending with LF, or a LF inside one
    return b"\r" not in data or crlf_only(a, ends)  # each CR the one of its read's CRLF


class FirstLine(NamedTuple):
    """The stream's first line, fitting the layout, held until the next line shows it whole."""

    item: Any  # what the decoder makes of it (its parsed line or row)
    raw: bytes
    host_time: float
    field: bytes  # its first field, the time
    time: float


class TextDecoder(Decoder):
    """A decoder of text lines (subclasses set ``options`` and judge the lines)."""

    options: TextOptions

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self._split = LineSplitter()
        self._first = True  # the first non-empty line may be the tail of one sent before we came
        self._text_ok = 0  # bytes of frame, header and blank lines (line ends: the splitter's)
        self._text_bad = 0  # bytes of undecodable and wrong-size lines
        self._first_wait: FirstLine | None = None

    def line_times(self, data: bytes, starts: np.ndarray,
                   times: np.ndarray) -> np.ndarray | None:
        """For ``feed_reads``: the arrival time of each line the splitter will cut from
        ``data``, that of the read holding its line end (a CR, the CR of a CRLF, or a lone LF);
        None where a line may grow past MAX_LINE (then each read goes alone)."""
        split = self._split
        if split.dropping:
            return None
        times = np.asarray(times, np.float64)
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[-1:] = len(data)
        if not split.after_cr and one_line_each(data, starts, ends):  # an import's reads
            if split.held + int((ends - starts).max()) > MAX_LINE // 2:
                return None
            return times.copy()
        pos = line_ends(data, split.after_cr)
        if len(data) + split.held > MAX_LINE // 2 and np.diff(
                np.concatenate(([-1 - split.held], pos, [len(data)]))).max() > MAX_LINE // 2:
            return None
        return times[np.searchsorted(starts, pos, side="right") - 1]

    @property
    def header_lines(self) -> int:
        """Header lines seen (the first and repeats): not data, not errors."""
        return self.counters.header_lines

    def _first_may_be_partial(self) -> bool:
        """A non-empty line was read: whether it is the stream's first and may be partial (the
        port opened mid-line; with ``first_line = "keep"`` it is taken as whole)."""
        first, self._first = self._first, False
        return first and self.options.first_line == "skip" and not self._split.started_whole

    def _settle_first(self, t_next: float, notices: list[Notice]) -> FirstLine | None:
        """A line with time ``t_next`` follows the held first line: the first line, to go
        before it, when their times show it whole; else None (it is counted as undecodable)."""
        fw, self._first_wait = self._first_wait, None
        if fw is None:
            return None
        why = first_time_misfit(fw.field, fw.time, t_next)
        if why is None:
            return fw
        self._bad(notices, fw.host_time, why, fw.raw)
        return None

    def _unsettled_first(self, notices: list[Notice]) -> None:
        """The stream ends with the first line still held: nothing shows it whole."""
        fw, self._first_wait = self._first_wait, None
        if fw is not None:
            self._bad(notices, fw.host_time, f"{PARTIAL_FIRST}: no line after it to check its "
                      "time", fw.raw)

    def _rest(self, cut: bool) -> bytes:
        """The unfinished last line at the end of the stream; at a cut, none: it is cut off."""
        rest = self._split.take_rest(as_line=not cut)
        if cut:
            self.counters.cut_bytes += len(rest)
            return b""
        return rest

    def _good(self, n: int) -> None:
        """``n`` bytes of frame lines' text (and of blank lines in a bulk run)."""
        self._text_ok += n

    def _blank(self, raw: bytes) -> None:
        self.counters.blank_lines += 1
        self._text_ok += len(raw)

    def _header_line(self, raw: bytes) -> None:
        self.counters.header_lines += 1
        self._text_ok += len(raw)

    def _bad(self, notices: list[Notice], host_time: float, detail: str, raw: bytes,
             counted: bool = False, kind: str = "undecodable") -> None:
        """Count an undecodable (or ``kind = "wrong_size"``) line and say so; ``counted``: its
        bytes already are, as an overlong line's."""
        if kind == "wrong_size":
            self.counters.wrong_size += 1
        else:
            self.counters.undecodable += 1
        if not counted:
            self._text_bad += len(raw)
        notices.append(line_notice(host_time, kind, detail, raw))

    def _overlong(self, head: bytes, host_time: float, notices: list[Notice],
                  counted: bool = False) -> None:
        self._first = False
        self._bad(notices, host_time, f"line longer than {MAX_LINE} bytes", head, counted)

    def _tally(self, held: Iterable[bytes] = ()) -> None:
        """Bring the byte and line counts up to date; ``held``: the whole lines held (besides
        the first line)."""
        c, split = self.counters, self._split
        lines = text = 0
        for raw in held:
            lines += 1
            text += len(raw)
        if self._first_wait is not None:
            lines += 1
            text += len(self._first_wait.raw)
        c.lines = split.lines
        c.decoded_bytes = self._text_ok + split.ends
        c.undecodable_bytes = self._text_bad + split.dropped
        c.held_lines = lines
        c.held_bytes = split.held + text
