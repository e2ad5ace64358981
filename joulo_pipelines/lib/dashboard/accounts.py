"""The dashboard's accounts, one per person of a partner, and their sessions: SQLite under
`<data dir>/api/dashboard.sqlite`, apart from the API store, which holds nothing personal.

Passwords are kept as Argon2id hashes (argon2-cffi's defaults). After MAX_FAILURES wrong passwords in a row
an account is locked for LOCKOUT; an unknown email costs the same hash check, so timing does not tell which
emails have accounts. A session is a random id in the signed cookie and a row here, so signing out ends it
on the server too, not only in the browser."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from joulo_pipelines.lib.paths import DataDir

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 12
Role = Literal["viewer", "admin"]

_hasher = PasswordHasher()
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Kept in the file's header once the tables are made: a store with another version is set up (again).
_SCHEMA_VERSION = 1
_SCHEMA = f"""
create table if not exists dashboard_users (
    user_id integer primary key,
    partner_id text not null,
    email text not null unique collate nocase,
    role text not null check (role in ('viewer', 'admin')),
    password_hash text not null,
    failed_attempts integer not null default 0,
    locked_until text,
    created_at text not null
);
create table if not exists dashboard_sessions (
    session_sha256 text primary key,
    user_id integer not null references dashboard_users (user_id),
    csrf_token text not null,
    expires_at text not null
);
pragma user_version = {_SCHEMA_VERSION};
"""


@dataclass(frozen=True)
class User:
    user_id: int
    partner_id: str
    email: str
    role: Role


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


@contextmanager
def connect(data_dir: DataDir) -> Iterator[sqlite3.Connection]:
    path = data_dir.root / "api" / "dashboard.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        # Every request of the dashboard opens the store, and setting it up each time took half of that: the
        # schema's version, kept in the file's header, says whether it is set up. Not a note of the files this
        # process set up: a store deleted and made again can have the old one's inode.
        if con.execute("pragma user_version").fetchone()[0] != _SCHEMA_VERSION:
            con.execute("pragma journal_mode = wal")  # kept in the file
            con.executescript(_SCHEMA)
            path.chmod(0o600)  # emails and password hashes
        yield con
    finally:
        con.close()


def add_user(con: sqlite3.Connection, partner_id: str, email: str, role: Role, password: str, now: datetime) -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed")
    if role not in ("viewer", "admin"):
        raise ValueError(f"role {role!r} is not one of: viewer, admin")
    try:
        cursor = con.execute("insert into dashboard_users (partner_id, email, role, password_hash, created_at) "
                             "values (?, ?, ?, ?, ?)",
                             [partner_id, email, role, _hasher.hash(password), now.isoformat()])
    except sqlite3.IntegrityError:
        raise ValueError(f"a dashboard user with email {email!r} exists already") from None
    return User(cursor.lastrowid, partner_id, email, role)


def sign_in(con: sqlite3.Connection, email: str, password: str, now: datetime) -> User | None:
    """The user, if the password is theirs and the account is not locked; else None, and one more failure."""
    row = con.execute("select * from dashboard_users where email = ?", [email]).fetchone()
    try:
        _hasher.verify(row["password_hash"] if row else _UNKNOWN_USER_HASH, password)
        matches = row is not None
    except VerificationError:
        matches = False
    if row is None:
        return None
    locked = row["locked_until"] is not None and datetime.fromisoformat(row["locked_until"]) > now
    if locked:
        return None
    if not matches:
        failures = row["failed_attempts"] + 1
        con.execute("update dashboard_users set failed_attempts = ?, locked_until = ? where user_id = ?",
                    [0 if failures >= MAX_FAILURES else failures,
                     (now + LOCKOUT).isoformat() if failures >= MAX_FAILURES else None, row["user_id"]])
        return None
    con.execute("update dashboard_users set failed_attempts = 0, locked_until = null where user_id = ?",
                [row["user_id"]])
    if _hasher.check_needs_rehash(row["password_hash"]):
        con.execute("update dashboard_users set password_hash = ? where user_id = ?",
                    [_hasher.hash(password), row["user_id"]])
    return User(row["user_id"], row["partner_id"], row["email"], row["role"])


def start_session(con: sqlite3.Connection, user: User, now: datetime) -> str:
    """A new session's id (for the signed cookie; only its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    con.execute("insert into dashboard_sessions values (?, ?, ?, ?)",
                [_sha256(session_id), user.user_id, secrets.token_urlsafe(32), (now + SESSION_LIFETIME).isoformat()])
    return session_id


def session(con: sqlite3.Connection, session_id: str, now: datetime) -> Session | None:
    row = con.execute("select users.*, sessions.csrf_token, sessions.expires_at from dashboard_sessions as sessions "
                      "join dashboard_users as users using (user_id) where sessions.session_sha256 = ?",
                      [_sha256(session_id)]).fetchone()
    if row is None or datetime.fromisoformat(row["expires_at"]) <= now:
        return None
    return Session(User(row["user_id"], row["partner_id"], row["email"], row["role"]), row["csrf_token"])


def end_session(con: sqlite3.Connection, session_id: str) -> None:
    con.execute("delete from dashboard_sessions where session_sha256 = ?", [_sha256(session_id)])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
