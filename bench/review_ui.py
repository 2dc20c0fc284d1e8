"""The review workspace under a large case: grid render, thumbnails, grading, memory.

    python bench/review_ui.py [--families 10000]

Builds an exhibit of ``--families`` unknown pictures (synthetic items, each its own
family, each with a real blurred review thumbnail), serves it with ``safeguard
review`` in its own process on loopback, logs in as a reviewer and measures, over
HTTP as the browser would ask:

* the grid page (100 thumbnails), first render after start (the exhibit's families
  worked out) and then as a reviewer moves on (median of 20);
* the 100 thumbnails of a page;
* a grading action (``POST /api/grade``, median and 95th percentile of 200), a
  family of 2 graded in one action, and an undo;
* the server's resident memory, and its peak.

Targets (this 2-core machine): grid < 300 ms, grading < 50 ms; printed as ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from PIL import Image, ImageFilter

from _common import peak_kib

TARGET_GRID_MS, TARGET_GRADE_MS = 300, 50
PASSWORD = "correct horse battery"


def build_case(db: str, families: int) -> None:
    from safeguard.store import Store
    from safeguard.store.cases import Cases, list_snapshot
    from safeguard.store.items import ExhibitItems, ItemRecord
    from safeguard.store.reviewers import Reviewers, Role

    store = Store.open(db)
    cases = Cases(store)
    exhibit = cases.start_exhibit("BENCH", "E1", "/evidence", {})
    draw = random.Random(families)
    thumbnail = io.BytesIO()
    picture = Image.effect_noise((96, 72), 60).filter(ImageFilter.GaussianBlur(3))
    picture.save(thumbnail, "JPEG", quality=70)
    records = []
    for seq in range(families):
        name = f"DCIM/{seq // 500:03d}/IMG_{seq:06d}.jpg"
        records.append(
            ItemRecord(
                seq,
                f"E1 / {name}",
                [{"kind": "file", "name": name}],
                "allocated",
                size=draw.randrange(50_000, 3_000_000),
                type="image/jpeg",
                md5=draw.randbytes(16),
                sha1=draw.randbytes(20),
                sha256=draw.randbytes(32),
                pdq=draw.randbytes(32),
                pdq_quality=100,
                width=640,
                height=480,
                thumbnail=thumbnail.getvalue(),
            )
        )
    # A near-duplicate of the first picture, so one family has two members.
    twin = bytearray(records[0].pdq)
    twin[0] ^= 0b111
    records.append(
        ItemRecord(families, "E1 / DCIM/twin.jpg", [{"kind": "file", "name": "DCIM/twin.jpg"}],
                   "allocated", size=1000, type="image/jpeg", md5=draw.randbytes(16),
                   sha1=draw.randbytes(20), sha256=draw.randbytes(32), pdq=bytes(twin),
                   pdq_quality=100, width=640, height=480, thumbnail=thumbnail.getvalue())
    )  # fmt: skip
    ExhibitItems(store).save_items(exhibit.id, records)
    cases.record_matching(exhibit.id, list_snapshot(store))
    cases.finish_exhibit(exhibit.id, None, [])
    Reviewers(store.engine).create("bench", Role.REVIEWER, PASSWORD)
    store.close()


def milliseconds(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="safeguard-review-bench-"))
    db = str(work / "case.db")
    subprocess.run([sys.executable, "-m", "safeguard", "init", "--db", db], check=True,
                   capture_output=True)  # fmt: skip
    build_case(db, args.families)
    server = subprocess.Popen(
        [sys.executable, "-m", "safeguard", "review", "--port", str(args.port), "--db", db],
        env={**os.environ, "SAFEGUARD_INDEX_DIR": str(work / "index")},
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                try:
                    client.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            idle_mb = psutil.Process(server.pid).memory_info().rss / 2**20
            client.post("/login", data={"name": "bench", "password": PASSWORD})
            grid = "/case/BENCH/E1"
            first_ms = milliseconds(lambda: client.get(grid).raise_for_status())
            html = client.get(grid).text
            warm_ms = statistics.median(milliseconds(lambda: client.get(grid)) for _ in range(20))
            csrf = re.search(r"data-csrf='([^']+)'", html).group(1)
            shown = [int(seq) for seq in re.findall(r"/thumb/BENCH/E1/(\d+)", html)]
            thumbs_ms = milliseconds(
                lambda: [client.get(f"/thumb/BENCH/E1/{seq}").raise_for_status() for seq in shown]
            )
            headers = {"X-CSRF-Token": csrf}
            timings = []
            for seq in range(1, 201):
                body = {"case": "BENCH", "exhibit": "E1", "seq": seq, "scheme": "uk",
                        "category": "C", "seen_version": 0}  # fmt: skip
                timings.append(milliseconds(
                    lambda body=body: client.post("/api/grade", json=body,
                                                  headers=headers).raise_for_status()
                ))  # fmt: skip
            family = {"case": "BENCH", "exhibit": "E1", "seq": 0, "scheme": "uk",
                      "category": "B", "seen_version": 0, "family": True}  # fmt: skip
            answer = {}

            def grade_family() -> None:
                answer.update(client.post("/api/grade", json=family, headers=headers).json())

            family_ms = milliseconds(grade_family)
            undo_ms = milliseconds(
                lambda: client.post("/api/undo", json={"action_id": answer["action_id"]},
                                    headers=headers).raise_for_status()
            )  # fmt: skip
            busy_mb = psutil.Process(server.pid).memory_info().rss / 2**20
            peak_mb = peak_kib(server.pid) / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
    grade_p50 = statistics.median(timings)
    grade_p95 = statistics.quantiles(timings, n=20)[-1]
    print(f"case: {args.families:,} unknown families (one of 2 pictures), {len(shown)} on a page")
    print(f"grid page, first after start (families worked out): {first_ms:8.1f} ms")
    print(f"grid page, warm (median of 20):                    {warm_ms:8.1f} ms   "
          f"ratio to the {TARGET_GRID_MS} ms target {warm_ms / TARGET_GRID_MS:.2f}")  # fmt: skip
    print(f"the page's {len(shown)} thumbnails, one after another:    {thumbs_ms:8.1f} ms")
    print(f"grading action: median {grade_p50:.1f} ms, 95th percentile {grade_p95:.1f} ms   "
          f"ratio to the target {grade_p50 / TARGET_GRADE_MS:.2f}")  # fmt: skip
    print(f"family of {len(answer.get('changed', []))} in one action: {family_ms:.1f} ms; "
          f"undo: {undo_ms:.1f} ms")  # fmt: skip
    print(
        f"server memory: {idle_mb:.0f} MB at start, {busy_mb:.0f} MB after, peak {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
