"""The workspace's JSON routes: grade, undo, confirm. Each is one action, saved at once.

A grade made on a stale view (someone graded the picture meanwhile) is refused
with 409 and says who; a grade the store refuses (a viewer, a list-graded item, a
grade not in the scheme) is 422.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from safeguard.errors import UsageError
from safeguard.review.desk import Desk, audit_as
from safeguard.store import Scheme
from safeguard.store.grades import GradeConflict, GradeFlags, GradingAction


class GradeRequest(BaseModel):
    case: str
    exhibit: str
    seq: int
    scheme: Scheme
    category: str = Field(max_length=16)
    seen_version: int = Field(ge=0)
    family: bool = False
    flags: GradeFlags = GradeFlags()


class ConfirmRequest(BaseModel):
    case: str
    exhibit: str
    seq: int
    seen_version: int = Field(ge=1)
    category: str | None = Field(None, max_length=16)  # a change, kept as a disagreement


class UndoRequest(BaseModel):
    action_id: str = Field(max_length=64)


def add_api(app: FastAPI, desk: Desk) -> None:
    @app.post("/api/grade")
    def grade(request: Request, asked: GradeRequest) -> dict:
        session = desk.change_by(request)
        chosen = desk.opened(session, asked.case, asked.exhibit)
        family = desk.family_of(chosen, asked.seq) if asked.family else []
        action = _acted(
            lambda: desk.grades.grade(
                chosen.id,
                asked.seq,
                asked.scheme,
                asked.category,
                by=session.reviewer,
                seen_version=asked.seen_version,
                flags=asked.flags,
                family=family,
                audit=audit_as(request, session, "grade.set", asked.model_dump()),
            )
        )
        return {**_answer(action), "kept": action.kept,
                "version": desk.grades.version(chosen.id, asked.seq)}  # fmt: skip

    @app.post("/api/confirm")
    def confirm(request: Request, asked: ConfirmRequest) -> dict:
        session = desk.change_by(request)
        chosen = desk.opened(session, asked.case, asked.exhibit)
        action = _acted(
            lambda: desk.grades.confirm(
                chosen.id,
                asked.seq,
                by=session.reviewer,
                seen_version=asked.seen_version,
                category=asked.category,
                audit=audit_as(request, session, "grade.confirm", asked.model_dump()),
            )
        )
        return {**_answer(action), "version": desk.grades.version(chosen.id, asked.seq)}

    @app.post("/api/undo")
    def undo(request: Request, asked: UndoRequest) -> dict:
        session = desk.change_by(request)
        action = _acted(
            lambda: desk.grades.undo(
                asked.action_id,
                by=session.reviewer,
                audit=audit_as(request, session, "grade.undo", asked.model_dump()),
            )
        )
        return _answer(action)


def _acted(act: Callable[[], GradingAction]) -> GradingAction:
    try:
        return act()
    except GradeConflict as conflict:
        raise HTTPException(409, str(conflict)) from None
    except UsageError as refused:
        raise HTTPException(422, str(refused)) from None


def _answer(action: GradingAction) -> dict:
    return {"action_id": action.action_id, "changed": action.changed}
