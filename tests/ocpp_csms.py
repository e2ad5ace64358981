"""A partner's own back office (CSMS) built on the `ocpp` package, upstream of the gateway in proxy mode: it
answers the charger's calls as a CSMS does (with its own transaction ids), calls the charger itself, and
keeps every frame it received and sent, as it was on the wire, to compare with what the charger sent and got.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.datatypes import IdTokenInfoType
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

FIRST_TRANSACTION_ID = 7001
NOW = "2026-03-10T18:00:00Z"


class Recording:
    """Notes every frame an `ocpp` ChargePoint (either end) receives and sends, exactly as on the wire."""

    received: list[str]
    sent: list[str]

    async def route_message(self, raw_msg):
        self.received.append(raw_msg)
        return await super().route_message(raw_msg)  # type: ignore[misc]

    async def _send(self, message):
        self.sent.append(message)
        return await super()._send(message)  # type: ignore[misc]


class Csms16(Recording, ChargePoint16):
    csms: Csms

    @on("BootNotification")
    async def on_boot_notification(self, **_):
        return result16.BootNotification(current_time=NOW, interval=300, status="Accepted")

    @on("Heartbeat")
    async def on_heartbeat(self, **_):
        return result16.Heartbeat(current_time=NOW)

    @on("StatusNotification")
    async def on_status_notification(self, **_):
        return result16.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_):
        return result16.Authorize(id_tag_info=IdTagInfo(status="Accepted"))

    @on("StartTransaction")
    async def on_start_transaction(self, **_):
        return result16.StartTransaction(transaction_id=next(self.csms.transaction_ids),
                                         id_tag_info=IdTagInfo(status="Accepted"))

    @on("StopTransaction")
    async def on_stop_transaction(self, **_):
        return result16.StopTransaction(id_tag_info=IdTagInfo(status="Accepted"))

    @on("MeterValues")
    async def on_meter_values(self, **_):
        await self.csms.hold.wait()
        return result16.MeterValues()

    @on("DataTransfer")
    async def on_data_transfer(self, **_):
        return result16.DataTransfer(status="Accepted")


class Csms201(Recording, ChargePoint201):
    csms: Csms

    @on("BootNotification")
    async def on_boot_notification(self, **_):
        return result201.BootNotification(current_time=NOW, interval=300, status="Accepted")

    @on("Heartbeat")
    async def on_heartbeat(self, **_):
        return result201.Heartbeat(current_time=NOW)

    @on("StatusNotification")
    async def on_status_notification(self, **_):
        return result201.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_):
        return result201.Authorize(id_token_info=IdTokenInfoType(status="Accepted"))

    @on("TransactionEvent")
    async def on_transaction_event(self, id_token=None, **_):
        return result201.TransactionEvent(id_token_info=IdTokenInfoType(status="Accepted") if id_token else None)

    @on("MeterValues")
    async def on_meter_values(self, **_):
        await self.csms.hold.wait()
        return result201.MeterValues()


class Csms:
    """The back office at ws://127.0.0.1:<port>/csms/<charge point>; `kill` drops it like a dead process
    (no closing handshake), `serve` brings it back on the same port with what it knew."""

    def __init__(self):
        self.transaction_ids = itertools.count(FIRST_TRANSACTION_ID)
        self.charge_points: dict[str, Csms16 | Csms201] = {}
        self.received: dict[str, list[str]] = defaultdict(list)  # per charge point, over its reconnections
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.authorizations: dict[str, str] = {}
        self.hold = asyncio.Event()  # cleared: MeterValues go unanswered (a CSMS busy when it dies)
        self.hold.set()
        self.port = 0
        self._server = None

    async def _handle(self, connection) -> None:
        identity = connection.request.path.rsplit("/", 1)[-1]
        self.authorizations[identity] = connection.request.headers.get("Authorization", "")
        charge_point = (Csms16 if connection.subprotocol == "ocpp1.6" else Csms201)(identity, connection)
        charge_point.csms = self
        charge_point.received, charge_point.sent = self.received[identity], self.sent[identity]
        self.charge_points[identity] = charge_point
        with contextlib.suppress(ConnectionClosed):
            await charge_point.start()

    async def serve(self) -> int:
        self._server = await serve(self._handle, "127.0.0.1", self.port, subprotocols=["ocpp1.6", "ocpp2.0.1"],
                                   ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def kill(self) -> None:
        """Stop listening and cut every connection. Not waiting for its handlers: one may be held."""
        self._server.close(close_connections=False)
        for connection in list(self._server.connections):
            connection.transport.abort()
        await asyncio.sleep(0)

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/csms"
