"""Ports by URL: open any serial port, socket or simulated device through pyserial's serial_for_url.

Opening a port registers sotlog's own URL handlers (``sim://``) with pyserial first, so a
simulated device is opened by the very same code path as /dev/ttyUSB0, COM3 or socket://.
``port_identity`` says which device is at a port, so a port that went away is opened again only
when the same device is back.
"""

from __future__ import annotations

import datetime
import errno
import os
import re
import stat
import time
from dataclasses import dataclass
from typing import Any

import serial
import serial.tools.list_ports

from firmware_bridge.errors import DeviceError
from firmware_bridge.profiles import SerialSettings
from firmware_bridge.sim.implied import implied_profile
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


SIMULATED_PORTS = tuple(
    PortInfo(url, description, simulated=True, profile=implied_profile(url))
    for url, description in (
        ("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1",
         "simulated 2 load cells (left/right), text lines, 80 Hz"),
        ("sim://loadcells?blocks=2&rate=80&protocol=blockframe&seed=1",
         "simulated 2 load cells (left/right), blockframe binary, 80 Hz"),
        ("sim://mat?rows=32&cols=32&rate=30&seed=1",
         "simulated 32x32 pressure mat, blockframe binary, 30 frames/s"),
    )
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


def arrival_time() -> float:
    """``time.monotonic()`` to the whole microsecond (k * 1e-6 for a whole k, as
    ``frames.whole_microseconds`` gives): finer than any read's latency, and stored exactly as
    integer microseconds (sensing/store/codec.py)."""
    return time.monotonic_ns() // 1000 * 1e-6


def read_arrived(port: serial.SerialBase) -> bytes:
    """Everything that has arrived at ``port``, as one read: waits up to the port's timeout for
    a first byte, then takes every byte that came with it (b"" when none came in time)."""
    data = port.read(1)
    if data:
        waiting = port.in_waiting
        if waiting:
            data += port.read(waiting)
    return data


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
    """How a person knows the device at ``url``: the port's description, USB VID:PID and serial
    number."""
    for p in list_ports():
        if p.device == url:
            usb = " ".join(x for x in (p.vid_pid, p.serial_number and f"serial {p.serial_number}")
                           if x)
            return p.description + (f" [{usb}]" if usb else "")
    return url


# -- which device is at a port ---------------------------------------------------------------

PTY_MAJORS = range(136, 144)  # Linux: Unix98 pseudo-terminal slaves (/dev/pts/N)
LIST_EVERY_S = 0.5  # names without a device node (COM3) are looked up in the port list this often


@dataclass(frozen=True)
class PortIdentity:
    """Which device is at a port, to know it again after the port went away.

    ``kind`` says what identifies it: ``usb`` (VID:PID and serial number, where the adapter has
    one), ``pty`` (a pseudo-terminal: its device number and when it was made), ``node``
    (another device node: its device number). ``link``: the symlink the port's name is (its
    inode and change time), if it is one.
    """

    kind: str
    key: tuple[Any, ...]
    text: str
    link: tuple[int, int] | None = None

    def same_device(self, other: PortIdentity) -> bool:
        """Whether ``other``, found at the port after it went away, is the device this identity
        was taken of."""
        if self.kind == "usb" and other.kind == "usb":
            (vid_pid, serial_number), (now_vid_pid, now_serial) = self.key, other.key
            return vid_pid == now_vid_pid and serial_number in (None, now_serial)
        if self.link is not None and other.link is not None and self.link != other.link:
            return True  # the link was made again (udev, socat): it names the device anew
        if self.kind == "pty":
            # One that went away never comes back: the next pseudo-terminal any process opens
            # takes the freed number (and may share the old one's time, kept to a clock tick).
            return False
        return self.kind == other.kind and self.key == other.key


def _usb(names: set[str]) -> PortIdentity | None:
    for p in serial.tools.list_ports.comports():
        if p.device in names and p.vid is not None and p.pid is not None:
            vid_pid = f"{p.vid:04x}:{p.pid:04x}"
            serial_number = p.serial_number or None
            text = f"USB {vid_pid}" + (f" serial {serial_number}" if serial_number else "")
            return PortIdentity("usb", (vid_pid, serial_number), text)
    return None


class PortWatch:
    """Looks at what is at a port's name now, cheaply enough to ask every 0.1 s.

    ``identity()`` is None when nothing is there, or when the URL names no local device
    (``socket://``, ``sim://``): then there is nothing to tell devices apart by. The USB port
    list is read only when the device node changed since the last look.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.local = "://" not in url
        self._seen: tuple[Any, ...] | None = None
        self._identity: PortIdentity | None = None
        self._listed_at = -1e18

    def identity(self) -> PortIdentity | None:
        if not self.local:
            return None
        try:
            st, lst = os.stat(self.url), os.lstat(self.url)
        except OSError:
            return self._listed()  # COM3 has no node; /dev/ttyUSB0 unplugged is not listed
        link = (lst.st_ino, lst.st_ctime_ns) if stat.S_ISLNK(lst.st_mode) else None
        seen = (st.st_dev, st.st_ino, st.st_rdev, st.st_ctime_ns, link)
        # a plain node may be a USB port whose details the system has not listed yet: look again
        if seen != self._seen or self._identity is None or self._identity.kind == "node":
            self._seen = seen
            self._identity = self._of(st, link)
        return self._identity

    def _listed(self) -> PortIdentity | None:
        now = time.monotonic()
        if self.url.startswith("/"):
            return None
        if now - self._listed_at >= LIST_EVERY_S:
            self._listed_at = now
            self._identity = _usb({self.url})
        return self._identity

    def _of(self, st: os.stat_result, link: tuple[int, int] | None) -> PortIdentity:
        real = os.path.realpath(self.url)
        usb = _usb({self.url, real})
        if usb is not None:
            return PortIdentity(usb.kind, usb.key, usb.text, link)
        number = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        if not stat.S_ISCHR(st.st_mode):
            return PortIdentity("file", (st.st_dev, st.st_ino), f"file {real}", link)
        if os.major(st.st_rdev) in PTY_MAJORS or real.startswith("/dev/pts/"):
            made = datetime.datetime.fromtimestamp(st.st_ctime_ns / 1e9).isoformat(
                sep=" ", timespec="milliseconds")
            return PortIdentity("pty", (st.st_rdev, st.st_ctime_ns),
                                f"pseudo-terminal {real} ({number}) made {made}", link)
        return PortIdentity("node", (st.st_rdev,), f"device {real} ({number})", link)


def port_identity(url: str) -> PortIdentity | None:
    """Which device is at ``url`` now (see ``PortWatch``)."""
    return PortWatch(url).identity()
