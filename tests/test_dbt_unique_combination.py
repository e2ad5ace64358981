"""The project's generic dbt test `unique_combination` (tests/generic/unique_combination.sql) groups by a
hash of the columns first: it must still name exactly the combinations that repeat."""

from __future__ import annotations

import re

import duckdb
from jinja2 import Environment

from joulo_pipelines.lib.paths import DBT_PROJECT_DIR


def unique_combination_sql(model: str, columns: list[str]) -> str:
    source = (DBT_PROJECT_DIR / "tests" / "generic" / "unique_combination.sql").read_text()
    body = re.search(r"{% test unique_combination\(model, columns\) %}(.*){% endtest %}", source, re.S).group(1)
    return Environment().from_string(body).render(model=model, columns=columns)


def test_the_uniqueness_test_names_every_repeated_combination_and_nothing_else():
    con = duckdb.connect()
    con.execute("create table sessions as select 'p' || (i % 3) as partner_id, 'S' || i as session_ref, "
                "'r' as source_record from range(100000) as t(i)")
    assert con.execute(unique_combination_sql("sessions", ["partner_id", "session_ref"])).fetchall() == []
    con.execute("insert into sessions values ('p1', 'S1', 'r'), ('p1', 'S1', 'r'), ('p1', 'S7', 'x')")
    # S1 of p1 is there three times; S7 of p1 twice once source_record is left out, not with it.
    assert sorted(con.execute(unique_combination_sql("sessions", ["partner_id", "session_ref"])).fetchall()) \
        == [("p1", "S1", 3), ("p1", "S7", 2)]
    assert con.execute(unique_combination_sql("sessions", ["partner_id", "session_ref", "source_record"])
                       ).fetchall() == [("p1", "S1", "r", 3)]
