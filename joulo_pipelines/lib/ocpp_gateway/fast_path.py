"""The calls a charger sends all day (MeterValues, Heartbeat, StatusNotification, 2.0.1 TransactionEvent),
recognised and answered without the `ocpp` package's generic dispatch.

The generic dispatch costs about half a millisecond of CPU per call: jsonschema's interpreter validating the
request, camelCase <-> snake_case conversion of every key, response dataclasses, and validating our own fixed
answer. Here the frame is parsed by orjson and the payload checked by a validator that fastjsonschema
compiles from the very schema files the `ocpp` package ships, in draft 4 as the package validates them;
the answer is a fixed document.

The fast path can only say yes. A frame it cannot parse, an action it does not know, a payload its validator
refuses: all of it goes to the generic dispatch, which answers as it always did (a CALLERROR with the right
code). fastjsonschema is, if anything, stricter (it also checks `format: date-time`), so the fast path
changes how fast a call is answered, never what is answered.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import fastjsonschema
import ocpp
import orjson

OCPP_SCHEMAS = Path(ocpp.__file__).parent
HOT_ACTIONS = {
    "1.6": ("MeterValues", "Heartbeat", "StatusNotification"),
    "2.0.1": ("MeterValues", "Heartbeat", "StatusNotification", "TransactionEvent"),
}
CALL = 2
CALL_RESULT = 3


@dataclass(frozen=True)
class HotCall:
    message_id: str
    action: str
    payload: dict


def _schema_file(ocpp_version: str, action: str) -> Path:
    if ocpp_version == "1.6":
        return OCPP_SCHEMAS / "v16" / "schemas" / f"{action}.json"
    return OCPP_SCHEMAS / "v201" / "schemas" / f"{action}Request.json"


@functools.cache
def request_validators(ocpp_version: str) -> dict[str, Callable[[dict], object]]:
    """action -> compiled validator of its request payload, for the hot actions of one OCPP version."""
    validators = {}
    for action in HOT_ACTIONS[ocpp_version]:
        schema = json.loads(_schema_file(ocpp_version, action).read_text(encoding="utf-8-sig"))
        schema["$schema"] = "http://json-schema.org/draft-04/schema#"  # the draft `ocpp` validates with
        validators[action] = fastjsonschema.compile(schema)
    return validators


def parse_hot_call(raw: str | bytes, ocpp_version: str) -> HotCall | None:
    """The CALL in this frame if it is a valid call of a hot action; None sends it the generic way."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(frame) is not list or len(frame) != 4 or frame[0] != CALL:
        return None
    _, message_id, action, payload = frame
    if type(message_id) is not str or type(action) is not str or type(payload) is not dict:
        return None
    validate = request_validators(ocpp_version).get(action)
    if validate is None:
        return None
    try:
        validate(payload)
    except fastjsonschema.JsonSchemaException:
        return None
    return HotCall(message_id, action, payload)


def hot_answer(call: HotCall, current_time: Callable[[], str]) -> bytes:
    """The CALLRESULT frame: the same minimal answers the generic handlers give, valid by construction."""
    if call.action == "Heartbeat":
        body: dict = {"currentTime": current_time()}
    elif call.action == "TransactionEvent" and call.payload.get("idToken"):
        body = {"idTokenInfo": {"status": "Accepted"}}
    else:
        body = {}
    return orjson.dumps([CALL_RESULT, call.message_id, body])
