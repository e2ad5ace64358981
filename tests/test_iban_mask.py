"""An IBAN is shown masked the same way everywhere: the payout email and statement mask it in Python, the
partner report in SQL (so the IBAN itself never leaves the warehouse); both come from lib/iban.py."""

import duckdb
from hypothesis import example, given
from hypothesis import strategies as st

from joulo_pipelines.lib.iban import mask_iban, mask_iban_sql


def test_an_iban_shows_its_country_check_digits_and_last_four_only():
    assert mask_iban("NL91ABNA0417164300") == "NL91 **** **** 4300"
    assert mask_iban("NL91 ABNA 0417 1643 00") == "NL91 **** **** 4300"
    assert mask_iban("NL91ABN") == mask_iban(None) == "****"


@given(st.one_of(st.none(), st.text(alphabet="NL0123456789AB ", max_size=24)))
@example("NL9 1 AB C")  # long with its spaces, short without: both say too short to show
def test_the_sql_mask_is_the_python_mask(value):
    with duckdb.connect() as con:
        in_sql = con.execute(f"select {mask_iban_sql('iban')} from (select ?::varchar as iban)", [value]).fetchone()[0]
    assert in_sql == mask_iban(value)
