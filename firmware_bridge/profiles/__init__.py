"""Device profiles: TOML files that say how a device talks and what its numbers mean.

Built-in profiles live beside this module as ``<name>.toml``; a user may point at any file.
The format is documented in docs/profiles.md. Reading a profile checks it against the schema
(``schema.py``: types, ranges, unknown keys at every level); its protocol checks the rest
(``firmware_bridge.protocols.check_profile``). A bad profile is one line (``faults.py``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles.faults import refuse, schema_fault
from firmware_bridge.profiles.model import Channel, Matrix, Profile, SerialSettings
from firmware_bridge.profiles.rules import show, show_key
from firmware_bridge.profiles.schema import ProfileTable
from firmware_bridge.words import TIME_UNITS as TIME_UNITS  # the text protocols read it here

__all__ = ["TIME_UNITS", "Channel", "Matrix", "Profile", "SerialSettings", "builtin_names",
           "builtin_profiles", "load_profile", "parse_profile", "refuse", "show", "show_key"]


def parse_profile(text: str, origin: str = "<text>") -> Profile:
    """Parse and check profile TOML text against the schema; ``origin`` names it in errors.

    What the profile's protocol alone knows is checked by
    ``firmware_bridge.protocols.check_profile``, as a decoder is made.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{origin}: not valid TOML: {err}") from err
    try:
        table = ProfileTable.model_validate(doc)
    except ValidationError as err:
        raise schema_fault(err, origin) from err
    return table.profile(text, origin)


def parse_stored_profile(text: str, origin: str) -> Profile:
    """A profile a session was recorded with: checked as any profile, but one an older sotlog
    took and this one refuses (a stricter rule since) still reads, as it was, so its session
    opens. Only TOML that is not a profile at all is a ProfileError."""
    try:
        return parse_profile(text, origin)
    except ProfileError:
        pass
    try:
        doc = tomllib.loads(text)
        matrix = doc.get("matrix")
        return Profile(
            name=str(doc["name"]), protocol=str(doc["protocol"]),
            description=str(doc.get("description", "")),
            serial=SerialSettings(**doc.get("serial", {})), options=dict(doc.get("options", {})),
            channels=tuple(Channel(**c) for c in doc.get("channels", [])),
            matrix=Matrix(**{**matrix, "pitch_mm": tuple(matrix.get("pitch_mm", (10.0, 10.0)))})
            if matrix else None,
            nominal_rate_hz=doc.get("nominal_rate_hz"), stall_after_s=doc.get("stall_after_s"),
            source=text, path=origin)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as err:
        raise ProfileError(f"{origin}: not a profile sotlog can read ({err})") from err


def builtin_names() -> list[str]:
    """Names of the profiles that ship with sotlog."""
    return list(_builtin_names())


@cache
def _builtin_names() -> tuple[str, ...]:  # the package's files do not change while it runs
    folder = resources.files(__name__)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name, or a profile file by path (UTF-8 text, a BOM allowed)."""
    text_name = str(name_or_path)
    if text_name in _builtin_names():
        text = resources.files(__name__).joinpath(f"{text_name}.toml").read_text("utf-8")
        return parse_profile(text, f"builtin:{text_name}")
    path = Path(name_or_path)
    try:
        is_file = path.suffix == ".toml" or path.exists()
    except OSError as err:  # a name too long for a path, say
        raise ProfileError(f"unknown profile {text_name[:60]!r}: {err.strerror}") from err
    if is_file:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ProfileError(f"cannot read profile {path}: {err.strerror}") from err
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ProfileError(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at "
                               f"offset {err.start}); save the file as UTF-8") from err
        return parse_profile(text, str(path))
    known = ", ".join(_builtin_names())
    raise ProfileError(f"unknown profile {text_name!r} (built-in: {known}; or give a .toml path)")


def builtin_profiles() -> list[Profile]:
    """Every built-in profile, loaded and checked against the schema."""
    return [load_profile(n) for n in _builtin_names()]
