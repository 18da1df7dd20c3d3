"""The stack-describing options are generated from the field table: every field with a flag is an
option of plan, check and deploy, with its help, and reaches the command by its field name."""

from __future__ import annotations

import typer
import typer.main
from typer.testing import CliRunner

from provisioner import cli
from provisioner.cli.options import ProviderArg, StackFlags, describes_a_stack
from recipes.stack_fields import FLAG_FIELDS


def options_of(command: str) -> dict[str, object]:
    """Each option of a `recipe` command by its first spelling (`--spot/--on-demand` as `--spot`)."""
    params = typer.main.get_command(cli.app).commands[command].params
    return {param.opts[0]: param for param in params if param.param_type_name == "option"}


def test_every_flag_of_the_field_table_is_an_option_with_its_help():
    for command in ("plan", "check", "deploy"):
        options = options_of(command)
        for stack_field in FLAG_FIELDS:
            option = options[stack_field.flags[0].split("/")[0]]
            assert option.help == stack_field.help_text, (command, stack_field.name)


def test_plan_help_shows_the_options_as_before():
    result = CliRunner().invoke(cli.app, ["plan", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # help is wrapped to the terminal
    for spelling in ("-n, --name", "-r, --region", "--location", "--project", "--zone", "--regional / --zonal",
                     "--without", "--profile", "--spot / --on-demand", "--node-type", "--min-nodes", "--max-nodes",
                     "--network", "--allow-cidr", "--deployer", "--kubernetes-version",
                     "--immutable-tags / --mutable-tags", "--tag", "--suffix", "--kms / --no-kms",
                     "--private-endpoint / --public-endpoint", "--admin", "-f, --file", "--cost", "-o, --output"):
        assert spelling in text, spelling
    assert "Machine type of the nodes. [default (dev): t3.large, e2-standard-2, Standard_D2s_v5]" in text
    assert "--components" not in text and "--delete-data" not in text  # file-only, and not a stack description


def test_each_command_keeps_its_argument_first_and_its_own_options_last():
    params = [p.name for p in typer.main.get_command(cli.app).commands["deploy"].params]
    assert params[:3] == ["provider", "file", "name"]
    assert params[-4:] == ["backend", "yes", "skip_checks", "output"]
    check = [p.name for p in typer.main.get_command(cli.app).commands["check"].params]
    assert check[0] == "target" and check[-1] == "output"


def test_the_command_gets_the_given_flags_by_field_name():
    seen: list[tuple[str, StackFlags, bool]] = []
    app = typer.Typer()

    @app.command()
    @describes_a_stack
    def describe(provider: ProviderArg = None, stack: StackFlags = None, loud: bool = False) -> None:
        seen.append((provider, stack, loud))

    result = CliRunner().invoke(app, ["gcp", "--allow-cidr", "203.0.113.0/24", "--tag", "team=ml", "--tag", "env=dev",
                                      "--on-demand", "--admin", "user:a@example.com", "-n", "team-a", "--loud"])
    assert result.exit_code == 0, result.output
    [(provider, stack, loud)] = seen
    assert (provider, loud, stack.file) == ("gcp", True, None)
    given = {name: value for name, value in stack.values.items() if value not in (None, [])}
    assert given == {"allow_cidrs": ["203.0.113.0/24"], "tags": ["team=ml", "env=dev"], "spot": False,
                     "admins": ["user:a@example.com"], "name": "team-a"}
    assert "components" not in stack.values and "provider" not in stack.values


def test_a_flag_error_names_the_flag_as_typed(home):
    result = CliRunner().invoke(cli.app, ["plan", "aws", "--allow-cidr", "10.0.0.1/8"])
    assert result.exit_code == cli.EXIT_BAD_INPUT
    assert "error: --allow-cidr: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" in result.stderr
    zone = CliRunner().invoke(cli.app, ["plan", "aws", "--zone", "us-east-1a"])
    assert "error: --zone: only applies to gcp stacks (this one is aws)" in zone.stderr


# --- Examples at the end of every command's --help (cli.EXAMPLES): real invocations that parse.

def example_argv(line: str) -> list[str] | None:
    """The `recipe` invocation an example line shows (None: another tool's line), comment and shell glue cut."""
    import shlex

    words = shlex.split(line.split("  #")[0].split("&&")[0].split(">")[0])
    return words[1:] if words and words[0] == "recipe" else None


def test_every_command_help_ends_with_two_or_three_recipe_examples():
    group = typer.main.get_command(cli.app)
    for name in group.commands:
        lines = cli.EXAMPLES[name]
        assert 2 <= len(lines) <= 3, name
        assert [argv[0] for argv in map(example_argv, lines) if argv] and all(
            argv[0] == name for argv in map(example_argv, lines) if argv), name
        help_text = CliRunner().invoke(cli.app, [name, "--help"], env={"COLUMNS": "200"}).stdout
        tail = help_text.rstrip().splitlines()[-len(lines):]
        assert [t.strip() for t in tail] == [line.strip() for line in lines], name


def test_every_example_parses_with_the_real_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stack.yaml").write_text("provider: aws\nname: ml-dev\n")
    (tmp_path / "ml-dev.outputs.json").write_text("{}")
    group = typer.main.get_command(cli.app)
    for name, lines in cli.EXAMPLES.items():
        for argv in filter(None, map(example_argv, lines)):
            command = group.commands[argv[0]]
            # Parsing and converting every value, as a run would, without running the command.
            command.make_context(argv[0], argv[1:])


def test_the_offline_examples_run(home, run):
    offline = [argv for name in ("plan", "check") for argv in map(example_argv, cli.EXAMPLES[name])
               if argv and argv[1] in ("aws", "gcp", "azure")]
    assert len(offline) >= 3
    for argv in offline:
        result = run(*argv)
        assert result.exit_code in (0, 1), (argv, result.output)  # check exits 1 when a rule fails
        assert "error:" not in result.stderr, (argv, result.stderr)
