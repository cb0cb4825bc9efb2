"""The review desk in a real browser: headless Debian Chromium driven by Selenium.

Open the desk, edit a line, press Render, wait, then check the table and the reloaded player.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[2] / "samples" / "review-desk.png"


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/ensure-system.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_edit_a_line_render_and_see_it_in_the_table_and_the_player(localized, browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    from localize.review.server import create_app

    new_text = "Mr. Gu, I think you have the wrong person."
    with live_server(create_app(localized)) as url:
        browser.get(url + "/")
        WebDriverWait(browser, 30).until(ready.presence_of_element_located((By.CSS_SELECTOR, "#reports a")))
        row = browser.find_element(By.CSS_SELECTOR, "tr[data-report='ep01.en-US']")
        assert [td.text for td in row.find_elements(By.TAG_NAME, "td")][1:3] == ["en-US", "4"]
        row.find_element(By.TAG_NAME, "a").click()
        WebDriverWait(browser, 30).until(ready.presence_of_element_located((By.CSS_SELECTOR, "tr[data-id='1'] textarea")))
        player = browser.find_element(By.ID, "player")
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 1)
        old_src = player.get_attribute("src")
        old_duration = browser.execute_script("return arguments[0].duration", player)

        box = browser.find_element(By.CSS_SELECTOR, "tr[data-id='1'] textarea")
        box.send_keys(Keys.CONTROL, "a")  # select and overwrite: clear() would save an empty line first
        box.send_keys(new_text)
        box.send_keys(Keys.TAB)  # the change event saves the edit
        WebDriverWait(browser, 30).until(
            lambda d: "is-stale" in d.find_element(By.CSS_SELECTOR, "tr[data-id='1']").get_attribute("class"))
        assert "stale: text" in browser.find_element(By.CSS_SELECTOR, "tr[data-id='1']").text
        if not SCREENSHOT.exists():  # the committed picture of the desk, with a stale line showing
            browser.save_screenshot(str(tmp_path / "desk.png"))
            shutil.copy(tmp_path / "desk.png", SCREENSHOT)

        browser.find_element(By.ID, "render").click()
        WebDriverWait(browser, 900, poll_frequency=1).until(
            lambda d: d.find_element(By.ID, "status").text.startswith(("done", "render failed")))
        status = browser.find_element(By.ID, "status").text
        assert status.startswith("done: 1 line(s) re-voiced"), status

        row = browser.find_element(By.CSS_SELECTOR, "tr[data-id='1']")
        assert row.find_element(By.TAG_NAME, "textarea").get_attribute("value") == new_text
        assert "is-stale" not in row.get_attribute("class")
        player = browser.find_element(By.ID, "player")
        assert player.get_attribute("src") != old_src  # the new file, not the cached old one
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 1)
        duration = browser.execute_script("return arguments[0].duration", player)
        assert abs(duration - old_duration) < 0.5
        assert browser.execute_script("return arguments[0].error", player) is None
