"""The live stream's messages on the wire: a mat frame as one binary message, and the status sent
to each viewer only when it changed (docs/dashboard.md, *The live stream*).

A mat frame is ``b"SMAT"``, the length of its facts (uint32, little-endian), the facts as JSON
(``sensing.mat.live_frame`` plus ``dtype``; spaces pad it so the values start at a multiple of
8 bytes, as a typed array over them needs), then ``rows x cols`` values row by row,
little-endian, in the narrowest type that holds every value of the frame exactly.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

MAT_MAGIC = b"SMAT"
_HEAD = struct.Struct("<4sI")
ALIGN = 8
# Narrowest first; the page reads each with the typed array of the same name.
WIRE_DTYPES = tuple(np.dtype(n) for n in ("<u1", "<u2", "<i2", "<u4", "<i4", "<f4", "<f8"))

# Status keys that change with almost every batch: sent at most every TICK_S, or at once with a
# change of any other key (so what a viewer shows is never a mix of two moments).
TICKING = frozenset({"counters", "session_counters", "decoded_nothing",
                     "session_decoded_nothing", "rate_hz", "silent_s", "lsl", "loaded_s"})
TICK_S = 0.5


def wire_dtype(image: np.ndarray) -> np.dtype[Any]:
    """The narrowest of WIRE_DTYPES that holds every value of ``image`` exactly (NaN needs a
    float); the image's own dtype when none does (e.g. int64 beyond 2**53)."""
    values = np.asarray(image)
    if values.size == 0:
        return WIRE_DTYPES[0]
    finite = bool(np.isfinite(values).all()) if values.dtype.kind == "f" else True
    whole = finite and (values.dtype.kind in "biu" or bool((values == np.rint(values)).all()))
    if whole:
        low, high = values.min(), values.max()
        for dt in WIRE_DTYPES:
            if dt.kind in "iu" and np.iinfo(dt).min <= low and high <= np.iinfo(dt).max:
                return dt
    for dt in WIRE_DTYPES:
        if dt.kind == "f" and np.array_equal(values.astype(dt).astype(values.dtype), values,
                                              equal_nan=True):
            return dt
    return values.dtype.newbyteorder("<")


def framed(magic: bytes, head: Mapping[str, Any], body: bytes) -> bytes:
    """A binary body as the pages read them (a live mat frame, a replay's span of frames):
    ``magic`` (4 bytes), the head's length (uint32, little-endian), the head as JSON padded with
    spaces so ``body`` starts at a multiple of ALIGN bytes, then ``body``."""
    text = json.dumps(head, allow_nan=False).encode()
    text += b" " * (-(_HEAD.size + len(text)) % ALIGN)
    return _HEAD.pack(magic, len(text)) + text + body


def encode_mat(facts: Mapping[str, Any], image: np.ndarray) -> bytes:
    """One binary message: the frame's facts and its image, values exactly as they are."""
    dt = wire_dtype(image)
    return framed(MAT_MAGIC, {**facts, "dtype": dt.name},
                  np.ascontiguousarray(image, dtype=dt).tobytes())


class StatusDelta:
    """What of the status one viewer has not been sent yet.

    A key goes when its value differs from the one this viewer was last sent; the TICKING keys
    wait until TICK_S has passed since the last status sent, unless another key changed too.
    """

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.sent: dict[str, Any] = {}
        self._sent_at = -math.inf

    def changes(self, status: Mapping[str, Any], now: float) -> dict[str, Any] | None:
        """The keys of ``status`` to send now (None: nothing), taken as sent."""
        sent = self.sent
        changed = {k: v for k, v in status.items() if k not in sent or sent[k] != v}
        if not changed or (changed.keys() <= TICKING and now - self._sent_at < self.tick_s):
            return None
        sent.update(changed)
        self._sent_at = now
        return changed
