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

# A date inside any text: ISO 8601 (2024-03-11) or compact (20240311, as in 20240311T142511).
_DATE_IN_TEXT = re.compile(r"(?<!\d)(\d{4})(-?)(\d{2})\2(\d{2})(?!\d)")
YEARS = range(1900, 2200)  # eight digits outside these years are a number, not a date
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
    """``text`` with every date in it (ISO ``2024-03-11`` or compact ``20240311``) moved by
    ``days``, in the form it was written; times of day and any other text unchanged."""
    if not days:
        return text

    def moved(m: re.Match[str]) -> str:
        year, sep, month, day = m.groups()
        if int(year) not in YEARS:
            return m.group(0)
        try:
            when = date(int(year), int(month), int(day)) + timedelta(days=days)
        except ValueError:
            return m.group(0)
        return when.strftime(f"%Y{sep}%m{sep}%d")

    return _DATE_IN_TEXT.sub(moved, text)


def deidentify_port(port: str) -> str:
    """A device port without the folders of an imported file: ``file:///home/a/x.csv`` becomes
    ``file:x.csv`` (serial ports and other URLs say nothing of a person and stay)."""
    if port.startswith("file:"):
        return "file:" + port.rstrip("/").rsplit("/", 1)[-1]
    return port


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
