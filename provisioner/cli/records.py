"""The commands on the stack records, never on the cloud: stacks, outputs, export, register, forget.

`export --register` also imports the exported stack into ZenML (`register_in_zenml`).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from provisioner.cli import context, documents
from provisioner.cli.errors import confirm, user_errors
from provisioner.cli.options import NameArg, OutputFormat, OutputOpt, YesOpt


class ExportFormat(str, Enum):
    zenml = "zenml"
    json = "json"
    dotenv = "dotenv"
    kubeconfig = "kubeconfig"


ShowSecretsOpt = Annotated[bool, typer.Option("--show-secrets", help="Show passwords and kubeconfigs in clear.")]
FormatOpt = Annotated[ExportFormat, typer.Option("--format", help="zenml, json, dotenv or kubeconfig.")]
ExportSecretsOpt = Annotated[bool, typer.Option("--show-secrets", help="Include passwords in clear (the file is written 0600).")]
ReferencesOpt = Annotated[bool, typer.Option("--secrets-as-references", help="zenml: write the MLflow password as a ZenML secret reference {{<stack>-mlflow.password}}, never in clear. [default for zenml unless --show-secrets]")]
RegisterOpt = Annotated[bool, typer.Option("--register", help="zenml: also import the stack into ZenML (creates the ZenML secret; fresh names on clashes).")]
# The export's file is --file/-f, as the stack file of plan and deploy is; -o is --output, as in
# every command. Until the next release the old spellings still name the file, with a warning:
# --output-file PATH, and -o PATH where PATH is not a format name.
ExportFileOpt = Annotated[Optional[Path], typer.Option("--file", "-f", help="Write to this file instead of stdout (mode 0600 when it holds secrets).", dir_okay=False)]
OldFileOpt = Annotated[Optional[Path], typer.Option("--output-file", hidden=True, help="Deprecated: use --file.", dir_okay=False)]
ZenmlVersionOpt = Annotated[Optional[str], typer.Option("--zenml-version", help="zenml_version to write. [default: the installed zenml's, else 0.98.0]")]
ExportOutputOpt = Annotated[Optional[OutputFormat], typer.Option("--output", help="table (the exported text) or json (a document describing the export). [default: table]", show_default=False)]
ShortOutputOpt = Annotated[Optional[str], typer.Option("-o", metavar="FORMAT", show_default=False, help="Short for --output: table or json. (-o PATH, a file name, is the old spelling of --file: deprecated, works until the next release.)")]
RegisterNameArg = Annotated[str, typer.Argument(help="Name to register the stack under (the stack_name in the outputs).")]
OutputsFileOpt = Annotated[Path, typer.Option("--outputs", help="Output of `pulumi stack output --json --show-secrets`.", dir_okay=False)]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing registration of that name.")]


def stacks(output: OutputOpt = OutputFormat.table) -> None:
    """List registered stacks."""
    with user_errors(output == OutputFormat.json) as console:
        records, errors = context.records().all()
        for error in errors:
            console.print(f"warning: {error}", markup=False)
        if output == OutputFormat.json:
            documents.emit(documents.stacks(records))
            return
        if not records:
            console.print("No stacks yet. Try: recipe plan aws, then recipe deploy aws --name ml-dev", markup=False)
            return
        from provisioner.cli.views import stacks_table

        context.out_console().print(stacks_table(records))


def outputs(name: NameArg, show_secrets: ShowSecretsOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Show a stack's connection details (secrets masked unless --show-secrets)."""
    with user_errors(output == OutputFormat.json):
        from recipes import outputs as canonical

        from provisioner.operations import lifecycle
        from provisioner.stacks.records import require_outputs

        record = context.records().get(name)
        require_outputs(record)  # a failed first deploy: say so, never an empty table or `{}`
        if show_secrets:
            data = lifecycle.full_outputs(record, context.make_engine, with_secrets=True)
        else:
            data = canonical.masked(with_secret_placeholders(record.outputs))
        if output == OutputFormat.json:
            documents.emit(data)
            return
        from provisioner.cli.views import outputs_table

        context.out_console().print(outputs_table(data, title=f"{name} ({record.status})"))


def with_secret_placeholders(data: dict) -> dict:
    """Public outputs with each required secret field present (so it can be shown masked). An optional
    one (the bucket keys of an in-cluster store) may not exist: it is shown with --show-secrets only."""
    from recipes import outputs as canonical

    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for component, fields in canonical.SCHEMA.items():
        for f in fields:
            if f.secret and f.required and component in out:
                out[component][f.name] = canonical.MASK
    return out


def export(
    name: NameArg,
    format: FormatOpt = ExportFormat.zenml,
    show_secrets: ExportSecretsOpt = False,
    secrets_as_references: ReferencesOpt = False,
    register: RegisterOpt = False,
    file: ExportFileOpt = None,
    zenml_version: ZenmlVersionOpt = None,
    output: ExportOutputOpt = None,
    short_output: ShortOutputOpt = None,
    old_output_file: OldFileOpt = None,
) -> None:
    """Export a stack's outputs for ZenML, scripts (json, dotenv) or kubectl (kubeconfig)."""
    as_json = OutputFormat.json in (output, short_output)
    with user_errors(as_json) as console:
        output_file = export_file(console, output, short_output, file, old_output_file)
        from provisioner import paths
        from provisioner.operations import lifecycle
        from provisioner.paths import atomic_write
        from provisioner.stacks import bucket_keys, exporters, trust
        from provisioner.stacks.records import require_outputs

        fmt = format.value
        refuse_contradictions(fmt, show_secrets, secrets_as_references, register)
        record = context.records().get(name)
        require_outputs(record)
        if record.status == "destroyed":
            console.print(f"warning: {name} is destroyed; exporting what is left", markup=False)
        # The kubeconfig is a secret output: the kubeconfig and dotenv formats need it
        # even without --show-secrets; renderers still leave passwords out unless asked.
        has_cluster = "cluster" in record.outputs
        # A bucket reached with keys: whether the stack holds them decides what the ZenML file tells the user.
        needs_secrets = show_secrets or register or (fmt in ("kubeconfig", "dotenv") and has_cluster) or (
            fmt == "zenml" and bucket_keys.applies(record.outputs))
        data = lifecycle.full_outputs(record, context.make_engine, with_secrets=needs_secrets)
        kube, kubeconfig_path = None, None
        written: list[dict[str, Any]] = []
        if fmt == "dotenv" and "cluster" in data:
            # The dotenv points KUBECONFIG at a kubeconfig we write next to our state,
            # once the dotenv itself has rendered (a refused value leaves no file behind).
            kube = exporters.render("kubeconfig", data)
            kubeconfig_path = paths.kubeconfig_file(name)
        # The stack CA's files (public): beside the dotenv file, else beside the stack's record.
        ca_files = trust.ca_files(data, name, output_file) if fmt == "dotenv" else None
        rendered = exporters.render(fmt, data, show_secrets=show_secrets, zenml_version=zenml_version,
                                    kubeconfig_path=str(kubeconfig_path) if kubeconfig_path else None,
                                    ca_files=ca_files)
        if ca_files is not None:
            for path in ca_files.write():
                written.append({"file": str(path), "mode": "0644", "contains_secrets": False})
                console.print(f"wrote {path} (the stack CA: public)", markup=False)
        if kube is not None and kubeconfig_path is not None:
            kubeconfig_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(kubeconfig_path, kube.text, mode=0o600)
            written.append({"file": str(kubeconfig_path), "mode": "0600", "contains_secrets": True})
            console.print(f"wrote kubeconfig {kubeconfig_path} (mode 0600)", markup=False)
        notes = list(rendered.notes) + (kube.notes if kube is not None else [])
        if output_file is not None:
            mode = 0o600 if rendered.contains_secrets else 0o644
            atomic_write(output_file, rendered.text, mode=mode)
            written.append({"file": str(output_file), "mode": f"{mode:04o}", "contains_secrets": rendered.contains_secrets})
            console.print(f"wrote {output_file}" + (" (mode 0600: it contains secrets)" if rendered.contains_secrets else ""), markup=False)
        elif not as_json:
            sys.stdout.write(rendered.text)
        registered = None
        if register:
            registered = register_in_zenml(console, rendered, data)
            # --register creates the secrets whose values it has
            notes = [n for n in notes if n not in (rendered.secret_note, rendered.bucket_secret_note)]
        if as_json:
            content = None if output_file is not None else rendered.text
            documents.emit(documents.export(name, fmt, written, content, rendered, notes, registered))
            return
        for note in notes:
            console.print(f"note: {note}", markup=False)


def export_file(console, output: OutputFormat | None, short: str | None, file: Path | None, old: Path | None) -> Path | None:
    """The file `export` writes, from --file or a deprecated spelling (warned about);
    `-o FORMAT` must agree with --output."""
    from recipes.spec import SpecError

    named = [("--file", file)]
    if short in {f.value for f in OutputFormat}:
        if output is not None and output.value != short:
            raise SpecError(f"-o {short} and --output {output.value} disagree: give one of them")
    elif short in {f.value for f in ExportFormat}:
        raise SpecError(f"-o means --output (table or json); for the export format use --format {short}, "
                        f"for a file of that name --file {short}")
    elif short is not None:
        if Path(short).is_dir():
            raise SpecError(f"-o {short}: a directory; give a file with --file")
        named.append(("-o", Path(short)))
    if old is not None:
        named.append(("--output-file", old))
    for spelling, path in named[1:]:
        if path is not None:
            console.print(f"warning: `{spelling} PATH` for the export file is deprecated and goes in the next release: "
                          f"use --file {path} (-o now means --output: table or json)", markup=False)
    paths = {path for _, path in named if path is not None}
    if len(paths) > 1:
        raise SpecError("two export files given (" + ", ".join(f"{s} {p}" for s, p in named if p is not None)
                        + "): give --file only")
    return next(iter(paths), None)


def refuse_contradictions(fmt: str, show_secrets: bool, secrets_as_references: bool, register: bool) -> None:
    """The export flags that cannot go together, refused before anything is read."""
    from recipes.spec import SpecError

    if (secrets_as_references or register) and fmt != "zenml":
        raise SpecError(f"--secrets-as-references and --register are for --format zenml, not {fmt}")
    if secrets_as_references and show_secrets:
        raise SpecError("--secrets-as-references and --show-secrets contradict each other: choose one")
    if register and show_secrets:
        raise SpecError("--register keeps the password in a ZenML secret, never in the stack: drop --show-secrets")


def register_in_zenml(console, rendered, data: dict):
    """Import the exported document into ZenML, with the password as the secret it refers to."""
    import yaml

    from provisioner.integrations import zenml_register
    from provisioner.operations.lifecycle import OperationError
    from provisioner.stacks import bucket_keys, exporters

    password = (data.get("tracker") or {}).get("password") if rendered.referenced_secret else None
    # The bucket's keys, where the stack generated them (the `kubernetes` provider's in-cluster store).
    others = {rendered.bucket_secret: bucket_keys.secret_values(data)} if rendered.bucket_secret else {}
    console.print("Registering the stack in ZenML ...", markup=False)
    try:
        registered = zenml_register.register(yaml.safe_load(rendered.text), password=password,
                                             secret_name=rendered.referenced_secret, secrets=others)
    except (zenml_register.ZenMLUnavailable, zenml_register.ZenMLImportFailed) as exc:
        raise OperationError(str(exc)) from None
    for old, new in registered.renamed.items():
        console.print(f"note: {old!r} already exists in ZenML with other settings: registered as {new!r}", markup=False)
    if registered.zenml_version != exporters.DEFAULT_ZENML_VERSION:
        console.print(f"note: the export was checked against ZenML {exporters.DEFAULT_ZENML_VERSION}; "
                      f"this is ZenML {registered.zenml_version}", markup=False)
    secret = f" (MLflow password in ZenML secret {registered.secret!r})" if registered.secret else ""
    console.print(f"Registered ZenML stack {registered.stack!r}{secret}. Use it: zenml stack set {registered.stack}", markup=False)
    return registered


def register(name: RegisterNameArg, outputs_file: OutputsFileOpt, force: ForceOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Register a stack deployed with the plain Pulumi CLI, so it can be exported."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from recipes.spec import COMPONENTS

        from provisioner.stacks.registration import register_outputs

        record = register_outputs(name, outputs_file, records=context.records(), force=force)
        components = [c for c in COMPONENTS if c in record.outputs]
        console.print(f"Registered {name} ({record.provider}, {record.region}) with: {', '.join(components)}", markup=False)
        if as_json:
            documents.emit(documents.register(name, record, components))


def forget(name: NameArg, yes: YesOpt = False, output: OutputOpt = OutputFormat.table) -> None:
    """Remove a stack's record from `recipe stacks`. Never touches the cloud or the Pulumi state."""
    as_json = output == OutputFormat.json
    with user_errors(as_json) as console:
        from provisioner.cli.views import forget_warning
        from provisioner.operations import lifecycle

        records = context.records()
        record = records.get(name)
        lifecycle.check_not_running(record)
        warning = forget_warning(record)
        if warning:
            console.print(f"warning: {warning}", markup=False)
        confirm(console, f"Forget {name}? Nothing in the cloud or in its Pulumi state is changed.", yes)
        records.delete(name)
        console.print(f"Forgot {name}: it is no longer in `recipe stacks`; nothing in the cloud was touched.", markup=False)
        if as_json:
            documents.emit(documents.forget(name, warning))
