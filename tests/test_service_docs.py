"""The API's documentation pages work with no way out to the internet: Swagger UI and
ReDoc load their assets from the service itself (Chromium with every name but the
service's unresolvable, and its own network log as the witness)."""

from __future__ import annotations

import pytest
from test_self_report_page import chromium, network_log

from conftest import init_store, wait_for
from serving import serving

NO_WAY_OUT = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.mark.slow
def test_swagger_ui_and_redoc_render_offline(tmp_path):
    from selenium.webdriver.common.by import By

    db = init_store(str(tmp_path / "store.db"))
    with serving(db) as base, chromium(1280, 900, NO_WAY_OUT) as browser:
        browser.get(f"{base}/docs")
        wait_for(lambda: "/v1/match/hashes" in browser.find_element(By.TAG_NAME, "body").text)
        assert "Safeguard match service" in browser.title
        browser.get(f"{base}/redoc")
        wait_for(lambda: "Match hashes computed by the client"
                 in browser.find_element(By.TAG_NAME, "body").text)  # fmt: skip
        fetched = [r["url"] for r in network_log(browser)]
        assert fetched and all(url.startswith((base, "blob:", "data:")) for url in fetched), [
            url for url in fetched if not url.startswith(base)
        ]
