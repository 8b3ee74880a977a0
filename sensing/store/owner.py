"""Who is recording a session: process id, host name and a start token, and whether it still runs.

A session row keeps the recording process's pid, host name and start token. On open, a session
still marked ``recording`` whose process is gone (or whose pid now belongs to a newer process)
is marked ``interrupted``. A session recorded on another host is left alone: we cannot tell.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

if sys.platform == "win32":
    from socket import gethostname
else:
    def gethostname() -> str:
        """As ``socket.gethostname()``: uname's node name, without importing socket at startup."""
        return os.uname().nodename


class Owner(NamedTuple):
    """A process that may be writing a session."""

    pid: int
    hostname: str
    token: str | None


def _linux_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot): fields 3 and 22 of /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def current() -> Owner:
    """This process."""
    pid = os.getpid()
    stat = _linux_stat(pid)
    return Owner(pid, gethostname(), stat[1] if stat else None)


def is_gone(owner: Owner) -> bool:
    """True only when sure the owner no longer runs: same host, and pid dead or reused."""
    if owner.hostname != gethostname():
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return not _windows_alive(owner.pid)
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, but another user's
    stat = _linux_stat(owner.pid)
    if stat is None:
        return False
    state, token = stat
    return state == "Z" or (owner.token is not None and token != owner.token)
