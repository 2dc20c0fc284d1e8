"""Exposure accounting: which pictures the review workspace put in front of whom, and when.

Looking at this material harms the people who do it, so the number that matters
is how many pictures a person had to look at: every picture the workspace sends
to a browser is recorded against the reviewer (a view: a blurred thumbnail, or a
reveal of the picture itself with its seconds on screen), and summed per reviewer
and day (pictures seen and revealed, grades made, minutes in which pictures were
seen) and per exhibit (pictures revealed against what lists and family grading
spared everyone). A reveal is also written to the audit chain, in the same
transaction as its view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, func, select, update

from safeguard.store.audit import Audit, audited
from safeguard.store.database import as_utc
from safeguard.store.schema import grade_history, review_views

REVEAL = "reveal"


@dataclass(frozen=True, slots=True)
class DaySummary:
    reviewer: str
    day: date
    pictures_seen: int  # distinct pictures
    views: int  # every time one was sent
    minutes_exposed: int  # minutes with at least one picture sent
    grading_actions: int  # a family graded with one key is one action
    pictures_revealed: int = 0  # distinct pictures shown unblurred
    seconds_revealed: float = 0.0  # on screen, summed over reveals that ended


class Exposure:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_view(self, reviewer: str, exhibit_id: int, seq: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                review_views.insert().values(
                    reviewer=reviewer, exhibit_id=exhibit_id, seq=seq, at=datetime.now(UTC)
                )
            )

    def record_reveal(self, reviewer: str, exhibit_id: int, seq: int, audit: Audit) -> int:
        """A picture shown unblurred: its view and its audit record, together. Its id."""
        with self.engine.begin() as connection:
            reveal = connection.execute(
                review_views.insert().values(
                    reviewer=reviewer, exhibit_id=exhibit_id, seq=seq, at=datetime.now(UTC),
                    kind=REVEAL,
                )
            ).inserted_primary_key[0]  # fmt: skip
            audited(connection, audit, reveal)
        return reveal

    def end_reveal(self, reveal: int, reviewer: str, seconds: float, audit: Audit) -> bool:
        """How long a reveal stayed on screen, said once by the reviewer's own page."""
        with self.engine.begin() as connection:
            ended = connection.execute(
                update(review_views)
                .where(
                    review_views.c.id == reveal,
                    review_views.c.reviewer == reviewer,
                    review_views.c.kind == REVEAL,
                    review_views.c.seconds.is_(None),
                )
                .values(seconds=seconds)
            ).rowcount
            if ended:
                audited(connection, audit, reveal)
        return bool(ended)

    def pictures_seen(self, exhibit_id: int, *, revealed: bool = False) -> int:
        """Distinct pictures of the exhibit any person was shown (or shown unblurred)."""
        query = select(func.count(func.distinct(review_views.c.seq))).where(
            review_views.c.exhibit_id == exhibit_id
        )
        if revealed:
            query = query.where(review_views.c.kind == REVEAL)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def day(self, day: date, reviewers: list[str] | None = None) -> list[DaySummary]:
        """Each reviewer's exposure on ``day`` (UTC): everyone's, or these reviewers'."""
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        with self.engine.connect() as connection:
            views = connection.execute(
                select(
                    review_views.c.reviewer,
                    review_views.c.seq,
                    review_views.c.at,
                    review_views.c.kind,
                    review_views.c.seconds,
                ).where(review_views.c.at >= start, review_views.c.at < end)
            ).all()
            actions = connection.execute(
                select(grade_history.c.by, func.count(func.distinct(grade_history.c.action_id)))
                .where(
                    grade_history.c.at >= start,
                    grade_history.c.at < end,
                    grade_history.c.kind.in_(("grade", "confirm")),
                )
                .group_by(grade_history.c.by)
            ).all()
        acted = dict(actions)
        names = sorted({row.reviewer for row in views} | set(acted))
        if reviewers is not None:
            names = [name for name in names if name in reviewers]
        summaries = []
        for name in names:
            theirs = [row for row in views if row.reviewer == name]
            minutes = {as_utc(row.at).replace(second=0, microsecond=0) for row in theirs}
            reveals = [row for row in theirs if row.kind == REVEAL]
            summaries.append(
                DaySummary(
                    reviewer=name,
                    day=day,
                    pictures_seen=len({row.seq for row in theirs}),
                    views=len(theirs),
                    minutes_exposed=len(minutes),
                    grading_actions=acted.get(name, 0),
                    pictures_revealed=len({row.seq for row in reveals}),
                    seconds_revealed=sum(row.seconds or 0.0 for row in reveals),
                )
            )
        return summaries
