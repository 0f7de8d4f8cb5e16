"""`make run` keeps going: the supervisor (olympus/supervisor.py) restarts a process that was
killed and leaves the others alone; a stop signal (Ctrl-C) stops them all. Real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from olympus.supervisor import Supervisor, read_procfile

BASE_DIR = Path(__file__).resolve().parents[3]


def sleeper(pid_file: Path) -> str:
    """A Procfile command that records its pid and waits to be stopped."""
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(300)"
    return f'exec {sys.executable} -c "{code}" {pid_file}'


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not alive either
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" not in status.read_text()


def recorded_pid(path: Path) -> int | None:
    text = path.read_text() if path.exists() else ""
    return int(text) if text else None


def test_a_killed_process_is_restarted_with_a_message_and_the_others_keep_running(tmp_path):
    # given: three processes under the supervisor
    messages = []
    files = {name: tmp_path / f"{name}.pid" for name in ("web", "worker", "beat")}
    supervisor = Supervisor({name: sleeper(path) for name, path in files.items()}, say=messages.append)
    supervisor.start_all()
    try:
        assert wait_until(lambda: all(recorded_pid(path) for path in files.values()))
        before = {name: recorded_pid(path) for name, path in files.items()}
        files["worker"].unlink()
        # when: the worker is killed (kill -9)
        os.kill(before["worker"], signal.SIGKILL)

        # then: it is started again, with a message saying so
        def restarted() -> bool:
            supervisor.check()
            return recorded_pid(files["worker"]) is not None

        assert wait_until(restarted), messages
        assert recorded_pid(files["worker"]) != before["worker"]
        assert any("worker was killed by signal 9; restarting" in message for message in messages), messages
        # and web and beat were never touched
        assert all(alive(before[name]) for name in ("web", "beat"))
        assert supervisor.managed["worker"].restarts == 1
        assert supervisor.managed["web"].restarts == supervisor.managed["beat"].restarts == 0
    finally:
        supervisor.stop_all(grace=10)
    # and stopping stops all of them
    assert not any(alive(recorded_pid(path)) for path in files.values())


def test_a_process_that_keeps_crashing_waits_longer_each_time(tmp_path):
    messages = []
    supervisor = Supervisor({"broken": "exit 3"}, say=messages.append)
    supervisor.start_all()
    try:

        def restarted_twice() -> bool:
            supervisor.check()
            return supervisor.managed["broken"].restarts >= 2

        assert wait_until(restarted_twice, timeout=30), messages
    finally:
        supervisor.stop_all(grace=5)
    waits = [message.split("restarting in ")[1].split(" s")[0] for message in messages if "restarting in" in message]
    assert waits[:2] == ["1", "2"], messages
    assert "exited with code 3" in messages[1]


def test_ctrl_c_stops_every_process_and_the_supervisor(tmp_path):
    # given: the supervisor running a Procfile as `make run` does
    files = {name: tmp_path / f"{name}.pid" for name in ("web", "worker")}
    procfile = tmp_path / "Procfile"
    procfile.write_text("".join(f"{name}: {sleeper(path)}\n" for name, path in files.items()))
    assert set(read_procfile(procfile)) == {"web", "worker"}
    supervisor = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "olympus.supervisor", str(procfile)],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(lambda: all(recorded_pid(path) for path in files.values()))
        pids = [recorded_pid(path) for path in files.values()]
        # when: Ctrl-C
        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    # then: it stopped cleanly and took every process with it
    assert supervisor.returncode == 0, output
    assert "SIGINT: stopping every process" in output
    assert not any(alive(pid) for pid in pids)


def test_what_a_killed_process_started_is_stopped_before_it_is_restarted(tmp_path):
    # given: a Procfile line whose shell starts the real program as a child (no exec)
    child_file = tmp_path / "child.pid"
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(300)"
    command = f'{sys.executable} -c "{code}" {child_file}; echo done'
    messages = []
    supervisor = Supervisor({"worker": command}, say=messages.append)
    supervisor.start_all()
    try:
        assert wait_until(lambda: recorded_pid(child_file) is not None)
        orphan = recorded_pid(child_file)
        child_file.unlink()
        # when: the shell (the process the supervisor started) is killed
        os.kill(supervisor.managed["worker"].process.pid, signal.SIGKILL)

        def restarted() -> bool:
            supervisor.check()
            return recorded_pid(child_file) is not None

        assert wait_until(restarted), messages
        # then: its child did not live on beside the new one
        assert wait_until(lambda: not alive(orphan), timeout=10)
    finally:
        supervisor.stop_all(grace=10)
