"""The `recipe` command line: thin commands over importable modules.

Every command validates its input before touching anything, prints data on
stdout (a table, or JSON with --output json: documents.py) and everything else
on stderr, and exits 0 (ok), 1 (the operation failed), 2 (bad input) or 3
(needs confirmation: pass --yes) (errors.py). The commands live in one module
per group and are registered here, in the order --help lists them; what they
reach outside themselves (engine, records, terminal, offline plan) is
context.py's, the one place tests replace it. Heavy modules (Pulumi, cloud
SDKs, rich) are imported inside the commands, so `recipe --help` stays fast.
"""

from __future__ import annotations

import typer

from provisioner.cli import context, deploy, describe, doctor, provision, records
from provisioner.cli.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NEEDS_CONFIRMATION, EXIT_OK, RecipeGroup

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_NEEDS_CONFIRMATION", "EXIT_OK", "app", "context", "main"]

app = typer.Typer(
    name="recipe",
    help="Stand up an MLOps stack (cluster, bucket, registry, MLflow, model serving) in your cloud, "
    "own it, and tear it down without losing your data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=RecipeGroup,  # usage errors as JSON documents too (errors.py)
)

COMMANDS = (
    describe.plan, describe.check, deploy.deploy,
    provision.preview, provision.destroy, provision.refresh, provision.repair, provision.backup,
    records.forget, records.stacks, records.outputs, records.export, records.register,
    doctor.doctor,
)
for command in COMMANDS:
    app.command()(command)


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            version = metadata.version("stack-recipes")
        except metadata.PackageNotFoundError:  # run from a checkout that was never installed
            version = "unknown (not installed: pip install -e .)"
        typer.echo(f"recipe (stack-recipes) {version}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version),
) -> None:
    """Stand up an MLOps stack (cluster, bucket, registry, MLflow, model serving) in your cloud, own it, and tear it
    down without losing your data."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
