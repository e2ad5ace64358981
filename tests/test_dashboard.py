"""The partner dashboard over HTTP, the API under uvicorn on loopback, on the small dashboard world: a person
sees their own partner only, every POST needs its CSRF token, repeated failures lock an account, signing out
ends the session on the server, and the figures on the pages are the snapshot's."""

from __future__ import annotations

import csv
import io
import re
import threading
from decimal import ROUND_HALF_EVEN, Decimal

import duckdb
import httpx
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.dashboard import accounts
from joulo_pipelines.lib.dashboard.routes import mount_dashboard
from joulo_pipelines.lib.dashboard.snapshot import snapshot_path
from dashboard_world import ALPHA_CUSTOMERS, HOSTILE_NAME, build_world
from test_api_servers import ApiServer

PASSWORD = "correct horse battery staple"
PARTNER_URLS = ["/", "/year", "/customers", "/customers?page=2&status=eligible", "/customers.csv",
                "/customers/A001", "/customers/A001/print", "/customers/B001", "/customers/B001/print"]


@pytest.fixture(scope="module")
def world(module_data_dir):
    build_world(module_data_dir)
    with accounts.connect(module_data_dir) as con:
        for partner_id, email, role in [("alpha", "anna@alpha.example", "viewer"),
                                        ("alpha", "locked@alpha.example", "viewer"),
                                        ("alpha", "ada@alpha.example", "admin"),
                                        ("beta", "bert@beta.example", "viewer"),
                                        ("beta", "bea@beta.example", "admin")]:
            accounts.add_user(con, partner_id, email, role, PASSWORD, clock.now())
    return module_data_dir


@pytest.fixture(scope="module")
def server(world):
    api = ApiServer(world, ApiSettings(deliver_webhooks=False, allow_http_webhooks=True))
    mount_dashboard(api.app, world)  # as `joulo api` serves it
    with api:
        yield api


def browser(server) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/dashboard", timeout=120)


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/sign-in"))
    return client.post("/sign-in", data={"email": email, "password": password, "csrf": token})


@pytest.fixture(scope="module")
def anna(server):
    client = browser(server)
    assert sign_in(client, "anna@alpha.example").headers["location"].endswith("/dashboard/alpha/")
    return client


@pytest.fixture(scope="module")
def snapshot(world):
    with duckdb.connect(str(snapshot_path(world)), read_only=True) as con:
        yield con


def test_a_person_sees_their_own_partner_and_every_url_of_another_partners_is_404(server):
    bert = browser(server)
    assert sign_in(bert, "bert@beta.example").status_code == 303
    for url in PARTNER_URLS:
        answer = bert.get("/alpha" + url)
        assert answer.status_code == 404, url
        assert "Klant" not in answer.text and "A001" not in answer.text
    assert bert.get("/beta/customers/B001").status_code == 200
    assert bert.get("/beta/customers/A001").status_code == 404  # alpha's customer under beta's URL
    assert "A0" not in bert.get("/beta/customers.csv").text
    anonymous = browser(server)
    for url in PARTNER_URLS:  # not signed in: to the sign-in page, whichever partner, existing or not
        assert anonymous.get("/alpha" + url).headers["location"].endswith("/dashboard/sign-in"), url
        assert anonymous.get("/nobody" + url).headers["location"].endswith("/dashboard/sign-in"), url


def test_a_post_without_the_sessions_csrf_token_is_refused(server):
    client = browser(server)
    client.get("/sign-in")
    refused = client.post("/sign-in", data={"email": "anna@alpha.example", "password": PASSWORD})
    assert refused.status_code == 403
    forged = client.post("/sign-in", data={"email": "anna@alpha.example", "password": PASSWORD, "csrf": "x" * 43})
    assert forged.status_code == 403
    assert sign_in(client, "anna@alpha.example").status_code == 303
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.post("/language", data={"language": "en"}).status_code == 403
    assert client.get("/alpha/").status_code == 200  # still signed in


def test_sign_out_ends_the_session_on_the_server_too(server):
    client = browser(server)
    sign_in(client, "anna@alpha.example")
    stolen = dict(client.cookies)
    page = client.get("/alpha/")
    assert client.post("/sign-out", data={"csrf": csrf_of(page)}).status_code == 303
    replayed = browser(server)
    replayed.cookies.update(stolen)
    assert replayed.get("/alpha/").headers["location"].endswith("/dashboard/sign-in")


def test_an_account_is_locked_after_five_wrong_passwords_and_opens_again_after_fifteen_minutes(server,
                                                                                              monkeypatch):
    client = browser(server)
    for _ in range(accounts.MAX_FAILURES):
        assert sign_in(client, "locked@alpha.example", "wrong password!").status_code == 401
    refused = sign_in(client, "locked@alpha.example")
    assert refused.status_code == 401 and 'id="sign-in-failed"' in refused.text
    monkeypatch.setenv("JOULO_AS_OF", (clock.now() + accounts.LOCKOUT).isoformat())
    assert sign_in(client, "locked@alpha.example").status_code == 303


def test_the_quarter_overview_shows_the_snapshots_figures(anna, snapshot):
    page = anna.get("/alpha/").text
    shown = dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', page))
    kwh, sessions = snapshot.execute("select sum(kwh), sum(session_count) from marts.fct_charge_point_quarter_energy "
                                     "where partner_id = 'alpha' and quarter_start = '2026-04-01'").fetchone()
    eligible_kwh, ere = snapshot.execute("select sum(eligible_kwh), sum(eligible_ere_estimate) "
                                         "from marts.fct_ean_quarter_energy where partner_id = 'alpha' "
                                         "and quarter_start = '2026-04-01' and eligible_kwh > 0").fetchone()
    eligible_points = snapshot.execute("select count(*) from marts.fct_charge_point_eligibility where partner_id = "
                                       "'alpha' and is_eligible").fetchone()[0]
    assert Decimal(shown["kwh"]) == kwh and Decimal(shown["eligible_kwh"]) == eligible_kwh
    assert Decimal(shown["ere_estimate"]) == ere
    assert int(shown["customers_enrolled"]) == ALPHA_CUSTOMERS
    assert int(shown["charge_points_eligible"]) == eligible_points
    paid = snapshot.execute("select sum(paid_cents) from ledger.payout_lines where partner_id = 'alpha'").fetchone()[0]
    assert int(shown["paid_cents"]) == paid > 0


def test_a_customers_statement_shows_their_own_payout_line_and_booking(anna, snapshot):
    for ref in ("A003", "A006"):
        page = anna.get(f"/alpha/customers/{ref}/print").text
        shown = dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', page))
        line = snapshot.execute("select gross_cents, net_cents, paid_cents from ledger.payout_lines "
                                "where customer_ref = ?", [ref]).fetchone()
        assert (int(shown["gross_cents"]), int(shown["net_cents"]), int(shown["paid_cents"])) == line
        # the payment date, as the customer's language writes it (lib/formatting.py)
        assert {"nl": "14-07-2026", "en": "2026-07-14"}[re.search(r'<html lang="(\w+)"', page).group(1)] in page


def test_the_customer_list_searches_filters_and_pages_as_the_snapshot_says(anna, snapshot):
    def listed(**params) -> tuple[int, list[str]]:
        page = anna.get("/alpha/customers", params=params).text
        return (int(re.search(r'id="total" data-value="(\d+)"', page).group(1)),
                re.findall(r'<tr data-customer="([^"]+)"', page))

    def expected(where: str) -> list[str]:
        return [ref for (ref,) in snapshot.execute(
            "select customer_ref from intermediate.int_customers_latest join marts.fct_customer_quarter_status "
            f"using (partner_id, customer_ref) where partner_id = 'alpha' and {where} "
            "order by customer_ref").fetchall()]

    total, first = listed()
    assert total == ALPHA_CUSTOMERS and first == expected("true")[:50]
    assert listed(page=2) == (total, expected("true")[50:])
    assert listed(search="jansen")[1] == expected("customer_name ilike '%jansen%'")
    assert listed(search="871610000000000012")[1] == ["A012"]  # by EAN
    assert listed(search="a05")[1] == expected("customer_ref like 'A05%'")  # by reference
    assert listed(search="100%")[0] == 0  # what is typed is text, not a pattern
    # a search's count and page come from one pass: any page of it, and a page past its last
    assert listed(search="a", page=2) == (total, expected("true")[50:100])
    assert listed(search="a05", page=9) == (len(expected("customer_ref like 'A05%'")), [])
    assert listed(status="action_needed", reason="meter_serial_missing")[1] == \
        expected("status = 'action_needed' and reasons like '%meter_serial_missing%'")
    assert listed(reason="mid_meter_absent")[1] == expected("reasons like '%mid_meter_absent%'")


def test_the_csv_export_holds_every_customer_of_the_list_and_nothing_else(anna, snapshot):
    answer = anna.get("/alpha/customers.csv", params={"status": "eligible"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    # for Dutch Excel: a byte order mark, `;` and kWh to the tenth with a decimal comma
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    expected = snapshot.execute("select customer_ref, kwh from marts.fct_customer_quarter_status where partner_id = "
                                "'alpha' and status = 'eligible' order by customer_ref").fetchall()
    assert [(row["customer_ref"], row["kwh"]) for row in rows] == [
        (ref, f"{kwh.quantize(Decimal('0.1'), ROUND_HALF_EVEN)}".replace(".", ",")) for ref, kwh in expected]


def test_a_statement_is_rendered_on_demand_and_names_are_escaped(anna, snapshot):
    page = anna.get("/alpha/customers/A007")
    printable = anna.get("/alpha/customers/A007/print")
    assert page.status_code == printable.status_code == 200
    for html in (page.text, printable.text):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zoë" in html
    assert 'id="printable"' in page.text and 'id="dashboard-nav"' not in printable.text
    assert 'id="sign-out"' in page.text
    kwh = snapshot.execute("select kwh from marts.fct_customer_quarter_status "
                           "where customer_ref = 'A007'").fetchone()[0]
    # the statement's kWh to the tenth, as the customer's language writes it: A007 reads English, '51.0'
    assert re.search(r'<html lang="(\w+)"', printable.text).group(1) == "en"
    assert f'data-figure="kwh" data-value="{kwh}">{kwh:,.1f}<' in printable.text
    assert HOSTILE_NAME not in anna.get("/alpha/customers", params={"search": "script"}).text


def test_the_dashboard_speaks_dutch_until_asked_for_english(server):
    client = browser(server)
    sign_in(client, "anna@alpha.example")
    page = client.get("/alpha/customers", params={"search": "Klant"})
    assert "Klanten" in page.text and "Uitloggen" in page.text
    back = re.search(r'name="back" value="([^"]+)"', page.text).group(1)
    assert back == "/dashboard/alpha/customers?search=Klant"
    answer = client.post("/language", data={"language": "en", "csrf": csrf_of(page), "back": back})
    assert answer.headers["location"] == back
    english = client.get("/alpha/customers").text
    assert "Customers" in english and "Sign out" in english
    outside = client.post("/language", data={"language": "nl", "csrf": csrf_of(page), "back": "https://evil.example/"})
    assert outside.headers["location"] == "/dashboard/"  # never a redirect off the dashboard


def test_dashboard_user_add_asks_for_a_password_and_refuses_a_short_one(world, monkeypatch, capsys, server):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["dashboard-user", "add", "--partner", "alpha", "--email", "new@alpha.example"]) == 2
    assert "at least 12" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["dashboard-user", "add", "--partner", "alpha", "--email", "new@alpha.example",
                     "--role", "admin"]) == 0
    with accounts.connect(world) as con:
        stored = con.execute("select password_hash from dashboard_users where email = 'new@alpha.example'").fetchone()
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    assert sign_in(browser(server), "new@alpha.example").status_code == 303


def test_joulo_api_serves_the_dashboard_under_its_path(world):
    from fastapi.testclient import TestClient

    from joulo_pipelines.cli.api import serving_app

    with TestClient(serving_app(world)) as client:
        assert 'id="sign-in"' in client.get("/dashboard/sign-in").text
        assert client.get("/v1/customers/A001").status_code == 401  # the API beside it, as before


def test_joulo_api_serves_the_dashboard_from_several_workers_that_share_a_session(world, tmp_path):
    import os
    import re
    import subprocess
    import sys
    import time

    # Port 0: the server binds a free port and says which (uvicorn's "running on" line), never probed first.
    log = tmp_path / "api.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "joulo_pipelines.cli", "api", "--port", "0",
                                    "--workers", "2"], env={**os.environ, "JOULO_DATA_DIR": str(world.root)},
                                   stdout=subprocess.DEVNULL, stderr=output)
    try:
        while not (bound := re.search(rb"running on http://127\.0\.0\.1:(\d+)", log.read_bytes())):
            assert process.poll() is None, log.read_text(errors="replace")
            time.sleep(0.2)
        base = f"http://127.0.0.1:{int(bound[1])}"
        with httpx.Client(base_url=f"{base}/dashboard", timeout=120) as client:
            while True:  # the workers accept on the bound socket once each has started its app
                assert process.poll() is None, log.read_text(errors="replace")
                try:
                    client.get("/sign-in")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert sign_in(client, "anna@alpha.example").status_code == 303
            # each connection goes to either worker: both read the session cookie the one that signed in wrote
            answers = [httpx.get(f"{base}/dashboard/alpha/customers", cookies=client.cookies,
                                 timeout=120).status_code for _ in range(12)]
        assert answers == [200] * 12
    finally:
        process.terminate()
        process.wait()


def test_a_mid_scan_of_uploaded_files_is_shown_downloaded_and_kept_from_other_partners(anna, server):
    from test_mid_scan import CHARGE_POINTS, CUSTOMERS, EXPECTED, SESSIONS

    page = anna.get("/alpha/mid-scan")
    files = {"charge_points": ("prospect_points.csv", CHARGE_POINTS),
             "customers": ("prospect_customers.csv", CUSTOMERS), "sessions": ("prospect_sessions.csv", SESSIONS)}
    assert anna.post("/alpha/mid-scan", files=files, data={"title": "Prospect"}).status_code == 403  # no token
    answer = anna.post("/alpha/mid-scan", files=files,
                       data={"csrf": csrf_of(page), "title": "Prospect <b>X</b>", "delivery_year": "2026"})
    assert answer.status_code == 303
    scan_url = answer.headers["location"].removeprefix("/dashboard")
    assert "&lt;b&gt;X&lt;/b&gt;" in anna.get(scan_url).text
    rows = list(csv.DictReader(io.StringIO(anna.get(scan_url + "/mid_scan.csv").content.decode("utf-8-sig")),
                               delimiter=";"))
    assert {row["charge_point_ref"]: (row["group"], row["status"], row["reasons"]) for row in rows} == EXPECTED
    assert scan_url.rsplit("/", 1)[1] in anna.get("/alpha/mid-scan").text  # listed with the partner's scans

    bert = browser(server)
    sign_in(bert, "bert@beta.example")
    assert bert.get(scan_url).status_code == 404
    assert bert.get(scan_url.replace("/alpha/", "/beta/")).status_code == 404
    assert bert.get(scan_url.replace("/alpha/", "/beta/") + "/mid_scan.csv").status_code == 404

    bad = anna.post("/alpha/mid-scan", files={"charge_points": ("points.csv", "charge_point_ref,brand\nCP-1,Alfen\n")},
                    data={"csrf": csrf_of(page), "delivery_year": "2026"})
    assert bad.status_code == 400
    assert "points.csv" in bad.text and "model" in bad.text and "/mid_scans/" not in bad.text


def test_a_partners_admin_creates_and_revokes_its_api_keys_and_webhooks_and_no_one_elses(server):
    ada, api = browser(server), httpx.Client(base_url=server.url, timeout=120)
    sign_in(ada, "ada@alpha.example")
    page = ada.get("/alpha/admin")
    created = ada.post("/alpha/admin/keys", data={"csrf": csrf_of(page)})
    key_id, key = re.search(r'<code data-key-id="([^"]+)">([^<]+)</code>', created.text).groups()
    assert api.get("/v1/events", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in ada.get("/alpha/admin").text  # shown once

    hook = ada.post("/alpha/admin/webhooks", data={"csrf": csrf_of(page), "url": "http://127.0.0.1:9/hook"})
    assert "whsec_" in hook.text
    listed = api.get("/v1/webhooks", headers={"Authorization": f"Bearer {key}"}).json()
    assert [w["url"] for w in listed] == ["http://127.0.0.1:9/hook"]
    refused = ada.post("/alpha/admin/webhooks", data={"csrf": csrf_of(page), "url": "http://10.0.0.1/hook"})
    assert refused.status_code == 400 and 'id="admin-error"' in refused.text

    bea, anna = browser(server), browser(server)
    sign_in(bea, "bea@beta.example")
    sign_in(anna, "anna@alpha.example")
    assert anna.get("/alpha/admin").status_code == 404  # a viewer has no admin page
    assert bea.post(f"/beta/admin/keys/{key_id}/revoke", data={"csrf": csrf_of(bea.get("/beta/admin"))}
                    ).status_code == 404  # another partner's key
    assert bea.post(f"/beta/admin/webhooks/{listed[0]['webhook_id']}/delete",
                    data={"csrf": csrf_of(bea.get("/beta/admin"))}).status_code == 404
    assert api.get("/v1/events", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    assert ada.post(f"/alpha/admin/webhooks/{listed[0]['webhook_id']}/delete",
                    data={"csrf": csrf_of(page)}).status_code == 303
    assert ada.post(f"/alpha/admin/keys/{key_id}/revoke", data={"csrf": csrf_of(page)}).status_code == 303
    assert api.get("/v1/events", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_the_bench_measures_every_page_with_people_signed_in_at_once(world, server):
    from joulo_pipelines.lib.dashboard.load import measure

    measured = measure(world, users=3, rounds=1, url=server.url)  # `joulo bench` starts its own `joulo api`
    assert measured["users"] == 3 and measured["partner_customers"] == ALPHA_CUSTOMERS
    assert set(measured["pages"]) == {"overview", "year", "customers", "customers_last_page", "search_name",
                                      "search_ean", "filter_reason", "statement", "statement_print"}
    assert measured["requests"] == 3 * len(measured["pages"])
    assert all(0 < page["median_ms"] <= page["p95_ms"] <= page["max_ms"] for page in measured["pages"].values())


def test_a_new_snapshot_shows_at_once_while_a_reader_of_the_old_one_carries_on(tmp_path):
    from joulo_pipelines.lib.dashboard.snapshot import Snapshot, publish
    from joulo_pipelines.lib.paths import DataDir

    data_dir = build_world(DataDir(tmp_path / "data"))
    snapshot = Snapshot(data_dir)
    reading = snapshot.cursor()
    count = "select count(*) from intermediate.int_customers_latest where partner_id = 'beta'"
    assert reading.execute(count).fetchone()[0] == 3
    with duckdb.connect(str(data_dir.warehouse)) as warehouse:  # the quarter run writes while the dashboard reads
        warehouse.execute("delete from intermediate.int_customers_latest where customer_ref = 'B003'")
        publish(data_dir, warehouse)
    assert snapshot.cursor().execute(count).fetchone()[0] == 2
    assert reading.execute(count).fetchone()[0] == 3
    # what a page remembers of a snapshot is remembered for that snapshot only
    assert snapshot.remembered(("beta",), lambda: reading.execute(count).fetchone()[0]) == 3
    assert snapshot.remembered(("beta",), lambda: 0) == 3
    with duckdb.connect(str(data_dir.warehouse)) as warehouse:
        warehouse.execute("delete from intermediate.int_customers_latest where customer_ref = 'B002'")
        publish(data_dir, warehouse)
    fresh = snapshot.cursor()
    assert snapshot.remembered(("beta",), lambda: fresh.execute(count).fetchone()[0]) == 1
    iban = snapshot.cursor().execute("select distinct iban from intermediate.int_customers_latest").fetchall()
    assert iban == [("NL91 **** **** 4300",)]  # the full IBAN never leaves the warehouse

    # a request that still reads the old snapshot when a newer one is opened keeps what it computes to itself
    def read_old() -> None:
        old = snapshot.cursor()
        opened.set()
        newer.wait()
        snapshot.remembered(("beta", "again"), lambda: old.execute(count).fetchone()[0])

    opened, newer = threading.Event(), threading.Event()
    old_reader = threading.Thread(target=read_old)
    old_reader.start()
    opened.wait()
    with duckdb.connect(str(data_dir.warehouse)) as warehouse:
        warehouse.execute("delete from intermediate.int_customers_latest where customer_ref = 'B001'")
        publish(data_dir, warehouse)
    fresh = snapshot.cursor()
    newer.set()
    old_reader.join()
    assert snapshot.remembered(("beta", "again"), lambda: fresh.execute(count).fetchone()[0]) == 0


def test_the_accounts_store_set_up_once_is_set_up_again_when_made_anew(tmp_path):
    from joulo_pipelines.lib.paths import DataDir

    data_dir = DataDir(tmp_path / "data")
    with accounts.connect(data_dir) as con:
        accounts.add_user(con, "alpha", "anna@alpha.example", "viewer", PASSWORD, clock.now())
    store = data_dir.root / "api" / "dashboard.sqlite"
    store.unlink()
    with accounts.connect(data_dir) as con:  # the store deleted: a new file, with its tables again
        assert accounts.sign_in(con, "anna@alpha.example", PASSWORD, clock.now()) is None
    # A new store at the old one's inode (the file system reuses a deleted file's): set up all the same.
    for leftover in store.parent.glob("dashboard.sqlite-*"):
        leftover.unlink()
    inode = store.stat().st_ino
    store.write_bytes(b"")
    assert store.stat().st_ino == inode
    with accounts.connect(data_dir) as con:
        assert accounts.sign_in(con, "anna@alpha.example", PASSWORD, clock.now()) is None


def test_a_snapshot_cursor_knows_which_tables_the_snapshot_has(world):
    from joulo_pipelines.lib.dashboard.snapshot import TABLES, Snapshot
    from joulo_pipelines.lib.warehouse import has_table

    cursor = Snapshot(world).cursor()
    with duckdb.connect(str(snapshot_path(world)), read_only=True) as plain:
        for schema, table in [name.split(".") for name in TABLES] + [("pages", "customer_list"), ("ledger", "nope")]:
            assert has_table(cursor, schema, table) == has_table(plain, schema, table), (schema, table)
    assert has_table(cursor, "pages", "customer_list") and not has_table(cursor, "ledger", "nope")


def test_the_snapshot_holds_each_partners_customer_list_as_the_report_query_gives_it(world, snapshot):
    from joulo_pipelines.lib.dashboard import queries as dashboard_queries
    from joulo_pipelines.lib.quarters import Quarter
    from joulo_pipelines.lib.reports import queries

    quarter = Quarter(2026, 2)
    for partner_id, page in (("alpha", 2), ("beta", 1)):
        report = queries.customers(snapshot, partner_id, quarter)
        rows, total = dashboard_queries.customer_page(snapshot, partner_id, quarter, dashboard_queries.CustomerFilter(),
                                                      page)
        assert dashboard_queries.whole_list_page(snapshot, partner_id, quarter, page) == rows
        assert dashboard_queries.matching_count(snapshot, partner_id, quarter, dashboard_queries.CustomerFilter()) \
            == total
        size = dashboard_queries.PAGE_SIZE
        assert total == len(report) and rows == report[(page - 1) * size:page * size]
        # numbered in the list's order: a page is a range of positions
        assert snapshot.execute("select position, customer_ref from pages.customer_list where partner_id = ? "
                                "order by position", [partner_id]).fetchall() == \
            [(i, row["customer_ref"]) for i, row in enumerate(report, 1)]


def test_the_snapshot_holds_the_monthly_figures_as_the_report_computes_them(world, snapshot):
    from datetime import date

    from joulo_pipelines.lib.dashboard import queries as dashboard_queries
    from joulo_pipelines.lib.quarters import Quarter
    from joulo_pipelines.lib.reports import queries

    quarter = Quarter(2026, 2)
    with duckdb.connect(str(world.warehouse), read_only=True) as warehouse:
        for partner_id in ("alpha", "beta"):
            # the quarter and year pages' months: of the quarter, and of the year to its end
            for start in (quarter.start, date(2026, 1, 1)):
                partner = queries.monthly_energy(warehouse, partner_id, start, quarter.end)
                assert dashboard_queries.partner_months(snapshot, partner_id, start, quarter.end) == partner
                assert len(partner) == (quarter.end.month - start.month) and partner[-1]["kwh"] > 0
            # a statement's months
            report = queries.monthly_energy(warehouse, partner_id, quarter.start, quarter.end, by_customer=True)
            refs = sorted({row["customer_ref"] for row in report})
            assert len(refs) > 1 and len(report) == 3 * len(refs)
            assert [row for ref in refs for row in dashboard_queries.customer_months(snapshot, partner_id, quarter,
                                                                                      ref)] == report
    assert dashboard_queries.customer_months(snapshot, "beta", quarter, "A001") == []  # another partner's


def test_a_pages_figures_asked_for_at_once_are_computed_once(world):
    import time

    from joulo_pipelines.lib.dashboard.snapshot import Snapshot

    snapshot, computed = Snapshot(world), []
    snapshot.cursor()

    def compute() -> int:
        computed.append(1)
        time.sleep(0.2)
        return len(computed)

    asking = [threading.Thread(target=snapshot.remembered, args=(("overview", "alpha"), compute)) for _ in range(3)]
    for thread in asking:
        thread.start()
    for thread in asking:
        thread.join()
    assert computed == [1] and snapshot.remembered(("overview", "alpha"), compute) == 1


def test_a_snapshot_is_published_before_any_customer_has_a_quarter(tmp_path):
    """A partner that has sent sessions but no customers yet (an OCPP gateway's first days): the quarter run's
    snapshot is still published, with no page figures to show."""
    from joulo_pipelines.lib.dashboard.snapshot import Snapshot, publish
    from joulo_pipelines.lib.paths import DataDir

    data_dir = build_world(DataDir(tmp_path / "data"))
    with duckdb.connect(str(data_dir.warehouse)) as warehouse:
        warehouse.execute("delete from marts.fct_customer_quarter_status")
        publish(data_dir, warehouse)
    statuses = Snapshot(data_dir).cursor().execute("select count(*) from marts.fct_customer_quarter_status")
    assert statuses.fetchone()[0] == 0
