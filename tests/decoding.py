"""Feed a decoder a list of chunks, as a port would, and collect what it gives back."""

from __future__ import annotations

from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.protocols import Decoder


def decode(decoder: Decoder, chunks: list[bytes]) -> tuple[FrameBlock | None, list[Notice]]:
    """Every chunk (chunk k arriving at host time k), then the end of stream."""
    blocks, notices = [], []
    for k, chunk in enumerate(chunks):
        out = decoder.feed(chunk, float(k))
        notices += out.notices
        if out.frames is not None:
            blocks.append(out.frames)
    out = decoder.flush(float(len(chunks)))
    notices += out.notices
    if out.frames is not None:
        blocks.append(out.frames)
    return (FrameBlock.concat(blocks) if blocks else None), notices
