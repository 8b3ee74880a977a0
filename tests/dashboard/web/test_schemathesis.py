"""Schemathesis against a real ``sotlog serve --simulate``: a fixed seed and budget, no server
error, and every status code the API answers is in its OpenAPI schema with the body it has."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.dashboard.conftest import ServeProcess

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


def test_the_api_keeps_its_contract(serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    server = serve("--simulate")
    st = Path(sys.executable).parent / "st"  # schemathesis, in the test extras
    done = subprocess.run(
        [str(st), "run", f"{server.url}/openapi.json", "--seed", "1", "--max-examples", "15",
         "--checks", CHECKS, "--workers", "1", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    summary = done.stdout[-4000:]
    assert "Test cases:" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, summary
