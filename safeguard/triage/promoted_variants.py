"""The geometric variants of promoted pictures (``lists promote --variants geometric``):
each graded picture is read back from the evidence by the locator its scan recorded
(checked against the scanned SHA-256, never written to), its variants hashed (see
media.variants) and kept with its PDQ entry, so that the next exhibit's crops and turned
copies of it match too under ``--variants all``. A picture that cannot be read back
(the evidence moved or changed) keeps its entry without variants, and is named."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from safeguard.signals import PDQ
from safeguard.signals.extract import HashOptions, hash_content
from safeguard.sources.fetch import ReadBackError, read_back
from safeguard.store.audit import Audit
from safeguard.store.cases import Exhibit
from safeguard.store.items import ItemRecord
from safeguard.store.lists import Store
from safeguard.triage.scan import ScanOptions


@dataclass(slots=True)
class VariantsDone:
    pictures: int = 0  # given variants
    failed: list[str] = field(default_factory=list)  # "exhibit/seq: why"


def enrol_read_back(
    store: Store,
    list_name: str,
    pictures: list[tuple[Exhibit, ItemRecord]],
    *,
    audit: Audit = None,
) -> VariantsDone:
    """Give each picture's PDQ entry in the list the variants of the picture itself."""
    done = VariantsDone()
    variants: dict[bytes, dict[str, bytes]] = {}
    scanned: dict[int, ScanOptions] = {}  # how each exhibit was scanned
    for exhibit, item in pictures:
        if PDQ.name not in item.matchable_values():
            continue  # no PDQ entry was made for it (none, or too flat to match)
        options = scanned.setdefault(exhibit.id, ScanOptions.from_json(exhibit.options))
        try:
            data = read_back(
                Path(exhibit.source), exhibit.name, item.steps, item.sha256,
                options.archive_limits(),
            )  # fmt: skip
        except (ReadBackError, OSError) as failed:
            done.failed.append(f"{exhibit.name}/{item.seq}: {failed}")
            continue
        hashed = hash_content(
            item.locator,
            lambda data=data: io.BytesIO(data),
            HashOptions(pdq_mode=options.pdq_mode, enrolment_variants=True),
        )
        if not hashed.variants:
            done.failed.append(f"{exhibit.name}/{item.seq}: {hashed.error or 'no variant'}")
            continue
        variants[item.pdq] = hashed.variants
    done.pictures = store.enrol_variants(list_name, variants, audit=audit) if variants else 0
    return done
