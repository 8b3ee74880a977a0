"""Shared pieces of the text protocols: line cutting, clean runs, delimiters, fields, options.

Every text decoder reads the stream the same way: lines end at CR, LF or CRLF (mixed freely),
empty lines carry nothing, a line longer than MAX_LINE bytes is undecodable, and runs of lines
made only of number bytes are read in bulk (``_numbers.parse_block``), which accepts exactly the
numbers the per-line reader (``_numbers.number``) accepts, so the frames never depend on how
the bytes were chunked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge import native
from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import Notice
from firmware_bridge.profiles import TIME_UNITS, Profile, show_key
from firmware_bridge.protocols._numbers import LF, number

CR, CRLF = b"\r", b"\r\n"
MAX_LINE = 1 << 20  # bytes; a longer line is undecodable (binary noise, a wrong baud rate)
NOTICE_CHARS = 200  # how much of a bad line a Notice carries
AUTO_DELIMITERS = (b"\t", b";", b",", b" ")  # tried in this order on each line while "auto"
DELIMITER_NAMES = {"tab": "\t", "space": " ", "comma": ",", "semicolon": ";"}
HEADER_MODES = ("auto", "yes", "no")
FIRST_LINE_MODES = ("skip", "keep")
_LETTER = re.compile(rb"[A-Za-z]")
_CR_TO_LF = bytes.maketrans(CR, LF)


class LineSplitter:
    """Cuts a byte stream into whole lines, whatever the chunking.

    ``feed`` returns the whole lines that arrived, each ended by one LF (a CRLF or a lone CR
    becomes LF, even a CRLF torn between two reads), and the head of a line that grew past
    MAX_LINE bytes without an end (reported once; the rest of that line is dropped when its
    end arrives).

    It accounts for every byte it is fed: ``ends`` counts the line-end bytes (CR and LF as
    received), ``dropped`` the bytes of overlong lines, ``held`` is the unfinished line it
    holds, and the lines it returns carry the rest; ``lines`` counts them, an overlong one too
    and an unfinished last line taken as one (``take_rest``).
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._dropping = False
        self.started_whole = False  # the stream's first byte ended a line: its first line is whole
        self._seen = False
        self._after_cr = False  # the last read ended with CR: a LF opening the next is its pair
        self.ends = 0
        self.dropped = 0
        self.lines = 0

    @property
    def held(self) -> int:
        """Bytes of the unfinished line."""
        return len(self._pending)

    @property
    def after_cr(self) -> bool:
        """The last read ended with CR: a LF opening the next one is its pair, no line end."""
        return self._after_cr

    @property
    def dropping(self) -> bool:
        """Inside an overlong line: its bytes are dropped up to its end."""
        return self._dropping

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        if self._after_cr and data:
            self._after_cr = False
            if data[:1] == LF:
                data = data[1:]
                self.ends += 1
        if not self._seen and data:
            self._seen = True
            self.started_whole = data[:1] in (CR, LF)
        cut = max(data.rfind(LF), data.rfind(CR))
        if cut < 0:
            if self._dropping:
                self.dropped += len(data)
                return b"", None
            self._pending += data
            if len(self._pending) > MAX_LINE:
                head = bytes(self._pending[:NOTICE_CHARS])
                self.dropped += len(self._pending)
                self.lines += 1
                self._pending.clear()
                self._dropping = True
                return b"", head
            return b"", None
        head_part = data[: cut + 1]
        if self._dropping:  # the end of an overlong line: drop up to its terminator
            self._dropping = False
            first_end = min(i for i in (head_part.find(LF), head_part.find(CR)) if i >= 0)
            self.dropped += first_end
            self.ends += 1
            head_part = head_part[first_end + 1 :]
            self._pending.clear()
        body = bytes(self._pending) + head_part if self._pending else head_part
        self._pending = bytearray(data[cut + 1 :])
        if not body:
            return b"", None
        if body[-1:] == CR:
            self._after_cr = cut == len(data) - 1
            tidy = one_line_end(body[:-1]) + LF
        else:
            tidy = one_line_end(body)
        # tidy is the lines' text with one LF each, so the line ends were what it lost, plus LFs
        lines = count_lf(tidy)
        self.lines += lines
        self.ends += len(body) - len(tidy) + lines
        return tidy, None

    def take_rest(self, as_line: bool = True) -> bytes:
        """The bytes of an unfinished last line (end of stream), counted as a line if
        ``as_line``; empties the buffer."""
        rest = b"" if self._dropping else bytes(self._pending)
        self._pending.clear()
        self._dropping = False
        self.lines += as_line and bool(rest)
        return rest


def one_line_end(body: bytes) -> bytes:
    """``body`` with each CRLF and each lone CR made one LF."""
    if CR not in body:
        return body
    if native.ctext is not None:  # one C pass: each CR of a CRLF out, or None for a lone CR
        tidy = native.ctext.crlf_to_lf(body)
        if tidy is not None:
            return tidy
    if len(body) < 256:
        if body.count(CR) == body.count(CRLF):
            return body.translate(None, CR)
    else:  # counting a frequent pair is slow, and so is deleting bytes one by one: vectors
        a = np.frombuffer(body, np.uint8)
        cr = a == 13
        lone = cr[:-1] & (a[1:] != 10)
        if body[-1:] != CR and not lone.any():
            return a[~cr].tobytes()
    return body.replace(CRLF, LF).translate(_CR_TO_LF)


def crlf_only(a: np.ndarray, ends: np.ndarray) -> bool:
    """Whether each CR of the bytes ``a`` is the CR of a CRLF, ``ends`` being one past each LF
    of them: a count and a gather, not a search for the CRs. Asked only of bytes holding a CR
    (with none, it says whether there is no LF either)."""
    return np.count_nonzero(a == 13) == len(ends) and np.count_nonzero(
        a.take(np.maximum(ends - 2, 0)) == 13) == len(ends)


def count_lf(body: bytes) -> int:
    """How many LFs ``body`` holds (a vector count for long ones: bytes.count is slower)."""
    if len(body) < 4096:
        return body.count(LF)
    return int(np.count_nonzero(np.frombuffer(body, np.uint8) == 10))


def longest_line(body: bytes) -> int:
    """Length of the longest LF-ended line in ``body`` (a vector pass, no Python loop)."""
    if len(body) <= MAX_LINE:
        return len(body)
    ends = np.flatnonzero(np.frombuffer(body, np.uint8) == 10)
    return int(np.diff(ends, prepend=-1).max()) - 1 if len(ends) else len(body)


def segments(body: bytes, allowed: bytes) -> list[tuple[bool, bytes]]:
    """Cut ``body`` into runs of lines holding only ``allowed`` bytes (True) and the other lines
    (False), in order; the Python loop runs over the other lines only."""
    if native.only(body, allowed):
        return [(True, body)]
    arr = np.frombuffer(body, np.uint8)
    ok = np.zeros(256, bool)
    ok[np.frombuffer(allowed, np.uint8)] = True
    ends = np.flatnonzero(arr == 10)
    bad_lines = np.unique(np.searchsorted(ends, np.flatnonzero(~ok[arr])))
    out: list[tuple[bool, bytes]] = []
    pos = 0
    for li in bad_lines.tolist():
        start = int(ends[li - 1]) + 1 if li else 0
        end = int(ends[li]) + 1 if li < len(ends) else len(body)
        if start > pos:
            out.append((True, body[pos:start]))
        out.append((False, body[start:end]))
        pos = end
    if pos < len(body):
        out.append((True, body[pos:]))
    return out


def is_text(field: bytes) -> bool:
    """A label or unit (holds a letter and is not a number), e.g. ``kg`` or ``R0C0``."""
    return _LETTER.search(field) is not None and number(field) is None


def detect_delimiter(line: bytes) -> bytes | None:
    """The first of tab, semicolon, comma, space found in ``line``; None for a single field."""
    for d in AUTO_DELIMITERS:
        if d in line:
            return d
    return None


def split_fields(line: bytes, delim: bytes | None) -> list[bytes]:
    """Fields of a line whose one trailing delimiter (if any) is already removed."""
    if delim is None:
        return [line]
    if delim == b" ":
        return line.split()
    return line.split(delim)


def strip_trailing(line: bytes, delim: bytes | None) -> bytes:
    """Drop one delimiter at the end of the line (OpenScale and Kitronyx headers end with one)."""
    if delim not in (None, b" ") and line.endswith(delim):
        return line[:-1]
    return line


def field_names(fields: list[bytes]) -> list[str]:
    return [f.decode("utf-8", "replace").strip() for f in fields]


def line_notice(host_time: float, kind: str, detail: str, line: bytes) -> Notice:
    """A Notice about one line, carrying the start of its text."""
    text = line[:NOTICE_CHARS].decode("utf-8", "replace")
    return Notice(host_time, kind, detail, {"line": text})


# -- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextOptions:
    """The protocol options shared by the text decoders, checked."""

    delimiter: bytes | None = None  # None: found per line until the first header or data line
    header: str = "auto"
    time_column: int | str | None = None
    time_scale: float = 1e-3  # seconds per device time unit (time_unit, default "ms")
    first_line: str = "skip"
    prefix: str = "auto"
    poll_byte: bytes = b"A"


def _delimiter(value: Any) -> bytes | None:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if value == "auto":
        return None
    value = DELIMITER_NAMES.get(value, value)
    if len(value) != 1 or value in "\r\n" or value.isalnum() or value in ".+-":
        raise ValueError("must be auto, tab, space, or one character that is not part of a number")
    return value.encode("latin-1")


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def _column(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a 0-based column number or a header name")
    if isinstance(value, int) and value < 0:
        raise ValueError("must be 0 or more")
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def _time_unit(value: Any) -> float:
    if not isinstance(value, str) or value not in TIME_UNITS:  # a TOML array is not hashable
        raise ValueError(f"must be one of {', '.join(TIME_UNITS)}")
    return TIME_UNITS[value]


def _prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError('must be "auto", "" (none) or the literal text to remove')
    return value


def _poll_byte(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 1 or ord(value) > 255:
        raise ValueError("must be one character")
    return value.encode("latin-1")


_OPTION_CHECKS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "delimiter": ("delimiter", _delimiter),
    "header": ("header", _choice(HEADER_MODES)),
    "time_column": ("time_column", _column),
    "time_unit": ("time_scale", _time_unit),
    "first_line": ("first_line", _choice(FIRST_LINE_MODES)),
    "prefix": ("prefix", _prefix),
    "poll_byte": ("poll_byte", _poll_byte),
}


def parse_options(profile: Profile, protocol: str, allowed: tuple[str, ...],
                  defaults: dict[str, Any] | None = None) -> TextOptions:
    """Check ``profile.options`` against the keys ``protocol`` takes; ProfileError otherwise."""
    where = f"{profile.path or profile.name}: [options] for {protocol}"
    unknown = sorted(set(profile.options) - set(allowed))
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(map(show_key, unknown))} "
                           f"(known: {', '.join(allowed)})")
    values: dict[str, Any] = {}
    for key, raw in {**(defaults or {}), **profile.options}.items():
        attr, check = _OPTION_CHECKS[key]
        try:
            values[attr] = check(raw)
        except ValueError as err:
            raise ProfileError(f"{where}: {key} = {raw!r} {err}") from err
    opts = TextOptions(**values)
    if isinstance(opts.time_column, str) and opts.header == "no":
        raise ProfileError(f"{where}: time_column {opts.time_column!r} is a header name, "
                           'but header = "no"')
    return opts
