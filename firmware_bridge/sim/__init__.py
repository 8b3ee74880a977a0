"""Simulated devices: load cells and a pressure mat under a body on SOT blocks, for tests and demos.

Open them like any port, ``serial.serial_for_url("sim://loadcells?blocks=2&speed=10")``, once
``firmware_bridge.urlhandler.register()`` (``firmware_bridge.ports.open_port`` calls it) has
registered the ``sim://`` scheme. Samples fall due on the wall clock (``time.monotonic``) at
``rate * speed`` per second, as a real device sends them. The same models are plain functions here
(``loadcell_kg``, ``loadcell_counts``, ``loadcell_model``, ``mat_frame``, ``mat_model``), so tests
and the dashboard can know the true values behind the bytes. See docs/simulator.md.

Options of every device (``sim://DEVICE?name=value&...``; an unknown option or a bad value is
an error naming what would fit):

- ``seed`` (int, default 1): randomises the session (load, left/right share, breathing, timing),
  the sensor (gain, offset) and the noise. The same seed gives the same bytes.
- ``speed`` (default 1): time acceleration; ``speed=10`` sends ten times as much data per wall
  second, with the device clock running ten times as fast.
- ``session`` (seconds, default 120, at least 20): one blocking cycle, then it repeats.
- ``disconnect_after`` (wall seconds, default none): then reads, writes and ``in_waiting`` raise
  ``SerialException`` as if the cable were pulled.
- ``down`` (wall seconds, default 0): after such an unplug, opening the same URL fails this long.
- ``pause_after`` (wall seconds, default none) and ``pause`` (wall seconds, default 1): the
  device falls silent, port open, for ``pause`` seconds; samples falling due meanwhile are
  never sent (a blockframe sequence shows them missing), then it goes on.
- ``buffer`` (bytes, default 1 MiB): the receive buffer; samples falling due while it is full are
  lost, like a UART overrun, and counted in ``port.overruns`` (blockframe shows a sequence gap).

``sim://loadcells`` (HX711-like cells, one per block; raw signed 24-bit counts
``offset + gain*kg + drift*t/60 + noise``, saturating at the 24-bit ends as the chip does):

- ``blocks`` (1-4, default 2): channels ``left``, ``right``, ``left2``, ``right2`` in that order;
  cells alternate sides and two cells on one side share that side's load.
- ``rate`` (Hz, default 80): samples per second per channel.
- ``protocol`` (``lines`` default, ``blockframe`` or ``binary``): ``lines`` sends the header
  ``time_ms,left,right`` then ``millis,counts,counts`` lines with CRLF, like an Arduino sketch;
  ``blockframe`` sends int32 frames with sequence number and device time in microseconds;
  ``binary`` the records of profile ``sim-loadcells-binary``.
- ``gain`` (counts per kg, default ~2e4 by seed), ``offset`` (raw counts at zero load, default
  8e3..5e4 by seed), ``drift`` (counts per minute, default 30): one value, or a comma list with
  one per block. These are the TRUE values a calibration must recover.
- ``noise`` (counts RMS, default 60).
- ``load`` (default ``session``): ``session`` is a body on the blocks; ``steps:0,5,10,20`` holds
  each level in kg on every cell for ``hold`` seconds, then repeats; ``const:KG`` holds one level.
- ``hold`` (seconds, default 5): how long each step of ``load=steps:...`` lasts.

``sim://mat`` (a pressure mat under both blocks; uint16 raw values 0..4095):

- ``rows``, ``cols`` (8-128, default 32): row 0 is the head edge, low columns the patient's left;
  the two block footprints lie in the lower half, one each side of the midline.
- ``rate`` (frames per second, default 30).
- ``protocol`` (``blockframe`` default, or ``matrix_lines``: one line per frame, all values row by
  row, comma-separated, CRLF, no time column).
- ``noise`` (raw RMS, default 2): readings under twice the noise RMS read 0, like an FSR's
  threshold, so most of the mat reads 0.

The body session: blocks unloaded for 3-6 s, a body settling on over 2-5 s (30-45 kg on the blocks,
split unequally left/right, 54/46 to 60/40), breathing at 0.2-0.3 Hz of 2-5 % of the load, a slow
left/right shift of 2-4 %, then lifted off over 1-2.5 s and unloaded for 3-6 s (phases shrink for
short cycles). ``BodySession.from_seed(seed, session)`` holds the exact times and values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware_bridge.sim.devices import DEVICES, SimDevice, make_device
    from firmware_bridge.sim.loadcells import (
        CHANNEL_NAMES,
        LoadcellDevice,
        LoadcellModel,
        loadcell_counts,
        loadcell_kg,
        loadcell_model,
    )
    from firmware_bridge.sim.mat import MatDevice, MatModel, mat_frame, mat_model
    from firmware_bridge.sim.options import (
        CONFIGS,
        CommonConfig,
        LoadcellConfig,
        MatConfig,
        option_docs,
        parse_sim_url,
    )
    from firmware_bridge.sim.scenario import BodySession, Steps

__all__ = [
    "CHANNEL_NAMES", "CONFIGS", "DEVICES", "BodySession", "CommonConfig", "LoadcellConfig",
    "LoadcellDevice", "LoadcellModel", "MatConfig", "MatDevice", "MatModel", "SimDevice", "Steps",
    "loadcell_counts", "loadcell_kg", "loadcell_model", "make_device", "mat_frame", "mat_model",
    "option_docs", "parse_sim_url",
]

# The module each name comes from, imported when the name is first asked for: the models load
# numpy, and what reads only a URL's options (``implied``: the profile a device implies, which
# ``sotlog ports`` lists) does not need them.
_HOME = {
    **dict.fromkeys(("DEVICES", "SimDevice", "make_device"), "devices"),
    **dict.fromkeys(("CHANNEL_NAMES", "LoadcellDevice", "LoadcellModel", "loadcell_counts",
                     "loadcell_kg", "loadcell_model"), "loadcells"),
    **dict.fromkeys(("MatDevice", "MatModel", "mat_frame", "mat_model"), "mat"),
    **dict.fromkeys(("CONFIGS", "CommonConfig", "LoadcellConfig", "MatConfig", "option_docs",
                     "parse_sim_url"), "options"),
    **dict.fromkeys(("BodySession", "Steps"), "scenario"),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
