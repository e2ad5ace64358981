"""A small OCPI 2.2.1 CPO (Sender) on loopback for the tests: the cdrs module with the real headers
(Link rel="next", X-Total-Count, X-Limit), the response envelope, Token auth, date_from/date_to on
last_updated, and scripted faults (429 with Retry-After, 500s, a connection dropped mid-body).

Plus the CDRs it serves: spec-shaped, optionally with OCMF signed meter values from a real ECDSA key.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

CDRS_PATH = "/ocpi/cpo/2.2.1/cdrs"


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


@dataclass
class OcpiServer:
    """Serves `cdrs` (dicts, kept sorted by last_updated then id). `faults` maps a request number (1-based,
    counting every request) to one of "429", "500", "drop"; `always_fail_offset` makes every request for
    that page offset answer 500; `envelope_error` makes every authorised request answer HTTP 200 with that OCPI
error status in the envelope."""

    token: str
    cdrs: list[dict] = field(default_factory=list)
    max_limit: int = 2
    retry_after: str = "2"
    faults: dict[int, str] = field(default_factory=dict)
    always_fail_offset: int | None = None
    envelope_error: tuple[int, str] | None = None  # answer HTTP 200 with this OCPI (status_code, status_message)
    requests: list[dict] = field(default_factory=list)

    def __enter__(self) -> "OcpiServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{CDRS_PATH}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.requests.append({"path": parsed.path, "query": query,
                              "authorization": handler.headers.get("Authorization")})
        number = len(self.requests)
        if parsed.path != CDRS_PATH:
            return self._send(handler, 404, {"status_code": 2000, "status_message": "unknown module"})
        expected = "Token " + base64.b64encode(self.token.encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return self._send(handler, 401, {"status_code": 2000, "status_message": "invalid token"})
        if self.envelope_error:
            code, message = self.envelope_error
            return self._send(handler, 200, {"data": [], "status_code": code, "status_message": message,
                                             "timestamp": "2026-12-31T23:00:00Z"})
        offset = int(query.get("offset", 0))
        fault = self.faults.get(number)
        if fault == "429":
            return self._send(handler, 429, {"status_code": 2000, "status_message": "slow down"},
                              {"Retry-After": self.retry_after})
        if fault == "500" or offset == self.always_fail_offset:
            return self._send(handler, 500, {"status_code": 3000, "status_message": "generic server error"})

        limit = min(int(query.get("limit", self.max_limit)), self.max_limit)
        selected = [c for c in sorted(self.cdrs, key=lambda c: (c["last_updated"], c["id"]))
                    if ("date_from" not in query or _utc(c["last_updated"]) >= _utc(query["date_from"]))
                    and ("date_to" not in query or _utc(c["last_updated"]) < _utc(query["date_to"]))]
        page = selected[offset:offset + limit]
        headers = {"X-Total-Count": str(len(selected)), "X-Limit": str(limit)}
        if offset + limit < len(selected):
            following = {**query, "offset": offset + limit, "limit": limit}
            headers["Link"] = f'<{self.url}?{urlencode(following)}>; rel="next"'
        body = {"data": page, "status_code": 1000, "status_message": "Success",
                "timestamp": "2026-12-31T23:00:00Z"}
        self._send(handler, 200, body, headers, drop=fault == "drop")

    def _send(self, handler, status: int, body: dict, headers: dict | None = None, drop: bool = False) -> None:
        content = json.dumps(body, default=_json_default).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if drop:
            # Half the promised body, then the connection goes away.
            handler.wfile.write(content[: len(content) // 2])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        handler.wfile.write(content)


class OcmfSigner:
    """A meter's key pair: signs OCMF records the way a charger's Eichrecht meter does."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        """Base64 DER (SubjectPublicKeyInfo), as OCPI's signed_data.public_key carries it."""
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def record(self, meter_serial: str, readings: list[tuple[str, str, str]]) -> str:
        """An OCMF record over (time, TX, kWh register) readings."""
        payload = {
            "FV": "1.0", "GI": "TEST-CHARGER", "GS": "GS-" + meter_serial, "GV": "1.0", "PG": "T1",
            "MV": "Test Meters", "MM": "TM-1", "MS": meter_serial, "MF": "1.0", "IS": False, "IT": "NONE",
            "RD": [{"TM": _ocmf_time(at), "TX": tx, "RV": float(kwh), "RI": "01-00:01.08.00*FF", "RU": "kWh",
                    "RT": "AC", "ST": "G"} for at, tx, kwh in readings],
        }
        # A float's repr is the shortest decimal that reads back the same: "12.345" stays 12.345.
        payload_json = json.dumps(payload, separators=(",", ":"))
        signature = self._key.sign(payload_json.encode(), ec.ECDSA(hashes.SHA256())).hex()
        return f'OCMF|{payload_json}|{{"SA":"ECDSA-secp256r1-SHA256","SD":"{signature}"}}'


def _ocmf_time(at: str) -> str:
    moment = _utc(at)
    return moment.strftime("%Y-%m-%dT%H:%M:%S,000+0000") + " S"


def signed_data(signer: OcmfSigner, meter_serial: str, start: str, end: str, begin_kwh: str, end_kwh: str,
                tamper: bool = False) -> dict:
    """OCPI SignedData: a Start and an End OCMF record, each base64-encoded as OCPI carries blobs. With
    `tamper`, the End record's register is raised by 1 kWh after signing."""
    start_record = signer.record(meter_serial, [(start, "B", begin_kwh)])
    end_record = signer.record(meter_serial, [(end, "E", end_kwh)])
    if tamper:
        end_record = end_record.replace(f'"RV":{float(end_kwh)}', f'"RV":{float(end_kwh) + 1}')
    encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    return {
        "encoding_method": "OCMF",
        "encoding_method_version": 1,
        "public_key": signer.public_key,
        "signed_values": [
            {"nature": "Start", "plain_data": "", "signed_data": encode(start_record)},
            {"nature": "End", "plain_data": "", "signed_data": encode(end_record)},
        ],
    }


def make_cdr(cdr_id: str, evse_uid: str, start: str, end: str, kwh: str, last_updated: str, *,
             export_kwh: str | None = None, credit_of: str | None = None, signed: dict | None = None) -> dict:
    """A spec-shaped OCPI 2.2.1 CDR of a home charger."""
    dimensions = [{"type": "ENERGY", "volume": Decimal(kwh)}]
    if export_kwh:
        dimensions.append({"type": "ENERGY_EXPORT", "volume": Decimal(export_kwh)})
    cdr = {
        "country_code": "NL", "party_id": "GAM", "id": cdr_id,
        "start_date_time": start, "end_date_time": end, "session_id": f"sess-{cdr_id}",
        "cdr_token": {"country_code": "NL", "party_id": "GAM", "uid": "04A1B2C3D4", "type": "RFID",
                      "contract_id": "NL-GAM-C12345678-X"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "LOC-" + evse_uid, "name": "Thuis", "address": "Kerkstraat 1", "city": "Amsterdam",
                         "postal_code": "1011AB", "country": "NLD",
                         "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
                         "evse_uid": evse_uid, "evse_id": f"NL*GAM*E{evse_uid}", "connector_id": "1",
                         "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                         "connector_power_type": "AC_3_PHASE"},
        "meter_id": "M-" + evse_uid,
        "currency": "EUR",
        "charging_periods": [{"start_date_time": start, "dimensions": dimensions}],
        "total_cost": {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")},
        "total_energy": Decimal(kwh),
        "total_time": Decimal("1.0"),
        "home_charging_compensation": True,
        "last_updated": last_updated,
    }
    if credit_of:
        cdr.update(credit=True, credit_reference_id=credit_of)
    if signed:
        cdr["signed_data"] = signed
    return cdr
