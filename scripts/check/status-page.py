#!/usr/bin/env python3
"""The status page in a real browser: headless Chromium (Debian's
`chromium`, driven by selenium through Debian's `chromium-driver`) loads
/status from the release binary; the test drives the write breaker OPEN
through the mock (an outage and three failed writes), sees the page show
OPEN, then, after the outage and a successful probe, CLOSED, without a
reload. Usage: status-page.py BINARY PORT [--screenshot PATH]
(the screenshot is of the page in the OPEN state)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# Waits for the page are bounds, not measurements: generous for a shared CI
# machine, and never the thing a check is about.
PATIENCE_S = 30


def request(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(check, what):
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    sys.exit(f"FAILED: {what} within {PATIENCE_S} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("port", type=int)
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    mock = f"http://127.0.0.1:{args.port + 1}"
    env = dict(os.environ)
    env.update(
        PORT=str(args.port),
        API_BASE=mock,
        LOG_LEVEL="warning",
        # Everything the page can show, on.
        READ_BREAKER_ENABLED="true",
        STALE_IF_ERROR_MS="60000",
        CACHE_TTL_MS="1000",
        HEDGE_ENABLED="true",
        # Writes fail only while the test says so.
        MOCK=json.dumps({"PORT": args.port + 1, "ERROR_RATE": 0, "OK_COUNT": 1000000,
                         "FAIL_COUNT": 0, "EVENT_DELAY_MS": 20, "FAIL_DELAY_MS": 5}),
    )
    service = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="status-page-")
    driver = None
    try:
        wait_for(lambda: _answers(base + "/health"), "the service answers /health")
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={profile}", "--window-size=1200,900"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.get(base + "/status")
        state = lambda: driver.find_element(By.ID, "write-state").text
        WebDriverWait(driver, PATIENCE_S).until(lambda d: d.find_element(By.ID, "link").text == "live")
        assert state() == "CLOSED", state()
        # Set once; a reload would lose it.
        driver.execute_script("window.__sameLoad = 'yes'")

        # Some reads, so that the latency and kept-answer tables have rows.
        for user in (1, 2, 3, 1, 2, 3):
            request(base + "/getUsers")
            request(base + f"/getEventsByUserId/{user}")
        status, _ = request(mock + "/_mock/outage?ms=8000", method="POST")
        assert status in (200, 204), f"outage: {status}"
        for attempt in range(3):
            status, body = request(base + "/addEvent", "POST", {"name": "browser", "userId": 1})
            assert status == 503, f"write {attempt} during the outage: {status} {body!r}"
        WebDriverWait(driver, PATIENCE_S).until(lambda d: state() == "OPEN")
        print("the page shows the write breaker OPEN")
        rows = driver.find_elements(By.CSS_SELECTOR, "#transitions tr")
        assert "OPEN" in rows[0].text and "failure threshold reached" in rows[0].text, rows[0].text
        latency = driver.find_element(By.ID, "latency").text
        assert "getUsers" in latency and "getEventById" in latency, latency
        assert "getUserById" in driver.find_element(By.ID, "cache").text
        assert driver.find_element(By.ID, "read-state").text == "CLOSED"
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
            print(f"screenshot: {args.screenshot}")

        # The outage ends; the breaker lets a probe through after its
        # backoff, and the probe succeeds.
        request(mock + "/_mock/outage?ms=0", method="POST")
        wait_for(lambda: _write(base) == 200, "a write succeeds after the backoff")
        WebDriverWait(driver, PATIENCE_S).until(lambda d: state() == "CLOSED")
        assert driver.execute_script("return window.__sameLoad") == "yes", "the page was reloaded"
        rows = driver.find_elements(By.CSS_SELECTOR, "#transitions tr")
        assert [r.text.split()[5] for r in rows[:3]] == ["CLOSED", "HALF_OPEN", "OPEN"], [
            r.text for r in rows]
        print("the page shows CLOSED again, without a reload; transitions:")
        for row in rows:
            print("  " + row.text)
    finally:
        if driver is not None:
            driver.quit()
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=30)
        if code != 0:
            sys.exit(f"FAILED: the service exited {code}")


def _answers(url):
    try:
        return request(url)[0] == 200
    except OSError:
        return False


def _write(base):
    return request(base + "/addEvent", "POST", {"name": "browser", "userId": 1})[0]


if __name__ == "__main__":
    main()
