"""SEPA credit transfer initiation (ISO 20022 pain.001.001.09, or .03 by config), validated against the
official XSD before anyone can write it.

Written here rather than with `sepaxml`'s SepaTransfer because that class draws random message and payment
ids and stamps the wall clock, and has no ultimate debtor; we need byte-identical files on a rerun and the
partner as `UltmtDbtr` ("paid under your own name"). The XSDs are the ones `sepaxml` ships."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from importlib.resources import files

from text_unidecode import unidecode

from joulo_pipelines.lib.payouts.money import cents_to_eur
from joulo_pipelines.lib.payouts.settings import ClientFundsAccount
from joulo_pipelines.lib.xml_text import NotXmlText, check_xml_text

SCHEMAS = ("pain.001.001.09", "pain.001.001.03")
# The EPC's basic Latin character set; banks reject anything else in names and remittance text.
_NOT_SEPA_TEXT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class SepaValidationError(ValueError):
    pass


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount_cents: int
    creditor_name: str
    creditor_iban: str
    remittance: str
    # Whom it pays, for error messages only (partner and customer_ref, never a name or IBAN); not written.
    payee: str = ""


def sepa_text(text: str, limit: int) -> str:
    return _NOT_SEPA_TEXT.sub(" ", unidecode(text)).strip()[:limit] or "NOTPROVIDED"


@cache
def xml_schema(schema: str):
    import xmlschema  # heavy: loaded when a file is written, not when Dagster imports the definitions

    return xmlschema.XMLSchema(str(files("sepaxml") / "schemas" / f"{schema}.xsd"))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = check_xml_text(text, f"sepa_credit_transfer.xml, element {tag}")
    return element


def _party(parent: ET.Element, tag: str, name: str) -> None:
    _sub(_sub(parent, tag), "Nm", sepa_text(name, 70))


def _agent(parent: ET.Element, tag: str, bic: str | None, schema: str) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BICFI" if schema.endswith(".09") else "BIC", bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def credit_transfer(schema: str, message_id: str, created_at: datetime, debtor: ClientFundsAccount,
                    ultimate_debtor: str | None, execution_date: date, transfers: list[Transfer]) -> bytes:
    """The pain.001 document for one batch, validated; raises SepaValidationError naming what broke."""
    if schema not in SCHEMAS:
        raise SepaValidationError(f"SEPA schema {schema!r} is not supported; use one of {', '.join(SCHEMAS)}")
    if not transfers:
        raise SepaValidationError("a SEPA credit transfer needs at least one transaction")
    if any(t.amount_cents <= 0 for t in transfers):
        raise SepaValidationError("every SEPA transaction must be a positive amount")
    total = cents_to_eur(sum(t.amount_cents for t in transfers))
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{schema}"
    document = ET.Element("Document", {"xmlns": namespace})
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "NbOfTxs", str(len(transfers)))
    _sub(header, "CtrlSum", total)
    _party(header, "InitgPty", debtor.name)

    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", message_id)
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "BtchBookg", "true")
    _sub(payment, "NbOfTxs", str(len(transfers)))
    _sub(payment, "CtrlSum", total)
    _sub(_sub(_sub(payment, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    when = _sub(payment, "ReqdExctnDt", execution_date.isoformat() if schema.endswith(".03") else None)
    if schema.endswith(".09"):
        _sub(when, "Dt", execution_date.isoformat())
    _party(payment, "Dbtr", debtor.name)
    _sub(_sub(_sub(payment, "DbtrAcct"), "Id"), "IBAN", debtor.iban)
    _agent(payment, "DbtrAgt", debtor.bic, schema)
    if ultimate_debtor:
        _party(payment, "UltmtDbtr", ultimate_debtor)
    _sub(payment, "ChrgBr", "SLEV")
    for transfer in transfers:
        try:
            _transaction(payment, transfer)
        except NotXmlText as exc:
            raise SepaValidationError(f"{transfer.payee or 'transfer ' + ascii(transfer.end_to_end_id)}: {exc}") from None

    ET.indent(document)
    content = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(document, encoding="utf-8") + b"\n"
    validate(content, schema)
    return content


def _transaction(payment: ET.Element, transfer: Transfer) -> None:
    transaction = _sub(payment, "CdtTrfTxInf")
    _sub(_sub(transaction, "PmtId"), "EndToEndId", transfer.end_to_end_id)
    _sub(_sub(transaction, "Amt"), "InstdAmt", cents_to_eur(transfer.amount_cents), Ccy="EUR")
    _party(transaction, "Cdtr", transfer.creditor_name)
    _sub(_sub(_sub(transaction, "CdtrAcct"), "Id"), "IBAN", transfer.creditor_iban)
    _sub(_sub(transaction, "RmtInf"), "Ustrd", sepa_text(transfer.remittance, 140))


def validate(content: bytes, schema: str) -> None:
    errors = list(xml_schema(schema).iter_errors(content.decode("utf-8")))
    if errors:
        first = errors[0]
        raise SepaValidationError(f"SEPA {schema} file does not validate against the XSD "
                                  f"({len(errors)} error(s)); first at {first.path}: {first.reason}")
