"""The tare on a live device, and the other checks a session gets at its start and end.

``take_tare`` averages the next frames, judges them by ``sensing.calibration.tare``'s rule and
returns the zero; ``end_checks`` runs the checks of a stored session as it closes and stores
their warnings. The recording service calls both; faces never do.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import CalibrationError, MetadataError, SotlogError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile
from sensing.calibration.capture import FrameTap
from sensing.calibration.tare import check_tare, forced, refusal, tare_offsets
from sensing.metrics.checks import Finding, session_saturation, zero_drift
from sensing.plainjson import dumps
from sensing.recording.setup import channel_names
from sensing.store.sessions import Store
from sensing.vocabulary import (
    MAX_EVENT_DATA_BYTES,
    MAX_EVENT_TEXT_CHARS,
    PERSON_EVENT_KINDS,
    TEXT_EVENT_KINDS,
)

TARE_GRACE_S = 2.0  # how much longer than the tare window to wait for its frames
MIN_TARE_FRAMES = 3


def take_tare(bridge: Bridge, profile: Profile, before: dict[str, Any], seconds: float,
              force: bool) -> tuple[dict[str, Any], str]:
    """``(tare data, event text)`` over the next ``seconds`` of frames, judged against the
    conversion in force ``before``; TareRefused unless fit (or ``force``)."""
    frames = collect(bridge, seconds, profile.nominal_rate_hz)
    data = tare_offsets(frames, channel_names(profile), profile.matrix, before)
    problems = check_tare(data, profile, before)
    if problems and not force:
        raise refusal(problems)
    if problems:
        data = forced(data, problems)
    data.update(host_time_start=float(frames.host_time[0]),
                host_time_end=float(frames.host_time[-1]))
    text = f"mean of {data['frames']} frames" + (
        " (taken anyway: " + "; ".join(p.text for p in problems) + ")" if problems else "")
    return data, text


def end_checks(store: Store, session_id: int) -> list[Finding]:
    """Zero drift and saturation over the stored session; each warning stored as an event."""
    try:
        with store.session(session_id) as session:
            info = session.info
            findings = [*zero_drift(session), *session_saturation(session)]
            at = info.duration_s
    except SotlogError as err:  # the session is stored; its checks could not be read
        findings, at = [Finding("end_checks", "", f"end checks not run: {err}", True)], 0.0
    for f in findings:
        if f.warn:
            store.add_event(session_id, "warning", f.text,
                            {"check": f.check, "channel": f.channel, **f.data}, time_s=at,
                            source="sotlog")
    return findings


def person_event(kind: str, text: str, data: dict[str, Any] | None = None) -> str:
    """The text of a person's event, checked: a known kind, text where it needs some and not
    too much, and a little data at most."""
    if kind not in PERSON_EVENT_KINDS:
        raise MetadataError(f"event kind must be one of {', '.join(PERSON_EVENT_KINDS)}, "
                            f"not {kind!r}")
    text = text.strip()
    if kind in TEXT_EVENT_KINDS and not text:
        raise MetadataError(f"a {kind} needs some text")
    if len(text) > MAX_EVENT_TEXT_CHARS:
        raise MetadataError(f"an event's text is at most {MAX_EVENT_TEXT_CHARS} characters, "
                            f"not {len(text)}")
    size = len(dumps(data or {}).encode())
    if size > MAX_EVENT_DATA_BYTES:
        raise MetadataError(f"an event's data is at most {MAX_EVENT_DATA_BYTES} bytes of JSON, "
                            f"not {size}")
    return text


def collect(bridge: Bridge, seconds: float, rate_hz: float | None) -> FrameBlock:
    """The next ``seconds`` of frames: ``seconds * rate_hz`` of them when the device has a
    nominal rate (the same count every time), else those that arrive in that time."""
    want = max(MIN_TARE_FRAMES, round(seconds * rate_hz)) if rate_hz else None
    tap = FrameTap()
    start = time.monotonic()
    bridge.add_listener(tap)
    blocks: list[FrameBlock] = []
    have = 0
    try:
        deadline = start + seconds + TARE_GRACE_S
        while time.monotonic() < deadline:
            block = tap.get(0.1)
            if block is not None and len(block):
                blocks.append(block)
                have += len(block)
                if (have >= want) if want else block.host_time[-1] >= start + seconds:
                    break
    finally:
        bridge.remove_listener(tap)
    if not blocks:
        raise CalibrationError(f"no data arrived from the device during the {seconds:g} s tare")
    frames = FrameBlock.concat(blocks)
    keep = np.arange(len(frames)) < want if want else frames.host_time <= start + seconds
    if not keep.any():
        return frames
    return frames.take(keep)
