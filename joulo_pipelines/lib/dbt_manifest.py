"""Keep dbt's manifest current outside `dagster dev`, which parses it on its own."""

from __future__ import annotations

import contextvars
import os
import pprint
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR, REFERENCE_DIR, SOURCE_CHECKOUT, DataDir

PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's record of its parse, for the next one


def target_dir() -> Path:
    """Where dbt's parse of the project goes, the manifest the definitions are built from: beside the project in
    a source checkout (dbt's own commands, `make ui` and every data dir of the test suite share it); in the data
    dir's dbt target for an installed package, whose folder is not ours to write."""
    return DBT_PROJECT_DIR / "target" if SOURCE_CHECKOUT else DataDir.from_env().dbt_target


def manifest_path() -> Path:
    return target_dir() / "manifest.json"


def _newest_source_mtime() -> float:
    files = [p for root in (DBT_PROJECT_DIR, REFERENCE_DIR) for p in root.rglob("*")
             if p.is_file() and p.suffix in {".sql", ".yml", ".yaml", ".csv"} and "target" not in p.parts]
    return max((p.stat().st_mtime for p in files), default=0.0)


def ensure_manifest(force: bool = False) -> Path:
    target, manifest = target_dir(), manifest_path()
    if force or not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        subprocess.run(
            [str(DBT_EXECUTABLE), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)],
            check=True,
        )
    return manifest


def seed_partial_parse(target: Path) -> None:
    """A dbt target's first build starts from the project's parse, when there is one: dbt reuses it if
    nothing it depends on changed. Written here rather than copied by dagster-dbt, whose copy keeps the
    project file's mode, where a data dir's files are private (paths.keep_private)."""
    parse, own = target_dir() / PARTIAL_PARSE, target / PARTIAL_PARSE
    if parse.exists() and not own.exists():
        target.mkdir(parents=True, exist_ok=True)
        own.write_bytes(_for_this_warehouse(parse.read_bytes(), os.environ))


def _for_this_warehouse(saved: bytes, env: Mapping[str, str]) -> bytes:
    """The project's parse, as dbt would have recorded it with `env`'s data dir. dbt rejects a parse whose
    profile's connection info differs (it hashes it), and the warehouse's path in the profile is under
    JOULO_DATA_DIR, different in every data dir: without this, every data dir's first build parsed the whole
    project (~3.5 s CPU more). Only the profile's hash is rewritten, and only when the parse's own hash,
    recomputed with dbt's classes from the JOULO_DATA_DIR it recorded and otherwise this environment, is
    the one dbt stored: then the profiles differ in the data dir alone. The models read the data dir through
    env_var(), which dbt tracks per file and re-parses when it changes; nothing reads target.path. Anything
    else (other env vars, vars, project files) dbt still checks itself. If dbt's format or hashing changes,
    the parse is left as it is and dbt parses in full: slower, never wrong."""
    try:
        import msgpack  # with dbt's modules, imported only on a data dir's first build (~1.7 s CPU)
        from dbt.constants import DEFAULT_ENV_PLACEHOLDER

        manifest = msgpack.unpackb(saved, raw=False, strict_map_key=False)
        recorded = manifest["env_vars"]["JOULO_DATA_DIR"]
        parse_env = {name: value for name, value in env.items() if name != "JOULO_DATA_DIR"}
        if recorded != DEFAULT_ENV_PLACEHOLDER:  # dbt's mark of a variable unset, its default used
            parse_env["JOULO_DATA_DIR"] = recorded
        profile_hash = manifest["state_check"]["profile_hash"]
        if msgpack.packb(manifest) != saved or profile_hash["checksum"] != _profile_hash(parse_env):
            return saved
        profile_hash["checksum"] = _profile_hash(env)
        return msgpack.packb(manifest)
    except Exception:  # whatever dbt changed: its own full parse is the answer
        return saved


def _profile_hash(env: Mapping[str, str]) -> str:
    """The hash dbt keeps of the project's profile rendered in `env` (dbt/parser/manifest.py,
    build_manifest_state_check), with dbt's own classes."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.project import load_raw_project
    from dbt.config.renderer import ProfileRenderer
    from dbt.contracts.files import FileHash
    from dbt_common.context import set_invocation_context

    def rendered() -> str:
        set_invocation_context(env)  # what env_var() reads; in a copy of the context, not left behind
        renderer = ProfileRenderer({})
        name = renderer.render_value(load_raw_project(str(DBT_PROJECT_DIR))["profile"])
        target, profile = Profile.render_profile(read_profile(str(DBT_PROJECT_DIR))[name], name, None, renderer)
        profile.pop("threads", None)  # not a connection setting (Profile.from_raw_profile_info)
        credentials = Profile._credentials_from_profile(profile, name, target)
        return FileHash.from_contents(pprint.pformat(sorted(credentials.connection_info()))).checksum

    return contextvars.copy_context().run(rendered)


def describe_dbt_test(node: dict) -> str:
    """A sentence for one dbt test of the manifest (the Dagster check's description, the internal controls'
    row): its description, else what its generic test and arguments say, else the leading comment of a
    singular test's SQL."""
    meta = node.get("test_metadata") or {}
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k != "model"}
    if node.get("description"):
        text = node["description"]
    elif meta:
        arguments = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                              for k, v in sorted(kwargs.items()))
        text = f"dbt {meta['name']} ({arguments})"
    else:
        comment = re.findall(r"^\s*--\s?(.*)$", node.get("raw_code", "").split("\nselect", 1)[0], re.MULTILINE)
        text = " ".join(comment) or "dbt singular test"
    return text.strip()
