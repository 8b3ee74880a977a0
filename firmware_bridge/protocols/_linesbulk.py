"""The bulk path of the ``lines`` decoder: runs of clean lines read at once (``_numbers``), a
handful in plain Python, each frame stamped with its line's time (one for all, or one each).
"""

from __future__ import annotations

import math

import numpy as np

from firmware_bridge import native
from firmware_bridge.frames import Counters
from firmware_bridge.protocols._layout import Layout
from firmware_bridge.protocols._numbers import LF, parse_block
from firmware_bridge.protocols._output import Output, frame_block
from firmware_bridge.protocols._text import (
    MAX_LINE,
    TextOptions,
    longest_line,
    split_fields,
    strip_trailing,
)

# The time of every line of a piece of text: one for all, or one each (``feed_reads``).
Times = float | np.ndarray


def at_line(times: Times, i: int) -> float:
    """The time of line ``i``."""
    return times if isinstance(times, float) else float(times[i])


class BulkLines:
    """Clean runs of lines in bulk, for ``LinesDecoder`` (which sets what is declared here)."""

    counters: Counters
    options: TextOptions
    few_bytes: int
    _layout: Layout | None
    _bulk_delim: bytes | None
    _bulk_bytes: bytes
    _text_ok: int

    def _line(self, raw: bytes, host_time: float, out: Output) -> None:
        raise NotImplementedError

    def _good(self, n: int) -> None:
        raise NotImplementedError

    def _run(self, body: bytes, times: Times, out: Output, lines: int | None = None,
             short: bool = False) -> None:
        """A run of clean lines: in bulk; if some line in it does not fit, each half of it, down
        to a few lines read by ``_few``. One glued line costs a few more vector reads, not the
        whole run line by line. ``short``: no line is longer than MAX_LINE (the caller saw)."""
        if len(body) <= self.few_bytes:
            self._few(body, times, out)
            return
        if self._fast(body, times, out, lines, short):
            return
        mid = body.find(LF, len(body) // 2) + 1
        if mid >= len(body):
            mid = body.rfind(LF, 0, len(body) - 1) + 1
        if mid > 0:
            if isinstance(times, float):
                self._run(body[:mid], times, out, short=short)
                self._run(body[mid:], times, out, short=short)
            else:
                n = body.count(LF, 0, mid)
                self._run(body[:mid], times[:n], out, n, short)
                self._run(body[mid:], times[n:], out, len(times) - n, short)
        else:  # one line, which the bulk parser refused
            self._line(body[:-1], at_line(times, 0), out)

    def _fast(self, body: bytes, times: Times, out: Output, lines: int | None = None,
              short: bool = False) -> bool:
        """Decode a run of clean lines at once; False if the bulk reader refuses it. ``lines``:
        how many the run has, when the caller knows, and ``short``, that none is longer than
        MAX_LINE (passes over the run saved)."""
        lay = self._layout
        assert lay is not None
        if not short and longest_line(body) > MAX_LINE:
            return False
        arr = parse_block(body, self._bulk_delim, lay.nfields, checked=True)
        if arr is None:
            return False
        n = len(arr)
        if lines is None:
            lines = body.count(LF)
        if isinstance(times, float):
            hosts = np.full(n, times)
        elif n == lines:
            hosts = np.array(times, np.float64)
        elif n and times[0] == times[-1]:
            hosts = np.full(n, times[0])
        else:  # blank lines among lines of different times: which is which, line by line
            return False
        self.counters.blank_lines += lines - n
        self._good(len(body) - lines)
        if n:
            device = (arr[:, lay.time_idx] * self.options.time_scale
                      if lay.time_idx is not None else np.full(n, np.nan))
            out.close_rows()
            out.blocks.append(frame_block(arr[:, lay.chan_idx], hosts, device))
        return True

    def _few(self, body: bytes, times: Times, out: Output) -> None:
        """A handful of lines in plain Python: the same frames the bulk path gives, as each
        number is the one ``float()`` reads; any line that is not simply numbers goes to
        ``_line``, as it would from the bulk path."""
        lay = self._layout
        assert lay is not None
        delim, allowed, nf = self._bulk_delim, self._bulk_bytes, lay.nfields
        scale, t, chans = self.options.time_scale, lay.time_idx, lay.chan_idx
        ok, blanks = 0, -1  # a body ends with LF: its split ends with one empty piece
        for k, raw in enumerate(body.split(LF)):
            if not raw:
                blanks += 1
                continue
            host_time = at_line(times, k)
            if native.only(raw, allowed):
                fields = split_fields(strip_trailing(raw, delim), delim)
                if len(fields) == nf:
                    try:
                        vals = [float(f) + 0.0 for f in fields]  # -0 -> 0, as in bulk
                    except ValueError:
                        pass
                    else:
                        out.rows.append([vals[i] for i in chans])
                        out.times.append(vals[t] * scale if t is not None else math.nan)
                        out.hosts.append(host_time)
                        ok += len(raw)
                        continue
            self._line(raw, host_time, out)
        self._text_ok += ok
        self.counters.blank_lines += blanks
