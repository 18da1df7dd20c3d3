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
# Two or three real invocations per command, printed at the end of its --help (tests/cli/test_options.py
# parses each one with the real command, and runs the offline ones).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "plan": ("recipe plan aws                                       # the default stack, offline",
             "recipe plan gcp --project demo-project --allow-cidr 203.0.113.7/32 --cost",
             "recipe plan -f stack.yaml --tree                      # every resource, from a stack file"),
    "check": ("recipe check aws --allow-cidr 203.0.113.7/32",
              "recipe check azure --profile prod -o json",
              "recipe check ml-dev                                  # a stack on this machine"),
    "deploy": ("recipe deploy aws --allow-cidr 203.0.113.7/32",
               "recipe deploy gcp --project demo-project --without deployer --name team-a",
               "recipe deploy -f stack.yaml --yes -o json"),
    "preview": ("recipe preview ml-dev", "recipe preview ml-dev -o json"),
    "destroy": ("recipe destroy ml-dev                                # keeps the bucket, registry and run history",
                "recipe destroy ml-dev --delete-data --yes            # everything, data included",
                "recipe destroy ml-dev --cluster-gone                 # the cluster was deleted by hand"),
    "refresh": ("recipe refresh ml-dev", "recipe refresh ml-dev -o json"),
    "repair": ("recipe repair ml-dev                                 # after an interrupted deploy",
               "recipe repair ml-dev --unlock --yes                  # after a killed process"),
    "backup": ("recipe backup ml-dev", "recipe backup ml-dev -o json"),
    "forget": ("recipe forget ml-dev                                 # a record that never reached the cloud",
               "recipe forget ml-dev --yes"),
    "stacks": ("recipe stacks", "recipe stacks -o json"),
    "outputs": ("recipe outputs ml-dev", "recipe outputs ml-dev --show-secrets -o json"),
    "export": ("recipe export ml-dev --format zenml --register && zenml stack set ml-dev",
               "recipe export ml-dev --format dotenv -f ml-dev.env && . ./ml-dev.env",
               "recipe export ml-dev --format kubeconfig -f ~/.kube/ml-dev && KUBECONFIG=~/.kube/ml-dev kubectl get pods -A"),
    "register": ("pulumi stack output --json --show-secrets > ml-dev.outputs.json",
                 "recipe register ml-dev --outputs ml-dev.outputs.json",
                 "recipe register ml-dev --outputs ml-dev.outputs.json --force"),
    "doctor": ("recipe doctor", "recipe doctor aws -o json", "recipe doctor --install-pulumi"),
}


def _epilog(name: str) -> str:
    # \b: click keeps the block's lines as written instead of re-wrapping them into one paragraph.
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])


for command in COMMANDS:
    app.command(epilog=_epilog(command.__name__))(command)


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
