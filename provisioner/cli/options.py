"""Options the commands share, and the stack-describing ones, generated from the field table.

`recipe plan`, `check` and `deploy` take one option per stack field
(recipes/stack_fields.py: its flags, its help, its value kind). A command asks for
them with one parameter, `stack: StackFlags`, and the `describes_a_stack`
decorator puts --file and every field's option in that parameter's place in the
signature Typer reads, and hands the command what was given as one StackFlags,
by field name. Typer and the field table only: no Pulumi, rich or yaml here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Optional

import typer

from recipes.stack_fields import BY_NAME, FLAG_FIELDS, StackField, flag_argv


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="table (for people) or json (one document on stdout, for scripts).")]
ProviderArg = Annotated[Optional[str], typer.Argument(help=BY_NAME["provider"].help, show_default=False)]
NameArg = Annotated[str, typer.Argument(help="A registered stack.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
FileOpt = Annotated[Optional[Path], typer.Option("--file", "-f", help="Stack file (YAML) with the same fields as the flags.", dir_okay=False)]


class StackFlags(NamedTuple):
    """What the command line says about a stack: the stack file, and each field's flag by
    field name (None, or an empty list, where the flag was not given)."""

    file: Path | None
    values: dict[str, Any]


# The Python type Typer parses each kind of field into; lists and tags are repeatable flags.
FLAG_TYPES: dict[str, Any] = {"text": str, "choice": str, "int": int, "bool": bool, "list": list[str], "mapping": list[str]}


def field_parameter(stack_field: StackField) -> inspect.Parameter:
    """One field's option as Typer reads it from a signature."""
    option = typer.Option(*stack_field.flags, help=stack_field.help_text, show_default=False)
    annotation = Annotated[Optional[FLAG_TYPES[stack_field.kind]], option]
    return inspect.Parameter(stack_field.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=annotation)


STACK_PARAMETERS: tuple[inspect.Parameter, ...] = (
    inspect.Parameter("file", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=FileOpt),
    *(field_parameter(f) for f in FLAG_FIELDS),
)


def describes_a_stack(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` --file and an option per stack field where its `stack` parameter is;
    it is called with `stack=StackFlags(...)` holding what they were given."""
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        parameters.extend(STACK_PARAMETERS if parameter.name == "stack" else (parameter,))

    @functools.wraps(command)
    def with_stack_options(*args: Any, file: Path | None = None, **options: Any) -> None:
        values = {f.name: options.pop(f.name, None) for f in FLAG_FIELDS}
        return command(*args, stack=StackFlags(file, values), **options)

    with_stack_options.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_stack_options.__annotations__ = {}  # the signature above is the whole truth for Typer
    return with_stack_options


# Named in every suggested command, default or not: they say which stack and where.
NAMING_FIELDS = ("name", "region", "project")


def stack_argv(spec, stack: StackFlags | None = None) -> list[str]:
    """The arguments that describe `spec` again to `recipe deploy` (or plan, check): the stack
    file and the flags given beside it when it came from one, else every setting that differs
    from what the provider, region and profile alone give, spelled as the field table says."""
    if stack is not None and stack.file is not None:
        return [spec.provider, "-f", str(stack.file), *flag_argv(stack.values)]
    from recipes import facts
    from recipes.spec import COMPONENTS, Layer, load_spec

    # The defaults of most fields depend on these (node type on the profile, zone on the region).
    basis = {"provider": spec.provider, "region": spec.region, "profile": spec.profile}
    if spec.project:
        basis["project"] = spec.project
    defaults = load_spec(Layer("defaults", basis)).to_mapping()
    # What the provider leaves out by itself (a kubernetes stack's registry, without --registry) is no flag.
    kept_by_default = defaults.pop("components")
    defaults["without"] = [c for c in COMPONENTS if c not in kept_by_default]
    for name in NAMING_FIELDS:
        defaults.pop(name, None)
    if facts.of(spec.provider).REGIONS is None:
        # A provider without regions (kubernetes: the region is a label, the context says where) names its
        # region only when the user gave one.
        defaults["region"] = facts.of(spec.provider).DEFAULT_REGION
    defaults["profile"] = BY_NAME["profile"].default
    values = spec.to_mapping()
    if stack is None or not stack.values.get("suffix"):
        # Assigned at the first deploy and kept in the stack's record, which `deploy` reads again.
        values.pop("suffix", None)
    # The CLI spells the component list by what is left out.
    kept = values.pop("components")
    values["without"] = [c for c in COMPONENTS if c not in kept]
    return [spec.provider, *flag_argv(values, defaults)]
