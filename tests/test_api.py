"""The partner API over real HTTP on loopback: enrolment into the landing zone, idempotency, field-level
validation, revocation, isolation between partners on every endpoint, limits, the access log, and signed
webhooks with retries verified by the Standard Webhooks library."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import duckdb
import httpx
import pytest

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.api.delivery import RetryPolicy
from joulo_pipelines.lib.api.webhooks import event_id, record_event
from test_api_servers import CONSENT_TEXT_SHA256, ApiServer, WebhookReceiver, enrolment, until

FAST_RETRIES = RetryPolicy(first_wait_seconds=0.2, max_wait_seconds=1.0, max_attempts=4, timeout_seconds=60)
SETTINGS = ApiSettings(rate_limit="100000/minute", max_body_bytes=64 * 1024, allow_http_webhooks=True,
                       retry=FAST_RETRIES, poll_seconds=0.1)


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def access_lines():
    handler, logger = Lines(), logging.getLogger("joulo.api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def api(module_data_dir, access_lines):
    with ApiServer(module_data_dir, SETTINGS) as server:
        yield server


@pytest.fixture(scope="module")
def alpha(api):
    return httpx.Client(base_url=api.url, headers=api.key("alpha"), timeout=120)


@pytest.fixture(scope="module")
def beta(api):
    return httpx.Client(base_url=api.url, headers=api.key("beta"), timeout=120)


def landed_customers(api, partner_id: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute("select customer_ref, ean, mandate_valid_from, mandate_valid_until, revoked_at, source_file "
                           "from read_parquet(?) order by source_file",
                           [str(api.data_dir.landing / partner_id / "customers" / "*.parquet")]).fetchall()


def test_an_enrolment_lands_as_partner_files_and_reads_back_as_received(api, alpha):
    body = enrolment("C-LAND", "871000000000000013", "CP-LAND")
    created = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-land-1"})
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "received"
    assert created.json()["mandate"]["valid_from"] == "2026-01-01"
    assert created.json()["mandate"]["valid_until"] == "2027-12-31"  # two whole calendar years, no renewal
    rows = [r for r in landed_customers(api, "alpha") if r[0] == "C-LAND"]
    assert len(rows) == 1 and rows[0][1] == "871000000000000013"
    raw = (api.data_dir.inbox / rows[0][5]).read_text()
    assert "permission_grid_data" in raw  # the mandate's evidence the contract has no column for, kept raw
    with duckdb.connect() as con:  # the signing record, in the contract's columns of the landed row
        record = con.execute("select consent_text_version, consent_text_sha256, signer_user_id, signer_authentication, "
                             "signer_ip, signer_user_agent, mandate_signed_at from read_parquet(?) where customer_ref = 'C-LAND'",
                             [str(api.data_dir.landing / "alpha" / "customers" / "*.parquet")]).fetchone()
    assert record[:6] == ("2026-01", CONSENT_TEXT_SHA256, "user-C-LAND", "otp", "203.0.113.9",
                          "Mozilla/5.0 (X11; Linux x86_64)")
    assert record[6] == datetime(2026, 2, 1, 9, 15, tzinfo=timezone.utc)
    with duckdb.connect() as con:
        charge_points = con.execute("select charge_point_ref, customer_ref from read_parquet(?)", [
            str(api.data_dir.landing / "alpha" / "charge_points" / "*.parquet")]).fetchall()
    assert ("CP-LAND", "C-LAND") in charge_points
    status = alpha.get("/v1/customers/C-LAND")
    assert status.status_code == 200 and status.json()["state"] == "received"
    assert status.json()["charge_point_refs"] == ["CP-LAND"]


def test_the_same_idempotency_key_replays_the_answer_and_the_same_content_changes_nothing(api, alpha):
    body = enrolment("C-IDEM", "871000000000000020", "CP-IDEM")
    first = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-idem-1"})
    again = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-idem-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    new_key = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-idem-2"})
    assert new_key.status_code == 200
    assert len([r for r in landed_customers(api, "alpha") if r[0] == "C-IDEM"]) == 1
    changed = alpha.post("/v1/customers", json={**body, "language": "en"}, headers={"Idempotency-Key": "k-idem-1"})
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    updated = alpha.post("/v1/customers", json={**body, "language": "en"}, headers={"Idempotency-Key": "k-idem-3"})
    assert updated.status_code == 200
    assert len([r for r in landed_customers(api, "alpha") if r[0] == "C-IDEM"]) == 2  # the latest delivery wins


def _mandate(**changes) -> dict:
    """A complete mandate (with its signing record) but for the changes."""
    return {**enrolment("C-BAD", "871000000000000037", "CP-BAD")["mandate"], **changes}


@pytest.mark.parametrize("change, location", [
    ({"ean": "871000000000000014"}, ["body", "ean"]),
    ({"ean": "541000000000000014"}, ["body", "ean"]),
    ({"iban": "NL00ABNA0417164300"}, ["body", "iban"]),
    ({"iban": None}, ["body", "iban"]),
    ({"address": {"street": "X", "house_number": "1", "postal_code": "12345", "city": "Y"}},
     ["body", "address", "postal_code"]),
    ({"mandate": _mandate(validity_years=1, permission_grid_data=False)},
     ["body", "mandate", "permission_grid_data"]),
    ({"mandate": _mandate(validity_years=1, signed_at="2026-02-01T10:15:00")},
     ["body", "mandate", "signed_at"]),
    ({"mandate": _mandate(validity_years=1, signed_at="2031-02-01T10:15:00+01:00")},
     ["body", "mandate", "signed_at"]),
    ({"charge_points": []}, ["body", "charge_points"]),
    ({"name": "Anna\nde Vries"}, ["body", "name"]),
])
def test_an_invalid_enrolment_is_refused_with_the_field_named(api, alpha, change, location):
    body = {**enrolment("C-BAD", "871000000000000037", "CP-BAD"), **change}
    refused = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": f"k-bad-{location[-1]}"})
    assert refused.status_code == 422, refused.text
    assert location in [error["loc"] for error in refused.json()["detail"]]
    assert not [r for r in landed_customers(api, "alpha") if r[0] == "C-BAD"]


@pytest.mark.parametrize("change, location, says", [
    ({"consent_text_version": "2025-99"}, "consent_text_version", "unknown consent text version; known versions: 2026-01"),
    ({"consent_text_sha256": "0" * 64}, "consent_text_sha256", "is not the SHA-256 of consent text 2026-01"),
])
def test_an_enrolment_naming_a_consent_text_we_do_not_publish_is_refused(api, alpha, change, location, says):
    body = enrolment("C-CONSENT", "871000000000000037", "CP-CONSENT")
    body["mandate"].update(change)
    refused = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": f"k-consent-{location}"})
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "mandate", location] and problem["msg"].startswith(says)
    assert not [r for r in landed_customers(api, "alpha") if r[0] == "C-CONSENT"]


def test_an_enrolment_without_its_signing_record_is_refused(api, alpha):
    body = enrolment("C-NOSIG", "871000000000000037", "CP-NOSIG")
    del body["mandate"]["signature"]
    refused = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-nosig"})
    assert refused.status_code == 422
    assert ["body", "mandate", "signature"] in [problem["loc"] for problem in refused.json()["detail"]]


def test_revoking_lands_the_customer_again_with_revoked_at_and_twice_is_a_no_op(api, alpha):
    alpha.post("/v1/customers", json=enrolment("C-REV", "871000000000000044", "CP-REV"),
               headers={"Idempotency-Key": "k-rev"})
    revoked = alpha.delete("/v1/customers/C-REV/mandate")
    assert revoked.status_code == 200
    # the one clock: JOULO_AS_OF=2027-01-15, its Amsterdam midnight
    assert revoked.json()["mandate"]["revoked_at"] == "2027-01-14T23:00:00Z"
    rows = [r for r in landed_customers(api, "alpha") if r[0] == "C-REV"]
    assert len(rows) == 2 and rows[-1][1] == "871000000000000044"
    assert (rows[0][4], rows[-1][4]) == (None, datetime(2027, 1, 14, 23, tzinfo=timezone.utc))
    assert alpha.delete("/v1/customers/C-REV/mandate").status_code == 200
    assert len([r for r in landed_customers(api, "alpha") if r[0] == "C-REV"]) == 2
    assert alpha.delete("/v1/customers/NOBODY/mandate").status_code == 404


def test_a_revoked_customer_sent_again_as_signed_before_still_reads_revoked(api, alpha):
    body = enrolment("C-AGAIN", "871000000000000044", "CP-AGAIN")
    alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-again-1"})
    revoked_at = alpha.delete("/v1/customers/C-AGAIN/mandate").json()["mandate"]["revoked_at"]
    again = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "k-again-2"})
    assert again.status_code == 200
    assert again.json()["state"] == "received" and again.json()["mandate"]["revoked_at"] == revoked_at
    assert alpha.get("/v1/customers/C-AGAIN").json()["mandate"]["revoked_at"] == revoked_at


def _store_quarter_summary(api, partner_id: str, quarter_start: str) -> None:
    document = {"quarter": "2026-Q1", "as_of": "2027-01-15T00:00:00+01:00", "customers": 1,
                "charge_points": {"eligible": 1}, "reasons": {}, "eligible_eans": 1, "kwh": "10.000000",
                "eligible_kwh": "10.000000", "ere_estimate": "3.326940000000"}
    with store.connect(api.data_dir) as con:
        con.execute("insert or replace into quarter_summaries values (?, ?, ?)",
                    [partner_id, quarter_start, json.dumps(document)])


def test_a_key_of_one_partner_gets_nothing_of_another_on_any_endpoint(api, alpha, beta):
    alpha.post("/v1/customers", json=enrolment("C-MINE", "871000000000000051", "CP-MINE"),
               headers={"Idempotency-Key": "k-mine"})
    hook = alpha.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks"}).json()
    _store_quarter_summary(api, "alpha", "2026-01-01")
    with store.connect(api.data_dir) as con, con:
        record_event(con, "alpha", event_id("alpha", "test", "isolation"), "customer.eligible", "isolation",
                     {"customer_ref": "C-MINE"}, datetime.now(timezone.utc))
    landed_before = len(landed_customers(api, "alpha"))
    probes = {
        ("GET", "/v1/customers/{customer_ref}"): lambda c: c.get("/v1/customers/C-MINE"),
        ("DELETE", "/v1/customers/{customer_ref}/mandate"): lambda c: c.delete("/v1/customers/C-MINE/mandate"),
        ("POST", "/v1/customers/{customer_ref}/charge-points/{charge_point_ref}/evidence"):
            lambda c: c.post("/v1/customers/C-MINE/charge-points/CP-MINE/evidence",
                             files={"file": ("plate.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")}),
        ("GET", "/v1/quarters/{quarter}/summary"): lambda c: c.get("/v1/quarters/2026-Q1/summary"),
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"):
            lambda c: c.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries"),
        ("DELETE", "/v1/webhooks/{webhook_id}"): lambda c: c.delete(f"/v1/webhooks/{hook['webhook_id']}"),
    }
    listings = {
        ("GET", "/v1/webhooks"): lambda c: c.get("/v1/webhooks").json(),
        ("GET", "/v1/events"): lambda c: c.get("/v1/events").json()["events"],
    }
    # POST /v1/customers with another partner's customer_ref creates the caller's own customer of that name.
    creating = {("POST", "/v1/customers"), ("POST", "/v1/webhooks")}
    document = httpx.get(f"{api.url}/openapi.json", timeout=120).json()
    routes = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert routes == set(probes) | set(listings) | creating, "a new endpoint needs its isolation probe here"
    for endpoint, probe in probes.items():
        answer = probe(beta)
        assert answer.status_code == 404, (endpoint, answer.status_code)
    for endpoint, listing in listings.items():
        assert listing(beta) == [], endpoint
        assert listing(alpha) != [], endpoint
    beta.post("/v1/customers", json=enrolment("C-MINE", "871000000000000051", "CP-MINE"),
              headers={"Idempotency-Key": "k-mine"})
    assert alpha.get("/v1/customers/C-MINE").json()["state"] == "received"
    assert len(landed_customers(api, "alpha")) == landed_before  # beta's enrolment went to beta's landing
    assert [r[0] for r in landed_customers(api, "beta")] == ["C-MINE"]
    for endpoint, probe in probes.items():
        assert probe(alpha).status_code in (200, 201, 204), endpoint


def test_requests_without_a_valid_key_are_refused(api):
    with httpx.Client(base_url=api.url, timeout=120) as anonymous:
        assert anonymous.get("/v1/customers/C-LAND").status_code == 401
        assert anonymous.get("/v1/customers/C-LAND", headers={"Authorization": "Bearer jk_nope_nope"}).status_code == 401


def test_a_body_over_the_limit_is_refused_with_413(alpha):
    big = enrolment("C-BIG", "871000000000000013", "CP-BIG", name="x" * 100)
    big["padding"] = "x" * (SETTINGS.max_body_bytes + 1)
    assert alpha.post("/v1/customers", json=big, headers={"Idempotency-Key": "k-big"}).status_code == 413

    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    streamed = alpha.post("/v1/customers", content=chunks(), headers={"Idempotency-Key": "k-big2",
                                                                      "content-type": "application/json"})
    assert streamed.status_code == 413


def test_the_rate_limit_answers_429_with_retry_after(module_data_dir):
    settings = ApiSettings(rate_limit="5/minute", deliver_webhooks=False)
    with ApiServer(module_data_dir, settings) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        first, second = server.key("alpha"), server.key("alpha")
        answers = [client.get("/v1/webhooks", headers=first).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
        limited = client.get("/v1/webhooks", headers=first)
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
        assert client.get("/v1/webhooks", headers=second).status_code == 200  # per key


def test_the_rate_limit_is_one_for_all_worker_processes(tmp_path):
    from joulo_pipelines.lib.api.guards import RateLimiter

    # two workers of `joulo api`, each with its limiter on the data dir's shared hits
    hits = tmp_path / "api" / "rate_limits.sqlite"
    workers = [RateLimiter("3/minute", hits), RateLimiter("3/minute", hits)]
    answers = [workers[i % 2].retry_after("key-a") for i in range(4)]
    assert answers[:3] == [None] * 3 and 1 <= answers[3] <= 60
    assert workers[1].retry_after("key-b") is None  # per key


def test_the_access_log_has_paths_and_key_ids_but_no_personal_data(api, alpha, access_lines):
    alpha.post("/v1/customers", json=enrolment("C-LOG", "871000000000000013", "CP-LOG"),
               headers={"Idempotency-Key": "k-log"})
    alpha.get("/v1/customers/C-LOG")
    lines = [line for line in access_lines if "/v1/customers" in line]
    assert any("POST /v1/customers 20" in line for line in lines)
    assert any("GET /v1/customers/C-LOG 200" in line for line in lines)
    text = "\n".join(access_lines)
    for personal in ("Anna", "Vries", "anna.devries@example.org", "NL91ABNA0417164300", "Meerdervoort", "2517"):
        assert personal not in text
    with store.connect(api.data_dir) as con:
        dump = "\n".join(con.iterdump())
    for personal in ("Anna", "anna.devries@example.org", "NL91ABNA0417164300", "Meerdervoort"):
        assert personal not in dump  # the API's own store holds references, hashes and states only


def test_webhooks_are_signed_retried_with_backoff_and_logged(api, alpha):
    with WebhookReceiver(fail_first=2) as receiver:
        created = alpha.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["customer.eligible"]})
        assert created.status_code == 201
        receiver.secret = created.json()["secret"]
        hook_id = created.json()["webhook_id"]
        with store.connect(api.data_dir) as con, con:
            for kind, subject in (("customer.eligible", "C-1#1"), ("customer.ineligible", "C-2#1")):
                record_event(con, "alpha", event_id("alpha", kind, subject), kind, subject,
                             {"customer_ref": subject[:3]}, datetime.now(timezone.utc))
        until(lambda: receiver.events_of("customer.eligible"), "the retried delivery")
        assert not receiver.refused
        assert not receiver.events_of("customer.ineligible")  # not subscribed
        event = receiver.events_of("customer.eligible")[0]
        assert event["webhook-id"] == event["id"] == event_id("alpha", "customer.eligible", "C-1#1")
        log = alpha.get(f"/v1/webhooks/{hook_id}/deliveries").json()
        assert log["deliveries"] == [{"event_id": event["id"], "event_type": "customer.eligible",
                                      "status": "delivered", "attempts": 3}]
        assert sorted((a["attempt"], a["status_code"]) for a in log["attempts"]) == [(1, 503), (2, 503), (3, 204)]
        with store.connect(api.data_dir) as con, con:
            again = record_event(con, "alpha", event["id"], "customer.eligible", "C-1#1", {}, datetime.now(timezone.utc))
        assert again is False  # the same announcement is never queued twice


def test_a_receiver_that_never_answers_gets_a_bounded_number_of_attempts(api, alpha):
    created = alpha.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/nothing-listens",
                                                "event_types": ["payout.sent"]}).json()
    with store.connect(api.data_dir) as con, con:
        record_event(con, "alpha", event_id("alpha", "payout.sent", "b-1"), "payout.sent", "b-1", {"batch_id": "b-1"},
                     datetime.now(timezone.utc))
    log = until(lambda: (lambda l: l if l["deliveries"] and l["deliveries"][0]["status"] == "failed" else None)(
        alpha.get(f"/v1/webhooks/{created['webhook_id']}/deliveries").json()), "the delivery to give up")
    assert len(log["attempts"]) == FAST_RETRIES.max_attempts
    assert all(a["status_code"] is None and a["error"] for a in log["attempts"])


def test_webhook_urls_on_private_networks_are_refused_by_default(module_data_dir):
    with ApiServer(module_data_dir, ApiSettings(deliver_webhooks=False)) as server:
        with httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=120) as client:
            refused = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:8080/hooks"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "url"]


def test_concurrent_retries_of_one_enrolment_land_it_once(api, alpha):
    from concurrent.futures import ThreadPoolExecutor

    body = enrolment("C-RACE", "871000000000000037", "CP-RACE")
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: alpha.post("/v1/customers", json=body,
                                                     headers={"Idempotency-Key": "k-race"}), range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    assert len([r for r in landed_customers(api, "alpha") if r[0] == "C-RACE"]) == 1
