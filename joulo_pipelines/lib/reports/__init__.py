"""Partner reports: per partner and quarter a self-contained HTML report, a year overview and a printable
statement per customer, under exports/<YYYY>-Q<n>/reports/<partner_id>/.

Every figure comes from a SQL query filtered by the partner in the query itself (`queries.py`), so a
report is built only from the partner's own rows; rendering (`render.py`) never sees anyone else's."""
