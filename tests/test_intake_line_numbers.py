"""Landed rows keep the physical line they were delivered on, whether the intake numbers them from the row
order (every line one row) or has to read the file again (blank lines, rejected rows, bare carriage returns)."""

import hashlib
import re

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import drop
from joulo_pipelines.lib import intake
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


def physical_lines(data: bytes) -> int | None:
    r"""Lines ended by \n or \r\n, a last line without one counted too; None with a bare \r."""
    if re.search(rb"\r(?!\n)", data):
        return None
    return data.count(b"\n") + (not data.endswith(b"\n") and data != b"")


# Chunks of a few bytes, so that a \r\n split over two chunks and a line longer than a chunk come up often.
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40) | st.lists(st.sampled_from([b"a", b",", b"\r", b"\n", b"\r\n", b"\t", b"\x7f"]),
                                              max_size=30).map(b"".join),
       chunk=st.integers(1, 5))
@example(data=b"a\r\nb", chunk=2)  # \r ends the first chunk, \n starts the next
@example(data=b"a\rb\n", chunk=2)
@example(data=b"ab\r", chunk=3)  # a \r at the very end is bare
def test_the_one_read_of_a_file_counts_its_lines_and_finds_its_control_bytes_whatever_the_chunks(
        tmp_path_factory, data, chunk):
    path = tmp_path_factory.mktemp("read") / "file.csv"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(intake, "MAX_LINE_BYTES", chunk)
        read = intake._read_once(path)
    assert read.sha256 == hashlib.sha256(data).hexdigest()
    assert read.physical_lines == physical_lines(data)
    assert read.has_control_bytes == bool(re.search(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]", data))
