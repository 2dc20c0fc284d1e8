"""Self-reports: hashes a person sent of a picture of themselves, kept as entries of a
``self-reported`` list for platforms to review copies of, and withdrawable.

Nothing about the person is kept: no address, device or file name; only the hashes,
an optional age band and country, when, and a receipt that only its holder knows (the
store keeps its SHA-256, so a copy of the database cannot withdraw anything).

Each hash becomes an entry tagged with the report it came from (external id
``self-report:N``). Two reports may hold the same hash; the entry then stays while
any of them is active, tagged with one that is. Webhooks hear of both, in the same
transaction: ``self-report`` with the hashes a report added, ``self-report.withdrawn``
with those its withdrawal removed, so a platform that keeps its own copy of the list
stays in step.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product

from sqlalchemy import and_, func, select, update

from safeguard.signals import PDQ
from safeguard.store.audit import Audit, audited
from safeguard.store.bulk import BulkWriter
from safeguard.store.database import next_revision
from safeguard.store.feeds import remove_entries
from safeguard.store.list_types import ListExists, ListSpec
from safeguard.store.lists import Store
from safeguard.store.schema import entries, hash_lists, self_report_hashes, self_reports
from safeguard.store.thresholds import Thresholds
from safeguard.store.webhooks import WebhookStore
from safeguard.vocabulary.entries import Action, ListKind, NewEntry

ACTIVE, WITHDRAWN = "active", "withdrawn"
ADDED_EVENT, WITHDRAWN_EVENT = "self-report", "self-report.withdrawn"
# A PDQ hash the page could only approximate may be this many bits from the true one
# (measured at most 2 in the browsers tested; the note on in-browser PDQ budgets 6). Its
# own list matches within 31 less that, so a match is still within 31 of the picture.
APPROXIMATE_BITS = 6
# Receipts are read aloud and typed on phones: no 0/O or 1/I/L to confuse.
_RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RECEIPT_GROUPS = 4  # of 4 characters: 80 bits


@dataclass(frozen=True, slots=True)
class SelfReport:
    id: int
    state: str
    created_at: datetime
    withdrawn_at: datetime | None
    files: int
    hashes: int


@dataclass(frozen=True, slots=True)
class ReportedHash:
    signal: str
    value: bytes
    note: str | None = None  # how it was computed (an in-browser hash's path)
    approximate: bool = False  # computed by a path not bit-identical to the server's


def new_receipt() -> str:
    groups = (
        "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(4)) for _ in range(_RECEIPT_GROUPS)
    )
    return "-".join(groups)


def _receipt_digest(receipt: str) -> str:
    """The stored form of a receipt, as typed in any case, with or without dashes."""
    cleaned = "".join(ch for ch in receipt.upper() if ch.isalnum())
    return hashlib.sha256(cleaned.encode()).hexdigest()


def _tag(report_id: int) -> str:
    return f"self-report:{report_id}"


class SelfReports:
    def __init__(self, store: Store, list_name: str) -> None:
        self.store = store
        self.engine = store.engine
        # Exact hashes, and approximate ones held to a tighter PDQ distance.
        self.list_names = {False: list_name, True: f"{list_name}-approximate"}

    def _list_id(self, approximate: bool) -> int:
        name = self.list_names[approximate]
        tighter = {PDQ.name: Thresholds(PDQ.default_threshold - APPROXIMATE_BITS)}
        spec = ListSpec(
            kind=ListKind.SELF_REPORTED,
            action=Action.REVIEW,
            importer="self-report",
            thresholds=tighter if approximate else {},
        )
        try:
            found = self.store.create_list(name, spec)
        except ListExists:
            found = self.store.get_list(name)
        if found.kind is not ListKind.SELF_REPORTED:
            raise ListExists(f"list {name!r} exists and is not self-reported")
        return found.id

    def submit(
        self,
        files: Sequence[Sequence[ReportedHash]],
        *,
        age_band: str | None,
        country: str | None,
        audit: Audit = None,
    ) -> tuple[str, int]:
        """Record a report of ``files`` (each its hashes); returns (receipt, entries added)."""
        receipt = new_receipt()
        unique = list({(h.signal, h.value): h for hashes in files for h in hashes}.values())
        # The lists first, each in a transaction of its own (made once, then found).
        groups = {
            self._list_id(approximate): rows
            for approximate in (False, True)
            if (rows := [h for h in unique if h.approximate is approximate])
        }
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            report_id = connection.execute(
                self_reports.insert().values(
                    receipt_sha256=_receipt_digest(receipt),
                    state=ACTIVE,
                    created_at=now,
                    files=len(files),
                    age_band=age_band,
                    country=country,
                )
            ).inserted_primary_key[0]
            if unique:
                connection.execute(
                    self_report_hashes.insert(),
                    [
                        {"report_id": report_id, "signal": h.signal, "value": h.value}
                        for h in unique
                    ],
                )
            revision = next_revision(connection)
            added = 0
            for list_id, rows in groups.items():
                writer = BulkWriter(connection, list_id, revision)
                writer.insert([
                    NewEntry(h.signal, h.value, None, record=n, external_id=_tag(report_id),
                             notes=h.note)
                    for n, h in enumerate(rows, 1)
                ])  # fmt: skip
                _touch(connection, list_id, revision, now)
                added += writer.inserted
            audited(connection, audit, {"report": report_id, "added": added})
            if added:
                self._announce(connection, ADDED_EVENT, report_id, now, unique)
        return receipt, added

    def _announce(self, connection, event: str, report_id: int, at: datetime, hashes) -> None:
        payload = {
            "event": event,
            "at": at.isoformat(),
            "report": report_id,
            "hashes": [
                {"list": self.list_names[h.approximate], "signal": h.signal, "value": h.value.hex()}
                for h in hashes
            ],
        }
        WebhookStore(self.engine).enqueue_in(connection, event, [payload])

    def find(self, receipt: str) -> SelfReport | None:
        with self.engine.connect() as connection:
            return self._find(connection, receipt)

    def _find(self, connection, receipt: str) -> SelfReport | None:
        row = connection.execute(
            select(self_reports).where(self_reports.c.receipt_sha256 == _receipt_digest(receipt))
        ).first()
        if row is None:
            return None
        hashes = connection.execute(
            select(func.count()).where(self_report_hashes.c.report_id == row.id)
        ).scalar_one()
        return SelfReport(row.id, row.state, row.created_at, row.withdrawn_at, row.files, hashes)

    def withdraw(self, receipt: str, *, audit: Audit = None) -> SelfReport | None:
        """Withdraw a report: its entries go, unless another active report holds them."""
        with self.engine.begin() as connection:
            found = self._find(connection, receipt)
            if found is None or found.state == WITHDRAWN:
                return found
            list_ids = {
                row.id: row.name
                for row in connection.execute(
                    select(hash_lists.c.id, hash_lists.c.name).where(
                        hash_lists.c.name.in_(list(self.list_names.values()))
                    )
                )
            }
            revision = next_revision(connection)
            now = datetime.now(UTC)
            connection.execute(
                update(self_reports)
                .where(self_reports.c.id == found.id)
                .values(state=WITHDRAWN, withdrawn_at=now)
            )
            removed = self._release(connection, found.id, list_ids, revision)
            for list_id in list_ids:
                _touch(connection, list_id, revision, now)
            if removed:
                self._announce(connection, WITHDRAWN_EVENT, found.id, now, removed)
            audited(connection, audit, {"report": found.id})
        return self.find(receipt)

    def _release(
        self, connection, report_id: int, list_ids: dict[int, str], revision: int
    ) -> list[ReportedHash]:
        """Remove the report's entries that no other active report holds; return them."""
        mine = self_report_hashes.alias("mine")
        theirs = self_report_hashes.alias("theirs")
        held = connection.execute(
            select(mine.c.signal, mine.c.value, func.min(theirs.c.report_id))
            .select_from(mine)
            .outerjoin(
                theirs,
                and_(
                    theirs.c.signal == mine.c.signal,
                    theirs.c.value == mine.c.value,
                    theirs.c.report_id != report_id,
                    theirs.c.report_id.in_(
                        select(self_reports.c.id).where(self_reports.c.state == ACTIVE)
                    ),
                ),
            )
            .where(mine.c.report_id == report_id)
            .group_by(mine.c.signal, mine.c.value)
        ).all()
        removed = []
        for (signal, value, other), (list_id, name) in product(held, list_ids.items()):
            this_entry = and_(
                entries.c.list_id == list_id, entries.c.signal == signal, entries.c.value == value
            )
            if other is None:
                if remove_entries(connection, list_id, this_entry, revision):
                    approximate = name == self.list_names[True]
                    removed.append(ReportedHash(signal, bytes(value), approximate=approximate))
            else:
                connection.execute(
                    update(entries)
                    .where(this_entry)
                    .values(external_id=_tag(other), revision=revision)
                )
        return removed


def _touch(connection, list_id: int, revision: int, now: datetime) -> None:
    connection.execute(
        update(hash_lists)
        .where(hash_lists.c.id == list_id)
        .values(updated_at=now, revision=revision)
    )
