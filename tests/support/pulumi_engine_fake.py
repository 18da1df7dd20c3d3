"""A scripted stand-in for the Pulumi CLI, for testing the real PulumiEngine offline.

`FakePulumi` replaces only the `PulumiCommand` (the CLI process): the real
Automation API builds every command line, parses every answer and runs its
real event watchers, which this fake feeds the way the CLI does - over the
gRPC events stream (`--event-log tcp://...`, CLI > 3.205) or by writing JSON
lines to the event log file (older CLIs).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import grpc
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation.errors import create_command_error
from pulumi.runtime.proto import events_pb2, events_pb2_grpc
from semver import VersionInfo

PROJECT = "stack-recipes"
HISTORY_TIME = "2025-01-02T03:04:05.000Z"


def urn(stack: str, type_: str, name: str, parent_types: tuple[str, ...] = ()) -> str:
    qualified = "$".join((*parent_types, type_))
    return f"urn:pulumi:{stack}::{PROJECT}::{qualified}::{name}"


# --- engine events as the CLI writes them ---------------------------------------

def pre(urn_: str, type_: str, op: str = "create") -> dict[str, Any]:
    return {"resourcePreEvent": {"metadata": {"op": op, "urn": urn_, "type": type_, "provider": ""}}}


def outputs(urn_: str, type_: str, op: str = "create") -> dict[str, Any]:
    return {"resOutputsEvent": {"metadata": {"op": op, "urn": urn_, "type": type_, "provider": ""}}}


def failed(urn_: str, type_: str, op: str = "create") -> dict[str, Any]:
    return {"resOpFailedEvent": {"metadata": {"op": op, "urn": urn_, "type": type_, "provider": ""}, "status": 1, "steps": 1}}


def diagnostic(message: str, severity: str = "info", urn_: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "color": "never", "severity": severity, **extra}
    if urn_:
        body["urn"] = urn_
    return {"diagnosticEvent": body}


def summary(**changes: int) -> dict[str, Any]:
    return {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}}}


@dataclass
class Call:
    args: list[str]
    cwd: str
    env: dict[str, str]

    @property
    def command(self) -> str:
        return command_of(self.args)

    def value(self, flag: str) -> str | None:
        if flag in self.args:
            i = self.args.index(flag)
            return self.args[i + 1] if i + 1 < len(self.args) else None
        return None

    def values(self, flag: str) -> list[str]:
        return [self.args[i + 1] for i, a in enumerate(self.args[:-1]) if a == flag]


def command_of(args: list[str]) -> str:
    """The subcommand: up to two leading words, e.g. "stack select", "up", "plugin ls"."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-") or len(words) == 2:
            break
        words.append(arg)
    if words and words[0] not in ("stack", "plugin", "config"):
        words = words[:1]
    return " ".join(words)


class FakePulumi(PulumiCommand):
    """Records every CLI call and answers from a script; never starts a process."""

    def __init__(self, version: str = "3.272.0"):  # no super().__init__: it would run `pulumi version`
        self.command = "pulumi"
        self.version = VersionInfo.parse(version)
        self.calls: list[Call] = []
        self.stacks: set[str] = set()
        self.plugins: list[dict[str, Any]] = []
        self.stack_outputs: dict[str, Any] = {}
        self.secret_outputs: set[str] = set()
        self.deployment: dict[str, Any] | None = None
        self.events: dict[str, list[dict[str, Any]]] = {}  # command -> events to stream
        self.failures: dict[str, CommandResult] = {}  # command -> result of a failing run
        self.changes: dict[str, int] = {"create": 1}  # what `stack history` reports for the last update
        self.programs: list[tuple[str, Any]] = []  # (command, inline program the CLI was pointed at)
        self.release_targets = True  # a targeted `up` drops retainOnDelete from the targeted resources
        self.config: dict[str, dict[str, str]] = {}  # stack -> key -> value (`config set`, `config --json`)

    # --- what tests look at ---------------------------------------------------
    def called(self, command: str) -> list[Call]:
        return [c for c in self.calls if c.command == command]

    def commands(self) -> list[str]:
        return [c.command for c in self.calls]

    # --- the CLI ----------------------------------------------------------------
    def run(self, args, cwd, additional_env, on_output=None, on_error=None) -> CommandResult:
        call = Call(list(args), cwd, dict(additional_env))
        self.calls.append(call)
        command = call.command
        stack = call.value("--stack")

        if command in ("up", "preview", "destroy", "refresh"):
            self._capture_program(command)
            self._stream_events(command, call.value("--event-log"))

        if command in self.failures:
            raise create_command_error(self.failures[command])

        if command == "stack select":
            if stack not in self.stacks:
                return self._fail(f"error: no stack named '{stack}' found")
        elif command == "stack init":
            self.stacks.add(args[2])
        elif command == "config set":
            self.config.setdefault(stack, {})[args[2]] = args[-1]
        elif command == "config":
            return self._ok(json.dumps({k: {"value": v, "secret": False} for k, v in self.config.get(stack, {}).items()}))
        elif command == "plugin ls":
            return self._ok(json.dumps(self.plugins))
        elif command == "plugin install":
            _, _, kind, name, version = args[:5]
            self.plugins.append({"name": name, "kind": kind, "version": version.lstrip("v"), "size": 1,
                                 "installTime": HISTORY_TIME, "lastUsedTime": HISTORY_TIME})
        elif command == "stack output":
            if "--show-secrets" in args:
                return self._ok(json.dumps(self.stack_outputs))
            masked = {k: ("[secret]" if k in self.secret_outputs else v) for k, v in self.stack_outputs.items()}
            return self._ok(json.dumps(masked))
        elif command == "stack history":
            return self._ok(json.dumps([{
                "kind": "update", "startTime": HISTORY_TIME, "endTime": HISTORY_TIME, "message": "",
                "environment": {}, "config": {}, "result": "succeeded", "version": len(self.calls),
                "resourceChanges": self.changes,
            }]))
        elif command == "stack export":
            state: dict[str, Any] = {"version": 3}
            if self.deployment is not None:
                state["deployment"] = self.deployment
            return self._ok(json.dumps(state))
        elif command == "up" and self.deployment is not None and self.release_targets:
            # What the engine does to the state: targeted resources take the program's new options.
            # (Tests only target resources to release them from retain_on_delete.)
            for resource in self.deployment.get("resources", []):
                if resource["urn"] in call.values("--target"):
                    resource.pop("retainOnDelete", None)
                    resource.pop("protect", None)
        elif command == "destroy" and self.deployment is not None:
            # A targeted destroy deletes the targets only (the rules themselves: tests/support/pulumi_rules.py).
            targets = set(call.values("--target"))
            self.deployment = {**self.deployment, "resources": [
                r for r in self.deployment.get("resources") or [] if targets and r["urn"] not in targets
            ]}
        return self._ok("")

    @staticmethod
    def _ok(stdout: str) -> CommandResult:
        return CommandResult(stdout=stdout, stderr="", code=0)

    @staticmethod
    def _fail(stderr: str) -> CommandResult:
        raise create_command_error(CommandResult(stdout="", stderr=stderr, code=255))

    def _capture_program(self, command: str) -> None:
        """The inline program the Automation API serves to the CLI for this command (on `--client`)."""
        frame = sys._getframe(1)
        while frame is not None:
            server = frame.f_locals.get("language_server")
            if server is not None and hasattr(server, "program"):
                self.programs.append((command, server.program))
                return
            frame = frame.f_back

    def _stream_events(self, command: str, log: str | None) -> None:
        if not log:
            return
        payloads = [
            {"sequence": i, "timestamp": int(time.time()), **event}
            for i, event in enumerate(self.events.get(command, []), start=1)
        ]
        if log.startswith("tcp://"):
            with grpc.insecure_channel(log[len("tcp://"):]) as channel:
                stub = events_pb2_grpc.EventsStub(channel)
                stub.StreamEvents(iter([events_pb2.EventRequest(event=json.dumps(p)) for p in payloads]), timeout=10)
        else:
            payloads.append({"sequence": len(payloads) + 1, "timestamp": int(time.time()), "cancelEvent": {}})
            with open(log, "a", encoding="utf-8") as handle:
                for payload in payloads:
                    handle.write(json.dumps(payload) + "\n")
