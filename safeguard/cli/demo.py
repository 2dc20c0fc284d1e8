"""``safeguard demo``: the main job end to end on bundled, benign, synthetic pictures.

It draws a small exhibit (a folder with copies, a zip and a damaged file, and a
camera-card disk image with a deleted picture and one only in free space),
grades some of its pictures in demo lists (a "Category A" here is a label on a
drawn sunset), scans both with the store in the demo folder, and writes the
HTML and JSON reports. Nothing in it is, or depicts, a person.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.common import WORKERS_OPTION
from safeguard.media.options import PdqMode
from safeguard.store import ListKind, ListSpec, NewEntry, Store

CASE = "DEMO"


def demo_command(
    out: Path = typer.Option(Path("safeguard-demo"), "--out", help="Folder for the demo files."),
    workers: int = WORKERS_OPTION,
) -> None:
    """Draw a benign exhibit, grade some pictures in demo lists, scan it, write the reports."""
    from safeguard.demo.pictures import write_demo_card, write_demo_folder
    from safeguard.triage.html import render
    from safeguard.triage.report import case_report
    from safeguard.triage.scan import scan_exhibit

    console = Console()
    for old in (
        "exhibit",
        "camera-card.img",
        "demo.db",
        "demo.db-wal",
        "demo.db-shm",
        "demo.db.index",
    ):
        path = out / old
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    folder = out / "exhibit"
    write_demo_folder(folder)
    card = write_demo_card(out / "camera-card.img")

    store = Store.open(str(out / "demo.db"))
    _demo_lists(store, folder)
    with console.status("scanning the demo exhibits"):
        scan_exhibit(store, folder, CASE, "folder", workers=workers, examiner="demo")
        scan_exhibit(store, card, CASE, "camera-card", workers=workers, examiner="demo")
    report = case_report(store, CASE, generated_by="safeguard demo")
    (out / "report.json").write_text(json.dumps(report.document, indent=1) + "\n")
    (out / "report.html").write_text(render(report), encoding="utf-8")

    table = Table(title=f"Case {CASE}: what an officer no longer has to look at")
    for column in (
        "exhibit",
        "status",
        "files",
        "images",
        "errors",
        "known good",
        "graded matches",
        "unknown (families)",
    ):
        table.add_column(column)
    for summary in report.document["exhibits"]:
        graded = ", ".join(f"{k}: {v['files']}" for k, v in summary["categories"].items()) or "-"
        table.add_row(
            summary["exhibit"],
            summary["status"],
            str(summary["files"]),
            str(summary["images"]),
            str(summary["errors"]),
            str(summary["known_good"]),
            graded,
            f"{summary['unknown_images']} ({summary['unknown_groups']})",
        )
    console.print(table)
    console.print(
        f"HTML report (blurred thumbnails of unknown pictures only): [bold]{out / 'report.html'}"
    )
    console.print(f"JSON report: [bold]{out / 'report.json'}[/bold]; store: {out / 'demo.db'}")


def _demo_lists(store: Store, folder: Path) -> None:
    """Grade some drawn scenes A, B and C; mark the readme as known-good software."""
    from safeguard.signals.extract import HashOptions, hash_file

    def hashes(name: str):
        return hash_file(str(folder / name), HashOptions(pdq_mode=PdqMode.EXACT))

    sunset, clouds, mountains = hashes("sunset.jpg"), hashes("clouds.jpg"), hashes("mountains.jpg")
    rings, tiles = hashes("rings.jpg"), hashes("tiles.jpg")
    graded = [
        NewEntry("md5", sunset.values["md5"], "A", record=1),  # exact copies only
        NewEntry("pdq", clouds.pdq.value, "A", record=2),  # any near copy, renamed or carved
        NewEntry("pdq", mountains.pdq.value, "B", record=3),  # rotated copies too (dihedral)
        NewEntry("sha1", rings.values["sha1"], "C", record=4),
        NewEntry("pdq", tiles.pdq.value, "C", record=5),  # the card's deleted copy
    ]
    store.import_entries("demo-graded", graded, spec=ListSpec(importer="safeguard demo"))
    readme = hashes("damaged/readme.txt")
    store.import_entries(
        "demo-known-good",
        [NewEntry("sha1", readme.values["sha1"], record=1)],
        spec=ListSpec(kind=ListKind.KNOWN_GOOD, importer="safeguard demo"),
    )
