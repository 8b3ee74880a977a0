"""Wire protocols, one module each, chosen by name from a registry and imported lazily.

A decoder is fed bytes in chunks of any size and returns the frames it completed. It never reads
the port itself, and it never raises on bad bytes: it counts them and returns a Notice. Every
byte it was fed is decoded, undecodable or held (``Counters``; docs/wire.md).
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import Counters, FrameBlock, Notice
from firmware_bridge.profiles import Matrix, Profile, refuse, show, show_key
from firmware_bridge.words import PROTOCOLS


@dataclass
class Decoded:
    """What one feed produced: completed frames (maybe none) and notices (maybe none)."""

    frames: FrameBlock | None = None
    notices: list[Notice] = field(default_factory=list)


class Decoder(abc.ABC):
    """Turns bytes into frames for one profile. Subclasses set ``name`` and implement
    ``read_size`` and ``feed``."""

    name: ClassVar[str]

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.counters = Counters()

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame: ``(channels,)`` or ``(rows, cols)``."""
        return self.profile.frame_shape

    @classmethod
    @abc.abstractmethod
    def check_profile(cls, profile: Profile) -> None:
        """Refuse a profile this protocol cannot read (the schema has passed it): a ProfileError
        of one line naming the key. ``make_decoder`` calls it before building a decoder."""

    @classmethod
    @abc.abstractmethod
    def read_size(cls, profile: Profile) -> int | None:
        """How a port hands this protocol's bytes over, for cutting a saved file into reads: the
        size of one frame in bytes, or None for one line per read."""

    @abc.abstractmethod
    def feed(self, data: bytes, host_time: float) -> Decoded:
        """Decode ``data`` that arrived at ``host_time`` (monotonic seconds)."""

    def feed_reads(self, data: bytes, starts: np.ndarray, times: np.ndarray) -> Decoded:
        """Decode consecutive reads at once: ``data`` is their bytes joined, read ``i`` starts at
        ``starts[i]`` (the first at 0) and arrived at ``times[i]``.

        The same frames, notices and counters as feeding each read in turn, each frame stamped
        with the time of the read its last byte arrived in (how import and reparse decode a
        stored capture). This one feeds read by read; a protocol with a bulk path overrides it.
        """
        ends = [*starts[1:].tolist(), len(data)]
        blocks: list[FrameBlock] = []
        notices: list[Notice] = []
        for start, end, t in zip(starts.tolist(), ends, times.tolist(), strict=True):
            out = self.feed(data[start:end], t)
            if out.frames is not None and len(out.frames):
                blocks.append(out.frames)
            notices.extend(out.notices)
        return Decoded(FrameBlock.concat(blocks) if blocks else None, notices)

    def flush(self, host_time: float, cut: bool = False) -> Decoded:
        """End of stream: afterwards the decoder holds nothing (``held_bytes == 0``).

        ``cut=False``, the stream really ended: what can be decoded is (a last line without
        its line end), the rest is undecodable. ``cut=True``, the stream was cut off (a
        disconnect, the bridge stopping, the end of a recording or of an imported file): the
        unfinished line or frame it cut short counts as ``cut_bytes`` (no error of the
        device's), whole lines still held are judged, and no frames come out.
        """
        return Decoded()

    @property
    def held_bytes(self) -> int:
        """Bytes fed but not judged yet (a partial line or frame, lines awaiting a layout)."""
        return self.counters.held_bytes

    def poll_request(self) -> bytes | None:
        """Bytes the bridge writes to ask a polled device for its next frame; None if not polled."""
        return None

    def start_request(self) -> bytes | None:
        """Bytes the bridge writes once after opening the port; None if nothing is needed."""
        return None


def decoder_class(name: str) -> type[Decoder]:
    """The decoder class registered under ``name``; a missing module is a ProtocolError."""
    try:
        module_name, class_name = PROTOCOLS[name]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ProtocolError(f"unknown protocol {name!r} (known: {known})") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ProtocolError(f"protocol {name!r} cannot be loaded: {err}") from err
    cls: type[Decoder] = getattr(module, class_name)
    return cls


def _checked(profile: Profile) -> type[Decoder]:
    cls = decoder_class(profile.protocol)
    cls.check_profile(profile)
    return cls


def check_profile(profile: Profile) -> None:
    """Refuse ``profile`` if its protocol cannot read it: what a recording checks after the
    schema, and all ``sotlog profiles FILE`` adds to loading the file."""
    _checked(profile)


def make_decoder(profile: Profile) -> Decoder:
    """A fresh decoder for ``profile``, checked by its protocol first."""
    return _checked(profile)(profile)


def read_size(profile: Profile) -> int | None:
    """Bytes per read of ``profile``'s protocol as a port delivers them: one frame's size, or
    None for one line per read (text protocols)."""
    return _checked(profile).read_size(profile)


def refuse_options(profile: Profile, known: Collection[str]) -> None:
    """Refuse an ``[options]`` key that ``profile``'s protocol does not take."""
    for key in profile.options:
        if key not in known:
            raise refuse(profile, f"[options] {show_key(key)}",
                         f"unknown key for {profile.protocol} "
                         f"(known: {', '.join(known) or 'none'})")


def mat_of_shape(profile: Profile, rows: int, cols: int) -> Matrix:
    """``profile``'s matrix, refused unless it is ``rows`` x ``cols``: the only shape its device
    sends."""
    m, shape = profile.matrix, f"{rows}x{cols}"
    if m is None:
        raise refuse(profile, "[[channels]]", f"{profile.protocol} reads a {shape} mat: it needs "
                                              "a [matrix], not [[channels]]")
    for key, want in (("rows", rows), ("cols", cols)):
        if getattr(m, key) != want:
            raise refuse(profile, f"[matrix] {key}", f"{profile.protocol} mats are {shape}: "
                                                     f"must be {want}, not {show(getattr(m, key))}")
    return m
