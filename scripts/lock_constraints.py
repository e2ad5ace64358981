"""Write constraints.txt: every package joulo_pipelines[test] needs, at the version installed in this
environment (`make lock`, after `make install` and a test run show the environment works).

`make install` installs with `-c constraints.txt`, so a fresh machine gets the versions that were tested,
not whatever was released since. Only the project's dependency closure is written (not whatever else was
installed by hand) and never the project itself or a package installed from a local folder or file, which
a clean machine could not find on PyPI."""

from __future__ import annotations

import json
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "joulo_pipelines"
EXTRAS = ["test"]
HEADER = """\
# The whole dependency tree of joulo_pipelines[test], pinned: `make install` installs with `-c` this file.
# Written by `make lock` (scripts/lock_constraints.py) from a working environment; do not edit by hand.
"""


def _requirements(dist: metadata.Distribution, extras: set[str]) -> list[Requirement]:
    """The requirements of a distribution that apply here, with the extras asked for."""
    wanted = []
    for line in dist.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
            wanted.append(requirement)
    return wanted


def _from_local_source(dist: metadata.Distribution) -> bool:
    """Installed from a folder or a file (an editable install, a wheel on disk) rather than an index."""
    direct_url = dist.read_text("direct_url.json")
    return direct_url is not None and json.loads(direct_url).get("url", "").startswith("file:")


def _project_requirements(pyproject: Path) -> list[Requirement]:
    """The project's own, read from pyproject.toml: the installed project's metadata may be older."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = project["dependencies"] + [line for extra in EXTRAS for line in project["optional-dependencies"][extra]]
    return [Requirement(line) for line in lines]


def closure(pyproject: Path) -> dict[str, str]:
    """Name -> installed version of every distribution the project needs, walked from its requirements."""
    pinned: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = [(requirement.name, frozenset(requirement.extras)) for requirement in _project_requirements(pyproject)]
    while queue:
        name, extras = queue.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        dist = metadata.distribution(name)
        if _from_local_source(dist):
            sys.exit(f"{dist.metadata['Name']} is installed from a local source; install it from PyPI first")
        pinned[canonicalize_name(dist.metadata["Name"])] = dist.version
        queue.extend((requirement.name, frozenset(requirement.extras))
                     for requirement in _requirements(dist, set(extras)))
    return pinned


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt")
    pins = closure(Path("pyproject.toml"))
    out.write_text(HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    print(f"{out}: {len(pins)} packages pinned")


if __name__ == "__main__":
    main()
