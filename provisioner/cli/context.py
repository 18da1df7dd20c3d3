"""What every command gets from outside itself: the engine, the stack records, the terminal,
and the offline plan and baseline of a stack.

These are the CLI's seams: tests replace them here (`monkeypatch.setattr(cli.context,
"make_engine", ...)`), and commands call them through this module (`context.make_engine()`),
never by a name imported into their own, so one patch reaches every command.
Everything heavy is imported inside the functions: `recipe --help` loads none of it.
"""

from __future__ import annotations

import sys


def make_engine():
    """The engine every provisioning command uses."""
    from provisioner.engine.pulumi import PulumiEngine

    return PulumiEngine()


def records():
    """The stack records (`recipe stacks`) of this machine."""
    from provisioner.stacks.records import StackRecords

    return StackRecords()


def interactive() -> bool:
    """Whether a question can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def err_console():
    """Where everything but data goes (stderr); soft_wrap: an error stays one line however narrow the terminal."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console():
    """Where tables of data go (stdout)."""
    from rich.console import Console

    return Console(highlight=False)


def progress_view(console, title: str):
    """The live view of an engine operation on `console` (provisioner/cli/display.py)."""
    from provisioner.cli.display import Progress

    return Progress(console=console, title=title, live=console.is_terminal)


def plan_of(spec):
    """The stack's offline plan; a program that refuses the stack (as the cloud would) is one clean error.

    A computed plan takes seconds: when stderr is a terminal, a spinner says what runs meanwhile
    (never in pipes, CI or a command run with --output json)."""
    from contextlib import nullcontext

    from typer._click.globals import get_current_context  # typer's own Click: the running command's options

    from provisioner.analysis.plan import PlanFailed, failure_message, run_plan
    from provisioner.paths import cache_dir
    from recipes import facts

    facts.require_sdk(spec.provider)  # before the cache: a one-cloud install says which extra it lacks
    command, console = get_current_context(silent=True), err_console()
    as_json = command is not None and getattr(command.params.get("output"), "value", None) == "json"
    waiting = (console.status(f"Planning {spec.name} ({spec.provider}) under Pulumi's mock runtime...")
               if console.is_terminal and not as_json else nullcontext())
    try:
        with waiting:
            return run_plan(spec, cache_dir=cache_dir() / "plans")
    except Exception as exc:  # noqa: BLE001 - whatever the program raised, said in one line
        raise PlanFailed(f"the stack cannot be planned: {failure_message(exc)}") from None


def run_checks(spec):
    """The security baseline's verdicts on the stack's offline plan (`recipe check`, and before every deploy)."""
    from provisioner.analysis.baseline import evaluate

    return evaluate(plan_of(spec))
