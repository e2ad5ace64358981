"""A mandate's `signed_at` far in the past is a field error (422), not a 500: year 1 at +14:00 overflowed
when the API converted it to Amsterdam time."""

from __future__ import annotations

import httpx
import pytest

from joulo_pipelines.lib.api.app import ApiSettings
from test_api_servers import ApiServer, enrolment


@pytest.fixture
def alpha(data_dir):
    with ApiServer(data_dir, ApiSettings(rate_limit="100000/minute", deliver_webhooks=False)) as server, \
            httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=30) as client:
        yield client


@pytest.mark.parametrize("signed_at", ["0001-01-01T00:00+14:00", "0001-01-01T00:00-14:00", "1999-12-31T23:59:59Z"])
def test_a_mandate_signed_before_2000_is_a_field_error(alpha, signed_at):
    body = enrolment("C-OLD", "871000000000000013", "CP-OLD")
    body["mandate"]["signed_at"] = signed_at
    answer = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": f"old-{signed_at}"})
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "mandate", "signed_at"]
    assert "2000-01-01" in problem["msg"]


def test_a_mandate_signed_far_in_the_future_is_a_field_error(alpha):
    body = enrolment("C-LATE", "871000000000000013", "CP-LATE")
    body["mandate"]["signed_at"] = "9999-12-31T23:59-14:00"
    answer = alpha.post("/v1/customers", json=body, headers={"Idempotency-Key": "late"})
    assert answer.status_code == 422, answer.text
    assert [p["loc"] for p in answer.json()["detail"]] == [["body", "mandate", "signed_at"]]
