"""Containment: a hostile partner's drops never stop, change or reveal another partner's quarter.

The shared demo world is the control. A copy of it gets a fourth partner, `mallory`, whose inbox holds
everything issue 17 found to poison a quarter: a huge session, control characters, NUL bytes, file-name
refs, formula and script text, another partner's EAN (claimed later), a non-UTF-8 row carrying personal
data, a header cell over 128 KiB, a symlink out of the inbox, a hidden file and a subfolder. The copy is ingested and its 2026-Q4 run again; every output of the
other three partners must be byte-identical to the control's, and every hostile file must be accounted
for with a reason.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
import yaml

from joulo_pipelines.lib.ean import gs1_check_digit
from joulo_pipelines.lib.paths import DataDir

HOSTILE = "mallory"
OTHERS = ("groenstroom", "laadwerk", "voltnet")
QUARTER = "2026-Q4"
PARTNER_OUTPUTS = ("payouts", "reports", "mid_scan")
MARTS = ("fct_ean_quarter_energy", "fct_charge_point_eligibility", "fct_charging_sessions",
         "fct_energy_adjustments", "fct_customer_quarter_status")
# Personal data of the non-UTF-8 row: it may land in quarantine, never in a log or Dagster's records.
LATIN1_NAME, LATIN1_EMAIL, LATIN1_IBAN = "Zoë Ëvil", "zoe.evil@mallory.example", "NL71INGB0009876543"


def _ean(n: int) -> str:
    body = f"871{n:014d}"
    return body + str(gs1_check_digit(body))


def _customers_csv(rows: list[dict]) -> str:
    columns = ["customer_ref", "name", "email", "iban", "street", "house_number", "postal_code", "city", "ean",
               "mandate_signed_at", "mandate_valid_from", "mandate_valid_until", "revoked_at", "language"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"iban": "NL44RABO0123456789", "street": "Kade", "house_number": "1",
                         "postal_code": "1011 AB", "city": "Amsterdam", "mandate_valid_from": "2026-01-01",
                         "mandate_valid_until": "2026-12-31", "revoked_at": "", "language": "nl",
                         "email": f"{row['customer_ref'].lower()}@mallory.example", **row})
    return out.getvalue()


def _first_customer(data_dir: DataDir, partner: str) -> dict:
    text = (data_dir.inbox / partner / "customers.csv").read_text()
    delimiter = ";" if ";" in text.splitlines()[0] else ","  # laadwerk exports like a Dutch spreadsheet
    return next(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _drop_hostile_partner(data_dir: DataDir) -> None:
    registry = yaml.safe_load(data_dir.partners_file.read_text())
    registry["partners"].append({
        "id": HOSTILE, "name": "Mallory B.V.", "payout_model": "direct", "service_fee_pct": "15",
        "partner_share_pct": "5", "brand": {"display_name": "<script>document.title='pwned'</script>",
                                            "sender_email": "payouts@mallory.example"},
        "source": {"type": "files"}})
    data_dir.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False))

    victim = _first_customer(data_dir, "voltnet")
    inbox = data_dir.inbox / HOSTILE
    inbox.mkdir(parents=True)
    customers = [
        {"customer_ref": "M-OK", "name": "Mallory Own", "ean": _ean(99_000_001), "mandate_signed_at": "2025-12-01T10:00:00Z"},
        {"customer_ref": "M-VT", "name": "Vertical\x0bTab", "ean": _ean(99_000_002), "mandate_signed_at": "2025-12-01T10:00:00Z"},
        {"customer_ref": "M-NUL", "name": "Nul Byte", "city": "Amster\x00dam", "ean": _ean(99_000_003),
         "mandate_signed_at": "2025-12-01T10:00:00Z"},
        {"customer_ref": "X/../x", "name": "Path Walker", "ean": _ean(99_000_004), "mandate_signed_at": "2025-12-01T10:00:00Z"},
        {"customer_ref": "M-FORMULA", "name": "=HYPERLINK(\"http://evil.example\",\"click\")", "ean": _ean(99_000_005),
         "mandate_signed_at": "2025-12-01T10:00:00Z"},
        {"customer_ref": "M-SCRIPT", "name": "<script>document.title='pwned'</script>", "ean": _ean(99_000_006),
         "mandate_signed_at": "2025-12-01T10:00:00Z"},
        # Another partner's customer, claimed after them. (A backdated signed_at before anything is submitted
        # wins by the rule, and goes to the operators' review: tests/test_eligibility_ean_claims.py.)
        {"customer_ref": "M-HOSTAGE", "name": "Hostage Taker", "ean": victim["ean"], "mandate_signed_at": "2026-11-30T10:00:00Z"},
    ]
    (inbox / "customers.csv").write_text(_customers_csv(customers))
    refs = [row["customer_ref"] for row in customers]
    cp_lines = ["charge_point_ref,customer_ref,brand,model,serial_number,meter_serial,mid_certificate,installed_at"]
    cp_lines += [f"MAL-CP{i},{ref},<script>document.title='pwned'</script>,=1+1,SN{i},MTR{i},EU-MID-B-0013,2025-05-25"
                 for i, ref in enumerate(refs)]
    (inbox / "charge_points.csv").write_text("\n".join(cp_lines) + "\n")
    sessions = [
        "session_ref,charge_point_ref,started_at,ended_at,meter_start_wh,meter_stop_wh,energy_kwh",
        "MS1,MAL-CP0,2026-11-02T20:00:00Z,2026-11-03T04:00:00Z,,,1000000",
        "MS2,MAL-CP0,2026-11-04T20:00:00Z,2026-11-05T04:00:00Z,1000,1000001000,",
        "MS3,MAL-CP6,2026-11-04T20:00:00Z,2026-11-05T04:00:00Z,1000,21000,",
        "MS4,MAL-CP7,2026-11-04T20:00:00Z,2026-11-05T04:00:00Z,1000,21000,",
        "MS5,MAL-CP0,2026-11-06T20:00:00Z,2026-11-07T04:00:00Z,1000,21000,",
    ]
    (inbox / "sessions_2026-11.csv").write_text("\n".join(sessions) + "\n")
    (inbox / "customers_latin1.csv").write_bytes(_customers_csv([
        {"customer_ref": "M-LATIN1", "name": LATIN1_NAME, "email": LATIN1_EMAIL, "iban": LATIN1_IBAN,
         "ean": _ean(99_000_007), "mandate_signed_at": "2025-12-01T10:00:00Z"}]).encode("latin-1"))
    (inbox / "sessions_header.csv").write_text("session_ref," + "h" * (129 * 1024) + "\nMS9,x\n")
    (inbox / "sessions_link.csv").symlink_to("/etc/passwd")
    (inbox / ".sessions_hidden.csv").write_text(sessions[0] + "\n" + sessions[4] + "\n")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "sessions_nested.csv").write_text(sessions[0] + "\n" + sessions[4] + "\n")


def _built(hostile_world) -> DataDir:
    """The hostile world, once its intake and quarter run succeeded (else every comparison is empty)."""
    data_dir, ingest_code, run_code = hostile_world
    assert (ingest_code, run_code) == (0, 0)
    return data_dir


def _files_below(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _marts_rows(data_dir: DataDir, table: str) -> list[tuple]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.sql(f"select * from marts.{table} where partner_id in {OTHERS} order by all").fetchall()


def _booking_rows(data_dir: DataDir) -> list[dict]:
    """Booking lines of the other partners (from the booking's manifest), without the package's own line numbering."""
    manifest = json.loads((data_dir.exports / QUARTER / "rev" / "manifest.json").read_text())
    return [{k: v for k, v in line.items() if k != "line_number"}
            for line in manifest["lines"] if line["partner_id"] != HOSTILE]


def _api_rows(data_dir: DataDir, query: str) -> list[tuple]:
    with sqlite3.connect(data_dir.root / "api" / "api.sqlite") as con:
        return con.execute(query, OTHERS).fetchall()


@pytest.fixture(scope="module")
def hostile_world(demo_world, tmp_path_factory):
    """The demo world copied, the hostile partner dropped in, ingested and 2026-Q4 run again."""
    import shutil

    from joulo_pipelines import cli

    root = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(demo_world.root, root, symlinks=True)
    data_dir = DataDir(root)
    _drop_hostile_partner(data_dir)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_DATA_DIR", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        ingest_code = cli.main(["ingest"])
        run_code = cli.main(["run", "--quarter", QUARTER])
    return data_dir, ingest_code, run_code


def test_the_hostile_partners_drops_stop_neither_the_intake_nor_the_quarter(hostile_world):
    _built(hostile_world)


@pytest.mark.parametrize("output", PARTNER_OUTPUTS)
def test_the_other_partners_exports_are_byte_identical(demo_world, hostile_world, output):
    data_dir = _built(hostile_world)
    for partner in OTHERS:
        control = _files_below(demo_world.exports / QUARTER / output / partner)
        assert control, f"the control world has no {output} for {partner}"
        assert _files_below(data_dir.exports / QUARTER / output / partner) == control, (output, partner)


def test_the_other_partners_booking_lines_are_unchanged(demo_world, hostile_world):
    assert _booking_rows(_built(hostile_world)) == _booking_rows(demo_world)


@pytest.mark.parametrize("table", MARTS)
def test_the_other_partners_warehouse_rows_are_unchanged(demo_world, hostile_world, table):
    assert _marts_rows(_built(hostile_world), table) == _marts_rows(demo_world, table)


def test_the_other_partners_api_status_and_events_are_unchanged(demo_world, hostile_world):
    for query in ("select partner_id, customer_ref, document from customer_status where partner_id in (?, ?, ?) order by 1, 2",
                  "select partner_id, quarter_start, document from quarter_summaries where partner_id in (?, ?, ?) order by 1, 2",
                  "select partner_id, type, subject, body from events where partner_id in (?, ?, ?) order by 1, 2, 3, 4"):
        assert _api_rows(_built(hostile_world), query) == _api_rows(demo_world, query), query


def test_the_hostile_partner_learns_nothing_about_the_others(hostile_world):
    """Its own outputs (report, MID scan, API status) name no other partner, EAN holder or customer."""
    data_dir = _built(hostile_world)
    victim = _first_customer(data_dir, "voltnet")
    texts = [p.read_text(errors="replace") for output in PARTNER_OUTPUTS
             for p in (data_dir.exports / QUARTER / output / HOSTILE).rglob("*") if p.is_file()]
    texts += [row[0] for row in sqlite3.connect(data_dir.root / "api" / "api.sqlite").execute(
        "select document from customer_status where partner_id = ?", (HOSTILE,))]
    assert texts, "the hostile partner got no outputs at all"
    for needle in (*OTHERS, "VoltNet", "Laadwerk", "GroenStroom", victim["customer_ref"], victim["name"]):
        assert not any(needle in text for text in texts), needle


def test_every_hostile_file_is_accounted_for_with_a_reason(hostile_world):
    """No hostile file vanishes: each is landed, or quarantined or refused with a reason `joulo status` shows."""
    import contextlib

    from joulo_pipelines import cli

    data_dir = _built(hostile_world)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch, contextlib.redirect_stdout(out):
        monkeypatch.setenv("JOULO_DATA_DIR", str(data_dir.root))
        monkeypatch.setenv("DAGSTER_HOME", str(data_dir.root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        assert cli.main(["status"]) == 0
    status = out.getvalue()
    for name in ("customers_latin1.csv", "sessions_header.csv", "sessions_link.csv", ".sessions_hidden.csv",
                 "sub"):
        assert f"{HOSTILE}/{name}" in status, name


def test_no_personal_data_of_the_hostile_rows_reaches_dagster(hostile_world):
    """The non-UTF-8 row's name, email and IBAN, and the data dir's absolute path, are in no run record."""
    from dagster import DagsterInstance

    data_dir = _built(hostile_world)
    instance = DagsterInstance.from_config(str(data_dir.root / "dagster_home"))
    try:
        records = [str(record) for run in instance.get_runs()
                   for record in instance.all_logs(run.run_id)]
    finally:
        instance.dispose()
    compute_logs = [p.read_text(errors="replace") for p in (data_dir.root / "dagster_home").rglob("*")
                    if p.is_file() and p.suffix in {".out", ".err", ".complete"}]
    for needle in (LATIN1_NAME, LATIN1_EMAIL, LATIN1_IBAN, "Vertical\x0bTab"):
        assert not any(needle in text for text in records + compute_logs), needle
