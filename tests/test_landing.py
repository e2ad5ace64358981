"""lib/landing.py: what every landed dataset looks like before anything arrived, and the partner registry
landed as data for the warehouse's rules."""

import duckdb
import yaml

from joulo_pipelines.lib.contract import DATASETS
from joulo_pipelines.lib.landing import CDR_COLUMNS, ensure_landing_schemas, land_partner_registry
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
