"""A multi-subject, multi-session BIDS export, checked by the official BIDS validators.

Both validators are pinned: ``bids-validator-deno`` from PyPI (the ``test`` extra) and the npm
``bids-validator`` 1.x that ``.ci/run`` installs outside the repository (``BIDS_VALIDATOR_1``
names its executable; by default ``~/.cache/sotlog/bids-validator-<version>``). A missing
validator fails the test: the check is the point.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sensing.outputs.exports import export_session
from sensing.outputs.exports.dataset import BIDSIGNORE, INDEX_NAME, export_dataset
from sensing.outputs.exports.deid import DateShift
from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import record_session

VALIDATOR_1_VERSION = "1.15.0"  # also in .ci/run
VALIDATOR_1_DEFAULT = (Path.home() / ".cache" / "sotlog" / f"bids-validator-{VALIDATOR_1_VERSION}"
                       / "node_modules" / ".bin" / "bids-validator")
# Warnings explained in docs/data-format.md ("Validator warnings that remain, and why").
EXPLAINED_DENO = {"NO_AUTHORS", "TOO_FEW_AUTHORS", "JSON_KEY_RECOMMENDED",
                  "SIDECAR_KEY_RECOMMENDED"}
EXPLAINED_DENO_KEYS = {"License", "HEDVersion", "SourceDatasets", "InstitutionName",
                       "InstitutionAddress", "InstitutionalDepartmentName", "Instructions",
                       "CogAtlasID", "CogPOID", "StimulusPresentation", "TaskName",
                       "TaskDescription", "Authors", None}
EXPLAINED_1 = {"NO_AUTHORS", "MISSING_SESSION"}
SESSIONS = [  # subject, options of record_session
    ("P-0001", {"seed": 1, "started_utc": "2024-03-05T09:30:00.000+00:00"}),
    ("P-0001", {"seed": 2, "gap_s": 1.5, "n": 800,
                "started_utc": "2024-03-10T09:30:00.000+00:00"}),
    ("P-0002", {"kind": "mat", "n": 90, "rate": 30.0, "seed": 3}),
    ("P-0002", {"seed": 4, "notes": 40, "tare_before": True}),
    ("Q-7", {"kind": "single", "n": 200, "rate": 10.5, "seed": 5}),
]


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)  # the venv's own, when not on PATH
    found = shutil.which(name) or (str(beside) if beside.exists() else None)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it")
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(tmp_path_factory.mktemp("store") / "sessions.sqlite3")
    for subject, options in SESSIONS:
        record_session(store, subject=subject, **options)
    # Marks after the gap of session 2 (its frames come again from 6.75 s): where a rate
    # measured over the gap would misplace them.
    for t in (7.0, 9.5, 11.5):
        store.add_event(2, "marker", f"after the gap {t}", time_s=t)
    return store


@pytest.fixture(scope="module")
def dataset(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bids")
    result = export_dataset(store, store.sessions(), "bids", out, shift=DateShift("s"))
    assert result.complete
    return out


def test_deno_validator_finds_no_error(dataset: Path) -> None:
    run = subprocess.run([_tool("bids-validator-deno"), str(dataset), "--format", "json"],
                         capture_output=True, text=True, timeout=240, check=False)
    report = json.loads(run.stdout)
    issues = report["issues"]["issues"]
    errors = [i for i in issues if i["severity"] == "error"]
    assert errors == []
    warnings = {(i["code"], i.get("subCode")) for i in issues if i["severity"] == "warning"}
    assert {code for code, _ in warnings} <= EXPLAINED_DENO, warnings
    assert {sub for _, sub in warnings} <= EXPLAINED_DENO_KEYS, warnings
    summary = report["summary"]
    assert sorted(summary["subjects"]) == ["P0001", "P0002", "Q7"]
    assert summary["tasks"] == ["blocking"]


def test_npm_validator_1_finds_no_error(dataset: Path) -> None:
    tool = Path(os.environ.get("BIDS_VALIDATOR_1", VALIDATOR_1_DEFAULT))
    if not tool.exists():
        pytest.fail(f"bids-validator {VALIDATOR_1_VERSION} (npm) is not at {tool}: .ci/run "
                    "installs it; or set BIDS_VALIDATOR_1")
    run = subprocess.run([str(tool), str(dataset), "--json"], capture_output=True, text=True,
                         timeout=240, check=False)
    issues = json.loads(run.stdout)["issues"]
    assert [e["key"] for e in issues["errors"]] == []
    assert {w["key"] for w in issues["warnings"]} <= EXPLAINED_1


def _tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_dataset_files_list_every_subject_and_session(dataset: Path, store: Store) -> None:
    assert [r["participant_id"] for r in _tsv(dataset / "participants.tsv")] == [
        "sub-P0001", "sub-P0002", "sub-Q7"]
    rows = _tsv(dataset / "sub-P0001" / "sub-P0001_sessions.tsv")
    assert [r["session_id"] for r in rows] == ["ses-1", "ses-2"]
    uuids = {i.id: store.session(i.id).info.uuid for i in store.sessions()}
    assert [r["sotlog_uuid"] for r in rows] == [uuids[1], uuids[2]]
    assert all(r["acq_time"].endswith("Z") and "T" in r["acq_time"] for r in rows)
    # Dates are shifted (the salt's shift), never the recorded day.
    assert not rows[0]["acq_time"].startswith("2024-03-05")
    assert (dataset / "README").read_text("utf-8").startswith("sotlog sessions")
    # sotlog's own index collides with nothing, and BIDS tools are told to leave it alone.
    assert (dataset / INDEX_NAME).exists() and not (dataset / "sessions.tsv").exists()
    assert "sotlog-sessions.*" in (dataset / BIDSIGNORE).read_text("utf-8")


def test_exporting_one_more_session_keeps_the_other_rows(store: Store, tmp_path: Path) -> None:
    first, second = sorted(store.sessions(), key=lambda i: i.id)[:2]
    export_session(store.session(first.id), "bids", tmp_path)
    export_session(store.session(second.id), "bids", tmp_path)
    rows = _tsv(tmp_path / "sub-P0001" / "sub-P0001_sessions.tsv")
    assert [r["session_id"] for r in rows] == ["ses-1", "ses-2"]
    assert [r["participant_id"] for r in _tsv(tmp_path / "participants.tsv")] == ["sub-P0001"]


def _physio(dataset: Path, sub: str, ses: int) -> tuple[np.ndarray, dict[str, Any], Path]:
    beh = dataset / f"sub-{sub}" / f"ses-{ses}" / "beh"
    stem = f"sub-{sub}_ses-{ses}_task-blocking"
    side = json.loads((beh / f"{stem}_physio.json").read_text("utf-8"))
    with gzip.open(beh / f"{stem}_physio.tsv.gz", "rt") as fh:
        rows = np.array([[np.nan if c == "n/a" else float(c) for c in line.rstrip("\n").split("\t")]
                         for line in fh])
    return rows, side, beh / f"{stem}_events.tsv"


def test_a_gap_is_empty_rows_and_events_line_up_in_mne(dataset: Path) -> None:
    """A 1.5 s dropout at 80 Hz: 120 empty rows, the rate stays 80 Hz, and MNE (through
    mne-bids' events reader) puts each event on the row of the frame that arrived then."""
    mne = pytest.importorskip("mne")
    mne_bids = pytest.importorskip("mne_bids")
    rows, side, events = _physio(dataset, "P0001", 2)
    time_s = rows[:, side["Columns"].index("time_s")]
    fs = side["SamplingFrequency"]
    assert fs == pytest.approx(80.0, rel=1e-3)
    empty = np.isnan(time_s)
    assert 119 <= int(empty.sum()) <= 121  # 1.5 s of an 80 Hz device
    assert side["sotlog"]["grid"]["empty_rows"] == int(empty.sum())
    k = np.flatnonzero(~empty)
    placed = side["StartTime"] + k / fs
    assert np.abs(placed - time_s[k]).max() < 1.0 / fs  # every frame within one period
    data = np.nan_to_num(rows[:, [side["Columns"].index("left_N")]].T)
    raw = mne.io.RawArray(data, mne.create_info(["left_N"], fs, "misc"),
                          first_samp=round(side["StartTime"] * fs), verbose=False)
    kwargs = mne_bids.events_file_to_annotation_kwargs(events)
    onsets = np.asarray(kwargs["onset"])
    inside = onsets[(onsets >= time_s[k[0]]) & (onsets <= time_s[k[-1]])]
    assert (inside > 6.75).sum() == 3
    for onset in inside:
        sample = raw.time_as_index(onset - side["StartTime"], use_rounding=True)[0]  # its row
        nearest = k[np.argmin(np.abs(time_s[k] - onset))]
        assert abs(int(sample) - int(nearest)) <= 1, (onset, sample, nearest)
