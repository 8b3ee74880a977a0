"""What a session is set up with before it starts: the calibrations it reads by, and its blocks.

Both faces ask the same questions here: which calibration each channel uses (the ones named,
else the newest made with this profile, else none) and whether the blocks' channels are the
device's. The answers are findings a person sees and the session keeps as events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firmware_bridge.errors import CalibrationError, MetadataError
from firmware_bridge.profiles import Profile
from sensing.calibration.fit import with_calibrations
from sensing.mat.blocks import CHANNELS as MAT_CHANNELS
from sensing.metadata import SessionMeta
from sensing.metrics.checks import Finding, calibration_age
from sensing.store.calibrations import CalibrationStore
from sensing.store.sessions import Store


@dataclass(frozen=True)
class CalibrationChoice:
    """Which calibrations a device is read with.

    ``ids``: these records (each bringing the other channels of its run); ``use_none``: the
    profile's own scale alone; neither: the newest force calibration of each channel made with
    this profile. ``max_age_days`` is the age past which the calibration is reported.
    """

    ids: tuple[int, ...] = ()
    use_none: bool = False
    max_age_days: float | None = None

    def __post_init__(self) -> None:
        if self.ids and self.use_none:
            raise CalibrationError("give calibration ids or no calibration, not both")


def channel_names(profile: Profile) -> list[str]:
    """The channels a conversion names: the load cells, or a mat's ``total``."""
    return profile.channel_names or ["total"]


def device_channels(profile: Profile) -> list[str]:
    """The channels a block may be measured by: the load cells, or a mat's block regions."""
    return profile.channel_names or list(MAT_CHANNELS)


def choose_calibration(store: Store, profile: Profile, choice: CalibrationChoice
                       ) -> tuple[dict[str, Any], list[Finding]]:
    """The conversion dict a device starts with, and findings: what is used and how old."""
    if choice.use_none:
        return {}, []
    cals = CalibrationStore(store)
    names = channel_names(profile)
    if choice.ids:
        chosen = cals.resolve(list(choice.ids))
        wrong = [c.channel for c in chosen if c.channel not in names]
        if wrong:
            raise CalibrationError(f"profile {profile.name!r} has no channel "
                                   f"{', '.join(map(repr, wrong))} (channels: {', '.join(names)})")
    else:
        chosen = cals.latest(profile.name, names,
                             kind="mat_total" if profile.is_matrix else "loadcell")
    if not chosen:
        return {}, []
    conversion = with_calibrations({}, chosen)
    used = [Finding("calibration", c.channel,
                    f"using calibration {c.id} for {c.channel} ({c.fit.fit if c.fit else '-'}, "
                    f"by {c.by or '-'}, {c.created_utc[:10]})", False, {"calibration_id": c.id})
            for c in chosen]
    return conversion, used + calibration_age(conversion, limit_days=choice.max_age_days)


def check_blocks(meta: SessionMeta, channels: list[str]) -> None:
    """Each block's channel, when it names one, is a channel of the device, used once."""
    used = [b.channel for b in meta.blocks if b.channel]
    for name in used:
        if name not in channels:
            raise MetadataError(f"block channel {name!r} is not a channel of this device "
                                f"(channels: {', '.join(channels) or 'none'})")
    if len(set(used)) != len(used):
        raise MetadataError("each channel can measure only one block")
