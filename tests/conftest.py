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


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory, definitions) -> DataDir:
    """A small demo world (~80 customers, all of 2026) ingested and built for 2026-Q1..Q4, once per test
    session. Read-only: a test that changes data uses `demo_world_copy`."""
    from joulo_pipelines import cli
    from joulo_pipelines.lib.demo_data import generate_demo

    root = tmp_path_factory.mktemp("demo_world") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        data_dir = _point_env_at(root, monkeypatch)
        generate_demo(data_dir, scale=0.06)
        assert cli.main(["ingest"]) == 0
        for quarter in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"):
            assert cli.main(["run", "--quarter", quarter]) == 0
    return data_dir


@pytest.fixture
def in_demo_world(demo_world, monkeypatch) -> DataDir:
    """The shared demo world, with JOULO_DATA_DIR and DAGSTER_HOME pointing at it for this test."""
    _point_env_at_existing(demo_world.root, monkeypatch)
    return demo_world


@pytest.fixture
def demo_world_copy(demo_world, tmp_path, monkeypatch) -> DataDir:
    """A private copy of the demo world that a test may change; the env points at the copy."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(demo_world.root, root, symlinks=True)
    _point_env_at_existing(root, monkeypatch)
    return DataDir(root)


def _point_env_at_existing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
