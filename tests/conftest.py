"""Shared fixtures: the dbt manifest and the Dagster definitions are built once per test session; each
test that needs a data dir builds its own under tmp_path and points JOULO_DATA_DIR at it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from joulo_pipelines.lib.paths import DataDir

PARTNER_DEFAULTS = {
    "payout_model": "direct",
    "service_fee_pct": "15",
    "partner_share_pct": "5",
    "source": {"type": "files"},
}


@pytest.fixture(scope="session")
def definitions():
    from joulo_pipelines.lib.dbt_manifest import ensure_manifest

    ensure_manifest()
    from joulo_pipelines.definitions import defs

    return defs()


def make_data_dir(root: Path, partner_ids: list[str]) -> DataDir:
    data_dir = DataDir(root).ensure()
    partners = [
        {"id": pid, "name": f"{pid.title()} B.V.",
         "brand": {"display_name": pid.title(), "sender_email": f"payouts@{pid}.example"}, **PARTNER_DEFAULTS}
        for pid in partner_ids
    ]
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": partners}, sort_keys=False))
    return data_dir


def drop(data_dir: DataDir, partner_id: str, name: str, content: str | bytes, mtime: str | None = None) -> Path:
    """Drop a file in a partner's inbox; `mtime` (ISO, with offset) is when the partner delivered it."""
    from datetime import datetime

    target = data_dir.inbox / partner_id / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    if mtime:
        stamp = datetime.fromisoformat(mtime).timestamp()
        os.utime(target, (stamp, stamp))
    return target


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> DataDir:
    """A fresh data dir with partners alpha and beta; JOULO_DATA_DIR and DAGSTER_HOME point into it."""
    return _point_env_at(tmp_path / "data", monkeypatch)


@pytest.fixture(scope="module")
def module_data_dir(tmp_path_factory):
    """The same as data_dir, shared by the tests of one module (for an expensive built warehouse)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _point_env_at(tmp_path_factory.mktemp("module") / "data", monkeypatch)


def _point_env_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    return make_data_dir(root, ["alpha", "beta"])
