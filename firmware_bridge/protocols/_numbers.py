"""Numbers in text, read exactly as Python's ``float()`` reads them: one field (``number``) or a
run of clean lines at once (``parse_block``), each run by the reader bench/decode.py finds
fastest for it.

- **Plain decimals, in C** where sotlog was built with a C compiler (``firmware_bridge.native``,
  the optional extension of setup.py): one pass over the run, each field's digits an integer
  below 10**15 divided by its power of ten, the same exact quotient as below; one space after
  a delimiter may open a field. A run it cannot read whole goes on to the readers below.
- **Plain decimals** (``-12``, ``80.9``, ``.5``: digits, one ``-`` first, one ``.``), each
  column with a fixed number of decimals (what ``Serial.print(x, 2)`` and loggers send): the
  dots are taken out, numpy's C integer reader (``numpy.fromstring``) reads the integers, and
  each dotted column is divided by its power of ten. Integers below 2**53 and powers of ten up
  to 1e22 are exact float64s and IEEE division rounds to nearest, so the quotient is the
  float64 nearest to the text, which is what ``float()`` returns. Runs of HAND_MIN_BYTES and
  more go to ``_decimals.read_plain`` first, which reads fields of up to 8 bytes faster there.
- **A space after each delimiter** (``01.01, 0,0``, ``1, 2, 3``: what loggers and sketches
  print), when every space of the run is one and opens a number: the spaces are taken out and
  the run read as plain decimals. ``float()`` reads a number the same with a space before it,
  and a field that is a space alone is left to the readers below, which refuse it.
- **Anything else** (exponents, ``+``, other spaces around numbers, more than 15 digits, decimals
  that vary within a column): numpy's ``loadtxt`` float reader (``PyOS_string_to_double``,
  Python's own), or pyarrow's CSV reader for long narrow runs where pyarrow is installed.

Every reader either gives every line's numbers or refuses the run (None); the decoders then
read a refused run in smaller pieces, so what a line decodes to never depends on the reader.
"""

from __future__ import annotations

import functools
import io
from types import ModuleType
from typing import Any, Literal

import numpy as np

from firmware_bridge import native
from firmware_bridge.protocols._decimals import field_ends, fields_per_line, read_plain

LF = b"\n"
NUMBER_CHARS = b"0123456789.+-eE "  # every byte a number field may hold, surrounding spaces too
HAND_MIN_BYTES = 16 << 10  # plain runs from here on: read_plain first (numpy's reader below)
# pyarrow costs ~0.25 ms a call and ~12 us a field where loadtxt takes ~25 ns a byte and pyarrow
# ~10: pyarrow reads general runs of ARROW_MIN_KIB + 1 KiB a field and more, if installed
ARROW_MIN_KIB = 24

_NOT_PLAIN = (b"+", b" ", b"e", b"E")  # number bytes only the general readers take
_POW10 = 10.0 ** np.arange(23)  # 1e0 ... 1e22, all exact float64s
_EXACT = 2**53  # integers below this are exact float64s
_DIGIT = np.zeros(256, bool)
_DIGIT[48:58] = True


def number(field: bytes) -> float | None:
    """The float a field holds, or None; the same numbers the bulk parser accepts."""
    if not field or field.translate(None, NUMBER_CHARS):
        return None
    try:
        return float(field) + 0.0  # -0.0 -> 0.0, as the bulk parser does
    except ValueError:
        return None


def number_bytes(delim: bytes | None) -> bytes:
    """Every byte a clean data line may hold with this delimiter."""
    return NUMBER_CHARS + LF + (delim or b"")


def parse_block(body: bytes, delim: bytes | None, nfields: int,
                checked: bool = False) -> np.ndarray | None:
    """All lines of ``body`` as an ``(n, nfields)`` float64 array, or None if any line is not
    exactly ``nfields`` numbers (empty lines are skipped; one trailing delimiter is allowed).

    Numbers are read as Python's ``float`` reads them, except that -0 becomes 0. ``checked``:
    the caller already knows every byte is one of ``number_bytes(delim)``.
    """
    if not checked and not native.only(body, number_bytes(delim)):
        return None
    read = _c_decimals(body, delim, nfields)  # the common case, before any other pass
    if read is not None:
        return read
    squeezed = _squeezed(body, delim)
    plain = delim != b" " and not any(c in squeezed for c in _NOT_PLAIN)
    if plain:
        got = _plain_run(squeezed, delim, nfields, try_c=False)
        if got is not False:
            return got
    tidy = _without_empty_lines(squeezed, delim)
    if not tidy:
        return np.empty((0, nfields))
    if plain and tidy != squeezed:
        got = _plain_run(tidy, delim, nfields)
        if got is not False:
            return got
    arrow = len(tidy) >= (ARROW_MIN_KIB + nfields) << 10
    arr = _arrow(tidy, delim, nfields) if arrow else False
    if arr is False:
        arr = _loadtxt(tidy, delim)
    if arr is None or arr.shape[1] != nfields:
        return None
    arr += 0.0  # -0.0 -> 0.0, as everywhere else
    return arr


def _squeezed(body: bytes, delim: bytes | None) -> bytes:
    """``body`` without its spaces, when each follows a delimiter and is not a field alone (not
    before a delimiter, a line end or the end); else ``body`` as it is."""
    if delim in (None, b" ") or b" " not in body:
        return body
    a = np.frombuffer(body, np.uint8)
    at = np.flatnonzero(a == 32)
    if at[0] == 0 or at[-1] + 1 == len(a) or np.count_nonzero(
            a.take(at - 1) == delim[0]) != len(at):
        return body
    after = a.take(at + 1)
    if np.count_nonzero((after == 10) | (after == delim[0])):
        return body
    return body.translate(None, b" ")


def _without_empty_lines(body: bytes, delim: bytes | None) -> bytes:
    """``body`` without empty lines and with one trailing delimiter dropped from each line."""
    if delim not in (None, b" ") and delim + LF in body:
        body = body.replace(delim + LF, LF)
    while LF + LF in body:
        body = body.replace(LF + LF, LF)
    return body.lstrip(LF)


# -- plain decimals: numpy's integer reader, or _decimals' for long runs ---------------------------


def _c_decimals(body: bytes, delim: bytes | None, nfields: int) -> np.ndarray | None:
    """Every line of ``body`` as plain decimals read in C; None where it cannot read them all,
    or was not built."""
    ctext = native.ctext
    if ctext is None or not nfields or (nfields > 1 and delim is None):
        return None
    got = ctext.read_decimals(body, (delim or LF)[0], nfields)
    return None if got is None else np.frombuffer(got).reshape(-1, nfields)


def _plain_run(body: bytes, delim: bytes | None, nfields: int,
               try_c: bool = True) -> np.ndarray | None | Literal[False]:
    """Plain decimals by the faster reader for the run's length; False as for ``_plain``.
    ``try_c``: False where the C reader has refused this run already, or the same run with its
    spaces (it takes one space after a delimiter itself, as ``_squeezed`` takes it out)."""
    read = _c_decimals(body, delim, nfields) if try_c else None
    if read is not None:
        return read
    if len(body) >= HAND_MIN_BYTES:
        got = read_plain(body, delim, nfields)
        if got is not False:
            return got
    return _plain(body, delim, nfields)


def _plain(body: bytes, delim: bytes | None,
           nfields: int) -> np.ndarray | None | Literal[False]:
    """Every line of ``body`` (digits, ``-``, ``.``, LF and ``delim`` only) as ``nfields``
    floats; None if a line is not that many plain decimals; False to leave it to the general
    readers (an empty line or trailing delimiter, no final LF, decimals that vary, more than 15
    digits)."""
    if body[-1:] != LF:
        return False
    a, sep, ends, nlines = field_ends(body, delim)
    if not fields_per_line(a, ends, nlines, nfields):
        return _refused(body, delim)
    if b"-" in body and np.count_nonzero(sep.take((a == 45).nonzero()[0] + 1)):
        return None  # a field "-" (numpy's reader would take it for 0), or "5-"
    scales = _decimals(body, a, ends, nfields, delim) if b"." in body else []
    if not isinstance(scales, list):
        return scales
    if scales:
        text = body.translate(_to_commas(delim), b".")
    else:
        text = body.replace(LF, b",")
        if delim is not None and delim != b",":
            text = text.replace(delim, b",")
    try:  # it refuses a '-' inside a field and an empty field
        ints = np.fromstring(text, np.int64, sep=",")
    except ValueError:
        return _refused(body, delim)
    if len(ints) != len(ends):  # older numpy stops at a refused field, with a warning
        return _refused(body, delim)
    if ints.max() >= _EXACT or ints.min() <= -_EXACT:
        return False  # may not be exact (the reader saturates at 2**63): the general readers
    values = ints.astype(np.float64).reshape(nlines, nfields)
    for col, k in scales:
        values[:, col] /= _POW10[k]
    return values


def _refused(body: bytes, delim: bytes | None) -> None | Literal[False]:
    """Why ``_plain`` could not read ``body``: False if it has empty lines or trailing
    delimiters (to be tidied and read again), else None (some line is not numbers)."""
    if body[:1] == LF or LF + LF in body or (delim is not None and delim + LF in body):
        return False
    return None


def _decimals(body: bytes, a: np.ndarray, ends: np.ndarray, nfields: int,
              delim: bytes | None) -> list[tuple[int, int]] | None | Literal[False]:
    """Each column with a dot in the first line, and its number of decimals, when every line
    has its dot there and there are no others; None if a field is ``.``, ``-.`` or ``.-5``;
    False if the dots sit elsewhere (decimals that vary: left to the general readers).

    ``ends``: where each field ends (at a delimiter or LF), line after line.
    """
    first = body[:ends[nfields - 1]]
    nlines = len(ends) // nfields
    scales = []
    for col, field in enumerate(first.split(delim) if delim is not None else [first]):
        k = len(field) - 1 - field.find(b".")
        if k == len(field):
            continue
        if k >= len(_POW10):
            return False
        dots = ends[col::nfields] - (k + 1)
        # the separator before each field of the column: a dot after it is inside the field
        before = (ends[col - 1::nfields] if col else
                  np.concatenate(([-1], ends[nfields - 1:-1:nfields])))
        if np.count_nonzero((a.take(dots) == 46) & (dots > before)) != nlines:
            return False
        if np.count_nonzero(a.take(dots + 1) == 45) or (
                k == 0 and not _DIGIT[a.take(dots - 1)].all()):
            return None  # ".-5", "." or "-.": not numbers, yet numbers once the dot is out
        scales.append((col, k))
    if np.count_nonzero(a == 46) != nlines * len(scales):
        return False
    return scales


@functools.cache
def _to_commas(delim: bytes | None) -> bytes:
    """The translate table that makes LF and ``delim`` commas."""
    return bytes.maketrans(LF + (delim or b""), b"," * (1 + len(delim or b"")))


# -- everything else: numpy's float reader, or pyarrow's -------------------------------------------


def _loadtxt(body: bytes, delim: bytes | None) -> np.ndarray | None:
    sep = None if delim == b" " else (delim or b",").decode("ascii")
    try:
        return np.loadtxt(io.BytesIO(body), delimiter=sep, dtype=np.float64, ndmin=2,
                          comments=None, encoding="ascii")
    except ValueError:
        return None


@functools.cache
def _pyarrow() -> tuple[ModuleType, ModuleType] | None:
    """``(pyarrow, pyarrow.csv)``, or None where pyarrow is not installed."""
    try:
        import pyarrow  # slow optional dependency: imported at the first long run
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow, pyarrow.csv


@functools.cache
def _arrow_options(delim: bytes | None, nfields: int) -> dict[str, Any]:
    arrow = _pyarrow()
    assert arrow is not None
    pa, csv = arrow
    names = [str(i) for i in range(nfields)]
    return {
        "read_options": csv.ReadOptions(column_names=names, block_size=4 << 20),
        "parse_options": csv.ParseOptions(delimiter=(delim or b",").decode("ascii"),
                                          quote_char=False, double_quote=False,
                                          escape_char=False),
        "convert_options": csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.float64()), null_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    }


def _arrow(body: bytes, delim: bytes | None,
           nfields: int) -> np.ndarray | None | Literal[False]:
    """pyarrow's CSV reader on ``body``; False where it does not apply (no pyarrow, a space
    delimiter), None if a line is not ``nfields`` numbers."""
    arrow = _pyarrow()
    if arrow is None or delim == b" ":
        return False
    pa, csv = arrow
    try:
        table = csv.read_csv(pa.py_buffer(body), **_arrow_options(delim, nfields))
    except pa.ArrowException:  # a line that is not nfields numbers
        return None
    values = np.empty((table.num_rows, nfields))
    for col, column in enumerate(table.columns):
        values[:, col] = column.to_numpy()
    return values
