"""pandera models of the frames eligibility reads and writes: customers, charge points, the eligibility output.

Used by the Dagster asset checks (joulo_pipelines/defs/eligibility/checks.py): validated lazily so every
failing rule is counted, and summarised as counts per rule, never the failing values (EANs, postal codes
and references are enough to find a home). Only non-personal columns are read: no names, emails, IBANs.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from joulo_pipelines.lib.eligibility.rules import ean_problem, is_dutch_postal_code

ELIGIBILITY_STATUSES = ["eligible", "action_needed", "not_eligible"]


class CustomerModel(pa.DataFrameModel):
    partner_id: Series[str]
    customer_ref: Series[str]
    ean: Series[str] = pa.Field(str_matches=r"^\d{18}$")
    postal_code: Series[str] = pa.Field(nullable=True)
    mandate_valid_from: Series[pd.Timestamp]
    mandate_valid_until: Series[pd.Timestamp]

    @pa.check("ean", name="ean_check_digit_and_871_prefix")
    def _ean_is_dutch_and_valid(cls, ean: Series[str]) -> Series[bool]:
        return ean.map(lambda code: ean_problem(code) is None)

    @pa.check("postal_code", name="dutch_postal_code")
    def _postal_code_is_dutch(cls, postal_code: Series[str]) -> Series[bool]:
        return postal_code.map(is_dutch_postal_code)

    @pa.dataframe_check(name="mandate_whole_calendar_years")
    def _mandate_in_whole_years(cls, df: pd.DataFrame) -> Series[bool]:
        start, end = df["mandate_valid_from"], df["mandate_valid_until"]
        return (start.dt.month == 1) & (start.dt.day == 1) & (end.dt.month == 12) & (end.dt.day == 31)

    class Config:
        strict = True
        coerce = True
        unique = ["partner_id", "customer_ref"]


class ChargePointModel(pa.DataFrameModel):
    partner_id: Series[str]
    charge_point_ref: Series[str]
    customer_ref: Series[str]
    brand: Series[str]
    model: Series[str]
    meter_serial: Series[str] = pa.Field(nullable=False)
    mid_certificate: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
        unique = ["partner_id", "charge_point_ref"]


class EligibilityModel(pa.DataFrameModel):
    """Invariants of marts.fct_charge_point_eligibility: a violation means a bug, not messy partner data."""

    partner_id: Series[str]
    charge_point_ref: Series[str]
    quarter_start: Series[pd.Timestamp]
    is_eligible: Series[bool]
    eligibility_status: Series[str] = pa.Field(isin=ELIGIBILITY_STATUSES)
    reasons: Series[str] = pa.Field(nullable=True)
    delivery_period_start: Series[pd.Timestamp] = pa.Field(nullable=True)
    delivery_period_end: Series[pd.Timestamp] = pa.Field(nullable=True)
    kwh: Series[float]
    eligible_kwh: Series[float] = pa.Field(ge=0)

    @pa.dataframe_check(name="eligible_exactly_when_no_reason")
    def _eligible_without_reasons(cls, df: pd.DataFrame) -> Series[bool]:
        return df["is_eligible"] == df["reasons"].isna()

    @pa.dataframe_check(name="no_kwh_booked_for_an_ineligible_charge_point")
    def _ineligible_books_nothing(cls, df: pd.DataFrame) -> Series[bool]:
        return df["is_eligible"] | (df["eligible_kwh"] == 0)

    @pa.dataframe_check(name="eligible_kwh_within_delivered_kwh")
    def _eligible_within_delivered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["eligible_kwh"] <= df["kwh"]

    @pa.dataframe_check(name="delivery_period_inside_the_quarter")
    def _period_inside_quarter(cls, df: pd.DataFrame) -> Series[bool]:
        inside = (df["delivery_period_start"] >= df["quarter_start"]) & (
            df["delivery_period_end"] < df["quarter_start"] + pd.DateOffset(months=3)) & (
            df["delivery_period_start"] <= df["delivery_period_end"])
        return ~df["is_eligible"] | inside

    class Config:
        strict = "filter"
        coerce = True
        unique = ["partner_id", "charge_point_ref", "quarter_start"]


def failing_rows_by_rule(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> dict[str, int]:
    """Validate every rule (lazily) and count the failing rows per rule: what may go in Dagster metadata."""
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        # A row-level check reports one case per column of the failing row: count rows, not cases.
        row_level = cases["schema_context"] == "DataFrameSchema"
        rule = cases["check"].astype(str).where(row_level, cases["column"].astype(str) + ": " + cases["check"].astype(str))
        counted = cases.assign(rule=rule, row=cases["index"].fillna(-1)).groupby("rule")["row"].nunique()
        return {name: int(count) for name, count in sorted(counted.items())}
    return {}
