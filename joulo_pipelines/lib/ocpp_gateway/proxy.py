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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from urllib.parse import quote

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

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


def _read(frame: str | bytes) -> list | None:
    """The OCPP-J array in a frame, None for anything else (forwarded all the same, never journaled)."""
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


class ProxiedChargePoint:
    """One charger's connection and its upstream twin. `id`, `_connection` and `last_seen` are what the
    gateway's idle sweeper reads, as of the charge points it answers itself."""

    def __init__(self, charge_point_ref: str, ocpp_version: str, connection: ServerConnection,
                 journal: PartnerJournal, partner_id: str):
        self.id = charge_point_ref
        self.ocpp_version = ocpp_version
        self._connection = connection
        self.journal = journal
        self.partner_id = partner_id
        self.last_seen = time.monotonic()
        self._pending: dict[str, tuple[str, dict]] = {}  # the charger's calls the CSMS has not answered

    async def run(self, upstream_url: str, credentials: tuple[str, str] | None) -> None:
        url = f"{upstream_url.rstrip('/')}/{quote(self.id, safe='')}"
        subprotocol = self._connection.subprotocol
        try:
            upstream = await connect(url, subprotocols=[subprotocol], user_agent_header=None,
                                     additional_headers=_basic_auth(credentials), ping_interval=None,
                                     compression=None, open_timeout=UPSTREAM_OPEN_TIMEOUT_SECONDS)
        except Exception as exc:  # unreachable, refused (401, 404...), timed out: the charger comes back later
            LOGGER.warning("partner %s, charge point %s: upstream CSMS not reachable (%s); closed the charger's "
                           "connection", self.partner_id, ascii(self.id), type(exc).__name__)
            await self._connection.close(CloseCode.TRY_AGAIN_LATER, "upstream CSMS not reachable")
            return
        if upstream.subprotocol != subprotocol:
            LOGGER.warning("partner %s: the upstream CSMS did not accept %s", self.partner_id, subprotocol)
            await asyncio.gather(upstream.close(), self._connection.close(CloseCode.TRY_AGAIN_LATER,
                                                                          "upstream CSMS refused the subprotocol"))
            return
        directions = [asyncio.create_task(self._from_charger(upstream)),
                      asyncio.create_task(self._from_upstream(upstream))]
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        for direction in directions:
            direction.cancel()
        if directions[1].done() and not directions[0].done():
            LOGGER.info("partner %s, charge point %s: the upstream CSMS went away; closed the charger's connection",
                        self.partner_id, ascii(self.id))
        await asyncio.gather(upstream.close(), self._connection.close(CloseCode.TRY_AGAIN_LATER, "upstream closed"),
                             return_exceptions=True)

    async def _from_charger(self, upstream: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # either side closing ends it; `run` closes the other
            async for frame in self._connection:
                self.last_seen = time.monotonic()
                message = _read(frame)
                if message is not None and message[0] == CALL and len(message) == 4 and type(message[3]) is dict:
                    if len(self._pending) >= MAX_PENDING_CALLS:
                        LOGGER.warning("partner %s, charge point %s: %d calls unanswered; closed its connection",
                                       self.partner_id, ascii(self.id), MAX_PENDING_CALLS)
                        return
                    self._pending[message[1]] = (message[2], message[3])
                await upstream.send(frame)

    async def _from_upstream(self, upstream: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # either side closing ends it; `run` closes the other
            async for frame in upstream:
                message = _read(frame)
                if message is not None and message[0] in (CALL_RESULT, CALL_ERROR):
                    call = self._pending.pop(message[1], None)
                    if call is not None and message[0] == CALL_RESULT and not await self._journal(message, *call):
                        return
                await self._connection.send(frame)

    async def _journal(self, answer: list, action: str, payload: dict) -> bool:
        transaction_id = None
        if self.ocpp_version == "1.6" and action == "StartTransaction" and isinstance(answer[2], dict):
            transaction_id = answer[2].get("transactionId")
        try:
            await self.journal.append(self.id, self.ocpp_version, answer[1], action, payload, proxied=True,
                                      transaction_id=transaction_id if type(transaction_id) is int else None)
        except Exception as exc:  # the journal logged a failed write; the answer is not forwarded
            LOGGER.error("partner %s, charge point %s: a %s answered by the CSMS could not be journaled (%s); "
                         "closed the connection, the charger sends it again", self.partner_id, ascii(self.id),
                         action[:50], type(exc).__name__)
            return False
        return True


def _basic_auth(credentials: tuple[str, str] | None) -> dict[str, str]:
    if credentials is None:
        return {}
    user, password = credentials
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
