"""pyserial URL handlers of sotlog: ``sim://`` (``protocol_sim.py``) for the simulated devices.

pyserial's ``serial_for_url`` looks for ``<package>.protocol_<scheme>`` in every package listed in
``serial.protocol_handler_packages``; ``register()`` adds this package to that list.
"""

from __future__ import annotations

import serial

PACKAGE = __name__


def register() -> None:
    """Let ``serial.serial_for_url`` open ``sim://`` URLs; calling it again changes nothing."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)
