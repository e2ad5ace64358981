"""Whatever bytes a partner drops, the intake ends the file landed or quarantined with a reason, counts
every row, and another partner's good file in the same ingest still lands."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import make_data_dir
from joulo_pipelines.lib.contract import DATASETS
from joulo_pipelines.lib.intake import ingest_files

GOOD_SESSIONS = (b"session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh\n"
                 b"S1,CP1,2026-01-10T18:00:00Z,2026-01-10T20:00:00Z,1000,2000\n")
CUSTOMERS_HEADER = ("customer_ref,name,email,street,house_number,postal_code,city,ean,mandate_signed_at,"
                    "mandate_valid_from,mandate_valid_until")
CUSTOMER = ("C1,Jan,jan@example.nl,Kerkstraat,1,1011AB,Amsterdam,871685900000000011,2026-01-05T10:00:00Z,"
            "2026-01-01,2026-12-31")


def customers(row: str, encoding: str = "utf-8") -> bytes:
    return f"{CUSTOMERS_HEADER}\n{row}\n".encode(encoding)


COLUMN_NAMES = sorted({c.name for d in DATASETS.values() for c in d.columns} | {"remark", "", "Session_Ref"})
CELLS = st.one_of(
    st.sampled_from(["", "1", "-1", "1,5", "2.25", "99999999999999999999", "12345678901234", "2026-01-10T18:00:00Z",
                     "2026-03-29T02:30:00", "2026-10-25", "871685900000000011", "a@b.nl", "nl", "C/../1", '"',
                     '"a,b"', '""', "\x00", "Jan\x0bde", "\t", "\r", "\n", "é", "\ufeff", "=1+1", " "]),
    st.text(max_size=8),
)


@st.composite
def structured_files(draw) -> tuple[str, bytes]:
    """A CSV-ish file: real or junk column names, rows of odd cells, any separator, line end and encoding."""
    dataset = draw(st.sampled_from(sorted(DATASETS)))
    if draw(st.booleans()):
        header = [c.name for c in DATASETS[dataset].columns]
    else:
        header = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=9))
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(st.lists(st.lists(CELLS, min_size=max(len(header) - 1, 0), max_size=len(header) + 1), max_size=6))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join([separator.join(header)] + [separator.join(row) for row in rows]) + draw(st.sampled_from(["", end]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]))
    return f"{dataset}_fuzz.csv", text.encode(encoding, errors="replace")


@st.composite
def random_bytes(draw) -> tuple[str, bytes]:
    """Random bytes, alone or after a valid header."""
    prefix = draw(st.sampled_from([b"", GOOD_SESSIONS.split(b"\n")[0] + b"\n"]))
    name = draw(st.sampled_from(["sessions.csv", "customers_x.csv", "notes.txt"]))
    return name, prefix + draw(st.binary(max_size=400))


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


_counter = iter(range(1_000_000))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(drop=st.one_of(structured_files(), random_bytes()))
@example(drop=("sessions_header.csv", b"session_ref," + b"x" * (130 << 10) + b"\n" + GOOD_SESSIONS.split(b"\n")[1]))
@example(drop=("sessions_line.csv", GOOD_SESSIONS + b"S2,CP1," + b"9" * (50 << 20) + b"\n"))
@example(drop=("customers.csv", customers(CUSTOMER.replace("Jan", "Jan\x0bde"))))
@example(drop=("customers.csv", customers(CUSTOMER.replace("Kerk", "Ke\x00rk"))))
@example(drop=("customers.csv", customers(CUSTOMER.replace("C1", "X/../x"))))
@example(drop=("customers.csv", customers(CUSTOMER, "utf-16")))
@example(drop=("customers.csv", customers(CUSTOMER.replace("Jan", "Jané"), "latin-1")))
@example(drop=("sessions.csv", GOOD_SESSIONS.replace(b",2000", b",99999999999999999999")))
@example(drop=("sessions.csv", GOOD_SESSIONS.replace(b"\n", b"\r")))
@example(drop=("sessions.csv", GOOD_SESSIONS.replace(b"S1", b'"S1\nS2"')))
def test_any_file_ends_landed_or_quarantined_with_a_reason_and_the_other_partner_lands(fuzz_root, drop):
    name, content = drop
    data_dir = make_data_dir(fuzz_root / f"world{next(_counter)}", ["alpha", "beta"])
    (data_dir.inbox / "alpha").mkdir()
    (data_dir.inbox / "beta").mkdir()
    hostile = data_dir.inbox / "alpha" / name
    hostile.write_bytes(content)
    good = data_dir.inbox / "beta" / "sessions.csv"
    good.write_bytes(GOOD_SESSIONS)

    results = dict(ingest_files(data_dir, ["alpha", "beta"], [hostile, good]))

    assert results[good].status == "landed" and results[good].rows_loaded == 1
    result = results[hostile]
    assert not isinstance(result, Exception), repr(result)
    assert result.status in ("landed", "landed_with_errors", "rejected")
    if result.status != "landed":
        assert result.errors and all(e.reason for e in result.errors)
        assert (data_dir.root / result.report_path).exists()
    if result.status != "rejected":
        assert result.rows_loaded + result.rows_rejected == result.rows_total
    assert (data_dir.landing / "alpha" / "manifest" / f"{result.file_sha256}.json").exists()
