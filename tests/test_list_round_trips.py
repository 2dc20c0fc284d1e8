"""Every kind of list in every scheme comes back from its export as it was, with the
import's default options: the CSV names its list's kind and scheme; VICS carries graded
(alert) VICS lists and refuses the rest rather than turn them into alert lists."""

from __future__ import annotations

import itertools
import json

import pytest

from conftest import init_store, jsonl, run_cli

KINDS = ("alert", "known-good", "self-reported")
SCHEMES = {"uk": ("A", "B", ""), "vics": ("1", "2", "")}


def _fill(tmp_path, kind: str, scheme: str):
    first, second, _ = SCHEMES[scheme]
    graded = kind != "known-good"
    rows = [
        ("md5", "0" * 31 + "1", first if graded else ""),
        ("sha1", "0" * 39 + "2", second if graded else ""),
        ("sha256", "0" * 63 + "3", ""),
        ("pdq", "f" * 64, first if graded else ""),
    ]
    source = tmp_path / f"{kind}-{scheme}.csv"
    source.write_text("signal,value,category,notes\n" + "".join(
        f"{s},{v},{c},note {n}\n" for n, (s, v, c) in enumerate(rows)))  # fmt: skip
    return source


def _shown(db: str, name: str) -> list[tuple]:
    rows = jsonl(run_cli("lists", "show", name, "--json", "--db", db).stdout)
    return [(r["signal"], r["value"], r["category"], r["notes"], r["disabled"]) for r in rows]


def _about(db: str, name: str) -> tuple[str, str]:
    found = {r["name"]: r for r in jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)}
    return found[name]["kind"], found[name]["scheme"]


@pytest.mark.slow
def test_every_kind_and_scheme_round_trips_through_csv_and_vics(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    for kind, scheme in itertools.product(KINDS, SCHEMES):
        name = f"{kind}-{scheme}"
        run_cli("lists", "import", str(_fill(tmp_path, kind, scheme)), "--list", name,
                "--kind", kind, "--scheme", scheme, "--db", db)  # fmt: skip
        for fmt in ("csv", "vics"):
            out = tmp_path / f"{name}.{fmt}"
            done = run_cli("lists", "export", name, "--format", fmt, "-o", str(out), "--db", db,
                           check=False)  # fmt: skip
            if fmt == "vics" and (kind, scheme) != ("alert", "vics"):
                assert done.returncode == 2 and "export it as csv" in done.stderr
                continue
            assert done.returncode == 0, done.stderr
            copy = f"{name}-via-{fmt}"
            run_cli("lists", "import", str(out), "--list", copy, "--db", db)  # defaults only
            assert _about(db, copy) == (kind, scheme), copy
            assert _shown(db, copy) == _shown(db, name), copy


@pytest.mark.slow
def test_an_ungraded_csv_needs_its_kind_said(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    plain = tmp_path / "plain.csv"
    plain.write_text("md5\n" + "0" * 31 + "1\n")
    refused = run_cli("lists", "import", str(plain), "--list", "l", "--db", db, check=False)
    assert refused.returncode == 2 and "grades nothing" in refused.stderr
    assert run_cli("lists", "ls", "--json", "--db", db).stdout == ""  # nothing was made
    run_cli("lists", "import", str(plain), "--list", "l", "--kind", "alert", "--db", db)
    assert _about(db, "l") == ("alert", "uk")


@pytest.mark.slow
def test_an_export_contradicted_by_an_option_is_refused(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    run_cli("lists", "import", str(_fill(tmp_path, "known-good", "uk")), "--list", "nsrl",
            "--kind", "known-good", "--db", db)  # fmt: skip
    out = tmp_path / "nsrl.csv"
    run_cli("lists", "export", "nsrl", "--format", "csv", "-o", str(out), "--db", db)
    header = out.read_text().splitlines()[0]
    assert header.endswith(",list_kind,list_scheme")
    wrong = run_cli("lists", "import", str(out), "--list", "x", "--kind", "alert", "--db", db,
                    check=False)  # fmt: skip
    assert wrong.returncode == 2 and "export of a known-good list" in wrong.stderr
    mixed = tmp_path / "mixed.csv"
    lines = out.read_text().splitlines()
    mixed.write_text("\n".join([*lines[:2], lines[2].replace("known-good", "alert")]) + "\n")
    bad = run_cli("lists", "import", str(mixed), "--list", "y", "--db", db, check=False)
    assert bad.returncode == 1 and "list_kind differs from the first row's" in bad.stderr
    assert json.loads(run_cli("lists", "ls", "--json", "--db", db).stdout)["name"] == "nsrl"
