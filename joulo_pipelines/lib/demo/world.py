"""A deterministic demo world: partners, customers, charge points and a year of sessions as file drops.

Everything comes from one seeded generator, vectorised with numpy and written with DuckDB, so the same
seed gives the same bytes (and the same file times) on every machine. The mess is deliberate: duplicate
rows, a correction file, DST-night local times, a ;-separated file with decimal commas and a broken row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from schwifty import IBAN

from joulo_pipelines.lib.consent_texts import ConsentText, consent_texts, install_reference_texts
from joulo_pipelines.lib.contract import SIGNING_RECORD_COLUMNS
from joulo_pipelines.lib.demo.payout_config import write_demo_payout_config
from joulo_pipelines.lib.ean import gs1_check_digit, random_eans
from joulo_pipelines.lib.paths import DataDir

FIRST_NAMES = ["Anna", "Daan", "Emma", "Sem", "Julia", "Lucas", "Sophie", "Finn", "Lotte", "Milan", "Sara",
               "Noah", "Eva", "Levi", "Fleur", "Bram", "Iris", "Thijs", "Noor", "Jesse"]
LAST_NAMES = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
              "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "Dekker"]
STREETS = ["Dorpsstraat", "Kerkstraat", "Molenweg", "Schoolstraat", "Stationsweg", "Julianalaan",
           "Beatrixstraat", "Lindenlaan", "Eikenlaan", "Parallelweg"]
CITIES = [("1011", "Amsterdam"), ("3511", "Utrecht"), ("3011", "Rotterdam"), ("2511", "Den Haag"),
          ("5611", "Eindhoven"), ("9711", "Groningen"), ("6511", "Nijmegen"), ("7511", "Enschede")]
# Brand and model strings as partners type them: case, spacing and naming vary on purpose.
CHARGERS = [("Alfen", "Eve Single Pro-line"), ("alfen", "EVE SINGLE S-LINE"), ("Zaptec", "Go"),
            ("Easee", "Home"), ("Wallbox", "Pulsar Plus"), ("KEBA", "KeContact P30 c-series"),
            ("Tesla", "Wall Connector Gen 3"), ("ABB", "Terra AC W22-T-RD-M-0"), ("Peblar", "Home"),
            ("Etrel", "INCH Home"), ("Ohme", "Home Pro"), ("Smappee", "EV Wall"), ("Mennekes", "AMTRON 4You")]
# Eligibility mess, set by position so the seeded random stream (and every session) stays the same:
# charge points with a register-confirmed MID meter, one the register does not know, and customers whose
# mandate, EAN, IBAN or postal code keeps them from being booked.
CHARGER_AT = {7: ("Tesla", "Wall Connector Gen 3 MID 1529455-02-D"), 8: ("Lader.nl", "HomeCharge X1"),
              9: ("KEBA", "KeContact P40 Pro MID")}
UNSIGNED_AT = 10  # the customer at this position of every partner comes without a signing record
DEMO_CONSENT_VERSION = "2026-01"
SIGNER_AUTHENTICATIONS = ["password", "otp", "idin"]
USER_AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
               "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
               "VoltApp/4.2.0 (Android 15; Pixel 8)"]
SHARED_EAN_BODY = "87168700000004242"
SHARED_EAN = SHARED_EAN_BODY + str(gs1_check_digit(SHARED_EAN_BODY))  # voltnet holds it, groenstroom is refused


@dataclass(frozen=True)
class DemoPartner:
    id: str
    name: str
    customers: int
    delimiter: str  # ";" partners also use decimal commas and local times without offset
    energy_as: str  # "registers" or "kwh"
    timestamps: str  # "utc" (…Z), "offset" (+01:00/+02:00) or "local" (no offset, Europe/Amsterdam)
    registry: dict


PARTNERS = [
    DemoPartner("voltnet", "VoltNet Laadoplossingen B.V.", 450, ",", "registers", "utc", {
        "payout_model": "direct", "service_fee_pct": "15", "partner_share_pct": "5",
        "brand": {"display_name": "VoltNet", "sender_email": "uitbetaling@voltnet.example", "colour": "#0b5fff",
                  "logo_url": "https://voltnet.example/logo.png"}}),
    DemoPartner("laadwerk", "Laadwerk Installatietechniek", 350, ";", "kwh", "local", {
        "payout_model": "partner_account", "partner_iban": "NL91ABNA0417164300", "service_fee_pct": "20",
        "partner_share_pct": "0",
        "brand": {"display_name": "Laadwerk", "sender_email": "info@laadwerk.example", "colour": "#e85d04"}}),
    DemoPartner("groenstroom", "GroenStroom Energie N.V.", 200, ",", "registers", "offset", {
        "payout_model": "direct", "service_fee_pct": "12", "partner_share_pct": "8",
        "brand": {"display_name": "GroenStroom", "sender_email": "klantenservice@groenstroom.example",
                  "colour": "#2b9348"}}),
]

YEAR = 2026


def generate_demo(data_dir: DataDir, seed: int = 2026, scale: float = 1.0) -> list[Path]:
    """Write config/partners.yaml, our consent texts and every partner's file drops for 2026; returns the
    files written.

    `scale` shrinks or grows the number of customers per partner (tests use a small world)."""
    data_dir.ensure()
    rng = np.random.default_rng(seed)
    registry = {"partners": [{"id": p.id, "name": p.name, **p.registry, "source": {"type": "files"}}
                             for p in PARTNERS]}
    data_dir.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False, allow_unicode=True))
    write_demo_payout_config(data_dir)
    install_reference_texts(data_dir)
    texts = {t.language: t for t in consent_texts(data_dir) if t.version == DEMO_CONSENT_VERSION}
    written: list[Path] = []
    for partner in PARTNERS:
        customers = _customers(rng, partner, max(25, round(partner.customers * scale)), texts)
        charge_points = _charge_points(rng, partner, customers)
        sessions = _sessions(rng, charge_points, days=pd.date_range(f"{YEAR}-01-01", f"{YEAR}-12-31"))
        written += _write_partner_files(data_dir, partner, customers, charge_points, sessions, rng)
    return written


def _customers(rng: np.random.Generator, partner: DemoPartner, n: int, texts: dict[str, ConsentText]) -> pd.DataFrame:
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    city_index = rng.integers(0, len(CITIES), n)
    refs = [f"{partner.id[:3].upper()}-C{i:05d}" for i in range(1, n + 1)]
    signed_day = rng.integers(0, 60, n)  # ticked the box between Nov 2025 and early 2026
    until = np.where(rng.random(n) < 0.5, f"{YEAR}-12-31", f"{YEAR + 1}-12-31")
    revoked = np.where(rng.random(n) < 0.02, f"{YEAR}-09-15T12:00:00+02:00", None)
    frame = pd.DataFrame({
        "customer_ref": refs,
        "name": [f"{f} {l}" for f, l in zip(first, last)],
        "email": [f"{f.lower()}.{l.lower().replace(' ', '')}.{i}@mail.example" for i, (f, l) in
                  enumerate(zip(first, last))],
        "iban": [str(IBAN.generate("NL", bank_code="INGB", account_code=f"{1000000 + i * 7 + 3:010d}"))
                 for i in range(n)],
        "street": rng.choice(STREETS, n),
        "house_number": rng.integers(1, 200, n).astype(str),
        "postal_code": [f"{CITIES[c][0]} {chr(65 + a)}{chr(65 + b)}" for c, a, b in
                        zip(city_index, rng.integers(0, 26, n), rng.integers(0, 26, n))],
        "city": [CITIES[c][1] for c in city_index],
        "ean": random_eans(rng, n),
        "mandate_signed_at": [
            (datetime(2025, 11, 1, 10, tzinfo=timezone.utc) + pd.Timedelta(days=int(d))).strftime(
                "%Y-%m-%dT%H:%M:%SZ") for d in signed_day],
        "mandate_valid_from": f"{YEAR}-01-01",
        "mandate_valid_until": until,
        "revoked_at": revoked,
        "language": np.where(rng.random(n) < 0.15, "en", "nl"),
    })
    _add_signing_records(frame, texts)
    _add_customer_mess(partner, frame)
    return frame


def _add_signing_records(frame: pd.DataFrame, texts: dict[str, ConsentText]) -> None:
    """What the partner's platform saw when each customer ticked the box: the consent text in the
    customer's language, their login there and how it was checked, the browser's address and user agent.
    Derived from the position, not drawn from the seeded stream, so every other value stays the same."""
    n = len(frame)
    frame["consent_text_version"] = DEMO_CONSENT_VERSION
    frame["consent_text_sha256"] = [texts[language].sha256 for language in frame["language"]]
    frame["signer_user_id"] = [f"user-{100000 + i * 37}" for i in range(n)]
    frame["signer_authentication"] = [SIGNER_AUTHENTICATIONS[i % len(SIGNER_AUTHENTICATIONS)] for i in range(n)]
    frame["signer_ip"] = [f"203.0.113.{i % 250 + 1}" if i % 5 else f"2001:db8::{i + 1:x}" for i in range(n)]
    frame["signer_user_agent"] = [USER_AGENTS[i % len(USER_AGENTS)] for i in range(n)]
    # A customer delivered without their signing record: the partner must send it (action_needed).
    frame.loc[UNSIGNED_AT, list(SIGNING_RECORD_COLUMNS)] = None


def _add_customer_mess(partner: DemoPartner, frame: pd.DataFrame) -> None:
    """Customers the eligibility rules must stop (see CHARGER_AT), at fixed positions of every partner."""
    frame.loc[3, ["mandate_valid_from", "mandate_valid_until"]] = [f"{YEAR - 1}-01-01", f"{YEAR - 1}-12-31"]  # expired
    if partner.id == "voltnet":
        frame.loc[7, "revoked_at"] = f"{YEAR}-05-20T09:00:00+02:00"  # mid-Q2: only kWh before it count
    if partner.id in ("voltnet", "groenstroom"):
        frame.loc[1, "ean"] = SHARED_EAN
        # voltnet's mandate is the earlier one, so it holds the EAN and groenstroom's claim is refused
        frame.loc[1, "mandate_signed_at"] = "2025-11-15T10:00:00Z" if partner.id == "voltnet" else "2025-12-20T10:00:00Z"
        iban = frame.loc[2, "iban"]
        frame.loc[2, "iban"] = iban[:2] + ("00" if iban[2:4] != "00" else "01") + iban[4:]  # check digits broken
    if partner.id == "laadwerk":
        frame.loc[4, "mandate_valid_until"] = f"{YEAR}-06-30"  # not whole calendar years
        ean = frame.loc[5, "ean"]
        frame.loc[5, "ean"] = ean[:17] + str((int(ean[17]) + 1) % 10)  # check digit off by one
    if partner.id == "groenstroom":
        frame.loc[6, "postal_code"] = "2000"  # a Belgian postal code


def _charge_points(rng: np.random.Generator, partner: DemoPartner, customers: pd.DataFrame) -> pd.DataFrame:
    n = len(customers)
    kind = rng.integers(0, len(CHARGERS), n)
    has_meter_serial = rng.random(n) < 0.9
    frame = pd.DataFrame({
        "charge_point_ref": [f"{partner.id.upper()}-CP{i:05d}" for i in range(1, n + 1)],
        "customer_ref": customers["customer_ref"],
        "brand": [CHARGERS[k][0] for k in kind],
        "model": [CHARGERS[k][1] for k in kind],
        "serial_number": [f"SN{partner.id[:2].upper()}{i:07d}" for i in range(n)],
        "meter_serial": [f"MTR{i:08d}" if m or i in CHARGER_AT else None for i, m in enumerate(has_meter_serial)],
        # Partners know the MID certificate of three in four chargers; the register decides the rest.
        "mid_certificate": [f"EU-MID-B-{k + 1:04d}" if i % 4 != 3 and i not in CHARGER_AT else None
                            for i, k in enumerate(kind)],
        "installed_at": [str(date(2024, 1, 1) + pd.Timedelta(days=int(d))) for d in rng.integers(0, 700, n)],
    })
    for i, (brand, model) in CHARGER_AT.items():
        frame.loc[i, ["brand", "model"]] = [brand, model]
    return frame


def session_frame(rng: np.random.Generator, charge_point_refs: np.ndarray, days: pd.DatetimeIndex,
                  sessions_per_day: float = 0.95, max_power_kw: np.ndarray | None = None) -> pd.DataFrame:
    """About one evening session a day per charge point, with cumulative meter registers. Vectorised.

    `max_power_kw` (one per charge point) caps the car's charging power at what the charger can give."""
    cp = np.repeat(np.arange(len(charge_point_refs)), len(days))
    day = np.tile(np.arange(len(days)), len(charge_point_refs))
    keep = rng.random(len(cp)) < sessions_per_day
    cp, day = cp[keep], day[keep]
    n = len(cp)
    start_minutes = rng.integers(16 * 60, 23 * 60, n)  # local start between 16:00 and 23:00
    duration_minutes = rng.integers(30, 11 * 60, n)
    power_kw = rng.choice([3.7, 7.4, 11.0], n, p=[0.2, 0.3, 0.5])
    if max_power_kw is not None:
        power_kw = np.minimum(power_kw, max_power_kw[cp])
    energy_wh = np.maximum((power_kw * duration_minutes / 60 * rng.uniform(0.3, 0.95, n) * 1000).astype(np.int64), 1)
    local_start = pd.DatetimeIndex(days[day]) + pd.to_timedelta(start_minutes, unit="m")
    started = local_start.tz_localize("Europe/Amsterdam", ambiguous=False, nonexistent="shift_forward")
    ended = started + pd.to_timedelta(duration_minutes, unit="m")
    first_register = rng.integers(0, 5_000_000, len(charge_point_refs))
    cumulative = np.cumsum(energy_wh)
    group_start = np.r_[0, np.flatnonzero(np.diff(cp)) + 1]
    offsets = np.repeat(cumulative[group_start] - energy_wh[group_start], np.diff(np.r_[group_start, n]))
    meter_stop = first_register[cp] + cumulative - offsets
    return pd.DataFrame({
        "charge_point_ref": charge_point_refs[cp],
        "started_at": started.tz_convert("UTC"),
        "ended_at": ended.tz_convert("UTC"),
        "meter_start_wh": meter_stop - energy_wh,
        "meter_stop_wh": meter_stop,
    })


def _sessions(rng: np.random.Generator, charge_points: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    # Single-phase chargers (Ohme Home Pro: 7.4 kW) never deliver the 11 kW a three-phase one can.
    single_phase = charge_points["brand"].str.lower().eq("ohme").to_numpy()
    frame = session_frame(rng, charge_points["charge_point_ref"].to_numpy(), days,
                          max_power_kw=np.where(single_phase, 7.4, 11.0))
    frame.insert(0, "session_ref", [f"S{i:08d}" for i in range(1, len(frame) + 1)])
    v2g = rng.random(len(frame)) < 0.01
    frame["energy_export_wh"] = np.where(v2g, rng.integers(100, 1500, len(frame)), 0)
    frame = _holiday_session(frame, charge_points["charge_point_ref"].iloc[1])
    return _meter_replaced(frame, charge_points["charge_point_ref"].iloc[2])


def _holiday_session(frame: pd.DataFrame, charge_point_ref: str) -> pd.DataFrame:
    """A car left plugged in over a holiday: one session of 8 days replaces that week's (a long_session flag).
    Its registers run from the stop before to the start after, so no energy appears or disappears."""
    start = pd.Timestamp(f"{YEAR}-07-01 18:00", tz="Europe/Amsterdam").tz_convert("UTC")
    end = pd.Timestamp(f"{YEAR}-07-09 17:00", tz="Europe/Amsterdam").tz_convert("UTC")
    on_cp = frame["charge_point_ref"] == charge_point_ref
    inside = on_cp & (frame["started_at"] >= start) & (frame["started_at"] < end)
    before = frame[on_cp & (frame["ended_at"] <= start)]
    after = frame[on_cp & (frame["started_at"] >= end)]
    holiday = frame[inside].head(1).assign(
        started_at=start, ended_at=end, energy_export_wh=0,
        meter_start_wh=before["meter_stop_wh"].iloc[-1], meter_stop_wh=after["meter_start_wh"].iloc[0])
    return pd.concat([frame[~inside], holiday]).sort_values("session_ref", ignore_index=True)


def _meter_replaced(frame: pd.DataFrame, charge_point_ref: str) -> pd.DataFrame:
    """A meter replaced on 1 September: the new one starts at 0 Wh (a meter_register_reset flag, energy kept)."""
    later = (frame["charge_point_ref"] == charge_point_ref) & (frame["started_at"] >= pd.Timestamp(f"{YEAR}-09-01", tz="UTC"))
    frame = frame.copy()
    first_register = frame.loc[later, "meter_start_wh"].min()
    frame.loc[later, ["meter_start_wh", "meter_stop_wh"]] -= first_register
    return frame


def _write_partner_files(data_dir: DataDir, partner: DemoPartner, customers: pd.DataFrame,
                         charge_points: pd.DataFrame, sessions: pd.DataFrame, rng: np.random.Generator) -> list[Path]:
    inbox = data_dir.inbox / partner.id
    inbox.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    written = []

    def drop(name: str, sql: str, dropped_on: str) -> None:
        target = inbox / name
        con.execute(f"copy ({sql}) to '{target}' (header, delimiter '{partner.delimiter}')")
        _set_drop_time(target, dropped_on)
        written.append(target)

    con.register("customers", customers)
    con.register("charge_points", charge_points)
    drop("customers.csv", "select * replace (null as revoked_at) from customers order by customer_ref", f"{YEAR}-01-02")
    # A revocation arrives when it happens: the customer's row again, in the next morning's file.
    for revoked_at in sorted(customers["revoked_at"].dropna().unique()):
        day = (datetime.fromisoformat(revoked_at).date() + timedelta(days=1)).isoformat()
        drop(f"customers_revocations_{day}.csv",
             f"select * from customers where revoked_at = '{revoked_at}' order by customer_ref", day)
    drop("charge_points.csv", "select * from charge_points order by charge_point_ref", f"{YEAR}-01-02")

    con.register("sessions", sessions)
    con.execute(f"create table out as select session_ref, charge_point_ref, {_timestamp_sql('started_at', partner)} "
                f"as started_at, {_timestamp_sql('ended_at', partner)} as ended_at, "
                f"{_energy_sql(partner)} from sessions")
    for month in range(1, 13):
        drop(f"sessions_{YEAR}-{month:02d}.csv",
             f"select out.* from out join sessions s using (session_ref) "
             f"where month(timezone('Europe/Amsterdam', s.started_at)) = {month} order by session_ref",
             _month_after(month))
    _add_mess(partner, inbox, written, con, rng)
    con.close()
    return written


def _timestamp_sql(column: str, partner: DemoPartner) -> str:
    if partner.timestamps == "utc":
        return f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"
    local = f"timezone('Europe/Amsterdam', {column})"
    if partner.timestamps == "local":
        return f"strftime({local}, '%Y-%m-%dT%H:%M:%S')"
    offset_hours = f"cast(date_diff('hour', timezone('UTC', {column}), {local}) as integer)"
    return f"strftime({local}, '%Y-%m-%dT%H:%M:%S') || printf('+%02d:00', {offset_hours})"


def _energy_sql(partner: DemoPartner) -> str:
    if partner.energy_as == "registers":
        return ("meter_start_wh, meter_stop_wh, case when energy_export_wh > 0 then "
                "printf('%.3f', energy_export_wh / 1000) end as energy_export_kwh")
    return ("replace(printf('%.3f', (meter_stop_wh - meter_start_wh) / 1000), '.', ',') as energy_kwh, "
            "case when energy_export_wh > 0 then replace(printf('%.3f', energy_export_wh / 1000), '.', ',') end "
            "as energy_export_kwh")


def _add_mess(partner: DemoPartner, inbox: Path, written: list[Path], con: duckdb.DuckDBPyConnection,
              rng: np.random.Generator) -> None:
    """The realistic mess each partner brings (see module docstring)."""
    if partner.id == "voltnet":
        january = inbox / f"sessions_{YEAR}-01.csv"
        lines = january.read_text().splitlines(keepends=True)
        _rewrite_keeping_time(january, "".join(lines + lines[1:21]))  # 20 rows delivered twice
        march = inbox / f"sessions_{YEAR}-03.csv"
        header, *rows = march.read_text().splitlines(keepends=True)
        corrected = []
        for row in rows[:25]:  # meter_stop corrected downwards by 500 Wh
            fields = row.rstrip("\n").split(",")
            fields[5] = str(int(fields[5]) - 500)
            corrected.append(",".join(fields) + "\n")
        target = inbox / f"sessions_{YEAR}-03_correction.csv"
        target.write_text(header + "".join(corrected))
        _set_drop_time(target, f"{YEAR}-05-20")
        written.append(target)
        # Sessions the cleaning rules catch (int_sessions_cleaned), delivered with the June file.
        _copy(con, partner, inbox / f"sessions_{YEAR}-06_extra.csv", f"""
            with june as (
                select *, row_number() over (order by session_ref) as n
                from out where started_at >= '{YEAR}-06-10' order by session_ref limit 6
            )
            -- the same charge logged twice under another id: an overlapping session, counted once
            select 'DBL-' || session_ref as session_ref, charge_point_ref, started_at, ended_at, meter_start_wh,
                   meter_stop_wh, energy_export_kwh from june where n = 1
            union all
            select 'BACK-1', charge_point_ref, started_at, ended_at, meter_stop_wh, meter_start_wh, null
                from june where n = 2
            union all
            select 'ZERO-1', charge_point_ref, started_at, ended_at, meter_start_wh, meter_start_wh, null
                from june where n = 3
            union all  -- 95 kWh in one hour: no home charger does that
            select 'POWER-1', charge_point_ref, started_at, strftime(cast(started_at as timestamptz) + interval 1 hour,
                   '%Y-%m-%dT%H:%M:%SZ'), 90000000, 90095000, null from june where n = 4
            union all
            select 'UNKNOWN-1', 'VOLTNET-CP99999', started_at, ended_at, meter_start_wh, meter_stop_wh, null
                from june where n = 5
            union all  -- a charger clock in the future: it ends after the as-of date of the demo
            select 'FUTURE-1', charge_point_ref, '{YEAR}-12-31T20:00:00Z', '{YEAR + 1}-01-20T08:00:00Z',
                   91000000, 91004000, null from june where n = 6
            """, f"{YEAR}-07-03", written)
        _meter_readings(con, partner, inbox, written, minutes_after_midnight=7)
    if partner.id == "laadwerk":
        # Local times in the DST nights: 02:30 does not exist on 29 March and occurs twice on 25 October.
        target = inbox / f"sessions_{YEAR}-dst-nights.csv"
        target.write_text(
            "session_ref;charge_point_ref;started_at;ended_at;energy_kwh\n"
            "DST-1;LAADWERK-CP00001;2026-03-29T02:30:00;2026-03-29T06:00:00;12,5\n"
            "DST-2;LAADWERK-CP00002;2026-10-25T02:30:00;2026-10-25T06:00:00;9,75\n"
            "DST-3;LAADWERK-CP00003;2026-03-29T01:15:00;2026-03-29T05:45:00;14,25\n"
            "DST-4;LAADWERK-CP00004;2026-10-25T00:30:00+02:00;2026-10-25T02:30:00+01:00;8,5\n"
        )
        _set_drop_time(target, f"{YEAR}-11-02")
        written.append(target)
        # A session reported again under a new id, shifted by 30 minutes: the overlap is counted once (by time,
        # as this partner sends no registers).
        _copy(con, partner, inbox / f"sessions_{YEAR}-08_extra.csv", f"""
            select 'SHIFT-' || session_ref as session_ref, charge_point_ref,
                   strftime(cast(started_at as timestamp) + interval 30 minute, '%Y-%m-%dT%H:%M:%S') as started_at,
                   strftime(cast(ended_at as timestamp) + interval 30 minute, '%Y-%m-%dT%H:%M:%S') as ended_at,
                   energy_kwh, energy_export_kwh
            from out where started_at >= '{YEAR}-08-10' order by session_ref limit 3
            """, f"{YEAR}-09-03", written)
    if partner.id == "groenstroom":
        may = inbox / f"sessions_{YEAR}-05.csv"
        header, *rows = may.read_text().splitlines(keepends=True)
        rows[10] = rows[10].replace(rows[10].split(",")[4], "n/a", 1)  # meter_start_wh that is not a number
        rows[20] = ",".join(rows[20].split(",")[:3]) + "\n"  # a truncated row
        _rewrite_keeping_time(may, header + "".join(rows))
        _meter_readings(con, partner, inbox, written, minutes_after_midnight=90)


def _copy(con: duckdb.DuckDBPyConnection, partner: DemoPartner, target: Path, sql: str, dropped_on: str,
          written: list[Path]) -> None:
    con.execute(f"copy ({sql}) to '{target}' (header, delimiter '{partner.delimiter}')")
    _set_drop_time(target, dropped_on)
    written.append(target)


def _meter_readings(con: duckdb.DuckDBPyConnection, partner: DemoPartner, inbox: Path, written: list[Path],
                    minutes_after_midnight: int) -> None:
    """Daily register readings of the first ten charge points, `minutes_after_midnight` local time: within
    15 minutes of a quarter's edge they give the register there; later ones are interpolated between. Cars
    charge fast first: a session's register rises over its first 60 % and then stands still, so readings
    split an edge-spanning session differently from time."""
    _copy(con, partner, inbox / f"meter_readings_{YEAR}.csv", f"""
        with charge_points as (
            select distinct charge_point_ref from sessions order by charge_point_ref limit 10
        ),
        ticks as (
            select charge_point_ref,
                   timezone('Europe/Amsterdam', day + interval {minutes_after_midnight} minute) as read_at
            from charge_points
            cross join generate_series(timestamp '{YEAR}-01-02', timestamp '{YEAR}-12-31', interval 1 day) as t(day)
        ),
        latest_session as (
            select ticks.charge_point_ref, ticks.read_at,
                   arg_max(sessions, sessions.started_at) as s
            from ticks
            join sessions on sessions.charge_point_ref = ticks.charge_point_ref and sessions.started_at <= ticks.read_at
            group by all
        )
        select charge_point_ref, strftime(read_at, '%Y-%m-%dT%H:%M:%SZ') as read_at,
               case
                   when read_at >= s.ended_at then s.meter_stop_wh
                   else least(s.meter_stop_wh, s.meter_start_wh + cast((s.meter_stop_wh - s.meter_start_wh)
                        * epoch(read_at - s.started_at) / (0.6 * epoch(s.ended_at - s.started_at)) as bigint))
               end as register_wh
        from latest_session order by charge_point_ref, read_at
        """, f"{YEAR + 1}-01-03", written)


def _month_after(month: int) -> str:
    return f"{YEAR + 1}-01-03" if month == 12 else f"{YEAR}-{month + 1:02d}-03"


def _set_drop_time(path: Path, day: str) -> None:
    """Files carry the day the partner would have dropped them: the intake orders deliveries by it."""
    stamp = datetime.fromisoformat(f"{day}T06:00:00+00:00").timestamp()
    os.utime(path, (stamp, stamp))


def _rewrite_keeping_time(path: Path, content: str) -> None:
    stat = path.stat()
    path.write_text(content)
    os.utime(path, (stat.st_atime, stat.st_mtime))
