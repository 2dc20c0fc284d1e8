"""Matching a scanned exhibit again, against today's lists, without reading the evidence.

Lists change after a scan (a national database's monthly update, a new local
list): the stored hashes of every item (MD5, SHA-1, SHA-256, PDQ with its
rotated and flipped variants) are matched again and the item's matches
replaced, in one transaction, so a report is never half old and half new. The
exhibit then records when it was matched and which list revisions were used.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from safeguard.errors import UsageError
from safeguard.index.hamming import HammingIndex
from safeguard.matching import Matcher
from safeguard.signals import PDQ
from safeguard.store.cases import RUNNING, Exhibit, list_snapshot
from safeguard.store.items import ExhibitItems, ItemRecord
from safeguard.store.lists import Store
from safeguard.triage.recording import match_records
from safeguard.triage.scan import ScanOptions

GROUP = 500
_PDQ_BYTES = PDQ.size_bytes


def rematch_exhibit(store: Store, exhibit: Exhibit) -> tuple[int, int, int]:
    """Match every item of a scanned exhibit again.

    Returns (items, items whose matches changed, pictures matched without their
    rotated and flipped variants: scanned before those were kept).
    """
    if exhibit.status == RUNNING:
        raise UsageError(
            f"exhibit {exhibit.name!r} has not finished scanning: run the same `safeguard scan` "
            "again to finish it first"
        )
    stored = ExhibitItems(store)
    # As the scan matched: the variants enrolled with entries count if it asked for them.
    variants = ScanOptions.from_json(exhibit.options).variants
    matcher = Matcher(store, HammingIndex(store), enrolled_variants=variants.enrolled)
    updates: list[ItemRecord] = []
    changed = total = unrotated = 0
    records = stored.items(exhibit.id)
    while group := list(islice(records, GROUP)):
        results = matcher.match_many([_query(record) for record in group])
        for record, result in zip(group, results, strict=True):
            fresh = match_records(result)
            total += 1
            unrotated += record.pdq is not None and record.pdq_dihedral is None
            if sorted(map(_key, fresh)) != sorted(map(_key, record.matches)):
                changed += 1
                record.matches = fresh
                updates.append(record)
    stored.replace_matches(exhibit.id, updates, list_snapshot(store))
    return total, changed, unrotated


def _key(match) -> tuple:
    return (match.entry_id, match.list_name, match.signal, match.distance, match.category)


def _query(record: ItemRecord) -> list[tuple[str, bytes]]:
    """The item's stored (signal, value) pairs to match, as a scan matched them: a
    perceptual hash too weak to match left out, PDQ's stored variants added."""
    query = []
    for name, value in record.matchable_values().items():
        query.append((name, value))
        if name == PDQ.name:
            query += [(name, variant) for variant in _chunks(record.pdq_dihedral or b"")]
    query += [(PDQ.name, value, view) for view, value in record.views().items()]
    return query


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), _PDQ_BYTES):
        yield data[start : start + _PDQ_BYTES]
