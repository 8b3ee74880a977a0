"""``sotlog sessions`` a page at a time, and the command line starting without numpy, matplotlib
or pydantic where it does not need them (the timing is bench/startup.py's)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import COMMAND_MODULES, VERBS, modules_for
from sensing.vocabulary import SESSIONS_PAGE
from tests.dashboard.cli.test_cli import sotlog
from tests.dashboard.many import fill

# imported only by the verbs that use them (of the 60 ms `sotlog sessions` took, dataclasses
# cost 6 ms, bringing inspect and ast, and shutil 3 ms, bringing zlib, bz2 and lzma)
SLOW = ("numpy", "matplotlib", "pydantic", "dataclasses", "shutil")


def test_sessions_pages_with_limit_and_offset(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    fill(store, SESSIONS_PAGE + 5)
    first = sotlog("sessions", store=store)
    lines = first.stdout.splitlines()
    assert first.returncode == 0 and len(lines) == 1 + SESSIONS_PAGE, first.stderr
    assert lines[1].split()[0] == str(SESSIONS_PAGE + 5)
    assert first.stderr == (f"sotlog: sessions 1-{SESSIONS_PAGE} of {SESSIONS_PAGE + 5}, newest "
                            f"first; --offset {SESSIONS_PAGE} lists the next\n")
    rest = sotlog("sessions", "--offset", str(SESSIONS_PAGE), "--json", store=store)
    assert [s["id"] for s in json.loads(rest.stdout)] == [5, 4, 3, 2, 1]
    assert rest.stderr == ""  # the last page: nothing more to say
    some = json.loads(sotlog("sessions", "--subject", "P-0007", "--limit", "2", "--offset", "1",
                             "--json", store=store).stdout)
    assert [(s["id"], s["subject_code"], s["frames"]) for s in some] == [
        (41, "P-0007", 0), (31, "P-0007", 0)]
    past = sotlog("sessions", "--offset", "100", store=store)
    assert past.returncode == 0 and past.stdout == ""
    assert past.stderr == f"sotlog: no sessions after the first 100 of {SESSIONS_PAGE + 5}, " \
                          "newest first\n"
    bad = sotlog("sessions", "--limit", "0", store=store)
    assert bad.returncode == 2 and "must be from 1" in bad.stderr


def imported(*args: str) -> set[str]:
    """The top-level packages ``sotlog ARGS`` imports, as ``python -X importtime`` reports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "dashboard.cli", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    assert "dashboard.cli" in names  # the report was read
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("args", [["--version"], ["sessions", "--store", "STORE"],
                                  ["sessions", "--json", "--store", "STORE"]])
def test_the_command_line_starts_without_slow_imports(tmp_path: Path, args: list[str]) -> None:
    store = tmp_path / "s.sqlite3"
    fill(store, 3)
    loaded = imported(*[str(store) if a == "STORE" else a for a in args])
    assert not loaded & set(SLOW), sorted(loaded & set(SLOW))


def test_a_verb_that_needs_numpy_still_imports_it(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    fill(store, 1)
    assert "numpy" in imported("show", "1", "--store", str(store))  # the check sees imports


def test_verbs_names_the_module_of_every_verb() -> None:
    """``VERBS`` (what a command line imports for its verb) says what the modules register."""
    registered = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        registered.update(dict.fromkeys(sub.choices, name))
    assert registered == VERBS
    assert modules_for(["--version"]) == ()
    assert modules_for(["sessions", "--json"]) == ("dashboard.cli.sessions",)
    assert modules_for(["--help"]) == modules_for(["nonsense"]) == COMMAND_MODULES


# A command line run to its end, then numpy (loaded by then, as by any verb that uses it) and
# the threads this process has: the main one, and OpenBLAS's workers unless one is allowed.
THREADS_AFTER = """
import os, sys
from dashboard.cli import main
main(sys.argv[1:])
import numpy
print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
"""


@pytest.mark.parametrize(("own", "expected"), [(None, "1"), ("2", "2")])
def test_a_command_runs_numpy_with_one_blas_thread(tmp_path: Path, own: str | None,
                                                   expected: str) -> None:
    """numpy's OpenBLAS would start a thread per core, each spinning a while (bench: 0.12 s of
    CPU a command on 2 cores); a person's own setting is kept."""
    store = tmp_path / "s.sqlite3"
    fill(store, 1)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if own is not None:
        env["OPENBLAS_NUM_THREADS"] = own
    done = subprocess.run([sys.executable, "-c", THREADS_AFTER, "show", "1", "--store",
                           str(store)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    setting, threads = done.stdout.split()[-2:]
    assert setting == expected
    if own is None:
        assert threads == "1"  # no BLAS worker started
