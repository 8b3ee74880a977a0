"""A lost port is reopened only when the same device is back (docs/wire.md): another process's
pseudo-terminal at the freed number, or another USB device at the port, is never read."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial.tools.list_ports
from serial.tools.list_ports_common import ListPortInfo

from firmware_bridge.bridge import Bridge
from firmware_bridge.ports import PortWatch, describe_port, list_ports, port_identity
from firmware_bridge.profiles import Profile
from tests.firmware_bridge.test_bridge import WAIT, Collector, blockframe_bytes, started, unplugged
from tests.ptydevice import PtyDevice, plug


def count_looks(bridge: Bridge) -> threading.Semaphore:
    """Released each time the bridge looks at what is at its port."""
    looks = threading.Semaphore(0)
    look: Callable[[], Any] = bridge._watch.identity

    def counted() -> Any:
        found = look()
        looks.release()
        return found

    bridge._watch.identity = counted  # type: ignore[method-assign]
    return looks


def looked(looks: threading.Semaphore, times: int = 3) -> None:
    for _ in range(times):
        assert looks.acquire(timeout=WAIT)


def pty_at(path: str, held: list[PtyDevice]) -> PtyDevice | None:
    """Open pseudo-terminals (kept in ``held``) until one takes ``path``, the number just
    freed; None if another process holds it now."""
    for _ in range(20):
        held.append(PtyDevice())
        if held[-1].path == path:
            return held[-1]
    return None


@pytest.fixture()
def ptys() -> Iterator[list[PtyDevice]]:
    held: list[PtyDevice] = []
    yield held
    for dev in held:
        dev.close()


def test_another_process_pty_at_the_freed_number_is_not_opened(
        bridges: Any, loadcells: Profile, ptys: list[PtyDevice]) -> None:
    c = Collector()
    dev1 = PtyDevice()
    path = dev1.path
    try:
        bridge = started(bridges, path, loadcells, c)
        first = bridge.identity
        assert first is not None and first.kind == "pty"
        dev1.write(b"".join(blockframe_bytes(0, 5)))
        c.wait_frames(5)
        looks = count_looks(bridge)
    finally:
        dev1.close()
    c.wait_notice("disconnect")
    looked(looks, 1)  # the bridge closed its end: the number is free
    other = pty_at(path, ptys)
    wrong = c.wait_notice("wrong_device")
    looked(looks)  # and the bridge looked again and again, never opening it
    assert wrong.data["expected"] == first.text and "pseudo-terminal" in wrong.data["found"]
    assert path in wrong.detail and "not opened" in wrong.detail
    assert bridge.state == "disconnected" and bridge.refused is not None
    assert bridge.error is not None and "another device" in str(bridge.error)
    assert bridge.counters.wrong_device == 1 and bridge.counters.reconnects == 0
    if other is not None:  # its bytes are still there to read: nobody else took them
        sent = b"".join(blockframe_bytes(100, 3))
        other.write(sent)
        looked(looks)
        assert os.read(other.slave, 4096) == sent
    assert c.n_frames == 5 and "reconnect" not in c.kinds()


def test_a_stale_link_to_a_new_pty_is_refused_a_link_made_again_is_not(
        tmp_path: Path, bridges: Any, loadcells: Profile, ptys: list[PtyDevice]) -> None:
    """A link left behind now leads to whatever took the number; a link made again (udev,
    socat) names the device anew."""
    link = tmp_path / "ttyV0"
    c = Collector()
    bridge = unplugged(bridges, link, loadcells, c, b"".join(blockframe_bytes(0, 3)), 3)
    gone = os.readlink(link)
    looked(count_looks(bridge), 1)  # the bridge closed its end: the number is free
    other = pty_at(gone, ptys)
    if other is None:  # the number went to another process: make a pty the link is made for
        other = PtyDevice()
        ptys.append(other)
    else:
        c.wait_notice("wrong_device")
        assert bridge.state == "disconnected"
    plug(link, other)
    c.wait_notice("reconnect")
    other.write(b"".join(blockframe_bytes(3, 3)))
    c.wait_frames(6)
    assert bridge.counters.reconnects == 1


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


def test_another_usb_device_at_the_port_is_refused_until_the_same_one_is_back(
        tmp_path: Path, bridges: Any, loadcells: Profile, monkeypatch: pytest.MonkeyPatch,
        ptys: list[PtyDevice]) -> None:
    link = tmp_path / "ttyACM0"
    serials: dict[str, str] = {}
    fake_ports(monkeypatch, serials)
    c = Collector()

    def plug(number: str) -> PtyDevice:
        """A USB device plugged in: its port listed, then its link made (as udev does)."""
        dev = PtyDevice()
        ptys.append(dev)
        serials[dev.path] = number
        os.symlink(dev.path, link)
        return dev

    def unplug(dev: PtyDevice) -> None:
        dev.close()
        del serials[dev.path]
        link.unlink()

    dev1 = plug("A1")
    bridge = started(bridges, str(link), loadcells, c)
    assert bridge.identity is not None and bridge.identity.text == "USB 2341:0043 serial A1"
    dev1.write(b"".join(blockframe_bytes(0, 3)))
    c.wait_frames(3)
    looks = count_looks(bridge)
    unplug(dev1)
    c.wait_notice("disconnect")
    looked(looks, 1)
    dev2 = plug("B2")  # another Uno: same VID:PID, another serial number
    dev2.write(b"".join(blockframe_bytes(100, 3)))
    wrong = c.wait_notice("wrong_device")
    looked(looks)
    assert wrong.data["found"] == "USB 2341:0043 serial B2"
    assert "reconnect" not in c.kinds() and c.n_frames == 3
    unplug(dev2)
    dev3 = plug("A1")  # the same one, back
    c.wait_notice("reconnect")
    dev3.write(b"".join(blockframe_bytes(3, 3)))
    c.wait_frames(6)
    assert c.values()[:, 0].tolist() == [0, 1, 2, 3, 4, 5]  # nothing of the other device's
    assert bridge.counters.wrong_device == 1 and bridge.counters.reconnects == 1
    assert c.kinds().index("wrong_device") < c.kinds().index("reconnect")


def test_identities_of_what_is_at_a_port(tmp_path: Path) -> None:
    assert port_identity("sim://loadcells") is None  # nothing to tell devices apart by
    assert port_identity(str(tmp_path / "ttyUSB9")) is None  # nothing there
    with PtyDevice() as dev:
        found = port_identity(dev.path)
        assert found is not None and found.kind == "pty" and dev.path in found.text
        again = PortWatch(dev.path).identity()
        assert again == found  # the same look twice ...
        assert not found.same_device(again)  # ... but a pty that went away never comes back
