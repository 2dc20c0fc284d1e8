"""Everyday checksum files as lists (md5sum and friends, BSD tags, md5deep, hashdeep, a
forensic suite's hash-set CSV), pictures given as lists refused with what they are, and
``--skip-bad`` on a file with nothing good refusing instead of making an empty list."""

from __future__ import annotations

import hashlib

import pytest

from safeguard.formats.lists import ReadOptions, detect_format, read_list
from safeguard.store import NewEntry

from conftest import init_store, jsonl, require_shared, run_cli

DATA = [b"first file", b"second file", b"third, with a comma"]
MD5 = [hashlib.md5(d).hexdigest() for d in DATA]
SHA1 = [hashlib.sha1(d).hexdigest() for d in DATA]
SHA256 = [hashlib.sha256(d).hexdigest() for d in DATA]

FILES = {
    "md5sum text mode": ("checksums", f"{MD5[0]}  a.jpg\n{MD5[1]}  dir/b c.jpg\n"),
    "md5sum binary mode": ("checksums", f"{MD5[0]} *a.jpg\n\\{MD5[1]} *new\\nline.jpg\n"),
    "sha1sum": ("checksums", f"{SHA1[0]}  a.jpg\n{SHA1[1]}  b.jpg\n"),
    "sha256sum": ("checksums", f"{SHA256[0]}  a.jpg\n{SHA256[1]}  b.jpg\n"),
    "BSD tags": ("checksums", f"MD5 (a.jpg) = {MD5[0]}\nSHA256 (b.jpg) = {SHA256[1]}\n"),
    "md5deep -z": ("checksums", f"1024  {MD5[0]}  /cases/a.jpg\n2048  {MD5[1]}  /cases/b.jpg\n"),
    "hashdeep": (
        "hashdeep",
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /cases\n"
        f"## $ hashdeep -r .\n##\n10,{MD5[0]},{SHA256[0]},./a.jpg\n"
        f"19,{MD5[2]},{SHA256[2]},./third, with a comma.jpg\n",
    ),
    "EnCase hash set CSV": (
        "csv",
        f'"Name","MD5 Hash","SHA1 Hash","Hash Set"\n"a.jpg","{MD5[0]}","{SHA1[0]}","Set"\n',
    ),
}
EXPECTED = {
    "md5sum text mode": [("md5", MD5[0]), ("md5", MD5[1])],
    "md5sum binary mode": [("md5", MD5[0]), ("md5", MD5[1])],
    "sha1sum": [("sha1", SHA1[0]), ("sha1", SHA1[1])],
    "sha256sum": [("sha256", SHA256[0]), ("sha256", SHA256[1])],
    "BSD tags": [("md5", MD5[0]), ("sha256", SHA256[1])],
    "md5deep -z": [("md5", MD5[0]), ("md5", MD5[1])],
    "hashdeep": [("md5", MD5[0]), ("sha256", SHA256[0]), ("md5", MD5[2]), ("sha256", SHA256[2])],
    "EnCase hash set CSV": [("md5", MD5[0]), ("sha1", SHA1[0])],
}


@pytest.mark.parametrize("name", list(FILES))
def test_checksum_files_read_as_lists(tmp_path, name):
    fmt, content = FILES[name]
    path = tmp_path / "list.txt"
    path.write_text(content)
    assert detect_format(path) == fmt
    rows = list(read_list(path, "auto", ReadOptions(category="A")))
    assert all(isinstance(row, NewEntry) for row in rows), rows
    assert [(r.signal, r.value.hex()) for r in rows] == EXPECTED[name]


def test_a_picture_or_binary_given_as_a_list_is_refused_with_what_it_is(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    photo = require_shared("corpus", "coco2017", "val2017", "000000000139.jpg")
    refused = run_cli("lists", "import", str(photo), "--list", "l", "--db", db, check=False)
    assert refused.returncode == 2
    assert "000000000139.jpg is a JPEG image, not a hash list" in refused.stderr
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x01\x02\x00\x00binary")
    refused = run_cli("lists", "import", str(blob), "--list", "l", "--db", db, check=False)
    assert refused.returncode == 2 and "binary file, not a hash list" in refused.stderr


@pytest.mark.slow
def test_skip_bad_with_nothing_good_refuses_and_makes_no_list(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    bad = tmp_path / "bad.txt"
    bad.write_text("not a hash\nneither is this\n")
    done = run_cli("lists", "import", str(bad), "--list", "l", "--category", "A", "--skip-bad",
                   "--db", db, check=False)  # fmt: skip
    assert done.returncode == 1 and "none of the records for 'l' is good" in done.stderr
    assert run_cli("lists", "ls", "--json", "--db", db).stdout == ""
    sums = tmp_path / "sums.md5"
    sums.write_text(f"{MD5[0]}  a.jpg\nnonsense\n")
    done = run_cli("lists", "import", str(sums), "--list", "l", "--category", "A", "--skip-bad",
                   "--db", db)  # fmt: skip
    assert "1 bad records skipped" in done.stdout
    assert jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)[0]["entries"] == {"md5": 1}
