"""Alerts for the people on duty: a line in the alerts log always, an email when SMTP is configured.

Alert text comes from error messages, which can quote data; emails and IBANs are masked before the text
goes anywhere (a log file is read by more people than the customer register).
"""

from __future__ import annotations

import json
import re
import smtplib
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Country code, check digits, then 11-30 letters and digits, optionally in groups of four (as printed).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
MESSAGE_LIMIT = 500


def redact(text: str) -> str:
    """The text with every email address and IBAN replaced by a placeholder."""
    return _IBAN.sub("<iban>", _EMAIL.sub("<email>", text))


@dataclass(frozen=True)
class Alert:
    raised_at: str
    kind: str
    job: str
    run_id: str
    partition: str | None
    failed_steps: list[str]
    message: str

    @classmethod
    def run_failed(cls, *, raised_at: str, job: str, run_id: str, partition: str | None,
                   failed_steps: list[str], message: str) -> "Alert":
        # Masked before it is cut short, so no half address slips past the pattern.
        text = redact(message.strip())[:MESSAGE_LIMIT] if message.strip() else "no error message"
        return cls(raised_at=raised_at, kind="run_failure", job=job, run_id=run_id, partition=partition,
                   failed_steps=sorted(failed_steps), message=text)

    @property
    def subject(self) -> str:
        where = f" ({self.partition})" if self.partition else ""
        return f"[joulo] {self.job}{where} failed"

    @property
    def body(self) -> str:
        return "\n".join([
            f"Run {self.run_id} of {self.job} failed at {self.raised_at}.",
            f"Partition: {self.partition or '-'}",
            f"Failed steps: {', '.join(self.failed_steps) or '-'}",
            f"Error: {self.message}",
            "",
            "Open the run in the Dagster UI for the full logs; rerun it from there once the cause is fixed.",
        ])


def append_to_log(log_file: Path, alert: Alert) -> None:
    """One JSON object per line, appended: the log is the record of every alert, emailed or not."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(alert), sort_keys=True) + "\n")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: list[str]
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def send_email(settings: SmtpSettings, alert: Alert) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Subject"] = alert.subject
    message.set_content(alert.body)
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
