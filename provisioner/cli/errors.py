"""The one error path of every command: expected errors become one line on stderr and
the documented exit code, with --output json also an error document on stdout.

Exit codes: 0 ok, 1 the operation failed, 2 bad input, 3 needs confirmation (pass
--yes), 130 interrupted. Confirmation helpers live here because a refused or
impossible confirmation is one of those exits.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import typer
from typer._click import exceptions as click_errors  # typer vendors its own Click: its exceptions, not click's
from typer.core import TyperGroup

from provisioner.cli import context, documents

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NEEDS_CONFIRMATION = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class Stop(Exception):
    """End a command with an exit code; its message is already on stderr."""

    def __init__(self, code: int, message: str, **details: Any):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


@contextmanager
def user_errors(as_json: bool = False):
    """Turn every expected error into one line on stderr and the right exit code;
    with --output json, also an error document on stdout, so scripts parse one thing."""
    from recipes.errors import RecipeError

    console = context.err_console()

    def fail(message: str, code: int) -> typer.Exit:
        console.print(f"error: {message}", markup=False)
        if as_json:
            documents.emit(documents.error(message, code))
        return typer.Exit(code)

    try:
        yield console
    except Stop as exc:
        if as_json:
            documents.emit(documents.error(exc.message, exc.code, **exc.details))
        raise typer.Exit(exc.code) from None
    except RecipeError as exc:  # every module's errors: one line, their own exit code
        raise fail(exc.message, exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort, click_errors.ClickException):
        raise  # typer.Exit and usage errors end the command as Click does
    except OSError as exc:  # a file or folder we cannot use (RECIPE_HOME read-only, a full disk)
        from provisioner.paths import file_error

        error = file_error(exc)
        raise fail(error.message, error.exit_code) from None
    except Exception as exc:  # a bug: still one line and a JSON document; RECIPE_DEBUG=1 shows the traceback
        if os.environ.get("RECIPE_DEBUG"):
            raise
        raise fail(f"internal error ({type(exc).__name__}: {exc}); this is a bug, please report it "
                   "(RECIPE_DEBUG=1 shows the traceback)", EXIT_FAILED) from None


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for --output json (read raw: it may not have parsed)."""
    for i, arg in enumerate(args):
        if arg in ("--output", "-o") and args[i + 1:i + 2] == ["json"]:
            return True
        if arg in ("--output=json", "-ojson"):
            return True
    return False


class RecipeGroup(TyperGroup):
    """The `recipe` group: a usage error (unknown option, missing argument, bad choice) is exit 2
    as Click prints it, and with --output json also the JSON error document on stdout."""

    def make_context(self, info_name, args, parent=None, **extra):
        raw = list(args)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["recipe.args"] = raw
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as exc:
            raw = ctx.meta.get("recipe.args", [])
            if wants_json(raw):
                command = exc.ctx.command_path if exc.ctx is not None else "recipe"
                documents.emit(documents.error(f"{exc.format_message()} (see `{command} --help`)", EXIT_BAD_INPUT))
            raise


def require_confirmable(console, action: str, yes: bool) -> None:
    """Fail fast, before any work, when we would have to ask but cannot."""
    if not yes and not context.interactive():
        message = f"{action} needs confirmation and stdin is not a terminal: pass --yes"
        console.print(f"error: {message}", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, message)


def confirm(console, question: str, yes: bool) -> None:
    """Go on only with --yes or the user's yes; otherwise stop with exit 3, nothing done."""
    if yes:
        return
    if not context.interactive():
        console.print(question, markup=False)
        console.print("error: confirmation needed and stdin is not a terminal: pass --yes", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, f"{question} (confirmation needed and stdin is not a terminal: pass --yes)")
    if not ask(question):
        console.print("nothing done", markup=False)
        raise Stop(EXIT_NEEDS_CONFIRMATION, "not confirmed: nothing done")


def ask(question: str) -> bool:
    """A yes/no question on stderr; no is the default."""
    return typer.confirm(question, default=False, err=True)


@contextmanager
def terminate_as_interrupt(console=None, name: str = "<stack>"):
    """SIGTERM (a CI job cancelled, `kill`) is recorded like Ctrl-C, not lost; both stop the Pulumi
    CLI gracefully (provisioner/engine/pulumi/process.py), and what that waits for is said on `console`."""
    import signal

    from provisioner.engine.pulumi import process as pulumi_process

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    def say(stage: str) -> None:
        (console or context.err_console()).print(pulumi_process.message(stage, name), markup=False)

    previous_notify, pulumi_process.notify = pulumi_process.notify, say
    installed = False
    try:
        previous, installed = signal.signal(signal.SIGTERM, interrupt), True
    except ValueError:  # not the main thread (e.g. some test runners): nothing to install
        pass
    try:
        yield
    finally:
        pulumi_process.notify = previous_notify
        if installed:
            signal.signal(signal.SIGTERM, previous)


def report_failure(console, exc, progress, rerun: str, op: str) -> Stop:
    """Say what failed and the command that resumes; the Stop to raise."""
    from provisioner.engine import ConcurrentUpdate, PassphraseError

    if isinstance(exc, (ConcurrentUpdate, PassphraseError)):
        console.print(f"error: {exc.message}", markup=False)  # nothing was changed or recorded as failed
        return Stop(EXIT_FAILED, exc.message)
    console.print(f"error: {op} failed: {exc.message}", markup=False)
    if exc.resource:
        console.print(f"  failing resource: {exc.resource}", markup=False)
    for line in progress.errors()[:5]:
        console.print(f"  {line}", markup=False)
    console.print(f"The failure is recorded (`recipe stacks`). Fix the cause and re-run `{rerun}`: "
                  "Pulumi resumes from what already exists.", markup=False)
    return Stop(EXIT_FAILED, f"{op} failed: {exc.message}", resource=exc.resource, rerun=rerun)

