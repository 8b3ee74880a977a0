"""The store's streams read back the same whoever wrote them: ISA-L (sotlog[fast]) or zlib."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from firmware_bridge.frames import FrameBlock
from sensing.store import codec


def test_isal_is_what_the_tests_write_with() -> None:
    """The test extra installs it, so the faster writer is the one the suite exercises."""
    assert codec._deflater is not zlib


@pytest.mark.parametrize("shape", [(2,), (16, 16)])
def test_zlib_and_isal_chunks_read_back_alike(shape: tuple[int, ...],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 500
    dtype = np.float64 if len(shape) == 1 else np.uint16
    block = FrameBlock.build(rng.integers(0, 4000, (n, *shape)).astype(dtype),
                             100.0 + np.arange(n) / 80, device_time=np.arange(n) / 80,
                             seq=np.arange(n))
    fast = codec.encode_chunk(block)
    monkeypatch.setattr(codec, "_deflater", zlib)
    plain = codec.encode_chunk(block)
    for row in (fast, plain):
        back = codec.decode_chunk(row)
        for name in ("values", "host_time", "device_time", "seq", "flags"):
            np.testing.assert_array_equal(getattr(back, name), getattr(block, name))
    assert zlib.decompress(plain["vals"]) == zlib.decompress(fast["vals"])
