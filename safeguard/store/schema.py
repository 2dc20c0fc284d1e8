"""The tables of the list store (SQLAlchemy Core: bulk work never goes through an ORM).

Every change to lists or entries takes a new number from the ``revision``
counter and stamps the rows it touches, so an index or a worker that has seen
revision N can ask for exactly what changed after it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# One row: which store this is (an index built from another store is never reused)
# and the revision counter.
store_info = Table(
    "store_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store_id", String(32), nullable=False),
    Column("revision", BigInteger, nullable=False),
)

hash_lists = Table(
    "hash_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("source_file", Text, nullable=True),
    Column("importer", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revision", BigInteger, nullable=False),
    # What the match service does on a hit: block, quarantine, report or review
    # (null: block for alert lists, nothing for known-good ones).
    Column("action", String(16), nullable=True),
    # Provenance of the file last imported into the list: its SHA-256 and who imported it.
    Column("source_sha256", String(64), nullable=True),
    Column("imported_by", String(200), nullable=True),
    # The vPDQ rule for this list's videos: the share of a query's frames (and of the
    # banked video's) that must find a partner; null: 80 and 0, the reference defaults.
    Column("vpdq_query_percent", Float, nullable=True),
    Column("vpdq_compared_percent", Float, nullable=True),
    # The most a list takes of matches through variants: "none" (the picture's own hash
    # only), "query" (views of the query too, not its enrolled variants); null: every
    # tier the command asks for (see matching).
    Column("variants", String(16), nullable=True),
)

# A list's own match distances, one row per signal it sets them for (none: the
# signal's default). Distances above ``threshold`` and up to ``review_threshold`` are
# sent to human review by the match service.
list_thresholds = Table(
    "list_thresholds",
    metadata,
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("signal", String(16), primary_key=True),
    Column("threshold", Integer, nullable=True),
    Column("review_threshold", Integer, nullable=True),
)

# A list's action (and PDQ review band) per category; a category not named here takes
# the list's own (see store.category_policies). Uncategorised entries: category "".
list_category_policies = Table(
    "list_category_policies",
    metadata,
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(16), primary_key=True),
    Column("action", String(16), nullable=True),  # an action, "none", or null: the list's
    Column("review_threshold", Integer, nullable=True),
)

entries = Table(
    "entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("signal", String(16), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("category", String(16), nullable=True),
    Column("series", Text, nullable=True),
    Column("victim_identified", Boolean, nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("notes", Text, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False, server_default=false()),
    Column("disabled_until", DateTime(timezone=True), nullable=True),
    Column("revision", BigInteger, nullable=False),
    Column("source_line", BigInteger, nullable=True),  # line or record in the imported file
    # One index serves both uniqueness within a list and exact lookups across lists.
    UniqueConstraint("signal", "value", "list_id", name="uq_entries_signal_value_list"),
    # Two indexes only: every extra one costs bulk imports about a microsecond a row.
    # Per-list work (export, counts, deletion) scans; matching never does.
    Index("ix_entries_revision", "revision"),
)

# Entries removed from a list (an edition's prune, a withdrawn self-report), kept so a
# list's change feed can tell a follower to remove them too.
entry_removals = Table(
    "entry_removals",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("signal", String(16), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Index("ix_entry_removals_list_revision", "list_id", "revision"),
)

# A local list kept in step with a list on another Safeguard: where, and how far it has got.
list_follows = Table(
    "list_follows",
    metadata,
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("source_url", Text, nullable=False),
    Column("cursor", String(100), nullable=False),
    Column("followed_at", DateTime(timezone=True), nullable=False),
)

# Ed25519 keys this store signs exports and feed pages with; the newest active one signs.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("public_key", String(64), nullable=False),  # "ed25519:" + base64 of 32 bytes
    Column("private_key", LargeBinary, nullable=False),  # the 32-byte seed
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Operator console sessions: the SHA-256 of the cookie, the admin key it was opened with,
# the form token changes must carry, and when it lapses (30 minutes after the last page).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# The frames of a video entry (vPDQ), one row each; the entry's value is the SHA-256
# of its frames (so a video's frames are stored once a list, and a value stays small
# enough for the unique index). Frames of quality >= 50 go into the frame index.
entry_frames = Table(
    "entry_frames",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("entry_id", BigInteger, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("quality", Integer, nullable=False),
    Column("pdq", LargeBinary, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_entry_frames_entry", "entry_id"),
)

# The PDQ of geometric variants of an entry's picture (crops, cuts, small rotations: see
# media.variants), enrolled from the picture itself; each is found as its entry.
entry_variants = Table(
    "entry_variants",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("entry_id", BigInteger, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(24), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Index("ix_entry_variants_entry", "entry_id"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("examiner", String(200), nullable=True),
    Column("agency", String(200), nullable=True),
    Column("reference", String(200), nullable=True),  # the force's own case number
    Column("notes", Text, nullable=True),
    # dual: a grade counts as verified once a supervisor confirms it; single: at once
    Column("grading", String(8), nullable=False, default="dual", server_default="dual"),
)

exhibits = Table(
    "exhibits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("options", Text, nullable=False),  # JSON: a resumed scan must use the same ones
    # running (a scan is under way or was interrupted), complete, or failed: the scan
    # ended but some of the evidence (a volume, a container) could not be read.
    Column("status", String(16), nullable=False),
    Column("verification", Text, nullable=True),  # JSON: E01 stored-hash check
    Column("problems", Text, nullable=True),  # JSON: [{"level", "message"}], exhibit-level
    Column("examiner", String(200), nullable=True),  # who ran the scan
    Column("matched_at", DateTime(timezone=True), nullable=True),  # last matched (scan, rematch)
    Column("lists_used", Text, nullable=True),  # JSON: the lists and their revisions then
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("case_id", "name", name="uq_exhibits_case_name"),
)

items = Table(
    "items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),  # order found, for stable reports
    Column("locator", Text, nullable=False),  # "EX1 / partition 1 / NTFS / a.zip / b.jpg"
    Column("locator_steps", Text, nullable=False),  # JSON: the same, step by step
    Column("allocation", String(16), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("type", String(100), nullable=True),
    Column("md5", LargeBinary, nullable=True),
    Column("sha1", LargeBinary, nullable=True),
    Column("sha256", LargeBinary, nullable=True),
    Column("pdq", LargeBinary, nullable=True),
    Column("pdq_quality", Integer, nullable=True),
    # The 7 rotated and flipped PDQ variants, concatenated: matched again without a re-read.
    Column("pdq_dihedral", LargeBinary, nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("modified", DateTime(timezone=True), nullable=True),
    Column("accessed", DateTime(timezone=True), nullable=True),
    Column("changed", DateTime(timezone=True), nullable=True),
    Column("created", DateTime(timezone=True), nullable=True),
    Column("errors", Text, nullable=True),  # JSON list of messages
    Column("thumbnail", LargeBinary, nullable=True),  # blurred, greyscale; unknown images only
    # A resumed scan inserts each item once: the locator is the item's identity.
    UniqueConstraint("exhibit_id", "locator", name="uq_items_exhibit_locator"),
    Index("ix_items_sha256", "sha256"),
)

item_matches = Table(
    "item_matches",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("item_id", BigInteger, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("list_name", String(200), nullable=False),
    Column("list_kind", String(32), nullable=False),
    Column("signal", String(16), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("category", String(16), nullable=True),
    Column("scheme", String(16), nullable=False),
    Column("via", String(80), nullable=True),  # the variant that matched, if one did
    Index("ix_item_matches_item", "item_id"),
)

# -- the match service ---------------------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(32), nullable=False, unique=True),  # the public part of the key
    Column("name", String(200), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),  # SHA-256 of salt + secret; never the secret
    Column("scopes", Text, nullable=False),  # space-separated
    Column("fields", Text, nullable=False),  # match fields the key may see, space-separated
    Column("rate_limit", Float, nullable=True),  # requests per second; null: unlimited
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# One row: the last record of the audit chain. Appending takes its row lock, so
# records are chained in one order however many processes write.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 UTC text: hashed exactly as stored
    Column("actor", String(200), nullable=False),  # key name, or the CLI's user
    Column("origin", String(200), nullable=False),  # client address, or cli@host
    Column("event", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),  # signs deliveries, so kept as is
    Column("enabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, expired
    Column("attempts", Integer, nullable=False),
    # Unix seconds: the claim of a sender is a compare-and-set on this column.
    Column("next_attempt_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "delivery_id",
        BigInteger,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id"),
)

# -- the review workspace ------------------------------------------------------

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # reviewer, supervisor or viewer
    Column("password_hash", Text, nullable=False),  # Argon2id, with its parameters
    Column("failed_logins", Integer, nullable=False),  # since the last success
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The cases a reviewer may open; none listed: every case.
reviewer_cases = Table(
    "reviewer_cases",
    metadata,
    Column(
        "reviewer_id", Integer, ForeignKey("reviewers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
)

review_sessions = Table(
    "review_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_digest", String(64), nullable=False, unique=True),  # SHA-256 of the cookie
    Column("reviewer_id", Integer, ForeignKey("reviewers.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),  # sent back with every change
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)

# An examiner's grade of an item, as it stands now; every change is also a row of
# grade_history, which undo reads and a report's provenance can cite.
grades = Table(
    "grades",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "item_id",
        BigInteger,
        ForeignKey("items.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id", ondelete="CASCADE"), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("category", String(16), nullable=False),  # uk: A B C NP; vics: 1 2 3 4 0
    Column("flags", Text, nullable=False),  # JSON: victim_identified, series, second_opinion...
    Column("graded_by", String(200), nullable=False),
    Column("graded_at", DateTime(timezone=True), nullable=False),
    Column("via_item_id", BigInteger, nullable=True),  # graded with its family's representative
    Column("version", Integer, nullable=False),  # what a change must have seen, or is refused
    Column("confirmed_by", String(200), nullable=True),  # a supervisor's second opinion
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    Column("disputed_category", String(16), nullable=True),  # the grade a supervisor changed
    Index("ix_grades_exhibit", "exhibit_id"),
)

grade_history = Table(
    "grade_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("action_id", String(32), nullable=False),  # one keypress: a family is one action
    Column("item_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # grade, confirm, undo
    Column("by", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", Text, nullable=True),  # JSON of the grade row before; null: ungraded
    Column("after", Text, nullable=True),  # JSON of the grade row after; null: ungraded
    Index("ix_grade_history_action", "action_id"),
)

# An item's values of the signals without a column of their own (a video's vPDQ
# frames...), one row per item and signal: a new signal needs no new column.
item_values = Table(
    "item_values",
    metadata,
    Column(
        "item_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("signal", String(16), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("quality", Integer, nullable=True),  # a perceptual hash's quality (0-100)
)

# Every picture the workspace sent to a person: what exposure accounting counts.
# A thumbnail (small, blurred, greyscale) or a reveal (the picture itself, for as
# many seconds as it stayed on screen).
review_views = Table(
    "review_views",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("reviewer", String(200), nullable=False),
    Column("exhibit_id", Integer, ForeignKey("exhibits.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False, default="thumbnail", server_default="thumbnail"),
    Column("seconds", Float, nullable=True),  # a reveal's time on screen, once it ended
    Index("ix_review_views_reviewer_at", "reviewer", "at"),
    Index("ix_review_views_exhibit", "exhibit_id"),
)

# Reports sent from the self-report page: who sent them is not kept, only when, the
# optional age band and country, and the SHA-256 of the receipt that can withdraw them.
self_reports = Table(
    "self_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_sha256", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),  # active or withdrawn
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Column("files", Integer, nullable=False),
    Column("age_band", String(16), nullable=True),
    Column("country", String(2), nullable=True),
)

# Every hash a self-report holds (its list entry may be shared with another report).
self_report_hashes = Table(
    "self_report_hashes",
    metadata,
    Column(
        "report_id",
        Integer,
        ForeignKey("self_reports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("signal", String(16), primary_key=True),
    Column("value", LargeBinary, primary_key=True),
    Index("ix_self_report_hashes_value", "signal", "value"),
)
