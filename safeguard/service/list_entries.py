"""The routes that read and change a list's entries: add, apply a new edition, find."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, FastAPI, Query
from fastapi.responses import JSONResponse, Response

from safeguard.formats.lists.common import ReadOptions, make_entry
from safeguard.index.hamming import HammingIndex
from safeguard.service.auth import Caller, require
from safeguard.service.models import (
    KEYED,
    EntriesAdd,
    EntriesAdded,
    EntriesEdition,
    EntriesRejected,
    EntryIn,
    ListName,
    problems,
)
from safeguard.store import ImportRejected, ImportReport, ListSpec, NewEntry, Scheme, Store
from safeguard.store.editions import Prune, apply_edition
from safeguard.store.entry_search import find_entries
from safeguard.store.feeds import MAX_PAGE, START, Cursor, changes_since
from safeguard.store.keys import Scope
from safeguard.store.signing import SIGNATURE_HEADER, Signer


def entry_rows(entries: list[EntryIn], scheme: Scheme) -> list[NewEntry]:
    options = ReadOptions(scheme=scheme)
    return [
        make_entry(
            entry.signal,
            entry.value,
            position,
            options,
            entry.category,
            series=entry.series,
            victim_identified=entry.victim_identified,
            external_id=entry.external_id,
            notes=entry.notes,
        )
        for position, entry in enumerate(entries, 1)
    ]


def bad_entries(report: ImportReport) -> list[dict]:
    return [{"record": bad.record, "reason": bad.reason} for bad in report.bad]


def _rejected(rejected: ImportRejected) -> JSONResponse:
    return JSONResponse(
        {"detail": str(rejected), "bad": bad_entries(rejected.report)}, status_code=422
    )


_REJECTED = {422: {"model": EntriesRejected, "description": "Bad entries; nothing was changed."}}


def install(app: FastAPI, store: Store, index: HammingIndex) -> None:
    signer = Signer(store.engine)

    @app.post(
        "/v1/lists/{name}/entries",
        tags=["lists"],
        summary="Add entries to a list (all or nothing, unless skip_bad)",
        responses={**problems(*KEYED, 404, 413), **_REJECTED},
    )
    def add_entries(
        name: ListName, added: EntriesAdd, caller: Caller = Depends(require(Scope.LISTS_WRITE))
    ):
        target = store.get_list(name)
        rows = entry_rows(added.entries, target.scheme)
        spec = ListSpec(kind=target.kind, scheme=target.scheme)
        try:
            report = store.import_entries(
                name,
                rows,
                spec=spec,
                skip_bad=added.skip_bad,
                audit=lambda made: caller.event(
                    "entries.add",
                    {"list": name, "imported": made.imported, "bad": made.bad_count},
                ),
            )
        except ImportRejected as rejected:
            return _rejected(rejected)
        index.refresh()  # this worker answers with the new entries at once; others within 1 s
        return EntriesAdded(list=name, imported=report.imported, bad=bad_entries(report))

    @app.put(
        "/v1/lists/{name}/entries",
        tags=["lists"],
        summary="Apply a new edition of a list: add, regrade, correct and (with prune) remove",
        responses={**problems(*KEYED, 404, 413), **_REJECTED},
    )
    def apply_new_edition(
        name: ListName,
        edition: EntriesEdition,
        caller: Caller = Depends(require(Scope.LISTS_WRITE)),
    ):
        target = store.get_list(name)
        try:
            report = apply_edition(
                store,
                name,
                entry_rows(edition.entries, target.scheme),
                spec=ListSpec(kind=target.kind, scheme=target.scheme),
                prune=Prune(edition.prune) if edition.prune else None,
                skip_bad=edition.skip_bad,
                audit=lambda done: caller.event("entries.update", done.summary()),
            )
        except ImportRejected as rejected:
            return _rejected(rejected)
        index.refresh()
        return {**report.summary(), "bad": bad_entries(report)}

    @app.get(
        "/v1/lists/{name}/changes",
        tags=["lists"],
        summary="What changed in a list after a position: for another Safeguard to follow",
        responses=problems(*KEYED, 404, 422),
    )
    def list_changes(
        name: ListName,
        since: Annotated[str, Query(max_length=64)] = START,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
        _caller: Caller = Depends(require(Scope.LISTS_READ)),
    ):
        target = store.get_list(name)
        changes, cursor, more = changes_since(store, target.id, Cursor.parse(since), limit)
        body = json.dumps(
            {
                "list": name,
                "kind": target.kind.value,
                "scheme": target.scheme.value,
                "changes": changes,
                "cursor": str(cursor),
                "more": more,
            },
            separators=(",", ":"),
        ).encode()
        signed = signer.sign(body)  # with the store's newest key, if it has one
        headers = {SIGNATURE_HEADER: ";".join(signed)} if signed else {}
        return Response(body, media_type="application/json", headers=headers)

    @app.get(
        "/v1/lists/{name}/entries",
        tags=["lists"],
        summary="Find a list's entries (by hash, by category), a page at a time",
        responses=problems(*KEYED, 404, 422),
    )
    def list_entries(
        name: ListName,
        hash: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-fA-F]+$")] = None,
        category: Annotated[str | None, Query(max_length=16)] = None,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        _caller: Caller = Depends(require(Scope.LISTS_READ)),
    ):
        target = store.get_list(name)
        page = find_entries(
            store, target.id, hash_text=hash, category=category, after=after, limit=limit
        )
        return {"entries": page.rows, "next_after": page.next_after}
