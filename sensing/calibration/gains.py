"""A mat's per-sensel gains as JSON-ready data, so a session's conversion carries them along."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError

GAINS_CODEC = "zlib-f4le"  # float32 little-endian, row by row, zlib level 6


def encode_gains(gains: np.ndarray) -> dict[str, Any]:
    """Per-sensel gains as JSON-ready data: shape, codec and base64 of the zlib'd float32."""
    arr = np.ascontiguousarray(gains, dtype="<f4")
    return {"shape": list(arr.shape), "codec": GAINS_CODEC,
            "data": base64.b64encode(zlib.compress(arr.tobytes(), 6)).decode("ascii")}


def decode_gains(d: dict[str, Any]) -> np.ndarray:
    """The array ``encode_gains`` wrote."""
    if d.get("codec") != GAINS_CODEC:
        raise CalibrationError(f"unknown gains codec {d.get('codec')!r}")
    raw = zlib.decompress(base64.b64decode(d["data"]))
    return np.frombuffer(raw, dtype="<f4").reshape(d["shape"]).astype(np.float32)
