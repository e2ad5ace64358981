"""The gateway's handshake and boot seen by a client we did not write: `test-ocpp` (PyPI), a CSMS connection
checker that negotiates the subprotocol, authenticates with HTTP Basic (security profile 1) and sends
BootNotification and Heartbeat, run unmodified through its own command line in both OCPP versions."""

from __future__ import annotations

import asyncio
import sys

import pytest

from ocpp_clients import SECRET, SECRET_ENV, gateway, make_ocpp_partner


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


async def _check(port: int, version: str, password: str) -> tuple[int, str]:
    checker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "test_ocpp", f"ws://127.0.0.1:{port}/beta", "CP-CHECK", "--ocpp", version,
        "--password", password, "--timeout", "30",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await checker.communicate()
    return checker.returncode, output.decode()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_third_party_connection_checker_boots_with_the_right_secret_and_is_refused_with_a_wrong_one(
        ocpp_data_dir, version):
    async def checks():
        async with gateway(ocpp_data_dir) as port:
            return await _check(port, version, SECRET), await _check(port, version, "guess")

    (accepted_rc, accepted), (refused_rc, refused) = asyncio.run(checks())
    assert accepted_rc == 0 and "BootNotification status: Accepted" in accepted and "SUCCESS" in accepted, accepted
    assert refused_rc == 1 and "rejected handshake with HTTP 401" in refused, refused
