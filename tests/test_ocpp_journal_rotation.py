"""OCPP journal segments rotate mid-stream without losing or doubling a call: a real gateway with a small
segment size (journal.PartnerJournal closes its open segment once it holds max_segment_bytes), real `ocpp`
charge points streaming concurrently over WebSockets on loopback, and the landing picking up closed segments
while the gateway is still writing the next one."""

from __future__ import annotations

import asyncio
import json

import duckdb
import pytest
from ocpp.v16 import call as call16

from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments
from joulo_pipelines.lib.ocpp_gateway.landing import land_segment
from ocpp_clients import SECRET, SECRET_ENV, charge_point, gateway, make_ocpp_partner

CHARGE_POINTS = 4
MESSAGES_PER_CHARGE_POINT = 40
SEGMENT_BYTES = 2048  # a MeterValues line is ~300 bytes: a new segment every few batches


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


def _meter_values(n: int) -> call16.MeterValues:
    return call16.MeterValues(connector_id=1, meter_value=[
        {"timestamp": f"2026-05-01T10:{n // 60:02d}:{n % 60:02d}Z", "sampledValue": [{"value": str(1000 + n)}]}])


def _records(segment) -> list[dict]:
    return [json.loads(line) for line in segment.read_text().splitlines()]


def test_segments_rotated_mid_stream_and_landed_meanwhile_hold_every_call_once(ocpp_data_dir):
    acknowledged: list[str] = []
    landed_meanwhile: list[str] = []
    # Halfway through, every charger waits until the landing has looked at the segments closed so far: on a
    # loaded machine the streams could otherwise all end before the landing's first look.
    at_halfway, landing_looked = [], asyncio.Event()

    async def stream(port: int, identity: str) -> None:
        async with charge_point(port, identity, "1.6") as cp:
            for n in range(MESSAGES_PER_CHARGE_POINT):
                if n == MESSAGES_PER_CHARGE_POINT // 2:
                    at_halfway.append(identity)
                    await landing_looked.wait()
                await cp.call(_meter_values(n), unique_id=f"{identity}-{n}")
                acknowledged.append(f"{identity}-{n}")

    async def land_while_streaming(streams: asyncio.Future) -> None:
        while not streams.done():
            all_halfway = len(at_halfway) == CHARGE_POINTS  # before the look: it sees their first halves
            for segment in closed_segments(ocpp_data_dir):
                landing = await asyncio.to_thread(land_segment, ocpp_data_dir, segment)
                if landing.status == "landed":
                    landed_meanwhile.append(segment.name)
            if all_halfway:
                landing_looked.set()
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        async with gateway(ocpp_data_dir, max_segment_bytes=SEGMENT_BYTES) as port:
            streams = asyncio.gather(*(stream(port, f"CP-{i}") for i in range(CHARGE_POINTS)))
            await asyncio.gather(streams, land_while_streaming(streams))
            # A charger that missed the answer to its first call, sent segments ago, sends it again.
            async with charge_point(port, "CP-0", "1.6") as cp:
                await cp.call(_meter_values(0), unique_id="CP-0-0")

    asyncio.run(scenario())

    folder = ocpp_data_dir.root / "ocpp" / "journal" / "beta"
    assert not list(folder.glob("*.open")), "the gateway's shutdown closes the open segment"
    segments = closed_segments(ocpp_data_dir)
    total = CHARGE_POINTS * MESSAGES_PER_CHARGE_POINT
    assert len(acknowledged) == total
    assert len(segments) >= 5, "the segment size really rotated the journal"
    assert landed_meanwhile, "segments were landed while the gateway went on writing"

    # Each segment starts at the sequence number in its name and continues without a gap; together they
    # hold 1..total once each, every acknowledged call once, and the retried call only once.
    seqs, message_ids = [], []
    for segment in segments:
        records = _records(segment)
        assert [r["seq"] for r in records] == list(range(int(segment.name.split(".")[0]),
                                                         int(segment.name.split(".")[0]) + len(records)))
        seqs += [r["seq"] for r in records]
        message_ids += [r["message_id"] for r in records]
    assert seqs == list(range(1, total + 1))
    assert sorted(message_ids) == sorted(acknowledged)
    # Rotation happened in the middle of every charger's stream, not only between them.
    for i in range(CHARGE_POINTS):
        holding = {s.name for s in segments if any(r["charge_point_ref"] == f"CP-{i}" for r in _records(s))}
        assert len(holding) >= 2, f"CP-{i}"

    # The landing, run while the gateway wrote and once more after it stopped, holds every call once.
    landings = [land_segment(ocpp_data_dir, segment) for segment in segments]
    assert {landing.status for landing in landings} <= {"landed", "duplicate"}
    assert sum(1 for landing in landings if landing.status == "duplicate") == len(landed_meanwhile)
    with duckdb.connect() as con:
        rows = con.execute(
            f"select seq, message_id from read_parquet('{ocpp_data_dir.landing}/beta/ocpp_messages/*.parquet') "
            "order by seq").fetchall()
    assert [seq for seq, _ in rows] == list(range(1, total + 1))
    assert sorted(message_id for _, message_id in rows) == sorted(acknowledged)
