"""A store that is read-only, damaged or full: one line, the rest still readable, and record
says when anything was not stored. Real files, real damage, ``sotlog`` in its own process."""

from __future__ import annotations

import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed={seed}&speed=10"


def sotlog(*args: str, store: Path, preexec: Callable[[], None] | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args, "--store", str(store)],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of three short sessions (a module's worth: each test copies it)."""
    store = tmp_path_factory.mktemp("stores") / "three.sqlite3"
    for seed in (1, 2, 3):
        done = sotlog("record", "--port", SIM.format(seed=seed), "--profile", "sim-loadcells",
                      "--duration", "3", "--subject", f"P-000{seed}", store=store)
        assert done.returncode == 0, done.stderr
    return store


def copy(three: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copy(three, target)
    return target


def test_a_read_only_store_is_read_and_not_written(three: Path, tmp_path: Path) -> None:
    """A 0444 file in a 0555 folder: read-only by its mode, even for root."""
    folder = tmp_path / "ro"
    store = copy(three, folder, "clinic.sqlite3")
    store.chmod(0o444)
    folder.chmod(0o555)
    try:
        read_but_never_written(store, tmp_path / "out", sotlog)
    finally:
        folder.chmod(0o755)


def test_a_store_on_a_read_only_mount(three: Path, tmp_path: Path) -> None:
    """A real read-only bind mount (util-linux unshare, in a mount namespace of its own)."""
    folder = tmp_path / "mnt"
    store = copy(three, folder, "clinic.sqlite3")

    def on_mount(*args: str, store: Path, **kw: object) -> subprocess.CompletedProcess[str]:
        inner = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "dashboard.cli", *args,
                                                  "--store", str(store)])
        script = f"mount --bind -o ro {shlex.quote(str(folder))} {shlex.quote(str(folder))} " \
                 f"&& exec {inner}"
        return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                              text=True, timeout=60)

    read_but_never_written(store, tmp_path / "out2", on_mount)


def read_but_never_written(store: Path, out: Path, run: Callable[..., Any]) -> None:
    before = store.read_bytes()
    listed = run("sessions", store=store)
    assert listed.returncode == 0, listed.stderr
    assert "P-0001" in listed.stdout and "P-0003" in listed.stdout
    shown = run("show", "2", "--json", store=store)
    assert shown.returncode == 0 and '"frames": 24' in shown.stdout, shown.stderr
    exported = run("export", "1", "--format", "csv", "-o", str(out), store=store)
    assert exported.returncode == 0, exported.stderr
    refused = run("record", "--port", SIM.format(seed=4), "--profile", "sim-loadcells",
                  "--duration", "1", store=store)
    assert refused.returncode == 2
    assert "can only be read" in one_line(refused.stderr) and "cannot record" in refused.stderr
    undo = run("undo", "1", store=store)
    assert undo.returncode == 2 and "can only be read" in one_line(undo.stderr)
    assert store.read_bytes() == before  # not one byte written, not even a schema check


def damage(store: Path, how: str) -> None:
    size = store.stat().st_size
    with open(store, "r+b") as fh:
        if how == "zeroed tail":
            fh.seek(size - 16384)
            fh.write(b"\0" * 16384)
        elif how == "bit flips":
            rnd = random.Random(3)
            data = bytearray(fh.read())
            for _ in range(50):
                i = rnd.randrange(8192, len(data))
                data[i] ^= 1 << rnd.randrange(8)
            fh.seek(0)
            fh.write(data)
        elif how == "random page 2":
            fh.seek(4096)
            fh.write(random.Random(2).randbytes(4096))


@pytest.mark.parametrize("how", ["zeroed tail", "bit flips", "random page 2"])
def test_damage_is_one_line_and_check_says_what_still_reads(three: Path, tmp_path: Path,
                                                            how: str) -> None:
    store = copy(three, tmp_path, "damaged.sqlite3")
    damage(store, how)
    failures = []
    for args in (["sessions"], ["show", "1"], ["show", "3"], ["reparse", "2"],
                 ["export", "3", "--format", "csv", "-o", str(tmp_path / "x")]):
        done = sotlog(*args, store=store)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr, args
        if args[0] == "reparse" and done.returncode == 1 and "different" in done.stdout:
            continue  # flipped raw bytes decode to other frames: reparse's answer, not an error
        if done.returncode != 0:
            line = one_line(done.stderr)
            assert str(store) in line and "sotlog check" in line and ".recover" in line, line
            failures.append(args)
    checked = sotlog("check", "--json", store=store)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "internal error" not in checked.stderr
    if how != "random page 2":  # the others: some sessions whole, some not, all listed
        import json

        report = json.loads(checked.stdout)
        states = {s["id"]: s["whole"] for s in report["sessions"]}
        assert set(states) <= {1, 2, 3} and not report["whole"]
        if set(states) != {1, 2, 3}:  # the flips hit the session list: check says how
            assert report["problems"] or report["integrity"] != ["ok"], report
        whole = [sid for sid, ok in states.items() if ok]
        for sid in whole:  # damage elsewhere never makes these unreadable
            assert sotlog("show", str(sid), store=store).returncode == 0
    assert sotlog("check", store=(three)).returncode == 0  # the undamaged original is whole


def full_disk() -> None:
    """The child writes at most 200 kB into any file, as a nearly full disk allows."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_record_exits_non_zero_when_anything_was_not_stored(tmp_path: Path) -> None:
    store = tmp_path / "full.sqlite3"
    done = sotlog("record", "--port", SIM.format(seed=1).replace("speed=10", "speed=40"),
                  "--profile", "sim-loadcells", "--duration", "6", store=store,
                  preexec=full_disk)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "not stored" in last and "frames" in last
