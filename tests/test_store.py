"""The list store on both backends: transactions, duplicates, disabling, revisions."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from safeguard.errors import UsageError
from safeguard.signals import VPDQ
from safeguard.signals.vpdq import FrameHash
from safeguard.store import (
    BadRecord,
    ImportRejected,
    ListKind,
    ListSpec,
    NewEntry,
    Scheme,
    Store,
    Thresholds,
    most_severe,
    report_key,
)

UK = ListSpec(kind=ListKind.ALERT, scheme=Scheme.UK)


def _md5s(count: int, category: str | None = "A") -> list[NewEntry]:
    return [NewEntry("md5", os.urandom(16), category, record=i + 1) for i in range(count)]


def test_import_is_all_or_nothing(store):
    rows = [*_md5s(50), BadRecord(51, "not hexadecimal")]
    with pytest.raises(ImportRejected) as rejected:
        store.import_entries("caid", rows, spec=UK)
    assert rejected.value.report.bad_count == 1
    assert [hash_list.name for hash_list in store.lists()] == []  # not even the list


def test_skip_bad_imports_the_good_and_reports_each_bad(store):
    good = _md5s(20)
    rows = [*good, BadRecord(21, "not hexadecimal"), NewEntry("md5", good[3].value, record=22)]
    report = store.import_entries("caid", rows, spec=UK, skip_bad=True)
    assert report.committed and report.created
    assert report.imported == 20
    assert [(b.record, b.reason) for b in report.bad] == [
        (21, "not hexadecimal"),
        (22, "duplicate md5 of line/record 4"),
    ]
    assert store.entry_counts() == {store.get_list("caid").id: {"md5": 20}}


def test_reimport_reports_entries_already_in_the_list(store):
    rows = _md5s(5)
    store.import_entries("caid", rows, spec=UK)
    with pytest.raises(ImportRejected) as rejected:
        store.import_entries("caid", rows[:2], spec=UK)
    reasons = [b.reason for b in rejected.value.report.bad]
    assert all("already in this list (entry" in r for r in reasons) and len(reasons) == 2


def test_collapsing_duplicates_for_sources_that_repeat_by_design(store):
    rows = _md5s(3, None)
    repeated = [*rows, NewEntry("md5", rows[0].value, record=4)]
    spec = ListSpec(kind=ListKind.KNOWN_GOOD)
    report = store.import_entries("nsrl", repeated, spec=spec, collapse_duplicates=True)
    assert (report.imported, report.collapsed_duplicates, report.bad_count) == (3, 1, 0)


def test_same_hash_in_several_lists_is_kept_per_list(store):
    value = os.urandom(20)
    store.import_entries("uk", [NewEntry("sha1", value, "B", record=1)], spec=UK)
    store.import_entries("uk2", [NewEntry("sha1", value, "A", record=1)], spec=UK)
    vics = ListSpec(scheme=Scheme.VICS)
    store.import_entries("vic", [NewEntry("sha1", value, "2", record=1)], spec=vics)
    hits = store.lookup("sha1", [value])
    assert sorted((h.list_name, h.category) for h in hits) == [
        ("uk", "B"),
        ("uk2", "A"),
        ("vic", "2"),
    ]
    uk = [h.category for h in hits if h.scheme is Scheme.UK]
    assert most_severe(Scheme.UK, uk) == "A"
    assert report_key(Scheme.VICS, "2") == "vics:2"


def test_severity_rules():
    assert most_severe(Scheme.VICS, ["0", "4", None, "2"]) == "2"
    assert most_severe(Scheme.VICS, ["0", None]) == "0"
    assert most_severe(Scheme.VICS, [None]) is None
    assert most_severe(Scheme.UK, ["C", "B"]) == "B"


def test_disabling_lists_and_entries(store):
    rows = _md5s(3)
    store.import_entries("caid", rows, spec=UK)
    values = [r.value for r in rows]
    assert len(store.lookup("md5", values)) == 3

    store.set_list_enabled("caid", False)
    assert store.lookup("md5", values) == []
    store.set_list_enabled("caid", True)

    first, second, _ = sorted(h.entry_id for h in store.lookup("md5", values))
    store.disable_entry("caid", first)
    store.disable_entry("caid", second, until=datetime.now(UTC) - timedelta(days=1))
    active = {h.entry_id for h in store.lookup("md5", values)}
    assert first not in active and second in active  # a lapsed "until" is active again
    store.disable_entry("caid", second, until=datetime.now(UTC) + timedelta(days=1))
    assert second not in {h.entry_id for h in store.lookup("md5", values)}
    with pytest.raises(UsageError):
        store.disable_entry("caid", 10**9)


def test_delete_list_removes_its_entries(store):
    rows = _md5s(4)
    store.import_entries("caid", rows, spec=UK)
    store.delete_list("caid")
    assert store.lookup("md5", [r.value for r in rows]) == []
    assert store.entry_counts() == {}
    with pytest.raises(UsageError):
        store.get_list("caid")


def test_revisions_let_readers_catch_up(store):
    _, start = store.identity()
    pdq = [NewEntry("pdq", os.urandom(32), "A", record=i) for i in range(3)]
    store.import_entries("caid", pdq[:2], spec=UK)
    _, middle = store.identity()
    store.import_entries("caid", pdq[2:], spec=UK)
    changed = [pair for batch in store.changed_codes("pdq", middle) for pair in batch]
    assert [value for _, value in changed] == [pdq[2].value]
    everything = [pair for batch in store.changed_codes("pdq", start) for pair in batch]
    assert len(everything) == 3


def test_list_scheme_and_kind_are_fixed_once_created(store):
    store.import_entries("caid", _md5s(1), spec=UK)
    with pytest.raises(UsageError):
        store.import_entries("caid", _md5s(1), spec=ListSpec(scheme=Scheme.VICS))


def test_store_reopens_on_current_schema(store_url):
    first = Store.open(store_url)
    first.import_entries("caid", _md5s(2), spec=UK)
    identity = first.identity()
    first.close()
    again = Store.open(store_url)  # migrations are idempotent; data and identity kept
    assert again.identity() == identity
    assert again.get_list("caid").kind is ListKind.ALERT
    again.close()


@contextmanager
def _store_at(store_url: str, revision: str):
    """A connection to a store migrated only up to ``revision`` (an older release's store),
    for the test to fill before opening it on the current schema."""
    from alembic import command
    from alembic.config import Config

    from safeguard.store.database import _MIGRATIONS, create_store_engine, database_url

    engine = create_store_engine(database_url(store_url))
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        yield connection
    engine.dispose()


def test_a_store_with_exhibits_from_before_exhibit_status_upgrades_in_place(store_url):
    """A store at revision 0003 (exhibits without problems) opens on the current schema."""
    from sqlalchemy import text

    from safeguard.store.cases import Cases

    with _store_at(store_url, "0003") as connection:
        connection.execute(text("INSERT INTO cases (id, name, created_at) VALUES (1, 'C', :t)"),
                           {"t": datetime.now(UTC)})  # fmt: skip
        for number, status in ((1, "complete"), (2, "running")):
            connection.execute(
                text(
                    "INSERT INTO exhibits (id, case_id, name, source, options, status, started_at)"
                    " VALUES (:id, 1, :name, '/evidence', '{}', :status, :t)"
                ),
                {"id": number, "name": f"E{number}", "status": status, "t": datetime.now(UTC)},
            )
    upgraded = Store.open(store_url)
    states = [(e.name, e.state, e.problems) for e in Cases(upgraded).exhibits("C")]
    assert states == [("E1", "complete", ()), ("E2", "incomplete", ())]
    upgraded.close()


def test_head_revision_is_the_newest_migration():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from safeguard.store.database import _MIGRATIONS, HEAD_REVISION

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_the_migrations_build_exactly_the_tables_the_code_declares(store_url):
    """schema.py and the Alembic migrations are written by hand, side by side: a store
    upgraded through every migration must hold what the code reads and writes."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from safeguard.store.schema import metadata

    store = Store.open(store_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    store.close()
    assert differences == []


def test_a_store_made_before_video_and_reveals_upgrades_in_place(store_url):
    """A store at revision 0006 (the last landed before vPDQ and reveals), with a case, a
    list and a picture shown to a reviewer, opens on the current schema with all of it."""
    from sqlalchemy import text

    from safeguard.store.cases import Cases
    from safeguard.store.exposure import Exposure

    with _store_at(store_url, "0006") as connection:
        now = {"t": datetime.now(UTC)}
        connection.execute(text("INSERT INTO cases (id, name, created_at) VALUES (1, 'C', :t)"),
                           now)  # fmt: skip
        connection.execute(
            text(
                "INSERT INTO exhibits (id, case_id, name, source, options, status, started_at)"
                " VALUES (1, 1, 'E1', '/evidence', '{}', 'complete', :t)"
            ),
            now,
        )
        connection.execute(
            text("INSERT INTO review_views (reviewer, exhibit_id, seq, at) VALUES ('r', 1, 0, :t)"),
            now,
        )
    upgraded = Store.open(store_url)
    assert Cases(upgraded).case("C").grading == "dual"
    exposure = Exposure(upgraded.engine)
    assert (exposure.pictures_seen(1), exposure.pictures_seen(1, revealed=True)) == (1, 0)
    video = VPDQ.encode([FrameHash(0, 100, bytes(range(32)), 0.0)])
    upgraded.import_entries("videos", [NewEntry("vpdq", video, "A")], spec=UK)
    (entry,) = upgraded.iter_entries(upgraded.get_list("videos").id)
    assert entry.value == video
    upgraded.close()


def test_a_store_with_pdq_thresholds_on_its_lists_upgrades_to_thresholds_by_signal(store_url):
    """A store at revision 0008 kept a list's thresholds in two PDQ columns (the PDQ one
    also the frame distance of its videos): after the upgrade each is a row keyed by
    signal, the videos keep their distance, and no entry is lost on the way."""
    from sqlalchemy import text

    from safeguard.matching import Matcher

    with _store_at(store_url, "0008") as connection:
        now = {"t": datetime.now(UTC)}
        for list_id, name, threshold, review in ((1, "tuned", 20, 40), (2, "plain", None, None)):
            connection.execute(
                text(
                    "INSERT INTO hash_lists (id, name, kind, scheme, pdq_threshold, enabled,"
                    " created_at, updated_at, revision, review_threshold)"
                    " VALUES (:id, :name, 'alert', 'uk', :threshold, true, :t, :t, 1, :review)"
                ),
                {"id": list_id, "name": name, "threshold": threshold, "review": review, **now},
            )
            connection.execute(
                text(
                    "INSERT INTO entries (list_id, signal, value, category, disabled, revision)"
                    " VALUES (:id, 'pdq', :value, 'A', false, 1)"
                ),
                {"id": list_id, "value": bytes([list_id]) * 32},
            )
    upgraded = Store.open(store_url)
    tuned, plain = upgraded.get_list("tuned"), upgraded.get_list("plain")
    assert tuned.thresholds == {"pdq": Thresholds(20, 40), "vpdq": Thresholds(20, None)}
    assert (tuned.pdq_threshold, tuned.review_threshold) == (20, 40)
    assert plain.thresholds == {}
    assert sum(upgraded.entry_counts()[tuned.id].values()) == 1  # the column drop kept entries
    near = bytes([1]) * 31 + bytes([1 ^ 0xFF])  # 8 bits from the tuned list's entry
    (hit,) = Matcher(upgraded).match_hashes([("pdq", near)]).alerts
    assert (hit.list, hit.distance) == ("tuned", 8)
    upgraded.close()


def test_thresholds_are_set_per_signal_and_refused_where_a_signal_has_no_distance(store):
    store.create_list("l", UK)
    changed = store.set_policy("l", thresholds={"vpdq": Thresholds(25)})
    assert changed.thresholds == {"vpdq": Thresholds(25, None)}
    changed = store.set_policy("l", thresholds={"pdq": Thresholds(review_threshold=50)})
    assert changed.thresholds["pdq"] == Thresholds(None, 50)  # the default 31 below the band
    changed = store.set_policy("l", thresholds={"pdq": Thresholds(20)})
    assert changed.thresholds["pdq"] == Thresholds(20, 50)  # the band kept
    for wanted, reason in (
        ({"md5": Thresholds(3)}, "no match distance"),
        ({"nope": Thresholds(3)}, "no match distance"),
        ({"vpdq": Thresholds(review_threshold=40)}, "no review band"),
        ({"pdq": Thresholds(60)}, "above the match threshold"),  # above the band of 50
        ({"pdq": Thresholds(129)}, "between 0 and 128"),
    ):
        with pytest.raises(UsageError, match=reason):
            store.set_policy("l", thresholds=wanted)
    assert store.get_list("l").thresholds["pdq"] == Thresholds(20, 50)  # refusals change nothing
