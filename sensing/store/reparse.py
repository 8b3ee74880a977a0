"""Decode a session's raw capture again and compare with the frames stored when it was recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.protocols import Decoder, make_decoder

if TYPE_CHECKING:
    from sensing.store.read import Session


@dataclass
class ReparseResult:
    """How the frames decoded now compare with the frames stored."""

    stored_frames: int
    decoded_frames: int
    raw_bytes: int
    identical: bool
    first_difference: int | None  # index of the first frame that differs, if any
    counters: dict[str, int] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decode_raw(session: Session) -> tuple[FrameBlock, dict[str, int], int]:
    """Feed the stored raw bytes, with their arrival times, through a fresh decoder.

    The reads the live decoder had before the session (the prelude) go first, to bring the
    fresh decoder to the state the live one was in when the session began; what they decode to
    is not the session's and is left out, counters included. The bridge flushes its decoder
    when the port is lost and starts a fresh one after each reconnect, so this does too. The
    session's end is a cut: the decoder is flushed there as well, so the bytes it still held
    (the last garbage run, a partial line or frame) are counted, and nothing more is decoded.
    """
    profile = session.info.profile
    restarts = sorted(ev.host_time for ev in session.events() if ev.kind == "reconnect")
    decoder: Decoder = make_decoder(profile)
    for host_time, data in session.raw(prelude=True):
        decoder.feed(data, host_time)
    before = decoder.counters.as_dict()
    counters: dict[str, int] = {k: -v for k, v in before.items()}
    blocks: list[FrameBlock] = []
    nbytes = 0
    last = session.info.t0_host
    for host_time, data in session.raw():
        while restarts and host_time >= restarts[0]:
            decoder.flush(restarts.pop(0), cut=True)  # as the bridge did when the port was lost
            _add(counters, decoder.counters.as_dict())
            decoder = make_decoder(profile)
        nbytes += len(data)
        last = host_time
        out = decoder.feed(data, host_time)
        if out.frames is not None and len(out.frames):
            blocks.append(out.frames)
    decoder.flush(last, cut=True)
    _add(counters, decoder.counters.as_dict())
    if blocks:
        frames = FrameBlock.concat(blocks)
    else:
        frames = FrameBlock.empty(tuple(session.info.frame_shape))
    return frames, counters, nbytes


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


def reparse(session: Session) -> ReparseResult:
    """Decode the raw capture again; identical means same values, device times and sequence."""
    decoded, counters, nbytes = decode_raw(session)
    stored = session.frames()
    n = min(len(stored), len(decoded))
    first = None
    same = np.ones(n, bool)
    if n:
        a = stored.values[:n].reshape(n, -1).astype(np.float64)
        b = decoded.values[:n].reshape(n, -1).astype(np.float64)
        same &= ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
        da, db = stored.device_time[:n], decoded.device_time[:n]
        same &= (da == db) | (np.isnan(da) & np.isnan(db))
        same &= stored.seq[:n] == decoded.seq[:n]
        bad = np.flatnonzero(~same)
        first = int(bad[0]) if bad.size else None
    if first is None and len(stored) != len(decoded):
        first = n
    identical = first is None
    if identical:
        detail = f"identical: {len(stored)} frames decoded again from {nbytes} raw bytes"
    elif len(stored) != len(decoded):
        detail = (f"different: {len(stored)} frames stored, {len(decoded)} decoded again "
                  f"from {nbytes} raw bytes; first difference at frame {first}")
    else:
        detail = f"different: frame {first} of {len(stored)} differs"
    return ReparseResult(len(stored), len(decoded), nbytes, identical, first, counters, detail)
