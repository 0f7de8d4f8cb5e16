"""Per-checkout development secrets, generated on first use and kept under ``.data/``.

Nothing in the repository signs anything valid: ``make run`` (and development settings)
take ``SECRET_KEY`` and the local Stripe's keys from ``.data/secrets.json``, created
once with random values (mode 0600) and reused after, so tokens and sessions survive
restarts of one checkout and are worthless anywhere else. Values set in the environment
(or ``.env``) win. Production never reads this file: it requires ``SECRET_KEY``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path

FILE_NAME = "secrets.json"


def _generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        # localstripe accepts any sk_ key; a random one keeps the demo's Stripe ours alone.
        "STRIPE_SECRET_KEY": f"sk_test_{secrets.token_hex(16)}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_urlsafe(32)}",
    }


def load_or_create(directory: Path | None = None) -> dict[str, str]:
    """The checkout's secrets: read from ``<data dir>/secrets.json``, or generated and stored there first."""
    if directory is None:
        from olympus.embedded import data_dir

        directory = data_dir()
    path = directory / FILE_NAME
    with contextlib.suppress(FileNotFoundError):
        stored = json.loads(path.read_text())
        generated = _generate()
        if set(generated) <= set(stored):
            return stored
        # A key added since the file was written: keep the old values, add the new ones.
        stored = {**generated, **stored}
        _write(path, stored, exclusive=False)
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    fresh = _generate()
    try:
        _write(path, fresh, exclusive=True)
    except FileExistsError:  # another process of this checkout wrote it first: use theirs
        return json.loads(path.read_text())
    return fresh


def _write(path: Path, values: dict[str, str], *, exclusive: bool) -> None:
    """Write ``values`` whole: readers never see a half-written file.

    The JSON goes to a private temporary file first; ``exclusive`` then links it into place
    only if no other process got there first (``FileExistsError``), otherwise it replaces.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
            json.dump(values, handle, indent=2)
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def export_to_environment() -> dict[str, str]:
    """Put ``SECRET_KEY`` in the environment for every process ``make run`` starts (the environment wins)."""
    values = load_or_create()
    os.environ.setdefault("SECRET_KEY", values["SECRET_KEY"])
    return values
