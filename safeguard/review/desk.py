"""What every route of the review workspace needs: the store's views and who is asking.

An exhibit's unknown families are worked out from all its items (the report's own
pass), which takes seconds on a large exhibit; they change only when the exhibit's
items or matches do, so they are kept per exhibit and worked out again only then.
Grades change with every keypress and are always read fresh.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlalchemy import func, select

from safeguard.errors import UsageError
from safeguard.store import Store
from safeguard.store.audit import AuditEvent
from safeguard.store.cases import Cases, Exhibit
from safeguard.store.exposure import Exposure
from safeguard.store.grades import Grades
from safeguard.store.items import ExhibitItems, ItemRecord
from safeguard.store.reviewers import IDLE_TIMEOUT, Reviewers, Session
from safeguard.store.schema import items as items_table
from safeguard.triage.report import ExhibitSection, summarise
from safeguard.vocabulary.entries import ALERT_KINDS

COOKIE = "safeguard_review"


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    idle: timedelta = IDLE_TIMEOUT
    secure_cookies: bool = False  # served over TLS (by a proxy in front)
    break_minutes: int = 45  # of reviewing, before the page suggests a break
    reveal_seconds: int = 10  # a revealed picture re-blurs after this long (or on focus change)


class Desk:
    def __init__(self, store: Store, settings: ReviewSettings) -> None:
        self.settings = settings
        self.accounts, self.grades = Reviewers(store.engine), Grades(store.engine)
        self.cases, self.items = Cases(store), ExhibitItems(store)
        self.exposure = Exposure(store.engine)
        self._engine = store.engine
        self._sections: dict[int, tuple[tuple, ExhibitSection]] = {}

    def session_of(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        return self.accounts.session(token, idle=self.settings.idle) if token else None

    def viewer(self, request: Request) -> Session:
        session = self.session_of(request)
        if session is None:
            raise HTTPException(401, "log in first")
        return session

    def change_by(self, request: Request, form_token: str | None = None) -> Session:
        """The session making a change, which must carry its CSRF token."""
        session = self.viewer(request)
        sent = form_token or request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, "missing or wrong CSRF token")
        return session

    def opened(self, session: Session, case: str, exhibit: str) -> Exhibit:
        if not session.reviewer.may_open(case):
            raise HTTPException(403, "this account may not open that case")
        try:
            return self.cases.exhibit(case, exhibit)
        except UsageError as missing:
            raise HTTPException(404, str(missing)) from None

    def picture(
        self, session: Session, case: str, exhibit: str, seq: int, has: Callable[[ItemRecord], bool]
    ) -> tuple[Exhibit, ItemRecord]:
        """An item this session may be shown (``has`` what is to be shown): never to a
        viewer, never one a list grades, not even blurred."""
        if not session.reviewer.sees_pictures:
            raise HTTPException(403, "a viewer sees counts only")
        chosen = self.opened(session, case, exhibit)
        found = self.items.by_seq(chosen.id, [seq])
        if not found or not has(found[0]):
            raise HTTPException(404, "no picture to show")
        if any(match.list_kind in ALERT_KINDS for match in found[0].matches):
            raise HTTPException(404, "a picture a list grades is never shown")
        return chosen, found[0]

    def section(self, exhibit: Exhibit) -> ExhibitSection:
        """The exhibit's report section without grades (counts, families), kept while its
        items and matches stay as they are."""
        with self._engine.connect() as connection:
            count = connection.execute(
                select(func.count()).where(items_table.c.exhibit_id == exhibit.id)
            ).scalar_one()
        key = (exhibit.status, exhibit.matched_at, count)
        kept = self._sections.get(exhibit.id)
        if kept is None or kept[0] != key:
            section = summarise(
                exhibit,
                self.items.items(exhibit.id, thumbnails=False),
                lambda seqs: self.items.by_seq(exhibit.id, seqs),
            )
            kept = self._sections[exhibit.id] = (key, section)
        return kept[1]

    def family_of(self, exhibit: Exhibit, seq: int) -> list[int]:
        section = self.section(exhibit)
        families = section.families.first(len(section.families)) if section.families else []
        return next((family for family in families if seq in family), [seq])


def reviewer_event(request: Request, session: Session, event: str, detail: dict) -> AuditEvent:
    """An audit record of something done in the workspace: who, from where, what."""
    origin = request.client.host if request.client else "unknown"
    return AuditEvent(f"reviewer:{session.reviewer.name}", origin, event, detail)


def audit_as(request: Request, session: Session, event: str, detail: dict):
    """The ``audit=`` of a grading change: its record, naming the action and what it changed."""
    return lambda action: reviewer_event(
        request,
        session,
        event,
        {**detail, "action_id": action.action_id, "changed": list(action.changed)},
    )
