"""Landed rows keep the physical line they were delivered on, whether the intake numbers them from the row
order (every line one row) or has to read the file again (blank lines, rejected rows, bare carriage returns)."""

import duckdb
import pytest

from conftest import drop
from joulo_pipelines.lib.intake import ingest_file

HEADER = "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh"
ROWS = [f"S{i},CP1,2026-02-0{i}T10:00:00Z,2026-02-0{i}T11:00:00Z,{i * 1000},{i * 1000 + 500}" for i in range(1, 4)]


def landed_lines(data_dir) -> list[tuple[str, int]]:
    return duckdb.sql(
        f"select session_ref, line_number from read_parquet('{data_dir.landing}/alpha/sessions/*.parquet') "
        "order by line_number"
    ).fetchall()


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param("\r\n".join([HEADER, *ROWS]), [("S1", 2), ("S2", 3), ("S3", 4)], id="crlf-last-line-unended"),
    pytest.param("\n".join([HEADER, ROWS[0], "", ROWS[1], "   ", ROWS[2]]) + "\n",
                 [("S1", 2), ("S2", 4), ("S3", 6)], id="blank-lines"),
    pytest.param("\n".join([HEADER, ROWS[0], "S9,CP1,only,three", ROWS[1], ROWS[2]]) + "\n",
                 [("S1", 2), ("S2", 4), ("S3", 5)], id="a-row-that-does-not-match-the-header"),
])
def test_every_landed_row_names_the_line_it_was_delivered_on(data_dir, content, expected):
    path = drop(data_dir, "alpha", "sessions_lines.csv", content.encode())
    result = ingest_file(data_dir, ["alpha", "beta"], path)
    assert result.rows_loaded == 3
    assert landed_lines(data_dir) == expected
