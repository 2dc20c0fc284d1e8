"""Reading one item back from the evidence by its recorded locator (what a reveal shows).

Every picture a scan recorded, wherever it lay (a folder, a zip in it, a FAT card
image in it, a deleted file on that card, a picture carved from its free space),
reads back to the very bytes the scan hashed; the evidence stays untouched; a
changed or missing exhibit is refused with a reason, never shown as something else.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import pytest

from safeguard.sources.fetch import ReadBackError, read_back
from safeguard.store import Store
from safeguard.store.items import ExhibitItems
from safeguard.triage.scan import scan_exhibit

from conftest import evidence_snapshot
from disk_builders import fat_camera_card


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("readback")
    evidence = root / "evidence"
    (evidence / "photos").mkdir(parents=True)
    photos = sorted(corpus.glob("coco2017/val2017/*.jpg"))[:3]
    for photo in photos:
        shutil.copyfile(photo, evidence / "photos" / photo.name)
    with zipfile.ZipFile(evidence / "holiday.zip", "w") as archive:
        archive.write(photos[0], "inner/a.jpg")
        archive.write(photos[1], "inner/b.jpg")
    fat_camera_card(evidence / "card.img")
    store = Store.open(f"sqlite:///{root / 'case.db'}")
    exhibit_id = scan_exhibit(store, evidence, "OP-9", "E1", workers=1)
    records = list(ExhibitItems(store).items(exhibit_id, thumbnails=False))
    store.close()
    return evidence, records


def _pictures(records):
    return [r for r in records if (r.type or "").startswith("image/") and r.sha256]


def test_every_picture_reads_back_to_the_bytes_the_scan_hashed(scanned):
    evidence, records = scanned
    before = evidence_snapshot(evidence)
    pictures = _pictures(records)
    where = {step["kind"] for record in pictures for step in record.steps}
    # a folder, a zip member, a file system in a disk image, and deleted or carved ones
    assert {"folder", "zip", "filesystem"} <= where
    assert {"deleted", "carved"} & {record.allocation for record in pictures}
    for record in pictures:
        data = read_back(evidence, "E1", record.steps, record.sha256)
        assert hashlib.sha256(data).digest() == record.sha256, record.locator
    assert evidence_snapshot(evidence) == before  # read-only, atime included


def test_a_changed_or_missing_exhibit_is_refused_not_shown(scanned, tmp_path):
    evidence, records = scanned
    record = next(r for r in _pictures(records) if r.steps[-1]["name"].startswith("photos/"))
    with pytest.raises(ReadBackError, match="SHA-256 differs"):
        read_back(evidence, "E1", record.steps, hashlib.sha256(b"other").digest())
    with pytest.raises(ReadBackError, match="not found"):
        read_back(evidence, "E1", [*record.steps[:-1], {"kind": "file", "name": "gone.jpg"}],
                  None)  # fmt: skip
    with pytest.raises(ReadBackError, match="not at"):
        read_back(tmp_path / "moved", "E1", record.steps, record.sha256)
