"""The gateway's WebSocket server: ws(s)://HOST:PORT/<partner_id>/<charge_point_ref>, OCPP 1.6J or 2.0.1.

Security profile 1: HTTP Basic auth, the username being the charge point identity from the URL and the
password that charge point's own (credentials.py); profile 2 is the same over TLS, and a partner registered
with it is refused over plain ws. A charge point without a password of its own may still use the partner's
shared secret from the environment variable the registry names (`basic_auth_env`), which is being phased
out. Unknown partners, identities the partner never delivered in charge_points.csv, bad credentials and
connections beyond the partner's `max_connections` are refused in the handshake, before a single OCPP frame;
a connection silent for longer than the idle timeout is closed.

A passive sink: every call is journaled (see journal.py) and only then answered, with the smallest valid
response. Unless the partner keeps its own back office (`upstream_url`): then the gateway is a proxy to it
and answers nothing itself (proxy.py). The `ocpp` package parses and validates the frames against the official JSON schemas; the calls a
charger sends all day take a faster road to the same journal and the same answers (fast_path.py). Frames
that are not OCPP-J are refused (frames.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import signal
import ssl
import time
from http import HTTPStatus
from urllib.parse import unquote

import ocpp.messages
from ocpp.charge_point import ChargePoint as BaseChargePoint
from ocpp.exceptions import InternalError, OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.datatypes import IdTokenInfoType
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.frames import CloseCode
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.ocpp_gateway.credentials import CredentialStore, verify_password
from joulo_pipelines.lib.ocpp_gateway.fast_path import hot_answer, parse_hot_call
from joulo_pipelines.lib.ocpp_gateway.frames import BadFrame, call_error, excerpt, format_violation, read_call
from joulo_pipelines.lib.ocpp_gateway.journal import PartnerJournal, Unjournalable, journal_root
from joulo_pipelines.lib.ocpp_gateway.known_charge_points import KnownChargePoints
from joulo_pipelines.lib.ocpp_gateway.proxy import ChargerConnection, ProxiedChargePoint, upstream_credentials
from joulo_pipelines.lib.partners import Partner, PartnerRegistry, load_registry
from joulo_pipelines.lib.paths import DataDir

SUBPROTOCOLS = {"ocpp2.0.1": "2.0.1", "ocpp1.6": "1.6"}
HEARTBEAT_INTERVAL_SECONDS = 300
IDLE_TIMEOUT_SECONDS = 3 * HEARTBEAT_INTERVAL_SECONDS
REALM = "joulo-ocpp"
LOGGER = logging.getLogger("joulo.ocpp_gateway")
# The `ocpp` package logs whole frames (idTags) at every level, errors included; the gateway logs what it
# refuses itself, truncated.
logging.getLogger("ocpp").setLevel(logging.CRITICAL)
# Schema validation is CPU work; the package runs it in a thread pool by default, which under the GIL only
# adds a thread hop per message. Inline it is faster at thousands of messages per second.
ocpp.messages.ASYNC_VALIDATION = False


def _now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


class _JournalingMixin:
    """Journals the call being handled before its handler returns the answer; refuses what is not OCPP-J."""

    ocpp_version: str
    journal: PartnerJournal
    partner_id: str
    last_seen: float  # time.monotonic() of the last frame, for the idle timeout
    _current: ocpp.messages.Call
    _connection: ServerConnection

    async def route_message(self, raw_msg):
        self.last_seen = time.monotonic()
        call = parse_hot_call(raw_msg, self.ocpp_version)
        if call is None:
            return await self._route_generic(raw_msg)
        try:
            await self.journal.append(self.id, self.ocpp_version, call.message_id, call.action,  # type: ignore[attr-defined]
                                      call.payload)
        except Exception:  # the journal logged it; no answer says it was received
            await self._connection.send(call_error(call.message_id, _not_journaled()))
            return
        await self._connection.send(hot_answer(call, _now), text=True)

    async def _route_generic(self, raw_msg) -> None:
        """The `ocpp` package's dispatch, behind our own reading of the frame (see frames.py)."""
        try:
            msg = read_call(raw_msg)
        except BadFrame as bad:
            LOGGER.warning("partner %s, charge point %s: refused a frame (%s): %s", self.partner_id,
                           ascii(self.id), bad.reason, excerpt(raw_msg))  # type: ignore[attr-defined]
            if bad.message_id is None:
                await self._connection.close(CloseCode.PROTOCOL_ERROR, "not an OCPP-J frame")
            else:
                await self._connection.send(call_error(bad.message_id, format_violation(self.ocpp_version,
                                                                                        bad.reason)))
            return
        if msg is None:
            return
        try:
            await self._handle_call(msg)
        except OCPPError as error:  # raised before a handler ran: unknown action, payload against the schema
            await self._connection.send(call_error(msg.unique_id, error))

    async def _handle_call(self, msg):
        self._current = msg
        return await super()._handle_call(msg)  # type: ignore[misc]

    async def _journal(self):
        call = self._current
        try:
            record, _ = await self.journal.append(self.id, self.ocpp_version, call.unique_id, call.action,  # type: ignore[attr-defined]
                                                  call.payload)
        except Unjournalable as refused:
            LOGGER.warning("partner %s, charge point %s: refused a %s call (%s), message id %s", self.partner_id,
                           ascii(self.id), excerpt(call.action), refused, excerpt(call.unique_id))  # type: ignore[attr-defined]
            raise format_violation(self.ocpp_version, str(refused)) from None
        except Exception:  # the journal logged it; the package answers the CALLERROR
            raise _not_journaled() from None
        return record


def _not_journaled() -> OCPPError:
    return InternalError(description="the call could not be journaled; send it again")


class Gateway16(_JournalingMixin, ChargePoint16):
    ocpp_version = "1.6"

    @on("BootNotification")
    async def on_boot_notification(self, **_):
        await self._journal()
        return result16.BootNotification(current_time=_now(), interval=HEARTBEAT_INTERVAL_SECONDS,
                                         status="Accepted")

    @on("Heartbeat")
    async def on_heartbeat(self, **_):
        await self._journal()
        return result16.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def on_status_notification(self, **_):
        await self._journal()
        return result16.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_):
        await self._journal()
        return result16.Authorize(id_tag_info=IdTagInfo(status="Accepted"))

    @on("StartTransaction")
    async def on_start_transaction(self, **_):
        record = await self._journal()
        return result16.StartTransaction(transaction_id=record.transaction_id,
                                         id_tag_info=IdTagInfo(status="Accepted"))

    @on("StopTransaction")
    async def on_stop_transaction(self, **_):
        await self._journal()
        return result16.StopTransaction(id_tag_info=IdTagInfo(status="Accepted"))

    @on("MeterValues")
    async def on_meter_values(self, **_):
        await self._journal()
        return result16.MeterValues()

    @on("DataTransfer")
    async def on_data_transfer(self, **_):
        await self._journal()
        return result16.DataTransfer(status="Accepted")

    @on("DiagnosticsStatusNotification")
    async def on_diagnostics_status_notification(self, **_):
        await self._journal()
        return result16.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_):
        await self._journal()
        return result16.FirmwareStatusNotification()


class Gateway201(_JournalingMixin, ChargePoint201):
    ocpp_version = "2.0.1"

    @on("BootNotification")
    async def on_boot_notification(self, **_):
        await self._journal()
        return result201.BootNotification(current_time=_now(), interval=HEARTBEAT_INTERVAL_SECONDS,
                                          status="Accepted")

    @on("Heartbeat")
    async def on_heartbeat(self, **_):
        await self._journal()
        return result201.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def on_status_notification(self, **_):
        await self._journal()
        return result201.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, **_):
        await self._journal()
        return result201.Authorize(id_token_info=IdTokenInfoType(status="Accepted"))

    @on("TransactionEvent")
    async def on_transaction_event(self, id_token=None, **_):
        await self._journal()
        # idTokenInfo is only meaningful when the event carries an idToken to authorise.
        return result201.TransactionEvent(
            id_token_info=IdTokenInfoType(status="Accepted") if id_token else None)

    @on("MeterValues")
    async def on_meter_values(self, **_):
        await self._journal()
        return result201.MeterValues()

    @on("DataTransfer")
    async def on_data_transfer(self, **_):
        await self._journal()
        return result201.DataTransfer(status="Accepted")

    @on("NotifyEvent")
    async def on_notify_event(self, **_):
        await self._journal()
        return result201.NotifyEvent()

    @on("SecurityEventNotification")
    async def on_security_event_notification(self, **_):
        await self._journal()
        return result201.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, **_):
        await self._journal()
        return result201.FirmwareStatusNotification()


GATEWAY_CLASSES: dict[str, type[BaseChargePoint]] = {"1.6": Gateway16, "2.0.1": Gateway201}


def _refuse(connection: ServerConnection, status: HTTPStatus, text: str, challenge: bool = False) -> Response:
    response = connection.respond(status, text + "\n")
    if challenge:
        response.headers["WWW-Authenticate"] = build_www_authenticate_basic(REALM)
    return response


def _path_parts(path: str) -> tuple[str, str] | None:
    parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/")]
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


class GatewayServer:
    """The registry, the credentials, the known charge points, the open connections and one journal per
    partner, shared by every connection."""

    def __init__(self, data_dir: DataDir, *, max_segment_bytes: int = 64 << 20,
                 max_segment_seconds: float = 300.0, idle_timeout_seconds: float = IDLE_TIMEOUT_SECONDS,
                 charge_point_refresh_seconds: float = 30.0, tls: bool = False,
                 environ: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_seconds = max_segment_seconds
        self.idle_timeout_seconds = idle_timeout_seconds
        self.tls = tls
        self.environ = os.environ if environ is None else environ
        self.registry: PartnerRegistry = load_registry(data_dir.partners_file)
        self.credentials = CredentialStore(data_dir)
        self.known_charge_points = KnownChargePoints(data_dir, charge_point_refresh_seconds)
        self.journals: dict[str, PartnerJournal] = {}
        self.connections: dict[str, set[BaseChargePoint]] = {}

    def ocpp_partner_ids(self) -> list[str]:
        return [p.id for p in self.registry.partners if p.source.type == "ocpp"]

    def start(self) -> None:
        """Recover every OCPP partner's journal before the first connection is accepted."""
        for partner_id in self.ocpp_partner_ids():
            journal = PartnerJournal(journal_root(self.data_dir) / partner_id, partner_id,
                                     max_segment_bytes=self.max_segment_bytes,
                                     max_segment_seconds=self.max_segment_seconds)
            journal.recover()
            journal.start()
            self.journals[partner_id] = journal
            self.connections[partner_id] = set()
            source = self.registry.get(partner_id).source  # type: ignore[union-attr]
            if source.security_profile == 2 and not self.tls:
                LOGGER.error("partner %s: security profile 2 needs TLS (--tls-cert/--tls-key); refusing its "
                             "charge points", partner_id)
            if source.basic_auth_env:
                LOGGER.warning("partner %s: the partner-wide secret (%s) is still accepted from charge points "
                               "without a password of their own; give each one (joulo ocpp-credentials set), "
                               "then remove basic_auth_env", partner_id, source.basic_auth_env)

    async def close(self) -> None:
        for journal in self.journals.values():
            await journal.close()

    async def check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = _path_parts(request.path)
        if parts is None:
            return _refuse(connection, HTTPStatus.NOT_FOUND, "connect to /<partner_id>/<charge_point_ref>")
        partner_id, charge_point_ref = parts
        partner = self.registry.get(partner_id)
        if partner is None or partner.source.type != "ocpp" or partner_id not in self.journals:
            return _refuse(connection, HTTPStatus.NOT_FOUND, f"unknown OCPP partner {partner_id!r}")
        if partner.source.security_profile == 2 and not self.tls:
            return _refuse(connection, HTTPStatus.FORBIDDEN, "security profile 2: connect with TLS (wss)")
        try:
            username, password = parse_authorization_basic(request.headers.get("Authorization", ""))
        except InvalidHeader:
            return _refuse(connection, HTTPStatus.UNAUTHORIZED, "HTTP Basic credentials required", True)
        if not await self._authenticates(partner, charge_point_ref, username, password):
            LOGGER.warning("partner %s: refused charge point connection with bad credentials", partner_id)
            return _refuse(connection, HTTPStatus.UNAUTHORIZED, "invalid credentials", True)
        if not self.known_charge_points.knows(partner_id, charge_point_ref):
            LOGGER.warning("partner %s: refused charge point %s, not in its charge_points files", partner_id,
                           ascii(charge_point_ref[:100]))
            return _refuse(connection, HTTPStatus.FORBIDDEN, "unknown charge point: deliver it in charge_points.csv")
        if self._at_capacity(partner):
            return _refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, "too many connections for this partner")
        if partner.source.upstream_url:
            connection.hold()  # type: ignore[attr-defined]  # its frames wait for the upstream (proxy.py)
        return None

    async def _authenticates(self, partner: Partner, charge_point_ref: str, username: str, password: str) -> bool:
        """The identity in the URL, with its own password or, if it has none yet, the partner-wide secret."""
        good_user = hmac.compare_digest(username.encode(), charge_point_ref.encode())
        stored = self.credentials.password_hash(partner.id, charge_point_ref)
        if stored is not None:
            good_password = await asyncio.to_thread(verify_password, password, stored)  # scrypt, off the loop
        else:
            secret = self.environ.get(partner.source.basic_auth_env or "", "")
            good_password = bool(secret) and hmac.compare_digest(password.encode(), secret.encode())
        return good_user and good_password

    def _at_capacity(self, partner: Partner) -> bool:
        at_capacity = len(self.connections[partner.id]) >= partner.source.max_connections
        if at_capacity:
            LOGGER.warning("partner %s: refused a connection, %d open (max_connections)", partner.id,
                           partner.source.max_connections)
        return at_capacity

    async def handle(self, connection: ServerConnection) -> None:
        partner_id, charge_point_ref = _path_parts(connection.request.path)  # type: ignore[union-attr,misc]
        if self._at_capacity(self.registry.get(partner_id)):  # type: ignore[arg-type]  # handshakes that raced
            connection.relay_to(None)  # type: ignore[attr-defined]  # a proxied one was held: read its close
            await connection.close(CloseCode.TRY_AGAIN_LATER, "too many connections for this partner")
            return
        version = SUBPROTOCOLS[connection.subprotocol]  # type: ignore[index]
        source = self.registry.get(partner_id).source  # type: ignore[union-attr]
        if source.upstream_url:
            await self._proxy(ProxiedChargePoint(charge_point_ref, version, connection, self.journals[partner_id],
                                                 partner_id), source)
            return
        charge_point = GATEWAY_CLASSES[version](charge_point_ref, connection)
        charge_point.journal = self.journals[partner_id]
        charge_point.partner_id = partner_id
        charge_point.last_seen = time.monotonic()
        self.connections[partner_id].add(charge_point)
        try:
            await charge_point.start()
        except ConnectionClosed:
            pass
        finally:
            self.connections[partner_id].discard(charge_point)

    async def _proxy(self, charge_point: ProxiedChargePoint, source) -> None:
        self.connections[charge_point.partner_id].add(charge_point)
        try:
            await charge_point.run(source.upstream_url, upstream_credentials(source, charge_point.id, self.environ))
        finally:
            self.connections[charge_point.partner_id].discard(charge_point)

    async def close_idle_connections(self) -> None:
        """Close connections silent for longer than the idle timeout (a charger heartbeats every 300 s)."""
        while True:
            await asyncio.sleep(min(self.idle_timeout_seconds / 4, 30.0))
            deadline = time.monotonic() - self.idle_timeout_seconds
            idle = [(partner_id, cp) for partner_id, cps in self.connections.items() for cp in cps
                    if cp.last_seen < deadline]  # type: ignore[attr-defined]
            for partner_id, _ in idle:
                LOGGER.info("partner %s: closed a charge point connection idle for %.0f s", partner_id,
                            self.idle_timeout_seconds)
            await asyncio.gather(*(cp._connection.close(CloseCode.GOING_AWAY, "idle timeout") for _, cp in idle),
                                 return_exceptions=True)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """Security profile 2: the server's certificate and key (PEM); TLS 1.2 at least, as OCPP requires."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


async def run_gateway(data_dir: DataDir, host: str, port: int, *, ready: asyncio.Future | None = None,
                      stop: asyncio.Future | None = None, tls: ssl.SSLContext | None = None, **options) -> None:
    """Serve until `stop` resolves (or SIGTERM/SIGINT), then flush and close every journal segment.

    `ready` gets the port once connections are accepted (port 0 picks a free one); with `tls` it serves wss."""
    gateway = GatewayServer(data_dir, tls=tls is not None, **options)
    gateway.start()
    loop = asyncio.get_running_loop()
    stop = stop or loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
        except (NotImplementedError, RuntimeError):  # not the main thread: the caller resolves `stop`
            pass
    server: Server
    async with serve(gateway.handle, host, port, subprotocols=list(SUBPROTOCOLS),
                     process_request=gateway.check_request, ping_interval=None, max_queue=64,
                     compression=None, ssl=tls, create_connection=ChargerConnection) as server:
        port = server.sockets[0].getsockname()[1]
        LOGGER.info("OCPP gateway on %s://%s:%s/<partner_id>/<charge_point_ref> for partners %s",
                    "wss" if tls else "ws", host, port, ", ".join(gateway.ocpp_partner_ids()) or "(none)")
        if ready is not None:
            ready.set_result(port)
        sweeper = asyncio.create_task(gateway.close_idle_connections())
        await stop
        sweeper.cancel()
        server.close()
        await server.wait_closed()
    await gateway.close()
