"""What sotlog reads a device profile into: frozen dataclasses the rest of sotlog uses.

These are plain values: building one in code checks nothing. A profile read from TOML is
checked first, by the schema (``schema.py``) and then by its protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SerialSettings:
    """Serial line settings handed to pyserial."""

    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    dsrdtr: bool = False


@dataclass(frozen=True)
class Channel:
    """One measured signal.

    ``column`` is a 0-based index or a header name (text protocols), ``None`` meaning "next one in
    order". ``scale``/``offset`` turn a raw value into ``unit``: ``value = raw * scale + offset``.
    """

    name: str
    column: int | str | None = None
    unit: str = "counts"
    block: str | None = None
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class Matrix:
    """Geometry and range of a pressure mat.

    ``head_edge`` is the edge of frame row 0..rows-1 image nearest the patient's head (``top``
    means row 0); ``patient_left`` says which image side (``left`` = low column index) is the
    patient's left. ``scale``/``offset`` turn a raw sensel value into ``unit`` where known.
    """

    rows: int
    cols: int
    pitch_mm: tuple[float, float] = (10.0, 10.0)  # (row pitch, column pitch)
    raw_min: float = 0
    raw_max: float = 255
    head_edge: str = "top"
    patient_left: str = "left"
    unit: str = "raw"
    scale: float = 1.0
    offset: float = 0.0
    noise_threshold: float = 0  # raw values at or below this count as no contact
    dtype: str = "uint16"


@dataclass(frozen=True)
class Profile:
    """A device: its protocol, serial settings, protocol options, channels or matrix."""

    name: str
    protocol: str
    description: str = ""
    serial: SerialSettings = field(default_factory=SerialSettings)
    options: dict[str, Any] = field(default_factory=dict)
    channels: tuple[Channel, ...] = ()
    matrix: Matrix | None = None
    nominal_rate_hz: float | None = None
    stall_after_s: float | None = None  # silence that makes the device stalled; None: from the rate
    source: str = ""  # the TOML text as loaded, stored with every session
    path: str = ""  # where it came from: "builtin:<name>" or a file path

    @property
    def is_matrix(self) -> bool:
        return self.matrix is not None

    @property
    def frame_shape(self) -> tuple[int, ...]:
        if self.matrix is not None:
            return (self.matrix.rows, self.matrix.cols)
        return (len(self.channels),)

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]
