"""A list's new edition applied as a change: added, regraded, corrected, removed or
disabled, unchanged; entry ids and local disables kept; all or nothing; and the same
through ``lists import --update``, ``lists show`` and the API."""

from __future__ import annotations

import json

import pytest

from safeguard.errors import UsageError
from safeguard.matching import Matcher
from safeguard.signals import VPDQ
from safeguard.signals.vpdq import FrameHash
from safeguard.store import ImportRejected, ListSpec, NewEntry, Scheme
from safeguard.store.audit import AuditEvent, AuditLog
from safeguard.store.editions import Prune, apply_edition

from conftest import init_store, jsonl, run_cli

VICS = ListSpec(scheme=Scheme.VICS)


def _md5(n: int) -> bytes:
    return bytes([n]) * 16


def _entries(store, name: str) -> dict[bytes, object]:
    return {e.value: e for e in store.iter_entries(store.get_list(name).id)}


def test_an_edition_adds_regrades_corrects_and_keeps_ids_and_disables(store):
    video = VPDQ.encode([FrameHash(n * 30, 100, bytes([n]) * 32, float(n)) for n in range(5)])
    first = [NewEntry("md5", _md5(n), "1", record=n) for n in (1, 2, 3, 4)]
    store.import_entries("vics", [*first, NewEntry("vpdq", video, "2", record=5)], spec=VICS)
    before = _entries(store, "vics")
    store.disable_entry("vics", before[_md5(1)].id)  # a false match, disabled here
    edition = [
        NewEntry("md5", _md5(1), "2", record=1),  # regraded 1 -> 2
        NewEntry("md5", _md5(2), "1", notes="series confirmed", record=2),  # corrected
        NewEntry("md5", _md5(3), "1", record=3),  # unchanged
        NewEntry("md5", _md5(5), "3", record=4),  # new
        NewEntry("vpdq", video, "2", record=5),  # unchanged video
    ]  # md5 4 is gone from the edition
    events = []
    report = apply_edition(store, "vics", edition, spec=VICS,
                           audit=lambda done: events.append(done.summary()) or AuditEvent(
                               "t", "t", "entries.update", done.summary()))  # fmt: skip
    assert report.summary() == {
        "list": "vics", "added": 1, "regraded": 1, "corrected": 1, "removed": 0, "disabled": 0,
        "unchanged": 2, "kept_absent": 1, "bad": 0,
    }  # fmt: skip
    assert report.regrades == [("md5", _md5(1).hex(), "1", "2")]
    after = _entries(store, "vics")
    assert after[_md5(1)].id == before[_md5(1)].id and after[_md5(1)].category == "2"
    assert after[_md5(1)].disabled  # the local disable survived the regrade
    assert after[_md5(2)].notes == "series confirmed" and after[_md5(4)].category == "1"
    assert after[_md5(5)].category == "3"
    (stored_video,) = [e for e in after.values() if e.signal == "vpdq"]
    assert stored_video.value == video  # its frames untouched
    assert events[0]["regraded"] == 1
    assert AuditLog(store.engine).verify().ok

    matcher = Matcher(store)
    (hit,) = matcher.match_hashes([("md5", _md5(5))]).alerts  # the new entry matches at once
    assert hit.category == "3"
    assert matcher.match_hashes([("md5", _md5(1))]).alerts == []  # still disabled here


@pytest.mark.parametrize("prune", [Prune.REMOVE, Prune.DISABLE])
def test_prune_removes_or_disables_what_the_edition_dropped(store, prune):
    store.import_entries("l", [NewEntry("md5", _md5(n), "A", record=n) for n in (1, 2)],
                         spec=ListSpec())  # fmt: skip
    kept_id = _entries(store, "l")[_md5(1)].id
    report = apply_edition(store, "l", [NewEntry("md5", _md5(1), "A", record=1)],
                           spec=ListSpec(), prune=prune)  # fmt: skip
    after = _entries(store, "l")
    assert after[_md5(1)].id == kept_id
    if prune is Prune.REMOVE:
        assert (report.removed, set(after)) == (1, {_md5(1)})
    else:
        assert report.disabled == 1 and after[_md5(2)].disabled
    assert Matcher(store).match_hashes([("md5", _md5(2))]).alerts == []
    if prune is Prune.REMOVE:  # an edition dropping the newest entry and adding another
        store.import_entries("l", [NewEntry("md5", _md5(3), "A", record=1)], spec=ListSpec())
        dropped = _entries(store, "l")[_md5(3)].id
        edition = [NewEntry("md5", _md5(1), "A", record=1), NewEntry("md5", _md5(9), "B", record=2)]
        apply_edition(store, "l", edition, spec=ListSpec(), prune=prune)
        assert _entries(store, "l")[_md5(9)].id != dropped  # never the id just removed


def test_an_edition_with_bad_records_changes_nothing(store):
    store.import_entries("l", [NewEntry("md5", _md5(1), "A", record=1)], spec=ListSpec())
    edition = [NewEntry("md5", _md5(1), "B", record=1), NewEntry("md5", _md5(1), "C", record=2)]
    with pytest.raises(ImportRejected) as rejected:
        apply_edition(store, "l", edition, spec=ListSpec(), prune=Prune.REMOVE)
    assert "duplicate md5 of line/record 1" in str(rejected.value.report.bad[0])
    assert _entries(store, "l")[_md5(1)].category == "A"
    with pytest.raises(UsageError, match="alert/vics"):
        apply_edition(store, "l", edition[:1], spec=VICS)  # another scheme: refused


@pytest.mark.slow
def test_lists_import_update_and_show(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    first, second = tmp_path / "v1.csv", tmp_path / "v2.csv"
    first.write_text("md5,category\n" + "".join(f"{_md5(n).hex()},1\n" for n in (1, 2, 3)))
    second.write_text("md5,category,notes\n" f"{_md5(1).hex()},2,\n{_md5(2).hex()},1,\n"
                      f"{_md5(4).hex()},1,new\n")  # fmt: skip
    run_cli("lists", "import", str(first), "--list", "national", "--scheme", "vics", "--db", db)
    (entry,) = jsonl(run_cli("lists", "show", "national", "--hash", _md5(3).hex(), "--json",
                             "--db", db).stdout)  # fmt: skip
    run_cli("lists", "disable", "national", "--entry", str(entry["id"]), "--db", db)
    done = run_cli("lists", "import", str(second), "--list", "national", "--scheme", "vics",
                   "--update", "--prune", "disable", "--db", db)  # fmt: skip
    assert ("1 added, 1 regraded, 0 corrected, 0 removed, 0 disabled, 1 unchanged"
            in done.stdout), done.stdout  # fmt: skip
    assert f"regraded md5 {_md5(1).hex()}: 1 -> 2" in done.stderr
    shown = jsonl(run_cli("lists", "show", "national", "--json", "--db", db).stdout)
    assert [(r["value"][:2], r["category"], r["disabled"]) for r in shown] == [
        ("01", "2", False), ("02", "1", False), ("03", "1", True), ("04", "1", False),
    ]  # fmt: skip
    only = jsonl(run_cli("lists", "show", "national", "--category", "2", "--json",
                         "--db", db).stdout)  # fmt: skip
    assert [r["value"][:2] for r in only] == ["01"]
    audit = jsonl(run_cli("audit", "ls", "--db", db).stdout)
    (update,) = [r for r in audit if r["event"] == "entries.update"]
    assert update["detail"]["regraded"] == 1 and update["detail"]["file"] == str(second.resolve())
    refused = run_cli("lists", "import", str(second), "--list", "national", "--prune", "remove",
                      "--db", db, check=False)  # fmt: skip
    assert refused.returncode == 2 and "--prune applies to --update only" in refused.stderr


def test_an_edition_and_entry_pages_through_the_api(service):
    service.call("POST", "/v1/lists", "writer", json={"name": "l", "scheme": "vics"})
    entries = [{"signal": "md5", "value": _md5(n).hex(), "category": "1"} for n in range(1, 6)]
    service.call("POST", "/v1/lists/l/entries", "writer", json={"entries": entries})
    edition = [{**entries[0], "category": "2"}, *entries[1:4]]
    applied = service.call("PUT", "/v1/lists/l/entries", "writer",
                           json={"entries": edition, "prune": "remove"})  # fmt: skip
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert (body["regraded"], body["removed"], body["unchanged"]) == (1, 1, 3)
    first = service.call("GET", "/v1/lists/l/entries?limit=3", "reader").json()
    assert len(first["entries"]) == 3 and first["next_after"] == first["entries"][-1]["id"]
    rest = service.call("GET", f"/v1/lists/l/entries?limit=3&after={first['next_after']}",
                        "reader").json()  # fmt: skip
    assert len(rest["entries"]) == 1 and rest["next_after"] is None
    found = service.call("GET", f"/v1/lists/l/entries?hash={_md5(1).hex()}", "reader").json()
    assert [e["category"] for e in found["entries"]] == ["2"]
    assert service.call("PUT", "/v1/lists/l/entries", "reader",
                        json={"entries": edition}).status_code == 403  # fmt: skip
    bad = service.call("GET", "/v1/lists/l/entries?hash=abc", "reader")
    assert bad.status_code == 422 and "not a hash" in bad.text
    assert json.loads(service.call("GET", "/v1/lists/nope/entries", "reader").text)["detail"]
