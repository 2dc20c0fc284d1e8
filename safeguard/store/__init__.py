"""Where things are kept: graded hash lists (and later cases and audit), SQLite or PostgreSQL."""

from safeguard.store.database import StoreMissing
from safeguard.store.lists import (
    Action,
    BadRecord,
    EntryHit,
    HashList,
    ImportRejected,
    ImportReport,
    ListExists,
    ListKind,
    ListSpec,
    NewEntry,
    Store,
    StoredEntry,
)
from safeguard.vocabulary.categories import Scheme, most_severe, normalise_category, report_key

__all__ = [
    "Action",
    "BadRecord",
    "EntryHit",
    "HashList",
    "ImportRejected",
    "ImportReport",
    "ListExists",
    "ListKind",
    "ListSpec",
    "NewEntry",
    "Scheme",
    "Store",
    "StoreMissing",
    "StoredEntry",
    "most_severe",
    "normalise_category",
    "report_key",
]
