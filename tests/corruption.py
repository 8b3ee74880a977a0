"""Byte-stream corruption for decoder property tests: flips, insertions, deletions, truncation."""

from __future__ import annotations

from hypothesis import strategies as st


def corruption_ops(max_delete: int) -> st.SearchStrategy[tuple[str, float, bytes, int]]:
    """One corruption: its kind, where (0..1 of the stream), bytes to insert, bytes to delete."""
    return st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]),
                     st.floats(0, 1), st.binary(min_size=1, max_size=30),
                     st.integers(1, max_delete))


def corrupt(data: bytes, ops: list[tuple[str, float, bytes, int]]) -> tuple[bytes, list[int],
                                                                          set[int]]:
    """Apply ``ops``; return the bytes, each byte's original index (-1 if inserted), the flipped."""
    out, origin, flipped = bytearray(data), list(range(len(data))), set()
    for kind, where, blob, size in ops:
        p = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[p] ^= blob[0] | 1
            flipped.add(origin[p])
        elif kind == "insert":
            out[p:p] = blob
            origin[p:p] = [-1] * len(blob)
        elif kind == "delete":
            del out[p:p + size], origin[p:p + size]
        elif kind == "truncate":
            del out[p:], origin[p:]
    return bytes(out), origin, flipped
