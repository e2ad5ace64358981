"""The OCPI connector against a real OCPI server on loopback: pagination, retries, the cursor, quarantine
and OCMF signatures, down to what lands on disk."""

import base64
import hashlib
import json

import pyarrow.parquet as pq
import pytest
import yaml

from joulo_pipelines.lib.ocpi.pull import client_for, pull_partner, read_cursor
from joulo_pipelines.lib.partners import load_registry
from ocpi_server import OcmfSigner, OcpiServer, make_cdr, signed_data

TOKEN = "gamma-secret-token"


def add_ocpi_partner(data_dir, url, partner_id="gamma"):
    document = yaml.safe_load(data_dir.partners_file.read_text())
    document["partners"].append({
        "id": partner_id, "name": "Gamma CPMS B.V.",
        "brand": {"display_name": "Gamma", "sender_email": "payouts@gamma.example"},
        "payout_model": "direct", "service_fee_pct": "15",
        "source": {"type": "ocpi", "url": url, "token_env": "OCPI_TOKEN_GAMMA"},
    })
    data_dir.partners_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_registry(data_dir.partners_file).get(partner_id)


def cdrs(n, day="2026-02-0{}", updated="2026-02-10T00:00:0{}Z"):
    return [make_cdr(f"CDR{i}", "CP1", f"{day.format(i)}T18:00:00Z", f"{day.format(i)}T20:00:00Z", f"{i}.5",
                     updated.format(i)) for i in range(1, n + 1)]


def landed(data_dir, partner_id="gamma"):
    files = sorted((data_dir.landing / partner_id / "ocpi_cdrs").glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


@pytest.fixture
def recorded_waits():
    return []


@pytest.fixture
def fast_client(recorded_waits):
    """The real client; its waits are recorded instead of slept, so retries cost no test time."""
    return lambda partner: client_for(partner, sleep=recorded_waits.append, backoff=0.5)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("OCPI_TOKEN_GAMMA", TOKEN)


def test_pages_are_followed_by_their_link_header_with_the_base64_token_and_the_date_window(data_dir, fast_client):
    with OcpiServer(TOKEN, cdrs=cdrs(5), max_limit=2) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        result = pull_partner(data_dir, partner, client_factory=fast_client)

    assert result.error is None and result.pages_fetched == 3 and result.cdrs_landed == 5
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2", "CDR3", "CDR4", "CDR5"]
    assert [r["query"]["offset"] for r in server.requests] == ["0", "2", "4"]
    assert {r["authorization"] for r in server.requests} == {"Token " + base64.b64encode(TOKEN.encode()).decode()}
    assert server.requests[0]["query"]["date_to"] == "2027-01-14T23:00:00Z"  # JOULO_AS_OF, Amsterdam midnight
    assert "date_from" not in server.requests[0]["query"]  # no cursor yet: everything
    manifests = [json.loads(p.read_text()) for p in (data_dir.landing / "gamma" / "manifest").glob("*.json")]
    assert {m["dataset"] for m in manifests} == {"ocpi_cdrs"} and {m["x_total_count"] for m in manifests} == {5}
    pages = []
    for manifest in manifests:  # the raw page is kept byte for byte under its hash
        body = (data_dir.raw / f"{manifest['file_sha256']}.json").read_bytes()
        assert hashlib.sha256(body).hexdigest() == manifest["file_sha256"]
        pages.append([cdr["id"] for cdr in json.loads(body)["data"]])
    assert sorted(pages) == [["CDR1", "CDR2"], ["CDR3", "CDR4"], ["CDR5"]]


def test_429_with_retry_after_a_500_and_a_dropped_connection_are_retried_and_nothing_is_lost_or_doubled(
        data_dir, fast_client, recorded_waits):
    # Request 1: 429 (Retry-After 2); 2: page 1; 3: 500; 4: page 2; 5: dropped mid-body; 6: page 3.
    with OcpiServer(TOKEN, cdrs=cdrs(5), max_limit=2, faults={1: "429", 3: "500", 5: "drop"}) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        result = pull_partner(data_dir, partner, client_factory=fast_client)

    assert result.error is None and result.pages_fetched == 3
    assert recorded_waits[0] == 2  # the server's Retry-After, not our own backoff
    assert len(recorded_waits) == 3
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2", "CDR3", "CDR4", "CDR5"]


def test_a_page_that_fails_for_good_leaves_the_cursor_and_the_next_run_resumes_without_gaps(data_dir, fast_client):
    with OcpiServer(TOKEN, cdrs=cdrs(5), max_limit=2, always_fail_offset=2) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        failed = pull_partner(data_dir, partner, client_factory=fast_client)
        assert failed.error and "HTTP 500 after 5 attempts" in failed.error and "offset=2" in failed.error
        assert read_cursor(data_dir, "gamma") is None and not failed.cursor_moved
        assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2"]

        server.always_fail_offset = None
        resumed = pull_partner(data_dir, partner, client_factory=fast_client)

    assert resumed.error is None and resumed.cursor_moved
    assert resumed.pages_new == 2  # the first page's bytes were landed already: a no-op
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2", "CDR3", "CDR4", "CDR5"]
    assert read_cursor(data_dir, "gamma").isoformat() == "2027-01-14T23:00:00+00:00"


def test_the_cursor_fetches_only_what_changed_including_a_cdr_edited_after_the_cursor_passed_it(
        data_dir, fast_client, monkeypatch):
    with OcpiServer(TOKEN, cdrs=cdrs(3), max_limit=10) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        monkeypatch.setenv("JOULO_AS_OF", "2026-03-01T00:00:00+00:00")
        pull_partner(data_dir, partner, client_factory=fast_client)
        edited = {**server.cdrs[1], "total_energy": 9, "last_updated": "2026-03-05T08:00:00Z"}
        edited["charging_periods"] = [{**edited["charging_periods"][0],
                                       "dimensions": [{"type": "ENERGY", "volume": 9}]}]
        server.cdrs[1] = edited
        monkeypatch.setenv("JOULO_AS_OF", "2026-04-01T00:00:00+00:00")
        second = pull_partner(data_dir, partner, client_factory=fast_client)

    assert server.requests[-1]["query"]["date_from"] == "2026-03-01T00:00:00Z"
    assert second.cdrs_landed == 1
    versions = sorted((str(r["last_updated"]), str(r["total_energy_kwh"])) for r in landed(data_dir)
                      if r["cdr_id"] == "CDR2")
    assert versions == [("2026-02-10 00:00:02+00:00", "2.500000"), ("2026-03-05 08:00:00+00:00", "9.000000")]


def test_a_malformed_cdr_is_quarantined_with_its_reason_and_the_rest_of_the_page_lands(data_dir, fast_client):
    broken = make_cdr("BROKEN", "CP1", "2026-02-05T18:00:00Z", "2026-02-05T17:00:00Z", "3", "2026-02-10T00:00:09Z")
    no_energy = make_cdr("NOENERGY", "CP1", "2026-02-06T18:00:00Z", "2026-02-06T19:00:00Z", "3", "2026-02-10T00:00:09Z")
    del no_energy["total_energy"]
    with OcpiServer(TOKEN, cdrs=[*cdrs(2), broken, no_energy], max_limit=10) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        result = pull_partner(data_dir, partner, client_factory=fast_client)

    assert result.cdrs_landed == 2 and result.cdrs_quarantined == 2 and result.cursor_moved
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2"]
    report = next((data_dir.quarantine / "gamma").glob("*.errors.csv")).read_text()
    assert "end_date_time is before start_date_time" in report and "CDR BROKEN" in report
    assert "total_energy" in report and "Field required" in report and "CDR NOENERGY" in report
    assert "04A1B2C3D4" not in report  # the token uid is personal: never in a report
    rejected = json.loads(next((data_dir.quarantine / "gamma").glob("*.rejected_cdrs.json")).read_text())
    assert [c["id"] for c in rejected] == ["BROKEN", "NOENERGY"]


def test_ocmf_signed_values_that_verify_and_one_tampered_with_are_told_apart(data_dir, fast_client):
    signer = OcmfSigner()
    start, end = "2026-02-01T18:00:00Z", "2026-02-01T20:00:00Z"
    good = make_cdr("GOOD", "CP1", start, end, "12.345", "2026-02-02T00:00:00Z",
                    signed=signed_data(signer, "M1", start, end, "1000.000", "1012.345"))
    tampered = make_cdr("TAMPERED", "CP1", start, end, "12.345", "2026-02-02T00:00:01Z",
                        signed=signed_data(signer, "M1", start, end, "1000.000", "1012.345", tamper=True))
    other_key = make_cdr("OTHERKEY", "CP1", start, end, "12.345", "2026-02-02T00:00:02Z",
                         signed={**signed_data(signer, "M1", start, end, "1000.000", "1012.345"),
                                 "public_key": OcmfSigner().public_key})
    plain = make_cdr("PLAIN", "CP1", start, end, "12.345", "2026-02-02T00:00:03Z")
    with OcpiServer(TOKEN, cdrs=[good, tampered, other_key, plain], max_limit=10) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        pull_partner(data_dir, partner, client_factory=fast_client)

    rows = {r["cdr_id"]: r for r in landed(data_dir)}
    assert rows["GOOD"]["signature_check"] == "verified" and str(rows["GOOD"]["signed_energy_kwh"]) == "12.345000"
    assert rows["TAMPERED"]["signature_check"] == "invalid" and "does not match" in rows["TAMPERED"]["signature_reason"]
    assert rows["OTHERKEY"]["signature_check"] == "invalid"
    assert rows["PLAIN"]["signature_check"] == "absent"


def _pull_with_a_cursor_then_fail(data_dir, fast_client, monkeypatch, **failing_server):
    """A first pull sets the cursor; a second pull against a server that refuses it; returns its result."""
    with OcpiServer(TOKEN, cdrs=cdrs(2), max_limit=10) as server:
        partner = add_ocpi_partner(data_dir, server.url)
        monkeypatch.setenv("JOULO_AS_OF", "2026-03-01T00:00:00+00:00")
        assert pull_partner(data_dir, partner, client_factory=fast_client).cursor_moved
    monkeypatch.setenv("JOULO_AS_OF", "2026-04-01T00:00:00+00:00")
    with OcpiServer(cdrs=cdrs(3), max_limit=10, **failing_server) as server:
        document = yaml.safe_load(data_dir.partners_file.read_text())
        document["partners"][-1]["source"]["url"] = server.url
        data_dir.partners_file.write_text(yaml.safe_dump(document, sort_keys=False))
        partner = load_registry(data_dir.partners_file).get("gamma")
        return pull_partner(data_dir, partner, client_factory=fast_client), server


def test_an_ocpi_error_status_inside_a_200_envelope_fails_the_pull_with_its_message_and_leaves_the_cursor(
        data_dir, fast_client, monkeypatch):
    result, server = _pull_with_a_cursor_then_fail(data_dir, fast_client, monkeypatch, token=TOKEN,
                                                   envelope_error=(2001, "invalid or missing parameters"))
    assert server.requests and server.requests[0]["query"]["date_from"] == "2026-03-01T00:00:00Z"
    assert "OCPI status_code 2001: invalid or missing parameters" in result.error
    assert not result.cursor_moved and result.cdrs_landed == 0
    assert read_cursor(data_dir, "gamma").isoformat() == "2026-03-01T00:00:00+00:00"
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2"]


def test_an_http_401_fails_the_pull_with_the_servers_message_and_leaves_the_cursor(
        data_dir, fast_client, monkeypatch):
    result, server = _pull_with_a_cursor_then_fail(data_dir, fast_client, monkeypatch, token="another-token")
    assert len(server.requests) == 1  # a refused token is not retried
    assert "HTTP 401: invalid token" in result.error
    assert not result.cursor_moved and result.cdrs_landed == 0
    assert read_cursor(data_dir, "gamma").isoformat() == "2026-03-01T00:00:00+00:00"
    assert sorted(r["cdr_id"] for r in landed(data_dir)) == ["CDR1", "CDR2"]


def test_a_missing_token_variable_is_named_and_leaves_the_cursor(data_dir, monkeypatch):
    monkeypatch.delenv("OCPI_TOKEN_GAMMA")
    partner = add_ocpi_partner(data_dir, "http://127.0.0.1:9/ocpi/cpo/2.2.1/cdrs")
    result = pull_partner(data_dir, partner)
    assert "OCPI_TOKEN_GAMMA" in result.error and read_cursor(data_dir, "gamma") is None
