"""Keep a local list in step with a list on another Safeguard, through its change feed.

Each page of changes is applied in one transaction together with the position it
reaches, so a follower killed at any moment resumes where it stopped, and applying a
page again changes nothing (changes are states: see :mod:`safeguard.store.feeds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from safeguard.errors import UsageError
from safeguard.formats.lists.common import ReadOptions, make_entry, parse_timestamp
from safeguard.store import ListKind, ListSpec, NewEntry, Scheme, Store
from safeguard.store.audit import Audit
from safeguard.store.feeds import START, Cursor, apply_changes, follow_position
from safeguard.store.signing import SIGNATURE_HEADER, verify
from safeguard.vocabulary.entries import BadRecord


@dataclass(slots=True)
class FollowRound:
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    cursor: str = START


def check_list_url(url: str) -> str:
    """``http(s)://host[:port]/v1/lists/NAME``, without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "/v1/lists/" not in parts.path:
        raise UsageError(f"{url!r}: give the list's address, https://HOST/v1/lists/NAME")
    return url.rstrip("/")


def follow_once(
    store: Store,
    url: str,
    list_name: str,
    key: str,
    *,
    page_size: int = 1000,
    verify_with: str | None = None,
    audit: Audit = None,
    client: httpx.Client | None = None,
) -> FollowRound:
    """Fetch and apply every change the remote list has after the local list's position."""
    url = check_list_url(url)
    position = follow_position(store, list_name)
    if position is not None and position.source_url != url:
        raise UsageError(f"list {list_name!r} follows {position.source_url}, not {url}")
    cursor = position.cursor if position else Cursor.parse(START)
    done = FollowRound(cursor=str(cursor))
    with client or httpx.Client(timeout=60) as http:
        while True:
            page = _page(http, url, key, cursor, page_size, verify_with)
            scheme = Scheme(page["scheme"])
            spec = ListSpec(kind=ListKind(page["kind"]), scheme=scheme, importer="follow")
            changes = [_change(change, scheme) for change in page["changes"]]
            cursor = Cursor.parse(page["cursor"])
            upserted, removed = apply_changes(
                store, list_name, spec, changes, source_url=url, cursor=cursor, audit=audit
            )
            done.pages += 1
            done.upserted += upserted
            done.removed += removed
            done.cursor = str(cursor)
            if not page["more"]:
                return done


def _page(
    http: httpx.Client, url: str, key: str, cursor: Cursor, size: int, verify_with: str | None
) -> dict:
    try:
        answer = http.get(
            f"{url}/changes",
            params={"since": str(cursor), "limit": size},
            headers={"Authorization": f"Bearer {key}"},
        )
    except httpx.HTTPError as error:
        raise UsageError(f"cannot reach {url}: {error}") from None
    if answer.status_code != 200:
        detail = (
            answer.json().get("detail")
            if answer.headers.get("content-type", "").startswith("application/json")
            else answer.text[:200]
        )
        raise UsageError(f"{url} answered {answer.status_code}: {detail}")
    if verify_with is not None:  # before anything of the page is believed
        signed = answer.headers.get(SIGNATURE_HEADER, "")
        public, _, signature = signed.partition(";")
        if public != verify_with:
            raise UsageError(
                f"the page from {url} is not signed by {verify_with}"
                + (f" (signed by {public})" if public else " (not signed)")
            )
        verify(public, signature, answer.content)
    return answer.json()


def _change(change: dict, scheme: Scheme) -> NewEntry | tuple[str, bytes]:
    if change["op"] == "remove":
        return change["signal"], bytes.fromhex(change["value"])
    made = make_entry(
        change["signal"],
        change["value"],
        change["at"],
        ReadOptions(scheme=scheme),
        change["category"],
        series=change["series"],
        victim_identified=change["victim_identified"],
        external_id=change["external_id"],
        notes=change["notes"],
        disabled=bool(change["disabled"]),
        disabled_until=parse_timestamp(change["disabled_until"]),
    )
    if isinstance(made, BadRecord):
        raise UsageError(f"the feed sent an entry this store cannot take: {made}")
    return made
