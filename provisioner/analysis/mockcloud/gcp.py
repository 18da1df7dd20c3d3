"""Mock answers for pulumi-gcp resources: what GCP computes and the GCP program reads back.

`id` is popped by `provisioner.analysis.plan` as the resource id (the path GCP uses).

Only values the program uses (endpoints, emails, members, resource names) or a
user would look at in `recipe plan` are answered; everything else is the
resource's inputs, as in a deploy. The data sources the GCP program calls
(with `--kms`: the project number, the Cloud Storage service agent) are
answered in `call` with the fake project number.

Where GCP refuses what a program asks, so does this mock: an IAM grant to a Google
service agent (`service-<project number>@...`) that nothing in the plan created
before it (a `ServiceIdentity`, the Cloud Storage agent lookup, or enabling the API
whose agent comes with it) fails as GCP fails it, with "Service account ... does
not exist". The agents created so far are recorded in `context.state["gcp"]`, and so
are the APIs enabled so far: a GKE cluster that enforces Binary Authorization before
the plan enabled its API fails as GKE fails it. So does a cluster asking for GKE
Dataplane V2 and the legacy (Calico) NetworkPolicy enforcement at once.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from recipes.facts.gcp import (
    ARTIFACT_REGISTRY,
    COMPUTE_ADDRESS,
    COMPUTE_NETWORK,
    COMPUTE_ROUTER,
    COMPUTE_SUBNETWORK,
    GCS_BUCKET,
    GKE_CLUSTER,
    GKE_NODE_POOL,
    KMS_CRYPTO_KEY,
    KMS_CRYPTO_KEY_IAM_MEMBER,
    KMS_KEY_RING,
    PROJECT_SERVICE,
    PROJECT_SERVICE_IDENTITY,
    SERVICE_ACCOUNT,
)

from . import FAKE_GCP_PROJECT_NUMBER, Context, digest

FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK GKE CA\n-----END CERTIFICATE-----\n").decode()


class GcpError(Exception):
    """What GCP answers a request it refuses."""


# ---------------------------------------------------------------------------
# Google service agents: they exist only once something created them

SERVICE_AGENT = re.compile(r"^serviceAccount:(service-\d+@[a-z0-9.-]+\.gserviceaccount\.com)$")
# Agents enabling an API creates with it, by the domain of their address.
AGENTS_OF_API = {"container.googleapis.com": ("container-engine-robot.iam.gserviceaccount.com",)}
# The domain of a service's identity (generateServiceIdentity), where it is not gcp-sa-<service>.
IDENTITY_DOMAINS = {"container.googleapis.com": "container-engine-robot.iam.gserviceaccount.com"}
CLOUD_STORAGE_AGENT_DOMAIN = "gs-project-accounts.iam.gserviceaccount.com"


def agent_email(domain: str) -> str:
    return f"service-{FAKE_GCP_PROJECT_NUMBER}@{domain}"


def _agents(context: Context) -> set[str]:
    return context.state.setdefault("gcp", {}).setdefault("agents", set())


def _check_grant(type_: str, name: str, inputs: dict[str, Any], context: Context) -> None:
    """GCP checks that every member of a grant exists; a service agent exists only once created."""
    members = inputs.get("members") or ([inputs["member"]] if inputs.get("member") else [])
    for member in members:
        match = SERVICE_AGENT.match(str(member))
        if match and match.group(1) not in _agents(context):
            kind = type_.rsplit(":", 1)[-1]
            raise GcpError(
                f"creating {kind} ({name}): Error applying IAM policy: googleapi: Error 400: Service account "
                f"{match.group(1)} does not exist., badRequest"
            )


def _apis(context: Context) -> set[str]:
    return context.state.setdefault("gcp", {}).setdefault("apis", set())


def _check_dataplane(name: str, inputs: dict[str, Any]) -> None:
    """Dataplane V2 enforces NetworkPolicy itself; GKE refuses to turn on Calico's enforcement beside it."""
    if inputs.get("datapathProvider") == "ADVANCED_DATAPATH" and (inputs.get("networkPolicy") or {}).get("enabled"):
        raise GcpError(f"creating Cluster ({name}): googleapi: Error 400: Enabling NetworkPolicy for clusters with "
                       "DatapathProvider=ADVANCED_DATAPATH is not allowed., badRequest")


def _check_binary_authorization(name: str, inputs: dict[str, Any], context: Context) -> None:
    """GKE asks the Binary Authorization API about every pod: it refuses the setting while that API is off."""
    config = inputs.get("binaryAuthorization") or {}
    if "enabled" in config and "evaluationMode" in config:
        raise GcpError(f'creating Cluster ({name}): "binary_authorization.0.enabled": conflicts with '
                       "binary_authorization.0.evaluation_mode")
    enforced = config.get("evaluationMode", "DISABLED") != "DISABLED" or config.get("enabled") is True
    if enforced and "binaryauthorization.googleapis.com" not in _apis(context):
        raise GcpError(
            f"creating Cluster ({name}): googleapi: Error 403: Binary Authorization API has not been used in project "
            f"{FAKE_GCP_PROJECT_NUMBER} before or it is disabled. Enable it by visiting https://console.developers."
            f"google.com/apis/api/binaryauthorization.googleapis.com/overview?project={FAKE_GCP_PROJECT_NUMBER} then "
            "retry., accessNotConfigured"
        )


def _check_maintenance(name: str, inputs: dict[str, Any]) -> None:
    """The GKE API's rules for maintenance exclusions, as the provider and the API enforce them."""
    policy = inputs.get("maintenancePolicy") or {}
    for exclusion in policy.get("maintenanceExclusions") or []:
        options = exclusion.get("exclusionOptions") or {}
        if not exclusion.get("startTime"):
            raise GcpError(f"creating Cluster ({name}): maintenance exclusion {exclusion.get('exclusionName')}: start_time is required")
        if bool(exclusion.get("endTime")) == bool(options.get("endTimeBehavior")):
            raise GcpError(f"creating Cluster ({name}): exactly one of end_time and exclusion_options.end_time_behavior must be set")
        if options.get("scope") and not (inputs.get("releaseChannel") or {}).get("channel"):
            raise GcpError(f"creating Cluster ({name}): googleapi: Error 400: scoped maintenance exclusions require a release channel")
    if policy and not (policy.get("dailyMaintenanceWindow") or policy.get("recurringWindow")):
        raise GcpError(f"creating Cluster ({name}): maintenance_policy needs exactly one of daily_maintenance_window, recurring_window")


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    project = inputs.get("project") or context.spec.project or "mock-project"
    region = context.region
    out: dict[str, Any] = {"project": project}
    if type_ == GKE_CLUSTER:
        _check_maintenance(name, inputs)
        _check_dataplane(name, inputs)
        _check_binary_authorization(name, inputs, context)
        cluster = inputs.get("name", name)
        location = inputs.get("location", region)
        h = digest(project, location, cluster, length=4)
        public_ip = f"34.{int(h[:2], 16) % 200 + 1}.{int(h[2:], 16) % 250 + 1}.10"
        # The control plane's internal address, in the node subnet (a PSC-based cluster).
        private_ip = f"10.0.0.{int(h[2:], 16) % 200 + 2}"
        private = inputs.get("privateClusterConfig") or {}
        if private.get("enablePrivateNodes"):
            out["privateClusterConfig"] = {
                **private,
                "privateEndpoint": private_ip,
                **({} if private.get("enablePrivateEndpoint") else {"publicEndpoint": public_ip}),
            }
        # With a private endpoint GKE reports the internal address as the cluster's endpoint.
        endpoint = private_ip if private.get("enablePrivateEndpoint") else public_ip
        # Every cluster has a DNS endpoint (gke-<hash>.<region>.gke.goog); it takes traffic from
        # outside Google's network only when allow_external_traffic is set.
        dns = ((inputs.get("controlPlaneEndpointsConfig") or {}).get("dnsEndpointConfig") or {})
        out["controlPlaneEndpointsConfig"] = {
            **(inputs.get("controlPlaneEndpointsConfig") or {}),
            "dnsEndpointConfig": {**dns, "endpoint": f"gke-{digest(project, cluster, length=32)}-{digest(location, length=6)}.{location}.gke.goog"},
        }
        out.update(
            id=f"projects/{project}/locations/{location}/clusters/{cluster}",
            endpoint=endpoint,
            masterAuth={**(inputs.get("masterAuth") or {}), "clusterCaCertificate": FAKE_CA},
            masterVersion=inputs.get("minMasterVersion") or "1.33.5-gke.1000000",
            selfLink=f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{cluster}",
            labelFingerprint=digest(cluster, "labels"),
        )
    elif type_ == GKE_NODE_POOL:
        # Pulumi auto-names a pool created without a name: the logical name and a random suffix.
        pool = inputs.get("name") or f"{name}-{digest(type_, name, length=7)}"
        out.update(
            id=f"{project}/{inputs.get('location', region)}/{inputs.get('cluster', 'cluster')}/{pool}",
            name=pool,
            instanceGroupUrls=[f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{inputs.get('location', region)}/instanceGroupManagers/gke-{pool}-grp"],
            version=inputs.get("version") or "1.33.5-gke.1000000",
        )
    elif type_ == SERVICE_ACCOUNT:
        email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        out.update(
            id=f"projects/{project}/serviceAccounts/{email}",
            email=email,
            member=f"serviceAccount:{email}",
            name=f"projects/{project}/serviceAccounts/{email}",
            uniqueId=str(int(digest(email, length=12), 16)),
        )
    elif type_ == GCS_BUCKET:
        bucket = inputs.get("name", name)
        out.update(
            id=bucket,
            name=bucket,
            url=f"gs://{bucket}",
            selfLink=f"https://www.googleapis.com/storage/v1/b/{bucket}",
            projectNumber=FAKE_GCP_PROJECT_NUMBER,
        )
    elif type_ == ARTIFACT_REGISTRY:
        location = inputs.get("location", region)
        repository = inputs.get("repositoryId", name)
        out.update(
            id=f"projects/{project}/locations/{location}/repositories/{repository}",
            name=f"projects/{project}/locations/{location}/repositories/{repository}",
            registryUri=f"{location}-docker.pkg.dev/{project}/{repository}",
        )
    elif type_ == COMPUTE_NETWORK:
        network = inputs.get("name", name)
        out.update(
            id=f"projects/{project}/global/networks/{network}",
            selfLink=f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/{network}",
            numericId=str(int(digest(network, length=12), 16)),
        )
    elif type_ in (COMPUTE_SUBNETWORK, COMPUTE_ROUTER):
        kind = "subnetworks" if type_.endswith("Subnetwork") else "routers"
        resource = inputs.get("name", name)
        path = f"projects/{project}/regions/{inputs.get('region', region)}/{kind}/{resource}"
        out.update(id=path, selfLink=f"https://www.googleapis.com/compute/v1/{path}")
        if kind == "subnetworks":
            out["gatewayAddress"] = "10.0.0.1"
            if inputs.get("logConfig"):  # flow logs on: GCP reads back its defaults for what was not set
                out["logConfig"] = {"enable": True, "aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 0.5,
                                    "metadata": "INCLUDE_ALL_METADATA", "filterExpr": "true", **inputs["logConfig"]}
    elif type_ == COMPUTE_ADDRESS:
        resource = inputs.get("name", name)
        path = f"projects/{project}/regions/{inputs.get('region', region)}/addresses/{resource}"
        h = digest(project, path, length=6)
        external = f"34.{int(h[:2], 16) % 200 + 1}.{int(h[2:4], 16)}.{int(h[4:], 16) % 250 + 1}"
        internal = f"10.0.{int(h[2:4], 16) % 16}.{int(h[4:], 16) % 250 + 2}"
        out.update(
            id=path, selfLink=f"https://www.googleapis.com/compute/v1/{path}",
            address=inputs.get("address") or (internal if inputs.get("addressType") == "INTERNAL" else external),
        )
    elif type_ == PROJECT_SERVICE:
        out["id"] = f"{project}/{inputs.get('service')}"
        _apis(context).add(str(inputs.get("service")))
        _agents(context).update(agent_email(d) for d in AGENTS_OF_API.get(str(inputs.get("service")), ()))
    elif type_ == PROJECT_SERVICE_IDENTITY:
        service = str(inputs.get("service"))
        email = agent_email(IDENTITY_DOMAINS.get(service, f"gcp-sa-{service.split('.', 1)[0]}.iam.gserviceaccount.com"))
        _agents(context).add(email)
        out.update(id=f"projects/{project}/services/{service}", email=email, member=f"serviceAccount:{email}")
    elif type_ == KMS_KEY_RING:
        ring = f"projects/{project}/locations/{inputs.get('location', region)}/keyRings/{inputs.get('name', name)}"
        out.update(id=ring)
    elif type_ == KMS_CRYPTO_KEY:
        out.update(id=f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name', name)}")
    elif type_ == KMS_CRYPTO_KEY_IAM_MEMBER:
        out.update(id=f"{inputs.get('cryptoKeyId')}/{inputs.get('role')}/{inputs.get('member')}", etag=digest(name, "etag"))
    if type_.rsplit(":", 1)[-1].lower().endswith(("iammember", "iambinding")):
        _check_grant(type_, name, inputs, context)
    return out


def call(token: str, args: dict[str, Any], context: Context) -> dict[str, Any] | None:
    project = args.get("projectId") or args.get("project") or context.spec.project or "mock-project"
    if token == "gcp:organizations/getProject:getProject":
        return {
            "id": f"projects/{project}",
            "projectId": project,
            "name": project,
            "number": FAKE_GCP_PROJECT_NUMBER,
            "labels": {},
        }
    if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        email = agent_email(CLOUD_STORAGE_AGENT_DOMAIN)
        _agents(context).add(email)  # Cloud Storage creates its agent when it is first asked for it
        return {"id": email, "project": project, "emailAddress": email, "member": f"serviceAccount:{email}"}
    return None
