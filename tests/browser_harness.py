"""A loopback web server for browser tests that cannot be driven: it serves the real
self-report modules, a harness page and fixture pictures, takes the page's results by
POST, and logs every request it gets (what a driverless browser sent, bodies included).
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from safeguard.service.self_reports import PAGE_FILES, page_file

# Hashes every listed picture with the page's own modules, then reports back.
HARNESS_PAGE = b"""<!doctype html><meta charset="utf-8"><title>harness</title>
<script type="module">
import { fileDigests } from "/report/digests.js";
import { pictureHash, selfTest } from "/report/imagehash.js";
const out = { results: [] };
try {
  out.calibration = await selfTest();
  for (const name of await (await fetch("/images/list.json")).json()) {
    const blob = await (await fetch(`/images/${name}`)).blob();
    const started = performance.now();
    const digests = await fileDigests(blob);
    const picture = await pictureHash(blob);
    out.results.push({ name, ...digests, pdq: picture && picture.hex,
      quality: picture && picture.quality, path: picture && picture.path,
      why: picture && picture.why, ms: performance.now() - started });
  }
} catch (error) {
  out.error = `${error}\n${error && error.stack}`;
}
await fetch("/results", { method: "POST", body: JSON.stringify(out) });
document.title = "done";
</script>"""


class Harness:
    def __init__(self, pictures: dict[str, Path]) -> None:
        self.pictures = pictures
        self.results: queue.Queue[dict] = queue.Queue()
        self.requests: list[tuple[str, str, bytes]] = []  # method, path, body
        harness = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, body: bytes, kind: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                harness.requests.append(("GET", self.path, b""))
                name = self.path.rsplit("/", 1)[-1]
                if self.path == "/harness.html":
                    self._send(HARNESS_PAGE, "text/html")
                elif self.path.startswith("/report/") and name in PAGE_FILES:
                    kind = "text/javascript" if name.endswith(".js") else "text/plain"
                    self._send(page_file(name), kind)
                elif self.path == "/images/list.json":
                    self._send(json.dumps(sorted(harness.pictures)).encode(), "application/json")
                elif self.path.startswith("/images/") and name in harness.pictures:
                    self._send(harness.pictures[name].read_bytes(), "application/octet-stream")
                else:
                    self._send(b"not here", "text/plain", 404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                harness.requests.append(("POST", self.path, body))
                if self.path == "/results":
                    harness.results.put(json.loads(body))
                self._send(b"{}", "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Harness:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_firefox(url: str, profile: Path, **settings: bool) -> subprocess.Popen:
    """Firefox ESR, headless, on a fresh profile with its background traffic off, and any
    other ``settings`` (preference names with "." written "__")."""
    profile.mkdir(parents=True, exist_ok=True)
    prefs = {
        "app.update.enabled": False,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "network.captive-portal-service.enabled": False,
        "browser.aboutwelcome.enabled": False,
    }
    prefs.update({name.replace("__", "."): value for name, value in settings.items()})
    (profile / "user.js").write_text(
        "".join(f'user_pref("{k}", {json.dumps(v)});\n' for k, v in prefs.items())
    )
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    assert binary is not None
    return subprocess.Popen(
        [binary, "--headless", "--no-remote", "--profile", str(profile), url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
