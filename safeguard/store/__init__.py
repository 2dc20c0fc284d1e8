"""Where things are kept: graded hash lists (and later cases and audit), SQLite or PostgreSQL."""

from safeguard.store.database import StoreMissing
from safeguard.store.list_types import (
    EntryHit,
    HashList,
    ImportRejected,
    ImportReport,
    ListExists,
    ListSpec,
)
from safeguard.store.lists import Store
from safeguard.store.thresholds import Thresholds
from safeguard.vocabulary.categories import Scheme, most_severe, normalise_category, report_key
from safeguard.vocabulary.entries import Action, BadRecord, ListKind, NewEntry, StoredEntry

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
    "Thresholds",
    "most_severe",
    "normalise_category",
    "report_key",
]
