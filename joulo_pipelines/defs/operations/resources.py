import os
from pathlib import Path

import dagster as dg

from joulo_pipelines.lib.alerts import SmtpSettings


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: always a line in `log_file` (default {data_dir}/alerts/alerts.log), and an email
    when `smtp_host` and `mail_to` are set."""

    log_file: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "joulo-alerts@localhost"
    mail_to: str | None = None
    """Comma-separated recipients."""

    def log_path(self, data_dir_root: Path) -> Path:
        return Path(self.log_file) if self.log_file else data_dir_root / "alerts" / "alerts.log"

    @property
    def smtp(self) -> SmtpSettings | None:
        if not (self.smtp_host and self.mail_to):
            return None
        return SmtpSettings(
            host=self.smtp_host, port=self.smtp_port, sender=self.mail_from,
            recipients=[address.strip() for address in self.mail_to.split(",") if address.strip()],
            username=self.smtp_username, password=self.smtp_password, starttls=self.smtp_starttls,
        )


def _from_env(name: str) -> dg.EnvVar | None:
    # Only variables that are set become config: an EnvVar that is unset fails every run using the
    # resource, and email is optional. The UI shows the variable's name, never its value.
    return dg.EnvVar(name) if os.environ.get(name) else None


@dg.definitions
def operations_resources() -> dg.Definitions:
    settings = {
        "log_file": _from_env("JOULO_ALERTS_LOG"),
        "smtp_host": _from_env("JOULO_SMTP_HOST"),
        "smtp_port": dg.EnvVar.int("JOULO_SMTP_PORT") if os.environ.get("JOULO_SMTP_PORT") else None,
        "smtp_username": _from_env("JOULO_SMTP_USERNAME"),
        "smtp_password": _from_env("JOULO_SMTP_PASSWORD"),
        "smtp_starttls": os.environ.get("JOULO_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        "mail_from": _from_env("JOULO_ALERTS_FROM"),
        "mail_to": _from_env("JOULO_ALERTS_TO"),
    }
    return dg.Definitions(
        resources={"alerts": AlertsResource(**{key: value for key, value in settings.items() if value is not None})}
    )
