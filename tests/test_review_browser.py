"""The review grid in a real Chromium: keyboard grading, a family in one key, undo, the
blur, a list-graded picture never fetched (from the browser's own network log), a
reveal that blurs again by itself and when focus moves, and the exposure dashboard."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest
import uvicorn

from safeguard.review.app import create_review_app
from safeguard.review.desk import ReviewSettings
from safeguard.store import Store
from safeguard.store.audit import AuditLog
from safeguard.store.cases import Cases
from safeguard.store.grades import Grades

from conftest import IN_CI, free_port, wait_for
from review_case import PASSWORD, build_review_case


def _browser():
    missing = [tool for tool in ("chromium", "chromedriver") if shutil.which(tool) is None]
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("selenium (the [test] extra)")
    if missing:
        reason = f"needs {', '.join(missing)}"
        if IN_CI:
            pytest.fail(reason + " (CI=true: missing tools fail instead of skipping)")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="module")
def served(tmp_path_factory, corpus):
    db, matched = build_review_case(tmp_path_factory.mktemp("browser"), corpus)
    store = Store.open(db)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_review_app(store, ReviewSettings(reveal_seconds=3)),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", matched, store
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.mark.slow
def test_grading_by_keyboard_in_chromium(served, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    base, matched, store = served
    browser = _browser()
    try:
        browser.get(f"{base}/login")
        browser.find_element(By.NAME, "name").send_keys("reviewer")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
        wait_for(lambda: "Cases" in browser.title)
        browser.get(f"{base}/case/OP-1/E1")
        status = browser.find_element(By.ID, "status")
        cards = browser.find_elements(By.CSS_SELECTOR, ".card")
        assert len(cards) == 3  # four unknown pictures, two of them one family
        picture = cards[0].find_element(By.TAG_NAME, "img")
        shown = picture.value_of_css_property("filter")
        assert "blur(6px)" in shown and "grayscale(1)" in shown
        browser.save_screenshot(str(tmp_path / "grid.png"))

        ActionChains(browser).send_keys("b").perform()
        wait_for(lambda: status.text.startswith("Saved: 1 picture(s) graded B"))
        assert cards[0].find_element(By.CLASS_NAME, "grade").text == "graded B"
        ActionChains(browser).send_keys("u").perform()
        wait_for(lambda: status.text == "Undone")
        assert cards[0].find_element(By.CLASS_NAME, "grade").text == ""

        cards[0].click()  # the same with the mouse: a grade button, then Undo
        browser.find_element(By.CSS_SELECTOR, "#toolbar [data-grade='A']").click()
        wait_for(lambda: status.text.startswith("Saved: 1 picture(s) graded A"))
        browser.find_element(By.ID, "undo-button").click()
        wait_for(lambda: status.text == "Undone")

        browser.find_element(By.CSS_SELECTOR, "#flags summary").click()
        browser.find_element(By.ID, "series").send_keys("harbour")
        Select(browser.find_element(By.ID, "victim")).select_by_value("no")
        family = next(i for i, card in enumerate(cards) if "2 file(s)" in card.text)
        cards[family].click()
        ActionChains(browser).key_down(Keys.SHIFT).send_keys("c").key_up(Keys.SHIFT).perform()
        wait_for(lambda: status.text.startswith("Saved: 2 picture(s) graded C"))
        exhibit = Cases(store).exhibit("OP-1", "E1")
        flagged = [g.flags for g in Grades(store.engine).of_exhibit(exhibit.id).values()]
        assert [(f.series, f.victim_identified) for f in flagged] == [("harbour", False)] * 2
        browser.refresh()
        after = [card.text for card in browser.find_elements(By.CSS_SELECTOR, ".card")]
        assert "graded C by reviewer" in after[-1]  # graded families go after those still to do

        fetched = [
            json.loads(entry["message"])["message"]["params"]["request"]["url"]
            for entry in browser.get_log("performance")
            if '"Network.requestWillBeSent"' in entry["message"]
        ]
        thumbnails = [url for url in fetched if "/thumb/" in url]
        assert thumbnails and not any(url.endswith(f"/{matched}") for url in thumbnails)
        assert all(url.startswith(base) for url in fetched)  # nothing from anywhere else

        browser.find_element(By.CSS_SELECTOR, "header button").click()  # log out
        wait_for(lambda: "Log in" in browser.title)
        browser.find_element(By.NAME, "name").send_keys("supervisor")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
        wait_for(lambda: "Cases" in browser.title)
        browser.get(f"{base}/case/OP-1/E1/confirm")
        status = browser.find_element(By.ID, "status")
        ActionChains(browser).send_keys("y").perform()
        wait_for(lambda: status.text == "Confirmed")
        ActionChains(browser).send_keys("a").perform()  # then changed: C stays as a disagreement
        wait_for(lambda: status.text == "Changed to A")
        browser.refresh()
        assert "changed to A by supervisor" in browser.find_element(By.ID, "disagreements").text
    finally:
        browser.quit()


def _log_in(browser, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{base}/login")
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(lambda: "Cases" in browser.title)


@pytest.mark.slow
def test_a_reveal_blurs_again_by_itself_and_when_focus_moves(served, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    base, _, store = served
    browser = _browser()
    try:
        _log_in(browser, base, "reviewer")
        browser.get(f"{base}/case/OP-1/E1")
        overlay = browser.find_element(By.ID, "reveal")
        revealed = browser.find_element(By.ID, "reveal-img")
        assert not overlay.is_displayed()

        def shown() -> bool:
            return (
                overlay.is_displayed()
                and browser.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth", revealed
                )
                > 96
            )

        ActionChains(browser).send_keys("v").perform()
        wait_for(shown)
        assert revealed.value_of_css_property("filter") == "none"  # unblurred, in colour
        browser.save_screenshot(str(tmp_path / "revealed.png"))
        wait_for(lambda: not overlay.is_displayed(), timeout=8)  # the 3 s timer
        assert revealed.get_attribute("src") is None

        ActionChains(browser).send_keys("v").perform()
        wait_for(shown)
        grid = browser.current_window_handle
        browser.switch_to.new_window("tab")  # focus moves elsewhere
        browser.switch_to.window(grid)
        wait_for(lambda: not overlay.is_displayed(), timeout=2)

        def ends() -> list[dict]:
            records = [r.to_json() for r in AuditLog(store.engine).records()]
            return [r["detail"] for r in records if r["event"] == "picture.reveal.end"]

        ended = wait_for(lambda: len(ends()) >= 2 and ends())
        assert [end["why"] for end in ended[-2:]] == ["timer", "focus"]
        assert 2 <= ended[-2]["seconds"] <= 5 and ended[-1]["seconds"] < 3

        browser.get(f"{base}/case/OP-1/E1/exposure")
        rows = browser.find_element(By.ID, "exposure").text
        assert "Pictures revealed unblurred 1" in rows  # the same picture twice
        assert "within the goal" in browser.find_element(By.ID, "goal").text
        browser.save_screenshot(str(tmp_path / "dashboard.png"))
    finally:
        browser.quit()
