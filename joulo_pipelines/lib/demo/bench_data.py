"""Benchmark data at national scale: N charge points with customers and a quarter of sessions (~90 each)
as partner file drops. Vectorised and seeded; cached by its parameters, since it is not what we time."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import yaml

from joulo_pipelines.lib.consent_texts import consent_texts, install_reference_texts
from joulo_pipelines.lib.demo.world import session_frame
from joulo_pipelines.lib.ean import random_eans
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter

CHARGE_POINTS_PER_PARTNER = 50_000
# Valid IBANs, cycled: the benchmark measures volume, and generating 600k distinct ones costs minutes.
IBAN_POOL = ["NL91ABNA0417164300", "NL20INGB0001234567", "NL02RABO0123456789", "NL39RABO0300065264"]


def generate_bench(data_dir: DataDir, charge_points: int, quarter: Quarter, seed: int = 7) -> dict:
    """Write the drops unless the same parameters were written before; returns what was generated."""
    marker = data_dir.root / "bench_data.json"
    wanted = {"charge_points": charge_points, "quarter": quarter.label, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()).get("params") == wanted:
        return json.loads(marker.read_text())
    data_dir.ensure()
    rng = np.random.default_rng(seed)
    partner_count = max(1, -(-charge_points // CHARGE_POINTS_PER_PARTNER))
    partners = [f"cpo{i:02d}" for i in range(1, partner_count + 1)]
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": [
        {"id": p, "name": f"CPO {p}", "payout_model": "direct", "service_fee_pct": "15",
         "brand": {"display_name": p.upper(), "sender_email": f"payouts@{p}.example"}} for p in partners]}))
    install_reference_texts(data_dir)
    consent = next(t for t in consent_texts(data_dir) if t.language == "nl")
    days = pd.date_range(quarter.start, quarter.end, inclusive="left")
    sessions = 0
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for index, partner in enumerate(partners):
        count = min(CHARGE_POINTS_PER_PARTNER, charge_points - index * CHARGE_POINTS_PER_PARTNER)
        inbox = data_dir.inbox / partner
        inbox.mkdir(parents=True, exist_ok=True)
        refs = np.array([f"{partner}-CP{i:06d}" for i in range(count)])
        customers = pd.DataFrame({
            "customer_ref": [f"{partner}-C{i:06d}" for i in range(count)],
            "name": "Klant", "email": [f"klant{i}@{partner}.example" for i in range(count)],
            "iban": [IBAN_POOL[i % len(IBAN_POOL)] for i in range(count)],
            "street": "Dorpsstraat", "house_number": (np.arange(count) % 200 + 1).astype(str),
            "postal_code": "1011AB", "city": "Amsterdam", "ean": random_eans(rng, count),
            "mandate_signed_at": "2025-12-01T10:00:00Z", "mandate_valid_from": f"{quarter.year}-01-01",
            "mandate_valid_until": f"{quarter.year}-12-31",
            "consent_text_version": consent.version, "consent_text_sha256": consent.sha256,
            "signer_user_id": [f"user-{i}" for i in range(count)], "signer_authentication": "password",
            "signer_ip": "203.0.113.7", "signer_user_agent": "Mozilla/5.0",
        })
        charge_point_frame = pd.DataFrame({
            "charge_point_ref": refs, "customer_ref": customers["customer_ref"], "brand": "Alfen",
            "model": "Eve Single Pro-line", "serial_number": [f"SN{i}" for i in range(count)],
            "meter_serial": [f"M{i}" for i in range(count)],
        })
        frame = session_frame(rng, refs, days, sessions_per_day=0.98)
        frame.insert(0, "session_ref", np.char.add("S", np.arange(len(frame)).astype(str)))
        sessions += len(frame)
        for name, table in (("customers", customers), ("charge_points", charge_point_frame)):
            con.register(name, table)
            con.execute(f"copy {name} to '{inbox / (name + '.csv')}' (header)")
            con.unregister(name)
        con.register("sessions", frame)
        for month_start in pd.date_range(quarter.start, quarter.end, freq="MS", inclusive="left"):
            con.execute(
                f"""copy (select session_ref, charge_point_ref,
                                 strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') as started_at,
                                 strftime(ended_at, '%Y-%m-%dT%H:%M:%SZ') as ended_at,
                                 meter_start_wh, meter_stop_wh
                          from sessions
                          where month(timezone('Europe/Amsterdam', started_at)) = {month_start.month})
                    to '{inbox / f"sessions_{month_start:%Y-%m}.csv"}' (header)""")
        con.unregister("sessions")
    con.close()
    generated = {"params": wanted, "partners": len(partners), "charge_points": charge_points, "sessions": sessions}
    marker.write_text(json.dumps(generated))
    return generated
