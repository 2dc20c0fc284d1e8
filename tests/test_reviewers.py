"""Reviewer accounts: Argon2id passwords, lock-out, sessions with idle timeout, case access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from safeguard.errors import UsageError
from safeguard.store.audit import AuditLog
from safeguard.store.cases import Cases
from safeguard.store.reviewers import (
    IDLE_TIMEOUT,
    LOCKOUT,
    MAX_FAILURES,
    LoginRefused,
    Reviewers,
    Role,
)
from safeguard.store.schema import review_sessions, reviewers

from conftest import init_store, run_cli

PASSWORD = "correct horse battery"


def test_a_password_is_kept_only_as_an_argon2id_hash_and_a_session_only_as_a_digest(store):
    accounts = Reviewers(store.engine)
    accounts.create("ana", Role.REVIEWER, PASSWORD)
    token, session = accounts.log_in("ana", PASSWORD)
    with store.engine.connect() as connection:
        (kept,) = connection.execute(select(reviewers.c.password_hash)).one()
        sessions = connection.execute(select(review_sessions)).all()
    assert kept.startswith("$argon2id$") and PASSWORD not in kept
    assert len(sessions) == 1 and token not in repr(sessions[0]) and sessions[0].csrf
    assert session.reviewer.name == "ana" and session.csrf == sessions[0].csrf
    assert accounts.session(token).reviewer.role is Role.REVIEWER


def test_wrong_passwords_lock_the_account_even_against_the_right_one(store):
    accounts = Reviewers(store.engine)
    accounts.create("ben", Role.SUPERVISOR, PASSWORD)
    now = datetime.now(UTC)
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused, match="wrong name or password"):
            accounts.log_in("ben", "not the password", now=now)
    with pytest.raises(LoginRefused, match="locked until"):
        accounts.log_in("ben", PASSWORD, now=now)
    token, _ = accounts.log_in("ben", PASSWORD, now=now + LOCKOUT + timedelta(seconds=1))
    assert accounts.session(token) is not None
    with pytest.raises(LoginRefused, match="wrong name or password"):
        accounts.log_in("nobody", PASSWORD)  # the same words as a wrong password


def test_a_success_resets_the_count_and_unlock_lifts_a_lock(store):
    accounts = Reviewers(store.engine)
    accounts.create("cy", Role.VIEWER, PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(LoginRefused):
            accounts.log_in("cy", "nope nope nope")
    accounts.log_in("cy", PASSWORD)
    with pytest.raises(LoginRefused, match="wrong name"):  # counting starts again from zero
        accounts.log_in("cy", "nope nope nope")
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginRefused):
            accounts.log_in("cy", "nope nope nope")
    assert accounts.all()[0].locked_until is not None
    accounts.unlock("cy")
    assert accounts.log_in("cy", PASSWORD)[1].reviewer.locked_until is None


def test_sessions_end_on_logout_and_after_the_idle_timeout(store):
    accounts = Reviewers(store.engine)
    accounts.create("di", Role.REVIEWER, PASSWORD)
    started = datetime.now(UTC)
    token, _ = accounts.log_in("di", PASSWORD, now=started)
    later = started + IDLE_TIMEOUT - timedelta(seconds=5)
    assert accounts.session(token, now=later) is not None  # activity restarts the clock
    assert accounts.session(token, now=later + IDLE_TIMEOUT - timedelta(seconds=5)) is not None
    assert accounts.session(token, now=later + 3 * IDLE_TIMEOUT) is None
    assert accounts.session(token, now=later) is None  # ended, not merely idle
    other, _ = accounts.log_in("di", PASSWORD)
    accounts.log_out(other)
    assert accounts.session(other) is None
    assert accounts.session("a token never issued") is None


def test_an_account_may_be_limited_to_cases_and_a_viewer_never_sees_pictures(store):
    cases = Cases(store)
    cases.describe_case("OP-1")
    cases.describe_case("OP-2")
    accounts = Reviewers(store.engine)
    limited = accounts.create("eve", Role.REVIEWER, PASSWORD, cases_allowed=("OP-2",))
    viewer = accounts.create("fay", Role.VIEWER, PASSWORD)
    assert limited.may_open("OP-2") and not limited.may_open("OP-1") and limited.sees_pictures
    assert viewer.may_open("OP-1") and not viewer.sees_pictures
    with pytest.raises(UsageError, match="no case named 'OP-9'"):
        accounts.create("gus", Role.REVIEWER, PASSWORD, cases_allowed=("OP-9",))
    with pytest.raises(UsageError, match="at least 12 characters"):
        accounts.create("hal", Role.REVIEWER, "short")
    with pytest.raises(UsageError, match="exists already"):
        accounts.create("eve", Role.VIEWER, PASSWORD)


@pytest.mark.slow
def test_the_command_line_creates_lists_and_unlocks_accounts_and_audits_it(tmp_path):
    db = init_store(str(tmp_path / "case.db"))
    run_cli("cases", "set", "OP-1", "--examiner", "DC Kay", "--db", db)
    created = run_cli("users", "create", "--name", "ivy", "--role", "supervisor", "--case",
                      "OP-1", "--password-stdin", "--db", db, input=PASSWORD + "\n")  # fmt: skip
    assert "supervisor 'ivy' created (OP-1)" in created.stderr
    refused = run_cli("users", "create", "--name", "jo", "--role", "reviewer",
                      "--password-stdin", "--db", db, input="short\n", check=False)  # fmt: skip
    assert refused.returncode != 0 and "at least 12 characters" in refused.stderr
    listed = run_cli("users", "ls", "--json", "--db", db).stdout
    assert '"name": "ivy"' in listed and "argon2" not in listed
    run_cli("users", "unlock", "ivy", "--db", db)
    from safeguard.store import Store

    events = [r.event for r in AuditLog(Store.open(db).engine).records()]
    assert events.count("reviewer.create") == 1 and "reviewer.unlock" in events
