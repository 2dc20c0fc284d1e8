"""The service's commands: keys shown once and stored hashed, webhooks, list policies."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import init_store, jsonl, run_cli


@pytest.mark.slow
def test_keys_are_printed_once_and_stored_only_as_salted_hashes(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    created = run_cli(
        "keys", "create", "--name", "platform", "--scope", "match", "--fields", "list,signal",
        "--rate-limit", "50", "--db", db,
    )  # fmt: skip
    token = created.stdout.strip()
    assert token.startswith("sgk_") and "not shown again" in created.stderr
    listed = jsonl(run_cli("keys", "ls", "--json", "--db", db).stdout)
    assert listed[0]["name"] == "platform" and listed[0]["scopes"] == ["match"]
    assert listed[0]["fields"] == ["list", "signal"] and listed[0]["rate_limit"] == 50
    secret = token.split("_", 2)[2]
    with sqlite3.connect(db) as connection:
        stored = b"".join(
            bytes(cell) if isinstance(cell, bytes) else str(cell).encode()
            for row in connection.execute("SELECT * FROM api_keys")
            for cell in row
        )
    assert secret.encode() not in stored and token.encode() not in stored
    assert listed[0]["key_id"] in token

    run_cli("keys", "revoke", listed[0]["key_id"], "--db", db)
    again = run_cli("keys", "revoke", "platform", "--db", db, check=False)
    assert again.returncode == 2 and "no live key" in again.stderr
    refused = run_cli("keys", "create", "--name", "x", "--scope", "root", "--db", db, check=False)
    assert refused.returncode == 2


@pytest.mark.slow
def test_webhooks_and_list_policies_from_the_command_line(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    secret = run_cli("webhooks", "add", "https://receiver.example/hook", "--db", db).stdout
    assert len(secret.strip()) >= 40
    (hook,) = jsonl(run_cli("webhooks", "ls", "--db", db).stdout)
    assert hook["url"] == "https://receiver.example/hook" and "secret" not in hook
    bad = run_cli("webhooks", "add", "file:///etc/passwd", "--db", db, check=False)
    assert bad.returncode == 2

    hashes = tmp_path / "md5.txt"
    hashes.write_text("c" * 32 + "\n")
    run_cli("lists", "import", str(hashes), "--list", "l", "--action", "report", "--db", db)
    policy = json.loads(
        run_cli("lists", "policy", "l", "--review-threshold", "50", "--db", db).stdout
    )
    assert policy == {
        "list": "l",
        "action": "report",
        "pdq_threshold": None,
        "review_threshold": 50,
        "vpdq_percents": [80.0, 0.0],
        "thresholds": {"pdq": {"threshold": None, "review_threshold": 50}},
        "category_policies": {},
        "variants": "all",
    }
    too_low = run_cli("lists", "policy", "l", "--review-threshold", "20", "--db", db, check=False)
    assert too_low.returncode == 2 and "above the match threshold" in too_low.stderr
    (listed,) = jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)
    assert listed["action"] == "report" and listed["review_threshold"] == 50
    run_cli("webhooks", "rm", str(hook["id"]), "--db", db)
    assert run_cli("webhooks", "ls", "--db", db).stdout == ""
