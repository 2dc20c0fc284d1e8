"""Bounded work on hostile input: time and peak memory, each beside a benign peer.

    python bench/hostile.py [--case NAME ...] [--scale 1.0]

Every case runs twice or more, each run in a fresh process that reports its own
peak resident memory, the hostile input beside a benign one of the same size or
count, and prints seconds, peak MiB and the hostile/peer ratios: near 1 means the
hostile input costs what ordinary evidence of its size costs.

* ``fanout``: a zip of zips, 100 members on each of 4 levels (100 M leaves), under
  an exhibit budget of 100,000 members, beside a flat zip of 100,000 members.
* ``sevenz``: a 7z of 60,000 members beside a zip of the same members.
* ``carving``: 16 MiB of ``FF D8 FF 00`` (a false JPEG start every 4 bytes) beside
  16 MiB of random bytes, carved as unallocated space.
* ``vics``: a VICS file nested 40,000 levels deep beside a flat one of the same size.
* ``upload``: a 5 KB lossless WebP of 11,300 x 11,300 posted to the match service
  under the upload pixel cap, beside the same with the cap lifted (what a worker
  paid before) and beside an ordinary 640 x 426 photo.
* ``report``: the HTML report of an exhibit of 1,000,000 items beside one of 100,000:
  memory grows only by the packed arrays the family grouping needs (~300 B a picture).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import CORPUS, peak_kib, write_webp_bomb

HERE = Path(__file__).resolve()


# -- building the inputs (in the parent: its memory is not measured) -----------------


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def build_fanout(root: Path, scale: float) -> dict[str, list]:
    level = b"leaf\n"
    for depth in range(4):
        level = _zip_bytes({f"m{i}" + (".zip" if depth else ".txt"): level for i in range(100)})
    (root / "fanout").mkdir()
    (root / "fanout" / "fan.zip").write_bytes(level)
    members = int(100_000 * scale)
    (root / "flat").mkdir()
    flat = {f"m{i}.txt": b"leaf %d\n" % i for i in range(members)}
    (root / "flat" / "flat.zip").write_bytes(_zip_bytes(flat))
    return {
        "hostile": ["walk", str(root / "fanout"), members],
        "peer": ["walk", str(root / "flat"), members],
    }


def build_sevenz(root: Path, scale: float) -> dict[str, list]:
    import py7zr

    count = int(60_000 * scale)
    members = {f"n/{i}.txt": f"note {i}\n".encode() * 20 for i in range(count)}
    for name in ("sevenz", "zipped"):
        (root / name).mkdir()
    with py7zr.SevenZipFile(root / "sevenz" / "many.7z", "w") as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    (root / "zipped" / "many.zip").write_bytes(_zip_bytes(members))
    limit = count + 10
    return {
        "hostile": ["walk", str(root / "sevenz"), limit],
        "peer": ["walk", str(root / "zipped"), limit],
    }


def build_carving(root: Path, scale: float) -> dict[str, list]:
    size = int((16 << 20) * scale)
    (root / "pattern.bin").write_bytes(b"\xff\xd8\xff\x00" * (size // 4))
    (root / "random.bin").write_bytes(random.Random(7).randbytes(size))
    return {
        "hostile": ["carve", str(root / "pattern.bin")],
        "peer": ["carve", str(root / "random.bin")],
    }


def build_vics(root: Path, scale: float) -> dict[str, list]:
    depth = int(40_000 * scale)
    first = b'{"MediaID":1,"Category":1,"MD5":"' + b"a" * 32 + b'"}'
    deep = b'{"@odata.context":"x#Media","value":[' + first + b',{"x":'
    deep += b'{"a":' * depth + b"1" + b"}" * depth + b"}]}"
    (root / "deep.json").write_bytes(deep)
    records, flat = [], 0
    while flat < len(deep):
        record = json.dumps({"MediaID": len(records) + 1, "Category": 1,
                             "MD5": f"{len(records) + 1:032x}"})  # fmt: skip
        records.append(record)
        flat += len(record) + 1
    (root / "flat.json").write_text(
        '{"@odata.context":"x#Media","value":[' + ",".join(records) + "]}"
    )
    return {"hostile": ["vics", str(root / "deep.json")], "peer": ["vics", str(root / "flat.json")]}


def build_upload(root: Path, _scale: float) -> dict[str, list]:
    bomb = str(write_webp_bomb(root / "bomb.webp"))
    photo = next(CORPUS.glob("coco2017/val2017/*.jpg"))
    return {
        "hostile (capped)": ["upload", bomb, 40_000_000],
        "hostile, cap lifted (before)": ["upload", bomb, 200_000_000],
        "peer (a photo)": ["upload", str(photo), 40_000_000],
    }


def build_report(root: Path, scale: float) -> dict[str, list]:
    small, large = int(100_000 * scale), int(1_000_000 * scale)
    for count in (small, large):
        subprocess.run([sys.executable, str(HERE), "--make-store", str(root / f"{count}.db"),
                        str(count)], check=True)  # fmt: skip
    return {
        f"hostile ({large:,} items)": ["report", str(root / f"{large}.db"), str(root / "l.html")],
        f"peer ({small:,} items)": ["report", str(root / f"{small}.db"), str(root / "s.html")],
    }


BUILDERS = {
    "fanout": build_fanout,
    "sevenz": build_sevenz,
    "carving": build_carving,
    "vics": build_vics,
    "upload": build_upload,
    "report": build_report,
}


# -- the measured work (in a child process each) ---------------------------------------------


def run_walk(folder: str, members: int) -> str:
    from safeguard.sources.archives import ArchiveLimits
    from safeguard.sources.folder import FolderSource
    from safeguard.sources.nested import expand_containers

    limits = ArchiveLimits(max_exhibit_members=int(members))
    count = errors = 0
    for item in expand_containers(FolderSource(Path(folder), "E").items(), limits):
        count += 1
        errors += bool(item.errors)
    return f"{count:,} items, {errors} with an error"


def run_carve(path: str) -> str:
    from safeguard.sources.carving import carve

    data = Path(path).read_bytes()
    found = list(carve(lambda offset, length: data[offset : offset + length], [(0, len(data))]))
    return f"{len(found)} carved"


def run_vics(path: str) -> str:
    from safeguard.formats.lists import ReadOptions, read_list
    from safeguard.store import BadRecord, Scheme

    read = list(read_list(Path(path), "vics", ReadOptions(scheme=Scheme.VICS)))
    bad = [r for r in read if isinstance(r, BadRecord)]
    reason = f" ({bad[0].reason[:60]})" if bad else ""
    return f"{len(read) - len(bad):,} entries, {len(bad)} refused{reason}"


def run_upload(path: str, cap: int) -> str:
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # the test client's, not ours
    from fastapi.testclient import TestClient

    from safeguard.service.app import create_app
    from safeguard.service.settings import ServiceSettings
    from safeguard.store import Store
    from safeguard.store.keys import KeyStore, Scope

    with tempfile.TemporaryDirectory() as scratch:
        os.environ["SAFEGUARD_INDEX_DIR"] = scratch
        db = str(Path(scratch) / "s.db")
        store = Store.open(db)
        _, token = KeyStore(store.engine).create("bench", [Scope.MATCH])
        store.close()
        settings = ServiceSettings(db=db, max_upload_pixels=int(cap), max_body_bytes=64 << 20)
        with TestClient(create_app(settings)) as client:
            answer = client.post("/v1/match", content=Path(path).read_bytes(),
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return f"HTTP {answer.status_code}"


def run_report(db: str, output: str) -> str:
    from typer.testing import CliRunner

    from safeguard.cli import app

    done = CliRunner().invoke(app, ["report", "--case", "C", "--format", "html", "-o", output,
                                    "--db", db])  # fmt: skip
    return f"exit {done.exit_code}, {Path(output).stat().st_size / 1e6:.1f} MB of HTML"


RUNNERS = {"walk": run_walk, "carve": run_carve, "vics": run_vics, "upload": run_upload,
           "report": run_report}  # fmt: skip


def make_store(db: str, count: int) -> None:
    """An exhibit of ``count`` synthetic items: mostly unknown pictures, some errors."""
    from safeguard.store import Store
    from safeguard.store.cases import Cases, list_snapshot
    from safeguard.store.items import ExhibitItems, ItemRecord

    store = Store.open(db)
    cases, items = Cases(store), ExhibitItems(store)
    exhibit = cases.start_exhibit("C", "E", "/evidence", {})
    draw = random.Random(count)
    batch = []
    for seq in range(count):
        name = f"DCIM/{seq // 1000:04d}/IMG_{seq:07d}.jpg"
        record = ItemRecord(seq, f"E / {name}", [{"kind": "file", "name": name}], "allocated",
                            size=draw.randrange(10_000, 5_000_000), type="image/jpeg",
                            md5=draw.randbytes(16), sha1=draw.randbytes(20),
                            sha256=draw.randbytes(32), pdq=draw.randbytes(32), pdq_quality=100,
                            width=640, height=480)  # fmt: skip
        if seq % 100 == 0:
            record.errors = ["cannot decode JPEG: broken data stream"]
        batch.append(record)
        if len(batch) == 10_000:
            items.save_items(exhibit.id, batch)
            batch = []
    items.save_items(exhibit.id, batch)
    cases.record_matching(exhibit.id, list_snapshot(store))
    cases.finish_exhibit(exhibit.id, None, [])
    store.close()


# -- measuring -------------------------------------------------------------------------------


def measure(spec: list) -> tuple[float, float, str]:
    """(seconds, peak MiB, outcome) of one run in a fresh process."""
    command = [sys.executable, str(HERE), "--run", json.dumps(spec)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{spec} failed:\n{done.stderr}")
    outcome, peak_kib = done.stdout.strip().rsplit("\n", 1)
    return seconds, int(peak_kib) / 1024, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(BUILDERS))
    parser.add_argument("--scale", type=float, default=1.0, help="shrink or grow every input")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--make-store", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        kind, *arguments = json.loads(args.run)
        print(RUNNERS[kind](*arguments))
        print(peak_kib())
        return
    if args.make_store:
        make_store(args.make_store[0], int(args.make_store[1]))
        return
    print(f"{'case':9} {'variant':34} {'seconds':>8} {'peak MiB':>9}  outcome")
    for case in args.case or BUILDERS:
        with tempfile.TemporaryDirectory() as scratch:
            variants = BUILDERS[case](Path(scratch), args.scale)
            results = {name: measure(spec) for name, spec in variants.items()}
        for name, (seconds, peak, outcome) in results.items():
            print(f"{case:9} {name:34} {seconds:8.2f} {peak:9.0f}  {outcome}")
        (first_s, first_mb, _), *_, (peer_s, peer_mb, _) = results.values()
        print(f"{case:9} {'ratio hostile / peer':34} {first_s / peer_s:8.2f} "
              f"{first_mb / peer_mb:9.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
