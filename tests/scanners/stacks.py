"""The stacks the scanners read, and their plans rendered into the files each scanner takes.

Each cloud's default stack and its prod profile: the specs `recipe plan <cloud>` and
`recipe plan <cloud> --profile prod` use (tests.conftest.DEFAULT_FLAGS: the stack ml-dev, and on GCP
the project demo-project, as tests/recipes plans them), planned by the same runner. And the
`kubernetes` provider's (a cluster the user has, reached by --context): `recipe plan kubernetes
--context k3d-ml`, its prod profile, and the variants that render other objects: the user's own
bucket and registry (no in-cluster object store, no copied keys) and --expose nodeport (the front
door's Service). A plan whose resources include no cloud's (the `kubernetes` provider creates none
outside the cluster) has no cloud part: no Terraform, no ARM template, no IAM document.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import render_arm, render_kubernetes, render_terraform
from .scanners import run_checkov, run_kubernetes_validate, run_parliament

CLOUDS = ("aws", "gcp", "azure")
PROFILES = ("dev", "prod")
# The `kubernetes` provider's stacks: flags on top of `recipe plan kubernetes --context k3d-ml --name ml-dev`.
KUBERNETES_FLAGS = {"provider": "kubernetes", "name": "ml-dev", "context": "k3d-ml"}
KUBERNETES_VARIANTS: dict[str, dict[str, Any]] = {
    "kubernetes-dev": {},
    "kubernetes-prod": {"profile": "prod"},
    "kubernetes-own-bucket": {"bucket": "s3://ml-artifacts", "bucket_endpoint": "https://minio.corp.example",
                              "bucket_secret": "ml-bucket-keys", "registry": "registry.corp.example/ml"},
    "kubernetes-nodeport": {"expose": "nodeport"},
}


def _stack_flags() -> dict[str, dict[str, Any]]:
    from tests.conftest import DEFAULT_FLAGS

    clouds = {f"{cloud}-{profile}": {**DEFAULT_FLAGS[cloud], **({} if profile == "dev" else {"profile": profile})}
              for cloud in CLOUDS for profile in PROFILES}
    return {**clouds, **{stack: {**KUBERNETES_FLAGS, **flags} for stack, flags in KUBERNETES_VARIANTS.items()}}


STACK_FLAGS = _stack_flags()  # stack -> the flags `recipe plan` is given
STACKS = tuple(STACK_FLAGS)


def provider_of(stack: str) -> str:
    return STACK_FLAGS[stack]["provider"]


def spec_of(stack: str):
    from recipes.spec import Layer, load_spec

    return load_spec(Layer("flags", STACK_FLAGS[stack]))


@dataclass
class Rendered:
    """One stack's plan as files: k8s/*.yaml, and cloud/main.tf (AWS, GCP) or cloud/template.json (Azure)."""

    stack: str
    folder: Path
    plan: Any
    manifests: render_kubernetes.Manifests
    terraform: render_terraform.TerraformModule | None = None
    arm: render_arm.ArmTemplate | None = None
    policies: list[render_terraform.PolicyDocument] = field(default_factory=list)
    revealed: Any = None  # the same spec's plan with secrets in clear, when its Secrets needed it

    @property
    def cloud(self) -> str:
        return self.plan.spec.provider

    @property
    def cloud_framework(self) -> str | None:
        """Checkov's framework for the stack's cloud part; None when it has none (the `kubernetes` provider)."""
        return "terraform" if self.terraform else "arm" if self.arm else None

    @property
    def kubernetes_folder(self) -> Path:
        return self.folder / "k8s"

    @property
    def cloud_folder(self) -> Path:
        return self.folder / "cloud"

    def unmapped(self) -> list[tuple[str, str]]:
        """Cloud resources the renderers could not express (no Terraform type, no ARM type)."""
        return [*(self.terraform.unmapped if self.terraform else []), *(self.arm.unmapped if self.arm else [])]

    def source_of(self, framework: str, resource: str) -> tuple[str, str] | None:
        """The plan's (type, name) of a resource as a scanner names it, None if not one of ours."""
        if framework == "terraform" and self.terraform:
            return self.terraform.source(resource)
        if framework == "arm" and self.arm:
            return self.arm.addresses.get(resource)
        return None


def kubernetes_versions(spec) -> list[str]:
    """The Kubernetes versions to validate against: the stack's own and the ends of its range."""
    from recipes.kubernetes.versions import kubernetes_range

    supported = kubernetes_range(spec.components, spec.deployer)
    versions = [] if supported is None else [f"1.{supported.oldest}", f"1.{supported.newest}"]
    if spec.kubernetes_version:
        versions.append(spec.kubernetes_version)
    return sorted(set(versions), key=lambda v: tuple(int(p) for p in v.split(".")))


def render(stack: str, folder: Path) -> Rendered:
    """Plan `stack` and write what the scanners read under `folder`."""
    from provisioner.analysis.plan import run_plan, run_plan_revealed

    spec = spec_of(stack)
    plan = run_plan(spec)
    masked = any(r.secret_inputs for r in plan.resources if r.type.startswith(render_kubernetes.PREFIX))
    return render_plan(stack, folder, plan, run_plan_revealed(spec) if masked else None)


def render_plan(stack: str, folder: Path, plan, revealed=None) -> Rendered:
    """Write `plan` (and `revealed`, the same spec's plan with secrets in clear) under `folder`."""
    manifests = render_kubernetes.render(plan, revealed)
    render_kubernetes.write(manifests, folder / "k8s")
    rendered = Rendered(stack, folder, plan, manifests, revealed=revealed)
    rendered.policies = render_terraform.iam_documents(plan)  # AWS's: none in a plan without AWS resources
    # The cloud part is what the plan has of a cloud's resources (a renderer's prefixes), whatever the stack.
    if has_resources(plan, render_terraform.CLOUD_PREFIXES):
        rendered.terraform = render_terraform.render(plan)
        rendered.cloud_folder.mkdir(parents=True, exist_ok=True)
        (rendered.cloud_folder / "main.tf").write_text(render_terraform.hcl(rendered.terraform.document))
    if has_resources(plan, (render_arm.PREFIX,)):
        rendered.arm = render_arm.render(plan)
        rendered.cloud_folder.mkdir(parents=True, exist_ok=True)
        (rendered.cloud_folder / "template.json").write_text(json.dumps(rendered.arm.document, indent=1))
    return rendered


def has_resources(plan, prefixes: tuple[str, ...]) -> bool:
    return any(r.custom and r.type.startswith(prefixes) for r in plan.resources)


class Scans:
    """Each stack rendered, and each scanner run on it, once: what the tests and the report share."""

    def __init__(self, root: Path, venv: Path, stacks: tuple[str, ...] = STACKS):
        self.root, self.venv, self.stacks = root, venv, tuple(stacks)
        self._rendered: dict[str, Rendered] = {}
        self._checkov: dict[str, Any] = {}
        self._validations: dict[str, Any] = {}
        self._findings: dict[str, Any] = {}

    def rendered(self, stack: str) -> Rendered:
        if stack not in self._rendered:
            self._rendered[stack] = render(stack, self.root / stack)
        return self._rendered[stack]

    def checkov(self, stack: str):
        """Checkov's report; the first call scans every stack of this session, a few at a time (one
        process each, their start-up is most of their time)."""
        if stack not in self._checkov:
            todo = [s for s in (self.stacks if stack in self.stacks else (stack,)) if s not in self._checkov]
            rendered = [self.rendered(s) for s in todo]  # planning is not thread-safe: first, in turn
            with ThreadPoolExecutor(max_workers=max(1, min(3, os.cpu_count() or 1))) as pool:
                for s, report in zip(todo, pool.map(lambda r: run_checkov(self.venv, r), rendered)):
                    self._checkov[s] = report
        return self._checkov[stack]

    def validations(self, stack: str):
        """kubernetes-validate's results on the stack's manifests, for each version it supports."""
        if stack not in self._validations:
            rendered = self.rendered(stack)
            files = sorted(rendered.kubernetes_folder.glob("*.yaml"))
            self._validations[stack] = run_kubernetes_validate(self.venv, files, kubernetes_versions(rendered.plan.spec))
        return self._validations[stack]

    def findings(self, stack: str):
        """parliament's findings on the stack's IAM documents (none on GCP and Azure)."""
        if stack not in self._findings:
            rendered = self.rendered(stack)
            self._findings[stack] = run_parliament(self.venv, rendered.policies, rendered.folder / "iam")
        return self._findings[stack]
