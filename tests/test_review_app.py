"""The review workspace over HTTP: sessions, CSRF, roles, exposure, grading and undo."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from safeguard.review.app import create_review_app
from safeguard.review.desk import COOKIE, ReviewSettings
from safeguard.store import Store
from safeguard.store.audit import AuditLog
from safeguard.store.reviewers import MAX_FAILURES, Reviewers, Role

from conftest import run_cli
from review_case import PASSWORD, build_review_case


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, corpus):
    return build_review_case(tmp_path_factory.mktemp("review"), corpus)


@pytest.fixture
def workspace(scanned):
    db, matched = scanned
    store = Store.open(db)
    with TestClient(create_review_app(store), base_url="http://127.0.0.1:8100") as client:
        yield client, store, matched
    store.close()


def _log_in(client, name: str) -> str:
    answer = client.post("/login", data={"name": name, "password": PASSWORD},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    return answer.headers["set-cookie"]


def _cards(html: str) -> list[tuple[int, int]]:
    """(representative, family size) of each card of the grid."""
    cards = html.split("<div class='card")[1:]
    return [
        (int(re.search(r"data-seq=(\d+)", card).group(1)),
         int(re.search(r"(\d+) file\(s\)", card).group(1)))
        for card in cards
    ]  # fmt: skip


def _grid(client) -> tuple[str, str]:
    html = client.get("/case/OP-1/E1").text
    return html, re.search(r"data-csrf='([^']+)'", html).group(1)


def test_the_session_cookie_is_httponly_and_strict_and_pages_forbid_other_sources(workspace):
    client, _, _ = workspace
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    cookie = _log_in(client, "reviewer")
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # loopback, no TLS in front
    home = client.get("/")
    assert "OP-1" in home.text and home.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_a_list_graded_picture_is_never_sent_not_even_blurred(workspace):
    client, _, matched = workspace
    _log_in(client, "reviewer")
    html, _ = _grid(client)
    shown = [int(seq) for seq in re.findall(r"/thumb/OP-1/E1/(\d+)", html)]
    assert shown and matched not in shown
    assert "3 families of 4 unknown pictures" in html
    videos = html.split("<table id=videos>")[1]  # listed, never played
    assert "kept/clip.mp4" in videos and "about 20 s" in videos and "<video" not in html
    sheet = client.get(re.search(r"src='(/thumb/OP-1/E1/\d+)'", videos)[1])
    assert sheet.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(sheet.content)).size == (384, 288)  # 4 x 2 key frames, grey
    assert client.get(f"/thumb/OP-1/E1/{matched}").status_code == 404
    picture = client.get(f"/thumb/OP-1/E1/{shown[0]}")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.headers["cache-control"] == "no-store"


def test_grading_needs_the_sessions_csrf_token_and_this_origin(workspace):
    client, store, _ = workspace
    _log_in(client, "reviewer")
    html, csrf = _grid(client)
    seq = int(re.search(r"data-seq=(\d+)", html).group(1))
    body = {"case": "OP-1", "exhibit": "E1", "seq": seq, "scheme": "uk", "category": "B",
            "seen_version": 0}  # fmt: skip
    assert client.post("/api/grade", json=body).status_code == 403
    assert (
        client.post("/api/grade", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    )
    foreign = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert client.post("/api/grade", json=body, headers=foreign).status_code == 403
    done = client.post("/api/grade", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["changed"] == [seq]
    again = client.post("/api/grade", json=body, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and "graded meanwhile by reviewer" in again.json()["detail"]
    undone = client.post("/api/undo", json={"action_id": done.json()["action_id"]},
                         headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert undone.status_code == 200
    events = [(r.actor, r.event) for r in AuditLog(store.engine).records()]
    assert ("reviewer:reviewer", "grade.set") in events and (
        "reviewer:reviewer",
        "grade.undo",
    ) in events


def test_a_family_is_graded_with_one_request(workspace):
    client, _, _ = workspace
    _log_in(client, "supervisor")
    html, csrf = _grid(client)
    seq = next(seq for seq, size in _cards(html) if size == 2)
    body = {"case": "OP-1", "exhibit": "E1", "seq": seq, "scheme": "uk", "category": "C",
            "seen_version": 0, "family": True}  # fmt: skip
    done = client.post("/api/grade", json=body, headers={"X-CSRF-Token": csrf}).json()
    assert len(done["changed"]) == 2
    assert "graded C by supervisor" in client.get("/case/OP-1/E1").text
    client.post("/api/undo", json={"action_id": done["action_id"]}, headers={"X-CSRF-Token": csrf})


def test_a_viewer_sees_counts_only_and_a_limited_account_only_its_cases(workspace):
    client, _, _ = workspace
    _log_in(client, "viewer")
    page = client.get("/case/OP-1/E1").text
    assert "Counts only" in page and "<img" not in page and "/thumb/" not in page
    assert client.get("/thumb/OP-1/E1/1").status_code == 403
    client.cookies.clear()
    _log_in(client, "limited")
    assert client.get("/case/OP-1/E1").status_code == 403
    assert "OP-1" not in client.get("/").text


def test_wrong_passwords_lock_out_and_logout_ends_the_session(workspace):
    client, store, _ = workspace
    for _ in range(MAX_FAILURES):
        refused = client.post("/login", data={"name": "lockme", "password": "wrong password!"})
        assert refused.status_code == 401 and "wrong name or password" in refused.text
    Reviewers(store.engine).create("lockme2", Role.REVIEWER, PASSWORD)
    for _ in range(MAX_FAILURES):
        client.post("/login", data={"name": "lockme2", "password": "wrong password!"})
    locked = client.post("/login", data={"name": "lockme2", "password": PASSWORD})
    assert locked.status_code == 401 and "locked until" in locked.text
    _log_in(client, "reviewer")
    _, csrf = _grid(client)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/case/OP-1/E1", follow_redirects=False).status_code == 303


def test_the_workspace_listens_on_loopback_unless_told_otherwise(scanned):
    db, _ = scanned
    refused = run_cli("review", "--host", "0.0.0.0", "--db", db, check=False)
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr


def test_a_supervisor_confirms_or_changes_and_disagreements_are_listed(workspace):
    client, _, _ = workspace
    _log_in(client, "reviewer")
    html, csrf = _grid(client)
    seq = _cards(html)[0][0]
    body = {"case": "OP-1", "exhibit": "E1", "seq": seq, "scheme": "uk", "category": "B",
            "seen_version": 0}  # fmt: skip
    graded = client.post("/api/grade", json=body, headers={"X-CSRF-Token": csrf}).json()
    assert client.get("/case/OP-1/E1/confirm").status_code == 403  # a reviewer's own grade
    client.cookies.clear()
    _log_in(client, "supervisor")
    page = client.get("/case/OP-1/E1/confirm").text
    supervisor_csrf = re.search(r"data-csrf='([^']+)'", page).group(1)
    assert f"data-seq={seq} data-version={graded['version']}" in page and "unconfirmed" in page
    change = {"case": "OP-1", "exhibit": "E1", "seq": seq, "seen_version": graded["version"],
              "category": "A"}  # fmt: skip
    stale = {**change, "seen_version": graded["version"] + 5}
    assert client.post("/api/confirm", json=stale,
                       headers={"X-CSRF-Token": supervisor_csrf}).status_code == 409  # fmt: skip
    changed = client.post("/api/confirm", json=change, headers={"X-CSRF-Token": supervisor_csrf})
    assert changed.status_code == 200
    page = client.get("/case/OP-1/E1/confirm").text
    assert f"item {seq}: B by reviewer, changed to A by supervisor" in page


def test_every_picture_shown_is_counted_against_the_reviewer_and_the_exhibit(scanned):
    db, _ = scanned
    store = Store.open(db)
    app = create_review_app(store, ReviewSettings(break_minutes=20))
    with TestClient(app, base_url="http://127.0.0.1:8100") as client:
        _log_in(client, "reviewer")
        html, _ = _grid(client)
        assert "data-break-minutes='20'" in html and "take a break" in html

        def counted() -> tuple[int, int]:
            exposure = client.get("/case/OP-1/E1/exposure").text
            today = client.get("/today").text
            seen = re.search(r"Pictures a person was shown \(blurred or revealed\)</td><td>(\d+)",
                             exposure)[1]  # fmt: skip
            views = re.search(r"<td>reviewer</td><td>\d+</td><td>(\d+)</td>", today)[1]
            return int(seen), int(views)

        shown = [seq for seq, _ in _cards(html)][:2]
        for seq in shown:
            client.get(f"/thumb/OP-1/E1/{seq}")
        seen, views = counted()
        assert seen >= 2
        for seq in shown:  # the same pictures again: more views, no more pictures
            client.get(f"/thumb/OP-1/E1/{seq}")
        assert counted() == (seen, views + 2)
        exposure = client.get("/case/OP-1/E1/exposure").text
        assert "Matched by a list (never shown)</td><td>1<" in exposure
        assert "within the goal" in exposure
        today = client.get("/today").text
        assert re.search(r"<td>reviewer</td><td>\d+</td><td>\d+</td>", today)
        assert "<td>supervisor</td>" not in today  # a reviewer sees only their own day
        client.cookies.clear()
        _log_in(client, "supervisor")
        assert "<td>reviewer</td>" in client.get("/today").text  # a supervisor sees the team
    store.close()


def test_a_reveal_is_read_from_the_evidence_audited_shown_once_and_timed(workspace):
    client, store, matched = workspace
    _log_in(client, "reviewer")
    html, csrf = _grid(client)
    assert "data-reveal-seconds='10'" in html and "<kbd>v</kbd> reveal" in html
    seq = _cards(html)[0][0]
    asked = {"case": "OP-1", "exhibit": "E1", "seq": seq}
    assert client.post("/api/reveal", json=asked).status_code == 403  # no CSRF token
    refused = client.post("/api/reveal", json={**asked, "seq": matched},
                          headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert refused.status_code == 404  # a list-graded picture is never shown
    revealed = client.post("/api/reveal", json=asked, headers={"X-CSRF-Token": csrf}).json()
    assert revealed["seconds"] == 10
    picture = client.get(revealed["url"])
    assert picture.status_code == 200 and picture.headers["cache-control"] == "no-store"
    shown = Image.open(io.BytesIO(picture.content))
    assert shown.mode == "RGB" and max(shown.size) > 96  # colour, larger than a thumbnail
    assert client.get(revealed["url"]).status_code == 404  # handed out once
    ended = {"reveal": revealed["reveal"], "seconds": 4.2, "why": "focus"}
    assert client.post("/api/reveal/end", json=ended, headers={"X-CSRF-Token": csrf}).json() == {
        "reveal": revealed["reveal"], "seconds": 4.2}  # fmt: skip
    again = client.post("/api/reveal/end", json=ended, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 404  # said once
    records = [r.to_json() for r in AuditLog(store.engine).records()]
    start = next(r for r in records if r["event"] == "picture.reveal"
                 and r["detail"]["reveal"] == revealed["reveal"])  # fmt: skip
    assert start["actor"] == "reviewer:reviewer" and start["detail"]["seq"] == seq
    assert start["detail"]["locator"] and start["detail"]["shown_for_at_most_seconds"] == 10
    end = next(r for r in records if r["event"] == "picture.reveal.end"
               and r["detail"]["reveal"] == revealed["reveal"])  # fmt: skip
    assert end["detail"] == {"reveal": revealed["reveal"], "seconds": 4.2, "why": "focus"}
    assert AuditLog(store.engine).verify().ok
    exposure = client.get("/case/OP-1/E1/exposure").text
    assert re.search(r"Pictures revealed unblurred</td><td>[1-9]", exposure)
    assert re.search(r"<td>reviewer</td>(<td>\d+</td>){3}<td>[1-9]\d*</td><td>4</td>",
                     client.get("/today").text)  # fmt: skip


def test_a_viewer_cannot_reveal(workspace):
    client, _, _ = workspace
    _log_in(client, "viewer")
    csrf = re.search(r"name=csrf value='([^']+)'", client.get("/").text).group(1)
    asked = {"case": "OP-1", "exhibit": "E1", "seq": 1}
    assert client.post("/api/reveal", json=asked, headers={"X-CSRF-Token": csrf}).status_code == 403
