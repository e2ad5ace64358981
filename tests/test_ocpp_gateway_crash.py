"""The gateway killed with SIGKILL mid-stream and restarted: every call a charge point was told was
received is in the journal, and a retried call (same message id) is neither written twice nor answered
differently."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect

from ocpp_clients import SECRET, SECRET_ENV, GatewayProcess, basic_auth_header, make_ocpp_partner

MESSAGES_PER_CHARGE_POINT = 120
KILL_AFTER_ACKS = 150


class Link:
    """A real `ocpp` charge point that reconnects when the gateway goes away and retries its call with the
    same message id, as the OCPP spec asks of a charger that got no answer. `gateways[-1]` is the gateway
    of the moment (a restarted one listens on a port of its own)."""

    def __init__(self, gateways: list[GatewayProcess], identity: str, version: str):
        self.gateways, self.identity, self.version = gateways, identity, version
        self.client = None
        self.runner: asyncio.Task | None = None
        self.ws = None

    async def _connect(self) -> None:
        while True:
            gateway = self.gateways[-1]
            try:
                self.ws = await connect(f"ws://127.0.0.1:{gateway.port}/beta/{self.identity}",
                                        subprotocols=[f"ocpp{self.version}"],
                                        additional_headers=basic_auth_header(self.identity, SECRET),
                                        open_timeout=30)
                break
            except OSError:
                await asyncio.sleep(0.05)  # the gateway was killed and its successor is starting
        self.client = (ChargePoint16 if self.version == "1.6" else ChargePoint201)(self.identity, self.ws)
        self.runner = asyncio.create_task(self.client.start())

    async def call(self, payload, unique_id: str):
        """The answer to the call, once the gateway gave one; retried over reconnects until then."""
        while True:
            if self.runner is None or self.runner.done():
                await self._connect()
            attempt = asyncio.create_task(self.client.call(payload, unique_id=unique_id))
            await asyncio.wait([attempt, self.runner], return_when=asyncio.FIRST_COMPLETED)
            if attempt.done() and not attempt.exception():
                return attempt.result()
            attempt.cancel()
            self.runner.cancel()
            self.runner = None

    async def close(self) -> None:
        if self.runner:
            self.runner.cancel()
        if self.ws:
            await self.ws.close()


def _meter_values(version: str, n: int):
    reading = {"timestamp": f"2026-05-01T10:{n // 60:02d}:{n % 60:02d}Z"}
    if version == "1.6":
        return call16.MeterValues(connector_id=1, meter_value=[{**reading, "sampledValue": [{"value": str(n)}]}])
    return call201.MeterValues(evse_id=1, meter_value=[{**reading, "sampled_value": [{"value": n}]}])


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


def test_a_sigkilled_gateway_loses_no_acknowledged_call_and_duplicates_none_after_restart(ocpp_data_dir):
    acknowledged: list[str] = []
    transaction_ids: dict[str, list[int]] = {}
    gateways = [GatewayProcess()]

    async def stream(link: Link, start_first: bool) -> None:
        if start_first:
            start = call16.StartTransaction(connector_id=1, id_tag="T", meter_start=0,
                                            timestamp="2026-05-01T09:00:00Z")
            answer = await link.call(start, unique_id=f"{link.identity}-start")
            transaction_ids.setdefault(link.identity, []).append(answer.transaction_id)
        for n in range(MESSAGES_PER_CHARGE_POINT):
            message_id = f"{link.identity}-{n}"
            await link.call(_meter_values(link.version, n), unique_id=message_id)
            acknowledged.append(message_id)

    async def kill_mid_stream_and_restart() -> None:
        while len(acknowledged) < KILL_AFTER_ACKS:
            await asyncio.sleep(0.01)
        gateways[-1].process.send_signal(signal.SIGKILL)
        gateways[-1].process.wait()
        gateways.append(await GatewayProcess.start())

    async def scenario() -> None:
        links = [Link(gateways, f"CP-{i}", "1.6" if i % 2 else "2.0.1") for i in range(4)]
        await asyncio.gather(kill_mid_stream_and_restart(),
                             *(stream(link, link.version == "1.6") for link in links))
        # A 1.6 charger that never saw the answer to its StartTransaction asks again with the same id.
        for link in links:
            if link.version == "1.6":
                start = call16.StartTransaction(connector_id=1, id_tag="T", meter_start=0,
                                                timestamp="2026-05-01T09:00:00Z")
                answer = await link.call(start, unique_id=f"{link.identity}-start")
                transaction_ids[link.identity].append(answer.transaction_id)
            await link.close()

    try:
        asyncio.run(scenario())
    finally:
        gateways[-1].process.send_signal(signal.SIGTERM)
        exit_code = gateways[-1].process.wait()
        for gateway in gateways:
            if gateway.alive():
                gateway.process.kill()
    assert exit_code == 0, "".join(gateways[-1].log)[-2000:]

    journal = ocpp_data_dir.root / "ocpp" / "journal" / "beta"
    assert not list(journal.glob("*.open")), "a clean shutdown closes the open segment"
    journaled = [json.loads(line)["message_id"] for segment in sorted(journal.glob("*.jsonl"))
                 for line in segment.read_text().splitlines()]
    assert len(gateways) == 2 and len(list(journal.glob("*.jsonl"))) >= 2  # the kill really split the stream
    assert len(acknowledged) == 4 * MESSAGES_PER_CHARGE_POINT
    assert set(acknowledged) <= set(journaled)
    assert len(journaled) == len(set(journaled)), "no call journaled twice"
    assert all(len(set(ids)) == 1 for ids in transaction_ids.values()), transaction_ids
