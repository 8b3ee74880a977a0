"""Session metadata: who/what/when/where of block placement. Subject codes only, never names."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from firmware_bridge.errors import SotlogError

POSITIONS = ("prone", "supine")
CATEGORIES = ("I", "II", "III", "other")
SHORT_LEG_SIDES = ("left", "right", "none")
BLOCK_SIDES = ("left", "right")
LANDMARKS = ("iliac_crest", "greater_trochanter", "acetabulum", "ilium", "sacrum", "other")
# Typed by a person, or detected by sotlog from the wire and the store.
EVENT_KINDS = (
    "placed", "removed", "tare", "note", "marker", "gap",
    "disconnect", "reconnect", "undecodable", "crc_error", "seq_gap", "out_of_range",
    "wrong_size", "warning", "calibration",
)
PERSON_EVENT_KINDS = ("placed", "removed", "marker", "note")
SUBJECT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
STATUSES = ("recording", "complete", "interrupted")


class MetadataError(SotlogError):
    """Session metadata that does not fit the vocabulary."""


@dataclass
class Block:
    """One wedge under the pelvis."""

    side: str
    landmark: str
    angle_deg: float | None = None
    channel: str | None = None  # the channel (or mat region) measuring this block

    def __post_init__(self) -> None:
        if self.side not in BLOCK_SIDES:
            raise MetadataError(f"block side must be left or right, not {self.side!r}")
        if self.landmark not in LANDMARKS:
            raise MetadataError(
                f"block landmark must be one of {', '.join(LANDMARKS)}, not {self.landmark!r}"
            )
        if self.angle_deg is not None and not -90 <= self.angle_deg <= 90:
            raise MetadataError(f"block angle must be between -90 and 90 degrees: {self.angle_deg}")

    @classmethod
    def parse(cls, spec: str) -> Block:
        """Parse ``SIDE:LANDMARK[:ANGLE]``, e.g. ``left:iliac_crest:30``."""
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise MetadataError(f"block spec {spec!r} must be SIDE:LANDMARK[:ANGLE]")
        angle = None
        if len(parts) == 3:
            try:
                angle = float(parts[2])
            except ValueError:
                raise MetadataError(f"block spec {spec!r}: angle must be a number") from None
        return cls(parts[0], parts[1], angle)


@dataclass
class SessionMeta:
    """What the practitioner enters about a session. Every field is optional but checked."""

    subject_code: str | None = None
    position: str | None = None
    category: str | None = None
    short_leg: str | None = None
    blocks: list[Block] = field(default_factory=list)
    body_weight_kg: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.subject_code is not None and not SUBJECT_CODE_RE.match(self.subject_code):
            raise MetadataError(
                f"subject code {self.subject_code!r} must be a short pseudonym like P-0042 "
                "(letters, digits, - _ . ; at most 32)"
            )
        for name, allowed in (("position", POSITIONS), ("category", CATEGORIES),
                              ("short_leg", SHORT_LEG_SIDES)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise MetadataError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.body_weight_kg is not None and not 1 <= self.body_weight_kg <= 400:
            raise MetadataError(f"body weight must be 1-400 kg, not {self.body_weight_kg}")
        self.blocks = [b if isinstance(b, Block) else Block(**b) for b in self.blocks]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionMeta:
        d = dict(d)
        d["blocks"] = [Block(**b) for b in d.get("blocks", [])]
        return cls(**d)
