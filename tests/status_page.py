#!/usr/bin/env python3
"""The gateway's live status page, in a real browser (headless Chromium driven by Selenium).

It starts `portier gateway` with one route in front of a small upstream that this script makes
fail, loads /status on the admin listener, and checks what an operator would see without
reloading the page:
  1. the route, its upstream and a closed breaker;
  2. after the upstream fails until the breaker opens, the route shows "open" within 2 s;
  3. after routes.json is broken, the page shows the rejection and the validator's message;
  4. the browser logged no script errors.
With STATUS_SCREENSHOT=path it also saves a screenshot of the page (the README's picture).

Usage: tests/status_page.py PORTIER_BINARY   (make status-page-test)
"""

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PORTIER = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/portier"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


class Upstream(http.server.ThreadingHTTPServer):
    """Answers 200, or 500 while `failing` is set."""

    daemon_threads = True
    failing = False


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 500 if self.server.failing else 200
        body = json.dumps({"ok": status == 200}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def fail(message):
    print(f"status page test FAILED: {message}", flush=True)
    raise SystemExit(1)


def wait_for(what, condition, timeout):
    """Polls `condition` until it returns a true value; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # the element may be mid-redraw
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"{what} (waited {timeout} s)")
        time.sleep(0.05)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def routes(upstream_port):
    return {
        "routes": [
            {
                "id": "flaky",
                "path": "/flaky",
                "upstreams": [f"http://127.0.0.1:{upstream_port}"],
                "public": True,
                "circuitBreaker": {
                    "failureRatePercent": 50,
                    "minimumCalls": 5,
                    "windowSeconds": 60,
                    "openSeconds": 30,
                    "halfOpenCalls": 1,
                },
            }
        ]
    }


def main():
    upstream = Upstream(("127.0.0.1", 0), UpstreamHandler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="portier-status-page-")
    routes_path = os.path.join(work, "routes.json")
    with open(routes_path, "w") as file:
        json.dump(routes(upstream.server_address[1]), file)

    gateway = subprocess.Popen(
        [PORTIER, "gateway", "--port", "0", "--admin-port", "0", "--routes", routes_path, "--watch-interval-ms", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    ports = {}

    def read_log():
        for line in gateway.stdout:
            lines.append(line)
            for key, message in (("public", "gateway listening"), ("admin", "gateway admin listener ready")):
                if message in line:
                    match = re.search(r'"port"\s*:\s*"?(\d+)', line)
                    if match:
                        ports[key] = int(match.group(1))

    threading.Thread(target=read_log, daemon=True).start()
    driver = None
    try:
        wait_for("the gateway to start", lambda: "public" in ports and "admin" in ports, 60)
        base = f"http://127.0.0.1:{ports['public']}"
        admin = f"http://127.0.0.1:{ports['admin']}"

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,820"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.get(admin + "/status")

        def breaker_state():
            cell = driver.find_element(By.CSS_SELECTOR, 'tr[data-route="flaky"] td.breaker')
            return cell.get_attribute("data-state")

        wait_for("the page to show route flaky with a closed breaker", lambda: breaker_state() == "closed", 15)
        row = driver.find_element(By.CSS_SELECTOR, 'tr[data-route="flaky"]').text
        if f"127.0.0.1:{upstream.server_address[1]}" not in row:
            fail(f"the row does not show the upstream: {row!r}")
        if driver.find_element(By.ID, "live").get_attribute("data-state") != "live":
            fail("the page is not following /status/events")

        # Some traffic first, so the sparklines have something to draw.
        for _ in range(20):
            get(base + "/flaky")
        upstream.failing = True
        opened_at = None
        for _ in range(50):
            status, body = get(base + "/flaky")
            if status == 503:  # the upstream answers 500; only the open breaker answers 503
                opened_at = time.monotonic()
                break
        if opened_at is None:
            fail("the breaker did not open after 50 failed calls")
        wait_for("the page to show the breaker open within 2 s, without a reload", lambda: breaker_state() == "open", 2.0)
        shown_after = time.monotonic() - opened_at
        text = driver.find_element(By.CSS_SELECTOR, 'tr[data-route="flaky"] td.breaker').text
        if "trial in" not in text:
            fail(f"the open breaker does not say when the next trial is: {text!r}")
        print(f"status page: breaker shown open {shown_after:.2f} s after it opened ({text})", flush=True)

        if os.environ.get("STATUS_SCREENSHOT"):
            time.sleep(1.5)  # one more update, so the sparklines include the failures (picture only)
            driver.save_screenshot(os.environ["STATUS_SCREENSHOT"])

        with open(routes_path, "w") as file:
            file.write('{"routes": [{"id": "flaky", "path": "/flaky"}]}')
        wait_for(
            "the page to show the rejected routes.json",
            lambda: driver.find_element(By.ID, "reload").get_attribute("data-outcome") == "rejected",
            10,
        )
        message = driver.find_element(By.ID, "reload-error").text
        if "route 'flaky'" not in message:
            fail(f"the rejection's message is not shown: {message!r}")
        print(f"status page: rejection shown: {message}", flush=True)

        errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        if errors:
            fail(f"the page logged errors: {errors}")
        print("status page test passed", flush=True)
    except SystemExit:
        print("gateway log:\n" + "".join(lines[-40:]), flush=True)
        raise
    finally:
        if driver is not None:
            driver.quit()
        gateway.send_signal(signal.SIGTERM)
        try:
            code = gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gateway.kill()
            fail("the gateway did not stop within 20 s of SIGTERM")
        upstream.shutdown()
        if code != 0:
            fail(f"the gateway exited with {code}")


if __name__ == "__main__":
    main()
