"""Eligibility for people: per partner counts and reasons (`joulo status`, the demo) and the onboarded
partners' MID scan frames, read from marts.fct_charge_point_eligibility."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pandas as pd

from joulo_pipelines.lib.eligibility.mid_scan import CSV_COLUMNS, group_for
from joulo_pipelines.lib.partners import Brand, load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.tables import print_table
from joulo_pipelines.lib.warehouse import connect, has_table


def _has_eligibility(con) -> bool:
    return has_table(con, "marts", "fct_charge_point_eligibility")


def eligibility_by_partner(data_dir: DataDir) -> list[tuple]:
    """Per partner, in the latest quarter built: (quarter, partner, charge points, eligible, after an action,
    not eligible, the reasons with how many charge points each)."""
    if not data_dir.warehouse.exists():
        return []
    with connect(data_dir, read_only=True) as con:
        if not _has_eligibility(con):
            return []
        return con.execute("""
            with latest as (
                select * from marts.fct_charge_point_eligibility
                where quarter_start = (select max(quarter_start) from marts.fct_charge_point_eligibility)
            ),
            reason_counts as (
                select partner_id, reason, count(*) as charge_points
                from (select partner_id, unnest(string_split(reasons, ';')) as reason from latest)
                group by partner_id, reason
            ),
            reason_text as (
                select partner_id, string_agg(reason || ' ' || charge_points, ', '
                    order by charge_points desc, reason) as reasons
                from reason_counts group by partner_id
            )
            select strftime(any_value(latest.quarter_start), '%Y-%m-%d'), latest.partner_id, count(*),
                   count(*) filter (where eligibility_status = 'eligible'),
                   count(*) filter (where eligibility_status = 'action_needed'),
                   count(*) filter (where eligibility_status = 'not_eligible'),
                   coalesce(any_value(reason_text.reasons), '')
            from latest left join reason_text using (partner_id)
            group by latest.partner_id order by latest.partner_id
        """).fetchall()


def partner_scan_frames(data_dir: DataDir, quarter: Quarter) -> Iterator[tuple[str, Brand, pd.DataFrame]]:
    """(partner id, brand, scan frame) per onboarded partner; annual kWh is the quarter's times four. An
    onboarded partner's missing meter serial is a reason (meter_serial_missing), not an onboarding check."""
    registry = load_registry(data_dir.partners_file)
    with connect(data_dir, read_only=True) as con:
        if not _has_eligibility(con):
            return
        frame = con.execute("""
            select partner_id, charge_point_ref, customer_ref, brand, model, mid_status,
                   eligibility_status as status, coalesce(reasons, '') as reasons, coalesce(actions, '') as actions,
                   '' as to_check_at_onboarding,
                   cast(kwh * 4 as decimal(18, 3)) as annual_kwh, 'sessions (quarter x 4)' as kwh_basis
            from marts.fct_charge_point_eligibility
            where quarter_start = ?
            order by partner_id, charge_point_ref
        """, [quarter.start]).df()
    # the group of each distinct status and reasons once (there are few), the rows split by partner in one pass
    pairs = list(zip(frame["status"], frame["reasons"]))
    groups = {pair: group_for(*pair) for pair in set(pairs)}
    frame["group"] = [groups[pair] for pair in pairs]
    by_partner = dict(tuple(frame.groupby("partner_id", sort=False)))
    for partner in registry.partners:
        if partner.id in by_partner:
            yield partner.id, partner.brand, by_partner[partner.id][CSV_COLUMNS].reset_index(drop=True)


def print_eligibility(data_dir: DataDir) -> None:
    """The `joulo status` section: per partner how many charge points may be booked, and why not the rest."""
    rows = eligibility_by_partner(data_dir)
    if rows:
        print(f"\nEligibility in {Quarter.parse(rows[0][0]).label} (marts.fct_charge_point_eligibility):")
        print_table(["partner", "charge points", "eligible", "after an action", "not eligible"],
                    [row[1:-1] for row in rows])
        # Below the table, wrapped: a partner can have a dozen reasons, too wide for a column on a screen.
        print("reasons (charge points; what each means: data/reference/eligibility_reasons.csv):")
        for row in rows:  # a reason and its count stay on one line (a no-break space while wrapping)
            reasons = ", ".join(reason.replace(" ", "\xa0") for reason in row[-1].split(", ")) if row[-1] else "none"
            print(textwrap.fill(reasons, width=100, initial_indent=f"  {row[1]}: ", subsequent_indent="    ",
                                break_on_hyphens=False).replace("\xa0", " "))
