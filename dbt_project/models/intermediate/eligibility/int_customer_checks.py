"""Per customer: the checks that need a maintained library rather than SQL (IBAN via schwifty) or that
must agree exactly with the Python used by the MID scan (EAN, postal code). Customers, not sessions: a
Python pass over them is cheap. No personal value leaves this model, only verdicts. has_xml_text: the
customer's booked text (name, address, customer_ref) holds only what XML 1.0 can, by the writers' own rule,
on one line (the booking's schema takes no line breaks in them)."""

import pandas as pd

from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    iban_problem,
    is_dutch_postal_code,
)
from joulo_pipelines.lib.xml_text import is_single_line_xml_text

# What the REV booking XML carries of a customer (connection_name is customer_name).
BOOKED_TEXT = ["customer_ref", "customer_name", "street", "house_number", "postal_code", "city"]


def model(dbt, session):
    dbt.config(materialized="table")
    customers = dbt.ref("int_customers_latest").project(
        "partner_id, ean, iban, " + ", ".join(BOOKED_TEXT)).df()
    ean_problems = customers["ean"].map(ean_problem)
    iban_problems = customers["iban"].map(iban_problem)
    return pd.DataFrame({
        "partner_id": customers["partner_id"].astype("string"),
        "customer_ref": customers["customer_ref"].astype("string"),
        "has_valid_ean": ean_problems.isna().astype(bool),
        "ean_problem": ean_problems.astype("string"),
        "has_dutch_postal_code": customers["postal_code"].map(is_dutch_postal_code).astype(bool),
        "has_valid_iban": iban_problems.isna().astype(bool),
        "iban_problem": iban_problems.astype("string"),
        "has_xml_text": customers[BOOKED_TEXT].map(lambda v: is_single_line_xml_text(v) if isinstance(v, str) else True)
                                              .all(axis=1).astype(bool),
    })
