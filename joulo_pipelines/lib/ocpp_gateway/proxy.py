"""Proxy mode: the partner keeps its own back office (CSMS), and we sit between it and its chargers.

A charger's connection is paired with one to `<upstream_url>/<charge point>` in the same subprotocol, and
every frame goes on unchanged both ways: the charger's calls and the CSMS's answers, the CSMS's own calls
(RemoteStartTransaction, ChangeConfiguration, UpdateFirmware...) and the charger's answers. We never answer
in the CSMS's place.

A charger's call is journaled when the CSMS's CALLRESULT to it comes back, with the transactionId a 1.6
answer carries, and that answer is forwarded only once the journal has it on disk: whatever the charger was
told is accepted is in the journal. A call the charger retries (same message id) and the CSMS answers
again is recognised by the journal's duplicate index and not written twice. A CALLERROR is forwarded and
not journaled: the CSMS did not take that call.

When the upstream cannot be reached, refuses us or goes away, the charger's connection is closed: the
charger queues its transaction messages offline, as OCPP intends, and reconnects through us. So is it when
the journal cannot write (nothing is forwarded that the journal does not hold).

Cost: a frame is relayed from the event loop's read callback that parsed it, as the bytes it came as, to
the other socket: no task wakes, no queue, no UTF-8 decoding and encoding. Only the frames that must be
read are parsed (orjson), and an answer waiting for the journal holds back only the frames behind it on its
way to the charger. A connection that cannot take more pauses reading from the one that feeds it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import os
import struct
import time
from collections import deque
from typing import Callable
from urllib.parse import quote

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode, apply_mask
from websockets.protocol import Side, State

from joulo_pipelines.lib.ocpp_gateway.journal import PartnerJournal
from joulo_pipelines.lib.partners import Source

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4
# OCPP allows one call in flight per direction; a charger with this many unanswered is not a charger.
MAX_PENDING_CALLS = 1000
UPSTREAM_OPEN_TIMEOUT_SECONDS = 10.0
LOGGER = logging.getLogger("joulo.ocpp_gateway.proxy")


def upstream_credentials(source: Source, charge_point_ref: str, environ) -> tuple[str, str] | None:
    """The charge point's HTTP Basic credentials for the CSMS: its identity and the password in the env var
    `upstream_auth_env` names, either one password for all or a JSON object {charge point: password}."""
    secret = environ.get(source.upstream_auth_env or "", "")
    if not secret:
        return None
    if secret.lstrip().startswith("{"):
        password = json.loads(secret).get(charge_point_ref)
        return (charge_point_ref, password) if password else None
    return charge_point_ref, secret


def _read(frame: bytes) -> list | None:
    """The OCPP-J array in a message, None for anything else (forwarded all the same, never journaled)."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        try:  # orjson refuses what json reads (a lone surrogate escape): such a call must still be tracked
            message = json.loads(frame)
        except (ValueError, RecursionError):
            return None
    if type(message) is not list or len(message) < 3 or type(message[1]) is not str:
        return None
    return message


def _whole_message(fragments: list[bytes], frame: Frame) -> bytes | None:
    """The message `frame` ends (nearly always a single frame), None while one is still coming in."""
    if frame.fin and not fragments:
        return frame.data
    fragments.append(frame.data)
    if not frame.fin:
        return None
    message = b"".join(fragments)
    fragments.clear()
    return message


def _whole_message_frame(opcode: Opcode, data: bytes, masked: bool) -> bytes:
    """The frame websockets' send_text/send_binary write for a whole message when no extension is in use
    (we negotiate none): FIN, opcode, length and, from the client side, a fresh random mask."""
    length = len(data)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, mask_bit | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, mask_bit | 127, length)
    if not masked:
        return header + data
    mask = os.urandom(4)
    return header + mask + apply_mask(data, mask)


def _relay(connection: Connection, frame: Frame) -> bool:
    """Send `frame` on as it came (a fragment stays a fragment); False if the connection is not open."""
    protocol = connection.protocol
    if protocol.state is not State.OPEN:
        return False
    try:
        if frame.fin and frame.opcode is not Opcode.CONT and not protocol.expect_continuation_frame \
                and not protocol.extensions:  # nearly every frame: the same bytes, without send_text's calls
            connection.transport.write(_whole_message_frame(frame.opcode, frame.data, protocol.side is Side.CLIENT))
        elif frame.opcode is Opcode.TEXT:
            protocol.send_text(frame.data, frame.fin)
        elif frame.opcode is Opcode.BINARY:
            protocol.send_binary(frame.data, frame.fin)
        else:
            protocol.send_continuation(frame.data, frame.fin)
        connection.send_data()
    except Exception:  # the socket failed under us: the connection is going away
        return False
    return True


class _Relaying:
    """A websockets connection whose data frames go to `on_frame` as they are parsed, once it is set; when
    its writes back up, it pauses reading from `peer`, the connection that feeds it."""

    on_frame: Callable[[Frame], None] | None = None
    peer: Connection | None = None
    _held: list[Frame] | None = None

    def process_event(self, event) -> None:
        if self.on_frame is not None and type(event) is Frame and event.opcode in DATA_OPCODES:
            self.on_frame(event)
        else:
            super().process_event(event)  # type: ignore[misc]

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        if self.peer is not None and not self.peer.transport.is_closing():
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[misc]
        if self.peer is not None and not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()


class ChargerConnection(_Relaying, ServerConnection):
    """Every connection to the gateway; only a proxied one is held and relayed."""

    def hold(self) -> None:
        """Keep the charger's frames (and stop reading) until its upstream is open: they go there first."""
        self._held = []
        self.on_frame = self._held.append
        self.transport.pause_reading()

    def relay_to(self, on_frame: Callable[[Frame], None] | None) -> None:
        """Hand the frames held and every later one to `on_frame` (None: to nobody, we are closing)."""
        held, self._held = self._held or [], None
        self.on_frame = on_frame
        if on_frame is not None:
            for frame in held:
                on_frame(frame)
        if not self.transport.is_closing():
            self.transport.resume_reading()


class UpstreamConnection(_Relaying, ClientConnection):
    """Our connection to the CSMS: relaying from its first frame (a CSMS may call right after accepting)."""

    def __init__(self, *args, on_frame: Callable[[Frame], None], peer: Connection, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_frame, self.peer = on_frame, peer


class _Outgoing:
    """A frame from the CSMS on its way to the charger; an answer is `ready` once the journal has its call."""

    __slots__ = ("frame", "ready")

    def __init__(self, frame: Frame, ready: bool):
        self.frame, self.ready = frame, ready


class ProxiedChargePoint:
    """One charger's connection and its upstream twin. `id`, `_connection` and `last_seen` are what the
    gateway's idle sweeper reads, as of the charge points it answers itself."""

    def __init__(self, charge_point_ref: str, ocpp_version: str, connection: ChargerConnection,
                 journal: PartnerJournal, partner_id: str):
        self.id = charge_point_ref
        self.ocpp_version = ocpp_version
        self._connection = connection
        self.journal = journal
        self.partner_id = partner_id
        self.last_seen = time.monotonic()
        self._pending: dict[str, tuple[str, dict]] = {}  # the charger's calls the CSMS has not answered
        self._upstream: UpstreamConnection | None = None
        self._to_charger: deque[_Outgoing] = deque()  # behind an answer the journal does not hold yet
        self._fragments: tuple[list[bytes], list[bytes]] = ([], [])  # of a message coming in: charger's, CSMS's
        self._stopped: asyncio.Future = asyncio.get_running_loop().create_future()

    async def run(self, upstream_url: str, credentials: tuple[str, str] | None) -> None:
        url = f"{upstream_url.rstrip('/')}/{quote(self.id, safe='')}"
        charger = self._connection
        subprotocol = charger.subprotocol
        try:
            upstream = await connect(
                url, subprotocols=[subprotocol], user_agent_header=None, additional_headers=_basic_auth(credentials),
                ping_interval=None, compression=None, open_timeout=UPSTREAM_OPEN_TIMEOUT_SECONDS,
                create_connection=functools.partial(UpstreamConnection, on_frame=self._from_upstream, peer=charger))
        except Exception as exc:  # unreachable, refused (401, 404...), timed out: the charger comes back later
            LOGGER.warning("partner %s, charge point %s: upstream CSMS not reachable (%s); closed the charger's "
                           "connection", self.partner_id, ascii(self.id), type(exc).__name__)
            charger.relay_to(None)
            await charger.close(CloseCode.TRY_AGAIN_LATER, "upstream CSMS not reachable")
            return
        if upstream.subprotocol != subprotocol:
            LOGGER.warning("partner %s: the upstream CSMS did not accept %s", self.partner_id, subprotocol)
            charger.relay_to(None)
            await asyncio.gather(upstream.close(), charger.close(CloseCode.TRY_AGAIN_LATER,
                                                                 "upstream CSMS refused the subprotocol"))
            return
        self._upstream = upstream
        charger.peer = upstream
        charger.relay_to(self._from_charger)
        ends = [asyncio.ensure_future(charger.wait_closed()), asyncio.ensure_future(upstream.wait_closed()),
                self._stopped]
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        if ends[1].done() and not ends[0].done():
            LOGGER.info("partner %s, charge point %s: the upstream CSMS went away; closed the charger's connection",
                        self.partner_id, ascii(self.id))
        for end in ends:
            end.cancel()
        await asyncio.gather(upstream.close(), charger.close(CloseCode.TRY_AGAIN_LATER, "upstream closed"),
                             return_exceptions=True)

    def _stop(self) -> None:
        """Close both sides (from a read callback, which cannot wait): `run` does it."""
        if not self._stopped.done():
            self._stopped.set_result(None)

    def _from_charger(self, frame: Frame) -> None:
        self.last_seen = time.monotonic()
        message = _whole_message(self._fragments[0], frame)
        if message is not None:
            call = _read(message)
            if call is not None and call[0] == CALL and len(call) == 4 and type(call[3]) is dict:
                if len(self._pending) >= MAX_PENDING_CALLS:
                    LOGGER.warning("partner %s, charge point %s: %d calls unanswered; closed its connection",
                                   self.partner_id, ascii(self.id), MAX_PENDING_CALLS)
                    return self._stop()
                self._pending[call[1]] = (call[2], call[3])
        if not _relay(self._upstream, frame):  # type: ignore[arg-type]
            self._stop()

    def _from_upstream(self, frame: Frame) -> None:
        message = _whole_message(self._fragments[1], frame)
        answer = None if message is None else _read(message)
        if answer is not None and answer[0] in (CALL_RESULT, CALL_ERROR):
            call = self._pending.pop(answer[1], None)
            if call is not None and answer[0] == CALL_RESULT:
                outgoing = _Outgoing(frame, ready=False)
                self._to_charger.append(outgoing)
                self._journal(answer, *call, outgoing)
                return
        if self._to_charger:
            self._to_charger.append(_Outgoing(frame, ready=True))
        elif not _relay(self._connection, frame):
            self._stop()

    def _journal(self, answer: list, action: str, payload: dict, outgoing: _Outgoing) -> None:
        """Journal the charger's call the CSMS accepted; its answer goes on once the journal has it."""
        transaction_id = None
        if self.ocpp_version == "1.6" and action == "StartTransaction" and isinstance(answer[2], dict):
            transaction_id = answer[2].get("transactionId")

        def written(error: Exception | None) -> None:
            if error is not None:  # the journal logged a failed write; the answer is not forwarded
                LOGGER.error("partner %s, charge point %s: a %s answered by the CSMS could not be journaled (%s); "
                             "closed the connection, the charger sends it again", self.partner_id, ascii(self.id),
                             action[:50], type(error).__name__)
                self._to_charger.clear()
                return self._stop()
            outgoing.ready = True
            while self._to_charger and self._to_charger[0].ready:
                if not _relay(self._connection, self._to_charger.popleft().frame):
                    return self._stop()

        self.journal.submit(self.id, self.ocpp_version, answer[1], action, payload, on_written=written,
                            transaction_id=transaction_id if type(transaction_id) is int else None)


def _basic_auth(credentials: tuple[str, str] | None) -> dict[str, str]:
    if credentials is None:
        return {}
    user, password = credentials
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
