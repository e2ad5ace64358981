"""The webhook delivery worker: sends due deliveries, at least once, retrying with exponential backoff,
and logs every attempt.

Times here are the wall clock, not the platform's one clock (`lib/clock.py`): the receiver checks
`webhook-timestamp` against its own clock (Standard Webhooks allows five minutes), and retry waits are
real waits even when the demo pins the business date."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import urllib3

from joulo_pipelines.lib.api import store, webhook_targets
from joulo_pipelines.lib.api.webhooks import sign
from joulo_pipelines.lib.paths import DataDir

log = logging.getLogger("joulo.api.webhooks")


@dataclass(frozen=True)
class RetryPolicy:
    first_wait_seconds: float = 10.0
    max_wait_seconds: float = 6 * 3600.0
    max_attempts: int = 12  # ~1.5 days of trying with the defaults
    timeout_seconds: float = 10.0

    def wait_after(self, attempt: int) -> float:
        return min(self.first_wait_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


def deliver_due(data_dir: DataDir, policy: RetryPolicy, allow_http: bool = False, batch: int = 20) -> int:
    """One pass: claim up to `batch` due deliveries, send them, record the outcome. Returns how many were sent.
    `allow_http` is development: http and loopback receivers (webhook_targets)."""
    now = time.time()
    with store.connect(data_dir) as con:
        with store.transaction(con):
            due = con.execute(
                "select d.event_id, d.webhook_id, d.attempts, e.body, w.url, w.secret from deliveries d "
                "join events e using (event_id) join webhooks w using (webhook_id) "
                "where d.status = 'pending' and d.next_attempt_at <= ? "
                "order by d.next_attempt_at, e.created_at, d.event_id limit ?", [now, batch]).fetchall()
            # A lease: another worker process skips these until the attempt has had time to finish.
            con.executemany("update deliveries set next_attempt_at = ? where event_id = ? and webhook_id = ?",
                            [[now + policy.timeout_seconds + 5, r["event_id"], r["webhook_id"]] for r in due])
        for row in due:
            attempt = row["attempts"] + 1
            status_code, error, took = _send(row, policy.timeout_seconds, allow_http)
            finished = time.time()
            delivered = status_code is not None and 200 <= status_code < 300
            if delivered:
                state, next_at = "delivered", None
            elif attempt >= policy.max_attempts:
                state, next_at = "failed", None
            else:
                state, next_at = "pending", finished + policy.wait_after(attempt)
            with store.transaction(con):
                con.execute("insert or ignore into delivery_attempts (event_id, webhook_id, attempt, attempted_at, "
                            "status_code, error, duration_ms) values (?, ?, ?, ?, ?, ?, ?)",
                            [row["event_id"], row["webhook_id"], attempt, finished, status_code, error, took])
                con.execute("update deliveries set status = ?, attempts = ?, next_attempt_at = coalesce(?, "
                            "next_attempt_at), delivered_at = ? where event_id = ? and webhook_id = ?",
                            [state, attempt, next_at, finished if delivered else None, row["event_id"],
                             row["webhook_id"]])
            log.info("webhook %s event %s attempt %d: %s", row["webhook_id"], row["event_id"], attempt,
                     status_code if status_code is not None else error)
    return len(due)


def _send(row, timeout: float, allow_http: bool) -> tuple[int | None, str | None, int]:
    """(status code, error for the delivery log, milliseconds). The URL is checked again here: its host may
    resolve elsewhere than when it was registered."""
    started = time.monotonic()
    try:
        target = webhook_targets.check(row["url"], allow_http)
    except webhook_targets.RefusedTarget as exc:
        return None, f"refused: {exc}", _ms(started)
    body = row["body"].encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": row["event_id"],
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(row["secret"], row["event_id"], timestamp, body),
        "user-agent": "joulo-webhooks/1",
    }
    try:
        status = webhook_targets.post(target, body, headers, timeout)
        return status, None if 200 <= status < 300 else f"HTTP {status}", _ms(started)
    except urllib3.exceptions.HTTPError as exc:
        return None, type(exc).__name__, _ms(started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class DeliveryWorker(threading.Thread):
    """Polls the outbox in the API process until stopped."""

    def __init__(self, data_dir: DataDir, policy: RetryPolicy, poll_seconds: float = 1.0, allow_http: bool = False):
        super().__init__(name="webhook-delivery", daemon=True)
        self.data_dir, self.policy, self.poll_seconds, self.allow_http = data_dir, policy, poll_seconds, allow_http
        self._stop_requested = threading.Event()

    def run(self) -> None:
        while not self._stop_requested.is_set():
            try:
                sent = deliver_due(self.data_dir, self.policy, self.allow_http)
            except Exception:  # a broken pass must not end deliveries for good; the next pass retries
                log.exception("webhook delivery pass failed")
                sent = 0
            if not sent:
                self._stop_requested.wait(self.poll_seconds)

    def stop(self) -> None:
        self._stop_requested.set()
        self.join(timeout=30)
