"""``GET /api/sessions`` pages through every session: limit, offset and X-Total-Count, as the
OpenAPI schema documents them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.dashboard.many import fill


def test_offset_and_total_page_through_the_filtered_sessions(
        make_client: Callable[..., TestClient], store_path: Path) -> None:
    fill(store_path, 30)  # ids 1..30, one a day; 1, 11, 21 of subject P-0007
    client = make_client()
    first = client.get("/api/sessions?limit=12")
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "30"
    assert [s["id"] for s in first.json()] == list(range(30, 18, -1))
    rest = client.get("/api/sessions?limit=12&offset=24")
    assert [s["id"] for s in rest.json()] == list(range(6, 0, -1))
    row = rest.json()[-1]
    assert (row["subject_code"], row["n_frames"], row["status"]) == ("P-0007", 0, "complete")
    found = client.get("/api/sessions?q=p-0007&limit=2&offset=1")
    assert found.headers["X-Total-Count"] == "3" and [s["id"] for s in found.json()] == [11, 1]
    past = client.get("/api/sessions?offset=30")
    assert past.json() == [] and past.headers["X-Total-Count"] == "30"
    assert client.get("/api/sessions?offset=-1").status_code == 422

    listing = client.get("/openapi.json").json()["paths"]["/api/sessions"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert params["offset"]["schema"]["minimum"] == 0 and params["limit"]["schema"]["minimum"] == 1
    assert "X-Total-Count" in listing["responses"]["200"]["headers"]
