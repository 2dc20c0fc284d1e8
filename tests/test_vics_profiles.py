"""VICS files as the public writers shape them: the context URL's profile decides how
categories read (US and Default as us, DHS as dhs; UK and unknown profiles refused unless
told), and the structure, not the URL's suffix, decides hash set or case export."""

from __future__ import annotations

import json

import pytest

from safeguard.errors import UsageError
from safeguard.formats.lists import ReadOptions, read_list
from safeguard.store import NewEntry, Scheme

from conftest import init_store, run_cli

BASE = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels"
MD5 = "0123456789abcdef0123456789abcdef"


def _media(category) -> dict:
    return {"MediaID": 1, "Category": category, "MD5": MD5.upper()}


def _hash_set(context_key: str, url: str, category) -> dict:
    return {context_key: url, "value": [_media(category)]}


def _case(url: str, category) -> dict:
    case = {"CaseID": 3, "CaseNumber": "OP-9", "Media": [_media(category)]}
    return {"@odata.context": url, "value": [case]}


def _read(tmp_path, document: dict, profile: str | None = None) -> list[NewEntry]:
    path = tmp_path / "vics.json"
    path.write_text(json.dumps(document))
    options = ReadOptions(scheme=Scheme.VICS, vics_profile=profile)
    rows = list(read_list(path, "vics", options))
    assert all(isinstance(row, NewEntry) for row in rows), rows
    return rows


@pytest.mark.parametrize(
    ("document", "category"),
    [
        (_hash_set("@odata.context", f"{BASE}/2.0.xml/US/$metadata#Media", 0), "0"),
        (_hash_set("@odata.context", f"{BASE}/2.0.xml/Default/$metadata#Media", 1), "1"),
        (_hash_set("@odata.context", f"{BASE}/2.0.xml/DHS/$metadata#Media", 5), "0"),
        (_hash_set("@odata.context", f"{BASE}/2.0.xml/DHS/$metadata#Media", 0), None),
        (_hash_set("odata.metadata", f"{BASE}/1.3.xml#Media", 2), "2"),  # 1.x: no profile
        (_case(f"{BASE}/2.0.xml/US/$metadata#Cases", 1), "1"),
        (_case(f"{BASE}/2.0.xml/US/$metadata#Media", 1), "1"),  # a case, whatever the suffix
    ],
)
def test_the_file_names_its_profile_and_its_shape_is_read_from_its_structure(
    tmp_path, document, category
):
    (entry,) = _read(tmp_path, document)
    assert (entry.value.hex(), entry.category) == (MD5, category)


@pytest.mark.parametrize("profile", ["UK", "Canada"])
def test_a_profile_whose_codes_are_not_known_here_is_refused_unless_told(tmp_path, profile):
    document = _case(f"{BASE}/2.0.xml/{profile}/$metadata#Cases", 1)
    with pytest.raises(UsageError, match=f"uses the {profile} profile"):
        _read(tmp_path, document)
    (entry,) = _read(tmp_path, document, profile="us")  # the examiner says they are US codes
    assert entry.category == "1"


def test_a_uk_profile_file_is_not_laundered_into_us_grades_by_the_cli(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    path = tmp_path / "uk.json"
    path.write_text(json.dumps(_case(f"{BASE}/2.0.xml/UK/$metadata#Cases", 2)))
    refused = run_cli("lists", "import", str(path), "--list", "uk", "--db", db, check=False)
    assert refused.returncode == 2 and "uses the UK profile" in refused.stderr
    assert run_cli("lists", "ls", "--json", "--db", db).stdout == ""
