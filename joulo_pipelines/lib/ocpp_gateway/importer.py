"""Import a CPMS's exported OCPP message log into the journal format, as one closed segment.

The log is JSON lines, one frame per line, as CPMS platforms export their OCPP traffic:
  {"timestamp": "2026-03-01T10:00:00Z", "charge_point_id": "CP-1", "message": [2, "id", "Action", {...}]}
`timestamp` (ISO 8601 with offset; also `time`, `received_at`), `charge_point_id` (also `chargePointId`,
`charge_point_ref`, `identity`), `message` (the OCPP-J frame as an array or a JSON string; also `frame`),
and optionally `ocpp_version` ("1.6", "2.0.1", or the subprotocol "ocpp1.6"). Calls (type 2) become journal
records; the CPMS's answers (type 3) only supply the transactionId it assigned to a 1.6 StartTransaction.
Bad lines are reported (line, field, reason) and skipped; the rest is imported. The same file twice is a
no-op.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.ocpp_gateway.journal import CLOSED_SUFFIX, JournalRecord, journal_root, write_closed_segment
from joulo_pipelines.lib.paths import DataDir

TIMESTAMP_KEYS = ("timestamp", "time", "received_at")
CHARGE_POINT_KEYS = ("charge_point_id", "chargePointId", "charge_point_ref", "identity")
FRAME_KEYS = ("message", "frame")
VERSIONS = {"1.6": "1.6", "ocpp1.6": "1.6", "2.0.1": "2.0.1", "ocpp2.0.1": "2.0.1"}
ONLY_IN_201 = {"TransactionEvent", "NotifyEvent", "NotifyReport", "ReportChargingProfiles", "NotifyEVChargingNeeds"}


@dataclass
class LineError:
    line: int
    field: str
    reason: str


@dataclass
class ImportResult:
    file: str
    partner_id: str
    status: str  # imported | duplicate | rejected
    calls_imported: int = 0
    errors: list[LineError] = field(default_factory=list)
    segment: Path | None = None


def _first(document: dict, keys: tuple[str, ...]):
    return next((document[k] for k in keys if document.get(k) is not None), None)


@dataclass
class _Frame:
    line: int
    received_at: str
    charge_point_ref: str
    version: str | None
    frame: list


def _parse_line(number: int, text: str) -> _Frame:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _Bad(number, "", f"not JSON ({exc.msg}); each line must be one JSON object") from None
    if not isinstance(document, dict):
        raise _Bad(number, "", "each line must be a JSON object with timestamp, charge_point_id and message")
    stamp = _first(document, TIMESTAMP_KEYS)
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Bad(number, "timestamp", "needs an ISO 8601 timestamp with UTC offset or Z "
                   f"(one of the keys {', '.join(TIMESTAMP_KEYS)})")
    charge_point = _first(document, CHARGE_POINT_KEYS)
    if not isinstance(charge_point, str) or not charge_point.strip():
        raise _Bad(number, "charge_point_id", f"needs the charge point identity ({', '.join(CHARGE_POINT_KEYS)})")
    frame = _first(document, FRAME_KEYS)
    if isinstance(frame, str):
        try:
            frame = json.loads(frame)
        except ValueError:
            frame = None
    if not (isinstance(frame, list) and len(frame) >= 3 and frame[0] in (2, 3, 4) and isinstance(frame[1], str)):
        raise _Bad(number, "message", "needs an OCPP-J frame: [2, id, action, payload], [3, id, payload] "
                   "or [4, id, code, description, details]")
    if frame[0] == 2 and not (len(frame) == 4 and isinstance(frame[2], str) and isinstance(frame[3], dict)):
        raise _Bad(number, "message", "a CALL frame is [2, id, action, payload-object]")
    version = document.get("ocpp_version")
    if version is not None and version not in VERSIONS:
        raise _Bad(number, "ocpp_version", f"accepted: {', '.join(VERSIONS)}")
    received_at = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return _Frame(number, received_at, charge_point.strip(), VERSIONS.get(version), frame)


class _Bad(Exception):
    def __init__(self, line: int, field_name: str, reason: str):
        super().__init__(reason)
        self.error = LineError(line, field_name, reason)


def import_message_log(data_dir: DataDir, path: Path, partner_id: str, ocpp_version: str | None = None) -> ImportResult:
    """Turn the log into one closed journal segment of `partner_id` (which the registry must know as ocpp)."""
    content = path.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    result = ImportResult(path.name, partner_id, "imported")
    folder = journal_root(data_dir) / partner_id
    name = f"import-{sha[:16]}"
    if (folder / f"{name}{CLOSED_SUFFIX}").exists():
        result.status = "duplicate"
        return result
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.status = "rejected"
        result.errors.append(LineError(0, "", "the file is not UTF-8 text"))
        return result

    frames: list[_Frame] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            frames.append(_parse_line(number, line))
        except _Bad as bad:
            result.errors.append(bad.error)

    versions = _versions_by_charge_point(frames, ocpp_version)
    assigned = {(f.charge_point_ref, f.frame[1]): f.frame[2].get("transactionId")
                for f in frames if f.frame[0] == 3 and isinstance(f.frame[2], dict)}
    records: list[JournalRecord] = []
    seen: set[tuple[str, str]] = set()
    for f in (f for f in frames if f.frame[0] == 2):
        key = (f.charge_point_ref, f.frame[1])
        if key in seen:  # a CPMS logs a retried call twice; the journal holds it once
            continue
        seen.add(key)
        version = f.version or versions[f.charge_point_ref]
        transaction_id = None
        if f.frame[2] == "StartTransaction" and version == "1.6":
            transaction_id = assigned.get(key)
            if not isinstance(transaction_id, int):
                result.errors.append(LineError(f.line, "message", "StartTransaction without the CPMS's answer "
                                               "(CALLRESULT with transactionId) in the log; imported, but its "
                                               "session cannot be matched to a StopTransaction"))
                transaction_id = None
        records.append(JournalRecord(
            seq=None, received_at=f.received_at, partner_id=partner_id, charge_point_ref=f.charge_point_ref,
            ocpp_version=version, message_id=f.frame[1], action=f.frame[2], payload=f.frame[3],
            transaction_id=transaction_id, origin=f"import:{path.name}",
        ))
    if not records:
        result.status = "rejected"
        result.errors.append(LineError(0, "", "no OCPP CALL frames found"))
    else:
        result.segment = write_closed_segment(folder, name, records)
        result.calls_imported = len(records)
    if result.errors:
        _write_error_report(data_dir, partner_id, sha, path.name, result.errors)
    return result


def _versions_by_charge_point(frames: list[_Frame], default: str | None) -> dict[str, str]:
    """A charge point's version: the log's own field, else the command line's, else what its actions say."""
    versions: dict[str, str] = {}
    for f in frames:
        if f.frame[0] == 2 and f.frame[2] in ONLY_IN_201:
            versions[f.charge_point_ref] = "2.0.1"
    return {f.charge_point_ref: default or versions.get(f.charge_point_ref, "1.6") for f in frames}


def _write_error_report(data_dir: DataDir, partner_id: str, sha: str, name: str, errors: list[LineError]) -> Path:
    rows = [[name, error.line, error.field, error.reason] for error in errors]
    target = data_dir.quarantine / partner_id / f"{sha}.ocpp-import.errors.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(people_csv.render(["file", "row", "column", "reason"], rows))
    return target
