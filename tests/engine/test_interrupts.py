"""Ctrl-C and SIGTERM during a Pulumi run: the CLI saves its state and releases its lock.

No SDK mocking: a stand-in `pulumi` (tests/support/standin/pulumi) behaves like the real CLI on
SIGINT and on a closed pipe, and a driver (tests/support/standin/driver.py) runs one `pulumi up`
through a PulumiCommand in its own process, since signals go to a process's main thread.
The driver runs in its own session: `os.killpg` on it is a terminal's Ctrl-C.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pulumi.automation import CommandError, ConcurrentUpdateError, PulumiCommand

from provisioner.cli.errors import terminate_as_interrupt
from provisioner.engine.pulumi import cli as pulumi_cli
from provisioner.engine.pulumi import process as pulumi_process
from provisioner.engine.pulumi.process import GracefulPulumiCommand

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and sessions")

STANDIN = Path(__file__).parents[1] / "support" / "standin"
TIMEOUT = 20  # no hung CLI or driver can hang the test run
NO_TRACEBACK = ("Traceback", "ValueError", "Exception in thread")


@pytest.fixture
def root(tmp_path) -> Path:
    """A Pulumi "installation" whose bin/pulumi is the stand-in, run by this interpreter."""
    binary = tmp_path / "root" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    body = (STANDIN / "pulumi").read_text().split("\n", 1)[1]
    binary.write_text(f"#!{sys.executable}\n{body}")
    binary.chmod(0o755)
    (tmp_path / "cwd").mkdir()
    return binary.parent.parent


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.01)


def standin_gone(state: Path) -> bool:
    """The stand-in process has exited (a zombie counts: its reaper is not ours)."""
    try:
        stat = Path(f"/proc/{(state / 'pid').read_text()}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class Driver:
    """tests/support/standin/driver.py running `pulumi up` against the stand-in, signalled from here."""

    def __init__(self, mode: str, root: Path, hard_stop: float | None = None, **env: str):
        self.state = root.parent / "state"
        args = [sys.executable, str(STANDIN / "driver.py"), mode, str(root), str(root.parent / "cwd"), str(self.state)]
        self.process = subprocess.Popen(
            args + ([str(hard_stop)] if hard_stop is not None else []),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, **env},
        )
        wait_until(lambda: (self.state / "lock").exists() or self.process.poll() is not None)
        time.sleep(0.3)  # a few steps in
        self.signalled = 0.0
        self.err_read = ""

    def wait_for_stderr(self, text: str) -> None:
        """Until the driver has said `text` on stderr (as a person would wait to read it)."""
        while text not in self.err_read:
            ready, _, _ = select.select([self.process.stderr], [], [], 10)
            assert ready and self.process.poll() is None, f"no {text!r} on stderr"
            self.err_read += os.read(self.process.stderr.fileno(), 65536).decode()  # unbuffered: communicate() reads the rest

    def log(self) -> str:
        return (self.state / "log").read_text()

    def ctrl_c(self) -> None:
        """A terminal's Ctrl-C: SIGINT to the driver's whole process group."""
        self.signalled = time.time()
        os.killpg(self.process.pid, signal.SIGINT)

    def kill(self, signum: int) -> None:
        """`kill -SIG pid`: the driver only."""
        self.signalled = time.time()
        os.kill(self.process.pid, signum)

    def finish(self) -> tuple[int, str, str, float]:
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        return self.process.returncode, out, self.err_read + err, time.time() - self.signalled


def assert_stopped_gracefully(driver: Driver, rc: int, out: str, err: str) -> None:
    assert rc == 130 and "INTERRUPTED" in out, out + err
    log = driver.log()
    assert log.count("SIGINT") == 1, log  # forwarded once; the terminal's reached only the driver
    assert "exit 255 (cancelled)" in log, log
    assert (driver.state / "checkpoint").exists() and not (driver.state / "lock").exists()
    # It kept reading: the CLI's lines after the interrupt reached on_output / on_error.
    assert "out: ^C received; cancelling." in out and "err: error: update canceled" in out
    assert any(line.startswith("out: step") and line.endswith("created") for line in out.splitlines())
    assert err.count(pulumi_process.message("graceful")) == 1, err
    assert "recipe repair" not in err
    assert not [word for word in NO_TRACEBACK if word in err], err


@pytest.mark.parametrize("signal_it", ["ctrl_c", "sigterm"])
def test_ctrl_c_or_sigterm_lets_pulumi_save_its_state_and_release_the_lock(root, signal_it):
    """SIGTERM takes the same path as a terminal's Ctrl-C (the CLI turns it into KeyboardInterrupt)."""
    driver = Driver("graceful", root)
    if signal_it == "ctrl_c":
        driver.ctrl_c()
    else:
        driver.kill(signal.SIGTERM)
    rc, out, err, elapsed = driver.finish()
    assert_stopped_gracefully(driver, rc, out, err)
    assert elapsed < 5
    print(f"{signal_it} to exit: {elapsed:.2f}s")


def test_second_ctrl_c_stops_at_once_and_says_repair_may_be_needed(root):
    driver = Driver("graceful", root)
    driver.ctrl_c()
    driver.wait_for_stderr(pulumi_process.message("graceful"))
    assert "SIGINT 1" in driver.log()
    driver.ctrl_c()
    rc, out, err, elapsed = driver.finish()
    assert rc == 130 and "INTERRUPTED" in out, out + err
    log = driver.log()
    assert "SIGINT 2" in log and "exit 255 (terminated at once)" in log, log
    assert (driver.state / "lock").exists() and not (driver.state / "checkpoint").exists()
    assert pulumi_process.message("graceful") in err
    assert "stopped at once" in err and "`recipe repair ml-dev --unlock`" in err, err  # the CLI's hook names the stack
    assert not [word for word in NO_TRACEBACK if word in err], err
    assert elapsed < 3
    print(f"second Ctrl-C to exit: {elapsed:.2f}s")
    # What the next run meets: the lock that `recipe repair --unlock` removes.
    with pytest.raises(ConcurrentUpdateError):
        GracefulPulumiCommand(root=str(root)).run(["up"], str(root.parent / "cwd"), {"STANDIN_STATE": str(driver.state)})


def test_a_cli_that_ignores_sigint_is_killed_after_a_bounded_wait(root):
    driver = Driver("graceful", root, hard_stop=0.5, STANDIN_IGNORE_SIGINT="1", STANDIN_STEPS="1000")
    driver.ctrl_c()
    driver.wait_for_stderr(pulumi_process.message("graceful"))
    time.sleep(0.5)  # it keeps going: the driver keeps waiting
    assert driver.process.poll() is None and not standin_gone(driver.state)
    driver.ctrl_c()
    rc, out, err, elapsed = driver.finish()
    assert rc == 130 and "INTERRUPTED" in out, out + err
    wait_until(lambda: standin_gone(driver.state), 5)  # SIGKILLed
    assert (driver.state / "lock").exists() and "exit" not in driver.log().split("locked", 1)[1]
    assert "`recipe repair ml-dev --unlock`" in err and not [w for w in NO_TRACEBACK if w in err], err
    assert 0.5 <= elapsed < 3
    print(f"second Ctrl-C to exit, CLI ignoring SIGINT, 0.5s grace: {elapsed:.2f}s")


def test_the_plain_sdk_leaves_the_lock_under_the_same_sigint(root):
    """The bug, reproduced: the SDK closes the pipes and returns, the CLI dies of SIGPIPE holding the lock.

    `kill -INT` to recipe alone (the CLI is not signalled) fails every time. With a terminal's
    Ctrl-C the CLI gets SIGINT too, and the outcome is a race between the SDK closing the pipes
    and the CLI's next write (the lock stayed in 7 of 10 runs), so it is not tested here.
    """
    driver = Driver("sdk", root)
    driver.kill(signal.SIGINT)
    rc, out, err, _ = driver.finish()
    assert rc == 130 and "INTERRUPTED" in out
    wait_until(lambda: standin_gone(driver.state), 5)
    log = driver.log()
    assert "SIGINT" not in log and "exit" not in log.split("locked", 1)[1], log  # killed by SIGPIPE
    assert (driver.state / "lock").exists() and not (driver.state / "checkpoint").exists()
    assert "ValueError: I/O operation on closed file" in err  # the tracebacks of the issue


def run_both(root: Path, args: list[str], **env: str):
    """The same command through the SDK's PulumiCommand and through ours: (result or error, lines, args) each."""
    outcomes = []
    for command_class in (PulumiCommand, GracefulPulumiCommand):
        lines: list[str] = []
        argv = list(args)
        state = root.parent / f"state-{command_class.__name__}"
        env_ = {"STANDIN_STATE": str(state), "STANDIN_ECHO": "hello", "STANDIN_STEPS": "3", **env}
        try:
            outcome = command_class(root=str(root)).run(argv, str(root.parent / "cwd"), env_,
                                                        on_output=lambda l, lines=lines: lines.append("out " + l),
                                                        on_error=lambda l, lines=lines: lines.append("err " + l))
        except CommandError as exc:
            outcome = exc
        outcomes.append((outcome, lines, argv))
    return outcomes


def test_an_uninterrupted_run_is_the_sdks(root):
    (sdk, sdk_lines, sdk_args), (ours, lines, args) = run_both(root, ["up", "--yes", "--", "x"])
    assert (ours.stdout, ours.stderr, ours.code) == (sdk.stdout, sdk.stderr, sdk.code) == (ours.stdout, ours.stderr, 0)
    assert f"cwd={root.parent / 'cwd'} automation_api=true echo=hello" in ours.stdout
    assert ours.stdout.endswith("Update succeeded") and ours.stderr == "warning: a stand-in, not Pulumi"
    assert sorted(lines) == sorted(sdk_lines) and "out Update succeeded" in lines
    assert args == sdk_args == ["--non-interactive", "up", "--yes", "--", "x"]  # the SDK edits args in place too


def test_a_failing_run_raises_the_sdks_command_error(root):
    (sdk, _, _), (ours, lines, _) = run_both(root, ["up"], STANDIN_FAIL="1")
    assert type(ours) is type(sdk) is CommandError and str(ours) == str(sdk)
    assert "the cloud said no" in str(ours) and lines == ["err error: update failed: the cloud said no"]


def test_a_failing_callback_does_not_stall_the_cli(root):
    def broken(line):
        raise LookupError("callback bug")

    state = root.parent / "state"
    with pytest.raises(LookupError, match="callback bug"):
        GracefulPulumiCommand(root=str(root)).run(["up"], str(root.parent / "cwd"),
                                                  {"STANDIN_STATE": str(state), "STANDIN_STEPS": "3"}, on_output=broken)
    assert (state / "checkpoint").exists() and not (state / "lock").exists()  # read to the end, unlocked


def test_every_engine_operation_uses_the_graceful_command(root, monkeypatch):
    monkeypatch.setattr(pulumi_cli, "_cli_candidates", lambda: [(str(root / "bin" / "pulumi"), str(root))])
    command = pulumi_cli.default_pulumi_command()
    assert isinstance(command, GracefulPulumiCommand) and str(command.version) == "3.200.0"


def test_the_cli_hook_names_the_stack_and_is_removed_afterwards():
    from rich.console import Console

    buffer = io.StringIO()
    default = pulumi_process.notify
    with terminate_as_interrupt(Console(file=buffer, width=300), "ml-dev"):
        pulumi_process.notify("graceful")
        pulumi_process.notify("hard")
    assert pulumi_process.notify is default
    assert buffer.getvalue().splitlines() == [pulumi_process.message("graceful"), pulumi_process.message("hard", "ml-dev")]
    assert "recipe repair <stack> --unlock" in pulumi_process.message("hard")
