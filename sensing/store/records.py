"""What reading a stored session gives: its header, samples, events and edits, as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firmware_bridge.profiles import Profile
from firmware_bridge.words import decoded_nothing
from sensing.metadata import SessionMeta
from sensing.store.listing import Listed


@dataclass
class SessionInfo:
    """A session's header: metadata, device, profile, timing, status and counts."""

    id: int
    uuid: str
    meta: SessionMeta
    profile: Profile
    profile_name: str
    port: str
    device: str
    software_version: str
    format_version: int
    started_utc: str
    ended_utc: str | None
    t0_host: float
    status: str
    counters: dict[str, Any]
    conversion: dict[str, Any]
    frame_shape: tuple[int, ...]
    channel_names: list[str]
    n_frames: int
    duration_s: float  # session time of the last stored frame; 0 with no frames
    dtype: str | None = None
    end_reason: str = ""  # why the recording ended, in a person's words
    face: str = ""  # what recorded it: record, dashboard, import
    damaged: str = ""  # what of it the store cannot read (see ``sotlog check``), if anything
    station: str | None = None  # the station it was recorded on (a shared store), else None

    @property
    def is_matrix(self) -> bool:
        return self.profile.is_matrix

    @property
    def decoded_nothing(self) -> str | None:
        """The red line when bytes came and none made a frame; None otherwise."""
        return decoded_nothing(self.counters)

    def listed(self) -> Listed:
        """What a list shows of this session."""
        return Listed(
            id=self.id, uuid=self.uuid, meta=self.meta.as_dict(), profile_name=self.profile_name,
            port=self.port, device=self.device, software_version=self.software_version,
            started_utc=self.started_utc, ended_utc=self.ended_utc, status=self.status,
            counters=self.counters, frame_shape=self.frame_shape,
            channel_names=self.channel_names, n_frames=self.n_frames,
            duration_s=self.duration_s, end_reason=self.end_reason, face=self.face,
            damaged=self.damaged, station=self.station)


@dataclass
class Samples:
    """Values ready to plot or export: one column per channel (or the mat's total)."""

    time_s: np.ndarray
    device_time_s: np.ndarray
    names: list[str]
    values: np.ndarray  # (n, k) float64
    units: list[str]


@dataclass
class Event:
    """A time-stamped mark on a session, typed by a person or detected by the device or sotlog."""

    id: int
    session_id: int
    time_s: float
    host_time: float
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    source: str = "person"
    created_utc: str = ""


@dataclass
class Edit:
    """One change of a session's metadata or conversion after it was created."""

    id: int
    session_id: int
    at_utc: str
    field: str
    old: Any
    new: Any
    reason: str = ""
    undoes: int | None = None  # the edit this one undid
    undone_by: int | None = None  # the edit that undid this one
    text: str = ""  # the change in words a person reads
    undoable: bool = True
    not_undoable_because: str = ""
