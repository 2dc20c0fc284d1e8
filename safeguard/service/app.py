"""The FastAPI application: routes, their scopes, and the workers' shared pieces.

``create_app`` builds one worker's application (uvicorn calls it in each
worker process). Everything a request needs is made once per process: the
store's connection pool, the PDQ index (memory-mapped, shared between workers
by the page cache), the key cache, the audit recorder and the webhook sender.
"""

from __future__ import annotations

import gc
import time
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from safeguard import __version__
from safeguard.errors import NotFound, UsageError
from safeguard.index.hamming import HammingIndex
from safeguard.matching import Matcher
from safeguard.media.options import Variants
from safeguard.service import console, docs, list_entries, metrics, self_reports
from safeguard.service.auth import Authenticator, Caller, KeyGate, require
from safeguard.service.decisions import (
    DecisionDesk,
    UnhashableUpload,
    UploadTooLarge,
    parse_queries,
    upload_options,
)
from safeguard.service.limits import BodySizeLimit
from safeguard.service.models import (
    KEYED,
    CategoryPolicyIn,
    EntryDisable,
    HashLookup,
    HashLookupResults,
    ListChange,
    ListCreate,
    ListName,
    ListOut,
    Liveness,
    Readiness,
    SignalThresholds,
    UploadMatch,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    problems,
)
from safeguard.service.ratelimit import RateLimiter, SharedRateLimiter
from safeguard.service.recorder import Recorder
from safeguard.service.settings import ServiceSettings
from safeguard.service.webhooks import WebhookSender
from safeguard.store import (
    HashList,
    ListExists,
    ListSpec,
    Store,
)
from safeguard.store.audit import AuditLog
from safeguard.store.category_policies import CategoryPolicy, category_key
from safeguard.store.keys import KeyStore, Scope
from safeguard.store.self_reports import SelfReports
from safeguard.store.webhook_targets import redacted
from safeguard.store.webhooks import WebhookStore

# Ids as wide as their columns, so an absurd id is a 422, not a database error.
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    store = Store.open(settings.db)
    index = HammingIndex(store, max_staleness=settings.freshness)
    matcher = Matcher(store, index, review_band=True, enrolled_variants=settings.variants.enrolled)
    webhook_store = WebhookStore(store.engine)
    sender = WebhookSender(
        webhook_store,
        poll=settings.webhook_poll,
        retry_base=settings.webhook_retry_base,
        retry_max=settings.webhook_retry_max,
        expiry=settings.webhook_expiry,
        timeout=settings.webhook_timeout,
        allow_private=settings.allow_private_webhooks,
    )
    recorder = Recorder(
        AuditLog(store.engine),
        webhook_store,
        flush_interval=settings.audit_flush,
        denial_window=settings.denial_window,
        on_enqueued=sender.wake,
    )
    desk = DecisionDesk(
        matcher,
        recorder,
        upload_options(settings.max_upload_pixels, settings.max_video_seconds, settings.variants),
    )
    # Decodes at once per worker: more only queue for the same cores, and each
    # holds a full-size bitmap (about 18 MB for a 6 MP photo) while it runs.
    decoders = anyio.CapacityLimiter(settings.decoders)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # What is alive now lives as long as the worker: keep the collector off it,
        # which removes most of the long collection pauses behind tail latency.
        gc.collect()
        gc.freeze()
        recorder.start()
        sender.start()
        try:
            yield
        finally:
            sender.stop()
            recorder.stop()
            store.close()

    app = FastAPI(
        docs_url=None,  # served by service.docs, from local assets
        redoc_url=None,
        title="Safeguard match service",
        version=__version__,  # the package's: a client can tell which release answers
        description="Check uploads and hashes against graded lists of known abuse imagery. "
        "Every route but /v1/health needs an API key (Authorization: Bearer).",
        lifespan=lifespan,
    )
    app.state.index = index
    app.state.recorder = recorder
    app.state.webhooks = webhook_store
    limiter = RateLimiter(settings.workers)
    if settings.redis_url:
        limiter = SharedRateLimiter(settings.redis_url, fallback=limiter)
    authenticator = Authenticator(KeyStore(store.engine), limiter)
    app.state.authenticator = authenticator
    docs.install(app)
    documents = (app.openapi_url, docs.DOCS_URL, docs.REDOC_URL)
    public = {"/v1/health", "/v1/health/ready", "/report", console.PREFIX, *filter(None, documents)}
    # Outermost last: metrics see everything, the gate refuses a keyless request before
    # the size limit or any parser reads its body.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        KeyGate,
        authenticator=authenticator,
        recorder=recorder,
        public=public,
        # The console's pages check their own sessions (opened with an admin key).
        public_prefixes=(
            *self_reports.PUBLIC_PREFIXES,
            f"{docs.DOCS_ASSETS}/",
            f"{console.PREFIX}/",
        ),
    )
    app.add_middleware(metrics.RequestMetrics)
    if settings.self_report_origins:  # the page hosted elsewhere calls the API across origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.self_report_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type"],
        )

    console.install(app, store, desk, secure_cookie=settings.tls_in_front)
    store_id, _ = store.identity()
    self_reports.install(
        app,
        matcher,
        SelfReports(store, settings.self_report_list),
        settings,
        secret=store_id.encode(),
        on_announced=sender.wake,
    )

    @app.exception_handler(UsageError)
    async def usage_error(_request: Request, error: UsageError) -> JSONResponse:
        # The store's refusals: a missing list, entry or webhook, else a bad request.
        status = 404 if isinstance(error, NotFound) else 422
        return JSONResponse({"detail": str(error)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        # The shape FastAPI documents for 422, with values that cannot be JSON dropped.
        errors = [
            {k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    # -- health and metrics --------------------------------------------------

    def readiness_state() -> Readiness:
        reason = None
        try:
            index.refresh_if_stale()
        except Exception as error:  # the store is unreachable: alive, not ready
            reason = f"cannot follow the store: {type(error).__name__}"
        age = time.time() - index.refreshed_at
        if reason is None and age > settings.stale_after:
            reason = f"index is {age:.1f} s behind the store"
        return Readiness(ready=reason is None, reason=reason)

    @app.get("/v1/health", tags=["health"], summary="Liveness (no key needed)")
    def liveness() -> Liveness:
        return Liveness(alive=True)  # nothing more to anyone who asks: details are in /metrics

    @app.get(
        "/v1/health/ready",
        tags=["health"],
        summary="Readiness: 503 while the index is not loaded or is stale (no key needed)",
        responses={503: {"model": Readiness, "description": "Not ready."}},
    )
    def readiness() -> JSONResponse:
        state = readiness_state()
        return JSONResponse(state.model_dump(), status_code=200 if state.ready else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **problems(*KEYED)},
    )
    def prometheus(_caller: Caller = Depends(require(Scope.METRICS))) -> Response:
        metrics.observe_index(len(index), index.refreshed_at)
        metrics.WEBHOOKS_PENDING.set(webhook_store.pending_count())
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    # -- matching ------------------------------------------------------------

    @app.post(
        "/v1/match",
        tags=["match"],
        summary="Hash an upload and match it",
        response_model=UploadMatch,
        responses=problems(*KEYED, 413, 422),
        openapi_extra=_UPLOAD_BODY,
    )
    async def match_upload(request: Request, caller: Caller = Depends(require(Scope.MATCH))):
        data, filename = await _read_upload(request)
        try:
            answer = await anyio.to_thread.run_sync(
                desk.match_upload, data, filename, caller, limiter=decoders
            )
        except UploadTooLarge as error:
            raise HTTPException(413, f"upload too large to decode: {error}") from None
        except UnhashableUpload as error:
            raise HTTPException(422, f"cannot hash this upload: {error}") from None
        return JSONResponse(answer)

    @app.post(
        "/v1/match/hashes",
        tags=["match"],
        summary="Match hashes computed by the client (up to 1,000)",
        response_model=HashLookupResults,
        responses=problems(*KEYED, 413, 422),
    )
    async def match_hashes(lookup: HashLookup, caller: Caller = Depends(require(Scope.MATCH))):
        # Answered on the event loop: a lookup is well under a millisecond of CPU,
        # less than handing it to a thread costs. Hits are written from a thread.
        queries = parse_queries([(h.signal, h.value) for h in lookup.hashes])
        answer, hit = desk.match_hashes(queries, caller)
        if hit is not None:
            await run_in_threadpool(recorder.record_hit, *hit)
        return JSONResponse(answer)

    # -- lists ---------------------------------------------------------------

    def list_out(hash_list: HashList, counts: dict[int, dict[str, int]]) -> ListOut:
        return ListOut(
            name=hash_list.name,
            kind=hash_list.kind,
            scheme=hash_list.scheme,
            enabled=hash_list.enabled,
            action=hash_list.effective_action,
            pdq_threshold=hash_list.pdq_threshold,
            review_threshold=hash_list.review_threshold,
            vpdq_percents=hash_list.vpdq_percents,
            thresholds={
                signal: SignalThresholds(**values)
                for signal, values in hash_list.thresholds_json().items()
            },
            category_policies={
                category: CategoryPolicyIn(**values)
                for category, values in hash_list.category_policies_json().items()
            },
            variants=hash_list.variants.value,
            entries=counts.get(hash_list.id, {}),
            updated_at=hash_list.updated_at,
        )

    @app.get("/v1/lists", tags=["lists"], summary="All lists", responses=problems(*KEYED))
    def get_lists(_caller: Caller = Depends(require(Scope.LISTS_READ))) -> list[ListOut]:
        counts = store.entry_counts()
        return [list_out(hash_list, counts) for hash_list in store.lists()]

    @app.post(
        "/v1/lists",
        tags=["lists"],
        summary="Create a list",
        status_code=201,
        responses=problems(*KEYED, 409, 413, 422),
    )
    def create_list(
        spec: ListCreate, caller: Caller = Depends(require(Scope.LISTS_WRITE))
    ) -> ListOut:
        try:
            created = store.create_list(
                spec.name,
                ListSpec(
                    kind=spec.kind,
                    scheme=spec.scheme,
                    action=spec.action,
                    thresholds=spec.by_signal(),
                    importer="safeguard serve",
                ),
                audit=lambda _: caller.event("list.create", spec.model_dump(mode="json")),
            )
        except ListExists as exists:
            raise HTTPException(409, str(exists)) from None
        except IntegrityError:  # created by a concurrent request since the check
            raise HTTPException(409, f"a list named {spec.name!r} exists") from None
        return list_out(created, {})

    @app.get(
        "/v1/lists/{name}", tags=["lists"], summary="One list", responses=problems(*KEYED, 404)
    )
    def get_list(name: ListName, _caller: Caller = Depends(require(Scope.LISTS_READ))) -> ListOut:
        return list_out(store.get_list(name), store.entry_counts())

    @app.patch(
        "/v1/lists/{name}",
        tags=["lists"],
        summary="Enable or disable a list, or change its action and thresholds",
        responses=problems(*KEYED, 404, 413, 422),
    )
    def change_list(
        name: ListName, change: ListChange, caller: Caller = Depends(require(Scope.LISTS_WRITE))
    ) -> ListOut:
        detail = {"list": name, **change.model_dump(mode="json", exclude_none=True)}
        scheme = store.get_list(name).scheme
        changed = store.set_policy(
            name,
            action=change.action,
            variants=None if change.variants is None else Variants(change.variants),
            category_policies={
                category_key(scheme, category): CategoryPolicy(p.action, p.review_threshold)
                for category, p in change.category_policies.items()
            },
            thresholds=change.by_signal(),
            enabled=change.enabled,
            vpdq_percents=change.vpdq_percents,
            audit=lambda _: caller.event("list.change", detail),
        )
        return list_out(changed, store.entry_counts())

    @app.delete(
        "/v1/lists/{name}",
        tags=["lists"],
        summary="Delete a list and its entries",
        status_code=204,
        responses=problems(*KEYED, 404),
    )
    def delete_list(
        name: ListName, caller: Caller = Depends(require(Scope.LISTS_WRITE))
    ) -> Response:
        store.delete_list(name, audit=lambda _: caller.event("list.delete", {"list": name}))
        return Response(status_code=204)

    list_entries.install(app, store, index)

    @app.post(
        "/v1/lists/{name}/entries/{entry_id}/disable",
        tags=["lists"],
        summary="Stop one entry from matching (for good, or until a time)",
        status_code=204,
        responses=problems(*KEYED, 404, 413, 422),
    )
    def disable_entry(
        name: ListName,
        entry_id: EntryId,
        body: EntryDisable | None = None,
        caller: Caller = Depends(require(Scope.LISTS_WRITE)),
    ) -> Response:
        until = body.until if body else None
        detail = {"list": name, "entry": entry_id, "until": until.isoformat() if until else None}
        store.disable_entry(
            name, entry_id, until, audit=lambda _: caller.event("entry.disable", detail)
        )
        return Response(status_code=204)

    # -- webhooks ------------------------------------------------------------

    @app.get("/v1/webhooks", tags=["webhooks"], summary="Webhooks", responses=problems(*KEYED))
    def get_webhooks(_caller: Caller = Depends(require(Scope.ADMIN))) -> list[WebhookOut]:
        return [WebhookOut(**hook.to_json()) for hook in webhook_store.all()]

    @app.post(
        "/v1/webhooks",
        tags=["webhooks"],
        summary="Send match events to a URL (signed; the secret is shown once)",
        status_code=201,
        responses=problems(*KEYED, 413, 422),
    )
    def add_webhook(
        body: WebhookCreate, caller: Caller = Depends(require(Scope.ADMIN))
    ) -> WebhookCreated:
        hook, secret = webhook_store.add(
            body.url,
            allow_private=settings.allow_private_webhooks,
            audit=lambda made: caller.event(
                "webhook.add", {"id": made.id, "url": redacted(made.url)}
            ),
        )
        return WebhookCreated(**hook.to_json(), secret=secret)

    @app.delete(
        "/v1/webhooks/{webhook_id}",
        tags=["webhooks"],
        summary="Remove a webhook",
        status_code=204,
        responses=problems(*KEYED, 404),
    )
    def remove_webhook(
        webhook_id: WebhookId, caller: Caller = Depends(require(Scope.ADMIN))
    ) -> Response:
        webhook_store.remove(
            webhook_id, audit=lambda _: caller.event("webhook.remove", {"id": webhook_id})
        )
        return Response(status_code=204)

    return app


async def _read_upload(request: Request) -> tuple[bytes, str | None]:
    """The uploaded bytes: the multipart field ``file``, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=10)
        except StarletteHTTPException as error:  # the parser's own refusals, a 400 by default
            if error.status_code == 413:
                raise
            raise HTTPException(422, f"unreadable multipart body: {error.detail}") from None
        except MultiPartException as error:  # too many files or fields: a bad upload, 422
            raise HTTPException(422, f"unreadable multipart body: {error.message}") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "a multipart upload needs its file in the field 'file'")
        data, filename = await upload.read(), upload.filename
    else:
        data, filename = await request.body(), None
    if not data:
        raise HTTPException(422, "empty upload")
    return data, filename
