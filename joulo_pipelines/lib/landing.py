"""What landed data looks like, for every way it arrives: the file drops' datasets (their columns in
lib/contract.py, plus lineage) and the OCPI pull's CDRs, each as Parquet under landing/<partner>/<dataset>/;
and what the warehouse needs of our own config (the partner registry, the consent texts) under
landing/_registry/.

dbt reads each dataset with a glob; an empty Parquet file per dataset under landing/_schema/ makes the glob
match, and shows every column, before the first delivery of it or when no partner sends an optional one.
(OCPP's journal lands as ocpp_messages, whose rows lib/ocpp_gateway/landing.py writes and whose empty file it
keeps itself.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from joulo_pipelines.lib.consent_texts import consent_texts
from joulo_pipelines.lib.contract import DATASETS, DUCKDB_TYPES, LINEAGE_COLUMNS
from joulo_pipelines.lib.evidence_documents import ensure_review_schema
from joulo_pipelines.lib.partners import PartnerRegistry
from joulo_pipelines.lib.paths import DataDir, replace_atomically

CDR_DATASET = "ocpi_cdrs"
PARTNERS_DATASET = "partners"
CONSENT_TEXTS_DATASET = "consent_texts"
# The landed CDR row, in order, as DuckDB types: lib/ocpi/pull.py writes it, dbt's ocpi source reads it.
CDR_COLUMNS: dict[str, str] = {
    "partner_id": "VARCHAR",
    "cdr_id": "VARCHAR",
    "country_code": "VARCHAR",
    "party_id": "VARCHAR",
    "session_id": "VARCHAR",
    "location_id": "VARCHAR",
    "evse_uid": "VARCHAR",
    "evse_id": "VARCHAR",
    "meter_id": "VARCHAR",
    "start_date_time": "TIMESTAMPTZ",
    "end_date_time": "TIMESTAMPTZ",
    "total_energy_kwh": "DECIMAL(18,6)",
    "energy_export_kwh": "DECIMAL(18,6)",
    "is_credit": "BOOLEAN",
    "credit_reference_id": "VARCHAR",
    "home_charging_compensation": "BOOLEAN",
    "last_updated": "TIMESTAMPTZ",
    "signed_encoding_method": "VARCHAR",
    "signature_check": "VARCHAR",
    "signed_energy_kwh": "DECIMAL(18,6)",
    "signature_reason": "VARCHAR",
    "file_sha256": "VARCHAR",
    "source_file": "VARCHAR",
    "received_at": "TIMESTAMPTZ",
    "line_number": "BIGINT",
}
_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DECIMAL(18,6)": pa.decimal128(18, 6),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
}
CDR_SCHEMA = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in CDR_COLUMNS.items()])
PARTNER_CONTRACTS_SCHEMA = pa.schema([("partner_id", pa.string()), ("valid_from", pa.date32()),
                                      ("valid_until", pa.date32()), ("payout_model", pa.string())])
CONSENT_TEXTS_SCHEMA = pa.schema([("consent_text_version", pa.string()), ("language", pa.string()),
                                  ("consent_text_sha256", pa.string()), ("consent_text", pa.string())])


def land_partner_registry(data_dir: DataDir, registry: PartnerRegistry) -> Path:
    """What the warehouse's rules need of the partner registry (config/partners.yaml), as data beside the
    partners' own: landing/_registry/partners/partners.parquet, a row per contract (partner_id, valid_from,
    valid_until, payout_model; a half-open window, valid_until null for the last), dbt's source
    landing.partners. The intake writes it, and the warehouse asset before every build, so a registry
    change counts from the next run without dbt reading our config."""
    target = data_dir.landing / "_registry" / PARTNERS_DATASET / "partners.parquet"
    windows = [(p.id, contract, until) for p in registry.partners for contract, until in p.contract_windows()]
    table = pa.table({"partner_id": [pid for pid, _, _ in windows],
                      "valid_from": [contract.valid_from for _, contract, _ in windows],
                      "valid_until": [until for _, _, until in windows],
                      "payout_model": [contract.payout_model for _, contract, _ in windows]},
                     schema=PARTNER_CONTRACTS_SCHEMA)
    replace_atomically(target, lambda temporary: pq.write_table(table, temporary))
    return target


def land_consent_texts(data_dir: DataDir) -> Path:
    """The consent texts we have (config/consent_texts/), as data for the warehouse's mandate rule and the
    mandate document: landing/_registry/consent_texts/consent_texts.parquet (version, language, sha256, the
    text), dbt's source landing.consent_texts; written beside the partner registry, empty without texts."""
    texts = consent_texts(data_dir)
    target = data_dir.landing / "_registry" / CONSENT_TEXTS_DATASET / "consent_texts.parquet"
    table = pa.table({"consent_text_version": [t.version for t in texts], "language": [t.language for t in texts],
                      "consent_text_sha256": [t.sha256 for t in texts], "consent_text": [t.text for t in texts]},
                     schema=CONSENT_TEXTS_SCHEMA)
    replace_atomically(target, lambda temporary: pq.write_table(table, temporary))
    return target


def _schema_file(data_dir: DataDir, dataset: str) -> Path:
    return data_dir.landing / "_schema" / dataset / "empty.parquet"


def ensure_cdr_schema(data_dir: DataDir) -> None:
    target = _schema_file(data_dir, CDR_DATASET)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(CDR_SCHEMA.empty_table(), target)


def ensure_landing_schemas(data_dir: DataDir) -> None:
    """The empty file of every landed dataset (and of the intake's manifest) that is missing."""
    con = duckdb.connect()
    try:
        for dataset in DATASETS.values():
            target = _schema_file(data_dir, dataset.name)
            names = [*LINEAGE_COLUMNS, *(c.name for c in dataset.columns)]
            # A data dir from before a column was added to the contract gets the file again, with it.
            if target.exists() and pq.read_schema(target).names == names:
                continue
            columns = [f"null::{kind} as {name}" for name, kind in LINEAGE_COLUMNS.items()]
            columns += [f"null::{DUCKDB_TYPES[c.type]} as {c.name}" for c in dataset.columns]
            replace_atomically(target, lambda temporary: con.execute(
                f"copy (select {', '.join(columns)} where false) to '{temporary}' (format parquet)"))
    finally:
        con.close()
    manifest = data_dir.landing / "_schema" / "manifest" / "empty.json"
    if not manifest.exists():
        replace_atomically(manifest, lambda temporary: temporary.write_bytes(b"[]"))
    ensure_cdr_schema(data_dir)
    ensure_review_schema(data_dir)
    consent_texts_schema = _schema_file(data_dir, CONSENT_TEXTS_DATASET)
    if not consent_texts_schema.exists() or pq.read_schema(consent_texts_schema) != CONSENT_TEXTS_SCHEMA:
        replace_atomically(consent_texts_schema, lambda temporary: pq.write_table(CONSENT_TEXTS_SCHEMA.empty_table(), temporary))
