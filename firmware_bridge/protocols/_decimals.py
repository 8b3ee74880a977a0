"""Plain decimals in bulk: fields like ``-12``, ``80.9`` or ``.5`` (at most 8 bytes each), read
exactly as ``float()`` reads them, eight bytes per field at a time in numpy uint64 words; and
where the fields of a run end, which numpy's integer reader in ``_numbers`` checks the same way.

Each field's last eight bytes are loaded as one little-endian word, bytes before the field are
masked off, a ``-`` or ``.`` is found and checked with bit tricks, the dot is squeezed out, and
the eight digits become one integer in three multiply-shift steps. The integer and the power of
ten it is divided by are both exact float64s, so the quotient is the text's value rounded to
the nearest float64, which is what ``float()`` returns. Anything else (longer fields,
exponents, ``+``, spaces) is left to the other readers in ``_numbers``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MAX_CHARS = 8  # the longest field read here: one 64-bit word

_U = np.uint64
_PAD = b"\n" * MAX_CHARS  # lets the first field's word start before the body
_NIBBLES = 0x0F0F0F0F0F0F0F0F
_ONES = _U(0x0101010101010101)
_SIX = _U(0x0606060606060606)  # + a nibble >= 10 ('-' is 13, '.' is 14) carries into bit 4
_BIT4 = _U(0x1010101010101010)
_SH1, _SH4, _SH8, _SH56, _SH60 = _U(1), _U(4), _U(8), _U(56), _U(60)
# _KEEP[n + 1]: the low nibbles of a word's top n bytes, where an n-byte field ending the word
# lies; 0 for an empty field and for a longer one (indices past the end clip to the last entry)
_KEEP = np.array([0, 0] + [((1 << 64) - 1) << (8 * (MAX_CHARS - n)) & _NIBBLES
                           for n in range(1, MAX_CHARS + 1)] + [0], _U)
# (dot bit 256**q * _MAGIC) >> 60 == q + 1, and 0 without a dot: an index into _DIVISOR
_MAGIC = _U(sum((q + 1) << (60 - 8 * q) for q in range(MAX_CHARS)))
_DIVISOR = np.array([1.0] + [10.0 ** (MAX_CHARS - 1 - q) for q in range(MAX_CHARS)])
# three steps that turn eight digit nibbles (first digit in the lowest byte) into their number:
# pairs of digits, then of pairs, then of quads, each a multiply-add of neighbours in one go
_STEPS = ((_U(10 * 256 + 1), _U(8), _U(0x00FF00FF00FF00FF)),
          (_U(100 * 65536 + 1), _U(16), _U(0x0000FFFF0000FFFF)),
          (_U(10000 * (1 << 32) + 1), _U(32), None))


def field_ends(body: bytes,
               delim: bytes | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Of a ``body`` ending with LF: its bytes, which of them end a field (a delimiter or LF),
    where the fields end, and how many lines it has."""
    a = np.frombuffer(body, np.uint8)
    sep = a == 10
    nlines = int(np.count_nonzero(sep))
    if delim is not None:
        sep |= a == delim[0]
    return a, sep, sep.nonzero()[0], nlines


def fields_per_line(a: np.ndarray, ends: np.ndarray, nlines: int, nfields: int) -> bool:
    """Whether every line has ``nfields`` fields (the LFs are every nfields-th field end)."""
    return len(ends) == nlines * nfields and (nfields == 1 or np.count_nonzero(
        a.take(ends[nfields - 1::nfields]) == 10) == nlines)


def read_plain(body: bytes, delim: bytes | None,
               nfields: int) -> np.ndarray | None | Literal[False]:
    """Every line of ``body`` as ``nfields`` float64s; None if any line is not exactly that
    many plain decimals; False if a field is empty or longer than MAX_CHARS bytes (an empty line
    or a trailing delimiter make an empty field): those are left to the caller.

    ``body`` ends with LF and holds only digits, ``-``, ``.``, LF and ``delim``. ``-0`` reads
    as 0.
    """
    if body[-1:] != b"\n":
        return False
    # numpy's count_nonzero is the cheapest reduction, so every check below is one
    a, _, ends, nlines = field_ends(body, delim)
    nf = len(ends)
    span = np.empty_like(ends)  # each field's length + 1
    span[0] = ends[0] + 1
    np.subtract(ends[1:], ends[:-1], out=span[1:])
    keep = _KEEP.take(span, mode="clip")
    whole = np.count_nonzero(keep) == nf  # no field empty or long
    if (whole or span.min() > 1) and not fields_per_line(a, ends, nlines, nfields):
        return None  # a line with another number of fields
    if not whole:
        return False  # an empty field (an empty line, a trailing delimiter), or a long one
    padded = _PAD + body
    # word i holds padded[i : i + 8]: the 8 bytes of body before position i
    w = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,)).take(ends)
    w = w.astype(_U, copy=False)  # native order (a no-op on little-endian machines)
    w &= keep
    has_minus, has_dot = b"-" in body, b"." in body
    neg = divisor = None
    if has_minus or has_dot:
        odd = w + _SIX
        odd &= _BIT4
        odd >>= _SH4  # 1 in each byte holding '-' or '.', 0 elsewhere
        keep &= _ONES  # 1 in each byte of the field
        keep ^= odd  # 1 in each digit of the field
        if np.count_nonzero(keep) != nf:
            return None  # a field without a digit
        if has_dot:
            dots = odd
            if has_minus:
                dots = w >> _SH1
                dots &= odd  # '.' (14) has bit 1 set, '-' (13) does not
            if np.count_nonzero(dots & (dots - _U(1))):
                return None  # two dots in one field
        if has_minus:
            minus = odd ^ dots if has_dot else odd
            keep |= odd
            keep <<= _SH8  # the bytes of the field after its first
            if np.count_nonzero(minus & keep):
                return None  # a '-' after another byte of its field
        w -= odd * _U(13 if has_minus else 14)  # '-' (13) to 0; '.' (14) to 0, or to 1 if both
        if has_dot:
            if has_minus:
                w -= dots
            below = np.minimum(dots - _U(1), dots)  # the bytes before the dot; 0 without one
            below &= w
            below *= _U(255)
            w += below  # the digits before the dot move up one byte, over it
            dots *= _MAGIC
            dots >>= _SH60
            divisor = _DIVISOR.take(dots.view(np.int64))
        if has_minus:
            minus *= _ONES
            minus >>= _SH56  # 1 where the field starts with '-'
            neg = _U(0) - minus  # all ones there: (v ^ neg) - neg is -v in two's complement
    for mul, shift, mask in _STEPS:
        w *= mul
        w >>= shift
        if mask is not None:
            w &= mask
    if neg is not None:
        w ^= neg
        w -= neg
    x = w.view(np.int64).astype(np.float64)  # exact: |v| < 10**8
    if divisor is not None:
        x /= divisor  # both exact: rounded to nearest, what float() gives
    return x.reshape(-1, nfields)
