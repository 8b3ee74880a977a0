"""The block forms of the import's clock and notice gate give what the read-by-read rules give,
bit for bit: ``ArrivalClock.arrivals`` against ``advance``, ``NoticeGate.replay`` against
``add`` and ``tick``; and the clock's times are whole microseconds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.frames import Notice
from sensing.store import codec
from sensing.store.arrival import ArrivalClock, NoticeGate


@settings(max_examples=150, deadline=None)
@given(mode=st.sampled_from(["uniform", "device_time"]), seed=st.integers(0, 10**6),
       blocks=st.lists(st.integers(1, 60), min_size=1, max_size=5),
       nan_at=st.one_of(st.none(), st.integers(0, 200)))
def test_arrivals_of_a_block_are_those_read_by_read(mode: str, seed: int, blocks: list[int],
                                                    nan_at: int | None) -> None:
    rng = np.random.default_rng(seed)
    one, many = ArrivalClock(mode, 12.5), ArrivalClock(mode, 12.5)
    for n_reads in blocks:
        counts = rng.choice([0, 1, 1, 1, 2, 3], n_reads)
        device = np.cumsum(rng.normal(0.08, 0.05, int(counts.sum())))  # goes back at times
        if nan_at is not None and nan_at < len(device):
            device[nan_at] = np.nan
        reads = np.repeat(np.arange(n_reads), counts)
        ends = np.cumsum(counts)
        want = [one.advance(device[e - c:e]) for c, e in zip(counts, ends, strict=True)]
        got = many.arrivals(reads, device, n_reads)
        assert got.tolist() == want
        # whole microseconds, as a live read's arrival: the store keeps them as integers
        assert got.tolist() == (np.rint(got * 1e6) * 1e-6).tolist()
        codec.encode(got, "micro-delta-zlib")  # (a ValueError if any is not)
        assert (many.now, many.frames, many.backward_steps) == (
            one.now, one.frames, one.backward_steps)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n_reads=st.integers(1, 300))
def test_replayed_notices_are_gated_as_read_by_read(seed: int, n_reads: int) -> None:
    rng = np.random.default_rng(seed)
    times = np.maximum.accumulate(np.cumsum(rng.exponential(0.2, n_reads)))
    per_read = [[Notice(float(times[r]), str(rng.choice(["undecodable", "wrong_size"])),
                        f"read {r}") for _ in range(int(rng.choice([0, 0, 0, 1, 2])))]
                for r in range(n_reads)]
    one_out: list[Notice] = []
    many_out: list[Notice] = []
    one, many = NoticeGate(one_out.append), NoticeGate(many_out.append)
    for r in range(n_reads):
        for notice in per_read[r]:
            one.add(notice)
        one.tick(float(times[r]))
    many.replay([(r, n) for r in range(n_reads) for n in per_read[r]], times)
    one.tick(float(times[-1]), force=True)
    many.tick(float(times[-1]), force=True)
    assert many_out == one_out
    assert len(one_out) <= sum(map(len, per_read))
