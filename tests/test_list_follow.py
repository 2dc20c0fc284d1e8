"""One Safeguard follows another's list through its change feed: a real ``safeguard serve``
on loopback for the source, the ``lists follow`` command for the follower. Additions,
regrades, disables and removals arrive; a follower killed mid-run resumes without loss or
duplicates; with ``--every`` an edit on the source arrives within the interval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from safeguard.store import ListSpec, NewEntry, Scheme, Store
from safeguard.store.editions import Prune, apply_edition
from safeguard.store.feeds import Cursor, changes_since

from conftest import init_store, jsonl, run_cli, wait_for
from serving import serving

VICS = ListSpec(scheme=Scheme.VICS)


def _md5(n: int) -> bytes:
    return n.to_bytes(16, "big")


def _state(db: str, name: str) -> list[tuple]:
    rows = jsonl(run_cli("lists", "show", name, "--json", "--limit", "100000", "--db", db).stdout)
    return sorted((r["signal"], r["value"], r["category"], r["notes"], r["disabled"]) for r in rows)


def test_the_feed_pages_within_one_revision_and_tells_removals(store):
    store.import_entries("l", [NewEntry("md5", _md5(n), "1", record=n) for n in range(7)],
                         spec=VICS)  # fmt: skip
    list_id = store.get_list("l").id
    seen, cursor, more = [], Cursor(0, 0, 0), True
    while more:
        page, cursor, more = changes_since(store, list_id, cursor, 3)
        seen += page
    assert [c["value"] for c in seen] == [_md5(n).hex() for n in range(7)]
    apply_edition(store, "l", [NewEntry("md5", _md5(0), "2", record=1)], spec=VICS,
                  prune=Prune.REMOVE)  # fmt: skip
    later, _, more = changes_since(store, list_id, cursor, 100)
    assert not more and [c["op"] for c in later] == ["remove"] * 6 + ["upsert"]
    assert later[-1]["category"] == "2"


@pytest.mark.slow
def test_a_list_followed_from_another_safeguard(tmp_path):
    source_db = init_store(str(tmp_path / "source.db"))
    follower_db = init_store(str(tmp_path / "follower.db"))
    bank = tmp_path / "bank.csv"
    bank.write_text("md5,category\n" + "".join(f"{_md5(n).hex()},1\n" for n in range(2500)))
    run_cli("lists", "import", str(bank), "--list", "national", "--scheme", "vics",
            "--db", source_db)  # fmt: skip
    key = run_cli("keys", "create", "--name", "partner", "--scope", "lists:read",
                  "--db", source_db).stdout.strip()  # fmt: skip
    key_file = tmp_path / "key"
    key_file.write_text(key)
    with serving(source_db) as base:
        url = f"{base}/v1/lists/national"
        follow = ["lists", "follow", url, "--list", "mirror", "--key-file", str(key_file),
                  "--db", follower_db]  # fmt: skip
        first = run_cli(*follow)
        assert "2,500 added or changed, 0 removed in 3 page(s)" in first.stdout
        assert _state(follower_db, "mirror") == _state(source_db, "national")
        mirror = json.loads(run_cli("lists", "ls", "--json", "--db", follower_db).stdout)
        assert (mirror["kind"], mirror["scheme"]) == ("alert", "vics")

        # Regrades, a correction, a disable, additions and removals on the source.
        source = Store.open(source_db)
        edition = [NewEntry("md5", _md5(n), "2" if n < 10 else "1", record=n) for n in range(2000)]
        edition += [NewEntry("md5", _md5(n), "3", notes="new", record=n) for n in range(3000, 3400)]
        apply_edition(source, "national", edition, spec=VICS, prune=Prune.REMOVE)
        (entry,) = [e for e in source.iter_entries(source.get_list("national").id)
                    if e.value == _md5(42)]  # fmt: skip
        source.disable_entry("national", entry.id)
        source.close()

        # A follower killed after its first pages resumes where it stopped.
        killed = subprocess.Popen([sys.executable, "-m", "safeguard", *follow, "--page-size", "50"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        before = _cursor(follower_db)
        wait_for(lambda: _cursor(follower_db) != before, timeout=60)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        run_cli(*follow)
        assert _state(follower_db, "mirror") == _state(source_db, "national")
        again = run_cli(*follow)  # nothing new: nothing applied twice
        assert "0 added or changed, 0 removed in 1 page(s)" in again.stdout

        # Following every second, with the follower's store served too: an edit on the
        # source is matchable on the second instance within the interval.
        match_key = run_cli("keys", "create", "--name", "platform", "--scope", "match",
                            "--db", follower_db).stdout.strip()  # fmt: skip
        command = [sys.executable, "-m", "safeguard", *follow, "--every", "1"]
        background = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with serving(follower_db) as second:

                def matched_on_second() -> bool:
                    answer = httpx.post(
                        f"{second}/v1/match/hashes",
                        headers={"Authorization": f"Bearer {match_key}"},
                        json={"hashes": [{"signal": "md5", "value": _md5(9999).hex()}]},
                    )
                    return answer.json()["results"][0]["action"] == "block"

                assert not matched_on_second()
                extra = tmp_path / "extra.csv"
                extra.write_text(f"md5,category\n{_md5(9999).hex()},1\n")
                run_cli("lists", "import", str(extra), "--list", "national", "--scheme", "vics",
                        "--db", source_db)  # fmt: skip
                started = time.monotonic()
                wait_for(matched_on_second, timeout=30)
                assert time.monotonic() - started < 10
        finally:
            background.terminate()
            background.wait(timeout=30)
    wrong = run_cli("lists", "follow", f"{base}/v1/lists/other", "--list", "mirror",
                    "--key-file", str(key_file), "--db", follower_db, check=False)  # fmt: skip
    assert wrong.returncode == 2 and "follows" in wrong.stderr


def _cursor(db: str) -> str | None:
    import sqlite3

    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT cursor FROM list_follows").fetchone()
    return row[0] if row else None
