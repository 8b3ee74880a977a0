"""Ports open by URL through pyserial; failures are one-line DeviceErrors."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import serial

from firmware_bridge.errors import DeviceError
from firmware_bridge.ports import PortInfo, list_ports, open_port
from firmware_bridge.profiles import SerialSettings
from firmware_bridge.urlhandler import PACKAGE
from tests.ptydevice import PtyDevice


def test_importing_changes_nothing_and_opening_registers_the_handlers_once() -> None:
    # A fresh interpreter, so this test process's registrations do not count.
    code = (
        "import serial, firmware_bridge.ports as p; from firmware_bridge.profiles import "
        "SerialSettings as S; c = serial.protocol_handler_packages.count; "
        f"print(c({PACKAGE!r})); "
        "[p.open_port('sim://loadcells?speed=10', S()).close() for _ in range(2)]; "
        f"print(c({PACKAGE!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]


def test_open_a_pty_by_path_and_read_what_the_device_sends() -> None:
    with PtyDevice() as dev:
        port = open_port(dev.path, SerialSettings(baudrate=9600), timeout=0.5)
        try:
            assert port.is_open
            assert port.baudrate == 9600
            dev.write(b"1278,11.0\n")
            assert port.read_until(b"\n") == b"1278,11.0\n"
            port.write(b"A")
            assert dev.read_available(timeout=1.0) == b"A"
        finally:
            port.close()


def test_open_loop_url() -> None:
    port = open_port("loop://", SerialSettings(), timeout=0.5)
    try:
        port.write(b"hello")
        assert port.read(5) == b"hello"
    finally:
        port.close()


def test_missing_device_path_is_one_line_device_error(tmp_path) -> None:
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(DeviceError) as info:
        open_port(missing, SerialSettings())
    assert str(info.value) == f"cannot open {missing}: no such device"
    assert isinstance(info.value.__cause__, serial.SerialException)


def test_unknown_scheme_is_device_error() -> None:
    with pytest.raises(DeviceError) as info:
        open_port("nosuch://x", SerialSettings())
    assert str(info.value) == "cannot open nosuch://x: unknown port scheme 'nosuch'"


def test_refused_socket_is_one_line_device_error() -> None:
    # A port that was free a moment ago and has nobody listening: the connection is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    url = f"socket://127.0.0.1:{free_port}"
    with pytest.raises(DeviceError) as info:
        open_port(url, SerialSettings())
    msg = str(info.value)
    assert msg.startswith(f"cannot open {url}: ")
    assert "\n" not in msg and "Errno" not in msg


def test_bad_serial_setting_is_device_error() -> None:
    with pytest.raises(DeviceError) as info:
        open_port("loop://", SerialSettings(parity="X"))
    assert str(info.value).startswith("cannot open loop://: ")
    assert "\n" not in str(info.value)


def test_list_ports_includes_the_simulated_devices() -> None:
    ports = list_ports()
    assert all(isinstance(p, PortInfo) for p in ports)
    sims = [p for p in ports if p.simulated]
    urls = [p.device for p in sims]
    assert any(u.startswith("sim://loadcells?") and "protocol=lines" in u for u in urls)
    assert any(u.startswith("sim://loadcells?") and "protocol=blockframe" in u for u in urls)
    assert any(u.startswith("sim://mat?") for u in urls)
    assert all(p.description and p.profile for p in sims)
    assert not [p for p in list_ports(include_simulated=False) if p.simulated]


def test_list_ports_vid_pid_format() -> None:
    for p in list_ports(include_simulated=False):
        assert p.vid_pid is None or (len(p.vid_pid) == 9 and p.vid_pid[4] == ":")


def test_a_file_that_is_not_a_serial_port(tmp_path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("not a tty")
    with pytest.raises(DeviceError) as info:
        open_port(str(plain), SerialSettings())
    assert str(info.value) == f"cannot open {plain}: not a serial port"
