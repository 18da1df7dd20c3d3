"""The stacks' Kubernetes objects, as the API server and Checkov's kubernetes framework judge them.

What is not scanned: the Helm releases, which the cluster renders from chart repositories this
machine cannot reach. On the default and prod stacks of every cloud, and on every stack of the
`kubernetes` provider, these are istio-base (base 1.27.3), istiod (istiod 1.27.3),
istio-ingressgateway (gateway 1.27.3), seldon-core (seldon-core-operator 1.17.1) and cert-manager
(cert-manager v1.18.2), and on AWS cluster-autoscaler (cluster-autoscaler 9.53.0). HELM_RELEASES
holds that list and a test keeps it true. Objects of custom resource definitions (Istio,
cert-manager) have no schema in kubernetes-validate: they are reported, not validated.

The `kubernetes` provider's own objects (the in-cluster object store: its namespace, Deployment,
bucket Job, Service, volume claim, Secrets and NetworkPolicies; the keys copied into the mlflow and
zenml namespaces) are validated and scanned like the rest, and none of them is on the allow list.
"""

from __future__ import annotations

import fnmatch

import pytest
import yaml

from .render_kubernetes import api_version_and_kind
from .scanners import run_kubernetes_validate
from .stacks import STACKS, kubernetes_versions

HELM_RELEASES = {
    ("istio-base", "base"), ("istiod", "istiod"), ("istio-ingressgateway", "gateway"),
    ("seldon-core", "seldon-core-operator"), ("cert-manager", "cert-manager"), ("cluster-autoscaler", "cluster-autoscaler"),
}
# API groups of the Kubernetes API itself (kubernetes-validate has their schemas); the others are
# custom resources, whose schemas come with their charts.
BUILT_IN_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}

# Checkov's kubernetes failures allowed today: (check id, resource as Checkov names it,
# "Kind.namespace.name", fnmatch pattern) -> why. Shrink it as the fixes land.
ALLOWED_FAILURES: dict[tuple[str, str], str] = {
    ("CKV_K8S_43", "Deployment.mlflow.mlflow"):
        "the MLflow image's digest could not be read offline (no registry access): recipes/kubernetes/versions.py "
        "DIGEST_PENDING says how to pin it; `recipe check` T5 warns until then",
    ("CKV_K8S_15", "Deployment.mlflow.mlflow"):
        "goes with CKV_K8S_43: an image pinned by digest passes whatever its pull policy "
        "(checkov/kubernetes/checks/resource/k8s/ImagePullPolicyAlways.py)",
    ("CKV_K8S_35", "Deployment.mlflow.mlflow"):
        "MLflow takes its backend store URI (with the database password) and Flask secret key from the "
        "environment or its command line, not from a file: an env var from the Secret is the better of the two. "
        "On the kubernetes provider the bucket's static keys come the same way: botocore's file sources read both "
        "keys from one file in their own format, and the keys' Secret (--bucket-secret's, or the store's copy) "
        "holds two entries",
    ("CKV_K8S_40", "Deployment.mlflow.tracker-db"):
        "PostgreSQL runs as the image's postgres user (999): existing data volumes belong to it, and PostgreSQL "
        "refuses a data directory owned by another user, so moving it would break every deployed stack's database",
}


def allowed(check) -> str | None:
    for (check_id, pattern), reason in ALLOWED_FAILURES.items():
        if check.check_id == check_id and fnmatch.fnmatchcase(check.resource, pattern):
            return reason
    return None


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_is_valid_for_every_supported_kubernetes_version(scans, stack):
    """kubernetes-validate --strict (unknown fields are errors) against the oldest and newest version
    the stack's pinned charts support: zero errors, and every built-in object really validated."""
    rendered = scans.rendered(stack)
    validations = scans.validations(stack)
    versions = kubernetes_versions(rendered.plan.spec)
    assert versions, "a stack with a cluster has a supported Kubernetes range"
    errors = [f"{v.file} {v.object} {v.version}: {v.message}" for v in validations if v.status == "error"]
    assert not errors, "\n".join(errors)
    validated = {(v.file, v.version) for v in validations if v.status == "passed"}
    for name, body in rendered.manifests.files.items():
        group = body["apiVersion"].rpartition("/")[0]
        if group in BUILT_IN_GROUPS or group.endswith(".k8s.io"):
            assert {(name, version) for version in versions} <= validated, f"{name} was not validated"
        else:
            assert not any(file == name for file, _ in validated), f"{name}: a schema for {group}? move it to built-ins"


def test_the_validator_rejects_what_the_api_server_would(tmp_path, venv):
    """The harness's own check: a field the API does not know, and a string where it wants an
    integer, are errors; so a clean run above means valid objects, not a validator that saw nothing."""
    def deployment(name: str, replicas, container_field: str) -> dict:
        container = {"name": "c", "image": "busybox:1.36", container_field: "Always"}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "x"},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"a": "b"}},
                         "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container]}}}}

    files = {"typo": deployment("typo", 1, "imagePullPolicys"), "string": deployment("string", "1", "imagePullPolicy")}
    for name, body in files.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(body))
    results = run_kubernetes_validate(venv, sorted(tmp_path.glob("*.yaml")), ["1.33"])
    errors = {v.file: v.message for v in results if v.status == "error"}
    assert set(errors) == {"typo.yaml", "string.yaml"}, results
    assert "imagePullPolicys" in errors["typo.yaml"] and "'1' is not of type 'integer'" in errors["string.yaml"], errors


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_nothing_outside_the_allow_list(scans, stack):
    report = scans.checkov(stack)
    assert report.of("kubernetes", "passed"), "Checkov's kubernetes framework evaluated nothing"
    unexpected = [f"{c.check_id} {c.resource}: {c.name}" for c in report.of("kubernetes", "failed") if allowed(c) is None]
    assert not unexpected, "\n".join(unexpected)
    assert not report.parsing_errors.get("kubernetes"), report.parsing_errors


def test_every_allowed_failure_still_fails_somewhere(scans):
    """An allow-list entry nothing fails any more is a fix to record: remove it."""
    used = set()
    for stack in STACKS:
        for check in scans.checkov(stack).of("kubernetes", "failed"):
            used |= {key for key in ALLOWED_FAILURES if check.check_id == key[0] and fnmatch.fnmatchcase(check.resource, key[1])}
    assert set(ALLOWED_FAILURES) <= used, f"no longer failing: {sorted(set(ALLOWED_FAILURES) - used)}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_resource_is_scanned_but_the_helm_releases(scans, stack):
    rendered = scans.rendered(stack)
    releases = {(r.name, r.inputs.get("chart")) for r in rendered.plan.by_type("kubernetes:helm.sh/v3:Release")}
    assert releases <= HELM_RELEASES, f"update this module's docstring and HELM_RELEASES: {sorted(releases - HELM_RELEASES)}"
    objects = [r for r in rendered.plan.resources if r.custom and r.type.startswith("kubernetes:")
               and r.type != "kubernetes:helm.sh/v3:Release"]
    assert len(rendered.manifests.objects) == len(objects)
    assert sorted((o["apiVersion"], o["kind"]) for o in rendered.manifests.objects) == \
        sorted(api_version_and_kind(r.type) for r in objects)
