"""The MID scan in the dashboard: a partner uploads a prospect's files, the scan of `joulo mid-scan` runs on
them (lib/eligibility/mid_scan.py, called as it is), and its HTML and CSV are kept per partner under
`<data dir>/api/mid_scans/<partner_id>/<scan_id>/` to look at and download. The ERE factor comes from the
snapshot, as every dashboard figure does, never from the warehouse."""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib.eligibility import mid_scan
from joulo_pipelines.lib.paths import DataDir

SCAN_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
UPLOADS = ("charge_points", "customers", "sessions")


@dataclass(frozen=True)
class StoredScan:
    scan_id: str
    title: str
    html: Path
    csv: Path


def folder(data_dir: DataDir, partner_id: str) -> Path:
    return data_dir.root / "api" / "mid_scans" / partner_id


def run_scan(data_dir: DataDir, con: duckdb.DuckDBPyConnection, partner_id: str, title: str,
             uploads: dict[str, tuple[str, bytes]], price_per_ere: Decimal, delivery_year: int) -> str:
    """Scan the uploaded files (name -> (the file's own name, content); charge_points required, customers and
    sessions optional); the new scan's id. Raises mid_scan.MidScanInputError naming the uploaded file, row and
    column of what it cannot read; nothing of a failed scan is kept."""
    row = con.execute("select ere_per_kwh from marts.dim_ere_factors where delivery_year = ?",
                      [delivery_year]).fetchone()
    if row is None:
        raise mid_scan.MidScanInputError(f"no ERE factor for delivery year {delivery_year}: choose a year the "
                                         f"quarter runs have built")
    scan_id = secrets.token_urlsafe(18)
    target = folder(data_dir, partner_id) / scan_id
    target.mkdir(parents=True)
    paths = {name: target / f"{name}.csv" for name in uploads}
    try:
        for name, (_, content) in uploads.items():
            paths[name].write_bytes(content)
        scan = mid_scan.scan_prospect(paths["charge_points"], paths.get("customers"), paths.get("sessions"))
        summary = mid_scan.summarise(scan, title, delivery_year, row[0], price_per_ere)
        mid_scan.write_scan(scan, summary, target)
    except mid_scan.MidScanInputError as exc:
        shutil.rmtree(target)
        message = str(exc)
        for name, path in paths.items():  # the partner knows their files by their own names
            message = message.replace(str(path), uploads[name][0])
        raise mid_scan.MidScanInputError(message) from None
    (target / "title.txt").write_text(title, encoding="utf-8")
    return scan_id


def stored_scan(data_dir: DataDir, partner_id: str, scan_id: str) -> StoredScan | None:
    """A scan of this partner's, or None (another partner's id finds nothing: the folder is the partner's)."""
    if not SCAN_ID.fullmatch(scan_id):
        return None
    target = folder(data_dir, partner_id) / scan_id
    if not (target / "mid_scan.html").exists():
        return None
    return StoredScan(scan_id, (target / "title.txt").read_text(encoding="utf-8"), target / "mid_scan.html",
                      target / "mid_scan.csv")


def stored_scans(data_dir: DataDir, partner_id: str) -> list[StoredScan]:
    """The partner's scans, newest first."""
    found = [stored_scan(data_dir, partner_id, path.name) for path in folder(data_dir, partner_id).glob("*")]
    return sorted((scan for scan in found if scan), key=lambda scan: scan.html.stat().st_mtime, reverse=True)
