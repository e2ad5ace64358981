"""lib/landing.py: what every landed dataset looks like before anything arrived, and the partner registry
and the consent texts landed as data for the warehouse's rules."""

import hashlib

import duckdb
import yaml

from joulo_pipelines.lib.consent_texts import REFERENCE_TEXTS, install_reference_texts
from joulo_pipelines.lib.contract import DATASETS, SIGNING_RECORD_COLUMNS
from joulo_pipelines.lib.landing import CDR_COLUMNS, ensure_landing_schemas, land_consent_texts, land_partner_registry
from joulo_pipelines.lib.partners import load_registry


def test_every_landed_dataset_has_its_empty_schema_file_with_every_column(data_dir):
    ensure_landing_schemas(data_dir)
    con = duckdb.connect()
    schema = data_dir.landing / "_schema"
    for dataset in DATASETS.values():
        columns = [row[0] for row in con.execute(
            f"describe select * from read_parquet('{schema / dataset.name / 'empty.parquet'}')").fetchall()]
        assert set(c.name for c in dataset.columns) <= set(columns), dataset.name
        assert con.execute(f"select count(*) from read_parquet('{schema / dataset.name / 'empty.parquet'}')"
                           ).fetchone() == (0,)
    cdr = con.execute(f"describe select * from read_parquet('{schema / 'ocpi_cdrs' / 'empty.parquet'}')").fetchall()
    assert [(name, kind.replace(" ", "")) for name, kind, *_ in cdr] == [
        (name, kind.replace("TIMESTAMPTZ", "TIMESTAMPWITHTIMEZONE")) for name, kind in CDR_COLUMNS.items()]
    assert (schema / "manifest" / "empty.json").read_text() == "[]"


def test_the_registry_lands_as_what_it_says_now_and_a_change_replaces_it(data_dir):
    target = land_partner_registry(data_dir, load_registry(data_dir.partners_file))
    query = f"select partner_id, payout_model from read_parquet('{target}') order by partner_id"
    assert duckdb.sql(query).fetchall() == [("alpha", "direct"), ("beta", "direct")]

    document = yaml.safe_load(data_dir.partners_file.read_text())
    document["partners"][1].update(payout_model="partner_account", partner_iban="NL91ABNA0417164300")
    data_dir.partners_file.write_text(yaml.safe_dump(document))
    land_partner_registry(data_dir, load_registry(data_dir.partners_file))
    assert duckdb.sql(query).fetchall() == [("alpha", "direct"), ("beta", "partner_account")]
    assert [p.name for p in target.parent.iterdir()] == ["partners.parquet"]  # no temporary file left


def test_a_schema_file_from_before_the_signing_record_columns_is_written_again_with_them(data_dir):
    ensure_landing_schemas(data_dir)
    customers = data_dir.landing / "_schema" / "customers" / "empty.parquet"
    con = duckdb.connect()
    con.execute(f"copy (select * exclude ({', '.join(SIGNING_RECORD_COLUMNS)}) from read_parquet('{customers}')) "
                f"to '{customers}.old' (format parquet)")
    customers.with_name("empty.parquet.old").replace(customers)
    ensure_landing_schemas(data_dir)
    columns = [row[0] for row in con.execute(f"describe select * from read_parquet('{customers}')").fetchall()]
    assert set(SIGNING_RECORD_COLUMNS) <= set(columns)


def test_the_consent_texts_land_with_their_hash_and_text(data_dir):
    install_reference_texts(data_dir)
    target = land_consent_texts(data_dir)
    rows = duckdb.connect().execute(f"select consent_text_version, language, consent_text_sha256, consent_text "
                                    f"from read_parquet('{target}') order by language").fetchall()
    nl = (REFERENCE_TEXTS / "2026-01.nl.md").read_bytes()
    assert [row[:2] for row in rows] == [("2026-01", "en"), ("2026-01", "nl")]
    assert rows[1][2:] == (hashlib.sha256(nl).hexdigest(), nl.decode("utf-8"))
