"""Plain decimals in bulk: fields like ``-12``, ``80.9`` or ``.5`` (at most 8 bytes each), read
exactly as ``float()`` reads them, eight bytes per field at a time in numpy uint64 words.

Each field's last eight bytes are loaded as one little-endian word, bytes before the field are
masked off, a ``-`` or ``.`` is found and checked with bit tricks, the dot is squeezed out, and
the eight digits become one integer in three multiply-shift steps. The integer and the power of
ten it is divided by are both exact float64s, so the quotient is the correctly rounded value of
the text, which is what ``float()`` returns. Anything else (longer fields, exponents, ``+``,
spaces) is left to the general parser in ``_text``.
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
_SH1, _SH4, _SH60 = _U(1), _U(4), _U(60)
# _KEEP[n]: the low nibbles of a word's top n bytes, where an n-byte field ending the word lies
_KEEP = np.array([0] + [((1 << 64) - 1) << (8 * (MAX_CHARS - n)) & _NIBBLES
                        for n in range(1, MAX_CHARS + 1)], _U)
# (dot bit 256**q * _MAGIC) >> 60 == q + 1, and 0 without a dot: an index into _DIVISOR
_MAGIC = _U(sum((q + 1) << (60 - 8 * q) for q in range(MAX_CHARS)))
_DIVISOR = np.array([1.0] + [10.0 ** (MAX_CHARS - 1 - q) for q in range(MAX_CHARS)])
# three steps that turn eight digit nibbles (first digit in the lowest byte) into their number
_STEPS = ((_U(10 * 256 + 1), _U(8), _U(0x00FF00FF00FF00FF)),
          (_U(100 * 65536 + 1), _U(16), _U(0x0000FFFF0000FFFF)),
          (_U(10000 * (1 << 32) + 1), _U(32), _U(0xFFFFFFFF)))


def read_plain(body: bytes, delim: bytes | None,
               nfields: int) -> np.ndarray | None | Literal[False]:
    """Every line of ``body`` as ``nfields`` float64s; None if any line is not exactly that
    many plain decimals; False if a field is empty or longer than MAX_CHARS bytes (an empty line
    or a trailing delimiter make an empty field): those are left to the caller.

    ``body`` is not empty, ends with LF and holds only digits, ``-``, ``.``, LF and ``delim``.
    ``-0`` reads as 0.
    """
    if body[-1:] != b"\n":
        return False
    a = np.frombuffer(body, np.uint8)
    sep = a == 10
    nlines = int(np.count_nonzero(sep))
    if delim is not None:
        sep |= a == delim[0]
    ends = np.flatnonzero(sep)
    length = np.empty_like(ends)
    length[0] = ends[0]
    np.subtract(ends[1:], ends[:-1], out=length[1:])
    length[1:] -= 1
    if length.min() < 1 or length.max() > MAX_CHARS:
        return False  # an empty line or field (or a trailing delimiter), or a long field
    if len(ends) != nlines * nfields or (
            nfields > 1 and not (a[ends[nfields - 1::nfields]] == 10).all()):
        return None  # a line with another number of fields
    padded = _PAD + body
    # word i holds padded[i : i + 8], i.e. the 8 bytes of body before position i
    words = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))
    w = words[ends]
    keep = _KEEP[length]
    w &= keep
    neg = None
    divisor = None
    if b"-" in body or b"." in body:
        odd = w + _SIX
        odd &= _BIT4
        odd >>= _SH4  # 1 in each byte holding '-' or '.', 0 elsewhere
        keep &= _ONES  # 1 in each byte of the field
        if (odd == keep).any():
            return None  # a field without a digit
        dots = odd & (w >> _SH1)  # '.' (14) has bit 1 set, '-' (13) does not
        minus = odd ^ dots
        if (minus & ~(keep & (_U(0) - keep))).any():
            return None  # a '-' that is not the first byte of its field
        w -= odd * _U(13)  # '-' (13) becomes 0, '.' (14) becomes 1
        w -= dots
        if dots.any():
            if (dots & (dots - _U(1))).any():
                return None  # two dots in one field
            below = np.minimum(dots - _U(1), dots)  # the bytes before the dot; 0 without one
            below &= w
            below *= _U(255)
            w += below  # the digits before the dot move up one byte, over it
            divisor = _DIVISOR[(dots * _MAGIC) >> _SH60]
        if minus.any():
            neg = minus != 0
    for mul, shift, mask in _STEPS:
        w *= mul
        w >>= shift
        w &= mask
    x = w.astype(np.float64)
    if divisor is not None:
        x /= divisor
    if neg is not None:
        np.subtract(0.0, x, out=x, where=neg)  # 0 - 0 is +0: "-0" reads as 0
    return x.reshape(-1, nfields)
