"""Stand-ins for the cloud CLIs the prerequisite checks call (`az`, `gcloud`).

Small scripts first on PATH that answer from a JSON file and record every call,
so a test sets a subscription's or project's state and reads what was run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FRESH = {
    "Microsoft.Authorization": "Registered", "Microsoft.Resources": "Registered",
    "Microsoft.ContainerService": "NotRegistered", "Microsoft.Network": "NotRegistered",
    "Microsoft.Compute": "NotRegistered", "Microsoft.Storage": "NotRegistered",
    "Microsoft.ContainerRegistry": "NotRegistered", "Microsoft.ManagedIdentity": "NotRegistered",
    "Microsoft.KeyVault": "NotRegistered", "Microsoft.Sql": "NotRegistered", "Microsoft.Web": "NotRegistered",
}
DEFAULT_STACK = ["Microsoft.ContainerService", "Microsoft.Network", "Microsoft.Compute", "Microsoft.ManagedIdentity",
                 "Microsoft.Storage", "Microsoft.ContainerRegistry"]
SUBSCRIPTION = "11111111-2222-4333-8444-555555555555"
BOOTSTRAP = ["serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com"]
ENABLE = ("gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com "
          "--project demo-project")

STAND_IN = '''#!{python}
"""Stand-in for the {name} CLI: answers from {state}, records each call in {log}."""
import json, pathlib, sys

state_file, log = pathlib.Path({state!r}), pathlib.Path({log!r})
args = sys.argv[1:]
with log.open("a") as f:
    f.write(json.dumps(args) + "\\n")
state = json.loads(state_file.read_text())
if state.get("error"):
    print(state["error"], file=sys.stderr)
    sys.exit(1)


def value(flag):
    return args[args.index(flag) + 1]


if {name!r} == "az" and args[:2] == ["provider", "list"]:
    providers = state["providers"]
    print(json.dumps([{{"namespace": n, "state": s}} for n, s in providers.items()]))
    if not state.get("stuck"):  # a registration under way is done by the next look
        state["providers"] = {{n: "Registered" if s == "Registering" else s for n, s in providers.items()}}
elif {name!r} == "az" and args[:2] == ["provider", "register"]:
    if state.get("deny_register"):
        print("ERROR: (AuthorizationFailed) The client does not have authorization to perform action "
              "'Microsoft.ContainerService/register/action'", file=sys.stderr)
        sys.exit(1)
    state["providers"][value("--namespace")] = "Registering"
elif {name!r} == "gcloud" and args[:3] == ["services", "list", "--enabled"]:
    print(json.dumps([{{"config": {{"name": api}}, "name": f"projects/123456789012/services/{{api}}", "state": "ENABLED"}}
                      for api in state["enabled"]]))
elif {name!r} == "gcloud" and args[:3] == ["config", "get-value", "project"]:
    print(state.get("project", "(unset)"))
else:
    print("stand-in: unexpected call: " + " ".join(args), file=sys.stderr)
    sys.exit(2)
state_file.write_text(json.dumps(state))
'''


class StandIn:
    """A cloud CLI on PATH answering from `state`; `calls` are its argument lists."""

    def __init__(self, bin_dir: Path, name: str, state: dict):
        self.name = name
        self.state_file = bin_dir.parent / f"{name}-state.json"
        self.log = bin_dir.parent / f"{name}-calls.jsonl"
        self.state_file.write_text(json.dumps(state))
        script = bin_dir / name
        script.write_text(STAND_IN.format(python=sys.executable, name=name, state=str(self.state_file), log=str(self.log)))
        script.chmod(0o755)

    def set(self, **state) -> None:
        self.state_file.write_text(json.dumps({**json.loads(self.state_file.read_text()), **state}))

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def registered(self) -> list[str]:
        return [c[c.index("--namespace") + 1] for c in self.calls if c[:2] == ["provider", "register"]]

    def providers(self) -> dict[str, str]:
        return json.loads(self.state_file.read_text())["providers"]


def commands_for(namespaces, subscription: str | None = None) -> list[str]:
    tail = f" --subscription {subscription}" if subscription else ""
    return [f"az provider register --namespace {n} --wait{tail}" for n in namespaces]

