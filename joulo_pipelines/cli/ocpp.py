"""`joulo ocpp-gateway`, `joulo ocpp-import` and `joulo ocpp-credentials`."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path

from joulo_pipelines.lib.partners import Partner, load_registry
from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    gateway = commands.add_parser("ocpp-gateway", help="receive OCPP 1.6J/2.0.1 at ws://HOST:PORT/<partner>/<cp>")
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--port", type=int, default=9000)
    gateway.add_argument("--segment-seconds", type=float, default=300.0, help="close a journal segment after")
    gateway.add_argument("--idle-timeout", type=float, default=900.0,
                         help="close a charge point's connection after this many silent seconds (default 900)")
    gateway.add_argument("--tls-cert", help="PEM certificate (chain): serve wss (security profile 2)")
    gateway.add_argument("--tls-key", help="PEM private key of --tls-cert")
    gateway.set_defaults(func=lambda args, data_dir: serve_gateway(
        data_dir, args.host, args.port, args.segment_seconds, args.idle_timeout, args.tls_cert, args.tls_key))
    credentials = commands.add_parser("ocpp-credentials", help="a charge point's own OCPP password (stored hashed)")
    credentials.add_argument("action", choices=["set", "rotate"], help="set a first password, or replace it")
    credentials.add_argument("--partner", required=True)
    credentials.add_argument("--charge-point", required=True, help="the charge point identity (charge_point_ref)")
    credentials.add_argument("--stdin", action="store_true",
                             help="read the password from stdin (default: generate one and print it once)")
    credentials.set_defaults(func=lambda args, data_dir: set_credentials(
        data_dir, args.partner, args.charge_point, rotate=args.action == "rotate", from_stdin=args.stdin))
    ocpp_import = commands.add_parser("ocpp-import", help="import a CPMS's OCPP message log into the journal")
    ocpp_import.add_argument("file", help="JSON lines: timestamp, charge point id, OCPP-J frame")
    ocpp_import.add_argument("--partner", required=True)
    ocpp_import.add_argument("--ocpp-version", choices=["1.6", "2.0.1"], default=None,
                             help="when the log does not say (default: from the actions, else 1.6)")
    ocpp_import.set_defaults(func=lambda args, data_dir: import_log(data_dir, args.file, args.partner,
                                                                    args.ocpp_version))


def serve_gateway(data_dir: DataDir, host: str, port: int, segment_seconds: float, idle_timeout: float,
                  tls_cert: str | None, tls_key: str | None) -> int:
    import uvloop

    from joulo_pipelines.lib.ocpp_gateway.server import run_gateway, tls_context

    if bool(tls_cert) != bool(tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    tls = tls_context(tls_cert, tls_key) if tls_cert and tls_key else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Thousands of long-lived connections made the collector's older generations expensive to scan: at
    # 5,000 msgs/s it spent ~7 % of the gateway's time there, in pauses of up to half a second. What the
    # start-up loaded is frozen out of collection and the young generation collects less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 10)
    # libuv's loop roughly halves the CPU the socket handling of thousands of connections costs.
    uvloop.run(run_gateway(data_dir, host, port, max_segment_seconds=segment_seconds,
                           idle_timeout_seconds=idle_timeout, tls=tls))
    return 0


def _ocpp_partner(data_dir: DataDir, partner_id: str) -> Partner:
    partner = load_registry(data_dir.partners_file).get(partner_id)
    if partner is None or partner.source.type != "ocpp":
        raise ValueError(f"partner {partner_id!r} is not an OCPP partner in {data_dir.partners_file}")
    return partner


def set_credentials(data_dir: DataDir, partner_id: str, charge_point_ref: str, *, rotate: bool,
                    from_stdin: bool) -> int:
    from joulo_pipelines.lib.ocpp_gateway.credentials import (
        generate_password,
        set_password,
    )
    from joulo_pipelines.lib.ocpp_gateway.known_charge_points import KnownChargePoints

    _ocpp_partner(data_dir, partner_id)
    password = sys.stdin.readline().rstrip("\r\n") if from_stdin else generate_password()
    set_password(data_dir, partner_id, charge_point_ref, password, rotate=rotate)
    if not from_stdin:
        print(password)  # shown this once; only its hash is kept
    if not KnownChargePoints(data_dir).knows(partner_id, charge_point_ref):
        print(f"note: {charge_point_ref!r} is not in {partner_id}'s landed charge_points files; the gateway "
              "refuses it until it is delivered", file=sys.stderr)
    return 0


def import_log(data_dir: DataDir, file: str, partner_id: str, ocpp_version: str | None) -> int:
    from joulo_pipelines.lib.ocpp_gateway.importer import import_message_log

    _ocpp_partner(data_dir, partner_id)
    result = import_message_log(data_dir, Path(file), partner_id, ocpp_version)
    print(f"ocpp-import {result.file}: {result.status}, {result.calls_imported} call(s) journaled"
          + (f" to {result.segment}" if result.segment else ""))
    for error in result.errors[:20]:
        print(f"  line {error.line} {error.field or '(line)'}: {error.reason}")
    if len(result.errors) > 20:
        print(f"  ... {len(result.errors) - 20} more in quarantine/{partner_id}/")
    return 1 if result.status == "rejected" else 0
