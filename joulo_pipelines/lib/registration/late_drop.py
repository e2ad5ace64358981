"""The demo's late data: a partner delivers, after its quarter was submitted to the REV, sessions of that
quarter it had missed. Written as an ordinary file drop, so it goes through intake, dbt and booking like
any other file, and ends up as amendments in the first open quarter."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from joulo_pipelines.lib import clock, warehouse
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter


def drop_late_sessions(data_dir: DataDir, quarter: Quarter, charge_points: int = 3) -> list[Path]:
    """Two missed midday sessions (late morning, when the demo's cars are not charging) on each of the first
    `charge_points` eligible charge points of `quarter`, dropped now (by the platform clock)."""
    with warehouse.connect(data_dir, read_only=True) as con:
        chosen = con.execute(
            """
            select partner_id, charge_point_ref from marts.fct_charge_point_eligibility
            where quarter_start = ? and is_eligible order by partner_id, charge_point_ref limit ?
            """, [quarter.start, charge_points]).fetchall()
    by_partner: dict[str, list[str]] = {}
    for partner_id, charge_point_ref in chosen:
        by_partner.setdefault(partner_id, []).append(charge_point_ref)
    written, stamp = [], clock.now().timestamp()
    month = quarter.start.month + 1
    for partner_id, refs in sorted(by_partner.items()):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["session_ref", "charge_point_ref", "started_at", "ended_at", "energy_kwh"])
        for number, ref in enumerate(refs, start=1):
            for day in (10, 17):
                writer.writerow([f"LATE-{quarter.label}-{number:03d}-{day}", ref,
                                 f"{quarter.year}-{month:02d}-{day}T10:00:00+01:00",
                                 f"{quarter.year}-{month:02d}-{day}T12:30:00+01:00", "17.250"])
        target = data_dir.inbox / partner_id / f"sessions_{quarter.label}_late.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(out.getvalue())
        os.utime(target, (stamp, stamp))
        written.append(target)
    return written
