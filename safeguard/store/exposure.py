"""Exposure accounting: which pictures the review workspace put in front of whom, and when.

Looking at this material harms the people who do it, so the number that matters
is how many pictures a person had to look at: every picture the workspace sends
to a browser is recorded against the reviewer (a view), and summed per reviewer
and day (pictures seen, grades made, minutes in which pictures were seen) and per
exhibit (pictures seen against what lists and family grading spared everyone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, func, select

from safeguard.store.database import as_utc
from safeguard.store.schema import grade_history, review_views


@dataclass(frozen=True, slots=True)
class DaySummary:
    reviewer: str
    day: date
    pictures_seen: int  # distinct pictures
    views: int  # every time one was sent
    minutes_exposed: int  # minutes with at least one picture sent
    grading_actions: int  # a family graded with one key is one action


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

    def pictures_seen(self, exhibit_id: int) -> int:
        """Distinct pictures of the exhibit any person was shown."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count(func.distinct(review_views.c.seq))).where(
                    review_views.c.exhibit_id == exhibit_id
                )
            ).scalar_one()

    def day(self, day: date, reviewers: list[str] | None = None) -> list[DaySummary]:
        """Each reviewer's exposure on ``day`` (UTC): everyone's, or these reviewers'."""
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        with self.engine.connect() as connection:
            views = connection.execute(
                select(review_views.c.reviewer, review_views.c.seq, review_views.c.at).where(
                    review_views.c.at >= start, review_views.c.at < end
                )
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
            summaries.append(
                DaySummary(
                    reviewer=name,
                    day=day,
                    pictures_seen=len({row.seq for row in theirs}),
                    views=len(theirs),
                    minutes_exposed=len(minutes),
                    grading_actions=acted.get(name, 0),
                )
            )
        return summaries
