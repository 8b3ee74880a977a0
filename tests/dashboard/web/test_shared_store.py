"""`sotlog serve --store postgresql://…`: three stations' sessions in one list with a station
column and a station filter, each session's page, samples, figures and downloads as the station's
own serve gives them, read only, recording off and the page saying so in one line."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.web.app import SHARED_LINE
from sensing.store.pg.sync import Sync
from sensing.store.sessions import Store
from sensing.store.storefile import StoreFile
from tests.conftest import admin_url
from tests.dashboard.conftest import ServeProcess
from tests.dashboard.web.browser import expect, shot
from tests.sensing.store.test_listing import record
from tests.sensing.store.test_recorder import wait_for
from tests.sensing.sync.pgserver import Server, new_database

STATIONS = ("room1", "room2", "room3")


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three stations' stores, two load-cell sessions each (subjects P-<station><n>)."""
    folder = tmp_path_factory.mktemp("stations")
    paths = []
    for i, name in enumerate(STATIONS, start=1):
        path = folder / f"{name}.sqlite3"
        store = Store.open(path)
        for n in (1, 2):
            record(store, 160 * n, f"P-{i}{n:03d}", day=2 * i + n)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def shared(stations: list[Path], pg_server: Server | None) -> str:
    url = new_database(admin_url(pg_server))
    for path, name in zip(stations, STATIONS, strict=True):
        assert Sync(StoreFile.open(path), url, name).run().copied == 2
    return url


def api(client: TestClient, path: str, **params: Any) -> Any:
    got = client.get(path, params=params)
    assert got.status_code == 200, got.text
    return got


def test_the_shared_list_has_every_station_and_filters_by_station(
        shared: str, make_client: Callable[..., TestClient]) -> None:
    client = make_client(store=shared)
    everything = api(client, "/api/sessions")
    rows = everything.json()
    assert everything.headers["X-Total-Count"] == "6"
    assert sorted(r["station"] for r in rows) == sorted(STATIONS * 2)
    assert [r["started_utc"] for r in rows] == sorted((r["started_utc"] for r in rows),
                                                      reverse=True)
    room2 = api(client, "/api/sessions", station="room2").json()
    assert {r["station"] for r in room2} == {"room2"} and len(room2) == 2
    assert [r["station"] for r in api(client, "/api/sessions", q="p-3002").json()] == ["room3"]
    assert len(api(client, "/api/sessions", date_from="2024-03-05", date_to="2024-03-06").json()
               ) == 2
    assert len(api(client, "/api/sessions", limit=4, offset=4).json()) == 2


def test_a_shared_session_reads_as_on_its_station(
        shared: str, stations: list[Path], make_client: Callable[..., TestClient]) -> None:
    client = make_client(store=shared)
    local = make_client(store=str(stations[1]))
    theirs = api(client, "/api/sessions", station="room2").json()[0]
    mine = next(s for s in api(local, "/api/sessions").json() if s["uuid"] == theirs["uuid"])
    sid, lid = theirs["id"], mine["id"]
    a, b = api(client, f"/api/sessions/{sid}").json(), api(local, f"/api/sessions/{lid}").json()
    assert a.pop("station") == "room2" and "station" not in b
    assert {k: v for k, v in a.items() if k not in ("id", "edits")} == \
        {k: v for k, v in b.items() if k not in ("id", "edits")}
    for path in ("samples", "summary", "events", "figures"):
        assert api(client, f"/api/sessions/{sid}/{path}").json() == \
            api(local, f"/api/sessions/{lid}/{path}").json(), path
    png = api(client, f"/api/sessions/{sid}/figures/force.png")
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    got, want = (tables(api(c, f"/api/sessions/{i}/exports/csv").content)
                 for c, i in ((client, sid), (local, lid)))
    assert got == want and len(got) == 1 and got[0].count(b"\n") > 160


def tables(download: bytes) -> list[bytes]:
    """The .csv files of a csv export's zip (its sidecar names the session by its store id)."""
    with zipfile.ZipFile(io.BytesIO(download)) as z:
        return [z.read(n) for n in sorted(z.namelist()) if n.endswith(".csv")]


def test_an_edit_on_the_shared_store_is_kept_there_and_every_page_says_recording_is_off(
        stations: list[Path], pg_url: str, make_client: Callable[..., TestClient]) -> None:
    assert Sync(StoreFile.open(stations[0]), pg_url, "room1").run().copied == 2
    client = make_client(store=pg_url)
    sid = api(client, "/api/sessions").json()[0]["id"]
    changed = client.patch(f"/api/sessions/{sid}", json={"position": "supine"})
    assert changed.status_code == 200, changed.text
    after = api(client, f"/api/sessions/{sid}").json()
    assert after["position"] == "supine" and after["station"] == "room1"
    assert [e["field"] for e in after["edits"]] == ["position"]
    shared = pg_url
    line = SHARED_LINE.format(store=shared)
    for page in ("/", "/sessions", f"/sessions/{sid}"):
        html = api(client, page).text
        assert html.count('id="shared-store"') == 1 and "Recording is off here" in html
    assert line.split(":")[0] in api(client, "/sessions").text
    assert 'id="station"' in api(client, "/sessions").text


def test_the_live_view_shows_the_device_and_recording_is_one_line(
        shared: str, make_client: Callable[..., TestClient]) -> None:
    client = make_client(store=shared, simulate=True)
    assert wait_for(lambda: api(client, "/api/status").json()["state"] == "connected")
    refused = client.post("/api/recording", json={"subject_code": "P-0042"})
    assert refused.status_code >= 400 and "\n" not in refused.json()["detail"]
    assert "is the shared store: sessions are recorded on a station" in refused.json()["detail"]
    assert api(client, "/api/status").json()["recording"] is None
    assert api(client, "/api/sessions").headers["X-Total-Count"] == "6"  # nothing was added


def test_no_page_or_answer_shows_the_password(shared: str,
                                              make_client: Callable[..., TestClient]) -> None:
    url = shared.replace("postgresql://sotlog@", "postgresql://sotlog:hunter2@")
    client = make_client(store=url)
    sid = api(client, "/api/sessions").json()[0]["id"]
    answers = [api(client, p).text for p in ("/", "/sessions", f"/sessions/{sid}",
                                             f"/api/sessions/{sid}", "/api/status")]
    recording = make_client(store=url, simulate=True)
    assert wait_for(lambda: api(recording, "/api/status").json()["state"] == "connected")
    answers.append(recording.post("/api/recording", json={"subject_code": "P-0042"}).text)
    assert "sotlog:***@" in answers[1] and "sotlog:***@" in answers[-1]
    assert not any("hunter2" in a for a in answers)


def test_a_station_filter_on_a_stations_store_is_one_line(
        stations: list[Path], make_client: Callable[..., TestClient]) -> None:
    client = make_client(store=str(stations[0]))
    got = client.get("/api/sessions", params={"station": "room1"})
    assert got.status_code == 400 and "shared store" in got.json()["detail"]
    assert 'id="shared-store"' not in api(client, "/sessions").text


@pytest.mark.browser
def test_the_sessions_page_lists_three_stations(shared: str, page: Any) -> None:
    server = ServeProcess(shared).start()  # type: ignore[arg-type]  (a URL, as a person gives)
    try:
        page.goto(server.url + "/sessions")
        rows = page.locator("#sessions tbody tr[data-session]")
        expect(rows).to_have_count(6)
        expect(page.locator("#shared-store")).to_contain_text("every station's sessions")
        expect(page.locator("#sessions thead")).to_contain_text("Station")
        stations = rows.locator("td:nth-child(2)").all_inner_texts()
        assert sorted(stations) == sorted(STATIONS * 2)
        page.fill("#station", "room3")
        expect(rows).to_have_count(2)
        assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"room3"}
        shot(page, "sessions-shared-store")
        rows.first.click()  # its page says which station it came from
        expect(page.locator("#subtitle")).to_contain_text("station room3")
        expect(page.locator("#shared-store")).to_contain_text("Recording is off here")
        assert not page.errors
    finally:
        server.stop()


def connections_made(url: str) -> int:
    """How many connections the server has let into ``url``'s database so far."""
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT sessions FROM pg_stat_database "
                                "WHERE datname = current_database()").fetchone()[0])


def test_serve_keeps_its_connections_across_requests_and_a_server_restart(
        shared: str, pg_server: Server | None,
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(store=shared)
    api(client, "/api/sessions", limit=50)
    before = connections_made(shared)
    for _ in range(20):
        assert len(api(client, "/api/sessions", limit=50).json()) == 6
    assert connections_made(shared) - before <= 2  # ours, counting; none per request
    if pg_server is None:  # a server of $SOTLOG_TEST_POSTGRES is not ours to restart
        return
    pg_server.stop()
    pg_server.start()
    # The kept connections died with the server: each is checked as it is handed out.
    assert len(api(client, "/api/sessions", limit=50).json()) == 6
