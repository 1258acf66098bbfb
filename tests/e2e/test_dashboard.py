"""The dashboard in a real browser (Debian's headless chromium, driven by Selenium) against `serve`:
play a scenario, see the incident appear and its cost rise, approve the escalation, see the decision.

Screenshots go to artifacts/ (ignored by git). `make test` installs chromium and chromedriver.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]
# a deployment where a human approves every action, with short settle windows so the test runs in seconds
SERVE_ENV = {"IC_DETECTION_SETTLE_QUIET_SECONDS": "5", "IC_DETECTION_SETTLE_MAX_SECONDS": "30",
             "IC_CONSENSUS_ALLOWED_ACTIONS": "[]"}


@pytest.fixture(scope="module")
def served():
    env = {**os.environ, **SERVE_ENV}
    proc = subprocess.Popen([sys.executable, "-m", "incident_commander.local.cli", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline()  # the server prints its URL once it is listening
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"serve did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield match.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    assert not missing, f"{missing} not installed: `make test` installs them (apt-get install chromium chromium-driver)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ic-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def dollars(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").split("/")[0])


def test_play_watch_the_cost_rise_and_approve(served, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def text(element_id: str) -> str:
        return browser.find_element(By.ID, element_id).text

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(f"{served}/dashboard/?poll=500")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "scenario-bar").is_displayed())
    assert "LOCAL AUTH MODE" in text("me") and "admin" in text("me")

    Select(browser.find_element(By.ID, "scenario-select")).select_by_value("database-cascade")
    browser.find_element(By.ID, "play").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#incidents tbody tr"))
    wait.until(lambda b: b.find_element(By.ID, "detail").is_displayed() and dollars(text("cost-rate")) > 0)
    assert "orders-db" in text("incidents")

    first = dollars(text("cost"))
    time.sleep(2.5)
    assert dollars(text("cost")) > first, "the cost so far keeps rising while the incident is open"
    assert re.fullmatch(r"\d\d:\d\d", text("mttr"))

    WebDriverWait(browser, 120).until(lambda b: b.find_element(By.ID, "approve").is_displayed())
    # the page re-renders every poll (500 ms): read what it shows once it shows it, whatever re-rendered
    settled = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    settled.until(lambda b: b.find_element(By.ID, "stage-decision").get_attribute("data-state") == "active"
                  and "ESCALATE" in text("decision-summary") and "detected" in text("response-times"))
    browser.save_screenshot(str(ARTIFACTS / "dashboard-escalated.png"))
    incident_id = settled.until(lambda b: b.find_element(By.ID, "detail").get_attribute("data-id"))

    browser.get(f"{served}/dashboard/?poll=500&role=viewer&incident={incident_id}")  # a viewer sees, cannot answer
    wait.until(lambda b: "responders may answer" in text("decision-outcome"))
    assert not browser.find_element(By.ID, "approve").is_displayed() and "viewer" in text("me")
    browser.get(f"{served}/dashboard/?poll=500&incident={incident_id}")
    wait.until(lambda b: b.find_element(By.ID, "approve").is_displayed())

    browser.find_element(By.ID, "answer-reason").send_keys("connection pool exhausted, restart approved")
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, 30).until(lambda b: "approved by dashboard-user" in text("decision-outcome"))
    assert not browser.find_element(By.ID, "approve").is_displayed(), "answered: nothing left to approve"
    browser.save_screenshot(str(ARTIFACTS / "dashboard-approved.png"))

    with urllib.request.urlopen(f"{served}/incidents/{incident_id}/timeline") as r:
        timeline = json.load(r)
    approved = [e for e in timeline["events"] if e["type"] == "human.approved"]
    assert approved and approved[0]["actor"] == "human:dashboard-user" and timeline["verified"]
