"""The review workspace's pages: server-rendered HTML, every value escaped, no third party.

Pictures are only ever shown as the store's review thumbnails (small, greyscale,
blurred when made), blurred further and kept grey by the page's own settings until
the reviewer changes them; the script (``review.js``) is served by the workspace
itself, and the pages' Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from safeguard.review.desk import ReviewSettings
from safeguard.review.queue import QueuedFamily
from safeguard.signals import VPDQ
from safeguard.store.grades import Grade
from safeguard.store.items import ItemRecord
from safeguard.store.reviewers import Reviewer
from safeguard.vocabulary.categories import Scheme

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#111;background:#fafafa}
header{display:flex;gap:1em;align-items:center;padding:.5em 1em;background:#1d2b3a;color:#fff}
header form{margin-left:auto}header a{color:#fff}main{padding:1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(var(--side,140px),1fr));gap:.6em}
.card{border:2px solid #ccc;padding:.3em;background:#fff}.card:focus{outline:3px solid #06c}
.card img{width:100%;filter:blur(var(--blur,6px)) grayscale(var(--grey,1))}
.card.graded{border-color:#2a7}.near{color:#a40}.message{color:#a00}
#reveal{position:fixed;inset:0;background:#000d;color:#fff;padding:1em;text-align:center}
#reveal img{max-width:95vw;max-height:85vh}
#videos img{width:var(--side,140px);filter:blur(var(--blur,6px)) grayscale(var(--grey,1))}
.keys kbd{border:1px solid #999;border-radius:3px;padding:0 .3em;background:#eee}
"""

PAGE_SIZE = 100  # families a grid page shows
# Flags go with every grade until changed: a series usually spans many pictures.
_FLAGS = (
    "<details id=flags><summary>Flags sent with each grade</summary>"
    "<p><label>Series <input id=series maxlength=200></label> "
    "<label>Victim identified <select id=victim><option value=''>not known</option>"
    "<option value=yes>yes</option><option value=no>no</option></select></label> "
    "<label><input id=second-opinion type=checkbox> Second opinion wanted</label></p>"
    "<p><label>Notes <input id=notes maxlength=2000 size=60></label></p></details>"
)
# The one picture revealed: shown over the grid, taken away by the page's timer,
# by Esc, or as soon as the window loses focus.
_REVEAL = (
    "<div id=reveal role=dialog aria-modal=true aria-label='Revealed picture' hidden>"
    "<p><span id=reveal-left></span> <button id=reveal-close>Blur again (Esc)</button></p>"
    "<img id=reveal-img alt='revealed picture'></div>"
)
KEYS = {Scheme.UK: {"a": "A", "b": "B", "c": "C", "n": "NP"}, Scheme.VICS: {k: k for k in "12340"}}


def page(title: str, body: str, reviewer: Reviewer | None = None, csrf: str = "") -> str:
    who = ""
    if reviewer is not None:
        who = (
            f"<span>{escape(reviewer.name)} ({escape(str(reviewer.role))})</span>"
            f"<form method=post action=/logout><input type=hidden name=csrf "
            f"value='{escape(csrf)}'><button>Log out</button></form>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)} - Safeguard review</title>"
        "<link rel=stylesheet href=/static/review.css></head><body>"
        f"<header><b>Safeguard review</b>{_nav(reviewer)}{who}</header><main>{body}</main>"
        "</body></html>"
    )


def _nav(reviewer: Reviewer | None) -> str:
    if reviewer is None:
        return ""
    return "<nav><a href=/>Cases</a> <a href=/today>Today</a></nav>"


def login_page(message: str = "") -> str:
    shown = f"<p class=message role=alert>{escape(message)}</p>" if message else ""
    return page(
        "Log in",
        "<h1>Log in</h1>" + shown + "<form method=post action=/login>"
        "<p><label>Name <input name=name autocomplete=username required></label></p>"
        "<p><label>Password <input name=password type=password "
        "autocomplete=current-password required></label></p><p><button>Log in</button></p></form>",
    )


def home_page(reviewer: Reviewer, csrf: str, exhibits: list[tuple[str, str, dict]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(case)}</td><td><a href='/case/{quote(case)}/{quote(name)}'>"
        f"{escape(name)}</a></td><td>{counts['files']:,}</td><td>{counts['matched_files']:,}</td>"
        f"<td>{counts['unknown_images']:,}</td><td>{counts['unknown_groups']:,}</td>"
        f"<td>{counts['graded_images']:,}</td></tr>"
        for case, name, counts in exhibits
    )
    head = (
        "<tr><th>Case</th><th>Exhibit</th><th>Files</th><th>Matched by a list (never shown)"
        "</th><th>Unknown pictures</th><th>Families to review</th><th>Graded</th></tr>"
    )
    return page("Cases", f"<h1>Cases</h1><table>{head}{rows}</table>", reviewer, csrf)


def grid_page(
    reviewer: Reviewer,
    csrf: str,
    case: str,
    exhibit: str,
    scheme: Scheme,
    queue: list[QueuedFamily],
    counts: dict,
    page_number: int = 0,
    settings: ReviewSettings = ReviewSettings(),
    videos: list[ItemRecord] = (),
) -> str:
    """One page of the queue: families still to grade first (in priority order), then the
    graded ones; PAGE_SIZE a page, so a grid of ten thousand families opens at once. The
    first page also lists the exhibit's unknown videos (never played, no picture)."""
    left = sum(1 for family in queue if family.grade is None)
    ordered = sorted(queue, key=lambda family: family.grade is not None)  # stable: priority kept
    shown = ordered[page_number * PAGE_SIZE : (page_number + 1) * PAGE_SIZE]
    keys = " ".join(f"<kbd>{key}</kbd> {grade}" for key, grade in KEYS[scheme].items())
    cards = "".join(_card(case, exhibit, family, index) for index, family in enumerate(shown))
    here = f"/case/{quote(case)}/{quote(exhibit)}?scheme={scheme}&amp;page="
    pages = [
        f"<a href='{here}{page_number - 1}'>previous page</a>" if page_number else "",
        f"<a href='{here}{page_number + 1}'>next page</a>"
        if (page_number + 1) * PAGE_SIZE < len(ordered)
        else "",
    ]
    body = (
        f"<h1>{escape(case)} / {escape(exhibit)}</h1>"
        f"<p>{counts['unknown_groups']:,} families of {counts['unknown_images']:,} unknown "
        f"pictures; <b id=left>{left:,}</b> left to grade. Pictures matched by a list are "
        "counted, never shown.</p>"
        f"<p><a href='/case/{quote(case)}/{quote(exhibit)}/exposure'>Exposure</a>"
        + (
            f" <a href='/case/{quote(case)}/{quote(exhibit)}/confirm'>Second opinions</a>"
            if reviewer.role == "supervisor"
            else ""
        )
        + "</p>"
        f"<p class=keys>Keys: {keys}; with <kbd>Shift</kbd> the whole family; <kbd>u</kbd> undo;"
        " <kbd>s</kbd> or <kbd>&rarr;</kbd> next, <kbd>&larr;</kbd> previous;"
        f" <kbd>v</kbd> reveal one picture for {settings.reveal_seconds} s (recorded).</p>"
        + _FLAGS
        + _toolbar(scheme, "grade")
        + _grid(case, exhibit, scheme, csrf, "grade", cards, settings)
        + f"<p>{' '.join(link for link in pages if link)}</p>"
        + _videos(case, exhibit, videos)
    )
    return page(f"{case} / {exhibit}", body, reviewer, csrf)


def _videos(case: str, exhibit: str, videos: list[ItemRecord]) -> str:
    if not videos:
        return ""
    rows = "".join(
        f"<tr><td>{_sheet(case, exhibit, video)}</td><td>{escape(video.locator)}</td>"
        f"<td>{escape(video.type or '')}</td><td>{video.size or 0:,}</td>"
        f"<td>{_duration(video)}</td></tr>"
        for video in videos
    )
    return (
        f"<h2>Videos not matched by a list ({len(videos):,})</h2>"
        "<p>Never played: a blurred sheet of key frames at most.</p><table id=videos><tr>"
        "<th>Key frames</th><th>Location</th><th>Type</th><th>Bytes</th><th>Duration</th>"
        f"</tr>{rows}</table>"
    )


def _sheet(case: str, exhibit: str, video: ItemRecord) -> str:
    if not video.thumbnail:
        return "(none)"
    return (
        f"<img alt='blurred key frames' loading=lazy "
        f"src='/thumb/{quote(case)}/{quote(exhibit)}/{video.seq}'>"
    )


def _duration(video: ItemRecord) -> str:
    """About how long: the last hashed frame's time (frames are hashed a second apart)."""
    frames = VPDQ.decode(video.values[VPDQ.name]) if VPDQ.name in video.values else []
    return f"about {frames[-1].timestamp:,.0f} s" if frames else "not read"


def counts_page(
    reviewer: Reviewer, csrf: str, case: str, exhibit: str, counts: dict, graded: int
) -> str:
    """What a viewer sees of an exhibit: numbers, never a picture."""
    rows = [
        ("Files", counts["files"]),
        ("Matched by a list (never shown)", counts["matched_files"]),
        ("Unknown pictures", counts["unknown_images"]),
        ("Families to review", counts["unknown_groups"]),
        ("Graded by examiners", graded),
    ]
    body = f"<h1>{escape(case)} / {escape(exhibit)}</h1><p>Counts only.</p>{_counts(rows)}"
    return page(f"{case} / {exhibit}", body, reviewer, csrf)


def confirm_page(
    reviewer: Reviewer,
    csrf: str,
    case: str,
    exhibit: str,
    graded: dict[int, Grade],
    settings: ReviewSettings = ReviewSettings(),
) -> str:
    """A supervisor's second opinions: every grade made directly, unconfirmed first;
    the grades a supervisor changed listed as disagreements."""
    direct = sorted(
        (grade for grade in graded.values() if grade.via_seq is None),
        key=lambda grade: (grade.confirmed_by is not None, grade.seq),
    )
    scheme = direct[0].scheme if direct else Scheme.UK
    disputed = "".join(
        f"<li>item {g.seq}: {escape(g.disputed_category or '')} by {escape(g.graded_by)}, "
        f"changed to {escape(g.category)} by {escape(g.confirmed_by or '')}</li>"
        for g in graded.values()
        if g.disputed_category
    )
    cards = "".join(_confirm_card(case, exhibit, grade, i) for i, grade in enumerate(direct))
    left = sum(1 for grade in direct if grade.confirmed_by is None)
    body = (
        f"<h1>Second opinions: {escape(case)} / {escape(exhibit)}</h1>"
        f"<p><b id=left>{left:,}</b> grades to confirm. Keys: <kbd>y</kbd> confirm; a grade "
        "key changes it (the first grade is kept as a disagreement).</p>"
        f"<h2>Disagreements</h2><ul id=disagreements>{disputed or '<li>none</li>'}</ul>"
        + _toolbar(scheme, "confirm")
        + _grid(case, exhibit, scheme, csrf, "confirm", cards, settings)
    )
    return page(f"Second opinions {case} / {exhibit}", body, reviewer, csrf)


def _toolbar(scheme: Scheme, mode: str) -> str:
    """The keys as buttons, for the selected picture: a mouse grades as the keys do."""
    grades = " ".join(
        f"<button type=button data-grade='{grade}'>{grade}</button>"
        for grade in KEYS[scheme].values()
    )
    if mode == "confirm":
        confirm = "<button type=button id=confirm-button>Confirm</button>"
        return f"<p id=toolbar>{confirm} or change to: {grades}</p>"
    return (
        f"<p id=toolbar>Grade the selected picture: {grades} "
        "<label><input type=checkbox id=whole-family> its whole family</label> "
        "<button type=button id=undo-button>Undo</button> "
        "<button type=button id=reveal-button>Reveal</button></p>"
    )


def _grid(
    case: str, exhibit: str, scheme: Scheme, csrf: str, mode: str, cards: str,
    settings: ReviewSettings,
) -> str:  # fmt: skip
    return (
        "<p id=break role=alert hidden>You have been reviewing for a while: take a break.</p>"
        "<p><label>Blur <input id=blur type=range min=0 max=20 value=6></label> "
        "<label><input id=grey type=checkbox checked> Greyscale</label> "
        "<label>Size <input id=side type=range min=80 max=320 value=140></label></p>"
        f"<div class=grid id=grid data-case='{escape(case)}' data-exhibit='{escape(exhibit)}' "
        f"data-scheme='{scheme}' data-mode='{mode}' data-csrf='{escape(csrf)}' "
        f"data-break-minutes='{settings.break_minutes}' "
        f"data-reveal-seconds='{settings.reveal_seconds}'>{cards}</div>"
        "<p id=status role=status></p>" + _REVEAL + "<script src=/static/review.js></script>"
    )


def _confirm_card(case: str, exhibit: str, grade: Grade, index: int) -> str:
    state = f"confirmed by {escape(grade.confirmed_by)}" if grade.confirmed_by else "unconfirmed"
    return (
        f"<div class='card{' graded' if grade.confirmed_by else ''}' tabindex=0 "
        f"data-index={index} data-seq={grade.seq} data-version={grade.version}>"
        f"<img alt='blurred picture' loading=lazy "
        f"src='/thumb/{quote(case)}/{quote(exhibit)}/{grade.seq}'>"
        f"<div>{escape(grade.category)} by {escape(grade.graded_by)} "
        f"<span class=grade>{state}</span></div></div>"
    )


def _card(case: str, exhibit: str, family: QueuedFamily, index: int) -> str:
    grade = family.grade
    graded = f"graded {escape(grade.category)} by {escape(grade.graded_by)}" if grade else ""
    near = "<span class=near>beside list matches</span> " if family.near_matches else ""
    return (
        f"<div class='card{' graded' if grade else ''}' tabindex=0 data-index={index} "
        f"data-seq={family.representative} data-version={grade.version if grade else 0}>"
        f"<img alt='blurred picture' loading=lazy "
        f"src='/thumb/{quote(case)}/{quote(exhibit)}/{family.representative}'>"
        f"<div>{near}{len(family.members)} file(s) <span class=grade>{graded}</span></div></div>"
    )


def _counts(rows: list[tuple[str, int]], table_id: str = "counts") -> str:
    cells = "".join(f"<tr><td>{label}</td><td>{value:,}</td></tr>" for label, value in rows)
    return f"<table id={table_id}>{cells}</table>"


def dashboard_page(
    reviewer: Reviewer, csrf: str, case: str, exhibit: str, counts: dict, exposure: dict
) -> str:
    """The exhibit's exposure: what a person had to look at, against what was spared."""
    rows = [
        ("Files", counts["files"]),
        ("Matched by a list (never shown)", counts["matched_files"]),
        ("Graded with their family (never shown)", exposure["via_family"]),
        ("Unknown families", counts["unknown_groups"]),
        ("Unknown video groups", counts["unknown_video_groups"]),
        ("Pictures a person was shown (blurred or revealed)", exposure["seen"]),
        ("Pictures revealed unblurred", exposure["revealed"]),
    ]
    # A video's contact sheet is one picture shown; a group of videos is one to review.
    to_review = counts["unknown_groups"] + counts["unknown_video_groups"]
    goal = (
        "within the goal: no more pictures seen than there are families to review"
        if exposure["seen"] <= to_review
        else "over the goal: more pictures seen than there are families to review"
    )
    body = (
        f"<h1>Exposure: {escape(case)} / {escape(exhibit)}</h1>{_counts(rows, 'exposure')}"
        f"<p id=goal>{goal}.</p>"
    )
    return page(f"Exposure {case} / {exhibit}", body, reviewer, csrf)


def day_page(reviewer: Reviewer, csrf: str, summaries: list) -> str:
    """Today's exposure, per reviewer: one's own, or (a supervisor) everyone's."""
    rows = "".join(
        f"<tr><td>{escape(s.reviewer)}</td><td>{s.pictures_seen:,}</td><td>{s.views:,}</td>"
        f"<td>{s.minutes_exposed:,}</td><td>{s.pictures_revealed:,}</td>"
        f"<td>{s.seconds_revealed:,.0f}</td><td>{s.grading_actions:,}</td></tr>"
        for s in summaries
    )
    head = (
        "<tr><th>Reviewer</th><th>Pictures seen</th><th>Times shown</th>"
        "<th>Minutes with pictures</th><th>Pictures revealed</th><th>Seconds revealed</th>"
        "<th>Grading actions</th></tr>"
    )
    return page("Today", f"<h1>Today</h1><table id=today>{head}{rows}</table>", reviewer, csrf)
