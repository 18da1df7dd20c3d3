"""AWS and GCP resources of a plan as a Terraform module (HCL) for Checkov's terraform framework,
and every IAM policy document of an AWS plan for parliament.

pulumi-aws and pulumi-gcp are bridged from the Terraform providers: `aws:eks/cluster:Cluster` is
`aws_eks_cluster`, an input is the Terraform attribute in camelCase, a nested block with at most
one item is an object and any other block a list. The bridge also pluralizes list names
(`route` -> `routes`): LIST_NAMES turns them back, checked against the bridge's own metadata
(pulumi/pulumi-gcp provider/cmd/pulumi-resource-gcp/bridge-metadata.json, "maxItemsOne": false;
pulumi/pulumi-aws the same file's renamed properties). A list input whose name ends in "s" and is
in no table could be either: it is reported as unverified, and test_rendering fails on it.

An input that names another resource of the plan it depends on (its id, ARN, self link, or
name) becomes a Terraform reference, so Checkov's graph connects them (CKV2_AWS_6 connects a
bucket to its public access block that way).

Why HCL and not Terraform JSON (`*.tf.json`): Checkov's terraform framework reads .tf files only
(checkov/terraform/tf_parser.py: "TODO: add support for .tf.json"); its terraform_json framework
runs the Python checks on the raw JSON, unrendered, so a policy document given as a JSON string
is never parsed and every cloudsplaining check (CKV_AWS_355, CKV_AWS_286-290) answers UNKNOWN,
which Checkov drops: those checks would silently not run. `document` keeps the JSON form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

TF_TYPES: dict[str, str] = {
    # pulumi/pulumi-aws bridge-metadata.json "renames.resources" (token -> Terraform type)
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    # pulumi/pulumi-gcp bridge-metadata.json "auto-aliasing.resources" (Terraform type -> "current" token)
    "gcp:artifactregistry/repository:Repository": "google_artifact_registry_repository",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": "google_artifact_registry_repository_iam_member",
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:kms/cryptoKey:CryptoKey": "google_kms_crypto_key",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "google_kms_crypto_key_iam_member",
    "gcp:kms/keyRing:KeyRing": "google_kms_key_ring",
    "gcp:logging/projectSink:ProjectSink": "google_logging_project_sink",
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": "google_project_iam_audit_config",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:projects/serviceIdentity:ServiceIdentity": "google_project_service_identity",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
}
CLOUD_PREFIXES = ("aws:", "gcp:")

# List inputs whose names end in "s", per Terraform type: the Terraform name (singular where the
# bridge pluralized a block or a list attribute, the same where Terraform's name is plural).
LIST_NAMES: dict[str, dict[str, str]] = {
    "aws_cloudtrail": {"eventSelectors": "event_selector", "advancedEventSelectors": "advanced_event_selector"},
    "aws_ecr_repository": {"encryptionConfigurations": "encryption_configuration"},
    "aws_eks_addon": {"podIdentityAssociations": "pod_identity_association"},
    "aws_eks_cluster": {"enabledClusterLogTypes": "enabled_cluster_log_types", "resources": "resources",
                        "publicAccessCidrs": "public_access_cidrs", "subnetIds": "subnet_ids",
                        "securityGroupIds": "security_group_ids"},
    "aws_eks_node_group": {"instanceTypes": "instance_types", "subnetIds": "subnet_ids", "taints": "taint"},
    "aws_launch_template": {"blockDeviceMappings": "block_device_mappings", "tagSpecifications": "tag_specifications",
                            "vpcSecurityGroupIds": "vpc_security_group_ids"},
    "aws_route_table": {"routes": "route"},
    "aws_s3_bucket_lifecycle_configuration": {"rules": "rule"},
    "aws_s3_bucket_server_side_encryption_configuration": {"rules": "rule"},
    "aws_security_group": {"cidrBlocks": "cidr_blocks", "securityGroups": "security_groups"},
    "google_artifact_registry_repository": {"cleanupPolicies": "cleanup_policies"},
    "google_compute_firewall": {"allows": "allow", "denies": "deny", "sourceRanges": "source_ranges",
                                "targetTags": "target_tags", "ports": "ports"},
    "google_compute_router_nat": {"natIps": "nat_ips", "subnetworks": "subnetwork",
                                  "sourceIpRangesToNats": "source_ip_ranges_to_nat"},
    "google_compute_subnetwork": {"secondaryIpRanges": "secondary_ip_range"},
    "google_container_cluster": {"maintenanceExclusions": "maintenance_exclusion", "enableComponents": "enable_components",
                                 "oauthScopes": "oauth_scopes", "cidrBlocks": "cidr_blocks"},
    "google_container_node_pool": {"oauthScopes": "oauth_scopes", "nodeLocations": "node_locations"},
    "google_project_iam_audit_config": {"auditLogConfigs": "audit_log_config", "exemptedMembers": "exempted_members"},
    "google_storage_bucket": {"lifecycleRules": "lifecycle_rule"},
}
# Map-typed attributes: their keys are data (tag names, label keys, GCE metadata keys), not fields.
MAP_ATTRIBUTES = {"tags", "tagsAll", "labels", "resourceLabels", "metadata", "nodeLabels", "userLabels"}
# A resource's values that other inputs name it by, and the attribute each reference reads, best
# first: its id, then what the cloud computed, then its name (an S3 bucket's name is `bucket`).
IDENTIFYING_OUTPUTS = {"arn": "arn", "selfLink": "self_link"}
NAME_INPUT = {"aws:s3/bucket:Bucket": "bucket"}


@dataclass
class TerraformModule:
    document: dict[str, Any] = field(default_factory=dict)  # {"resource": {type: {name: attrs}}}
    addresses: dict[str, tuple[str, str]] = field(default_factory=dict)  # "type.name" -> (pulumi type, name)
    unmapped: list[tuple[str, str]] = field(default_factory=list)  # cloud resources with no Terraform type
    unverified: list[str] = field(default_factory=list)  # "tf_type: key" lists whose Terraform name is a guess
    references: int = 0

    def source(self, resource: str) -> tuple[str, str] | None:
        """The plan's (type, name) of a resource as Checkov names it (`aws_vpc.network-vpc`)."""
        return self.addresses.get(resource)


def snake(name: str) -> str:
    """camelCase -> snake_case, acronyms kept whole: publicIPAddress -> public_ip_address."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def terraform_name(name: str) -> str:
    """A Terraform resource name: letters, digits, '_' and '-', not starting with a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"r_{cleaned}"


def resource_ids(plan) -> dict[str, str]:
    """Each resource's id as the plan's mock cloud answered it (the plan keeps outputs, not ids):
    the mock replayed in the plan's order, as provisioner.analysis.plan asks it."""
    from provisioner.analysis import mockcloud

    context = mockcloud.Context(plan.spec)
    ids = {}
    for resource in plan.resources:
        try:
            computed = mockcloud.computed(resource.type, resource.name, dict(resource.inputs), context)
        except Exception:  # noqa: BLE001 - a check the mock makes (a grant's member) is not an id
            computed = {}
        ids[resource.urn] = computed.get("id") or mockcloud.fake_id(resource.type, resource.name)
    return ids


def render(plan) -> TerraformModule:
    module = TerraformModule()
    cloud = [r for r in plan.resources if r.custom and r.type.startswith(CLOUD_PREFIXES)]
    by_urn = {r.urn: r for r in plan.resources}
    ids = resource_ids(plan)
    address: dict[str, str] = {}
    for resource in cloud:
        tf_type = TF_TYPES.get(resource.type)
        if tf_type is None:
            module.unmapped.append((resource.type, resource.name))
            continue
        name, n = terraform_name(resource.name), 1
        while f"{tf_type}.{name}" in module.addresses:  # Pulumi names are unique per parent, not per type
            n += 1
            name = f"{terraform_name(resource.name)}_{n}"
        address[resource.urn] = f"{tf_type}.{name}"
        module.addresses[f"{tf_type}.{name}"] = (resource.type, resource.name)
    resources: dict[str, dict[str, Any]] = {}
    for resource in cloud:
        if resource.urn not in address:
            continue
        tf_type, name = address[resource.urn].split(".", 1)
        names = _names_of_dependencies(resource, by_urn, address, ids)
        body = _convert(resource.inputs, tf_type, names, module)
        resources.setdefault(tf_type, {})[name] = body
    module.document = {"resource": resources}
    return module


def _names_of_dependencies(resource, by_urn, address, ids) -> dict[str, str]:
    """value -> "${type.name.attr}" for the identifying values of what `resource` depends on;
    a value two dependencies share is ambiguous and stays a value."""
    todo, deps = list(resource.dependencies), set()
    while todo:
        urn = todo.pop()
        if urn in deps or urn not in by_urn:
            continue
        deps.add(urn)
        if not by_urn[urn].custom:  # a component: depending on it is depending on its children
            todo.extend(r.urn for r in by_urn.values() if r.parent == urn)
    found: dict[str, dict[int, set[str]]] = {}  # value -> rank -> references
    for urn in deps:
        if urn not in address:
            continue
        dep = by_urn[urn]
        named_by = NAME_INPUT.get(dep.type, "name")
        candidates = [(0, ids[urn], "id")]
        candidates += [(1, dep.outputs.get(k), attr) for k, attr in IDENTIFYING_OUTPUTS.items()]
        candidates += [(2, dep.inputs.get(named_by), named_by)]
        for rank, value, attr in candidates:
            if isinstance(value, str) and value:
                found.setdefault(value, {}).setdefault(rank, set()).add(f"${{{address[urn]}.{attr}}}")
    names = {}
    for value, ranks in found.items():
        best = ranks[min(ranks)]
        if len(best) == 1:  # two dependencies named alike: ambiguous, the value stays
            names[value] = next(iter(best))
    return names


def _convert(value: Any, tf_type: str, names: dict[str, str], module: TerraformModule) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in MAP_ATTRIBUTES and isinstance(item, dict):
                out[snake(key)] = item
                continue
            if isinstance(item, list):
                tf_key = LIST_NAMES.get(tf_type, {}).get(key)
                if tf_key is None:
                    tf_key = snake(key)
                    if key.endswith("s") and not key.endswith("ss"):  # ingress, address: not plurals
                        module.unverified.append(f"{tf_type}: {key}")
            else:
                tf_key = snake(key)
            out[tf_key] = _convert(item, tf_type, names, module)
        return out
    if isinstance(value, list):
        return [_convert(item, tf_type, names, module) for item in value]
    if isinstance(value, str) and value in names:
        module.references += 1
        return names[value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------
# HCL

REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_.\-]+)\}$")


def hcl(document: dict[str, Any]) -> str:
    """The module as HCL: a dict is a block (a map attribute, MAP_ATTRIBUTES, excepted), a list of
    dicts repeated blocks, "${type.name.attr}" a reference; everything else a literal."""
    lines: list[str] = []
    for tf_type, resources in document.get("resource", {}).items():
        for name, body in resources.items():
            lines.append(f'resource "{tf_type}" "{name}" {{')
            _body(body, lines, "  ")
            lines.append("}")
            lines.append("")
    return "\n".join(lines)


def _body(body: dict[str, Any], lines: list[str], indent: str) -> None:
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, dict) and _camel(key) not in MAP_ATTRIBUTES:
            lines.append(f"{indent}{key} {{")
            _body(value, lines, indent + "  ")
            lines.append(f"{indent}}}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append(f"{indent}{key} {{")
                _body(item, lines, indent + "  ")
                lines.append(f"{indent}}}")
        else:
            lines.append(f"{indent}{key} = {_expression(value)}")


def _expression(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        found = REFERENCE.match(value)
        if found:
            return found.group(1)
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return "[" + ", ".join(_expression(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_expression(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no HCL for {value!r}")


def _camel(snake_name: str) -> str:
    head, *rest = snake_name.split("_")
    return head + "".join(part.title() for part in rest)


# --------------------------------------------------------------------------
# IAM policy documents (AWS), for parliament

# Type -> the inputs holding a policy document, and what kind of policy it is.
POLICY_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws:iam/role:Role": (("assumeRolePolicy", "trust"),),
    "aws:iam/rolePolicy:RolePolicy": (("policy", "identity"),),
    "aws:iam/policy:Policy": (("policy", "identity"),),
    "aws:iam/userPolicy:UserPolicy": (("policy", "identity"),),
    "aws:iam/groupPolicy:GroupPolicy": (("policy", "identity"),),
    "aws:kms/key:Key": (("policy", "resource"),),
    "aws:s3/bucketPolicy:BucketPolicy": (("policy", "resource"),),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": (("policy", "resource"),),
}


@dataclass(frozen=True)
class PolicyDocument:
    type: str
    name: str
    field: str
    kind: str  # identity, resource or trust
    document: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]} {self.name} ({self.field})"


def iam_documents(plan) -> list[PolicyDocument]:
    """Every IAM policy document of an AWS plan, parsed (a managed policy attached by ARN is AWS's)."""
    out = []
    for resource in plan.resources:
        for key, kind in POLICY_INPUTS.get(resource.type, ()):
            text = resource.inputs.get(key)
            if text is None:
                continue
            document = json.loads(text) if isinstance(text, str) else text
            out.append(PolicyDocument(resource.type, resource.name, key, kind, document))
    return out
