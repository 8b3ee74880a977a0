"""Many sessions at once: ``sotlog export --all`` with filters, the index, progress, Ctrl-C."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main
from sensing.outputs.exports.dataset import (
    INDEX_COLUMNS,
    INDEX_JSON,
    INDEX_NAME,
    export_dataset,
)
from sensing.outputs.exports.deid import DateShift
from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import READERS, record_session

DAYS = {"a1": "2024-03-05", "a2": "2024-03-10", "b1": "2024-04-01", "c1": "2024-05-01"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("store") / "sessions.sqlite3")
    for name, day in DAYS.items():
        subject = {"a": "P-0001", "b": "P-0002", "c": "Q-7"}[name[0]]
        record_session(store, subject=subject, n=120, seed=len(name) + int(name[1]),
                       started_utc=f"{day}T09:30:00.000+00:00",
                       category="I" if name == "b1" else "II",
                       position="supine" if name == "b1" else "prone")
    return store


def _index(out: Path) -> list[dict[str, str]]:
    with open(out / INDEX_NAME, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _export(store: Store, out: Path, *args: str) -> int:
    return main(["export", "--store", str(store.path), "-o", str(out), *args])


@pytest.mark.parametrize("args,expected", [
    (["--subject", "P-0001"], ["2024-03-05", "2024-03-10"]),
    (["--since", "2024-03-06", "--until", "2024-04-01"], ["2024-03-10", "2024-04-01"]),
    (["--category", "I", "--position", "supine"], ["2024-04-01"]),
    ([], sorted(DAYS.values())),
])
def test_all_with_filters_writes_each_session_and_an_index(
        args: list[str], expected: list[str], store: Store, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(store, tmp_path, "--all", "--format", "csv", *args) == 0
    rows = _index(tmp_path)
    assert list(rows[0]) == list(INDEX_COLUMNS)
    assert [r["started_utc"][:10] for r in rows] == expected
    for row in rows:
        files = [tmp_path / f for f in row["files"].split(",")]
        got = READERS["csv"](files)
        assert got.meta["session"]["id"] == int(row["session_id"])
        assert row["subject_code"] == got.meta["session"]["subject_code"]
        assert row["dates_shifted"] == "false"
    err = capsys.readouterr().err
    assert f"exported {len(expected)}/{len(expected)}" in err  # progress on stderr
    assert not list(tmp_path.rglob("*.part*"))


def test_shifted_dataset_keeps_each_subjects_days_apart(
        store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(store, tmp_path, "--all", "--format", "bids", "--shift-dates",
                   "--strip-notes") == 0
    err = capsys.readouterr().err
    salt = err.split("with salt ")[1].split()[0]
    rows_list = _index(tmp_path)
    shift = DateShift(salt)

    for row, day in zip(rows_list, sorted(DAYS.values()), strict=True):
        days = shift.days(row["subject_code"])
        assert row["started_utc"][:10] == (date.fromisoformat(day) + timedelta(days)).isoformat()
        assert row["dates_shifted"] == "true"
        assert row["subject_label"] in ("P0001", "P0002", "Q7")
    # The two sessions of P-0001 keep their 5 days between them.
    a1, a2 = (date.fromisoformat(r["started_utc"][:10]) for r in rows_list[:2])
    assert (a2 - a1).days == 5
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert salt.encode() not in everything  # the salt is printed, never written
    assert (tmp_path / "sub-P0001" / "ses-1" / "beh"
            / "sub-P0001_ses-1_task-blocking_physio.tsv.gz").exists()
    assert (tmp_path / "dataset_description.json").exists()


def test_same_salt_repeats_the_same_shifts(store: Store, tmp_path: Path) -> None:
    for out in ("one", "two"):
        assert _export(store, tmp_path / out, "--all", "--shift-dates", "--shift-salt",
                       "s3cret") == 0
    assert _index(tmp_path / "one") == _index(tmp_path / "two")


def test_interrupted_export_leaves_whole_sessions_and_their_index(store: Store,
                                                                   tmp_path: Path) -> None:
    infos = store.sessions()

    def stop_after_first(done: int, total: int, info: object, files: list[Path]) -> None:
        if done == 1:
            raise KeyboardInterrupt  # as Ctrl-C would, between two sessions

    with pytest.raises(KeyboardInterrupt):
        export_dataset(store, infos, "hdf5", tmp_path, progress=stop_after_first)
    rows = _index(tmp_path)
    assert len(rows) == 1
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted([rows[0]["files"], INDEX_JSON, INDEX_NAME])  # no .bidsignore
    READERS["hdf5"]([tmp_path / rows[0]["files"]])  # whole and readable


@pytest.mark.parametrize("args,message", [
    (["1", "--all"], "give one session id (or last), or --all"),
    ([], "give one session id (or last), or --all"),
    (["1", "--subject", "P-0001"], "--subject only apply with --all"),
    (["1", "--shift-salt", "x"], "--shift-salt only applies with --shift-dates"),
])
def test_bad_combinations_are_one_line(args: list[str], message: str, store: Store,
                                       tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(store, tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"sotlog: error: {message}"


def test_last_exports_the_newest_session(store: Store, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _export(store, tmp_path, "last", "--format", "parquet", "--json") == 0
    got = READERS["parquet"]([tmp_path / "samples" / "subject=Q7" / f"session={len(DAYS)}"
                              / "part-0.parquet"])
    assert got.meta["session"]["started_utc"].startswith("2024-05-01")
    assert "parquet" in capsys.readouterr().out


def test_parquet_dataset_of_20_sessions_answers_duckdb_as_show_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--all --format parquet`` over 20 sessions (load cells and mats, 4 subjects): DuckDB,
    with no option but hive partitioning, gives each subject's mean force per channel as
    ``sotlog show`` gives it (each session's mean, weighted by its frame count)."""
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    store = Store.open(tmp_path / "many.sqlite3")
    subjects = ["P-0001", "P-0002", "P-0003", "Q-7"]
    for i in range(20):
        kind = "mat" if i % 5 == 4 else "loadcells"
        record_session(store, kind, subject=subjects[i % 4], n=60 if kind == "mat" else 150,
                       rate=30.0 if kind == "mat" else 80.0, seed=100 + i)
    out = tmp_path / "out"
    assert _export(store, out, "--all", "--format", "parquet") == 0
    capsys.readouterr()
    assert (out / INDEX_NAME).exists() and not list((out / "samples").rglob("*.tsv"))

    sums: dict[tuple[str, str], list[float]] = {}
    frames = 0  # rows of the long form: a frame per channel
    for info in store.sessions():
        assert main(["show", str(info.id), "--json", "--store", str(store.path)]) == 0
        shown = json.loads(capsys.readouterr().out)
        label = info.subject_code.replace("-", "")
        for ch in shown["summary"]["channels"]:
            acc = sums.setdefault((label, ch["name"]), [0.0, 0.0])
            acc[0] += ch["mean"] * ch["count"]
            acc[1] += ch["count"]
            frames += info.n_frames
    expected = {key: total / count for key, (total, count) in sums.items()}

    rows = duckdb.sql(
        f"SELECT subject, channel, avg(value) FROM read_parquet('{out}/samples/**/*.parquet', "
        "hive_partitioning = true) GROUP BY subject, channel").fetchall()
    got = {(subject, channel): mean for subject, channel, mean in rows}
    assert got.keys() == expected.keys()
    for key, mean in expected.items():
        assert got[key] == pytest.approx(mean, rel=1e-9), key

    # One schema for every session; polars and pyarrow read the folder with no option.
    table = ds.dataset(out / "samples").to_table()
    assert table.num_rows == frames
    assert pl.scan_parquet(out / "samples").select(pl.len()).collect().item() == frames
    assert sorted(pl.scan_parquet(out / "samples").select("session_id").unique().collect()
                  .to_series().to_list()) == sorted(i.id for i in store.sessions())
