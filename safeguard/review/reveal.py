"""Revealing one picture: deliberate, one at a time, read from the evidence, audited.

A reveal is a state change (``POST /api/reveal``, with the CSRF token): the item
is read back from the evidence by its locator and checked against its SHA-256,
made into an upright colour view, and recorded, in one transaction, as a view of
kind ``reveal`` and a ``picture.reveal`` audit record (who, which item, when, for
at most how many seconds). The view is handed out once, to the same reviewer,
at a one-time address with ``Cache-Control: no-store``: a reload or a second tab
shows nothing without a new, audited reveal. The page re-blurs it after the
configured seconds or as soon as focus moves, and says how long it was shown
(``POST /api/reveal/end``), written to the chain as ``picture.reveal.end``.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from safeguard.errors import SafeguardError
from safeguard.media.options import DecodeLimits
from safeguard.media.thumbnails import revealed_view
from safeguard.review.desk import Desk, reviewer_event
from safeguard.sources.fetch import ReadBackError, read_back
from safeguard.triage.scan import ScanOptions

PICKUP_SECONDS = 30  # a view not fetched by then is dropped
SLACK_SECONDS = 2  # a page's timer may fire a little late; beyond that, its word is capped


class RevealRequest(BaseModel):
    case: str
    exhibit: str
    seq: int


class RevealEnd(BaseModel):
    reveal: int
    seconds: float = Field(ge=0)
    why: str = Field("closed", max_length=16)  # timer, focus, closed


class _Handout:
    """Views waiting to be fetched, each once, by the reviewer who asked for it."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[float, str, bytes]] = {}
        self._lock = threading.Lock()

    def put(self, reviewer: str, view: bytes) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for old in [t for t, (at, _, _) in self._waiting.items() if now - at > PICKUP_SECONDS]:
                del self._waiting[old]
            self._waiting[token] = (now, reviewer, view)
        return token

    def take(self, token: str, reviewer: str) -> bytes | None:
        with self._lock:
            waiting = self._waiting.get(token)
            if waiting is None or waiting[1] != reviewer:
                return None
            del self._waiting[token]
        at, _, view = waiting
        return view if time.monotonic() - at <= PICKUP_SECONDS else None


def add_reveal(app: FastAPI, desk: Desk) -> None:
    handout = _Handout()
    limit = desk.settings.reveal_seconds

    @app.post("/api/reveal")
    def reveal(request: Request, asked: RevealRequest) -> dict:
        session = desk.change_by(request)
        chosen, item = desk.picture(
            session, asked.case, asked.exhibit, asked.seq,
            lambda i: (i.type or "").startswith("image/"),
        )  # fmt: skip
        limits = ScanOptions.from_json(chosen.options).archive_limits()
        try:
            data = read_back(Path(chosen.source), chosen.name, item.steps, item.sha256, limits)
            view = revealed_view(data, DecodeLimits())
        except (ReadBackError, SafeguardError, OSError) as failed:
            raise HTTPException(409, f"cannot show this picture: {failed}") from None
        detail = {
            "case": asked.case, "exhibit": asked.exhibit, "seq": asked.seq,
            "locator": item.locator, "sha256": item.sha256.hex() if item.sha256 else None,
            "shown_for_at_most_seconds": limit,
        }  # fmt: skip
        reveal_id = desk.exposure.record_reveal(
            session.reviewer.name,
            chosen.id,
            asked.seq,
            lambda made: reviewer_event(
                request, session, "picture.reveal", {**detail, "reveal": made}
            ),
        )  # fmt: skip
        token = handout.put(session.reviewer.name, view)
        return {"reveal": reveal_id, "url": f"/reveal/{token}", "seconds": limit}

    @app.get("/reveal/{token}")
    def revealed(request: Request, token: str) -> Response:
        session = desk.viewer(request)
        view = handout.take(token, session.reviewer.name)
        if view is None:
            raise HTTPException(404, "shown once only: reveal it again")
        return Response(view, media_type="image/jpeg")

    @app.post("/api/reveal/end")
    def reveal_end(request: Request, said: RevealEnd) -> dict:
        session = desk.change_by(request)
        seconds = round(min(said.seconds, limit + SLACK_SECONDS), 1)
        ended = desk.exposure.end_reveal(
            said.reveal,
            session.reviewer.name,
            seconds,
            lambda _: reviewer_event(
                request, session, "picture.reveal.end",
                {"reveal": said.reveal, "seconds": seconds, "why": said.why},
            ),
        )  # fmt: skip
        if not ended:
            raise HTTPException(404, "no open reveal of yours with that number")
        return {"reveal": said.reveal, "seconds": seconds}
