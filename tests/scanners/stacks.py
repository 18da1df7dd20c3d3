"""The stacks the scanners read, and their plans rendered into the files each scanner takes.

Each cloud's default stack and its prod profile: the specs `recipe plan <cloud>` and
`recipe plan <cloud> --profile prod` use (tests.conftest.spec_for: the stack ml-dev, and on GCP
the project demo-project, as tests/recipes plans them), planned by the same runner.
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
STACKS = tuple(f"{cloud}-{profile}" for cloud in CLOUDS for profile in PROFILES)


def spec_of(stack: str):
    from tests.conftest import spec_for

    cloud, profile = stack.split("-")
    return spec_for(cloud) if profile == "dev" else spec_for(cloud, profile=profile)


@dataclass
class Rendered:
    """One stack's plan as files: k8s/*.yaml, cloud/main.tf (AWS, GCP) or cloud/template.json (Azure)."""

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
    (folder / "cloud").mkdir(parents=True, exist_ok=True)
    if plan.spec.provider in ("aws", "gcp"):
        rendered.terraform = render_terraform.render(plan)
        (folder / "cloud" / "main.tf").write_text(render_terraform.hcl(rendered.terraform.document))
    if plan.spec.provider == "aws":
        rendered.policies = render_terraform.iam_documents(plan)
    if plan.spec.provider == "azure":
        rendered.arm = render_arm.render(plan)
        (folder / "cloud" / "template.json").write_text(json.dumps(rendered.arm.document, indent=1))
    return rendered


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
