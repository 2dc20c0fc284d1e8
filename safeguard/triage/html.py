"""The officer's report: one self-contained HTML file that opens offline.

Per exhibit: its status (a banner that cannot be missed when it was not fully
read, with what could not be), the summary counts, a bar chart of files per
category (inline SVG), the errors, and the unknown images grouped into
near-duplicate families. A
family is shown by small, greyscale, blurred thumbnails only (made at scan time,
and only for pictures that matched no list): never a full-size picture, never a
graded one. Nothing is loaded from anywhere: styles, chart and thumbnails are
all inside the file.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from html import escape

from safeguard.store.cases import Exhibit, ItemRecord
from safeguard.triage.report import is_undecodable, summarise

MAX_ERRORS_SHOWN = 200
MAX_FAMILIES_SHOWN = 500

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right}.note{background:#fff7e0;border:1px solid #e6c200;padding:.6em 1em}
.families{display:flex;flex-wrap:wrap;gap:1em}.family{border:1px solid #ddd;padding:.5em;width:12em}
.family img{filter:blur(2px) grayscale(1);display:block;margin:0 auto .3em}
details{font-size:.85em;word-break:break-all}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-size:1.1em}
.ok{background:#e8f5e9;border:1px solid #4caf50;padding:.4em 1em}.warnings li{margin:.2em 0}
"""


def render(case: str, exhibits: Iterable[tuple[Exhibit, list[ItemRecord]]]) -> str:
    exhibits = list(exhibits)
    sections = [_exhibit_section(exhibit, records) for exhibit, records in exhibits]
    unfinished = [e for e, _ in exhibits if e.state != "complete"]
    banner = (
        "<div class=banner role=alert><b>This report is not complete.</b> "
        + "; ".join(f"Exhibit {escape(e.name)}: {_STATES[e.state]}" for e in unfinished)
        + ". Its counts cover only what was read.</div>"
        if unfinished
        else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Safeguard report: {escape(case)}</title><style>{_STYLE}</style></head><body>"
        f"{banner}<h1>Case {escape(case)}</h1>"
        "<p class=note>Unknown pictures appear only as small, blurred, greyscale thumbnails. "
        "Pictures that matched a graded list are counted, never shown.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _exhibit_section(exhibit: Exhibit, records: list[ItemRecord]) -> str:
    summary, families = summarise(exhibit, records)
    rows = "".join(
        f"<tr><th>{label}</th><td class=n>{summary[key]:,}</td></tr>"
        for key, label in (
            ("files", "Files"),
            ("images", "Images"),
            ("videos", "Videos"),
            ("undecodable_images", "Pictures not decodable here"),
            ("empty", "Empty files"),
            ("errors", "Errors"),
            ("known_good", "Known good (excluded)"),
            ("unknown_images", "Unknown images"),
            ("unknown_groups", "Unknown families (to review)"),
        )
    )
    categories = "".join(
        f"<tr><th>{escape(key)}</th><td class=n>{counts['files']:,}</td>"
        f"<td class=n>{counts['unique']:,}</td></tr>"
        for key, counts in summary["categories"].items()
    )
    verification = ""
    if exhibit.verification:
        state = "verified" if exhibit.verification.get("verified") else "DOES NOT MATCH"
        verification = (
            f"<p>E01 stored MD5 {escape(str(exhibit.verification.get('stored_md5')))}: {state} "
            f"(computed {escape(str(exhibit.verification.get('computed_md5')))})</p>"
        )
    return (
        f"<h2>Exhibit {escape(exhibit.name)}</h2><p>Source: {escape(exhibit.source)}</p>"
        f"{_status(exhibit)}{verification}<table>{rows}</table>"
        "<h3>Matched files by category</h3>"
        + (
            f"<table><tr><th>Category</th><th>Files</th><th>Distinct</th></tr>{categories}</table>"
            + _chart(summary["categories"])
            if categories
            else "<p>No file matched a graded list.</p>"
        )
        + _errors(records)
        + _undecodable(records)
        + _families(families, summary["unknown_images"])
    )


_STATES = {
    "complete": "complete: every volume and container found was read",
    "incomplete": "INCOMPLETE: the scan was interrupted or is still running",
    "failed": "FAILED: some of the evidence could not be read",
}


def _status(exhibit: Exhibit) -> str:
    state = exhibit.state
    css = "ok" if state == "complete" else "banner"
    listed = "".join(
        f"<li><b>{escape(p.level.value)}</b>: {escape(p.message)}</li>" for p in exhibit.problems
    )
    return f"<p class={css}>Status: {escape(_STATES[state])}</p>" + (
        f"<ul class=warnings>{listed}</ul>" if listed else ""
    )


def _chart(categories: dict[str, dict[str, int]]) -> str:
    most = max((c["files"] for c in categories.values()), default=1) or 1
    bar_height, width = 22, 420
    bars = []
    for row, (key, counts) in enumerate(categories.items()):
        length = max(2, round(width * counts["files"] / most))
        y = row * (bar_height + 6)
        bars.append(
            f'<text x="0" y="{y + 16}" font-size="13">{escape(key)}</text>'
            f'<rect x="90" y="{y}" width="{length}" height="{bar_height}" fill="#4a6fa5"/>'
            f'<text x="{96 + length}" y="{y + 16}" font-size="13">{counts["files"]:,}</text>'
        )
    height = len(categories) * (bar_height + 6)
    return (
        f'<svg role="img" aria-label="files per category" width="{width + 160}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


def _errors(records: list[ItemRecord]) -> str:
    failed = [r for r in records if r.errors and not is_undecodable(r)]
    if not failed:
        return "<h3>Errors</h3><p>None.</p>"
    return f"<h3>Errors ({len(failed):,})</h3>" + _listing(failed, lambda r: "; ".join(r.errors))


def _undecodable(records: list[ItemRecord]) -> str:
    listed = [r for r in records if is_undecodable(r)]
    if not listed:
        return ""
    return (
        f"<h3>Pictures not decodable here ({len(listed):,})</h3>"
        "<p>Recognised as pictures, but no decoder here can read them, so they were not "
        "matched perceptually: review them with a tool that can.</p>"
        + _listing(listed, lambda r: r.type or "")
    )


def _listing(records: list[ItemRecord], detail: Callable[[ItemRecord], str]) -> str:
    """Where each item lies and one detail about it, the first ``MAX_ERRORS_SHOWN`` of them."""
    rows = "".join(
        f"<tr><td>{escape(r.locator)}</td><td>{escape(detail(r))}</td></tr>"
        for r in records[:MAX_ERRORS_SHOWN]
    )
    hidden = len(records) - MAX_ERRORS_SHOWN
    return f"<table>{rows}</table>" + (f"<p>... and {hidden:,} more.</p>" if hidden > 0 else "")


def _families(families: list[list[ItemRecord]], unknown: int) -> str:
    if not families:
        return "<h3>Unknown images</h3><p>None.</p>"
    cards = []
    for family in families[:MAX_FAMILIES_SHOWN]:
        shown = next((r for r in family if r.thumbnail), None)
        picture = (
            f'<img alt="blurred thumbnail" src="data:image/jpeg;base64,'
            f'{base64.b64encode(shown.thumbnail).decode()}">'
            if shown
            else "<p>(no thumbnail)</p>"
        )
        places = "".join(f"<li>{escape(r.locator)}</li>" for r in family)
        cards.append(
            f"<div class=family>{picture}<b>{len(family)} file(s)</b>"
            f"<details><summary>where</summary><ul>{places}</ul></details></div>"
        )
    more = (
        f"<p>... and {len(families) - MAX_FAMILIES_SHOWN:,} more families.</p>"
        if len(families) > MAX_FAMILIES_SHOWN
        else ""
    )
    return (
        f"<h3>Unknown images: {unknown:,} in {len(families):,} families</h3>"
        f"<div class=families>{''.join(cards)}</div>{more}"
    )
