"""The C heap for bulk decoding: large freed blocks kept for the next ones, on glibc.

Every step of a vector pass makes numpy allocate a fresh temporary (a megabyte or more for a
block of a file). Above glibc's mmap threshold (128 kB at first, then the largest block freed,
up to 32 MB) each one is a new mapping, and memory freed at the top of the heap beyond the trim
threshold goes back to the kernel: either way the next block's temporaries fault their pages in
again, a few microseconds a page on a virtual machine. The bulk paths (import, reparse) set both
thresholds once, so a block's temporaries reuse the pages of the one before: decoding a 2-hour
4-cell log in a new process then faults about 12,000 pages rather than 23,000 and takes 0.13 s
rather than 0.16-0.18 (bench/importer.py, "its decoding alone"). Other C libraries and systems
are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 << 20  # blocks smaller than this come from the heap (glibc's largest)
TRIM_THRESHOLD = 64 << 20  # freed memory at the heap's top kept for reuse, at most
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_kept = False


def is_glibc() -> bool:
    """Whether this process runs on Linux with glibc, the C library these thresholds are of."""
    try:
        return sys.platform == "linux" and (
            os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (once); False where the C library
    is not glibc or will not take them."""
    global _kept
    if _kept:
        return True
    if not is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _kept = (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
             and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return _kept
