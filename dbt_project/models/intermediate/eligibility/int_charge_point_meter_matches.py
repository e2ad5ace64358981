"""Each distinct brand/model string pair partners delivered, matched against the MID meter register by
the one matcher (joulo_pipelines.lib.eligibility.mid_register) the MID scan uses too. Distinct pairs, not charge
points: a national fleet has a few hundred spellings."""

import pandas as pd

from joulo_pipelines.lib.eligibility.mid_register import match_pairs


def model(dbt, session):
    dbt.config(materialized="table")
    pairs = dbt.ref("int_charge_points_latest").project("brand, model").distinct().order("brand, model").fetchall()
    matches = match_pairs(pairs)
    return pd.DataFrame({
        "brand": pd.Series([brand for brand, _ in pairs], dtype="string"),
        "model": pd.Series([model for _, model in pairs], dtype="string"),
        "mid_status": pd.Series([m.mid_status for m in matches], dtype="string"),
        "register_line": pd.Series([m.register_line for m in matches], dtype="Int64"),
        "register_brand": pd.Series([m.register_brand for m in matches], dtype="string"),
        "register_source": pd.Series([m.source for m in matches], dtype="string"),
    })
