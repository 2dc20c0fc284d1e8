"""The self-report page end to end in Chromium, against a real ``safeguard serve``:
pictures chosen on the page are hashed there and only their hashes are sent (the
browser's own network log says so), the hashes land in the self-reported list, a
platform's upload of a re-encoded copy gets ``review`` and fires its webhook, and
withdrawing the receipt removes the entry. Also: a phone-sized screen, and axe-core's
accessibility check."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from test_webhooks import Receiver

from conftest import IN_CI, init_store, require_shared, run_cli, wait_for
from serving import serving

AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"


@contextmanager
def chromium(width: int = 1280, height: int = 900, *extra: str):
    """Debian's Chromium, headless, through chromedriver; ``extra``: more switches."""
    missing = [tool for tool in ("chromium", "chromedriver") if shutil.which(tool) is None]
    if missing:
        if IN_CI:
            pytest.fail(f"needs {', '.join(missing)} (CI=true: missing tools fail)")
        pytest.skip(f"needs {', '.join(missing)}")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--disable-background-networking",
        "--disable-component-update",
        *extra,
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    browser = webdriver.Chrome(
        options=options,
        service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")),
    )
    try:
        yield browser
    finally:
        browser.quit()


def _axe() -> str:
    """axe-core, installed from the npm registry (pinned in tests/browser) on first use."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "ci", "--prefix", str(AXE.parents[2]), "--no-audit", "--no-fund"],
            capture_output=True, timeout=300,
        )  # fmt: skip
    if not AXE.exists():
        message = f"needs axe-core: npm ci --prefix {AXE.parents[2]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def network_log(browser) -> list[dict]:
    """Every request the page sent, with its body, from Chromium's DevTools log; a request
    the browser blocked before sending it (by the page's content security policy) is not
    one that left."""
    sent, blocked = {}, set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            request = params["request"]
            sent[params["requestId"]] = {"url": request["url"], "method": request["method"],
                                         "body": request.get("postData", "")}  # fmt: skip
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return [request for key, request in sent.items() if key not in blocked]


@pytest.mark.slow
def test_a_picture_reported_from_the_page_is_reviewed_on_upload_then_withdrawn(tmp_path):
    photo = require_shared("corpus", "coco2017", "val2017", "000000000139.jpg")
    picked = tmp_path / "me.jpg"
    picked.write_bytes(photo.read_bytes())
    db = init_store(str(tmp_path / "store.db"))
    token = run_cli("keys", "create", "--name", "platform", "--scope", "match", "--db", db).stdout
    receiver = Receiver()
    run_cli(
        "webhooks", "add", f"http://127.0.0.1:{receiver.port}/hook", "--allow-private", "--db", db
    )
    env = {"SAFEGUARD_WEBHOOK_ALLOW_PRIVATE": "1"}
    try:
        with serving(db, env=env) as base, chromium() as browser:
            browser.get(f"{base}/report/")
            from selenium.webdriver.common.by import By

            wait_for(
                lambda: "can make fingerprints" in browser.find_element(By.ID, "selftest").text
            )
            browser.find_element(By.ID, "files").send_keys(str(picked))
            send = browser.find_element(By.ID, "send")
            wait_for(lambda: send.is_enabled())
            send.click()
            receipt = wait_for(lambda: browser.find_element(By.ID, "receipt").text)
            sent = network_log(browser)

            # Only the page's own files, one challenge and one report went out, and no
            # request carried the picture's bytes.
            local = [r for r in sent if r["url"].startswith("blob:")]  # the previews, in memory
            assert local and all(r["url"].startswith(base) for r in sent if r not in local)
            posts = [r for r in sent if r["method"] == "POST"]
            assert [r["url"] for r in posts] == [f"{base}/v1/self-reports"]
            body = json.loads(posts[0]["body"])
            assert set(body["files"][0]) == {"md5", "sha256", "pdq", "pdq_quality", "path"}
            assert body["files"][0]["path"] == "exact"
            raw = picked.read_bytes()
            for request in sent:
                assert raw[1000:1400].hex() not in request["body"]
                assert base64.b64encode(raw[:3000])[:400].decode() not in request["body"]

            listed = json.loads(run_cli("lists", "ls", "--json", "--db", db).stdout.splitlines()[0])
            assert listed["name"] == "self-reported" and listed["kind"] == "self-reported"
            assert listed["action"] == "review" and listed["entries"] == {
                "md5": 1,
                "pdq": 1,
                "sha256": 1,
            }

            copy = tmp_path / "copy.jpg"
            with Image.open(photo) as image:
                image.resize((image.width // 2, image.height // 2)).save(copy, quality=60)
            headers = {"Authorization": f"Bearer {token.strip()}"}

            def upload() -> dict:
                with copy.open("rb") as handle:
                    answer = httpx.post(
                        f"{base}/v1/match", headers=headers, files={"file": handle}, timeout=60
                    )
                return answer.json()

            assert upload()["action"] == "review"

            def events(kind: str) -> list[dict]:
                found = [json.loads(body) for _, body in receiver.received]
                return [event for event in found if event["event"] == kind]

            (hit,) = wait_for(lambda: events("match"))
            assert hit["action"] == "review" and hit["matches"][0]["list"] == "self-reported"
            (added,) = events("self-report")  # platforms keeping their own copy hear of it
            assert {h["signal"] for h in added["hashes"]} == {"md5", "sha256", "pdq"}

            browser.find_element(By.ID, "withdraw").click()
            wait_for(lambda: "taken back" in browser.find_element(By.ID, "status").text)
            assert httpx.get(f"{base}/v1/self-reports/{receipt}").json()["state"] == "withdrawn"
            assert upload()["action"] == "none"
            (removed,) = wait_for(lambda: events("self-report.withdrawn"))
            assert removed["report"] == added["report"]
            assert sorted(map(str, removed["hashes"])) == sorted(map(str, added["hashes"]))
    finally:
        receiver.close()


@pytest.mark.slow
def test_the_page_fits_a_phone_and_passes_an_accessibility_check(tmp_path):
    axe = _axe()
    db = init_store(str(tmp_path / "store.db"))
    with serving(db) as base, chromium(390, 844) as browser:
        browser.get(f"{base}/report/")
        from selenium.webdriver.common.by import By

        wait_for(lambda: "can make fingerprints" in browser.find_element(By.ID, "selftest").text)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= browser.execute_script("return window.innerWidth")  # no sideways scroll
        for control in ("files", "age", "country", "code"):
            label = browser.find_element(By.CSS_SELECTOR, f"label[for={control}]")
            assert label.text  # every control has a visible label
        browser.execute_script(axe)
        result = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then((r) => done(r.violations)).catch((e) => done(String(e)));"
        )
        serious = [v["id"] for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], result
        assert "Childline" in browser.find_element(By.ID, "help").text
        # The keyboard reaches every control in reading order (the send button waits for a
        # picture, so it is not yet among them).
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        order = []
        for _ in range(7):
            ActionChains(browser).send_keys(Keys.TAB).perform()
            order.append(browser.execute_script(
                "const e = document.activeElement; return e.id || e.className;"))  # fmt: skip
        assert order[:7] == ["skip", "files", "age", "country", "code", "check", "withdraw"]
