"""Per-charge-point passwords for OCPP security profiles 1 and 2 (HTTP Basic: identity + its own password).

Stored hashed with scrypt (hashlib, OpenSSL) in <data dir>/ocpp/credentials.json, created 0600 and replaced
atomically; `joulo ocpp-credentials set|rotate` writes it, the running gateway rereads it when it changes.
OCPP asks for passwords of 16 to 40 characters (2.0.1 BasicAuthPassword, the 1.6 security whitepaper).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir, write_atomically

# RFC 7914's interactive parameters: ~16 MiB and tens of milliseconds a check, run off the event loop.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PASSWORD_LENGTHS = range(16, 41)


class CredentialError(ValueError):
    pass


def credentials_file(data_dir: DataDir) -> Path:
    return data_dir.root / "ocpp" / "credentials.json"


def generate_password() -> str:
    return secrets.token_urlsafe(30)  # 40 characters, 240 bits


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                            dklen=len(expected))
    return hmac.compare_digest(actual, expected)


def set_password(data_dir: DataDir, partner_id: str, charge_point_ref: str, password: str, *, rotate: bool) -> None:
    """`set` gives a charge point its first password, `rotate` replaces the one it has."""
    if len(password) not in PASSWORD_LENGTHS:
        raise CredentialError(f"a password must have 16 to 40 characters (OCPP); got {len(password)}")
    path = credentials_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(path):
        document = _read(path)
        charge_points = document.setdefault(partner_id, {})
        if rotate and charge_point_ref not in charge_points:
            raise CredentialError(f"charge point {charge_point_ref!r} of {partner_id} has no password to rotate; "
                                  "use `set`")
        if not rotate and charge_point_ref in charge_points:
            raise CredentialError(f"charge point {charge_point_ref!r} of {partner_id} already has a password; "
                                  "use `rotate`")
        charge_points[charge_point_ref] = {"hash": hash_password(password),
                                           "set_at": clock.now().isoformat(timespec="seconds")}
        write_atomically(path, json.dumps(document, indent=1, sort_keys=True).encode(), durable=True)


class _locked:
    """One writer at a time: two `set`s at once must not lose one of them."""

    def __init__(self, path: Path):
        self.lock_path = path.with_name(f".{path.name}.lock")

    def __enter__(self) -> None:
        self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_) -> None:
        os.close(self.fd)


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


class CredentialStore:
    """The gateway's view of credentials.json, reread when the file changes (one stat per handshake)."""

    def __init__(self, data_dir: DataDir):
        self.path = credentials_file(data_dir)
        self._version: tuple | None = None
        self._hashes: dict[str, dict[str, dict]] = {}

    def password_hash(self, partner_id: str, charge_point_ref: str) -> str | None:
        try:
            stat = self.path.stat()
            version: tuple | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            version = None
        if version != self._version:
            self._hashes, self._version = _read(self.path), version
        entry = self._hashes.get(partner_id, {}).get(charge_point_ref)
        return entry["hash"] if entry else None
