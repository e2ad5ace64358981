"""Revoking a partner's API key with `joulo api-key revoke` while the API serves: from the next request on,
that key gets 401 on every endpoint (and changes nothing), and another key of the same partner keeps working."""

from __future__ import annotations

import re

import httpx
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib.api.app import ApiSettings
from mid_evidence_documents import photo
from test_api_servers import ApiServer, WebhookReceiver, enrolment

SETTINGS = ApiSettings(rate_limit="100000/minute", allow_http_webhooks=True, deliver_webhooks=False)


def issue_key(partner_id: str, capsys) -> tuple[str, str]:
    """(key id, key) as `joulo api-key create` prints them."""
    assert cli.main(["api-key", "create", "--partner", partner_id]) == 0
    match = re.search(r"key (\w+) for \w+ .*\n(jk_\S+)", capsys.readouterr().out)
    return match.group(1), match.group(2)


def requests_for_every_endpoint(client: httpx.Client, receiver_url: str, webhook_id: str) -> list[tuple]:
    """One well-formed request per /v1 operation of the served OpenAPI document (method, path, httpx body
    arguments), reads before writes and deletes last: an endpoint added later is covered without touching this
    test (one that takes an upload gets a small photo)."""
    values = {"customer_ref": "REV-1", "charge_point_ref": "REV-CP-1", "quarter": "2026-Q1",
              "webhook_id": webhook_id}
    bodies = {("POST", "/v1/customers"): enrolment("REV-2", "871000000000000020", "REV-CP-2"),
              ("POST", "/v1/webhooks"): {"url": receiver_url}}
    paths = client.get("/openapi.json").json()["paths"]
    requests = []
    for path, operations in paths.items():
        for method, operation in operations.items() if path.startswith("/v1/") else ():
            uploads = "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
            body = ({"files": {"file": ("plate.png", photo("PNG"), "image/png")}} if uploads
                    else {"json": bodies.get((method.upper(), path))})
            requests.append((method.upper(), path.format(**values), body))
    return sorted(requests, key=lambda r: (["GET", "POST", "DELETE"].index(r[0]), r[1]))


def test_a_revoked_key_gets_401_everywhere_at_once_and_the_partners_other_key_keeps_working(data_dir, capsys):
    revoked_id, revoked_key = issue_key("alpha", capsys)
    _, other_key = issue_key("alpha", capsys)
    with ApiServer(data_dir, SETTINGS) as server, WebhookReceiver() as receiver, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        revoked = {"Authorization": f"Bearer {revoked_key}"}
        other = {"Authorization": f"Bearer {other_key}"}
        assert client.post("/v1/customers", json=enrolment("REV-1", "871000000000000013", "REV-CP-1"),
                           headers={**revoked, "Idempotency-Key": "rev-1"}).status_code == 201
        webhook = client.post("/v1/webhooks", json={"url": receiver.url}, headers=revoked)
        assert webhook.status_code == 201
        endpoints = requests_for_every_endpoint(client, receiver.url, webhook.json()["webhook_id"])
        assert {(m, p) for m, p, _ in endpoints} >= {
            ("POST", "/v1/customers"), ("GET", "/v1/customers/REV-1"), ("DELETE", "/v1/customers/REV-1/mandate"),
            ("GET", "/v1/quarters/2026-Q1/summary"), ("POST", "/v1/webhooks"), ("GET", "/v1/webhooks"),
            ("GET", "/v1/events")}

        assert cli.main(["api-key", "revoke", revoked_id]) == 0  # the server keeps running

        for method, path, body in endpoints:
            answer = client.request(method, path, **body, headers={**revoked, "Idempotency-Key": "rev-2"})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        # Nothing the revoked key asked for happened: the customer is still enrolled, not revoked, and REV-2 and
        # a second webhook do not exist.
        customer = client.get("/v1/customers/REV-1", headers=other)
        assert customer.status_code == 200 and customer.json()["mandate"]["revoked_at"] is None
        assert client.get("/v1/customers/REV-2", headers=other).status_code == 404
        assert [w["webhook_id"] for w in client.get("/v1/webhooks", headers=other).json()] == [webhook.json()["webhook_id"]]

        for method, path, body in endpoints:
            answer = client.request(method, path, **body, headers={**other, "Idempotency-Key": "other-1"})
            if path == "/v1/quarters/2026-Q1/summary":  # authenticated, but no quarter is built in this data dir
                assert (answer.status_code, answer.json()["detail"]) == (404, "no quarter '2026-Q1' for this key")
            else:
                assert answer.status_code in (200, 201, 204), (method, path, answer.text)
    listed = [line for line in (cli.main(["api-key", "list"]), capsys.readouterr().out)[1].splitlines()
              if line.startswith(revoked_id)]
    assert len(listed) == 1 and "revoked 2027-01-14T23:00:00+00:00" in listed[0]


@pytest.mark.parametrize("header", [None, "Bearer jk_000000000000_not-a-key", "Basic YWxwaGE6c2VjcmV0"])
def test_no_key_or_an_unknown_one_gets_401(data_dir, header):
    with ApiServer(data_dir, SETTINGS) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.get("/v1/webhooks", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
