"""The bulk paths keep freed heap memory for reuse (glibc): a block's numpy temporaries take the
pages of the block before rather than faulting in new ones."""

from __future__ import annotations

import subprocess
import sys

from sensing.store import heap

CHILD = """
import resource, sys
import numpy as np
from sensing.store import heap
if sys.argv[1] == "kept":
    assert heap.keep_freed_memory()
a = np.arange(1 << 18, dtype=np.float64)  # 2 MB
def block():  # the shape of a decoding step: temporaries of several sizes, freed at once
    x = a * 2.0
    y = np.empty(3 << 17)
    y[:] = 1.0
    z = (x[: 1 << 17] + y[: 1 << 17]).astype(np.int64)
    return int(z[-1])
block()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    block()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout)


def test_temporaries_reuse_freed_pages() -> None:
    if not heap.is_glibc():  # another C library's heap is left as it is
        assert heap.keep_freed_memory() is False
        return
    kept, default = faults("kept"), faults("default")
    # 200 blocks touch 1,400 MB of temporaries (350,000 pages): kept, they are the same pages
    assert kept < 2_000, (kept, default)
    assert kept < default
