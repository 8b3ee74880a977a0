"""The worked examples of docs/python-api.md run, as written, against a real store."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import record_session
from tests.sensing.outputs.test_lsl import loopback_lsl

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open(tmp_path / "sessions.sqlite3")
    record_session(store, subject="P-0001", seed=2)
    sid = record_session(store, subject="P-0042", started_utc="2024-06-01T08:00:00.000+00:00")
    monkeypatch.setenv("SOTLOG_STORE", str(store.path))
    monkeypatch.chdir(tmp_path)
    loopback_lsl()
    blocks = python_blocks(DOC.read_text("utf-8"))
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102

    out = capsys.readouterr().out
    assert f"{sid} 2024-06-01T08:00:00.000+00:00 II complete" in out
    samples = store.session(sid).samples(units="kgf")
    s = namespace["s"]
    np.testing.assert_array_equal(s.values, samples.values)  # type: ignore[attr-defined]
    assert "left block: mean" in out and "kgf over" in out
    assert (tmp_path / "exports" / f"session-{sid}_P-0042.csv").exists()
    ended = namespace["ended"]
    recorded = store.session(namespace["sid"]).info  # type: ignore[arg-type]
    assert (recorded.status, recorded.face, recorded.end_reason) == (
        "complete", "python", "script finished")
    assert ended.frames == recorded.n_frames > 0  # type: ignore[attr-defined]
    placed = [e for e in store.session(recorded.id).events()
              if e.kind == "placed" and e.source == "person"]
    assert [e.text for e in placed] == ["left block"]
