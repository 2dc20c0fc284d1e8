"""The audit chain notices a modified, a deleted and a reordered record (and a cut tail)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from safeguard.store import Store
from safeguard.store.audit import AuditEvent, AuditLog
from safeguard.store.schema import audit_log

from conftest import run_cli


@pytest.fixture
def chained(store_url):
    store = Store.open(store_url)
    log = AuditLog(store.engine)
    log.append(
        [
            AuditEvent("key:a", "10.0.0.1", "match.decision", {"action": "none", "n": i})
            for i in range(1, 6)
        ]
    )
    log.append([AuditEvent("cli:root", "cli@host", "list.delete", {"list": "old"})])
    yield store, log
    store.close()


def _tamper(store, statement) -> None:
    with store.engine.begin() as connection:
        connection.execute(statement)


def test_an_untouched_chain_verifies(chained, store_url):
    _, log = chained
    result = log.verify()
    assert result.ok and result.checked == 6
    seqs = [record.seq for record in log.records()]
    assert seqs == [1, 2, 3, 4, 5, 6]
    verified = run_cli("audit", "verify", "--db", store_url)
    assert "intact: 6 records" in verified.stdout and result.head in verified.stdout


def test_a_modified_record_is_found(chained, store_url):
    store, log = chained
    _tamper(
        store,
        update(audit_log).where(audit_log.c.seq == 3).values(detail='{"action":"block","n":3}'),
    )
    result = log.verify()
    assert result.broken_at == 3 and "modified" in result.reason
    failed = run_cli("audit", "verify", "--db", store_url, check=False)
    assert failed.returncode == 1 and "BROKEN at record 3" in failed.stderr


def test_a_modified_record_with_a_recomputed_hash_breaks_the_next_link(chained):
    store, log = chained
    from safeguard.store.audit import record_hash

    with store.engine.connect() as connection:
        row = connection.execute(select(audit_log).where(audit_log.c.seq == 2)).one()
    forged = '{"action":"none","n":99}'
    digest = record_hash(row.seq, row.at, row.actor, row.origin, row.event, forged, row.prev_hash)
    _tamper(
        store,
        update(audit_log).where(audit_log.c.seq == 2).values(detail=forged, hash=digest),
    )
    result = log.verify()
    assert result.broken_at == 3 and "does not follow" in result.reason


def test_a_deleted_record_is_found(chained):
    store, log = chained
    _tamper(store, delete(audit_log).where(audit_log.c.seq == 4))
    result = log.verify()
    assert result.broken_at == 4 and "missing" in result.reason


def test_reordered_records_are_found(chained):
    store, log = chained
    # Swap records 2 and 3 (their sequence numbers), as someone hiding an order would.
    _tamper(store, update(audit_log).where(audit_log.c.seq == 2).values(seq=-2))
    _tamper(store, update(audit_log).where(audit_log.c.seq == 3).values(seq=2))
    _tamper(store, update(audit_log).where(audit_log.c.seq == -2).values(seq=3))
    result = log.verify()
    assert result.broken_at == 2 and not result.ok


def test_a_cut_tail_is_found_through_the_head(chained):
    store, log = chained
    _tamper(store, delete(audit_log).where(audit_log.c.seq == 6))
    result = log.verify()
    assert result.broken_at == 6 and "removed from the end" in result.reason


def test_concurrent_writers_chain_in_one_order(store_url):
    from concurrent.futures import ThreadPoolExecutor

    store = Store.open(store_url)
    log = AuditLog(store.engine)

    def write(worker: int) -> None:
        for i in range(20):
            log.append([AuditEvent(f"w{worker}", "here", "test", {"i": i})])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    result = log.verify()
    store.close()
    assert result.ok and result.checked == 80


@pytest.mark.slow
def test_cli_changes_are_audited_with_the_user(tmp_path):
    db = str(tmp_path / "store.db")
    hashes = tmp_path / "md5.txt"
    hashes.write_text("a" * 32 + "\n")
    run_cli(
        "lists", "import", str(hashes), "--list", "l1", "--category", "A", "--create", "--db", db
    )
    run_cli("lists", "policy", "l1", "--action", "quarantine", "--db", db)
    run_cli("keys", "create", "--name", "platform", "--scope", "match", "--db", db)
    run_cli("keys", "revoke", "platform", "--db", db)
    run_cli("lists", "rm", "l1", "--db", db)
    import json

    records = [json.loads(line) for line in run_cli("audit", "ls", "--db", db).stdout.splitlines()]
    assert [r["event"] for r in records] == [
        "entries.add",
        "list.change",
        "key.create",
        "key.revoke",
        "list.delete",
    ]
    assert all(r["actor"].startswith("cli:") and r["origin"].startswith("cli@") for r in records)
    assert records[1]["detail"]["action"] == "quarantine"
    assert "intact: 5 records" in run_cli("audit", "verify", "--db", db).stdout


@pytest.mark.slow
def test_an_import_killed_at_any_moment_leaves_no_unaudited_list(store_url, tmp_path):
    """SIGKILL through loading, parsing, writing and committing: a list is there with its
    audit record, or neither is; the chain verifies either way."""
    import os
    import signal
    import subprocess
    import sys
    import time

    hashes = tmp_path / "md5.txt"
    hashes.write_text("".join(os.urandom(16).hex() + "\n" for _ in range(150_000)))
    run_cli("init", "--db", store_url)
    for trial, delay in enumerate((0.8, 1.4, 1.9, 2.3, 2.6, 2.9)):
        command = ["lists", "import", str(hashes), "--list", f"trial{trial}", "--category", "A"]
        importing = subprocess.Popen(
            [sys.executable, "-m", "safeguard", *command, "--db", store_url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        importing.send_signal(signal.SIGKILL)
        importing.wait()
    store = Store.open(store_url)
    try:
        lists = {hash_list.name for hash_list in store.lists()}
        audited = {
            record.to_json()["detail"]["list"]
            for record in AuditLog(store.engine).records()
            if record.event == "entries.add"
        }
        verified = AuditLog(store.engine).verify()
    finally:
        store.close()
    assert lists == audited
    assert verified.ok
