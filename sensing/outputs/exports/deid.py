"""De-identification for sharing: BIDS-safe subject labels and per-subject whole-day date shifts.

Exports carry the subject code only. ``--shift-dates`` moves every date of a subject's sessions
back by the same whole number of days, drawn from a keyed hash of the subject code and a salt.
The salt is random per export run (printed, never written into the export), so the same salt
gives the same shifts again, and without it the shift cannot be recomputed from the files.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from firmware_bridge.errors import ExportError

# A shift lies between these many days back, so shifted dates never land in the future.
SHIFT_MIN_DAYS = 365
SHIFT_MAX_DAYS = 3650
NO_SUBJECT_LABEL = "unknown"

_ISO_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})([T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def subject_label(code: str | None) -> str:
    """The BIDS-safe label of a subject code: its letters and digits (``P-0042`` -> ``P0042``)."""
    if not code:
        return NO_SUBJECT_LABEL
    return _NOT_ALNUM.sub("", code) or NO_SUBJECT_LABEL


def check_labels(codes: list[str | None]) -> dict[str | None, str]:
    """Each code's label; two different codes with one label is an ExportError."""
    seen: dict[str, str | None] = {}
    out: dict[str | None, str] = {}
    for code in codes:
        label = subject_label(code)
        if label in seen and seen[label] != code:
            raise ExportError(
                f"subject codes {seen[label]!r} and {code!r} both become BIDS label {label!r}; "
                "rename one before exporting them together"
            )
        seen[label] = code
        out[code] = label
    return out


@dataclass(frozen=True)
class DateShift:
    """Whole-day date shifts per subject, fixed by a salt."""

    salt: str

    @classmethod
    def random(cls) -> DateShift:
        return cls(secrets.token_hex(8))

    def days(self, subject_code: str | None) -> int:
        """The (negative) number of days every date of this subject moves."""
        digest = hmac.new(self.salt.encode(), (subject_code or "").encode(), hashlib.sha256)
        span = SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1
        return -(SHIFT_MIN_DAYS + int.from_bytes(digest.digest()[:8], "big") % span)


def shift_text(text: str, days: int) -> str:
    """An ISO 8601 date or date-time moved by ``days``; any other text unchanged."""
    m = _ISO_DATE.match(text)
    if not m or not days:
        return text
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return text
    return (day + timedelta(days=days)).isoformat() + (m.group(2) or "")


def shift_dates(obj: Any, days: int) -> Any:
    """``obj`` (nested dicts, lists, strings) with every ISO date string moved by ``days``."""
    if not days:
        return obj
    if isinstance(obj, str):
        return shift_text(obj, days)
    if isinstance(obj, dict):
        return {k: shift_dates(v, days) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [shift_dates(v, days) for v in obj]
    return obj
