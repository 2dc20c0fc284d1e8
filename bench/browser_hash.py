"""How long the self-report page takes to hash a 12 MP photo in headless Chromium, and
how heavy the page is.

The page's own modules hash the photo (MD5, SHA-256 and PDQ, decode included) five
times in one page; the peer is the server hashing the same file the same way
(``safeguard hash --pdq-mode exact``, MD5/SHA-1/SHA-256 and PDQ) in this process, in
the same run. Targets (issue 13): under 1 s in the browser; the page under 150 kB
uncompressed with no request leaving its host.

    python bench/browser_hash.py [--photo PATH] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from safeguard.media.images import PdqMode
from safeguard.service.self_reports import PAGE_FILES, page_file
from safeguard.signals.extract import HashOptions, hash_file

from _common import CORPUS, REPO

sys.path.insert(0, str(REPO / "tests"))
from browser_harness import Harness
from test_self_report_page import chromium, network_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, default=CORPUS / "highres" / "012mp-bus.jpg")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pictures = {f"photo-{n}.jpg": args.photo for n in range(args.rounds)}
    with Harness(pictures) as harness, chromium() as browser:
        browser.get(f"{harness.base}/harness.html")
        results = harness.results.get(timeout=600)
        # From Chromium's own network log: anything not to the harness or a local blob.
        outside = [
            r["url"] for r in network_log(browser)
            if not r["url"].startswith((harness.base, "blob:", "data:"))
        ]  # fmt: skip
    if "error" in results:
        raise SystemExit(results["error"])
    browser_ms = statistics.median(r["ms"] for r in results["results"])
    options = HashOptions(pdq_mode=PdqMode.EXACT)
    server = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        hash_file(str(args.photo), options)
        server.append((time.perf_counter() - started) * 1000)
    server_ms = statistics.median(server)
    weight = sum(len(page_file(name)) for name in PAGE_FILES)
    print(f"photo: {args.photo.name} ({args.photo.stat().st_size / 1e6:.1f} MB)")
    print(f"browser (headless Chromium, the page's modules): {browser_ms:.0f} ms median "
          f"of {args.rounds}; {browser_ms / 1000:.2f} of the 1 s target")  # fmt: skip
    print(f"server (safeguard hash --pdq-mode exact, this process): {server_ms:.0f} ms median")
    print(f"ratio browser / server: {browser_ms / server_ms:.2f}")
    print(f"page weight: {weight / 1000:.1f} kB uncompressed over {len(PAGE_FILES)} files "
          f"({weight / 150_000:.2f} of the 150 kB target); requests leaving the host: "
          f"{len(outside)}")  # fmt: skip


if __name__ == "__main__":
    main()
