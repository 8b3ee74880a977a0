"""sotlog records the procedure and never judges its effect: no face or doc may claim one.

Strong claim words fail wherever they appear. Words with everyday technical meanings (a CRC is
"correct", a bug gets a "fix", throughput may "improve", a line is "treated as" undecodable) fail
only in a sentence that speaks of the patient, the body or the procedure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STRONG = re.compile(
    r"\b(cur(e|es|ed|ing|ative)|heal(s|ed|ing|th)?|diagnos\w*|therap\w*|benefit\w*|"
    r"effective(ness)?|efficacy)\b", re.IGNORECASE)
WEAK = re.compile(r"\b(treat\w*|correct\w*|fix(es|ed|ing)?|improv\w*|help(s|ed|ing))\b",
                  re.IGNORECASE)
ABOUT_PERSON_OR_PROCEDURE = re.compile(
    r"\b(patients?|spine|spinal|pelvi[cs]|posture|alignment|imbalance|subluxation|"
    r"short[- ]leg|procedure|blocking|adjustment|"
    r"sessions? (helped|worked|improved|corrected|fixed))\b",
    re.IGNORECASE)

# What people read: docs, the web page, report and plot text, command help.
SCANNED = ["README.md", "docs", "dashboard", "sensing", "firmware_bridge/firmware",
           "firmware_bridge/profiles"]
SUFFIXES = {".md", ".html", ".js", ".py", ".toml", ".txt", ".ino", ".svg"}  # not CSS: no prose


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text) if s.strip()]


def claims(text: str) -> list[str]:
    """Sentences of ``text`` that judge the procedure's effect."""
    found = []
    for s in sentences(text):
        if STRONG.search(s) or (WEAK.search(s) and ABOUT_PERSON_OR_PROCEDURE.search(s)):
            found.append(" ".join(s.split())[:160])
    return found


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        p = ROOT / name
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES
                      and "__pycache__" not in f.parts]
    return sorted(files)


def test_scanner_catches_claims() -> None:
    assert claims("Blocking corrects the pelvis.")
    assert claims("The session helped the patient.")
    assert claims("Each session improved the result.")
    assert claims("Blocking fixes a short leg.")
    assert claims("sotlog shows how effective each session was.")
    assert claims("Useful to diagnose a short leg.")
    assert claims("This heals.")
    assert not claims("A frame whose CRC is correct is kept.")
    assert not claims("Fixed a bug in the decoder; throughput improved.")
    assert not claims("A line it cannot decode is treated as undecodable.")


def test_files_are_scanned() -> None:
    names = {f.name for f in scanned_files()}
    assert {"README.md", "record.py", "live.html", "sessions.py"} <= names


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_claims(path: Path) -> None:
    found = claims(path.read_text(encoding="utf-8", errors="replace"))
    assert not found, f"{path.relative_to(ROOT)} judges the procedure: {found}"
