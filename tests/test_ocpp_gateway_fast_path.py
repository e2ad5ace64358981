"""The gateway's fast path for the calls chargers send all day answers exactly what the `ocpp` package's
generic dispatch would: valid responses, the same journal, the same deduplication, and every call it is not
sure about handed to the generic dispatch (which answers as it always did)."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.messages import MessageType, get_validator
from websockets.asyncio.client import connect

from joulo_pipelines.lib.ocpp_gateway.fast_path import HOT_ACTIONS, HotCall, hot_answer, parse_hot_call
from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments
from ocpp_clients import SECRET, SECRET_ENV, basic_auth_header, gateway, make_ocpp_partner

READING_16 = {"timestamp": "2026-05-01T10:00:00Z",
              "sampledValue": [{"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}
READING_201 = {"timestamp": "2026-05-01T10:00:00Z", "sampledValue": [{"value": 1234.5}]}


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


@pytest.mark.parametrize("version,action,payload", [
    (version, action, payload)
    for version, actions in HOT_ACTIONS.items() for action in actions
    for payload in ([{}, {"idToken": {"idToken": "TAG", "type": "ISO14443"}}] if action == "TransactionEvent" else [{}])
])
def test_every_fixed_answer_of_the_fast_path_is_a_valid_ocpp_response(version, action, payload):
    frame = json.loads(hot_answer(HotCall("m-1", action, payload), lambda: "2026-05-01T10:00:00Z"))
    assert frame[:2] == [MessageType.CallResult, "m-1"]
    get_validator(MessageType.CallResult, action, version).validate(frame[2])


def test_only_well_formed_calls_of_hot_actions_take_the_fast_path():
    call = [2, "m-1", "MeterValues", {"connectorId": 1, "meterValue": [READING_16]}]
    assert parse_hot_call(json.dumps(call), "1.6") == HotCall("m-1", "MeterValues", call[3])
    assert parse_hot_call(json.dumps([2, "m-2", "StartTransaction", {}]), "1.6") is None  # not a hot action
    assert parse_hot_call(json.dumps([2, "m-3", "TransactionEvent", {}]), "1.6") is None  # not in 1.6
    assert parse_hot_call(json.dumps([3, "m-4", {}]), "1.6") is None  # a CALLRESULT
    assert parse_hot_call('[2, "m-5", "Heartbeat", {}', "1.6") is None  # not JSON
    assert parse_hot_call(json.dumps([2, "m-6", "MeterValues", {"meterValue": []}]), "1.6") is None  # schema


async def _exchange(port: int, version: str, frames: list[list]) -> list[list]:
    async with connect(f"ws://127.0.0.1:{port}/beta/CP-FAST", subprotocols=[f"ocpp{version}"],
                       additional_headers=basic_auth_header("CP-FAST", SECRET)) as ws:
        answers = []
        for frame in frames:
            await ws.send(json.dumps(frame))
            answers.append(json.loads(await ws.recv()))
        return answers


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_hot_calls_are_journaled_once_and_what_the_fast_path_refuses_gets_the_generic_answer(ocpp_data_dir, version):
    meter_values = ({"connectorId": 1, "meterValue": [READING_16]} if version == "1.6"
                    else {"evseId": 1, "meterValue": [READING_201]})
    frames = [
        [2, "hb", "Heartbeat", {}],
        [2, "mv", "MeterValues", meter_values],
        [2, "mv", "MeterValues", meter_values],  # a retry: the same answer, no second journal line
        [2, "bad", "MeterValues", {"meterValue": meter_values["meterValue"]}],  # no connector: refused
        # No UTC offset: fastjsonschema's date-time check refuses it, the package (no format check) accepts it.
        [2, "local-time", "MeterValues", {**meter_values, "meterValue": [
            {**meter_values["meterValue"][0], "timestamp": "2026-05-01T10:00:00"}]}],
        # Beyond 64 bits orjson cannot parse it; the package's json module can, and the schema allows it.
        [2, "huge", "MeterValues", {**meter_values, ("connectorId" if version == "1.6" else "evseId"): 2**70}],
    ]

    async def traffic():
        async with gateway(ocpp_data_dir) as port:
            return await _exchange(port, version, frames)

    answers = asyncio.run(traffic())
    by_id = {}
    for answer in answers:
        by_id.setdefault(answer[1], []).append(answer)
    assert by_id["hb"][0][0] == MessageType.CallResult and by_id["hb"][0][2]["currentTime"]
    assert by_id["mv"] == [[3, "mv", {}], [3, "mv", {}]]
    assert by_id["bad"][0][0] == MessageType.CallError
    assert by_id["local-time"] == [[3, "local-time", {}]]
    assert by_id["huge"] == [[3, "huge", {}]]

    journaled = [json.loads(line) for segment in closed_segments(ocpp_data_dir)
                 for line in segment.read_text().splitlines()]
    assert [line["message_id"] for line in journaled] == ["hb", "mv", "local-time", "huge"]
    assert journaled[1]["payload"] == meter_values
    assert {line["ocpp_version"] for line in journaled} == {version}
