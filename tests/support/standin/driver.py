"""Runs one `pulumi up` through a PulumiCommand in its own process, for tests/engine/test_interrupts.py.

    python driver.py graceful|sdk ROOT CWD STATE [HARD_STOP_SECONDS]

Signals go to the main thread of the process under test, so the test signals this
process, not pytest. It installs recipe's SIGTERM handling and notifier hook (stack
"ml-dev"), prints every CLI output line as "out: ..." and "err: ...", and ends with
RESULT <code>, COMMAND_ERROR <code> or INTERRUPTED (exit 130).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

from pulumi.automation import CommandError, PulumiCommand

from provisioner.engine.pulumi import process as pulumi_process
from provisioner.cli.context import err_console as _err_console
from provisioner.cli.errors import terminate_as_interrupt as _terminate_as_interrupt

mode, root, cwd, state = sys.argv[1:5]
if len(sys.argv) > 5:
    pulumi_process.HARD_STOP_SECONDS = float(sys.argv[5])
command = (pulumi_process.GracefulPulumiCommand if mode == "graceful" else PulumiCommand)(root=root)


printing = threading.Lock()  # the stdout and stderr readers call back from two threads


def show(prefix):
    def callback(line):
        with printing:
            print(f"{prefix}: {line}", flush=True)
    return callback


started = time.time()
with _terminate_as_interrupt(_err_console(), "ml-dev"):
    try:
        result = command.run(["up", "--yes"], cwd, {"STANDIN_STATE": state, "STANDIN_ECHO": "hello"},
                             on_output=show("out"), on_error=show("err"))
        print(f"RESULT {result.code}", flush=True)
    except CommandError as exc:
        print(f"COMMAND_ERROR {exc}", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"INTERRUPTED after {time.time() - started:.2f}s", flush=True)
        sys.exit(130)
