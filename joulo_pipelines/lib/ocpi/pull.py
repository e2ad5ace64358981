"""Pull a partner's CDRs and land them like file drops: raw bytes, typed Parquet, manifest, quarantine.

Per page: the body exactly as delivered goes to landing/raw/<sha256>.json; its good CDRs to
landing/<partner>/ocpi_cdrs/<sha256>.parquet with lineage (page hash, URL, position in the page); a
manifest to landing/<partner>/manifest/<sha256>.json (dataset `ocpi_cdrs`), whose presence makes the
same bytes a no-op; CDRs that break the spec to quarantine/<partner>/. The rest of the page lands.

The cursor (landing/<partner>/ocpi_cursor.json) is the `date_to` of the last pull that fetched every
page. OCPI filters `date_from` inclusive and `date_to` exclusive on last_updated, so consecutive windows
neither overlap nor leave gaps. A page that fails for good leaves the cursor where it was: the next run
fetches the whole window again, pages already landed are no-ops, and dbt keeps one version per CDR.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from joulo_pipelines.lib import clock
from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.ocpi.cdrs import CdrProblem, cdr_row, check_cdr_signature, parse_cdr
from joulo_pipelines.lib.ocpi.client import CdrsClient, OcpiError, Page, ocpi_datetime
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.landing import CDR_DATASET, CDR_SCHEMA, ensure_cdr_schema
from joulo_pipelines.lib.paths import DataDir, replace_atomically, write_atomically

ERROR_COLUMNS = ("file", "row", "column", "value", "reason")


@dataclass
class PullResult:
    partner_id: str
    date_from: datetime | None
    date_to: datetime | None
    backfill: bool
    pages_fetched: int = 0
    pages_new: int = 0
    cdrs_landed: int = 0
    cdrs_quarantined: int = 0
    problems_by_reason: Counter = field(default_factory=Counter)
    cursor_moved: bool = False
    error: str | None = None

    def summary(self) -> dict:
        """What logs and Dagster metadata may show: counts and reasons, never CDR contents."""
        return {
            "partner": self.partner_id,
            "window": [ocpi_datetime(d) if d else None for d in (self.date_from, self.date_to)],
            "backfill": self.backfill,
            "pages_fetched": self.pages_fetched,
            "pages_new": self.pages_new,
            "cdrs_landed": self.cdrs_landed,
            "cdrs_quarantined": self.cdrs_quarantined,
            "quarantine_reasons": dict(sorted(self.problems_by_reason.items())),
            "cursor_moved": self.cursor_moved,
            "error": self.error,
        }


def cursor_path(data_dir: DataDir, partner_id: str) -> Path:
    return data_dir.landing / partner_id / "ocpi_cursor.json"


def read_cursor(data_dir: DataDir, partner_id: str) -> datetime | None:
    path = cursor_path(data_dir, partner_id)
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text())["date_from"].replace("Z", "+00:00"))


def client_for(partner: Partner, **options) -> CdrsClient:
    """The partner's client, with the token from the environment variable the registry names."""
    source = partner.source
    if source.type != "ocpi" or not source.url or not source.token_env:
        raise ValueError(f"partner {partner.id!r} is not an OCPI partner (source type {source.type!r})")
    token = os.environ.get(source.token_env)
    if not token:
        raise ValueError(f"partner {partner.id!r}: environment variable {source.token_env} (the OCPI token named "
                         "in config/partners.yaml) is not set")
    return CdrsClient(source.url, token, **options)


def pull_partner(
    data_dir: DataDir,
    partner: Partner,
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    backfill: bool = False,
    client_factory: Callable[[Partner], CdrsClient] = client_for,
) -> PullResult:
    """Pull CDRs updated since the cursor (or, for a backfill, in [date_from, date_to)) and land them.

    A backfill leaves the cursor alone; a regular pull moves it to its date_to once every page landed.
    """
    data_dir.ensure()
    ensure_cdr_schema(data_dir)
    if not backfill:
        date_from, date_to = read_cursor(data_dir, partner.id), clock.now()
    result = PullResult(partner.id, date_from, date_to, backfill)
    try:
        client = client_factory(partner)
        for page in client.pages(date_from, date_to):
            result.pages_fetched += 1
            land_page(data_dir, partner.id, page, result)
    except (OcpiError, ValueError) as exc:
        result.error = str(exc)
        return result
    if not backfill:
        payload = {"date_from": ocpi_datetime(date_to), "pages": result.pages_fetched}
        write_atomically(cursor_path(data_dir, partner.id), json.dumps(payload, indent=2).encode())
        result.cursor_moved = True
    return result


def land_page(data_dir: DataDir, partner_id: str, page: Page, result: PullResult) -> None:
    sha = hashlib.sha256(page.body).hexdigest()
    raw = data_dir.raw / f"{sha}.json"
    if not raw.exists():
        write_atomically(raw, page.body)
    manifest = data_dir.landing / partner_id / "manifest" / f"{sha}.json"
    if manifest.exists():
        return
    received_at = clock.now()
    rows, problems, rejected = [], [], []
    for index, raw_cdr in enumerate(page.cdrs, start=1):
        parsed = parse_cdr(raw_cdr, index)
        if isinstance(parsed, list):
            problems += parsed
            rejected.append(raw_cdr)
            continue
        lineage = {"partner_id": partner_id, "file_sha256": sha, "source_file": page.url,
                   "received_at": received_at, "line_number": index}
        rows.append({**lineage, **cdr_row(parsed, check_cdr_signature(parsed))})
    if rows:
        table = pa.Table.from_pylist(rows, schema=CDR_SCHEMA)
        replace_atomically(data_dir.landing / partner_id / CDR_DATASET / f"{sha}.parquet",
                           lambda temporary: pq.write_table(table, temporary, compression="zstd"))
    report = _quarantine(data_dir, partner_id, sha, page.url, problems, rejected) if problems else None
    status = "rejected" if page.cdrs and not rows else "landed_with_errors" if problems else "landed"
    entry = {
        "partner_id": partner_id, "dataset": CDR_DATASET, "file_sha256": sha, "source_file": page.url,
        "received_at": received_at.isoformat(), "size_bytes": len(page.body), "status": status,
        "rows_total": len(page.cdrs), "rows_loaded": len(rows), "rows_rejected": len(rejected),
        "quarantine_report": report, "x_total_count": page.total_count, "x_limit": page.limit,
    }
    write_atomically(manifest, json.dumps(entry, indent=2).encode())
    result.pages_new += 1
    result.cdrs_landed += len(rows)
    result.cdrs_quarantined += len(rejected)
    result.problems_by_reason.update(f"{p.field}: {p.reason}" for p in problems)


def _quarantine(data_dir: DataDir, partner_id: str, sha: str, url: str, problems: list[CdrProblem],
                rejected: list) -> str:
    """One line per broken field (page URL, position in the page, field, value, reason) and the
    rejected CDRs exactly as the page held them."""
    folder = data_dir.quarantine / partner_id
    rows = [[url, problem.index, problem.field, problem.value or "", f"CDR {problem.cdr_id or '(no id)'}: {problem.reason}"]
            for problem in problems]
    write_atomically(folder / f"{sha}.errors.csv", people_csv.render(ERROR_COLUMNS, rows).encode())
    write_atomically(folder / f"{sha}.rejected_cdrs.json", json.dumps(rejected, indent=2, default=str).encode())
    return str((folder / f"{sha}.errors.csv").relative_to(data_dir.root))
