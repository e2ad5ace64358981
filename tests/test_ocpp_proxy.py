"""The gateway in proxy mode, between real `ocpp` charge points and a partner's back office built on the
`ocpp` package (ocpp_csms.py): every frame passes unchanged both ways, the CSMS's calls reach the charger,
the charger's calls are journaled with the CSMS's answers (its transaction ids), and nothing is answered in
the CSMS's place: with the upstream gone the charger is disconnected, and whatever it was told is accepted
is journaled exactly once, across an upstream that dies and comes back and a proxy SIGKILLed and restarted.
The simulator we did not write goes through the proxy in test_ocpp_third_party.py."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from joulo_pipelines.lib.ocpp_gateway.proxy import upstream_credentials
from joulo_pipelines.lib.partners import Source
from ocpp_clients import SECRET, SECRET_ENV, GatewayProcess, Link, basic_auth_header, gateway, make_ocpp_partner
from ocpp_csms import FIRST_TRANSACTION_ID, Csms, Recording

UPSTREAM_ENV, UPSTREAM_SECRET = "BETA_UPSTREAM_SECRET", "the csms's own password"


class Charger16(Recording, ChargePoint16):
    """A 1.6 charger that does what its back office asks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received, self.sent = [], []

    @on("RemoteStartTransaction")
    async def on_remote_start_transaction(self, **_):
        return result16.RemoteStartTransaction(status="Accepted")

    @on("ChangeConfiguration")
    async def on_change_configuration(self, **_):
        return result16.ChangeConfiguration(status="Accepted")


@pytest.fixture
def proxied(data_dir, monkeypatch):
    """The data dir and a function that makes beta a proxied OCPP partner of the CSMS given."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(UPSTREAM_ENV, UPSTREAM_SECRET)

    def point_at(csms: Csms) -> None:
        make_ocpp_partner(data_dir, upstream_url=csms.url(), upstream_auth_env=UPSTREAM_ENV)
    return data_dir, point_at


def _journal(data_dir) -> list[dict]:
    journal = data_dir.root / "ocpp" / "journal" / "beta"
    return [json.loads(line) for segment in sorted(journal.glob("*.jsonl*")) for line in segment.read_text().splitlines()]


def _start(n: int = 0):
    return call16.StartTransaction(connector_id=1, id_tag="T", meter_start=n, timestamp="2026-05-01T09:00:00Z")


def _meter_values(version: str, n: int):
    reading = {"timestamp": f"2026-05-01T10:{n // 60:02d}:{n % 60:02d}Z"}
    if version == "1.6":
        return call16.MeterValues(connector_id=1, meter_value=[{**reading, "sampledValue": [{"value": str(n)}]}])
    return call201.MeterValues(evse_id=1, meter_value=[{**reading, "sampled_value": [{"value": n}]}])


def test_every_frame_passes_unchanged_both_ways_and_the_csmss_calls_reach_the_charger(proxied):
    data_dir, point_at = proxied
    csms = Csms()

    async def scenario() -> Charger16:
        await csms.serve()
        point_at(csms)
        async with gateway(data_dir) as port:
            async with connect(f"ws://127.0.0.1:{port}/beta/CP-1", subprotocols=["ocpp1.6"],
                               additional_headers=basic_auth_header("CP-1", SECRET)) as ws:
                charger = Charger16("CP-1", ws)
                runner = asyncio.create_task(charger.start())
                await charger.call(call16.BootNotification(charge_point_model="Eve", charge_point_vendor="Alfen"))
                started = await charger.call(_start(), unique_id="start-1")
                assert started.transaction_id == FIRST_TRANSACTION_ID
                await charger.call(_meter_values("1.6", 1), unique_id="mv-1")
                # The CSMS's own calls reach the charger through us, and its answers reach the CSMS.
                remote = await csms.charge_points["CP-1"].call(call16.RemoteStartTransaction(id_tag="T2"))
                configured = await csms.charge_points["CP-1"].call(
                    call16.ChangeConfiguration(key="MeterValueSampleInterval", value="60"))
                assert (remote.status, configured.status) == ("Accepted", "Accepted")
                # Not as the `ocpp` package writes JSON (spaces, non-ASCII, key order): it must arrive as sent.
                await charger._send('[2, "dt-1", "DataTransfer", {"vendorId": "Jouló", "data": "ü ✓"}]')
                # An action this CSMS does not know: its CALLERROR is what the charger gets, not an answer of ours.
                await charger._send('[2,"x-1","Foo",{}]')
                await charger.call(call16.StopTransaction(meter_stop=1000, timestamp="2026-05-01T11:00:00Z",
                                                          transaction_id=FIRST_TRANSACTION_ID), unique_id="stop-1")
                while len(charger.received) < 8:
                    await asyncio.sleep(0.01)
                runner.cancel()
        await csms.kill()
        return charger

    charger = asyncio.run(scenario())
    assert csms.received["CP-1"] == charger.sent and len(charger.sent) == 8
    assert csms.sent["CP-1"] == charger.received
    assert json.loads(charger.received[6])[:3] == [4, "x-1", "NotSupported"]
    assert csms.authorizations["CP-1"] == basic_auth_header("CP-1", UPSTREAM_SECRET)["Authorization"]
    journal = _journal(data_dir)
    # The charger's calls the CSMS accepted, with its transaction id; not its answers, not the refused call.
    assert [(line["message_id"], line["action"]) for line in journal][1:] == [
        ("start-1", "StartTransaction"), ("mv-1", "MeterValues"), ("dt-1", "DataTransfer"),
        ("stop-1", "StopTransaction")]
    assert journal[1]["transaction_id"] == FIRST_TRANSACTION_ID
    assert journal[3]["payload"] == {"vendorId": "Jouló", "data": "ü ✓"}
    assert {line["origin"] for line in journal} == {"proxy"}


async def _closed_code(port: int, identity: str = "CP-2") -> int:
    async with connect(f"ws://127.0.0.1:{port}/beta/{identity}", subprotocols=["ocpp1.6"],
                       additional_headers=basic_auth_header(identity, SECRET)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
    return closed.value.rcvd.code


def test_an_upstream_that_dies_mid_session_disconnects_the_charger_and_nothing_unanswered_is_journaled(proxied):
    data_dir, point_at = proxied
    csms = Csms()
    acknowledged: list[str] = []

    async def scenario() -> None:
        await csms.serve()
        point_at(csms)
        async with gateway(data_dir) as port:
            link = Link(port, "CP-1", "1.6")
            assert (await link.call(_start(), unique_id="start")).transaction_id == FIRST_TRANSACTION_ID
            for n in range(5):
                await link.call(_meter_values("1.6", n), unique_id=f"mv-{n}")
                acknowledged.append(f"mv-{n}")
            # The CSMS takes the next reading and dies before answering it.
            csms.hold.clear()
            in_flight = asyncio.create_task(link.call(_meter_values("1.6", 5), unique_id="mv-5"))
            while len(csms.received["CP-1"]) < 7:
                await asyncio.sleep(0.01)
            await csms.kill()
            await asyncio.wait_for(link.ws.wait_closed(), 30)
            assert link.ws.close_code == CloseCode.TRY_AGAIN_LATER  # the charger queues offline
            assert await _closed_code(port) == CloseCode.TRY_AGAIN_LATER  # and is not let in while it is down
            assert "mv-5" not in {line["message_id"] for line in _journal(data_dir)}
            csms.hold.set()
            await csms.serve()
            await in_flight  # the charger's retry, through us to the CSMS back again
            acknowledged.append("mv-5")
            for n in range(6, 10):
                await link.call(_meter_values("1.6", n), unique_id=f"mv-{n}")
                acknowledged.append(f"mv-{n}")
            await link.close()
        await csms.kill()

    asyncio.run(scenario())
    journaled = [line["message_id"] for line in _journal(data_dir)]
    assert journaled == ["start", *acknowledged]


def test_a_sigkilled_proxy_loses_no_accepted_call_and_journals_none_twice(proxied):
    data_dir, point_at = proxied
    csms = Csms()
    acknowledged: list[str] = []
    transaction_ids: list[int] = []
    proxies: list[GatewayProcess] = []

    async def stream(link: Link) -> None:
        if link.version == "1.6":
            transaction_ids.append((await link.call(_start(), unique_id=f"{link.identity}-start")).transaction_id)
        for n in range(60):
            await link.call(_meter_values(link.version, n), unique_id=f"{link.identity}-{n}")
            acknowledged.append(f"{link.identity}-{n}")
        await link.close()

    async def kill_mid_stream_and_restart(port: int) -> None:
        while len(acknowledged) < 40:
            await asyncio.sleep(0.005)
        proxies[-1].process.send_signal(signal.SIGKILL)
        proxies[-1].process.wait()
        proxies.append(await GatewayProcess.start(port))  # the chargers' URL

    async def scenario() -> None:
        await csms.serve()
        point_at(csms)
        proxies.append(await GatewayProcess.start())
        port = proxies[0].port
        await asyncio.gather(kill_mid_stream_and_restart(port),
                             *(stream(Link(port, identity, version))
                               for identity, version in (("CP-1", "1.6"), ("CP-2", "2.0.1"))))
        await csms.kill()

    try:
        asyncio.run(scenario())
    finally:
        assert proxies[-1].stop() == 0
        for proxy in proxies:
            if proxy.alive():
                proxy.process.kill()

    journal = _journal(data_dir)
    journaled = [line["message_id"] for line in journal]
    assert len(proxies) == 2 and len(acknowledged) == 120
    assert set(acknowledged) <= set(journaled), "told accepted but not journaled"
    assert len(journaled) == len(set(journaled)), "journaled twice"
    assert transaction_ids == [FIRST_TRANSACTION_ID]
    assert next(line for line in journal if line["action"] == "StartTransaction")["transaction_id"] == FIRST_TRANSACTION_ID
    # Every call journaled is one the CSMS got.
    seen_by_csms = {json.loads(frame)[1] for frames in csms.received.values() for frame in frames}
    assert set(journaled) <= seen_by_csms


def test_the_upstream_password_is_one_for_all_or_each_charge_points_own():
    source = Source(type="ocpp", upstream_url="wss://csms.example/ocpp", upstream_auth_env="CSMS_PASSWORDS")
    assert upstream_credentials(source, "CP-1", {"CSMS_PASSWORDS": "shared"}) == ("CP-1", "shared")
    mine = {"CSMS_PASSWORDS": json.dumps({"CP-1": "one", "CP-2": "two"})}
    assert upstream_credentials(source, "CP-2", mine) == ("CP-2", "two")
    assert upstream_credentials(source, "CP-3", mine) is None
    assert upstream_credentials(source, "CP-1", {}) is None
    with pytest.raises(ValueError, match="ocpp source"):
        Source(type="files", upstream_url="wss://csms.example/ocpp")
