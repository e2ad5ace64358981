"""A data dir's first dbt build starts from the project's parse (issue 18): dbt hashes the profile, whose
warehouse path is under the data dir, so a plain copy of the project's parse was always rejected ("profile
has changed") and every data dir paid a full parse. lib/dbt_manifest.seed_partial_parse rewrites that hash
for the data dir, and only when the profiles differ in the data dir alone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from joulo_pipelines.lib.dbt_manifest import PARTIAL_PARSE, ensure_manifest, seed_partial_parse, target_dir
from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR


def dbt_parse(target: Path, *flags: str) -> dict:
    """`dbt parse` into `target` with this process's environment: the manifest it wrote."""
    subprocess.run([str(DBT_EXECUTABLE), "parse", "--quiet", *flags, "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
                    str(target)], check=True, env=os.environ.copy())
    return json.loads((target / "manifest.json").read_text())


def comparable(manifest: dict) -> dict:
    """A manifest without what differs between two parses of the same files (when, by which invocation), nor
    the descriptions of singular tests (their patch from tests/singular/_singular__tests.yml): dbt 1.11's
    partial parse drops those when it re-parses a sources file, as here, where they name the data dir. Only
    the manifest's documentation: the tests and their SQL are the same."""
    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "created_at"}
        return [strip(item) for item in value] if isinstance(value, list) else value
    stripped = strip({key: value for key, value in manifest.items() if key != "metadata"})
    for node in stripped["nodes"].values():
        if node["resource_type"] == "test" and not node.get("test_metadata"):
            node.pop("description"), node.pop("patch_path")
    return stripped


@pytest.fixture
def data_dir_env(tmp_path, monkeypatch) -> Path:
    ensure_manifest()
    monkeypatch.setenv("JOULO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_a_data_dirs_first_parse_is_partial_and_equals_a_full_parse(data_dir_env):
    seeded = data_dir_env / "dbt_target"
    seed_partial_parse(seeded)

    manifest = dbt_parse(seeded)

    log = (seeded / "dbt.log").read_text()
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log
    # The files reading JOULO_DATA_DIR are parsed again with this data dir: the same as a full parse.
    assert comparable(manifest) == comparable(dbt_parse(data_dir_env / "full", "--no-partial-parse"))
    assert str(data_dir_env / "data" / "landing") in json.dumps(manifest["sources"])


def test_a_parse_made_with_another_profile_setting_is_left_for_dbt_to_reject(data_dir_env, monkeypatch):
    """Only the data dir may differ: another memory limit in the profile is a profile dbt must see changed."""
    project_parse = (target_dir() / PARTIAL_PARSE).read_bytes()
    seed_partial_parse(data_dir_env / "same_settings")
    # The data dir alone differs: its hash is written (so this test would see a seeding that did nothing).
    assert (data_dir_env / "same_settings" / PARTIAL_PARSE).read_bytes() != project_parse

    monkeypatch.setenv("JOULO_DUCKDB_MEMORY", "1GB")
    seed_partial_parse(data_dir_env / "dbt_target")

    assert (data_dir_env / "dbt_target" / PARTIAL_PARSE).read_bytes() == project_parse


def test_a_parse_dbt_no_longer_reads_like_this_is_copied_as_it_is(data_dir_env, monkeypatch):
    """If dbt's format changes, the copy is dbt's to judge (a full parse), never a crash of the build."""
    project_parse = data_dir_env / "project_target"
    project_parse.mkdir()
    (project_parse / PARTIAL_PARSE).write_bytes(b"\x93not what dbt writes")
    monkeypatch.setattr("joulo_pipelines.lib.dbt_manifest.target_dir", lambda: project_parse)

    seed_partial_parse(data_dir_env / "dbt_target")

    assert (data_dir_env / "dbt_target" / PARTIAL_PARSE).read_bytes() == b"\x93not what dbt writes"
