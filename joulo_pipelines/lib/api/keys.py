"""Per-partner API keys: `jk_<key id>_<secret>`, shown once when issued, stored as a SHA-256 only.

The secret is 32 random bytes, so a plain SHA-256 cannot be brute-forced and a lookup is one indexed
read (a slow password hash buys nothing for keys nobody chose). The key id is the part that may appear
in logs."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from joulo_pipelines.lib import clock

PREFIX = "jk"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    partner_id: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(con: sqlite3.Connection, partner_id: str) -> tuple[str, str]:
    """(key id, the full key). The full key is not stored and cannot be shown again."""
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    con.execute("insert into api_keys (key_id, partner_id, key_sha256, created_at) values (?, ?, ?, ?)",
                [key_id, partner_id, _digest(key), clock.now().isoformat()])
    return key_id, key


def revoke_key(con: sqlite3.Connection, key_id: str) -> bool:
    cursor = con.execute("update api_keys set revoked_at = ? where key_id = ? and revoked_at is null",
                         [clock.now().isoformat(), key_id])
    return cursor.rowcount == 1


def list_keys(con: sqlite3.Connection) -> list[sqlite3.Row]:
    return con.execute("select key_id, partner_id, created_at, revoked_at from api_keys "
                       "order by partner_id, created_at, key_id").fetchall()


def authenticate(con: sqlite3.Connection, key: str) -> ApiKey | None:
    row = con.execute("select key_id, partner_id from api_keys where key_sha256 = ? and revoked_at is null",
                      [_digest(key)]).fetchone()
    return ApiKey(row["key_id"], row["partner_id"]) if row else None
