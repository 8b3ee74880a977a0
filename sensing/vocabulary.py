"""The words and units sessions are recorded in, defined once.

Every face takes them from here: the command line's choices, the web pages (through
``GET /api/vocabulary``), the store's checks, exports and LSL. Nothing here judges a
measurement; these are names for what a person entered and what sotlog measured.
"""

from __future__ import annotations

import re
from typing import Any

from firmware_bridge.words import (
    BLOCK_SIDES,
    COUNTER_LABELS,
    DATA_COUNTERS,
    FORCE_UNITS,
    NOTICE_KINDS,
)

# What sotlog is for, in one sentence: the README, the report's footer, the printed page, --help.
INTENDED_USE = ("sotlog records, stores, displays and exports force and pressure measured under "
                "pelvic blocks, with the placement a person entered. It records the procedure, "
                "gives no alarm and makes no interpretation of the measurements.")
POSITIONS = ("prone", "supine")
CATEGORIES = ("I", "II", "III", "other")
SHORT_LEG_SIDES = ("left", "right", "none")
LANDMARKS = ("iliac_crest", "greater_trochanter", "acetabulum", "ilium", "sacrum", "other")
LANDMARK_LABELS = {
    "iliac_crest": "iliac crest", "greater_trochanter": "greater trochanter",
    "acetabulum": "acetabulum", "ilium": "ilium", "sacrum": "sacrum", "other": "other",
}
ANGLE_RANGE_DEG = (-90.0, 90.0)
BODY_WEIGHT_RANGE_KG = (1.0, 400.0)
MAX_BLOCKS = 8
MAX_NOTE_CHARS = 2000
MAX_EVENT_TEXT_CHARS = 500
MAX_EVENT_DATA_BYTES = 4096  # a person's event carries a little data, never a payload
MAX_ID = 2**63 - 1  # ids are SQLite integers
# A subject code is a pseudonym: letters, digits, - _ . (at most 32), at least one digit, and
# nothing shaped like a name or a date (sensing.metadata.subject_code_problem says which).
# A site whose codes look otherwise sets its own pattern in $SOTLOG_SUBJECT_CODE_PATTERN.
SUBJECT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
SUBJECT_CODE_ENV = "SOTLOG_SUBJECT_CODE_PATTERN"
SUBJECT_CODE_HINT = ("a pseudonym like P-0042: letters, digits, - _ . (at most 32), at least one "
                     "digit, no names or dates")

# Marks a person types during a recording; a marker and a note say nothing without their text.
PERSON_EVENT_KINDS = ("placed", "removed", "marker", "note")
TEXT_EVENT_KINDS = ("marker", "note")
# What sotlog finds in the total force (sensing.metrics.detect), stored with source "sotlog": when
# the load came onto the blocks, became steady, and came off. A person confirms, moves or deletes.
DETECTED_EVENT_KINDS = ("placed", "settled", "removed")
# Every kind an event may have: a person's marks, the wire's notices, and sotlog's own.
EVENT_KINDS = (*PERSON_EVENT_KINDS, "settled", "tare", *NOTICE_KINDS, "warning", "calibration")
EVENT_SOURCES = ("person", "device", "sotlog")
STATUSES = ("recording", "complete", "interrupted")
# What a person enters about a session (the fields of sensing.metadata.SessionMeta, in order).
SESSION_META_FIELDS = ("subject_code", "position", "category", "short_leg", "body_weight_kg",
                       "note", "blocks")
FINAL_STATUSES = ("complete", "interrupted")
SESSIONS_PAGE = 50  # sessions a list shows at a time unless asked for more
COMPARE_SESSIONS = (2, 4)  # the fewest and the most sessions the compare page shows together

# Units force may be shown in, and newtons per one of them.
OUTPUT_UNITS: dict[str, float] = {"N": 1.0, "kgf": FORCE_UNITS["kgf"], "lbf": FORCE_UNITS["lbf"]}
# Units a known calibration load may be entered in (kg: the weight of that mass, standard g).
LOAD_UNITS: dict[str, float] = {k: FORCE_UNITS[k] for k in ("kg", "g", "N", "kgf", "lbf", "lb")}


def check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """``value`` if it is one of ``allowed`` (None and "" mean not given); else a ValueError."""
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def as_dict() -> dict[str, Any]:
    """Everything above as JSON-ready data, for the pages."""
    return {
        "intended_use": INTENDED_USE,
        "positions": list(POSITIONS),
        "categories": list(CATEGORIES),
        "short_leg_sides": list(SHORT_LEG_SIDES),
        "block_sides": list(BLOCK_SIDES),
        "landmarks": [{"name": n, "label": LANDMARK_LABELS[n]} for n in LANDMARKS],
        "angle_range_deg": list(ANGLE_RANGE_DEG),
        "body_weight_range_kg": list(BODY_WEIGHT_RANGE_KG),
        "max_blocks": MAX_BLOCKS,
        "max_note_chars": MAX_NOTE_CHARS,
        "max_event_text_chars": MAX_EVENT_TEXT_CHARS,
        "subject_code_pattern": SUBJECT_CODE_RE.pattern,
        "subject_code_hint": SUBJECT_CODE_HINT,
        "person_event_kinds": list(PERSON_EVENT_KINDS),
        "text_event_kinds": list(TEXT_EVENT_KINDS),
        "detected_event_kinds": list(DETECTED_EVENT_KINDS),
        "event_kinds": list(EVENT_KINDS),
        "statuses": list(STATUSES),
        "sessions_page": SESSIONS_PAGE,
        "compare_sessions": list(COMPARE_SESSIONS),
        "counters": [{"name": k, "label": v, "problem": k not in DATA_COUNTERS}
                     for k, v in COUNTER_LABELS.items()],
        "units": [{"name": u, "newtons": n} for u, n in OUTPUT_UNITS.items()],
        "load_units": [{"name": u, "newtons": n} for u, n in LOAD_UNITS.items()],
    }
