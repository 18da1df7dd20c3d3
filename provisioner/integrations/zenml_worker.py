"""Runs inside the Python that has zenml: make names fresh, store the secret, import.

Standalone on purpose (imports only zenml and the standard library): it is run
as a script by whichever interpreter holds zenml, which need not have
stack-recipes installed. It reads one JSON request on stdin:

    {"document": <zenml stack file>, "secret_name": "...", "secret_key": "password",
     "password": "..." | null, "secrets": [{"name": "...", "values": {...}}], "result_file": "..."}

and writes {"stack": ..., "secret": ..., "renamed": {...}, "zenml_version": ...}
or {"error": "..."} to `result_file`. The password (and the other secrets' values) arrive on stdin so they are
never on a command line or on disk. The import itself is ZenML's own
`zenml stack import` command, run with stdin at end-of-file, so it cannot hang
on a prompt: names that would make it prompt were made fresh before.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any, Callable


def fresh(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or `name-2`, `name-3`, ... whichever is free first."""
    if not taken(name):
        return name
    n = 2
    while taken(f"{name}-{n}"):
        n += 1
    return f"{name}-{n}"


def run(request: dict[str, Any]) -> dict[str, Any]:
    import yaml
    import zenml
    from zenml.cli.cli import cli
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    document = request["document"]
    renamed: dict[str, str] = {}
    document["zenml_version"] = zenml.__version__

    secret = None
    wanted_secrets = list(request.get("secrets") or [])  # [{"name", "values"}]: the bucket's keys
    password = request.get("password")
    if password is not None:
        wanted_secrets.insert(0, {"name": request["secret_name"], "values": {request.get("secret_key", "password"): password}})
    for index, wanted_secret in enumerate(wanted_secrets):
        wanted, values = wanted_secret["name"], wanted_secret["values"]

        def secret_taken(name: str) -> bool:
            try:
                existing = client.get_secret(name, allow_partial_name_match=False, allow_partial_id_match=False)
            except KeyError:
                return False
            return existing.secret_values != values  # the same values are reused

        created = fresh(wanted, secret_taken)
        try:
            client.get_secret(created, allow_partial_name_match=False, allow_partial_id_match=False)
        except KeyError:
            client.create_secret(name=created, values=values)
        if password is not None and index == 0:
            secret = created
        if created != wanted:
            renamed[wanted] = created
            for key in values:
                old, new = "{{" + wanted + "." + key + "}}", "{{" + created + "." + key + "}}"
                for component in document["components"].values():
                    config = component.get("configuration") or {}
                    for field, value in list(config.items()):
                        if value == old:
                            config[field] = new

    for type_name, component in document["components"].items():
        component_type = StackComponentType(type_name)

        def component_taken(name: str) -> bool:
            try:
                existing = client.get_stack_component(
                    name_id_or_prefix=name, component_type=component_type, allow_name_prefix_match=False
                )
            except KeyError:
                return False
            # ZenML reuses a component with the same configuration; only a different one clashes.
            return existing.name == name and existing.configuration != component["configuration"]

        name = fresh(component["name"], component_taken)
        if name != component["name"]:
            renamed[component["name"]] = name
            component["name"] = name

    stack = fresh(document["stack_name"], lambda name: bool(client.list_stacks(name=name)))
    if stack != document["stack_name"]:
        renamed[document["stack_name"]] = stack
        document["stack_name"] = stack

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{stack}.yaml")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle, sort_keys=False)
        cli.main(args=["stack", "import", path], prog_name="zenml", standalone_mode=False)
    return {"stack": stack, "secret": secret, "renamed": renamed, "zenml_version": zenml.__version__}


def main() -> int:
    request = json.load(sys.stdin)
    try:
        result = run(request)
        code = 0
    except SystemExit as exc:  # zenml's CLI reports its own errors by exiting
        result, code = {"error": f"zenml stack import exited with {exc.code}; see its message above"}, 1
    except Exception as exc:  # noqa: BLE001 - reported to the caller as one message
        result, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    with open(request["result_file"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return code


if __name__ == "__main__":
    sys.exit(main())
