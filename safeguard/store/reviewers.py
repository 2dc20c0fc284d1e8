"""Reviewer accounts of the review workspace: roles, per-case access, logins and sessions.

Passwords are kept as Argon2id hashes (argon2-cffi's defaults: 64 MiB, 3 passes),
never as text. Five wrong passwords in a row lock an account for fifteen minutes,
even against the right one; an unknown name costs the same hash as a known one, so
timing does not say which names exist. A session is a random cookie of which the
store keeps SHA-256 only (it is a 256-bit secret: a slow hash would add nothing),
with its own CSRF token; it ends on logout or after an idle period.

Roles: a ``viewer`` sees counts only, never pictures; a ``reviewer`` grades; a
``supervisor`` also confirms or changes others' grades. A reviewer listed against
cases may open only those; one listed against none may open every case.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update

from safeguard.errors import NotFound, UsageError
from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.schema import cases, review_sessions, reviewer_cases, reviewers

MIN_PASSWORD = 12
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
_TOUCH_EVERY = timedelta(seconds=30)  # a session's last-seen time is written at most this often

_HASHER = PasswordHasher()


@cache
def _unknown_name_hash() -> str:
    """A hash no password matches, verified for unknown names (made once, when first needed)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    VIEWER = "viewer"  # counts only
    REVIEWER = "reviewer"  # grades
    SUPERVISOR = "supervisor"  # grades, and confirms or changes others' grades


class LoginRefused(UsageError):
    """Wrong name or password, or a locked account: one message for all, said to the user."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    id: int
    name: str
    role: Role
    cases: tuple[str, ...]  # the cases the reviewer may open; empty: all
    locked_until: datetime | None

    def may_open(self, case: str) -> bool:
        return not self.cases or case in self.cases

    @property
    def sees_pictures(self) -> bool:
        return self.role is not Role.VIEWER

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "role": str(self.role),
            "cases": list(self.cases),
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
        }


@dataclass(frozen=True, slots=True)
class Session:
    reviewer: Reviewer
    csrf: str


class Reviewers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        role: Role,
        password: str,
        *,
        cases_allowed: tuple[str, ...] = (),
        audit: Audit = None,
    ) -> Reviewer:
        if not name.strip():
            raise UsageError("a reviewer needs a name")
        if len(password) < MIN_PASSWORD:
            raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
        with self.engine.begin() as connection:
            if connection.execute(select(reviewers.c.id).where(reviewers.c.name == name)).first():
                raise UsageError(f"a reviewer named {name!r} exists already")
            case_ids = _case_ids(connection, cases_allowed)
            reviewer_id = connection.execute(
                reviewers.insert().values(
                    name=name,
                    role=str(Role(role)),
                    password_hash=_HASHER.hash(password),
                    failed_logins=0,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
            if case_ids:
                connection.execute(
                    reviewer_cases.insert(),
                    [{"reviewer_id": reviewer_id, "case_id": c} for c in case_ids],
                )
            created = _reviewer(connection, reviewer_id)
            audited(connection, audit, created)
        return created

    def all(self) -> list[Reviewer]:
        with self.engine.connect() as connection:
            ids = connection.execute(select(reviewers.c.id).order_by(reviewers.c.name)).scalars()
            return [_reviewer(connection, reviewer_id) for reviewer_id in ids.all()]

    def unlock(self, name: str, *, audit: Audit = None) -> Reviewer:
        with self.engine.begin() as connection:
            reviewer_id = _id_of(connection, name)
            connection.execute(
                update(reviewers)
                .where(reviewers.c.id == reviewer_id)
                .values(failed_logins=0, locked_until=None)
            )
            unlocked = _reviewer(connection, reviewer_id)
            audited(connection, audit, unlocked)
        return unlocked

    def log_in(
        self, name: str, password: str, *, now: datetime | None = None
    ) -> tuple[str, Session]:
        """A new session's cookie token and the session, or :class:`LoginRefused`."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as connection:  # a failure's count commits before refusing
            row = connection.execute(
                select(reviewers).where(reviewers.c.name == name).with_for_update()
            ).first()
            refusal = _refusal(connection, row, password, now)
            if refusal is None:
                return self._open_session(connection, row, password, now)
        raise LoginRefused(refusal)

    @staticmethod
    def _open_session(connection: Connection, row, password: str, now: datetime):
        changes = {"failed_logins": 0, "locked_until": None}
        if _HASHER.check_needs_rehash(row.password_hash):
            changes["password_hash"] = _HASHER.hash(password)
        connection.execute(update(reviewers).where(reviewers.c.id == row.id).values(**changes))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        connection.execute(
            review_sessions.insert().values(
                token_digest=_digest(token),
                reviewer_id=row.id,
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
            )
        )
        return token, Session(_reviewer(connection, row.id), csrf)

    def session(
        self, token: str, *, idle: timedelta = IDLE_TIMEOUT, now: datetime | None = None
    ) -> Session | None:
        """The live session of this cookie token, its idle clock restarted; None if there is
        none, it was ended, or it has been idle too long (then it is ended here)."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(review_sessions).where(review_sessions.c.token_digest == _digest(token))
            ).first()
            if row is None or row.ended_at is not None:
                return None
            last_seen = as_utc(row.last_seen_at)
            if now - last_seen > idle:
                _end(connection, row.id, last_seen + idle)
                return None
            if now - last_seen > _TOUCH_EVERY:
                connection.execute(
                    update(review_sessions)
                    .where(review_sessions.c.id == row.id)
                    .values(last_seen_at=now)
                )
            return Session(_reviewer(connection, row.reviewer_id), row.csrf)

    def log_out(self, token: str) -> None:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(review_sessions.c.id).where(review_sessions.c.token_digest == _digest(token))
            ).first()
            if row is not None:
                _end(connection, row.id, datetime.now(UTC))


def _refusal(connection: Connection, row, password: str, now: datetime) -> str | None:
    """Why this login is refused (a failure is counted), or None."""
    if row is None:
        _verifies(_unknown_name_hash(), password)  # the same cost as a known name
        return "wrong name or password"
    locked = as_utc(row.locked_until)
    if locked is not None and locked > now:
        return (
            f"this account is locked until {locked.isoformat(timespec='seconds')} after "
            "repeated failed logins; a supervisor can unlock it sooner (`safeguard users unlock`)"
        )
    if _verifies(row.password_hash, password):
        return None
    failures = row.failed_logins + 1
    connection.execute(
        update(reviewers)
        .where(reviewers.c.id == row.id)
        .values(
            failed_logins=failures,
            locked_until=now + LOCKOUT if failures >= MAX_FAILURES else None,
        )
    )
    return "wrong name or password"


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end(connection: Connection, session_id: int, at: datetime) -> None:
    connection.execute(
        update(review_sessions).where(review_sessions.c.id == session_id).values(ended_at=at)
    )


def _id_of(connection: Connection, name: str) -> int:
    found = connection.execute(select(reviewers.c.id).where(reviewers.c.name == name)).first()
    if found is None:
        raise NotFound(f"no reviewer named {name!r} (see `safeguard users ls`)")
    return found[0]


def _case_ids(connection: Connection, names: tuple[str, ...]) -> list[int]:
    rows = connection.execute(select(cases.c.id, cases.c.name).where(cases.c.name.in_(names)))
    found = {row.name: row.id for row in rows}
    missing = [name for name in names if name not in found]
    if missing:
        raise UsageError(f"no case named {missing[0]!r} in this store (see `safeguard cases ls`)")
    return [found[name] for name in names]


def _reviewer(connection: Connection, reviewer_id: int) -> Reviewer:
    row = connection.execute(select(reviewers).where(reviewers.c.id == reviewer_id)).one()
    allowed = connection.execute(
        select(cases.c.name)
        .join(reviewer_cases, reviewer_cases.c.case_id == cases.c.id)
        .where(reviewer_cases.c.reviewer_id == reviewer_id)
        .order_by(cases.c.name)
    ).scalars()
    return Reviewer(row.id, row.name, Role(row.role), tuple(allowed), as_utc(row.locked_until))
