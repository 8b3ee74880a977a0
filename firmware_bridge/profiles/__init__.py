"""Device profiles: TOML files that say how a device talks and what its numbers mean.

Built-in profiles live beside this module as ``<name>.toml``; a user may point at any file.
The format is documented in docs/profiles.md. Unknown keys are errors, so a typo never passes
silently.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles.model import Channel, Matrix, Profile, SerialSettings
from firmware_bridge.words import BLOCK_SIDES, FORCE_UNITS, OTHER_UNITS, PROTOCOLS
from firmware_bridge.words import TIME_UNITS as TIME_UNITS  # the text protocols read it here

_TOP_KEYS = {"name", "protocol", "description", "serial", "options", "channels", "matrix",
             "nominal_rate_hz"}
_SERIAL_KEYS = set(SerialSettings.__dataclass_fields__)
_CHANNEL_KEYS = set(Channel.__dataclass_fields__)
_MATRIX_KEYS = set(Matrix.__dataclass_fields__)


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, origin: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProfileError(f"{origin}: unknown key(s) {', '.join(unknown)} in {where}")


def parse_profile(text: str, origin: str = "<text>") -> Profile:
    """Parse and validate profile TOML text; ``origin`` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{origin}: not valid TOML: {err}") from err
    _check_keys(doc, _TOP_KEYS, "the top level", origin)
    for key in ("name", "protocol"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ProfileError(f"{origin}: '{key}' is required and must be a string")
    if doc["protocol"] not in PROTOCOLS:
        known = ", ".join(sorted(PROTOCOLS))
        raise ProfileError(f"{origin}: unknown protocol {doc['protocol']!r} (known: {known})")
    serial_doc = doc.get("serial", {})
    _check_keys(serial_doc, _SERIAL_KEYS, "[serial]", origin)
    try:
        serial = SerialSettings(**serial_doc)
    except TypeError as err:
        raise ProfileError(f"{origin}: [serial]: {err}") from err

    channels = []
    for i, ch in enumerate(doc.get("channels", [])):
        _check_keys(ch, _CHANNEL_KEYS, f"[[channels]] #{i + 1}", origin)
        if "name" not in ch:
            raise ProfileError(f"{origin}: [[channels]] #{i + 1} needs a 'name'")
        if ch.get("block") not in (None, *BLOCK_SIDES):
            raise ProfileError(f"{origin}: channel {ch['name']!r}: block must be left or right")
        unit = ch.get("unit", "counts")
        if unit not in FORCE_UNITS and unit not in OTHER_UNITS:
            raise ProfileError(f"{origin}: channel {ch['name']!r}: unknown unit {unit!r}")
        channels.append(Channel(**ch))
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ProfileError(f"{origin}: channel names must be unique")

    matrix = None
    if "matrix" in doc:
        m = dict(doc["matrix"])
        _check_keys(m, _MATRIX_KEYS, "[matrix]", origin)
        if "pitch_mm" in m:
            p = m["pitch_mm"]
            m["pitch_mm"] = (float(p), float(p)) if isinstance(p, int | float) else tuple(p)
        try:
            matrix = Matrix(**m)
        except TypeError as err:
            raise ProfileError(f"{origin}: [matrix]: {err}") from err
        if matrix.rows < 1 or matrix.cols < 1:
            raise ProfileError(f"{origin}: [matrix] rows and cols must be positive")
        if matrix.head_edge not in ("top", "bottom", "left", "right"):
            raise ProfileError(f"{origin}: [matrix] head_edge must be top, bottom, left or right")
        _check_matrix(matrix, origin)
    if matrix is None and not channels:
        raise ProfileError(f"{origin}: a profile needs [[channels]] or a [matrix]")
    if not isinstance(doc.get("options", {}), dict):
        raise ProfileError(f"{origin}: 'options' must be a table ([options])")
    rate = doc.get("nominal_rate_hz")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                             or rate <= 0):
        raise ProfileError(f"{origin}: nominal_rate_hz must be a positive number")

    return Profile(
        name=doc["name"],
        protocol=doc["protocol"],
        description=doc.get("description", ""),
        serial=serial,
        options=dict(doc.get("options", {})),
        channels=tuple(channels),
        matrix=matrix,
        nominal_rate_hz=doc.get("nominal_rate_hz"),
        source=text,
        path=origin,
    )


def _check_matrix(m: Matrix, origin: str) -> None:
    """The [matrix] values a typo could break: side names, unit, dtype, range, pitch."""
    import numpy as np

    if m.patient_left not in BLOCK_SIDES:
        raise ProfileError(f"{origin}: [matrix] patient_left must be left or right")
    if m.unit not in FORCE_UNITS and m.unit not in OTHER_UNITS:
        raise ProfileError(f"{origin}: [matrix] unknown unit {m.unit!r}")
    try:
        np.dtype(m.dtype)
    except TypeError as err:
        raise ProfileError(f"{origin}: [matrix] dtype {m.dtype!r} is not a numpy type") from err
    if not m.raw_min < m.raw_max:
        raise ProfileError(f"{origin}: [matrix] raw_min must be below raw_max")
    if len(m.pitch_mm) != 2 or not all(p > 0 for p in m.pitch_mm):
        raise ProfileError(f"{origin}: [matrix] pitch_mm must be one or two positive numbers")


def builtin_names() -> list[str]:
    """Names of the profiles that ship with sotlog."""
    folder = resources.files(__name__)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name, or a profile file by path."""
    text_name = str(name_or_path)
    if text_name in builtin_names():
        text = resources.files(__name__).joinpath(f"{text_name}.toml").read_text("utf-8")
        return parse_profile(text, f"builtin:{text_name}")
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text("utf-8")
        except OSError as err:
            raise ProfileError(f"cannot read profile {path}: {err.strerror}") from err
        return parse_profile(text, str(path))
    known = ", ".join(builtin_names())
    raise ProfileError(f"unknown profile {text_name!r} (built-in: {known}; or give a .toml path)")


def builtin_profiles() -> list[Profile]:
    return [load_profile(n) for n in builtin_names()]
