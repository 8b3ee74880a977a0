"""``snowboard``: the Kitronyx Snowboard, a polled 16x10 FSR matrix reader.

The host sends one byte; the board answers with one line of 160 comma-separated raw values
(0-255), drive line by drive line, ended by CRLF. Kitronyx's own viewer (kitronyx/fsrmonitor)
sends ``A``; their ``snowforce`` sketch answers any byte. Parsing is matrix_lines' with a comma,
no header and no time column.
"""

from __future__ import annotations

from typing import Any, ClassVar

from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import mat_of_shape
from firmware_bridge.protocols.matrix_lines import MatrixLinesDecoder

ROWS, COLS = 16, 10  # drive lines by sense lines: the board's one geometry


class SnowboardDecoder(MatrixLinesDecoder):
    """Polls a Kitronyx Snowboard and decodes its answer lines into (n, rows, cols) frames."""

    name = "snowboard"
    OPTIONS: ClassVar[tuple[str, ...]] = ("poll_byte", "first_line")
    # The board speaks only when asked, so its first answer is whole: keep it.
    DEFAULTS: ClassVar[dict[str, Any]] = {"delimiter": ",", "header": "no", "first_line": "keep"}

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """A 16x10 mat, and the options matrix_lines lets a Snowboard have."""
        mat_of_shape(profile, ROWS, COLS)
        super().check_profile(profile)

    def poll_request(self) -> bytes:
        return self.options.poll_byte

    def start_request(self) -> bytes:
        return self.options.poll_byte
