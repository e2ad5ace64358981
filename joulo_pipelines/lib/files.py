"""Writing an output file the way every export does: whole or not at all, and not at all when it already
holds these bytes, so that a rerun whose figures did not change (a late file that touched other customers)
keeps the file's bytes and its time, and whoever syncs or watches the folder sees no change."""

from __future__ import annotations

from pathlib import Path


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` to `path` through a temporary file, unless the file holds it already; whether it wrote."""
    if path.exists() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)
    return True
