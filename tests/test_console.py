"""The operator console: only an admin key opens it; its session cookie is HttpOnly and
SameSite=Strict; changes need the session's form token and this origin; keys are shown
once and revoked; a revoked key's session ends; and in real Chromium, an operator logs in,
reads the lists, finds an entry, tests a match and checks the audit chain."""

from __future__ import annotations

import hashlib
import re

import pytest
from test_self_report_page import chromium, network_log

from safeguard.store import ListSpec, NewEntry, Store
from safeguard.store.keys import KeyStore, Scope

from conftest import init_store, require_shared, run_cli, wait_for
from serving import serving


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_only_an_admin_key_opens_the_console_and_changes_need_its_token(service):
    client = service.client
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    refused = client.post("/console/login", data={"key": service.tokens["reader"]})
    assert refused.status_code == 401 and "not a live admin key" in refused.text
    opened = client.post("/console/login", data={"key": service.tokens["admin"]},
                         follow_redirects=False)  # fmt: skip
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/console")
    assert (
        page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    )
    keys = client.get("/console/keys")
    token = _csrf(keys.text)
    assert client.post("/console/keys", data={"name": "x", "scope": "match"}).status_code == 403
    foreign = client.post("/console/keys", data={"name": "x", "scope": "match", "csrf": token},
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    made = client.post("/console/keys", data={"name": "platform-b", "scope": "match",
                                              "csrf": token})  # fmt: skip
    shown = re.search(r'<code id="token">([^<]+)</code>', made.text).group(1)
    assert shown.startswith("sgk_") and shown not in client.get("/console/keys").text
    key_id = shown.split("_")[1]
    client.post("/console/keys/revoke", data={"key_id": key_id, "csrf": token})
    assert f"{key_id}" in client.get("/console/keys").text
    revoked = [k for k in KeyStore(_engine(service)).all() if k.key_id == key_id]
    assert revoked[0].revoked_at is not None
    # Revoking the admin key that opened the session ends the session.
    admin_id = service.tokens["admin"].split("_")[1]
    KeyStore(_engine(service)).revoke(admin_id)
    assert client.get("/console", follow_redirects=False).status_code == 303


def _engine(service):
    return Store.open(service.store_url).engine


@pytest.mark.slow
def test_an_operator_uses_the_console_in_chromium(tmp_path):
    from selenium.webdriver.common.by import By

    photo = require_shared("corpus", "coco2017", "val2017", "000000000139.jpg")
    db = init_store(str(tmp_path / "store.db"))
    store = Store.open(db)
    md5 = hashlib.md5(photo.read_bytes()).digest()
    store.import_entries("national", [NewEntry("md5", md5, "A", record=1)], spec=ListSpec())
    _, admin = KeyStore(store.engine).create("ops", [Scope.ADMIN])
    store.close()
    with serving(db) as base, chromium() as browser:
        browser.get(f"{base}/console")
        browser.find_element(By.ID, "key").send_keys(admin)
        browser.find_element(By.TAG_NAME, "form").submit()
        wait_for(lambda: "Lists" in browser.title)
        assert "national" in browser.find_element(By.TAG_NAME, "table").text
        browser.get(f"{base}/console/lists/national?hash={md5.hex()}")
        assert md5.hex() in browser.find_element(By.TAG_NAME, "table").text
        browser.get(f"{base}/console/match")
        browser.find_element(By.ID, "file").send_keys(str(photo))
        browser.find_element(By.CSS_SELECTOR, "form[action='/console/match']").submit()
        decided = wait_for(lambda: [e.text for e in browser.find_elements(By.ID, "decision")])
        assert decided == ["block"], browser.find_element(By.TAG_NAME, "main").text
        browser.get(f"{base}/console/decisions")
        assert "match.decision" in browser.find_element(By.TAG_NAME, "table").text
        browser.get(f"{base}/console/audit")
        assert browser.find_element(By.ID, "chain").text.startswith("Chain intact")
        assert all(r["url"].startswith(base) for r in network_log(browser))
    assert "console.login" in run_cli("audit", "ls", "--db", db).stdout
