"""The Dagster instance config: deploy/dagster.yaml, installed into $DAGSTER_HOME with Postgres storage
when the environment names a Postgres server.

The storage block only ever names environment variables (`{env: DAGSTER_PG_URL}`), so the password
stays in the environment and out of every file. Run `python -m joulo_pipelines.lib.dagster_home` (what
`make ui` does) or any `joulo` command to (re)write it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from joulo_pipelines.lib.paths import DEPLOY_DIR, DataDir

TEMPLATE = DEPLOY_DIR / "dagster.yaml"
MARKER = "# Written by joulo from deploy/dagster.yaml. Delete this line to keep your own edits.\n"
# The variable names of Dagster's own deployment guides, so an existing Dagster setup carries over.
PG_FIELDS = {
    "username": "DAGSTER_PG_USERNAME",
    "password": "DAGSTER_PG_PASSWORD",
    "hostname": "DAGSTER_PG_HOST",
    "db_name": "DAGSTER_PG_DB",
    "port": "DAGSTER_PG_PORT",
}
REQUIRED_PG_FIELDS = ("username", "hostname", "db_name")


def storage_config(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Postgres storage for runs, event logs and schedules when DAGSTER_PG_URL or DAGSTER_PG_HOST is
    set; None keeps Dagster's local default."""
    if env.get("DAGSTER_PG_URL"):
        return {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    if not env.get("DAGSTER_PG_HOST"):
        return None
    missing = [PG_FIELDS[field] for field in REQUIRED_PG_FIELDS if not env.get(PG_FIELDS[field])]
    if missing:
        raise ValueError(
            f"DAGSTER_PG_HOST is set but {', '.join(missing)} is not: set all of DAGSTER_PG_HOST, "
            "DAGSTER_PG_USERNAME, DAGSTER_PG_DB (and DAGSTER_PG_PASSWORD, DAGSTER_PG_PORT if needed), "
            "or one DAGSTER_PG_URL=postgresql://user:password@host:5432/db"
        )
    db = {field: {"env": name} for field, name in PG_FIELDS.items() if env.get(name)}
    return {"postgres": {"postgres_db": db}}


def render(env: Mapping[str, str]) -> str:
    config = yaml.safe_load(TEMPLATE.read_text())
    storage = storage_config(env)
    if storage:
        config["storage"] = storage
    return MARKER + yaml.safe_dump(config, sort_keys=False)


def install(home: Path, env: Mapping[str, str] | None = None) -> Path:
    """Write home/dagster.yaml from the template for this environment. A dagster.yaml someone wrote by
    hand (without our first line) is theirs and left alone."""
    env = os.environ if env is None else env
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if target.exists() and not target.read_text().startswith(MARKER):
        return target
    text = render(env)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def dagster_home(env: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME, or <data dir>/dagster_home when it is unset (as the README promises)."""
    env = os.environ if env is None else env
    return Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else DataDir.from_env().dagster_home


if __name__ == "__main__":
    try:
        print(install(dagster_home()))
    except ValueError as exc:
        sys.exit(f"dagster.yaml: {exc}")
