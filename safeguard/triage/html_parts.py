"""The building blocks of the HTML report: its styles, tables, chart and schedule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from safeguard.store.items import ItemRecord
from safeguard.triage.report import by_scheme, non_pertinent

SCHEME_NAMES = {"uk": "UK categories", "vics": "Project VIC categories"}
PLACEMENT_NAMES = (
    ("allocated", "Allocated"),
    ("deleted", "Deleted"),
    ("carved", "Carved"),
    ("archive", "In an archive"),
)

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .8em;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}td.n{text-align:right}table.small{font-size:.8em}
.note{background:#fff7e0;border:1px solid #e6c200;padding:.6em 1em}
.families{display:flex;flex-wrap:wrap;gap:1em}.family{border:1px solid #ddd;padding:.5em;width:12em}
.family img{filter:blur(2px) grayscale(1);display:block;margin:0 auto .3em}
details{font-size:.85em;word-break:break-all}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-size:1.1em}
.ok{background:#e8f5e9;border:1px solid #4caf50;padding:.4em 1em}.warnings li{margin:.2em 0}
.perceptual{color:#8a4b00}
@page{size:A4;margin:18mm 14mm;@bottom-right{content:"page " counter(page) " of " counter(pages)}}
@media print{body{margin:0;max-width:none;font-size:10pt}section.exhibit{break-before:page}
.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}details{font-size:8pt}}
"""


def table(
    rows: Sequence[Sequence[object]], head: Sequence[str] | None = None, *, css: str = ""
) -> str:
    header = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>" if head else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table class='{css}'>{header}{body}</table>"


def key_values(pairs: Sequence[tuple[str, object]]) -> str:
    """A two-column table of the pairs whose value is known."""
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in pairs
        if value not in (None, "")
    )
    return f"<table>{rows}</table>"


def categories_tables(categories: dict) -> str:
    """One table per scheme; exact and perceptual apart; non-pertinent entries on their own."""
    tables = by_scheme(categories)
    if not tables and not non_pertinent(categories):
        return "<p>No file matched a graded list.</p>"
    head = (
        "Category", "Files", "Distinct", "Exact", "Perceptual (to confirm)", "PDQ distances",
        *(label for _, label in PLACEMENT_NAMES),
    )  # fmt: skip
    parts = [
        f"<h4>{escape(SCHEME_NAMES.get(scheme, scheme))}</h4>" + table(_rows(rows), head)
        for scheme, rows in tables.items()
    ]
    if rest := non_pertinent(categories):
        parts.append(
            "<h4>Non-pertinent (Project VIC 0): marked not relevant by a list, not matches</h4>"
            + table(_rows(rest), head)
        )
    return "".join(parts)


def _rows(categories: dict) -> list[tuple]:
    rows = []
    for key, count in categories.items():
        distances = count["perceptual_distances"]
        rows.append(
            (
                key,
                f"{count['files']:,}",
                f"{count['unique']:,}",
                f"{count['exact']:,}",
                f"{count['perceptual']:,}",
                f"{distances[0]}-{distances[1]}" if distances else "",
                *(f"{count['allocation'][place]:,}" for place, _ in PLACEMENT_NAMES),
            )
        )
    return rows


def chart(categories: dict) -> str:
    """Files per pertinent category as an inline SVG bar chart."""
    shown = {k: v for k, v in categories.items() if v["pertinent"]}
    if not shown:
        return ""
    most = max(c["files"] for c in shown.values()) or 1
    bar_height, width = 22, 420
    bars = []
    for row, (key, counts) in enumerate(shown.items()):
        length = max(2, round(width * counts["files"] / most))
        y = row * (bar_height + 6)
        bars.append(
            f'<text x="0" y="{y + 16}" font-size="13">{escape(key)}</text>'
            f'<rect x="90" y="{y}" width="{length}" height="{bar_height}" fill="#4a6fa5"/>'
            f'<text x="{96 + length}" y="{y + 16}" font-size="13">{counts["files"]:,}</text>'
        )
    height = len(shown) * (bar_height + 6)
    return (
        f'<svg role="img" aria-label="files per category" width="{width + 160}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


SCHEDULE_HEAD = (
    "Location", "Placement", "Size", "MD5", "SHA-1", "List", "Entry", "Category", "Signal",
    "Distance", "Match",
)  # fmt: skip


def schedule_table(schedule: list[dict], printable: bool) -> str:
    """Every matched file, as counted: collapsed on screen (thousands of rows), open in print."""
    if not schedule:
        return ""
    rows = "".join(
        f"<tr class={row['match']}><td>{escape(row['location'])}</td>"
        f"<td>{escape(row['placement'])}</td><td class=n>{row['size'] or 0:,}</td>"
        f"<td>{row['md5'] or ''}</td><td>{row['sha1'] or ''}</td>"
        f"<td>{escape(row['list'])}</td><td>{row['entry']}</td><td>{escape(row['category'])}</td>"
        f"<td>{escape(row['signal'])}</td><td class=n>{row['distance']}</td>"
        f"<td>{'exact' if row['match'] == 'exact' else 'perceptual: confirm visually'}</td></tr>"
        for row in schedule
    )
    header = "".join(f"<th>{h}</th>" for h in SCHEDULE_HEAD)
    opened = " open" if printable else ""
    return (
        f"<details class=schedule{opened}><summary>Item schedule: {len(schedule):,} rows "
        "(one per file and scheme)</summary>"
        f"<table class=small><tr>{header}</tr>{rows}</table></details>"
    )


def listing(records: list[ItemRecord], total: int, detail: Callable[[ItemRecord], str]) -> str:
    """Where each item lies and one detail about it: those kept, and how many more there are."""
    rows = [(record.locator, detail(record)) for record in records]
    hidden = total - len(records)
    return table(rows) + (
        f"<p>... and {hidden:,} more (all of them are in the JSON report and the store).</p>"
        if hidden > 0
        else ""
    )


def examiner_tables(grades: dict, rows: list[dict] | None, printable: bool) -> str:
    """What examiners graded, apart from list matches: counts, then (per exhibit) the files."""
    if not grades:
        return ""
    counts = table(
        [
            (key, f"{g['files']:,}", f"{g['verified']:,}", f"{g['unverified']:,}",
             f"{g['via_family']:,}", f"{g['disputed']:,}", ", ".join(g["graded_by"]),
             ", ".join(g["verified_by"]) or "-")
            for key, g in grades.items()
        ],
        ("Grade", "Files", "Verified", "Not yet verified", "Graded with its family",
         "Changed by a supervisor", "Graded by", "Verified by"),
    )  # fmt: skip
    heading = "<h3>Graded by examiners (not list matches)</h3>"
    if not rows:
        return heading + counts
    files = table(
        [
            (r["location"], r["category"], r["graded_by"], r["graded_at"], r["verified_by"] or "-",
             "yes" if r["via_family"] else "no", r["disputed_category"] or "-")
            for r in rows
        ],
        ("Location", "Grade", "Graded by", "When", "Verified by", "With its family",
         "Grade replaced"),
        css="small",
    )  # fmt: skip
    opened = " open" if printable else ""
    return (
        heading
        + counts
        + f"<details{opened}><summary>Graded files: {len(rows):,}</summary>{files}</details>"
    )
