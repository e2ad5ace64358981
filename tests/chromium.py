"""Headless Chromium for the tests that look at what we hand to people: Debian's package, found on PATH.
A test that needs it fails without it, saying how to install it; it never skips."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed (no `chromium` on PATH): run scripts/install-test-deps.sh "
                    "(`make test` does)", pytrace=False)
    return found


def temp_dir() -> tempfile.TemporaryDirectory:
    """A TMPDIR of its own for one Chromium, removed with it: Chromium makes its singleton socket in a folder
    of TMPDIR and does not always remove it (each run of the suite left one in /dev/shm), and the path must
    be short enough for a socket (a test's folder is not)."""
    return tempfile.TemporaryDirectory(prefix="chromium-")


def run_chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`profile` is a fresh folder for this run's user data."""
    with temp_dir() as temp:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, text=True, check=True, env={**os.environ, "TMPDIR": temp})


def dump_dom(html: Path, profile: Path, *arguments: str) -> str:
    return run_chromium(profile, *arguments, "--dump-dom", html.as_uri()).stdout


def screenshot(html: Path, png: Path, profile: Path, size: str = "1280,2400") -> tuple[int, int]:
    run_chromium(profile, f"--screenshot={png}", f"--window-size={size}", html.as_uri())
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    return struct.unpack(">II", header[16:24])
