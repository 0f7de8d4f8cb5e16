"""The version every log line and span carries: the package's, plus the git commit when there is one.

Read from files only (``pyproject.toml`` and ``.git``), never by running git: importing the
settings starts nothing. ``SERVICE_VERSION`` (the image build can set it) overrides both.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

UNKNOWN = "0+unknown"


@functools.cache
def service_version(base_dir: Path) -> str:
    """``0.1.0`` from pyproject.toml (or the installed package), ``0.1.0+g<12 hex>`` inside a git checkout."""
    version = _package_version(base_dir)
    commit = git_commit(base_dir)
    return f"{version}+g{commit[:12]}" if commit else version


def _package_version(base_dir: Path) -> str:
    try:
        return str(tomllib.loads((base_dir / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    try:
        return metadata.version("olympus")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def git_commit(base_dir: Path) -> str | None:
    """The commit HEAD names, read from ``.git`` (a directory, or a worktree's ``gitdir:`` file)."""
    try:
        git = base_dir / ".git"
        if git.is_file():
            git = (base_dir / git.read_text().split("gitdir:", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        common = git / "commondir"
        roots = [git] + ([(git / common.read_text().strip()).resolve()] if common.is_file() else [])
        for root in roots:
            if (root / ref).is_file():
                return (root / ref).read_text().strip() or None
            packed = root / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(f" {ref}"):
                        return line.split(" ", 1)[0]
    except (OSError, IndexError):
        return None
    return None
