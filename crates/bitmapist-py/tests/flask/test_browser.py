"""The dashboard under Flask in a real browser: headless Chromium over WebDriver
(selenium with Debian's ``chromium`` and ``chromium-driver``; ``BITMAPIST_CHROMIUM`` and
``BITMAPIST_CHROMEDRIVER`` override the paths). A missing browser fails the test with the
install hint, never skips it.

The page is loaded through the Flask blueprint: its script and stylesheet must come
through the blueprint too (the script marks ``<html class="js">``, the stylesheet colours
the header), nothing may break the Content-Security-Policy, the overview lists what the
JSON API lists, and the cohort heatmap shows the API's numbers.
"""

from __future__ import annotations

import os
import shutil

import pytest

from flask_support import NOW

INSTALL_HINT = "install them with: sudo apt-get install -y chromium chromium-driver"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = os.environ.get("BITMAPIST_CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("BITMAPIST_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("chromium / chromedriver not found; " + INSTALL_HINT)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    b = webdriver.Chrome(service=Service(driver), options=options)
    b.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.__cspViolations = []; document.addEventListener("
                  "'securitypolicyviolation', e => window.__cspViolations.push("
                  "e.violatedDirective + ' ' + e.blockedURI));"})
    yield b
    b.quit()


def csp_clean(b, what):
    assert b.execute_script("return window.__cspViolations || null;") == [], what
    for entry in b.get_log("browser"):
        msg = entry.get("message", "")
        assert "Content Security Policy" not in msg and "Refused to" not in msg, (what, msg)
    assert b.execute_script("return document.documentElement.classList.contains('js');"), \
        what + ": the script ran"
    bg = b.execute_script(
        "return getComputedStyle(document.querySelector('header.top')).backgroundColor;")
    assert bg == "rgb(15, 31, 43)", what + ": the stylesheet applied"


def test_dashboard_in_chromium(dashboard_app, browser):
    _, s = dashboard_app
    base = "http://127.0.0.1:%d" % s.port
    b = browser

    b.get(base + "/bitmapist/?now=" + NOW)
    assert b.title == "Events · bitmapist"
    api = s.json("/bitmapist/api/events?now=" + NOW)
    shown = b.execute_script(
        "return [...document.querySelectorAll('#bm-events tbody tr')].map(r => "
        "[r.dataset.name, ...[...r.querySelectorAll('td.num')].map(td => "
        "td.textContent.replace(/,/g, ''))]);")
    want = [[e["name"], str(e["counts"]["day"]), str(e["counts"]["week"]),
             str(e["counts"]["month"]), str(e["counts"]["year"])] for e in api["events"]]
    assert sorted(shown) == sorted(want)
    # the hostile event name is shown as text
    assert "<script>alert(1)</script>" in [row[0] for row in shown]
    csp_clean(b, "overview")
    b.save_screenshot(os.path.join(os.environ.get("TMPDIR", "/tmp"), "flask-dashboard.png"))

    q = ("primary_event=user:signed_up&secondary_event=user:logged_in&time_group=days"
         "&num_rows=7&num_cols=7&now=2026-11-22")
    b.get(base + "/bitmapist/cohort?" + q)
    assert b.title == "Cohorts · bitmapist"
    cohort = s.json("/bitmapist/api/cohort?" + q)
    rows = b.execute_script(
        "return [...document.querySelectorAll('#bm-heatmap tbody tr')].map(r => "
        "[r.querySelector('th').textContent.trim(), r.querySelector('td.size').textContent"
        ".replace(/,/g, '').trim(), ...[...r.querySelectorAll('td.cell')].map(td => "
        "td.textContent.replace(/,/g, '').trim())]);")
    assert len(rows) == len(cohort["cohort"]) == 7
    for i, row in enumerate(rows):
        assert row[0] == cohort["labels"][i]
        assert row[1] == str(cohort["totals"][i])
        assert row[2:] == ["" if c is None else str(c) for c in cohort["cohort"][i]]
    csp_clean(b, "cohort page")
