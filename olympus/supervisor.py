"""Keep the processes of ``make run`` going (issue 18).

Runs each Procfile entry in a process group of its own, prefixes its output
with its name, and restarts one that exits on its own (crash, ``kill -9``,
out-of-memory) with a message, waiting longer each time it keeps crashing, so
one dead worker no longer takes web, beat and the embedded servers with it.
Ctrl-C (SIGINT), SIGTERM or SIGHUP stop every process: SIGTERM to each group,
SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# A process that ran this long before it exited is restarted at once; a quicker exit doubles the wait.
STABLE_SECONDS = 30.0
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STOP_GRACE_SECONDS = 10.0


def read_procfile(path: Path) -> dict[str, str]:
    """``name: command`` lines, in order (comments and blank lines skipped)."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        entries[name.strip()] = command.strip()
    return entries


@dataclass
class Managed:
    name: str
    command: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = FIRST_DELAY
    restart_at: float | None = None


@dataclass
class Supervisor:
    commands: Mapping[str, str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    say: Callable[[str], None] = field(default=lambda text: print(text, flush=True))
    managed: dict[str, Managed] = field(default_factory=dict)
    stopping: bool = False
    _wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        width = max((len(name) for name in self.commands), default=0)
        self._width = max(width, 8)
        self.managed = {name: Managed(name, command) for name, command in self.commands.items()}

    # --- processes ------------------------------------------------------------------------

    def start(self, item: Managed) -> None:
        item.process = subprocess.Popen(  # noqa: S602 - Procfile commands are shell lines by definition
            item.command,
            shell=True,
            cwd=self.cwd,
            env=dict(self.env) if self.env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: signals reach its children too
            text=True,
            bufsize=1,
        )
        item.started_at = time.monotonic()
        item.restart_at = None
        self.say(f"{self._label(item.name)} started (pid {item.process.pid})")
        threading.Thread(target=self._forward, args=(item, item.process), daemon=True).start()

    def _label(self, name: str) -> str:
        return f"{name:<{self._width}} |"

    def _forward(self, item: Managed, process: subprocess.Popen) -> None:
        for line in process.stdout or ():
            self.say(f"{self._label(item.name)} {line.rstrip()}")
        self._wake.set()

    def start_all(self) -> None:
        for item in self.managed.values():
            self.start(item)

    def check(self) -> None:
        """Restart what exited on its own (after its back-off delay)."""
        now = time.monotonic()
        for item in self.managed.values():
            if self.stopping or item.process is None:
                continue
            code = item.process.poll()
            if code is None:
                continue
            if item.restart_at is None:
                # What the process started (a shell's celery, a server's workers) goes with it.
                self._signal(item, signal.SIGTERM)
                if now - item.started_at >= STABLE_SECONDS:
                    item.delay = FIRST_DELAY
                wait, item.delay = item.delay, min(item.delay * 2, MAX_DELAY)
                item.restart_at = now + wait
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                self.say(
                    f"{self._label(item.name)} {item.name} {how}; restarting in {wait:.0f} s "
                    "(the other processes keep running)"
                )
            elif now >= item.restart_at:
                self._signal(item, signal.SIGKILL)  # leftovers that ignored the SIGTERM
                item.restarts += 1
                self.start(item)

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to every process group (leaders that already exited may have left children),
        SIGKILL to any group still there after ``grace``."""
        self.stopping = True
        started = [item for item in self.managed.values() if item.process is not None]
        for item in started:
            self._signal(item, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for item in started:
            process = item.process
            assert process is not None  # noqa: S101 - `started` holds only started processes
            while self._group_alive(item) and time.monotonic() < deadline:
                process.poll()  # reap the leader so it does not count as alive
                time.sleep(0.05)
            if self._group_alive(item):
                self.say(f"{self._label(item.name)} did not stop in {grace:.0f} s; killing it")
                self._signal(item, signal.SIGKILL)
            process.wait(timeout=10)

    @staticmethod
    def _group_alive(item: Managed) -> bool:
        if item.process is None:
            return False
        try:
            os.killpg(item.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    @staticmethod
    def _signal(item: Managed, signum: int) -> None:
        if item.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(item.process.pid, signum)

    # --- the loop -------------------------------------------------------------------------

    def run(self, *, poll_seconds: float = 0.5) -> int:
        """Start everything, keep it running until a stop signal; 0 after a clean stop."""
        previous = {sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self.start_all()
            while not self.stopping:
                self._wake.wait(poll_seconds)
                self._wake.clear()
                self.check()
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _on_stop(self, signum: int, frame: object) -> None:
        if not self.stopping:
            self.say(f"{signal.Signals(signum).name}: stopping every process…")
        self.stopping = True
        self._wake.set()


if __name__ == "__main__":  # python -m olympus.supervisor Procfile
    sys.exit(Supervisor(read_procfile(Path(sys.argv[1]))).run())
