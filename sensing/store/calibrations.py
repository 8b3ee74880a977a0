"""Calibration records in the session store: their own table, written once, read by id or match.

One row per channel calibrated; the rows one ``sotlog calibrate`` run made share a ``batch`` (the
id of its first row). A mat's per-sensel gains are kept as a compressed float32 blob.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from firmware_bridge.errors import NotFound, StoreError
from sensing.calibration.fit import Calibration
from sensing.plainjson import dumps
from sensing.store.sessions import Store, utc_now


def _blob(gains: np.ndarray | None) -> bytes | None:
    if gains is None:
        return None
    return zlib.compress(np.ascontiguousarray(gains, dtype="<f4").tobytes(), 6)


class CalibrationStore:
    """The ``calibrations`` table of one session store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, calibrations: Sequence[Calibration]) -> list[int]:
        """Store one run's records in one transaction; sets and returns their ids."""
        conn = self.store.write_connection()
        ids: list[int] = []
        created = utc_now()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for cal in calibrations:
                cal.created_utc = cal.created_utc or created
                cur = conn.execute(
                    "INSERT INTO calibrations (batch, created_utc, kind, profile_name, channel, "
                    "port, device, unit, fit, by, record_json, gains) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)",
                    (ids[0] if ids else None, cal.created_utc, cal.kind, cal.profile_name,
                     cal.channel, cal.port, cal.device, cal.unit,
                     cal.fit.fit if cal.fit else "", cal.by, _blob(cal.gains)))
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
                cal.id, cal.batch = cur.lastrowid, ids[0]
                conn.execute("UPDATE calibrations SET batch = ?, record_json = ? WHERE id = ?",
                             (ids[0], dumps(cal.record()), cal.id))
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot store the calibration in {self.store.path}: {err}") from err
        finally:
            conn.close()
        return ids

    def _select(self, where: str = "", args: tuple[Any, ...] = ()) -> list[Calibration]:
        conn = self.store.connect()
        try:
            rows = conn.execute(
                f"SELECT * FROM calibrations {where} ORDER BY created_utc DESC, id DESC",
                args).fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot read calibrations from {self.store.path}: {err}") from err
        finally:
            conn.close()
        return [_from_row(r) for r in rows]

    def get(self, cal_id: int) -> Calibration:
        """One record; a missing id is a StoreError."""
        found = self._select("WHERE id = ?", (int(cal_id),))
        if not found:
            raise NotFound(f"no calibration {cal_id} in {self.store.path} "
                             "(see `sotlog calibrations`)")
        return found[0]

    def batch(self, cal_id: int) -> list[Calibration]:
        """Every record made by the same run as ``cal_id``, by channel order of creation."""
        first = self.get(cal_id)
        return sorted(self._select("WHERE batch = ?", (first.batch,)), key=lambda c: c.id or 0)

    def all(self, profile_name: str | None = None,
            channel: str | None = None) -> list[Calibration]:
        """Records newest first, optionally only those of one profile and channel."""
        where, args = [], []
        for column, value in (("profile_name", profile_name), ("channel", channel)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        return self._select("WHERE " + " AND ".join(where) if where else "", tuple(args))

    def latest(self, profile_name: str, channels: Sequence[str],
               kind: str | None = None) -> list[Calibration]:
        """The newest force calibration of each channel made with this profile (if any)."""
        out = []
        for name in channels:
            for cal in self.all(profile_name, name):
                if cal.fit is not None and (kind is None or cal.kind == kind):
                    out.append(cal)
                    break
        return out

    def latest_equilibration(self, profile_name: str) -> Calibration | None:
        """The newest per-sensel equilibration made with this (mat) profile."""
        for cal in self.all(profile_name, "total"):
            if cal.kind == "mat_equilibration":
                return cal
        return None

    def resolve(self, ids: Sequence[int]) -> list[Calibration]:
        """The records named by ``ids``, each bringing the other channels of its run along.

        A channel named twice keeps the record given explicitly (the first one given).
        """
        chosen: dict[str, Calibration] = {}
        for cal_id in ids:
            cal = self.get(cal_id)
            if cal.fit is None:
                raise StoreError(f"calibration {cal_id} is a {cal.kind}, not a force calibration")
            chosen.setdefault(cal.channel, cal)
        for cal_id in ids:
            for sibling in self.batch(cal_id):
                if sibling.fit is not None:
                    chosen.setdefault(sibling.channel, sibling)
        return list(chosen.values())


def _from_row(row: sqlite3.Row) -> Calibration:
    record = json.loads(row["record_json"])
    record.update(id=row["id"], batch=row["batch"])
    gains = None
    if row["gains"] is not None:
        gains = np.frombuffer(zlib.decompress(row["gains"]), dtype="<f4").astype(np.float32)
        shape = record.get("gains_shape")
        if shape:
            gains = gains.reshape(shape)
    record.pop("gains_shape", None)
    return Calibration.from_record(record, gains)
