"""The cloud-agnostic Kubernetes workloads (MLflow, Postgres, model deployer) as planned in the AWS stack."""

from __future__ import annotations

import json

import pytest

from recipes.kubernetes import versions, workload
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.plans import GATEWAY, container, pod_spec


def pg_uid() -> int:
    return versions.POSTGRES_UID


def mlflow_deployment(plan):
    return plan.one(k8s_facts.DEPLOYMENT, "tracker-server")


# ---------------------------------------------------------------------------
# MLflow


def test_mlflow_namespace_enforces_restricted_pod_security(aws_plan):
    ns = aws_plan.one(k8s_facts.NAMESPACE, "tracker-ns")
    assert ns.inputs["metadata"]["name"] == "mlflow"
    labels = ns.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert workload.RESTRICTED_NAMESPACE_LABELS.items() <= labels.items()


def test_mlflow_deployment_is_hardened(aws_plan):
    deployment = mlflow_deployment(aws_plan)
    assert deployment.inputs["metadata"]["namespace"] == "mlflow"
    spec = pod_spec(deployment)
    assert spec["serviceAccountName"] == "mlflow"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    server = container(deployment, "mlflow")
    assert server["image"] == versions.MLFLOW_IMAGE
    context = server["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context.get("privileged") is not True
    assert {"cpu", "memory"} <= set(server["resources"]["requests"])
    assert {"cpu", "memory"} <= set(server["resources"]["limits"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"]["path"] == "/health", probe
        assert server[probe]["httpGet"]["port"] == server["ports"][0]["containerPort"]


@pytest.mark.parametrize("name", ["tracker-server", "tracker-db"])
def test_every_container_image_is_pinned(aws_plan, name):
    for c in pod_spec(aws_plan.one(k8s_facts.DEPLOYMENT, name))["containers"]:
        image = c["image"]
        last = image.rsplit("/", 1)[-1]
        assert ":" in last or "@sha256:" in image, f"{image} has no tag"
        assert not image.endswith(":latest"), image


def test_mlflow_serves_artifacts_from_the_stack_bucket_with_basic_auth(aws_plan, make_spec):
    server = container(mlflow_deployment(aws_plan), "mlflow")
    args = server["args"]
    bucket = make_spec().names.s3_bucket()
    assert args[args.index("--app-name") + 1] == "basic-auth"
    assert args[args.index("--artifacts-destination") + 1] == f"s3://{bucket}/mlflow"
    # Artifacts are proxied (clients need no bucket credentials).
    assert "--serve-artifacts" in args


def test_mlflow_secrets_come_from_a_kubernetes_secret(aws_plan):
    deployment = mlflow_deployment(aws_plan)
    server = container(deployment, "mlflow")
    secret = aws_plan.one(k8s_facts.SECRET, "tracker-server")
    secret_name = secret.inputs["metadata"]["name"]
    env = {e["name"]: e for e in server["env"]}
    for key in ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert "value" not in env[key], key
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": key}
    # No connection string or credential in plain args or env values.
    plain = json.dumps(server["args"]) + json.dumps([e.get("value") for e in server["env"]])
    assert "postgresql://" not in plain
    assert "--backend-store-uri" not in server["args"]
    # The auth config (admin password) is mounted from the same Secret.
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    auth = next(v for v in volumes.values() if "secret" in v)
    assert auth["secret"]["secretName"] == secret_name
    assert secret.urn in deployment.dependencies


def test_secret_data_is_a_pulumi_secret(aws_plan):
    for name in ("tracker-server", "tracker-db-credentials"):
        secret = aws_plan.one(k8s_facts.SECRET, name)
        assert "stringData" in secret.secret_inputs, name
        assert secret.inputs["stringData"] == "********", name


def test_mlflow_starts_only_after_its_pod_identity(aws_plan):
    deployment = mlflow_deployment(aws_plan)
    identity = aws_plan.one("recipes:aws:BucketAccess", "mlflow-identity")
    association = aws_plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "mlflow-identity-association")
    role = aws_plan.one("aws:iam/role:Role", "mlflow-identity-role")
    policy = aws_plan.one("aws:iam/rolePolicy:RolePolicy", "mlflow-identity-policy")
    assert association.parent == identity.urn
    assert {association.urn, role.urn, policy.urn} <= set(deployment.dependencies)
    # The pods find their region without any credential in the environment.
    env = {e["name"]: e.get("value") for e in container(deployment, "mlflow")["env"]}
    assert env["AWS_REGION"] == "eu-west-1"
    assert not any(k.startswith("AWS_SECRET") or k == "AWS_ACCESS_KEY_ID" for k in env)


def test_one_load_balancer_serves_models_and_the_tracker(aws_plan):
    [service] = [s for s in aws_plan.by_type(k8s_facts.SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert service.name == "ingress-lb" and "loadBalancerSourceRanges" not in service.inputs["spec"]
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service.inputs["spec"]["ports"]}
    assert ports == {"http": (80, 80), "models": (443, 443), "mlflow": (5000, 5000)}
    # The tracker is at the same address, on its own HTTPS port.
    base = aws_plan.raw_outputs["deployer"]["base_url"]
    assert base.startswith("https://") and aws_plan.raw_outputs["tracker"]["uri"] == base + ":5000"


def test_istio_routes_the_tracker_port_to_mlflow(aws_plan):
    deployment = mlflow_deployment(aws_plan)
    service = aws_plan.one(k8s_facts.SERVICE, "tracker-svc")
    assert service.inputs["spec"]["type"] == "ClusterIP"
    assert service.inputs["spec"]["selector"].items() <= deployment.inputs["spec"]["template"]["metadata"]["labels"].items()
    gateway = aws_plan.one("kubernetes:networking.istio.io/v1beta1:Gateway", "tracker-gateway")
    [server] = gateway.inputs["spec"]["servers"]
    assert server["port"] == {"number": 5000, "name": "https-mlflow", "protocol": "HTTPS"}
    assert server["tls"] == {"mode": "SIMPLE", "credentialName": "front-door-tls", "minProtocolVersion": "TLSV1_2"}
    assert gateway.inputs["spec"]["selector"] == {"istio": "ingressgateway"}
    route = aws_plan.one("kubernetes:networking.istio.io/v1beta1:VirtualService", "tracker-route")
    assert route.inputs["spec"]["gateways"] == ["mlflow"] == [gateway.inputs["metadata"]["name"]]
    [destination] = route.inputs["spec"]["http"][0]["route"]
    assert destination["destination"] == {"host": "mlflow.mlflow.svc.cluster.local", "port": {"number": 5000}}
    # The route needs Istio's CRDs and gateway, which wait only for the nodes.
    istiod = aws_plan.one("kubernetes:helm.sh/v3:Release", "istiod")
    assert istiod.urn in aws_plan.deps_closure(gateway)


def test_without_the_deployer_the_tracker_is_served_on_443(plans, allow_cidrs):
    plan = plans(without=["deployer"], allow_cidrs=allow_cidrs)
    [service] = [s for s in plan.by_type(k8s_facts.SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    # --allow-cidr, then the stack's own NAT address (see test_internal_sources).
    assert service.name == "ingress-lb" and service.inputs["spec"]["loadBalancerSourceRanges"][:-1] == allow_cidrs
    assert {p["name"]: p["port"] for p in service.inputs["spec"]["ports"]} == {"http": 80, "mlflow": 443}
    [server] = plan.one(GATEWAY, "tracker-gateway").inputs["spec"]["servers"]
    assert server["port"]["number"] == 443 and server["tls"]["mode"] == "SIMPLE"
    uri = plan.raw_outputs["tracker"]["uri"]
    assert uri.startswith("https://") and ":5000" not in uri and ":443" not in uri


def test_load_balancers_restricted_to_allow_cidrs(restricted_plan, allow_cidrs):
    service = restricted_plan.one(k8s_facts.SERVICE, "ingress-lb")
    assert service.inputs["spec"]["type"] == "LoadBalancer"
    # --allow-cidr, then the stack's own NAT address (see test_internal_sources).
    assert service.inputs["spec"]["loadBalancerSourceRanges"][:-1] == allow_cidrs


# ---------------------------------------------------------------------------
# Postgres


def test_postgres_volume_is_a_pulumi_resource(aws_plan):
    claim = aws_plan.one(k8s_facts.PERSISTENT_VOLUME_CLAIM, "tracker-db-data")
    database = aws_plan.one("recipes:kubernetes:Postgres", "tracker-db")
    assert claim.parent == database.urn
    assert not claim.retain_on_delete  # destroy deletes it (and its disk)
    storage_class = aws_plan.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert claim.inputs["spec"]["storageClassName"] == storage_class.inputs["metadata"]["name"]
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteOnce"]
    deployment = aws_plan.one(k8s_facts.DEPLOYMENT, "tracker-db")
    volumes = pod_spec(deployment)["volumes"]
    assert {"persistentVolumeClaim": {"claimName": claim.inputs["metadata"]["name"]}, "name": "data"} in volumes
    assert claim.urn in deployment.dependencies
    assert not aws_plan.by_type("kubernetes:apps/v1:StatefulSet")


def test_postgres_deployment_recreates_and_is_hardened(aws_plan):
    deployment = aws_plan.one(k8s_facts.DEPLOYMENT, "tracker-db")
    assert deployment.inputs["spec"]["strategy"]["type"] == "Recreate"
    assert deployment.inputs["spec"]["replicas"] == 1
    pg = container(deployment, "postgres")
    assert pg["image"] == versions.POSTGRES_IMAGE
    assert pg["securityContext"]["allowPrivilegeEscalation"] is False
    assert pg["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod_spec(deployment)["securityContext"]["runAsNonRoot"] is True
    assert {"requests", "limits"} <= set(pg["resources"])
    assert "readinessProbe" in pg and "livenessProbe" in pg
    env = {e["name"]: e for e in pg["env"]}
    # The password reaches the container as a file from the Secret, never as an environment variable.
    assert "POSTGRES_PASSWORD" not in env
    credentials = aws_plan.one(k8s_facts.SECRET, "tracker-db-credentials")
    [volume] = [v for v in pod_spec(deployment)["volumes"] if v.get("secret")]
    assert volume["secret"]["secretName"] == credentials.inputs["metadata"]["name"]
    assert volume["secret"]["defaultMode"] == 0o440  # owner root, group the pod's fsGroup: the postgres user
    [mount] = [m for m in pg["volumeMounts"] if m["name"] == volume["name"]]
    [item] = volume["secret"]["items"]
    assert env["POSTGRES_PASSWORD_FILE"]["value"] == f"{mount['mountPath']}/{item['path']}" and mount["readOnly"] is True
    assert pod_spec(deployment)["securityContext"]["fsGroup"] == pg_uid()


# ---------------------------------------------------------------------------
# Model deployer


SELDON_RELEASES = {
    "cluster-autoscaler": versions.CLUSTER_AUTOSCALER,  # part of the EKS cluster
    "istio-base": versions.ISTIO_BASE,
    "istiod": versions.ISTIOD,
    "istio-ingressgateway": versions.ISTIO_GATEWAY,
    "cert-manager": versions.CERT_MANAGER,  # the front door's certificate
    "seldon-core": versions.SELDON_CORE,
}


KSERVE_RELEASES = {
    "cluster-autoscaler": versions.CLUSTER_AUTOSCALER,
    "istio-base": versions.ISTIO_BASE,
    "istiod": versions.ISTIOD,
    "istio-ingressgateway": versions.ISTIO_GATEWAY,
    "cert-manager": versions.CERT_MANAGER,
    "kserve-crd": versions.KSERVE_CRD,
    "kserve": versions.KSERVE,
}


def check_release(release, chart):
    inputs = release.inputs
    assert inputs["version"] == chart.version, release.name
    if chart.is_oci:
        assert inputs["chart"] == f"{chart.repo}/{chart.name}"
        assert "repositoryOpts" not in inputs
    else:
        assert inputs["chart"] == chart.name
        assert inputs["repositoryOpts"]["repo"] == chart.repo
    assert float(inputs["timeout"]) > 0, release.name


def test_versions_are_exact():
    import re

    charts = [v for v in vars(versions).values() if isinstance(v, versions.Chart)]
    assert len(charts) == 8
    for chart in charts:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", chart.version), chart
        assert chart.repo.startswith(("https://", "oci://")), chart
    for image in (versions.MLFLOW_IMAGE, versions.POSTGRES_IMAGE):
        assert re.search(r":\d+\.\d+(\.\d+)?(@sha256:[0-9a-f]{64})?$", image), image
    # By digest where the digest is known (versions.py says why MLflow's is not yet).
    assert "@sha256:" in versions.POSTGRES_IMAGE


def test_seldon_releases_are_pinned(aws_plan):
    releases = {r.name: r for r in aws_plan.by_type(k8s_facts.HELM_RELEASE)}
    assert set(releases) == set(SELDON_RELEASES)
    for name, chart in SELDON_RELEASES.items():
        check_release(releases[name], chart)
    assert releases["seldon-core"].inputs["namespace"] == "seldon-system"
    for name in ("istio-base", "istiod", "istio-ingressgateway"):
        assert releases[name].inputs["namespace"] == "istio-system"


def test_seldon_routes_through_the_istio_gateway(aws_plan):
    seldon = aws_plan.one(k8s_facts.HELM_RELEASE, "seldon-core")
    values = seldon.inputs["values"]
    assert values["istio"]["enabled"] is True
    assert values["istio"]["gateway"] == "istio-system/seldon-gateway"
    gateway = aws_plan.one(GATEWAY, "deployer-gateway")
    assert gateway.inputs["kind"] == "Gateway"
    assert gateway.inputs["apiVersion"].startswith("networking.istio.io/")
    assert gateway.inputs["metadata"]["name"] == "seldon-gateway"
    assert gateway.inputs["metadata"]["namespace"] == "istio-system"
    assert gateway.inputs["spec"]["selector"] == {"istio": "ingressgateway"}
    assert gateway.urn in seldon.dependencies
    # The gateway CR needs Istio's CRDs and gateway pods first.
    for name in ("istio-base", "istiod", "istio-ingressgateway"):
        assert aws_plan.one(k8s_facts.HELM_RELEASE, name).urn in gateway.dependencies


def test_istio_ingress_gateway_selected_by_the_load_balancer(aws_plan):
    gateway_release = aws_plan.one(k8s_facts.HELM_RELEASE, "istio-ingressgateway")
    assert gateway_release.inputs["values"]["service"]["type"] == "ClusterIP"
    service = aws_plan.one(k8s_facts.SERVICE, "ingress-lb")
    assert service.inputs["spec"]["selector"].items() <= gateway_release.inputs["values"]["labels"].items()
    assert gateway_release.urn in service.dependencies
    assert aws_plan.one(k8s_facts.HELM_RELEASE, "istiod").urn in gateway_release.dependencies
    assert aws_plan.one(k8s_facts.HELM_RELEASE, "istio-base").urn in aws_plan.one(k8s_facts.HELM_RELEASE, "istiod").dependencies


def test_seldon_outputs(aws_plan):
    deployer = aws_plan.raw_outputs["deployer"]
    assert deployer["flavor"] == "seldon"
    assert deployer["namespace"] == "seldon"
    assert deployer["base_url"].startswith("https://")
    # Clients of the models trust the same stack CA as the tracker's.
    assert deployer["ca_certificate"] == aws_plan.raw_outputs["tracker"]["ca_certificate"]
    models_ns = [n.inputs["metadata"]["name"] for n in aws_plan.by_type(k8s_facts.NAMESPACE)]
    assert "seldon" in models_ns and "seldon-system" in models_ns


def test_kserve_deployer(plans):
    plan = plans(deployer="kserve")
    releases = {r.name: r for r in plan.by_type(k8s_facts.HELM_RELEASE)}
    assert set(releases) == set(KSERVE_RELEASES)
    assert "seldon-core" not in releases
    # KServe uses the IngressClass: no Gateway of its own, no HTTPS port for models (deployer.py says why).
    assert sorted(g.name for g in plan.by_type(GATEWAY)) == ["ingress-redirect", "tracker-gateway"]
    for name, chart in KSERVE_RELEASES.items():
        check_release(releases[name], chart)
    controller = releases["kserve"].inputs["values"]["kserve"]["controller"]
    assert controller["deploymentMode"] == "RawDeployment"
    assert controller["gateway"]["ingressGateway"]["className"] == "istio"
    assert releases["cert-manager"].inputs["values"]["crds"]["enabled"] is True
    kserve_deps = set(releases["kserve"].dependencies)
    assert {releases["cert-manager"].urn, releases["kserve-crd"].urn, releases["istiod"].urn} <= kserve_deps
    deployer = plan.raw_outputs["deployer"]
    assert deployer["flavor"] == "kserve"
    assert deployer["namespace"] == "kserve-models"
    assert deployer["base_url"].startswith("http://") and "ca_certificate" not in deployer
    assert {"kserve", "kserve-models", "cert-manager"} <= {n.inputs["metadata"]["name"] for n in plan.by_type(k8s_facts.NAMESPACE)}


# ---------------------------------------------------------------------------
# Pipelines namespace


def test_pipelines_namespace_for_zenml(aws_plan):
    ns = aws_plan.one(k8s_facts.NAMESPACE, "pipelines-ns")
    assert ns.inputs["metadata"]["name"] == "zenml"
    account = aws_plan.one("kubernetes:core/v1:ServiceAccount", "pipelines-sa")
    assert account.inputs["metadata"]["name"] == "zenml-service-account"
    # The service account exists only once its pod identity does.
    association = aws_plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "pipelines-identity-association")
    assert association.urn in account.dependencies
    binding = aws_plan.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "pipelines-edit")
    assert binding.inputs["roleRef"]["kind"] == "ClusterRole" and binding.inputs["roleRef"]["name"] == "edit"
    assert binding.inputs["metadata"]["namespace"] == "zenml"  # a RoleBinding: that namespace only
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "zenml-service-account", "namespace": "zenml"}]
    assert not aws_plan.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
