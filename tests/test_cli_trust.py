"""A command line that never misleads: stores opened not conjured, one-line errors, output
where it was sent, defaults and version shown, interrupts said out loud."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from safeguard import __version__

from conftest import REPO, default_sigint, free_port, import_list, init_store, jsonl, run_cli

pytestmark = pytest.mark.slow  # many real commands, each a new process


@pytest.fixture
def lab(tmp_path, monkeypatch, photo):
    """A store with one alert list grading ``photo``, and an exhibit folder holding it."""
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = str(tmp_path / "case.db")
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    shutil.copyfile(photo, exhibit / "a.jpg")
    (exhibit / "notes.txt").write_text("nothing to see\n")
    listed = tmp_path / "list.txt"
    listed.write_text(jsonl(run_cli("hash", str(photo)).stdout)[0]["md5"] + "\n")
    import_list(db, listed, "graded", "--category", "A")
    return db, exhibit


def _one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_a_mistyped_store_is_refused_not_created(lab, tmp_path):
    _, exhibit = lab
    typo = tmp_path / "cse.db"
    for command in (
        ("scan", str(exhibit), "--case", "C", "--exhibit", "E"),
        ("match", str(exhibit / "a.jpg")),
        ("lists", "ls"),
        ("report", "--case", "C"),
        ("cases", "ls"),
    ):
        done = run_cli(*command, "--db", str(typo), check=False)
        assert done.returncode == 2, command
        line = _one_line(done)
        assert str(typo) in line and "safeguard init" in line
    assert not typo.exists()
    assert "created a store" in run_cli("init", "--db", str(typo)).stdout
    assert "already there" in run_cli("init", "--db", str(typo)).stdout


def test_every_mistake_is_one_line_with_its_exit_status(lab, tmp_path):
    db, exhibit = lab
    run_cli("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--db", db)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    mistakes = [
        (("lists", "ls", "--db", "mysql://x/y"), 2, "unsupported database URL"),
        (("lists", "ls", "--db", f"postgresql://nobody@127.0.0.1:{free_port()}/x"), 1,
         "cannot reach the store"),
        (("report", "--case", "C", "-o", str(tmp_path / "no-such-folder" / "r.json"), "--db", db),
         2, "no such file or folder"),
        (("report", "--case", "C", "-o", "/etc/hostname/r.json", "--db", db), 2, "not a folder"),
        (("report", "--case", "nope", "--db", db), 2, "no scanned exhibit"),
        (("hash", str(exhibit)), 2, "add --recursive"),
        (("hash", "--bogus", str(exhibit)), 2, "No such option: --bogus"),
        (("lists", "import", str(tmp_path / "missing.txt"), "--list", "x", "--db", db), 2,
         "does not exist"),
        (("serve", "--port", str(busy.getsockname()[1]), "--db", db), 1, "already in use"),
    ]  # fmt: skip
    try:
        for args, status, words in mistakes:
            done = run_cli(*args, check=False)
            assert done.returncode == status, (args, done.stderr)
            assert words in _one_line(done), (args, done.stderr)
    finally:
        busy.close()
    traced = run_cli("--debug", "lists", "ls", "--db", "mysql://x/y", check=False)
    assert "Traceback" in traced.stderr  # the details, when asked for


def test_records_reach_stdout_while_a_bar_is_drawn_on_a_terminal(lab, tmp_path):
    db, exhibit = lab
    for command in (("hash", "-r", str(exhibit)), ("match", "-r", str(exhibit), "--db", db)):
        out = tmp_path / f"{command[0]}.jsonl"
        primary, secondary = pty.openpty()  # stderr is a terminal: the bar is drawn
        with out.open("w") as sink:
            done = subprocess.run(
                [sys.executable, "-m", "safeguard", *command],
                stdout=sink, stderr=secondary, timeout=300, cwd=REPO,
            )  # fmt: skip
        os.close(secondary)
        drawn = _drain(primary)
        assert done.returncode == 0
        records = jsonl(out.read_text())
        assert sorted(r["path"].rsplit("/", 1)[-1] for r in records) == ["a.jpg", "notes.txt"]
        assert "files" in drawn and "elapsed" in drawn  # the bar went to the terminal
        assert "{" not in drawn  # and no record did


def _drain(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks).decode("utf-8", "replace")


def test_help_shows_every_default_and_the_version_is_one(lab):
    assert run_cli("--version").stdout.strip() == f"safeguard {__version__}"
    wide = {**os.environ, "COLUMNS": "250"}
    shown = run_cli("hash", "--help", env=wide).stdout
    assert "[default: all cores]" in shown and "[default: $SAFEGUARD_MAX_PIXELS" in shown
    assert (
        "[default: $SAFEGUARD_DB or ./safeguard.db]" in run_cli("scan", "--help", env=wide).stdout
    )
    from safeguard.service.app import create_app
    from safeguard.service.settings import ServiceSettings

    assert create_app(ServiceSettings(db=lab[0])).openapi()["info"]["version"] == __version__


def test_a_store_without_alert_lists_is_said_out_loud(tmp_path, monkeypatch, photo):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "empty.db"))
    done = run_cli("match", str(photo), "--db", db)
    assert "holds no enabled alert list" in done.stderr
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    shutil.copyfile(photo, exhibit / "a.jpg")
    scanned = run_cli("scan", str(exhibit), "--case", "C", "--exhibit", "E", "--db", db)
    assert "holds no enabled alert list" in scanned.stderr
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)
    assert any("no enabled alert list" in w["message"] for w in report["warnings"])


def test_interrupted_scan_says_how_many_items_are_saved_and_resumes(tmp_path, monkeypatch, corpus):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    exhibit = _photo_copies(tmp_path / "exhibit", corpus, copies=4)
    command = [sys.executable, "-m", "safeguard", "scan", str(exhibit), "--case", "C",
               "--exhibit", "E", "--workers", "1", "--db", db]  # fmt: skip
    stderr = _interrupted(command, db)
    assert "stopping after the items in hand" in stderr
    assert "interrupted:" in stderr and "run the same command to resume" in stderr
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)
    assert report["exhibits"][0]["status"] == "incomplete"
    resumed = run_cli(*command[3:])
    assert "resuming E:" in resumed.stderr and "items already done" in resumed.stderr
    final = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"][0]
    # No item wears the interrupt as its own error (as one did when Ctrl-C landed in a
    # Numba kernel, which raises it as a SystemError that the item's fault barrier kept).
    assert (final["status"], final["files"], final["errors"]) == ("complete", 1200, 0)


def test_interrupted_batch_saves_each_running_exhibit_and_starts_no_other(
    tmp_path, monkeypatch, corpus
):
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "index"))
    db = init_store(str(tmp_path / "case.db"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "case,exhibit,source\n"
        + "".join(
            f"C,E{n},{_photo_copies(tmp_path / f'exhibit{n}', corpus, copies=2)}\n"
            for n in range(2)
        )
    )
    command = [sys.executable, "-m", "safeguard", "scan-batch", str(manifest), "--workers",
               "1", "--db", db]  # fmt: skip
    stderr = _interrupted(command, db)
    assert "interrupted: run the same command to resume" in stderr
    report = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)
    assert [(e["exhibit"], e["status"]) for e in report["exhibits"]] == [("E0", "incomplete")]
    run_cli(*command[3:])
    final = json.loads(run_cli("report", "--case", "C", "--db", db).stdout)["exhibits"]
    assert [(e["status"], e["files"], e["errors"]) for e in final] == [("complete", 600, 0)] * 2


def _photo_copies(exhibit, corpus, copies: int):
    """``copies`` x 300 photos: enough that a scan cannot finish between its first saved
    batch and the interrupt, even on a fast machine (a batch is 200 items or 2 seconds).
    Each copy differs by a byte after the picture, so none is skipped as seen content."""
    photos = sorted(corpus.rglob("*.jpg"))[:300]
    for copy in range(copies):
        (exhibit / f"copy{copy}").mkdir(parents=True)
        for index, photo in enumerate(photos):
            (exhibit / f"copy{copy}" / f"{index:03d}.jpg").write_bytes(
                photo.read_bytes() + bytes([copy])
            )
    return exhibit


def _interrupted(command: list[str], db: str) -> str:
    """Run ``command``, press Ctrl-C once some items are saved; its stderr, exit 130."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               preexec_fn=default_sigint)  # fmt: skip
    _wait_for_items(db, at_least=20)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    return stderr


def _wait_for_items(db: str, at_least: int) -> None:
    import sqlite3

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as connection:
                (count,) = connection.execute("SELECT count(*) FROM items").fetchone()
            if count >= at_least:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    raise AssertionError("the scan saved no items in time")
