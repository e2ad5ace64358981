"""Per customer: the checks that need a maintained library rather than SQL (IBAN via schwifty) or that
must agree exactly with the Python used by the MID scan (EAN, postal code). Customers, not sessions: a
Python pass over them is cheap. No personal value leaves this model, only verdicts. has_xml_text: the
customer's booked text (name, address, customer_ref) holds only what XML 1.0 can, by the writers' own rule,
on one line (the booking's schema takes no line breaks in them).
Incremental: a build checks again only the customers whose checked values changed (checked_inputs, a hash
of them and of the rules' code and schwifty's version, differs from the row built) or that are new; a
customer no longer delivered loses its row. The same rows as checking every customer, at a cost that
follows the change."""

import hashlib
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from joulo_pipelines.lib import ean, xml_text
from joulo_pipelines.lib.eligibility import rules
from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    iban_problem,
    is_dutch_postal_code,
)
from joulo_pipelines.lib.xml_text import is_single_line_xml_text

# What the REV booking XML carries of a customer (connection_name is customer_name).
BOOKED_TEXT = ["customer_ref", "customer_name", "street", "house_number", "postal_code", "city"]


CHECKED = ["ean", "iban", *BOOKED_TEXT]
# The rules themselves: a change of their code or of schwifty's IBAN registry checks every customer again.
RULES = hashlib.sha256(b"".join(Path(module.__file__).read_bytes() for module in (rules, ean, xml_text))
                       + version("schwifty").encode()).hexdigest()


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key=["partner_id", "customer_ref"], on_schema_change="append_new_columns")
    # (its pre_hook drop_customers_gone is in the yml: no Jinja in a Python model)
    customers = dbt.ref("int_customers_latest").project(
        f"partner_id, {', '.join(CHECKED)}, hash({', '.join(CHECKED)}, '{RULES}') as checked_inputs")
    if dbt.is_incremental and "checked_inputs" in session.sql(f"select * from {dbt.this} limit 0").columns:
        customers = customers.query("customers", f"""
            select * from customers
            anti join {dbt.this} as built using (partner_id, customer_ref, checked_inputs)""")
    customers = customers.df()
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
        "checked_inputs": customers["checked_inputs"].astype("uint64"),
    })
