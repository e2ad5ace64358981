"""Each distinct brand/model string pair partners delivered, matched against the MID meter register by
the one matcher (joulo_pipelines.lib.eligibility.mid_register) the MID scan uses too. Distinct pairs, not charge
points: a national fleet has a few hundred spellings. The matcher runs inside DuckDB as a scalar Python
function, and the model returns DuckDB's relation: no DataFrame, so no pandas to import in every build."""

import duckdb
from duckdb.sqltypes import BIGINT, VARCHAR

from joulo_pipelines.lib.eligibility.mid_register import match

MATCH = duckdb.struct_type({"mid_status": VARCHAR, "register_line": BIGINT, "register_brand": VARCHAR,
                            "register_source": VARCHAR})


def _match(brand: str | None, model: str | None) -> dict:
    found = match(brand, model)
    return {"mid_status": found.mid_status, "register_line": found.register_line,
            "register_brand": found.register_brand, "register_source": found.source}


def model(dbt, session):
    dbt.config(materialized="table")
    # A function of this model's own name: the models of a build share one DuckDB database.
    session.create_function("int_charge_point_meter_matches__match", _match, [VARCHAR, VARCHAR], MATCH,
                            null_handling="special")
    pairs = dbt.ref("int_charge_points_latest").project("brand, model").distinct()
    return pairs.query("pairs", """
        select brand, model, found.mid_status, found.register_line, found.register_brand, found.register_source
        from (select brand, model, int_charge_point_meter_matches__match(brand, model) as found from pairs)
        order by brand, model""")
