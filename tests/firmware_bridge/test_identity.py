"""Which device is at a port: USB serial numbers and VID:PID, pseudo-terminals, links
(docs/wire.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import serial.tools.list_ports
from serial.tools.list_ports_common import ListPortInfo

from firmware_bridge.ports import PortWatch, describe_port, list_ports, port_identity
from tests.ptydevice import PtyDevice


def fake_ports(monkeypatch: pytest.MonkeyPatch, serials: dict[str, str]) -> None:
    """``serial.tools.list_ports`` lists each path in ``serials`` as a USB adapter (an
    Arduino Uno, 2341:0043) with that serial number."""

    def comports(include_links: bool = False) -> list[ListPortInfo]:
        found = []
        for device, number in serials.items():
            p = ListPortInfo(device, skip_link_detection=True)
            p.vid, p.pid, p.serial_number = 0x2341, 0x0043, number
            p.description, p.manufacturer = "Arduino Uno", "Arduino (www.arduino.cc)"
            found.append(p)
        return found

    monkeypatch.setattr(serial.tools.list_ports, "comports", comports)


def test_list_ports_carries_the_usb_serial_number(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ports(monkeypatch, {"/dev/ttyACM7": "95530343834351A0C1E1"})
    (port,) = list_ports(include_simulated=False)
    assert (port.vid_pid, port.serial_number) == ("2341:0043", "95530343834351A0C1E1")
    assert describe_port("/dev/ttyACM7") == "Arduino Uno [2341:0043 serial 95530343834351A0C1E1]"


def test_identities_of_what_is_at_a_port(tmp_path: Path) -> None:
    assert port_identity("sim://loadcells") is None  # nothing to tell devices apart by
    assert port_identity(str(tmp_path / "ttyUSB9")) is None  # nothing there
    with PtyDevice() as dev:
        found = port_identity(dev.path)
        assert found is not None and found.kind == "pty" and dev.path in found.text
        again = PortWatch(dev.path).identity()
        assert again == found  # the same look twice ...
        assert not found.same_device(again)  # ... but a pty that went away never comes back
