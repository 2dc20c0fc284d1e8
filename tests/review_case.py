"""A scanned case for the review workspace's tests, built from benign corpus photos."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

from PIL import Image

from safeguard.store import Store
from safeguard.store.cases import Cases
from safeguard.store.items import ExhibitItems
from safeguard.store.reviewers import Reviewers, Role

from conftest import import_list, init_store, require_shared, run_cli

PASSWORD = "correct horse battery"


def build_review_case(root: Path, corpus: Path) -> tuple[str, int]:
    """Case OP-1, exhibit E1: five photos, one graded A by a list ("national"), two of them
    near-duplicates (one family), and a video (a benign test clip); an empty case OP-2; an
    account per role named after it and "limited" (a reviewer for OP-2 only).
    Returns the store and the list-graded item."""
    db = init_store(str(root / "case.db"))
    folder = root / "exhibit" / "kept"
    folder.mkdir(parents=True)
    photos = sorted(corpus.glob("coco2017/val2017/*.jpg"))[:4]
    for index, photo in enumerate(photos):
        shutil.copyfile(photo, folder / f"{index}.jpg")
    buffer = io.BytesIO()
    Image.open(photos[1]).save(buffer, "JPEG", quality=55)  # a near-duplicate of 1.jpg
    (folder / "1-copy.jpg").write_bytes(buffer.getvalue())
    clips = require_shared("pdq-reference", "upstream", "tmk", "sample-videos")
    shutil.copyfile(clips / "chair-20-sd-bar.mp4", folder / "clip.mp4")
    (root / "national.txt").write_text(hashlib.md5(photos[0].read_bytes()).hexdigest() + "\n")
    import_list(db, root / "national.txt", "national", "--category", "A")
    run_cli("scan", str(folder.parent), "--case", "OP-1", "--exhibit", "E1", "--db", db,
            env={**os.environ, "SAFEGUARD_INDEX_DIR": str(root / "index")})  # fmt: skip
    run_cli("cases", "set", "OP-2", "--examiner", "DC Other", "--db", db)
    store = Store.open(db)
    accounts = Reviewers(store.engine)
    for role in Role:
        accounts.create(role.value, role, PASSWORD)
    accounts.create("limited", Role.REVIEWER, PASSWORD, cases_allowed=("OP-2",))
    exhibit = Cases(store).exhibit("OP-1", "E1")
    items = ExhibitItems(store).items(exhibit.id, thumbnails=False)
    matched = next(record.seq for record in items if record.matches)
    store.close()
    return db, matched
