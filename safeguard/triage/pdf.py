"""The report as a PDF: the HTML report printed to A4 by headless Chromium.

Chromium renders the print stylesheet as a browser would print it (page size,
running header with case and exhibit, page numbers). It reads one local file,
with networking and every background service off: nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from safeguard.errors import UsageError

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium() -> str:
    """The browser to print with: ``$SAFEGUARD_CHROMIUM``, or the first one on the PATH."""
    chosen = os.environ.get("SAFEGUARD_CHROMIUM")
    found = chosen or next((b for b in map(shutil.which, _BROWSERS) if b), None)
    if not found:
        raise UsageError(
            "a PDF report is printed by Chromium, which is not installed "
            "(Debian: apt-get install chromium; or set $SAFEGUARD_CHROMIUM)"
        )
    return found


def write_pdf(html: str, output: Path) -> None:
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="safeguard-pdf-") as scratch:
        page = Path(scratch) / "report.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(scratch) / "report.pdf"
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",  # a local file we wrote ourselves; often run as root in labs
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-pdf-header-footer",  # the report's own running header and page numbers
                f"--user-data-dir={Path(scratch) / 'profile'}",
                f"--print-to-pdf={printed}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not printed.is_file():
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"Chromium could not print the report: {reason}")
        shutil.copyfile(printed, output)
