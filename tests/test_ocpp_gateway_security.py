"""OCPP security: each charge point authenticates with its own password (profile 1), over TLS only where the
partner asks for profile 2; identities the partner never delivered in charge_points.csv are refused; idle
connections are closed and a partner's connections are capped."""

from __future__ import annotations

import asyncio
import datetime
import io
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.v16 import call as call16
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from joulo_pipelines import cli
from joulo_pipelines.lib.ocpp_gateway.credentials import credentials_file
from joulo_pipelines.lib.ocpp_gateway.server import tls_context
from ocpp_clients import (SECRET, SECRET_ENV, basic_auth_header, charge_point, gateway, land_charge_points,
                          make_ocpp_partner)

HANG_GUARD = 120  # seconds; only a hang reaches it


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


async def _outcome(port: int, identity: str, password: str, username: str | None = None, scheme: str = "ws",
                   tls: ssl.SSLContext | None = None) -> int | str:
    """"answered" if a Heartbeat got its answer, else the handshake's HTTP status."""
    try:
        async with connect(f"{scheme}://127.0.0.1:{port}/beta/{identity}", subprotocols=["ocpp1.6"], ssl=tls,
                           additional_headers=basic_auth_header(username or identity, password)) as ws:
            await ws.send('[2,"hb","Heartbeat",{}]')
            await asyncio.wait_for(ws.recv(), HANG_GUARD)
            return "answered"
    except InvalidStatus as refused:
        return refused.response.status_code


def _set_password(monkeypatch, capsys, action: str, identity: str, password: str | None = None) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{password}\n" if password else ""))
    argv = ["ocpp-credentials", action, "--partner", "beta", "--charge-point", identity]
    assert cli.main(argv + (["--stdin"] if password else [])) == 0
    return password or capsys.readouterr().out.strip()


def test_a_charge_point_with_its_own_password_must_use_it_and_no_neighbour_can_pose_as_it(
        ocpp_data_dir, monkeypatch, capsys):
    own = _set_password(monkeypatch, capsys, "set", "CP-1")
    neighbour = _set_password(monkeypatch, capsys, "set", "CP-2", "neighbour-password-0123")
    assert len(own) == 40
    store = credentials_file(ocpp_data_dir)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert own not in store.read_text() and "neighbour-password-0123" not in store.read_text()
    assert cli.main(["ocpp-credentials", "set", "--partner", "beta", "--charge-point", "CP-1"]) == 2  # has one

    async def attempts():
        async with gateway(ocpp_data_dir) as port:
            before_rotation = {
                "own password": await _outcome(port, "CP-1", own),
                "partner-wide secret": await _outcome(port, "CP-1", SECRET),
                "neighbour's password": await _outcome(port, "CP-1", neighbour),
                "neighbour's password as neighbour in the name of CP-1": await _outcome(port, "CP-1", neighbour,
                                                                                        username="CP-2"),
                "no own password yet: partner-wide secret": await _outcome(port, "CP-3", SECRET),
            }
            rotated = _set_password(monkeypatch, capsys, "rotate", "CP-1")
            after_rotation = {"old password": await _outcome(port, "CP-1", own),
                              "new password": await _outcome(port, "CP-1", rotated)}
            return before_rotation, after_rotation

    before_rotation, after_rotation = asyncio.run(attempts())
    assert before_rotation == {"own password": "answered", "partner-wide secret": 401, "neighbour's password": 401,
                               "neighbour's password as neighbour in the name of CP-1": 401,
                               "no own password yet: partner-wide secret": "answered"}
    assert after_rotation == {"old password": 401, "new password": "answered"}


def test_passwords_outside_ocpps_16_to_40_characters_and_rotating_a_missing_one_are_refused(
        ocpp_data_dir, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["ocpp-credentials", "set", "--partner", "beta", "--charge-point", "CP-1", "--stdin"]) == 2
    assert cli.main(["ocpp-credentials", "rotate", "--partner", "beta", "--charge-point", "CP-1"]) == 2
    assert cli.main(["ocpp-credentials", "set", "--partner", "alpha", "--charge-point", "CP-1"]) == 2
    assert "16 to 40" in capsys.readouterr().err


def test_identities_not_delivered_in_charge_points_csv_are_refused_until_they_land(ocpp_data_dir):
    async def attempts():
        async with gateway(ocpp_data_dir, charge_point_refresh_seconds=0) as port:
            unknown = await _outcome(port, "CP-NEW", SECRET)
            land_charge_points(ocpp_data_dir, "beta", ["CP-NEW"], name="charge_points_2026-06.csv")
            return unknown, await _outcome(port, "CP-NEW", SECRET)

    assert asyncio.run(attempts()) == (403, "answered")


def _self_signed(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "gateway.crt", tmp_path / "gateway.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_security_profile_2_is_served_over_tls_with_the_password_and_refused_over_plain_websockets(
        data_dir, monkeypatch, capsys, tmp_path):
    make_ocpp_partner(data_dir, security_profile=2)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    own = _set_password(monkeypatch, capsys, "set", "CP-1")
    cert_file, key_file = _self_signed(tmp_path)
    client_tls = ssl.create_default_context(cafile=cert_file)
    client_tls.check_hostname = False  # the certificate names localhost, the test dials 127.0.0.1

    async def attempts():
        async with gateway(data_dir, tls=tls_context(cert_file, key_file)) as port:
            over_tls = {"own password": await _outcome(port, "CP-1", own, scheme="wss", tls=client_tls),
                        "wrong password": await _outcome(port, "CP-1", "x" * 20, scheme="wss", tls=client_tls)}
        async with gateway(data_dir) as port:
            plain = await _outcome(port, "CP-1", own)
        return over_tls, plain

    over_tls, plain = asyncio.run(attempts())
    assert over_tls == {"own password": "answered", "wrong password": 401}
    assert plain == 403


def test_an_idle_connection_is_closed_after_the_idle_timeout(ocpp_data_dir):
    async def idle():
        async with gateway(ocpp_data_dir, idle_timeout_seconds=0.5) as port, charge_point(port, "CP-1", "1.6") as cp:
            await cp.call(call16.Heartbeat())
            await asyncio.wait_for(cp._connection.wait_closed(), HANG_GUARD)
            return cp._connection.close_code, cp._connection.close_reason

    assert asyncio.run(idle()) == (1001, "idle timeout")


def test_a_partner_cannot_open_more_connections_than_its_cap(data_dir, monkeypatch):
    make_ocpp_partner(data_dir, max_connections=2)
    monkeypatch.setenv(SECRET_ENV, SECRET)

    async def attempts():
        async with gateway(data_dir) as port:
            async with charge_point(port, "CP-1", "1.6"), charge_point(port, "CP-2", "1.6") as second:
                third = await _outcome(port, "CP-3", SECRET)
                await second._connection.close()
            while (after_one_left := await _outcome(port, "CP-3", SECRET)) == 503:  # until the gateway saw it go
                await asyncio.sleep(0.05)
            return third, after_one_left

    assert asyncio.run(asyncio.wait_for(attempts(), HANG_GUARD)) == (503, "answered")
