"""The public self-report API: proof of work, receipts, withdrawal, shared hashes,
widely shared files refused, limits, and nothing about the sender kept."""

from __future__ import annotations

import hashlib
import json
from itertools import count

import pytest

from safeguard.store import ListKind, ListSpec, NewEntry

from conftest import run_cli


def _solve(puzzle: dict) -> int:
    for nonce in count():
        digest = hashlib.sha256(f"{puzzle['challenge']}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - puzzle["bits"]) == 0:
            return nonce
    raise AssertionError("unreachable")


def _file(n: int, pdq: bool = True) -> dict:
    md5, sha256 = hashlib.md5(bytes([n])).hexdigest(), hashlib.sha256(bytes([n])).hexdigest()
    extra = {"pdq": f"{n:02x}" * 32, "pdq_quality": 100, "path": "exact"} if pdq else {}
    return {"md5": md5, "sha256": sha256, **extra}


def _report(service, files: list[dict], **extra):
    puzzle = service.call("GET", "/v1/self-reports/challenge", None).json()
    body = {"challenge": puzzle["challenge"], "nonce": _solve(puzzle), "files": files, **extra}
    return service.call("POST", "/v1/self-reports", None, json=body)


def _match(service, signal: str, value: str) -> str:
    answer = service.call(
        "POST", "/v1/match/hashes", "match", json={"hashes": [{"signal": signal, "value": value}]}
    )
    return answer.json()["results"][0]["action"]


def test_a_report_is_kept_as_reviewable_entries_until_withdrawn(service):
    made = _report(service, [_file(1), _file(2, pdq=False)], age_band="13-15", country="GB")
    assert made.status_code == 201, made.text
    answer = made.json()
    assert (answer["added"], answer["widely_shared"], answer["files"]) == (5, 0, 2)
    receipt = answer["receipt"]
    assert len(receipt) == 19 and receipt.count("-") == 3
    assert _match(service, "pdq", _file(1)["pdq"]) == "review"
    assert _match(service, "md5", _file(2)["md5"]) == "review"
    state = service.call("GET", f"/v1/self-reports/{receipt.lower()}", None).json()
    assert (state["state"], state["files"], state["hashes"]) == ("active", 2, 5)
    gone = service.call("DELETE", f"/v1/self-reports/{receipt}", None).json()
    assert gone["state"] == "withdrawn" and gone["withdrawn_at"]
    assert _match(service, "pdq", _file(1)["pdq"]) == "none"
    again = service.call("DELETE", f"/v1/self-reports/{receipt}", None)
    assert again.json()["state"] == "withdrawn"
    assert service.call("GET", "/v1/self-reports/AAAA-BBBB-CCCC-DDDD", None).status_code == 404


def test_a_hash_two_people_reported_stays_until_both_withdraw(service):
    first = _report(service, [_file(7)]).json()["receipt"]
    second = _report(service, [_file(7)]).json()
    assert second["added"] == 0  # already listed: one entry, two reports
    service.call("DELETE", f"/v1/self-reports/{first}", None)
    assert _match(service, "sha256", _file(7)["sha256"]) == "review"
    service.call("DELETE", f"/v1/self-reports/{second['receipt']}", None)
    assert _match(service, "sha256", _file(7)["sha256"]) == "none"


def test_a_widely_shared_file_is_not_added(service, store_url):
    from safeguard.store import Store

    store = Store.open(store_url)
    known = bytes.fromhex(_file(9)["sha256"])
    store.import_entries(
        "nsrl", [NewEntry("sha256", known, record=1)], spec=ListSpec(kind=ListKind.KNOWN_GOOD)
    )
    store.close()
    answer = _report(service, [_file(9), _file(10)]).json()
    assert (answer["widely_shared"], answer["added"]) == (1, 3)


def test_work_must_be_done_once_per_fresh_challenge(service):
    puzzle = service.call("GET", "/v1/self-reports/challenge", None).json()
    assert puzzle["bits"] >= 12
    nonce = _solve(puzzle)
    body = {"challenge": puzzle["challenge"], "nonce": nonce, "files": [_file(3)]}
    wrong = service.call("POST", "/v1/self-reports", None, json={**body, "nonce": nonce + 1})
    # A neighbouring nonce solves a 16-bit puzzle once in 65,536 tries: not this one.
    if hashlib.sha256(f"{puzzle['challenge']}:{nonce + 1}".encode()).digest()[:2] != b"\0\0":
        assert wrong.status_code == 422 and "not solved" in wrong.text
    assert service.call("POST", "/v1/self-reports", None, json=body).status_code == 201
    replay = service.call("POST", "/v1/self-reports", None, json=body)
    assert replay.status_code == 422 and "already used" in replay.text
    forged = {**body, "challenge": puzzle["challenge"][:-4] + "0000"}
    assert service.call("POST", "/v1/self-reports", None, json=forged).status_code == 422


def test_limits_and_what_is_refused(service):
    too_many = _report(service, [_file(n) for n in range(21)])
    assert too_many.status_code == 422
    extra = _report(service, [_file(1)], name="me.jpg")  # nothing but hashes is taken
    assert extra.status_code == 422
    bad_country = _report(service, [_file(1)], country="Britain")
    assert bad_country.status_code == 422
    statuses = [_report(service, [_file(n)]).status_code for n in range(11)]
    assert statuses[-1] == 429  # ten reports per address per window


def test_nothing_about_the_sender_is_stored(service, store_url):
    from sqlalchemy import text

    from safeguard.store import Store

    _report(service, [_file(4)], age_band="16-17")
    store = Store.open(store_url)
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM self_reports")).mappings().one()
        audit = [
            json.dumps(dict(r))
            for r in connection.execute(text("SELECT * FROM audit_log")).mappings()
            if "self-report" in r["event"]
        ]
    store.close()
    assert set(row) == {
        "id",
        "receipt_sha256",
        "state",
        "created_at",
        "withdrawn_at",
        "files",
        "age_band",
        "country",
    }
    assert audit and not any("testclient" in record for record in audit)


def test_the_page_is_served_with_a_strict_policy_and_its_help_lines(service):
    page = service.call("GET", "/report/", None)
    assert page.status_code == 200 and "fingerprint" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "set-cookie" not in page.headers
    config = service.call("GET", "/report/config.json", None).json()
    assert config["api"] == "" and any(line["name"] == "Childline" for line in config["help"])
    for elsewhere in ("/report/store.db", "/report/..%2Fstore.db", "/report/help.json"):
        assert service.call("GET", elsewhere, None).status_code == 404  # only the page's files


@pytest.mark.slow
def test_a_static_bundle_points_at_its_api(tmp_path):
    help_file = tmp_path / "help.json"
    help_file.write_text(
        json.dumps(
            {"help": [{"name": "Local line", "url": "https://help.example/", "how": "call 123"}]}
        )
    )
    out = tmp_path / "site"
    run_cli(
        "self-report",
        "build",
        "-o",
        str(out),
        "--api",
        "https://api.example.org/",
        "--help-file",
        str(help_file),
    )
    config = json.loads((out / "config.json").read_text())
    assert config["api"] == "https://api.example.org" and config["help"][0]["name"] == "Local line"
    assert {p.name for p in out.iterdir()} >= {"index.html", "report.js", "pdq.js", "config.json"}
    weight = sum(p.stat().st_size for p in out.iterdir())
    assert weight < 150_000


def test_a_page_hosted_elsewhere_may_call_only_if_its_origin_is_named(tmp_path):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app

    from conftest import service_settings

    settings = replace(
        service_settings(str(tmp_path / "store.db")),
        self_report_origins=("https://pages.example.org",),
    )
    with TestClient(create_app(settings)) as client:
        for origin, allowed in (
            ("https://pages.example.org", True),
            ("https://evil.example", False),
        ):
            answer = client.options(
                "/v1/self-reports",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "content-type"},
            )  # fmt: skip
            granted = answer.headers.get("access-control-allow-origin")
            assert (granted == origin) is allowed


def _flipped(hex_value: str, bits: int) -> str:
    return f"{int(hex_value, 16) ^ ((1 << bits) - 1):064x}"


def test_an_approximate_hash_is_held_to_a_tighter_distance(service):
    """A PDQ hash the page could only approximate sits in its own list, matched within
    31 - 6 bits, so that a match is still within 31 of the picture itself."""
    exact, approximate = _file(11), {**_file(12), "path": "approximate"}
    answer = _report(service, [exact, approximate]).json()
    assert answer["added"] == 6
    lists = {hash_list["name"]: hash_list for hash_list in service.call(
        "GET", "/v1/lists", "reader").json()}  # fmt: skip
    assert lists["self-reported"]["entries"] == {"md5": 2, "sha256": 2, "pdq": 1}
    tighter = lists["self-reported-approximate"]
    assert tighter["entries"] == {"pdq": 1} and tighter["pdq_threshold"] == 25
    assert tighter["kind"] == "self-reported" and tighter["action"] == "review"
    assert _match(service, "pdq", _flipped(exact["pdq"], 28)) == "review"
    assert _match(service, "pdq", _flipped(approximate["pdq"], 28)) == "none"
    assert _match(service, "pdq", _flipped(approximate["pdq"], 25)) == "review"
    service.call("DELETE", f"/v1/self-reports/{answer['receipt']}", None)
    assert _match(service, "pdq", _flipped(approximate["pdq"], 25)) == "none"


def test_addresses_are_remembered_only_for_their_window():
    import time

    from safeguard.service.self_reports import Window

    window = Window(limit=2, seconds=0.2)
    assert [window.allow("192.0.2.1") for _ in range(3)] == [True, True, False]
    time.sleep(0.25)
    assert window.allow("192.0.2.9")  # another sender, after the first one's window
    assert "192.0.2.1" not in window._seen  # nothing about the first kept any longer
    assert window.allow("192.0.2.1")
