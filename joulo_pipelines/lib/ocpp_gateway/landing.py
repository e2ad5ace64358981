"""Land closed journal segments like any other delivery: original bytes kept, typed rows as Parquet with
lineage (file hash, line), a manifest that makes the same bytes a no-op.

landing/<partner_id>/ocpp_messages/<sha256>.parquet: one row per journaled call; the payload stays JSON
text, because what it means is dbt's business (models/staging/ocpp, intermediate/int_ocpp_*).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from joulo_pipelines.lib.ocpp_gateway.journal import journal_root
from joulo_pipelines.lib.paths import DataDir, replace_atomically, write_atomically

DATASET = "ocpp_messages"


@dataclass
class SegmentLanding:
    source_file: str  # below the data dir: ocpp/journal/<partner>/<segment>.jsonl
    partner_id: str
    file_sha256: str
    status: str  # landed | landed_with_errors | duplicate
    rows_loaded: int = 0
    rows_rejected: int = 0

    def summary(self) -> dict:
        return {"file": self.source_file, "status": self.status, "rows_loaded": self.rows_loaded,
                "rows_rejected": self.rows_rejected}


def land_segment(data_dir: DataDir, segment: Path) -> SegmentLanding:
    content = segment.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    partner_id = segment.parent.name
    source_file = segment.resolve().relative_to(data_dir.root.resolve()).as_posix()
    result = SegmentLanding(source_file, partner_id, sha, "landed")
    manifest = data_dir.landing / partner_id / "manifest" / f"{sha}.json"
    if manifest.exists():
        result.status = "duplicate"
        return result
    raw = data_dir.raw / f"{sha}.jsonl"
    if not raw.exists():
        write_atomically(raw, content)
    target = data_dir.landing / partner_id / DATASET / f"{sha}.parquet"
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        # Physical lines with their numbers, then each line's fields; a line that is not a journal record
        # (cannot happen for segments the gateway closed, but the bytes are evidence) is counted, not landed.
        con.execute("""
            create table lines as
            select generate_subscripts(parts, 1) as line_number, unnest(parts) as text
            from (select string_split(rtrim(content, chr(10)), chr(10)) as parts from read_text(?))
        """, [str(segment)])
        con.execute("""
            create table records as
            select line_number, text::json as doc from lines where json_valid(text)
                and json_type(text::json, '$.payload') = 'OBJECT' and (text::json ->> '$.message_id') is not null
        """)
        replace_atomically(target, lambda temporary: con.execute(f"""
            copy (
                select
                    ? as partner_id, ? as file_sha256, ? as source_file,
                    cast(doc ->> '$.received_at' as timestamptz) as received_at,
                    line_number,
                    cast(doc ->> '$.seq' as bigint) as seq,
                    doc ->> '$.charge_point_ref' as charge_point_ref,
                    doc ->> '$.ocpp_version' as ocpp_version,
                    doc ->> '$.message_id' as message_id,
                    doc ->> '$.action' as action,
                    json_extract(doc, '$.payload')::varchar as payload,
                    cast(doc ->> '$.transaction_id' as bigint) as assigned_transaction_id,
                    doc ->> '$.origin' as origin
                from records order by line_number
            ) to '{temporary}' (format parquet, compression zstd)
        """, [partner_id, sha, source_file]))
        total = con.execute("select count(*) from lines where trim(text) <> ''").fetchone()[0]
        result.rows_loaded = con.execute(f"select count(*) from read_parquet('{target}')").fetchone()[0]
    finally:
        con.close()
    result.rows_rejected = total - result.rows_loaded
    if result.rows_rejected:
        result.status = "landed_with_errors"
    entry = {
        "partner_id": partner_id, "dataset": DATASET, "file_sha256": sha, "source_file": source_file,
        "received_at": datetime.fromtimestamp(segment.stat().st_mtime, timezone.utc).isoformat(),
        "size_bytes": len(content), "status": result.status, "rows_total": total,
        "rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected, "quarantine_report": None,
    }
    write_atomically(manifest, json.dumps(entry, indent=2).encode())
    return result


def segment_name(data_dir: DataDir, segment: Path) -> str:
    """How the sensor and run config name a segment: <partner>/<file>, below the journal root."""
    return segment.relative_to(journal_root(data_dir)).as_posix()
