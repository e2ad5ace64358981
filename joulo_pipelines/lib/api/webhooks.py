"""Webhooks: partners' subscriptions, the outbox of events, and signatures per the Standard Webhooks spec
(standardwebhooks.com): headers `webhook-id`, `webhook-timestamp` and `webhook-signature` =
`v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">` with the subscription's `whsec_` secret.

An event is written once (its id is derived from what it announces, so a rerun adds nothing) and fanned
out to the partner's subscriptions for its type that exist at that moment: one delivery row each, which
the delivery worker sends until the receiver answers 2xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
from datetime import datetime, timezone

from joulo_pipelines.lib import clock

SECRET_PREFIX = "whsec_"


def event_id(*parts: str) -> str:
    """A deterministic id: the same announcement always gets the same id, so receivers can de-duplicate."""
    return "evt_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def event_body(event_id_: str, event_type: str, created_at: datetime, data: dict) -> str:
    return json.dumps({"id": event_id_, "type": event_type, "timestamp": created_at.isoformat(), "data": data},
                      sort_keys=True, separators=(",", ":"))


def record_event(con: sqlite3.Connection, partner_id: str, event_id_: str, event_type: str, subject: str,
                 data: dict, created_at: datetime) -> bool:
    """Add the event and its deliveries unless it exists already; True when it is new."""
    body = event_body(event_id_, event_type, created_at, data)
    return bool(record_events(con, [(event_id_, partner_id, event_type, subject, body)], created_at))


def record_events(con: sqlite3.Connection, events: list[tuple[str, str, str, str, str]],
                  created_at: datetime) -> list[str]:
    """Add the events (event_id, partner_id, type, subject, body) that do not exist yet, in the order given,
    each with a pending delivery per subscription of its partner to its type. In bulk, as a first snapshot
    announces every customer. Returns the types of the new events, in order."""
    con.execute("create temp table if not exists pending_events "
                "(event_id text, partner_id text, type text, subject text, body text)")
    con.execute("delete from temp.pending_events")
    con.executemany("insert into temp.pending_events values (?, ?, ?, ?, ?)", events)
    con.execute("delete from temp.pending_events where event_id in (select event_id from main.events)")
    new_types = [row[0] for row in con.execute("select type from temp.pending_events order by rowid")]
    con.execute("insert into events (event_id, partner_id, type, subject, body, created_at) "
                "select event_id, partner_id, type, subject, body, ? from temp.pending_events order by rowid",
                [created_at.isoformat()])
    con.execute("""
        insert into deliveries (event_id, webhook_id, status, attempts, next_attempt_at)
        select new.event_id, hooks.webhook_id, 'pending', 0, 0
        from temp.pending_events as new
        inner join webhooks as hooks
            on hooks.partner_id = new.partner_id
            and hooks.deleted_at is null
            and new.type in (select value from json_each(hooks.event_types))
        order by new.rowid, hooks.webhook_id
    """)
    return new_types


def create_webhook(con: sqlite3.Connection, partner_id: str, url: str, event_types: list[str]) -> dict:
    webhook_id = "wh_" + secrets.token_hex(8)
    row = {"webhook_id": webhook_id, "url": url, "event_types": sorted(set(event_types)),
           "created_at": clock.now().isoformat(), "secret": new_secret()}
    con.execute("insert into webhooks (webhook_id, partner_id, url, secret, event_types, created_at) "
                "values (?, ?, ?, ?, ?, ?)",
                [webhook_id, partner_id, url, row["secret"], json.dumps(row["event_types"]), row["created_at"]])
    return row


def list_webhooks(con: sqlite3.Connection, partner_id: str) -> list[dict]:
    return [{"webhook_id": r["webhook_id"], "url": r["url"], "event_types": json.loads(r["event_types"]),
             "created_at": r["created_at"]}
            for r in con.execute("select * from webhooks where partner_id = ? and deleted_at is null "
                                 "order by created_at, webhook_id", [partner_id])]


def find_webhook(con: sqlite3.Connection, partner_id: str, webhook_id: str) -> sqlite3.Row | None:
    """Only the partner's own: another partner's webhook id is as unknown as one that never existed."""
    return con.execute("select * from webhooks where webhook_id = ? and partner_id = ? and deleted_at is null",
                       [webhook_id, partner_id]).fetchone()


def delete_webhook(con: sqlite3.Connection, partner_id: str, webhook_id: str) -> bool:
    """Stops its pending deliveries too; the delivery log stays."""
    if find_webhook(con, partner_id, webhook_id) is None:
        return False
    con.execute("update webhooks set deleted_at = ? where webhook_id = ?", [clock.now().isoformat(), webhook_id])
    con.execute("update deliveries set status = 'failed' where webhook_id = ? and status = 'pending'", [webhook_id])
    return True


def delivery_log(con: sqlite3.Connection, webhook_id: str, limit: int) -> dict:
    deliveries = con.execute(
        "select d.event_id, e.type as event_type, d.status, d.attempts from deliveries d "
        "join events e using (event_id) where d.webhook_id = ? order by e.created_at desc, d.event_id limit ?",
        [webhook_id, limit]).fetchall()
    attempts = con.execute(
        "select a.event_id, e.type as event_type, a.attempt, a.attempted_at, a.status_code, a.error, a.duration_ms "
        "from delivery_attempts a join events e using (event_id) where a.webhook_id = ? "
        "order by a.attempted_at desc, a.event_id, a.attempt desc limit ?", [webhook_id, limit]).fetchall()
    return {"deliveries": [dict(r) for r in deliveries],
            "attempts": [{**dict(r), "attempted_at": datetime.fromtimestamp(r["attempted_at"], timezone.utc).isoformat()}
                         for r in attempts]}


def list_events(con: sqlite3.Connection, partner_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
    """The partner's events oldest first, `limit` at a time after the event id `after` (a cursor)."""
    start = 0
    if after:
        row = con.execute("select rowid from events where event_id = ? and partner_id = ?", [after, partner_id]).fetchone()
        start = row["rowid"] if row else 0
    rows = con.execute("select rowid, body from events where partner_id = ? and rowid > ? order by rowid limit ?",
                       [partner_id, start, limit + 1]).fetchall()
    page = [json.loads(r["body"]) for r in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)
