"""Pressure mats: per-frame measures, block regions and patient orientation."""

from sensing.mat.blocks import session_block_channels, stored_regions
from sensing.mat.live import live_frame, live_image, live_payload
from sensing.mat.measures import (
    PRESSURE_UNITS,
    MatMeasures,
    frame_measures,
    sensel_area_cm2,
    total_unit,
)
from sensing.mat.orientation import mat_extent_mm, orientation, patient_view, sensel_to_mm
from sensing.mat.regions import (
    Region,
    block_channels,
    check_regions,
    find_regions,
    region_measures,
    regions_for_session,
)

__all__ = [
    "PRESSURE_UNITS",
    "MatMeasures",
    "Region",
    "block_channels",
    "check_regions",
    "find_regions",
    "frame_measures",
    "live_frame",
    "live_image",
    "live_payload",
    "mat_extent_mm",
    "orientation",
    "patient_view",
    "region_measures",
    "regions_for_session",
    "sensel_area_cm2",
    "sensel_to_mm",
    "session_block_channels",
    "stored_regions",
    "total_unit",
]
