"""Helpers shared by the weight-conversion scripts (``convert_*.py``)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path


def npm_pack(package: str, workdir: Path) -> Path:
    """Download ``package`` with ``npm pack`` into ``workdir``; return the tarball."""
    out = subprocess.run(
        ["npm", "pack", package],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    return workdir / out.stdout.strip().splitlines()[-1]


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    """Return the bytes of ``package/NAME`` in an npm tarball."""
    member = tar.extractfile(f"package/{name}")
    if member is None:
        raise FileNotFoundError(f"{name} not in the tarball")
    return member.read()
