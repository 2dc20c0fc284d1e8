"""The self-report door: the page at ``/report`` and the public API it calls.

``POST /v1/self-reports`` needs no key, so it is the one route anyone on the internet
can write with. What holds it: a proof of work per submission (a challenge signed
by the service, solved in the browser in well under a second, a cost a script pays
per report), a per-address limit kept in memory for its window only (addresses are
never written anywhere), a cap on files per report, and hashes of widely shared
files (on a known-good list) refused. Entries land in a ``self-reported`` list
whose action is ``review``: a platform's moderator looks at the platform's own copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from safeguard.matching import Matcher
from safeguard.service.auth import client_origin
from safeguard.service.models import Problem
from safeguard.signals import MD5, PDQ, SHA256
from safeguard.store.audit import AuditEvent
from safeguard.store.self_reports import ReportedHash, SelfReports

PAGE_FILES = (
    "index.html",
    "report.css",
    "report.js",
    "digests.js",
    "imagehash.js",
    "inspect.js",
    "pdq.js",
)
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript"}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src blob:; media-src blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CHALLENGE_SECONDS = 600
PUBLIC_PREFIXES = ("/report/", "/v1/self-reports")
Receipt = Annotated[str, Path(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
_REFUSALS = {
    404: "No report has that receipt.",
    422: "Not a report this door takes (or the proof of work is not solved).",
    429: "Too many requests from one address: try again in a few minutes.",
}


def _documented(*codes: int) -> dict:
    return {code: {"model": Problem, "description": _REFUSALS[code]} for code in codes}


AgeBand = Literal["under-13", "13-15", "16-17", "18-plus", "parent"]


def page_file(name: str) -> bytes:
    return resources.files("safeguard.service").joinpath("self_report", name).read_bytes()


def page_config(api: str, help_file: str | None) -> dict:
    """What the page is told: where the API is, and the help lines and countries to offer."""
    default = json.loads(page_file("help.json"))
    if help_file:
        with open(help_file, encoding="utf-8") as handle:
            default.update(json.load(handle))
    return {"api": api.rstrip("/"), **default}


class ReportedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    md5: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    pdq: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    pdq_quality: int | None = Field(None, ge=0, le=100)
    path: Literal["exact", "approximate"] | None = Field(
        None, description="How the page computed the PDQ hash: bit-exact, or not quite."
    )


class SelfReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge: str = Field(max_length=200, pattern=r"^[0-9]{1,12}\.[0-9a-f]{1,64}\.[0-9a-f]{1,64}$")
    nonce: int = Field(ge=0, le=2**53)
    files: list[ReportedFile] = Field(min_length=1, max_length=20)
    age_band: AgeBand | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class Window:
    """At most ``limit`` events per ``seconds`` per address, remembered only that long."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            # Addresses are kept in order of their last event (moved to the end on each), so
            # those whose window has passed are at the front: forgotten in amortised O(1).
            while self._seen:
                oldest = next(iter(self._seen))
                if now - self._seen[oldest][-1] <= self.seconds:
                    break
                del self._seen[oldest]
            times = self._seen.pop(address, deque())
            while times and now - times[0] > self.seconds:
                times.popleft()
            allowed = len(times) < self.limit
            if allowed:
                times.append(now)
            if times:
                self._seen[address] = times
            return allowed


class Puzzles:
    """Signed, expiring proof-of-work challenges, each accepted once per worker."""

    def __init__(self, bits: int, secret: bytes) -> None:
        self.bits = bits
        # Every worker of a service (and every service on one store) signs alike.
        self._key = hashlib.sha256(b"safeguard self-report challenge\0" + secret).digest()
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> dict:
        body = f"{int(time.time())}.{secrets.token_hex(8)}"
        return {
            "challenge": f"{body}.{self._sign(body)}",
            "bits": self.bits,
            "expires_in": CHALLENGE_SECONDS,
        }

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, challenge: str, nonce: int) -> str | None:
        """None if solved and fresh, else why not."""
        body, _, signature = challenge.rpartition(".")
        if not hmac.compare_digest(self._sign(body).encode(), signature.encode()):
            return "unknown challenge (ask for a new one)"
        issued = int(body.split(".")[0])
        if time.time() - issued > CHALLENGE_SECONDS:
            return "challenge expired (ask for a new one)"
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - self.bits) != 0:
            return "proof of work not solved"
        with self._lock:
            now = time.time()
            while self._used and now - next(iter(self._used.values())) > CHALLENGE_SECONDS:
                del self._used[next(iter(self._used))]  # the oldest first: insertion order
            if challenge in self._used:
                return "challenge already used"
            self._used[challenge] = now
        return None


def _within(window: Window, request: Request) -> None:
    if not window.allow(client_origin(request)):
        raise HTTPException(429, "too many requests from here: try again in a few minutes")


def _hashes_of(reported: ReportedFile) -> list[ReportedHash]:
    hashes = [
        ReportedHash(MD5.name, bytes.fromhex(reported.md5)),
        ReportedHash(SHA256.name, bytes.fromhex(reported.sha256)),
    ]
    if reported.pdq and (reported.pdq_quality or 0) >= PDQ.min_quality:
        approximate = reported.path != "exact"
        note = f"PDQ computed in the browser, {'approximate' if approximate else 'exact'} path"
        hashes.append(ReportedHash(PDQ.name, bytes.fromhex(reported.pdq), note, approximate))
    return hashes


def install(
    app: FastAPI,
    matcher: Matcher,
    reports: SelfReports,
    settings,
    *,
    secret: bytes,
    on_announced: Callable[[], None],
) -> None:
    """Add the page and the public self-report routes to the service."""
    puzzles = Puzzles(settings.self_report_bits, secret)
    submissions = Window(settings.self_report_limit, settings.self_report_window)
    challenges = Window(settings.self_report_limit * 6, settings.self_report_window)
    config = json.dumps(page_config("", settings.self_report_help)).encode()
    page_headers = {
        "Content-Security-Policy": PAGE_POLICY,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }

    @app.get("/report", include_in_schema=False)
    def report_root() -> Response:
        return RedirectResponse("/report/", status_code=308)

    @app.get("/report/{name}", include_in_schema=False)
    def report_page(name: str = "") -> Response:
        name = name or "index.html"
        if name == "config.json":
            return Response(config, media_type="application/json", headers=page_headers)
        if name not in PAGE_FILES:
            raise HTTPException(404, "no such page")
        suffix = name[name.rindex(".") :]
        return Response(page_file(name), media_type=_TYPES[suffix], headers=page_headers)

    @app.get("/report/", include_in_schema=False)
    def report_index() -> Response:
        return report_page("index.html")

    @app.get(
        "/v1/self-reports/challenge",
        tags=["self-report"],
        summary="A proof-of-work challenge (no key)",
        responses=_documented(429),
    )
    def challenge(request: Request) -> JSONResponse:
        _within(challenges, request)
        return JSONResponse(puzzles.issue(), headers={"Cache-Control": "no-store"})

    @app.post(
        "/v1/self-reports",
        tags=["self-report"],
        summary="Report hashes of a picture of yourself (no key; only hashes are taken)",
        status_code=201,
        responses=_documented(422, 429),
    )
    def submit(report: SelfReportIn, request: Request) -> JSONResponse:
        _within(submissions, request)
        problem = puzzles.check(report.challenge, report.nonce)
        if problem is not None:
            raise HTTPException(422, problem)
        reported = [_hashes_of(file) for file in report.files]
        # One lookup for every file's hashes: those on a known-good list are widely shared.
        outcomes = matcher.match_many(
            [[(h.signal, h.value) for h in hashes] for hashes in reported]
        )
        files = [hashes for hashes, o in zip(reported, outcomes, strict=True) if not o.known_good]
        widely_shared = len(reported) - len(files)
        receipt, added = reports.submit(
            files,
            age_band=report.age_band,
            country=report.country,
            audit=lambda done: AuditEvent(
                actor="self-report", origin="public", event="self-report.add", detail=done
            ),
        )
        matcher.pdq_index.refresh()  # this worker matches the new entries at once
        on_announced()  # the webhooks' "self-report" event, queued with the entries
        return JSONResponse(
            {
                "receipt": receipt,
                "state": "active",
                "files": len(report.files),
                "added": added,
                "widely_shared": widely_shared,
            },
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    def answer(found) -> JSONResponse:
        if found is None:
            raise HTTPException(404, "no report has that receipt")
        return JSONResponse(
            {
                "state": found.state,
                "files": found.files,
                "hashes": found.hashes,
                "created_at": found.created_at.isoformat(),
                "withdrawn_at": found.withdrawn_at.isoformat() if found.withdrawn_at else None,
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get(
        "/v1/self-reports/{receipt}",
        tags=["self-report"],
        summary="A report's state (no key: the receipt is the proof)",
        responses=_documented(404, 422, 429),
    )
    def status(receipt: Receipt, request: Request) -> JSONResponse:
        _within(challenges, request)  # receipts are not guessed in bulk
        return answer(reports.find(receipt))

    @app.delete(
        "/v1/self-reports/{receipt}",
        tags=["self-report"],
        summary="Withdraw a report (no key: the receipt is the proof)",
        responses=_documented(404, 422, 429),
    )
    def withdraw(receipt: Receipt, request: Request) -> JSONResponse:
        _within(challenges, request)
        withdrawn = reports.withdraw(
            receipt,
            audit=lambda done: AuditEvent(
                actor="self-report", origin="public", event="self-report.withdraw", detail=done
            ),
        )
        on_announced()
        return answer(withdrawn)
