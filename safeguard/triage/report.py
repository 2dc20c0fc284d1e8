"""What a scan found, per exhibit: the counts a charging file needs.

Counting rules (the same for every report format):

* ``files``: every item found, carved and archive members included;
* ``images`` / ``videos``: items whose bytes are a decodable image / a video container;
* ``status``: ``complete``, ``incomplete`` (the scan was interrupted or is still
  running: the counts cover the items done so far) or ``failed`` (the scan ended
  but some of the evidence could not be read); ``warnings`` says what, per volume
  or container, as ``{"level": "error" | "warning", "message"}``;
* ``undecodable_images``: pictures of a kind with no decoder here (JPEG XL, HEIF
  sequences, camera raw photos without an embedded preview): listed, not hashed
  perceptually, to be reviewed by other means;
* ``empty``: files of 0 bytes (a fact about the evidence, not an error);
* ``errors``: items with any recorded problem (unreadable, undecodable, capped, ...);
  an image that cannot be decoded counts here, not as an unknown image;
* ``known_good``: items matching a known-good list and no alert list;
* ``categories``: per grading scheme, each item matching alert lists counts once,
  under its most severe grade (A > B > C; vics 1 > 2 > 3 > 4 > 0); ``unique`` counts
  distinct SHA-256 among those files;
* ``unknown_images``: decodable images matching no list; ``unknown_groups``: the
  near-duplicate families among them (PDQ within 31, transitively; pictures too
  flat for PDQ group only with byte-identical copies). A family is reviewed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from safeguard.index.mih import MultiIndex, as_words
from safeguard.media.types import EMPTY, WITHOUT_DECODER
from safeguard.signals import PDQ
from safeguard.store.cases import Cases, Exhibit, ItemRecord
from safeguard.store.categories import most_severe, report_key

ALERT_KINDS = ("alert", "self-reported")


def exhibit_summary(exhibit: Exhibit, records: Iterable[ItemRecord]) -> dict:
    return summarise(exhibit, records)[0]


def summarise(
    exhibit: Exhibit, records: Iterable[ItemRecord]
) -> tuple[dict, list[list[ItemRecord]]]:
    """The exhibit's counts, and its unknown images grouped into near-duplicate families."""
    counts = {
        "files": 0, "images": 0, "videos": 0, "undecodable_images": 0, "empty": 0, "errors": 0,
        "known_good": 0,
    }  # fmt: skip
    categories: dict[str, dict[str, set | int]] = {}
    unknown: list[ItemRecord] = []
    for record in records:
        counts["files"] += 1
        is_image = record.pdq is not None
        is_empty = record.type == EMPTY.mime
        undecodable = is_undecodable(record)
        counts["images"] += is_image
        counts["videos"] += bool(record.type and record.type.startswith("video/"))
        counts["undecodable_images"] += undecodable
        counts["empty"] += is_empty
        counts["errors"] += bool(record.errors) and not (is_empty or undecodable)
        alerts = [m for m in record.matches if m.list_kind in ALERT_KINDS]
        if not alerts:
            if record.matches:
                counts["known_good"] += 1
            elif is_image:
                unknown.append(record)
            continue
        by_scheme: dict[str, list[str | None]] = defaultdict(list)
        for match in alerts:
            by_scheme[match.scheme].append(match.category)
        for scheme, grades in by_scheme.items():
            key = report_key(scheme, most_severe(scheme, grades))
            slot = categories.setdefault(key, {"files": 0, "unique": set()})
            slot["files"] += 1
            slot["unique"].add(record.sha256)
    families = near_duplicate_families(unknown)
    summary = {
        "exhibit": exhibit.name,
        "source": exhibit.source,
        "status": exhibit.state,
        "warnings": [problem.to_json() for problem in exhibit.problems],
        **counts,
        "categories": {
            key: {"files": slot["files"], "unique": len(slot["unique"])}
            for key, slot in sorted(categories.items())
        },
        "unknown_images": len(unknown),
        "unknown_groups": len(families),
    }
    return summary, families


def is_undecodable(record: ItemRecord) -> bool:
    """A picture of a kind with no decoder here (JPEG XL, a sequence, a raw photo with no
    preview): counted and listed for review by other means, not an error of the scan."""
    return record.pdq is None and record.type in WITHOUT_DECODER


def near_duplicate_families(records: list[ItemRecord]) -> list[list[ItemRecord]]:
    """Union-find over unknown images: same bytes, or PDQ within 31 (good quality only)."""
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    first_by_bytes: dict[bytes | None, int] = {}
    for index, record in enumerate(records):
        if record.sha256 in first_by_bytes:
            join(index, first_by_bytes[record.sha256])
        else:
            first_by_bytes[record.sha256] = index
    good = [
        i
        for i, r in enumerate(records)
        if r.pdq_quality is not None and r.pdq_quality >= PDQ.min_quality
    ]
    if good:
        codes = np.frombuffer(b"".join(records[i].pdq for i in good), np.uint8).reshape(-1, 32)
        index = MultiIndex.build(codes, np.arange(len(good)))
        for position, query in enumerate(as_words(codes)):
            found, _ = index.search(query, PDQ.default_threshold)
            for other in found:
                join(good[position], good[int(other)])
    families: dict[int, list[ItemRecord]] = defaultdict(list)
    for index, record in enumerate(records):
        families[root(index)].append(record)
    return sorted(families.values(), key=lambda family: family[0].seq)


def case_report(cases: Cases, case: str, exhibit: str | None = None) -> dict:
    chosen = cases.exhibits(case, exhibit)
    return {
        "case": case,
        "exhibits": [exhibit_summary(e, cases.items(e.id)) for e in chosen],
    }
