"""What the gateway does with a frame that is not a well-formed OCPP-J message, and what it logs of it.

OCPP-J wants every CALL answered: a frame whose message id can be read gets a CALLERROR, one whose id cannot
be read (not JSON, not an array, no string id) leaves nothing to answer and the connection is closed with a
protocol error. Answers (CALLRESULT, CALLERROR) are dropped: the gateway never calls a charge point, so
there is nothing they could answer, and queueing them would let a charger fill our memory.
"""

from __future__ import annotations

import json

from ocpp.exceptions import FormationViolationError, FormatViolationError, OCPPError
from ocpp.messages import Call, CallError

CALL = 2
ANSWERS = (3, 4)
LOGGED_CHARACTERS = 1024


class BadFrame(Exception):
    def __init__(self, reason: str, message_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


def read_call(raw: str | bytes) -> Call | None:
    """The CALL in the frame, None for an answer (ignored); BadFrame for anything else."""
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays nested deeper than the parser goes
        raise BadFrame("not JSON") from None
    if not isinstance(frame, list) or len(frame) < 2 or not isinstance(frame[1], str):
        raise BadFrame("not an OCPP-J array [type, message id, ...] with a string message id")
    if frame[0] in ANSWERS:
        return None
    if frame[0] != CALL:
        raise BadFrame(f"message type {str(frame[0])[:20]!r} is not 2 (CALL)", frame[1])
    if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
        raise BadFrame("a CALL is [2, message id, action, payload object]", frame[1])
    return Call(frame[1], frame[2], frame[3])


def format_violation(ocpp_version: str, description: str) -> OCPPError:
    """The version's name for a malformed message: OCPP 1.6 spells it FormationViolation."""
    error_class = FormationViolationError if ocpp_version == "1.6" else FormatViolationError
    return error_class(description=description)


def call_error(message_id: str, error: OCPPError) -> str:
    # The ocpp package writes JSON with ASCII escapes, so an id with a lone surrogate goes back as it came.
    return CallError(message_id, error.code, error.description, {}).to_json()


def excerpt(raw: str | bytes) -> str:
    """At most 1 KiB of the frame, escaped (no line breaks or control characters reach the log)."""
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    cut = f"... ({len(text)} characters)" if len(text) > LOGGED_CHARACTERS else ""
    return ascii(text[:LOGGED_CHARACTERS]) + cut
