"""The partner dashboard in the real browser (Debian's Chromium, driven over the DevTools protocol on
loopback): a person signs in, searches, filters, pages, opens a statement and its printable version, and
downloads the list as CSV; one browser session for the whole module, on the small dashboard world."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
from pathlib import Path

import duckdb
import httpx
import pytest
from websockets.sync.client import connect

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.dashboard import accounts
from joulo_pipelines.lib.dashboard.routes import mount_dashboard
from joulo_pipelines.lib.dashboard.snapshot import snapshot_path
from chromium import FLAGS, chromium, temp_dir
from dashboard_world import ALPHA_CUSTOMERS, build_world
from test_api_servers import ApiServer, until

PASSWORD = "correct horse battery staple"


class Browser:
    """One Chromium page over the DevTools protocol: run JavaScript in it and wait for what it shows."""

    def __init__(self, profile: Path):
        self.temp = temp_dir()
        self.process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "TMPDIR": self.temp.name})
        active_port = profile / "DevToolsActivePort"
        until(active_port.exists, "Chromium to open its DevTools port")
        port = active_port.read_text().split()[0]
        page = until(lambda: next((target for target in httpx.get(f"http://127.0.0.1:{port}/json/list").json()
                                   if target["type"] == "page"), None), "Chromium's first page")
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.ids = itertools.count(1)

    def send(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:  # events come in between; the answer carries our id
            message = json.loads(self.socket.recv())
            if message.get("id") == message_id:
                assert "error" not in message, message
                return message["result"]

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str):
        def probe():
            try:  # between two pages there is no document to ask
                return self.js(f"document.readyState === 'complete' && ({expression})")
            except AssertionError:
                return None
        return until(probe, what)

    def navigating(self, action: str, what: str) -> None:
        """Run `action` (JavaScript that leads to another page) and wait until that page has loaded."""
        self.js("window.leaving = true")
        self.js(action)
        self.wait_for("!window.leaving", what)

    def open(self, url: str) -> None:
        self.navigating(f"location.href = {json.dumps(url)}", url)

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait()
        self.temp.cleanup()


@pytest.fixture(scope="module")
def world(module_data_dir):
    build_world(module_data_dir)
    with accounts.connect(module_data_dir) as con:
        accounts.add_user(con, "alpha", "anna@alpha.example", "viewer", PASSWORD, clock.now())
    return module_data_dir


@pytest.fixture(scope="module")
def dashboard(world):
    api = ApiServer(world, ApiSettings(deliver_webhooks=False))
    mount_dashboard(api.app, world)  # as `joulo api` serves it
    with api:
        yield api.url + "/dashboard"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chrome = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def snapshot(world):
    with duckdb.connect(str(snapshot_path(world)), read_only=True) as con:
        yield con


def sign_in(browser: Browser) -> None:
    browser.navigating(f"document.getElementById('email').value = 'anna@alpha.example';"
                       f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
                       "document.getElementById('sign-in-button').click()", "signing in")


@pytest.fixture
def signed_in(browser, dashboard) -> Browser:
    """The module's browser, signed in (by the first test, or here when a test runs alone)."""
    browser.open(f"{dashboard}/")
    if browser.js("location.pathname") == "/dashboard/sign-in":
        sign_in(browser)
    return browser


def rows_shown(browser: Browser) -> list[str]:
    return browser.js("[...document.querySelectorAll('tr[data-customer]')].map(r => r.dataset.customer)")


def expected(snapshot, where: str) -> list[str]:
    return [ref for (ref,) in snapshot.execute(
        "select customer_ref from intermediate.int_customers_latest join marts.fct_customer_quarter_status "
        f"using (partner_id, customer_ref) where partner_id = 'alpha' and {where} order by customer_ref").fetchall()]


def test_a_person_signs_in_searches_filters_pages_and_opens_a_statement(browser, dashboard, snapshot):
    browser.open(f"{dashboard}/alpha/customers")  # not signed in: the sign-in page
    assert browser.js("location.pathname") == "/dashboard/sign-in"
    sign_in(browser)
    assert browser.js("location.pathname") == "/dashboard/alpha/"
    assert browser.js("document.querySelector('[data-figure=customers_enrolled]').dataset.value") == \
        str(ALPHA_CUSTOMERS)

    browser.navigating("document.getElementById('nav-customers').click()", "the customer list")
    assert rows_shown(browser) == expected(snapshot, "true")[:50]

    browser.navigating("document.getElementById('next').click()", "the second page")
    assert browser.js("document.getElementById('page').textContent") == "2"
    assert rows_shown(browser) == expected(snapshot, "true")[50:]

    browser.navigating("document.getElementById('search').value = 'Jansen'; document.getElementById('apply').click()",
                       "the search's answer")
    assert rows_shown(browser) == expected(snapshot, "customer_name ilike '%jansen%'")

    browser.navigating("document.getElementById('search').value = '';"
                       "document.getElementById('status').value = 'not_eligible';"
                       "document.getElementById('reason').value = 'mid_meter_absent';"
                       "document.getElementById('apply').click()", "the filtered list")
    assert rows_shown(browser) == expected(snapshot, "status = 'not_eligible' and reasons = 'mid_meter_absent'")

    first = rows_shown(browser)[0]
    browser.navigating("document.querySelector('tr[data-customer] a').click()", "the customer's statement")
    assert first in browser.js("document.title") and browser.js("!!document.getElementById('printable')")
    browser.navigating("document.getElementById('printable').click()", "the printable statement")
    assert browser.js("location.pathname").endswith("/print")
    assert browser.js("document.getElementById('dashboard-nav') === null")  # printed without the navigation
    assert first in browser.js("document.title")


def test_the_list_downloads_as_csv_with_the_rows_of_the_filter(signed_in, dashboard, snapshot, tmp_path):
    browser = signed_in
    browser.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(tmp_path))
    browser.open(f"{dashboard}/alpha/customers?status=eligible")
    browser.js("document.getElementById('csv').click()")
    files = until(lambda: [path for path in tmp_path.glob("*.csv")], "the CSV download")
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [row["customer_ref"] for row in rows] == expected(snapshot, "status = 'eligible'")
    assert files[0].name == "alpha-2026-Q2-customers.csv"


def test_a_prospects_files_uploaded_for_a_mid_scan_are_scanned_and_the_scan_downloads(signed_in, dashboard,
                                                                                      tmp_path):
    browser = signed_in
    from test_mid_scan import CHARGE_POINTS, CUSTOMERS, EXPECTED, SESSIONS

    for name, content in (("charge-points", CHARGE_POINTS), ("customers", CUSTOMERS), ("sessions", SESSIONS)):
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
    browser.open(f"{dashboard}/alpha/mid-scan")
    document = browser.send("DOM.getDocument")["root"]["nodeId"]
    for name in ("charge-points", "customers", "sessions"):
        node = browser.send("DOM.querySelector", nodeId=document, selector=f"#{name}-file")["nodeId"]
        browser.send("DOM.setFileInputFiles", nodeId=node, files=[str(tmp_path / f"{name}.csv")])
    browser.navigating("document.getElementById('scan-title').value = 'Prospect Noord';"
                       "document.querySelector('input[name=delivery_year]').value = '2026';"
                       "document.getElementById('scan').click()", "the scan")
    assert "Prospect Noord" in browser.js("document.body.innerText")

    downloads = tmp_path / "downloads"
    browser.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    browser.open(f"{dashboard}/alpha/mid-scan")
    browser.js("document.querySelector('#scans a[download]').click()")
    files = until(lambda: list(downloads.glob("*.csv")), "the scan's CSV download")
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8-sig")), delimiter=";"))
    assert {row["charge_point_ref"]: (row["group"], row["status"], row["reasons"]) for row in rows} == EXPECTED
