"""A hostile or broken charge point cannot stop the gateway for anyone else: frames that cannot be journaled
or are not OCPP-J are refused (a CALLERROR where a message id can be read), logged truncated, and the
partner's journal writer keeps answering every other charge point; SIGTERM still stops the gateway."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.v16 import call as call16
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments
from ocpp_clients import (HANG_GUARD, SECRET, SECRET_ENV, GatewayProcess, basic_auth_header, charge_point,
                          gateway, make_ocpp_partner)

LONE_SURROGATE_CALL = '[2,"evil\\ud800","Heartbeat",{}]'  # the JSON escape, sent as text: valid UTF-8


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


async def _send_raw(port: int, identity: str, version: str, frames: list[str]) -> list:
    """Each frame's answer (parsed), or the close frame's code if the gateway closed the connection."""
    async with connect(f"ws://127.0.0.1:{port}/beta/{identity}", subprotocols=[f"ocpp{version}"],
                       additional_headers=basic_auth_header(identity, SECRET)) as ws:
        answers: list = []
        for frame in frames:
            await ws.send(frame)
            try:
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), HANG_GUARD)))
            except ConnectionClosed as closed:
                answers.append(("closed", closed.rcvd.code if closed.rcvd else None))
                break
        return answers


def test_a_lone_surrogate_is_refused_and_the_partners_other_charge_points_are_still_answered_and_sigterm_stops(
        ocpp_data_dir):
    gateway_process = GatewayProcess()

    async def traffic():
        evil = await _send_raw(gateway_process.port, "CP-EVIL", "1.6", [LONE_SURROGATE_CALL])
        async with charge_point(gateway_process.port, "CP-GOOD", "1.6") as cp:
            heartbeat = await asyncio.wait_for(cp.call(call16.Heartbeat()), HANG_GUARD)
        return evil, heartbeat

    try:
        evil, heartbeat = asyncio.run(traffic())
    finally:
        exit_code = gateway_process.stop()
    assert evil[0][:3] == [4, "evil\ud800", "FormationViolation"]
    assert heartbeat.current_time
    assert exit_code == 0
    refused = [line for line in gateway_process.log if "CP-EVIL" in line]
    assert refused and "Heartbeat" in refused[0]
    journaled = [json.loads(line)["message_id"] for segment in closed_segments(ocpp_data_dir)
                 for line in segment.read_text().splitlines()]
    assert len(journaled) == 1 and journaled[0] != "evil\ud800"


def test_a_journal_write_that_fails_refuses_its_calls_and_the_writer_answers_again_once_the_disk_is_back(
        ocpp_data_dir):
    folder = ocpp_data_dir.root / "ocpp" / "journal" / "beta"

    async def traffic():
        async with gateway(ocpp_data_dir) as port, charge_point(port, "CP-1", "1.6") as cp:
            # The partner's journal folder turns into a file: opening a segment fails, even for root.
            folder.rmdir()
            folder.write_text("not a folder")
            refused = [await _send_raw(port, "CP-2", version, [frame]) for version, frame in [
                ("1.6", '[2,"hot","Heartbeat",{}]'),  # fast path
                ("1.6", '[2,"boot","BootNotification",{"chargePointModel":"M","chargePointVendor":"V"}]'),
            ]]
            folder.unlink()
            folder.mkdir()
            answered = await asyncio.wait_for(cp.call(call16.Heartbeat()), HANG_GUARD)
            return refused, answered

    refused, answered = asyncio.run(traffic())
    assert [answers[0][:3] for answers in refused] == [[4, "hot", "InternalError"], [4, "boot", "InternalError"]]
    assert answered.current_time
    journaled = [json.loads(line)["action"] for segment in closed_segments(ocpp_data_dir)
                 for line in segment.read_text().splitlines()]
    assert journaled == ["Heartbeat"]


@pytest.mark.parametrize("version,violation", [("1.6", "FormationViolation"), ("2.0.1", "FormatViolation")])
def test_garbage_frames_get_a_callerror_where_an_id_can_be_read_else_the_connection_closes_and_logs_are_truncated(
        ocpp_data_dir, caplog, version, violation):
    frames_with_an_id = [
        '[2,"no-payload","Heartbeat"]',
        '[2,"list-payload","Heartbeat",[]]',
        '[2,"number-action",7,{}]',
        '[5,"unknown-type","Heartbeat",{}]',
        '[2,"surrogate-payload","DataTransfer",{"vendorId":"\\udfff"}]',
    ]

    async def traffic():
        async with gateway(ocpp_data_dir) as port:
            answered = await _send_raw(port, "CP-1", version, frames_with_an_id)
            unreadable = [await _send_raw(port, "CP-1", version, [frame])
                          for frame in ["x" * 5000, '{"not": "an array"}', '[2, 17, "Heartbeat", {}]',
                                        "[" * 100_000]]
            return answered, unreadable

    answered, unreadable = asyncio.run(traffic())
    assert [answer[:3] for answer in answered] == [[4, frame_id, violation] for frame_id in
                                                    ["no-payload", "list-payload", "number-action", "unknown-type",
                                                     "surrogate-payload"]]
    assert unreadable == [[("closed", 1002)]] * 4
    refused = [r.getMessage() for r in caplog.records if "refused a" in r.getMessage()]
    assert len(refused) == 9
    assert all(len(message) < 1300 for message in refused)
    assert any("(5000 characters)" in message for message in refused)
    assert not closed_segments(ocpp_data_dir)


def test_a_call_the_schema_refuses_gets_a_callerror_and_its_id_tag_reaches_no_log(ocpp_data_dir, caplog):
    caplog.set_level("INFO")  # the level `joulo ocpp-gateway` logs at
    frame = '[2,"auth","Authorize",{"idTag":"TAG-OF-A-PERSON","unexpected":1}]'

    async def traffic():
        async with gateway(ocpp_data_dir) as port:
            return await _send_raw(port, "CP-1", "1.6", [frame])

    answer = asyncio.run(traffic())
    assert answer[0][:2] == [4, "auth"]
    assert "TAG-OF-A-PERSON" not in caplog.text
