"""The Pulumi CLI as a child process that Ctrl-C and SIGTERM stop cleanly.

The SDK's `PulumiCommand.run` lets KeyboardInterrupt unwind: it closes the
CLI's pipes and returns, the CLI dies of SIGPIPE on its next write (before it
writes its checkpoint and releases its lock), and every interrupted deploy
needs `recipe repair --unlock`; its reader threads print ValueError tracebacks.

`GracefulPulumiCommand` starts the CLI in its own session, so a terminal's
Ctrl-C reaches only `recipe`, which decides: the first interrupt is forwarded
as SIGINT (Pulumi's own cancel: it finishes the steps in flight, saves the
checkpoint, releases the lock) while the output is still read; a second one
stops the CLI at once. Either way the caller then gets KeyboardInterrupt
(and records the run as interrupted). `provisioner/cli/__init__.py` turns SIGTERM into
KeyboardInterrupt, so both take this path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import IO

from pulumi.automation._cmd import CommandResult, OnOutput, PulumiCommand, _fixup_path
from pulumi.automation.errors import create_command_error

# After the second interrupt: how long the CLI gets to exit on its own before SIGKILL.
HARD_STOP_SECONDS = 5.0
# After a hard stop: a plugin that left the CLI's process group may keep the pipes open.
READER_JOIN_SECONDS = 2.0

GRACEFUL, HARD = "graceful", "hard"


def message(stage: str, stack: str = "<stack>") -> str:
    """What the user is told at each stage; `stack` is the recipe stack's name when known."""
    if stage == GRACEFUL:
        return ("stopping: waiting for Pulumi to finish the steps in flight, save the state and release "
                "the stack's lock (Ctrl-C again to stop at once)")
    return (f"stopped at once: the stack may be locked or have pending operations; "
            f"run `recipe repair {stack} --unlock` once no other deploy or destroy is running")


def _print_to_stderr(stage: str) -> None:
    print(message(stage), file=sys.stderr, flush=True)


# The hook: called once per stage, "graceful" (first interrupt, waiting for the CLI)
# or "hard" (the CLI was stopped at once). `recipe` replaces it to name the stack.
notify: Callable[[str], None] = _print_to_stderr


class _Reader(threading.Thread):
    """Reads one pipe to its end, like the SDK's consumer threads, but never dies with a traceback.

    A daemon, so a CLI that leaves a plugin holding the pipe cannot keep `recipe` alive; it
    keeps draining after a failing callback, so the CLI never blocks on (or dies of) a full
    or closed pipe; the callback's error is re-raised by `run` once the CLI has exited.
    """

    def __init__(self, stream: IO[str], callback: OnOutput | None):
        super().__init__(daemon=True)
        self.stream, self.callback = stream, callback
        self.chunks: list[str] = []
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            for line in iter(self.stream.readline, ""):
                stripped = line.rstrip()
                if self.callback is not None and self.error is None:
                    try:
                        self.callback(stripped)
                    except Exception as exc:  # noqa: BLE001 - handed to the caller, see run()
                        self.error = exc
                self.chunks.append(stripped)
        except (OSError, ValueError):  # the pipe was closed under us (interpreter exit)
            pass
        finally:
            try:
                self.stream.close()
            except (OSError, ValueError):
                pass


class GracefulPulumiCommand(PulumiCommand):
    """A PulumiCommand whose `run` turns KeyboardInterrupt into Pulumi's own cancellation.

    Uninterrupted, `run` is the SDK's: the same arguments, environment, callbacks,
    CommandResult and CommandError. The constructor is the SDK's (`pulumi version`).
    """

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: OnOutput | None = None,
        on_error: OnOutput | None = None,
    ) -> CommandResult:
        if os.name == "nt":  # no sessions or SIGINT to forward: the SDK's behaviour
            return super().run(args, cwd, additional_env, on_output, on_error)
        # As the SDK: --non-interactive before any "--", the Automation API flag, bundled plugins first.
        end = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:end]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):
            env = _fixup_path(env, os.path.dirname(self.command))

        process = subprocess.Popen(
            [self.command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            encoding="utf-8",
            errors="replace",  # the SDK's reader would die on a stray byte and stop draining the pipe
            start_new_session=True,  # a terminal's Ctrl-C reaches `recipe` only: it forwards it
        )
        readers: list[_Reader] = []
        try:
            readers = [_Reader(process.stdout, on_output), _Reader(process.stderr, on_error)]  # type: ignore[arg-type]
            _wait(process, readers)
        except KeyboardInterrupt:
            _stop(process, readers)
            raise KeyboardInterrupt from None

        out, err = readers
        for reader in readers:
            if reader.error is not None:
                raise reader.error
        result = CommandResult(stdout="\n".join(out.chunks), stderr="\n".join(err.chunks), code=process.returncode)
        if result.code != 0:
            raise create_command_error(result)
        return result


def _wait(process: subprocess.Popen, readers: list[_Reader], timeout: float | None = None) -> None:
    """Until the CLI has exited and both pipes are read to their end (interruptible)."""
    for reader in readers:
        reader.join(timeout)
    process.wait(timeout)


def _stop(process: subprocess.Popen, readers: list[_Reader]) -> None:
    """After an interrupt: let Pulumi cancel and read on; on a second interrupt, stop it at once."""
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            notify(GRACEFUL)
        _wait(process, readers)
        return
    except KeyboardInterrupt:
        pass
    try:
        process.send_signal(signal.SIGINT)  # Pulumi's "terminate immediately"
        process.wait(HARD_STOP_SECONDS)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI if it is still there, and the plugins it left
    except OSError:  # the group is gone already
        pass
    try:
        _wait(process, readers, READER_JOIN_SECONDS)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        pass
    notify(HARD)
