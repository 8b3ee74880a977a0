"""``sim://`` URL options: one dataclass per simulated device, one parser per option.

The dataclass fields are the registry of options: a field's ``metadata`` holds its parser and a
one-line description, so parsing, the "unknown option" message and the docs come from one place.
"""

from __future__ import annotations

import dataclasses
import math
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.errors import DeviceError

Parser = Callable[[str], Any]


class _Bad(ValueError):
    """A value that does not fit its option; the text says what would fit."""


def _float_in(lo: float, hi: float, lo_open: bool = False) -> Parser:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi):
            low = f"more than {lo:g}" if lo_open else f"at least {lo:g}"
            raise _Bad(f"a number {low} and at most {hi:g}")
        return value

    return parse


def _int_in(lo: int, hi: int) -> Parser:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise _Bad(f"a whole number from {lo} to {hi}")
        return value

    return parse


def _choice(*names: str) -> Parser:
    def parse(text: str) -> str:
        if text not in names:
            raise _Bad(f"one of {', '.join(names)}")
        return text

    return parse


def _floats(lo: float, hi: float) -> Parser:
    """One number, or a comma list of numbers (one per block)."""
    one = _float_in(lo, hi)

    def parse(text: str) -> tuple[float, ...]:
        try:
            return tuple(one(part) for part in text.split(","))
        except _Bad:
            raise _Bad(f"a number from {lo:g} to {hi:g}, or a comma list of them") from None

    return parse


def _load(text: str) -> tuple[str, tuple[float, ...]]:
    """``session``, ``steps:KG,KG,...`` or ``const:KG``."""
    kind, _, args = text.partition(":")
    if kind == "session" and not args:
        return ("session", ())
    if kind in ("steps", "const") and args:
        try:
            levels = tuple(float(a) for a in args.split(","))
        except ValueError:
            levels = ()
        if levels and all(math.isfinite(v) and -50 <= v <= 400 for v in levels):
            if kind == "const" and len(levels) != 1:
                raise _Bad("const takes one value in kg, e.g. const:10")
            return ("steps", levels)
    raise _Bad("session, steps:KG,KG,... or const:KG (kg from -50 to 400)")


def _opt(default: Any, parse: Parser, text: str) -> Any:
    return field(default=default, metadata={"parse": parse, "doc": text})


@dataclass(frozen=True)
class CommonConfig:
    """Options every simulated device takes."""

    seed: int = _opt(1, _int_in(0, 2**63 - 1), "randomises the session, the sensor and the noise")
    speed: float = _opt(1.0, _float_in(0, 1000, lo_open=True), "time acceleration factor")
    session: float = _opt(120.0, _float_in(20, 86400), "seconds of one blocking cycle; repeats")
    disconnect_after: float | None = _opt(
        None, _float_in(0, 1e9, lo_open=True), "wall seconds after opening, then 'unplugged'"
    )
    down: float = _opt(0.0, _float_in(0, 3600), "wall seconds opening fails after an unplug")
    pause_after: float | None = _opt(
        None, _float_in(0, 1e9), "wall seconds after opening, then silent for pause seconds"
    )
    pause: float = _opt(1.0, _float_in(0, 3600), "wall seconds of silence after pause_after")
    buffer: int = _opt(1 << 20, _int_in(256, 1 << 28), "receive buffer bytes; overruns are lost")


@dataclass(frozen=True)
class LoadcellConfig(CommonConfig):
    """Options of ``sim://loadcells``: HX711-like load cells, one per block."""

    blocks: int = _opt(2, _int_in(1, 4), "channels, one load cell per block")
    rate: float = _opt(80.0, _float_in(0, 2000, lo_open=True), "samples per second per channel")
    protocol: str = _opt("lines", _choice("lines", "blockframe", "binary"), "wire protocol")
    gain: tuple[float, ...] | None = _opt(None, _floats(1, 1e6), "true counts per kg, per block")
    offset: tuple[float, ...] | None = _opt(
        None, _floats(-8e6, 8e6), "true zero offset in raw counts, per block"
    )
    noise: float = _opt(60.0, _float_in(0, 1e5), "sensor noise, counts RMS")
    drift: tuple[float, ...] = _opt((30.0,), _floats(-1e5, 1e5), "zero drift, counts per minute")
    load: tuple[str, tuple[float, ...]] = _opt(
        ("session", ()), _load, "session (a body on the blocks), steps:KG,... or const:KG"
    )
    hold: float = _opt(5.0, _float_in(0, 3600, lo_open=True), "seconds each step of load= is held")


@dataclass(frozen=True)
class MatConfig(CommonConfig):
    """Options of ``sim://mat``: a pressure mat under both blocks."""

    rows: int = _opt(32, _int_in(8, 128), "sensel rows (row 0 is the head edge)")
    cols: int = _opt(32, _int_in(8, 128), "sensel columns (low columns are the patient's left)")
    rate: float = _opt(30.0, _float_in(0, 500, lo_open=True), "frames per second")
    protocol: str = _opt("blockframe", _choice("blockframe", "matrix_lines"), "wire protocol")
    noise: float = _opt(2.0, _float_in(0, 1000), "sensel noise, raw RMS, before the dead band")


CONFIGS: dict[str, type[CommonConfig]] = {"loadcells": LoadcellConfig, "mat": MatConfig}


def option_docs(config: type[CommonConfig]) -> dict[str, str]:
    """Every option of a device with its one-line description, in declaration order."""
    return {f.name: f.metadata["doc"] for f in dataclasses.fields(config)}


def parse_sim_url(url: str) -> tuple[str, CommonConfig]:
    """``sim://DEVICE?opt=value&...`` -> (device name, its config); errors are DeviceError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "sim":
        raise DeviceError(f"{url!r} is not a sim:// URL")
    device = parts.netloc.lower()
    config_cls = CONFIGS.get(device)
    if config_cls is None or parts.path not in ("", "/") or parts.fragment:
        known = ", ".join(f"sim://{name}" for name in CONFIGS)
        raise DeviceError(f"sim://: unknown simulated device {url!r} (known: {known})")
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    values: dict[str, Any] = {}
    try:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise DeviceError(f"sim://{device}: cannot read the options {parts.query!r}") from None
    for name, text in pairs:
        if name not in fields:
            known = ", ".join(fields)
            raise DeviceError(f"sim://{device}: unknown option {name!r} (known: {known})")
        if name in values:
            raise DeviceError(f"sim://{device}: option {name!r} given twice")
        try:
            values[name] = fields[name].metadata["parse"](text)
        except _Bad as err:
            raise DeviceError(f"sim://{device}: option {name}={text!r} must be {err}") from None
    config = config_cls(**values)
    if isinstance(config, LoadcellConfig):
        for name in ("gain", "offset", "drift"):
            given = getattr(config, name)
            if given is not None and len(given) not in (1, config.blocks):
                raise DeviceError(
                    f"sim://{device}: option {name} needs 1 or {config.blocks} values "
                    f"(one per block), not {len(given)}"
                )
    return device, config
