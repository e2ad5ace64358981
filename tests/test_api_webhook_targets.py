"""Webhook SSRF: a URL is checked at registration and again at every delivery, the connection goes to the
address that was checked (DNS rebinding finds nothing to rebind), only public addresses and https pass
outside development. The API and the receiver are real servers on loopback; only the resolver, the one
function the checks ask, is ours, so a test can play a partner's DNS."""

from __future__ import annotations

import base64
import ssl
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme
import urllib3

from joulo_pipelines.lib.api import store, webhook_targets
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.api.delivery import RetryPolicy
from joulo_pipelines.lib.api.webhooks import event_id, record_event
from test_api_servers import ApiServer, until

DEVELOPMENT = ApiSettings(rate_limit="100000/minute", allow_http_webhooks=True, poll_seconds=0.1,
                          retry=RetryPolicy(first_wait_seconds=0.1, max_wait_seconds=0.2, max_attempts=2,
                                            timeout_seconds=5))
HOOK_HOST = "hooks.partner.example"  # does not resolve in real DNS: only through the test's resolver


class Receiver:
    """Answers 204 to every POST and keeps the Host header of each."""

    def __init__(self):
        self.hosts: list[str] = []
        self.authorizations: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                receiver.hosts.append(self.headers["host"])
                receiver.authorizations.append(self.headers["authorization"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dns:
    """The partner's DNS: answers what the test says, and counts the questions."""

    def __init__(self, monkeypatch, *answers: str):
        self.answers = list(answers)
        self.questions = 0
        monkeypatch.setattr(webhook_targets, "resolve", self)

    def __call__(self, host: str, port: int) -> list[str]:
        assert host == HOOK_HOST
        self.questions += 1
        return [self.answers[0]]

    def rebind(self, address: str) -> None:
        self.answers = [address]


def announce(data_dir, n: int) -> None:
    with store.connect(data_dir) as con, con:
        record_event(con, "alpha", event_id("alpha", "payout.sent", f"b-{n}"), "payout.sent", f"b-{n}",
                     {"batch_id": f"b-{n}"}, datetime.now(timezone.utc))


def attempts(client: httpx.Client, hook_id: str, count: int) -> list[dict]:
    return until(lambda: (lambda log: log if len(log["attempts"]) >= count else None)(
        client.get(f"/v1/webhooks/{hook_id}/deliveries").json()), f"{count} delivery attempts")["attempts"]


def test_a_delivery_connects_to_the_address_it_checked_and_a_rebind_to_a_private_one_is_refused(
        data_dir, monkeypatch):
    dns = Dns(monkeypatch, "127.0.0.1")
    with Receiver() as receiver, ApiServer(data_dir, DEVELOPMENT) as server, \
            httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=30) as client:
        url = f"http://partner:s%40cret@{HOOK_HOST}:{receiver.port}/hooks"
        created = client.post("/v1/webhooks", json={"url": url, "event_types": ["payout.sent"]})
        assert created.status_code == 201, created.text
        hook_id = created.json()["webhook_id"]
        asked_at_registration = dns.questions

        announce(data_dir, 1)
        first = attempts(client, hook_id, 1)
        assert first[0]["status_code"] == 204
        # The name resolves nowhere but in our resolver: the connection went to the address checked, and the
        # receiver still saw the name.
        assert receiver.hosts == [f"{HOOK_HOST}:{receiver.port}"]
        assert receiver.authorizations == ["Basic " + base64.b64encode(b"partner:s@cret").decode()]
        assert dns.questions == asked_at_registration + 1  # resolved again for the delivery, once

        dns.rebind("10.0.0.1")
        announce(data_dir, 2)
        refused = [a for a in attempts(client, hook_id, 3) if a["event_id"] != first[0]["event_id"]]
    assert refused and all(a["status_code"] is None for a in refused)
    assert refused[0]["error"] == f"refused: host '{HOOK_HOST}' resolves to 10.0.0.1, which is not a public address"
    assert receiver.hosts == [f"{HOOK_HOST}:{receiver.port}"]  # nothing more reached a receiver


def test_a_url_checked_public_at_registration_is_refused_when_it_resolves_private_at_delivery(data_dir, monkeypatch):
    dns = Dns(monkeypatch, "93.184.215.14")
    with ApiServer(data_dir, DEVELOPMENT) as server, \
            httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=30) as client:
        created = client.post("/v1/webhooks", json={"url": f"http://{HOOK_HOST}/hooks",
                                                    "event_types": ["payout.sent"]})
        assert created.status_code == 201, created.text
        dns.rebind("169.254.169.254")  # a cloud's metadata service
        announce(data_dir, 1)
        refused = attempts(client, created.json()["webhook_id"], 1)
    assert refused[0]["status_code"] is None
    assert refused[0]["error"] == (f"refused: host '{HOOK_HOST}' resolves to 169.254.169.254, "
                                   "which is not a public address")


@pytest.mark.parametrize("address", ["100.64.0.1", "2002:a00:1::1", "2001:0:a00:1::1", "64:ff9b::a00:1",
                                     "::ffff:10.0.0.1", "10.0.0.1", "127.0.0.1", "::1", "fd00::1", "169.254.169.254",
                                     "192.0.2.1", "0.0.0.0"])
def test_registration_refuses_every_address_that_is_not_public(data_dir, monkeypatch, address):
    Dns(monkeypatch, address)
    with ApiServer(data_dir, ApiSettings(deliver_webhooks=False)) as server, \
            httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=120) as client:
        refused = client.post("/v1/webhooks", json={"url": f"https://{HOOK_HOST}/hooks"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [{"loc": ["body", "url"], "type": "value_error",
                                         "msg": f"host '{HOOK_HOST}' resolves to {address}, which is not a "
                                                "public address"}]


def test_outside_development_a_webhook_must_be_https_and_development_allows_loopback_only(monkeypatch):
    Dns(monkeypatch, "93.184.215.14")
    with pytest.raises(webhook_targets.RefusedTarget, match="must be https"):
        webhook_targets.check(f"http://{HOOK_HOST}/hooks", allow_http=False)
    target = webhook_targets.check(f"https://{HOOK_HOST}/hooks?x=1", allow_http=False)
    assert (target.address, target.host, target.port, target.path) == ("93.184.215.14", HOOK_HOST, 443, "/hooks?x=1")

    Dns(monkeypatch, "127.0.0.1")
    with pytest.raises(webhook_targets.RefusedTarget, match="not a public address"):
        webhook_targets.check(f"https://{HOOK_HOST}/hooks", allow_http=False)
    assert webhook_targets.check(f"http://{HOOK_HOST}/hooks", allow_http=True).address == "127.0.0.1"
    Dns(monkeypatch, "192.168.1.10")
    with pytest.raises(webhook_targets.RefusedTarget, match="not a public address"):
        webhook_targets.check(f"http://{HOOK_HOST}/hooks", allow_http=True)


def test_one_private_answer_among_public_ones_refuses_the_host(monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: ["93.184.215.14", "10.1.2.3"])
    with pytest.raises(webhook_targets.RefusedTarget, match="10.1.2.3"):
        webhook_targets.check(f"https://{HOOK_HOST}/hooks", allow_http=False)


class TlsReceiver(Receiver):
    """The receiver over TLS with a certificate for `name` from a CA made here; keeps the SNI it is asked."""

    def __init__(self, ca: trustme.CA, name: str):
        super().__init__()
        self.server_names: list[str | None] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(name).configure_cert(context)
        context.sni_callback = lambda _socket, server_name, _context: self.server_names.append(server_name)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)


@pytest.fixture
def ca(monkeypatch, tmp_path):
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setattr(webhook_targets, "CA_BUNDLE", str(bundle))
    return authority


def test_https_goes_to_the_checked_address_with_the_hosts_name_for_sni_and_the_certificate(ca):
    with TlsReceiver(ca, HOOK_HOST) as receiver:
        target = webhook_targets.Target("https", HOOK_HOST, receiver.port, "127.0.0.1", "/hooks")
        assert webhook_targets.post(target, b"{}", {"content-type": "application/json"}, timeout=10) == 204
    assert receiver.server_names == [HOOK_HOST]
    assert receiver.hosts == [f"{HOOK_HOST}:{receiver.port}"]


def test_https_refuses_a_certificate_for_another_name_at_the_checked_address(ca):
    with TlsReceiver(ca, "intranet.joulo.example") as receiver:
        target = webhook_targets.Target("https", HOOK_HOST, receiver.port, "127.0.0.1", "/hooks")
        with pytest.raises(urllib3.exceptions.SSLError, match="hooks.partner.example"):
            webhook_targets.post(target, b"{}", {}, timeout=10)
    assert receiver.hosts == []


@pytest.mark.parametrize("url", ["http://example.org]/hooks", "https://[::1/hooks", "https://host:99999/hooks",
                                 "https:///hooks"])
def test_a_url_that_does_not_parse_is_refused_not_an_error(url):
    with pytest.raises(webhook_targets.RefusedTarget):
        webhook_targets.check(url, allow_http=True)
