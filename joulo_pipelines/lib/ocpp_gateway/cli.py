"""The `joulo ocpp-gateway` and `joulo ocpp-import` entry points."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import uvloop

from joulo_pipelines.lib.ocpp_gateway.importer import import_message_log
from joulo_pipelines.lib.ocpp_gateway.server import run_gateway
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir


def serve_gateway(data_dir: DataDir, host: str, port: int, segment_seconds: float) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Thousands of long-lived connections made the collector's older generations expensive to scan: at
    # 5,000 msgs/s it spent ~7 % of the gateway's time there, in pauses of up to half a second. What the
    # start-up loaded is frozen out of collection and the young generation collects less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 10)
    # libuv's loop roughly halves the CPU the socket handling of thousands of connections costs.
    uvloop.run(run_gateway(data_dir, host, port, max_segment_seconds=segment_seconds))
    return 0


def import_log(data_dir: DataDir, file: str, partner_id: str, ocpp_version: str | None) -> int:
    partner = load_registry(data_dir.partners_file).get(partner_id)
    if partner is None or partner.source.type != "ocpp":
        raise ValueError(f"partner {partner_id!r} is not an OCPP partner in {data_dir.partners_file}")
    result = import_message_log(data_dir, Path(file), partner_id, ocpp_version)
    print(f"ocpp-import {result.file}: {result.status}, {result.calls_imported} call(s) journaled"
          + (f" to {result.segment}" if result.segment else ""))
    for error in result.errors[:20]:
        print(f"  line {error.line} {error.field or '(line)'}: {error.reason}")
    if len(result.errors) > 20:
        print(f"  ... {len(result.errors) - 20} more in quarantine/{partner_id}/")
    return 1 if result.status == "rejected" else 0
