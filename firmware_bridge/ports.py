"""Ports by URL: open any serial port, socket or simulated device through pyserial's serial_for_url.

Opening a port registers sotlog's own URL handlers (``sim://``) with pyserial first, so a
simulated device is opened by the very same code path as /dev/ttyUSB0, COM3 or socket://.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

import serial
import serial.tools.list_ports

from firmware_bridge.errors import DeviceError
from firmware_bridge.profiles import SerialSettings
from firmware_bridge.urlhandler import register

# errno -> the words a person reads after "cannot open <port>: ".
_ERRNO_WORDS = {
    errno.ENOENT: "no such device",
    errno.ENODEV: "no such device",
    errno.ENXIO: "no such device",
    errno.EACCES: "permission denied (on Linux, join the 'dialout' group)",
    errno.EPERM: "permission denied",
    errno.EBUSY: "device busy (is another program using it?)",
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out",
    errno.ENOTTY: "not a serial port",
}
# pyserial wraps its messages as "[Errno 2] could not open port X: [Errno 2] ...": keep the core.
_NOISE = re.compile(r"\[Errno -?\d+\]\s*|could not (open|configure) port( \S+)?:\s*", re.I)
# ... or as "Could not configure port: (25, 'Inappropriate ioctl for device')".
_TUPLE_ERRNO = re.compile(r"\((\d+), '")


@dataclass(frozen=True)
class PortInfo:
    """One port a device may be on: a serial port present now, or a simulated device."""

    device: str  # the URL to open
    description: str
    vid_pid: str | None = None  # "1a86:7523" for USB serial adapters
    serial_number: str | None = None
    manufacturer: str | None = None
    simulated: bool = False
    profile: str | None = None  # the built-in profile that reads it, when sotlog knows one


SIMULATED_PORTS = (
    PortInfo(
        "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1",
        "simulated 2 load cells (left/right), text lines, 80 Hz",
        simulated=True,
        profile="sim-loadcells",
    ),
    PortInfo(
        "sim://loadcells?blocks=2&rate=80&protocol=blockframe&seed=1",
        "simulated 2 load cells (left/right), blockframe binary, 80 Hz",
        simulated=True,
        profile="sim-loadcells-blockframe",
    ),
    PortInfo(
        "sim://mat?rows=32&cols=32&rate=30&seed=1",
        "simulated 32x32 pressure mat, blockframe binary, 30 frames/s",
        simulated=True,
        profile="sim-mat",
    ),
)


def _reason(err: BaseException) -> str:
    """One short line saying why a port failed, from a pyserial or OS error."""
    code = getattr(err, "errno", None)
    if code is None and err.args and isinstance(err.args[0], int):
        code = err.args[0]
    if code is None and (m := _TUPLE_ERRNO.search(str(err))):
        code = int(m.group(1))
    if code in _ERRNO_WORDS:
        return _ERRNO_WORDS[code]
    text = _NOISE.sub("", str(err)).strip().rstrip(".")
    text = " ".join(text.split())  # one line, whatever the OS put in the message
    return (text[:1].lower() + text[1:]) if text else type(err).__name__


def open_port(url: str, settings: SerialSettings, timeout: float = 0.05) -> serial.SerialBase:
    """Open ``url`` with ``settings``; ``timeout`` bounds each read. Failure is a DeviceError."""
    register()
    try:
        return serial.serial_for_url(
            url,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            rtscts=settings.rtscts,
            dsrdtr=settings.dsrdtr,
            timeout=timeout,
            write_timeout=1.0,
        )
    except ValueError as err:
        # serial_for_url: unknown scheme; SerialBase: a setting out of range.
        msg = str(err)
        if "protocol" in msg and "not known" in msg:
            scheme = url.split("://", 1)[0]
            raise DeviceError(f"cannot open {url}: unknown port scheme {scheme!r}") from err
        raise DeviceError(f"cannot open {url}: {_reason(err)}") from err
    except (serial.SerialException, OSError) as err:
        raise DeviceError(f"cannot open {url}: {_reason(err)}") from err


def list_ports(include_simulated: bool = True) -> list[PortInfo]:
    """The serial ports present now, then (unless told not to) the simulated devices."""
    found = []
    for p in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device):
        vid_pid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else None
        description = p.description if p.description and p.description != "n/a" else p.device
        found.append(
            PortInfo(p.device, description, vid_pid, p.serial_number or None,
                     p.manufacturer or None)
        )
    if include_simulated:
        found.extend(SIMULATED_PORTS)
    return found


def describe_port(url: str) -> str:
    """How a person knows the device at ``url``: the port's description and USB VID:PID."""
    for p in list_ports():
        if p.device == url:
            return p.description + (f" [{p.vid_pid}]" if p.vid_pid else "")
    return url
