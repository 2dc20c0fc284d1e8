"""The case report: one model that every format (JSON, CSV, HTML, PDF) is written from.

Per exhibit, the counts a charging file needs (rules below) and the item
schedule they are counted from (:mod:`safeguard.triage.counting`), with the
exhibit's provenance: its source and type, container checks, who scanned it
and when, the settings, and the lists (with their revisions) it was matched
against. Per case: who the report is for and by whom, the lists used with their
provenance, totals across exhibits, a legend of every code shown, and warnings
that must travel with the numbers.

Counting rules:

* ``files``: every item found, carved and archive members included;
* ``images`` / ``videos``: items whose bytes are a decodable image / a video container;
* ``status``: ``complete``, ``incomplete`` (the scan was interrupted or is still
  running: the counts cover the items done so far) or ``failed`` (the scan ended
  but some of the evidence could not be read); ``warnings`` says what, per volume
  or container, as ``{"level": "error" | "warning", "message"}``;
* ``undecodable_images``: pictures of a kind with no decoder here, listed for review;
* ``empty``: files of 0 bytes (a fact about the evidence, not an error);
* ``errors``: items with any recorded problem (unreadable, undecodable, capped, ...);
* ``known_good``: items matching a known-good list and no alert list;
* ``categories``: per grading scheme, each file under its deciding match (see
  counting), split into ``exact`` and ``perceptual`` and by placement; ``unique``
  counts distinct SHA-256;
* ``unknown_videos``: videos matching no list; ``unknown_video_groups``: those
  grouped by vPDQ (the same video re-encoded, cut or trimmed is one group);
* ``unknown_images``: decodable images matching no list; ``unknown_groups``: the
  near-duplicate families among them (PDQ within 31, transitively). A family is
  reviewed once;
* ``graded_images`` / ``examiner_grades`` / ``examiner_schedule``: what examiners
  graded (see :mod:`safeguard.triage.graded`), beside list matches, never among them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from safeguard import __version__
from safeguard.errors import UsageError
from safeguard.signals import PDQ, VPDQ
from safeguard.store.cases import Case, Cases, Exhibit
from safeguard.store.grades import Grade, Grades
from safeguard.store.items import ExhibitItems, ItemRecord
from safeguard.store.lists import Store
from safeguard.triage.counting import (
    NON_PERTINENT,
    category_counts,
    schedule_rows,
)
from safeguard.triage.families import Families, UnknownPictures, UnknownVideos
from safeguard.triage.graded import grade_counts, grade_row
from safeguard.vocabulary.categories import describe
from safeguard.vocabulary.content import EMPTY, WITHOUT_DECODER
from safeguard.vocabulary.entries import ALERT_KINDS

COUNT_KEYS = (
    "files", "images", "videos", "undecodable_images", "empty", "errors", "known_good",
)  # fmt: skip
SHOWN = 200  # failed or undecodable items listed on a page (the counts cover them all)
SOURCE_TYPES = {"image": "disk image", "folder": "folder", "file": "single file"}
QUALITY_GATE = PDQ.min_quality


@dataclass(slots=True)
class ExhibitSection:
    """One exhibit of the report, and what a page shows beyond the counts.

    Only what a page can show is kept (the first :data:`SHOWN` failed or undecodable
    items; unknown pictures as sequence numbers, fetched when drawn), so a report of
    a million items needs little more memory than one of a thousand.
    """

    exhibit: Exhibit
    summary: dict
    fetch: Callable[[list[int]], list[ItemRecord]]  # items by sequence number, thumbnails too
    families: Families | None = None
    video_families: Families | None = None  # unknown videos, grouped by vPDQ
    failed: list[ItemRecord] = field(default_factory=list)
    undecodable: list[ItemRecord] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    document: dict  # the JSON report
    sections: list[ExhibitSection]


def case_report(
    store: Store, case: str, exhibit: str | None = None, *, generated_by: str | None = None
) -> Report:
    """The report of a case (or one exhibit of it) as the store holds it now."""
    cases = Cases(store)
    chosen = cases.exhibits(case, exhibit)
    if not chosen:
        named = f" named {exhibit!r}" if exhibit else ""
        raise UsageError(f"no scanned exhibit{named} in case {case!r} (see `safeguard cases ls`)")
    return build_report(cases.case(case), chosen, ExhibitItems(store), generated_by=generated_by)


def build_report(
    case: Case, exhibits: list[Exhibit], stored: ExhibitItems, *, generated_by: str | None = None
) -> Report:
    grades = Grades(stored.engine)
    sections = [
        summarise(
            exhibit,
            stored.items(exhibit.id, thumbnails=False),
            partial(stored.by_seq, exhibit.id),
            grades.of_exhibit(exhibit.id),
            dual=case.dual_grading,
        )
        for exhibit in exhibits
    ]
    summaries = [section.summary for section in sections]
    document = {
        "case": case.name,
        "metadata": _metadata(case, generated_by),
        "warnings": _report_warnings(sections),
        "lists": _lists_used(sections),
        "exhibits": summaries,
        "totals": _totals(summaries),
    }
    shown = {*document["totals"]["categories"], *document["totals"]["examiner_grades"]}
    document["legend"] = {key: describe(key) for key in sorted(shown)}
    return Report(document, sections)


def summarise(
    exhibit: Exhibit,
    records: Iterable[ItemRecord],
    fetch: Callable[[list[int]], list[ItemRecord]],
    grades: dict[int, Grade] | None = None,
    *,
    dual: bool = True,
) -> ExhibitSection:
    """An exhibit's counts and schedules (list matches; examiners' grades) from one pass
    over its items."""
    grades = grades or {}
    counts = dict.fromkeys(COUNT_KEYS, 0)
    schedule: list[dict] = []
    graded: list[dict] = []
    unknown = UnknownPictures()
    videos = UnknownVideos()
    section = ExhibitSection(exhibit, {}, fetch)
    source_kind = None
    for record in records:
        source_kind = source_kind or (record.steps[0]["kind"] if record.steps else None)
        counts["files"] += 1
        is_image = record.pdq is not None
        is_empty = record.type == EMPTY.mime
        undecodable = is_undecodable(record)
        counts["images"] += is_image
        is_video = bool(record.type and record.type.startswith("video/"))
        counts["videos"] += is_video
        counts["undecodable_images"] += undecodable
        counts["empty"] += is_empty
        counts["errors"] += bool(record.errors) and not (is_empty or undecodable)
        if record.errors and not (is_empty or undecodable) and len(section.failed) < SHOWN:
            section.failed.append(record)
        if undecodable and len(section.undecodable) < SHOWN:
            section.undecodable.append(record)
        rows = schedule_rows(exhibit.name, record)
        schedule.extend(rows)
        if record.seq in grades:
            graded.append(grade_row(exhibit.name, record, grades[record.seq], dual=dual))
        if not rows:
            if record.matches:
                counts["known_good"] += 1
            elif is_image:
                unknown.add(record.seq, record.sha256, record.pdq, record.pdq_quality)
            elif is_video:
                videos.add(record.seq, record.sha256, record.values.get(VPDQ.name))
    section.families = unknown.families()
    section.video_families = videos.families()
    section.summary = {
        "exhibit": exhibit.name,
        "source": exhibit.source,
        "status": exhibit.state,
        "warnings": [problem.to_json() for problem in exhibit.problems],
        **counts,
        "categories": category_counts(schedule),
        "unknown_images": len(unknown),
        "unknown_groups": len(section.families),
        "unknown_videos": len(videos),
        "unknown_video_groups": len(section.video_families),
        "type": SOURCE_TYPES.get(source_kind or "", "unknown"),
        "examiner": exhibit.examiner,
        "started_at": _iso(exhibit.started_at),
        "finished_at": _iso(exhibit.finished_at),
        "matched_at": _iso(exhibit.matched_at),
        "verification": exhibit.verification,
        "settings": _settings(exhibit),
        "lists_used": [{"name": x["name"], "revision": x["revision"]} for x in exhibit.lists_used],
        "matched_files": len({row["location"] for row in schedule if row["pertinent"]}),
        "schedule": schedule,
        "graded_images": len(graded),
        "examiner_grades": grade_counts(graded),
        "examiner_schedule": graded,
    }
    return section


def is_undecodable(record: ItemRecord) -> bool:
    """A picture of a kind with no decoder here (JPEG XL, a sequence, a raw photo with no
    preview): counted and listed for review by other means, not an error of the scan."""
    return record.pdq is None and record.type in WITHOUT_DECODER


def _metadata(case: Case, generated_by: str | None) -> dict:
    now = datetime.now(UTC)
    return {
        **{key: value for key, value in case.to_json().items() if key != "name"},
        "case": case.name,
        "tool": "Safeguard",
        "version": __version__,
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_at_local": now.astimezone().isoformat(timespec="seconds"),
        "generated_by": generated_by,
    }


def _settings(exhibit: Exhibit) -> dict:
    thresholds = {
        used["name"]: PDQ.default_threshold
        if used.get("pdq_threshold") is None
        else used["pdq_threshold"]
        for used in exhibit.lists_used
        if used.get("kind") != "known-good"
    }
    return {
        **exhibit.options,
        "dihedral": True,  # scans match rotated and flipped copies
        "pdq_quality_gate": QUALITY_GATE,
        "pdq_thresholds": thresholds,
    }


def _lists_used(sections: list[ExhibitSection]) -> list[dict]:
    """Each list (at each revision) any exhibit was matched with, and which exhibits."""
    seen: dict[tuple[str, int], dict] = {}
    for section in sections:
        for used in section.exhibit.lists_used:
            entry = seen.setdefault((used["name"], used["revision"]), {**used, "exhibits": []})
            entry["exhibits"].append(section.exhibit.name)
    return sorted(seen.values(), key=lambda used: (used["name"], used["revision"]))


def _report_warnings(sections: list[ExhibitSection]) -> list[dict]:
    """What must travel with the numbers: unfinished exhibits, matching that could not match."""
    warnings = []
    for section in sections:
        exhibit = section.exhibit
        if exhibit.state != "complete":
            warnings.append(
                {"level": "error", "message": f"exhibit {exhibit.name} is {exhibit.state}"}
            )
        if exhibit.matched_at is None:
            if exhibit.status != "running":
                warnings.append(
                    {
                        "level": "warning",
                        "message": f"exhibit {exhibit.name}: the lists it was matched against "
                        "were not recorded (scanned by an earlier version); run `safeguard "
                        "rematch` to match it again and record them",
                    }
                )
        elif not any(
            used["enabled"] and used["kind"] in ALERT_KINDS for used in exhibit.lists_used
        ):
            warnings.append(
                {
                    "level": "error",
                    "message": f"exhibit {exhibit.name} was matched against no enabled alert "
                    "list: nothing could match",
                }
            )
    return warnings


def _totals(summaries: list[dict]) -> dict:
    """The case across its exhibits: counts summed, categories recounted from every row."""
    totals = {key: sum(summary[key] for summary in summaries) for key in COUNT_KEYS}
    rows = [row for summary in summaries for row in summary["schedule"]]
    graded = [row for summary in summaries for row in summary["examiner_schedule"]]
    return {
        **totals,
        "categories": category_counts(rows),
        "graded_images": len(graded),
        "examiner_grades": grade_counts(graded),
        "matched_files": sum(summary["matched_files"] for summary in summaries),
        "unknown_images": sum(summary["unknown_images"] for summary in summaries),
        "unknown_groups": sum(summary["unknown_groups"] for summary in summaries),
        "unknown_videos": sum(summary["unknown_videos"] for summary in summaries),
        "unknown_video_groups": sum(summary["unknown_video_groups"] for summary in summaries),
    }


def non_pertinent(categories: dict) -> dict:
    return {key: value for key, value in categories.items() if key == NON_PERTINENT}


def by_scheme(categories: dict) -> dict[str, dict]:
    """Pertinent categories, one table per scheme: UK and VICS codes never share a column."""
    tables: dict[str, dict] = defaultdict(dict)
    for key, value in categories.items():
        if value["pertinent"]:
            tables[value["scheme"]][key] = value
    return dict(sorted(tables.items()))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
