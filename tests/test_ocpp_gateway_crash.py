"""The gateway killed with SIGKILL mid-stream and restarted: every call a charge point was told was
received is in the journal, and a retried call (same message id) is neither written twice nor answered
differently."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from ocpp_clients import SECRET, SECRET_ENV, GatewayProcess, Link, make_ocpp_partner

MESSAGES_PER_CHARGE_POINT = 120
KILL_AFTER_ACKS = 150


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
    gateways = [GatewayProcess()]
    port = gateways[0].port
    acknowledged: list[str] = []
    transaction_ids: dict[str, list[int]] = {}

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
        gateways.append(await asyncio.to_thread(GatewayProcess, port))  # the same port: the chargers' URL

    async def scenario() -> None:
        links = [Link(port, f"CP-{i}", "1.6" if i % 2 else "2.0.1") for i in range(4)]
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
        assert gateways[-1].stop() == 0
        for gateway_process in gateways:
            if gateway_process.process.poll() is None:
                gateway_process.process.kill()

    journal = ocpp_data_dir.root / "ocpp" / "journal" / "beta"
    assert not list(journal.glob("*.open")), "a clean shutdown closes the open segment"
    journaled = [json.loads(line)["message_id"] for segment in sorted(journal.glob("*.jsonl"))
                 for line in segment.read_text().splitlines()]
    assert len(gateways) == 2 and len(list(journal.glob("*.jsonl"))) >= 2  # the kill really split the stream
    assert len(acknowledged) == 4 * MESSAGES_PER_CHARGE_POINT
    assert set(acknowledged) <= set(journaled)
    assert len(journaled) == len(set(journaled)), "no call journaled twice"
    assert all(len(set(ids)) == 1 for ids in transaction_ids.values()), transaction_ids
