"""The wire's fixed words and units: light to import (no numpy), so every face can list them.

The domain's vocabulary (``sensing.vocabulary``) builds on these; nothing else defines them.
"""

from collections.abc import Mapping
from typing import Any

BLOCK_SIDES = ("left", "right")
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
# Units a channel may declare, and the factor that turns one of them into newtons.
FORCE_UNITS = {
    "N": 1.0,
    "kN": 1000.0,
    "kgf": 9.80665,
    "kg": 9.80665,
    "g": 9.80665e-3,
    "lbf": 4.4482216152605,
    "lbs": 4.4482216152605,
    "lb": 4.4482216152605,
}
# Units with no force meaning: the numbers are kept and shown as they are.
OTHER_UNITS = ("counts", "kPa", "mmHg", "raw")

# What a decoder or the bridge reports that is not data (``frames.Notice.kind``).
NOTICE_KINDS = (
    "undecodable",  # a line or frame the decoder could not read; kept in the raw capture
    "crc_error",  # a binary frame whose checksum failed
    "seq_gap",  # sequence numbers skipped: frames lost on the wire
    "out_of_range",  # values outside the sensor's declared raw range (kept, flagged)
    "wrong_size",  # a matrix frame with the wrong number of values (kept in raw, not as a frame)
    "disconnect",  # the port went away
    "reconnect",  # the port came back
    "gap",  # data missing: from the last byte before a disconnect or a stall to the next byte
    "stall",  # the device sent nothing for longer than it should while connected
    "wrong_device",  # another device is at the port: not opened, the right one awaited
)
# The counters the faces show (``frames.Counters``) and their words. Every one but the data
# counters counts something that went wrong on the wire, and is shown when not 0.
COUNTER_LABELS = {
    "bytes": "bytes", "frames": "frames",
    "undecodable": "undecodable", "undecodable_bytes": "undecodable bytes",
    "crc_errors": "CRC failures", "seq_gaps": "sequence gaps", "wrong_size": "wrong size",
    "out_of_range": "out of range", "cut_bytes": "bytes cut short", "reconnects": "reconnects",
    "stalls": "stalls", "wrong_device": "wrong device",
}
DATA_COUNTERS = ("bytes", "frames")
PROBLEM_COUNTERS = tuple(k for k in COUNTER_LABELS if k not in DATA_COUNTERS)
# What a bridge is doing (``firmware_bridge.bridge.Bridge.state``).
BRIDGE_STATES = ("connecting", "connected", "stalled", "disconnected", "stopped")

# The wire protocols by name: the module and decoder class ``firmware_bridge.protocols``
# imports when one is asked for (so a profile can name one without importing any).
PROTOCOLS: dict[str, tuple[str, str]] = {
    "lines": ("firmware_bridge.protocols.lines", "LinesDecoder"),
    "blockframe": ("firmware_bridge.protocols.blockframe", "BlockframeDecoder"),
    "matrix_lines": ("firmware_bridge.protocols.matrix_lines", "MatrixLinesDecoder"),
    "snowboard": ("firmware_bridge.protocols.snowboard", "SnowboardDecoder"),
    "m1616": ("firmware_bridge.protocols.m1616", "M1616Decoder"),
    "binary": ("firmware_bridge.protocols.binary", "BinaryRecordDecoder"),
}


def decoded_nothing(counters: Mapping[str, Any]) -> str | None:
    """The line every face shows in red when bytes came and none of them made a frame (most
    often a profile that does not fit the device); None otherwise. Judged by ``bytes`` and
    ``frames``: binary garbage is counted as undecodable only when its run ends."""
    received, frames = int(counters.get("bytes") or 0), int(counters.get("frames") or 0)
    if received == 0 or frames:
        return None
    junk = int(counters.get("undecodable_bytes") or 0)
    return (f"decoded nothing: {received:,} bytes received, 0 frames ({junk:,} bytes "
            "undecodable); is the profile right?")
