"""Real servers on loopback for the partner API tests (no tests here): the API under uvicorn in a thread,
and a webhook receiver that verifies every delivery with the Standard Webhooks reference library."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from joulo_pipelines.lib.api import keys, store
from joulo_pipelines.lib.api.app import ApiSettings, create_app
from joulo_pipelines.lib.consent_texts import REFERENCE_TEXTS, install_reference_texts
from joulo_pipelines.lib.paths import DataDir


# The nl text of the consent text version the enrolments below name (data/reference/consent_texts/).
CONSENT_TEXT_SHA256 = hashlib.sha256((REFERENCE_TEXTS / "2026-01.nl.md").read_bytes()).hexdigest()


class ApiServer:
    def __init__(self, data_dir: DataDir, settings: ApiSettings):
        self.data_dir = data_dir
        install_reference_texts(data_dir)  # as installed: the API knows the consent texts we publish
        self.app = create_app(data_dir, settings)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> "ApiServer":
        self.thread.start()
        until(lambda: self.server.started, "the API server to start")
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=300)
        self.socket.close()

    def key(self, partner_id: str) -> dict:
        """Headers with a new key of the partner, issued the way `joulo api-key create` does."""
        with store.connect(self.data_dir) as con:
            _, key = keys.issue_key(con, partner_id)
        return {"Authorization": f"Bearer {key}"}


class WebhookReceiver:
    """Collects deliveries whose signature verifies; answers 503 to the first `fail_first` of each event."""

    def __init__(self, fail_first: int = 0):
        self.secret: str | None = None
        self.fail_first = fail_first
        self.received: list[dict] = []
        self.refused: list[str] = []
        self.attempts: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    Webhook(receiver.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
                except WebhookVerificationError as exc:
                    receiver.refused.append(str(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                event = json.loads(body)
                receiver.attempts[event["id"]] = receiver.attempts.get(event["id"], 0) + 1
                if receiver.attempts[event["id"]] <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({**event, "webhook-id": self.headers["webhook-id"]})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events_of(self, event_type: str) -> list[dict]:
        return [e for e in self.received if e["type"] == event_type]


def until(condition, what: str, timeout: float = 300.0):
    """Wait for something another thread or process does; the timeout only bounds a failure (generous: a
    loaded machine is slow, not broken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def enrolment(ref: str, ean: str, charge_point_ref: str, **overrides) -> dict:
    body = {
        "customer_ref": ref,
        "name": "Anna de Vries",
        "email": "anna.devries@example.org",
        "iban": "NL91ABNA0417164300",
        "address": {"street": "Laan van Meerdervoort", "house_number": "12a", "postal_code": "2517 AK",
                    "city": "Den Haag"},
        "ean": ean,
        "mandate": {"signed_at": "2026-02-01T10:15:00+01:00", "validity_years": 2,
                    "permission_grid_data": True, "permission_site_inspection": True,
                    "consent_text_version": "2026-01", "consent_text_sha256": CONSENT_TEXT_SHA256,
                    "signature": {"partner_user_id": f"user-{ref}", "authentication": "otp",
                                  "ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}},
        "charge_points": [{"charge_point_ref": charge_point_ref, "brand": "Tesla",
                           "model": "Wall Connector Gen 3 MID", "serial_number": f"SN-{charge_point_ref}",
                           "meter_serial": f"M-{charge_point_ref}"}],
    }
    body.update(overrides)
    return body
