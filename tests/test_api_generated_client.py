"""A client the project's authors did not write: `openapi-python-client` generates a Python client from
the API's served OpenAPI document at test time, and a partner's platform enrols, follows and revokes a
customer and subscribes to webhooks with it alone."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx

from joulo_pipelines.lib.api import store
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.api.delivery import RetryPolicy
from joulo_pipelines.lib.api.webhooks import event_id, record_event
from test_api_servers import ApiServer, WebhookReceiver, enrolment, until

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate_client(openapi_url: str, folder: Path):
    (folder / "openapi.json").write_bytes(httpx.get(openapi_url, timeout=300.0).content)
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter needed to import it
    subprocess.run([str(GENERATOR), "generate", "--path", str(folder / "openapi.json"), "--meta", "none",
                    "--output-path", str(folder / "partner_client"), "--config", str(folder / "config.yaml")],
                   check=True, capture_output=True)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("partner_client")
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_enrols_follows_revokes_and_subscribes(data_dir, tmp_path):
    settings = ApiSettings(allow_http_webhooks=True, poll_seconds=0.1,
                           retry=RetryPolicy(first_wait_seconds=0.2, max_wait_seconds=1.0))
    with ApiServer(data_dir, settings) as server, WebhookReceiver() as receiver:
        generated = generate_client(f"{server.url}/openapi.json", tmp_path)
        from partner_client.api.customers import enrol_customer, get_customer, revoke_mandate
        from partner_client.api.webhooks import create_webhook, delivery_log
        from partner_client.models import CustomerStatus, Enrolment, WebhookIn

        token = lambda partner: server.key(partner)["Authorization"].removeprefix("Bearer ")  # noqa: E731
        # httpx's default 5 s per request is a deadline a loaded machine exceeds; the test's limit bounds a hang.
        patient = httpx.Timeout(300.0)
        alpha = generated.AuthenticatedClient(base_url=server.url, token=token("alpha"), timeout=patient)
        beta = generated.AuthenticatedClient(base_url=server.url, token=token("beta"), timeout=patient)

        body = Enrolment.from_dict(enrolment("GEN-1", "871000000000000013", "GEN-CP-1"))
        created = enrol_customer.sync_detailed(client=alpha, body=body, idempotency_key="gen-1")
        assert created.status_code == 201 and isinstance(created.parsed, CustomerStatus)
        assert created.parsed.state.value == "received"
        followed = get_customer.sync(client=alpha, customer_ref="GEN-1")
        assert followed.charge_point_refs == ["GEN-CP-1"]
        assert get_customer.sync_detailed(client=beta, customer_ref="GEN-1").status_code == 404
        assert revoke_mandate.sync_detailed(client=beta, customer_ref="GEN-1").status_code == 404
        revoked = revoke_mandate.sync(client=alpha, customer_ref="GEN-1")
        assert revoked.mandate.revoked_at == datetime(2027, 1, 14, 23, tzinfo=timezone.utc)  # JOULO_AS_OF's midnight

        hook = create_webhook.sync(client=alpha, body=WebhookIn.from_dict({"url": receiver.url}))
        receiver.secret = hook.secret
        with store.connect(data_dir) as con, con:
            record_event(con, "alpha", event_id("alpha", "customer.ineligible", "GEN-1#1"), "customer.ineligible",
                         "GEN-1#1", {"customer_ref": "GEN-1"}, datetime.now(timezone.utc))
        until(lambda: receiver.received, "the webhook")
        assert delivery_log.sync(client=alpha, webhook_id=hook.webhook_id).deliveries[0].status.value == "delivered"
        assert delivery_log.sync_detailed(client=beta, webhook_id=hook.webhook_id).status_code == 404
