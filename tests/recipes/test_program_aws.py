"""The AWS program, as recorded by the offline plan (Pulumi mocks).

Every assertion reads the real inputs the program registered: the same
record `recipe plan` shows.
"""

from __future__ import annotations

import json
import re

import pytest

from recipes import outputs
from recipes.aws import policies
from recipes.kubernetes import namespaces

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
IGW = "aws:ec2/internetGateway:InternetGateway"
RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BUCKET = "aws:s3/bucket:Bucket"
ECR = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
AWS_PROVIDER = "pulumi:providers:aws"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"

MOCK_ZONES = {"eu-west-1a", "eu-west-1b", "eu-west-1c"}  # provisioner.analysis.plan's getAvailabilityZones answer


def subnets(plan, kind: str):
    return sorted((s for s in plan.by_type(SUBNET) if s.name.startswith(f"network-{kind}-")), key=lambda s: s.name)


# ---------------------------------------------------------------------------
# Network


def test_vpc_has_dns_support_and_hostnames(aws_plan):
    vpc = aws_plan.one(VPC)
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_two_public_and_two_private_subnets_in_distinct_zones(aws_plan):
    cluster_tag = "kubernetes.io/cluster/ml-dev"
    public, private = subnets(aws_plan, "public"), subnets(aws_plan, "private")
    assert len(public) == 2 and len(private) == 2
    assert len(aws_plan.by_type(SUBNET)) == 4
    for subnet in public:
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in subnet.inputs["tags"]
        assert subnet.inputs["tags"][cluster_tag] == "shared"
    for subnet in private:
        assert subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in subnet.inputs["tags"]
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    for group in (public, private):
        zones = [s.inputs["availabilityZone"] for s in group]
        assert len(set(zones)) == 2, zones
        assert set(zones) <= MOCK_ZONES
    # CIDRs are carved from the VPC without overlap.
    import ipaddress

    vpc = ipaddress.ip_network(aws_plan.one(VPC).inputs["cidrBlock"])
    nets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in public + private]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_private_network_has_exactly_one_nat_gateway(aws_plan):
    assert len(aws_plan.by_type(NAT)) == 1
    assert len(aws_plan.by_type(EIP)) == 1
    nat = aws_plan.one(NAT)
    eip = aws_plan.one(EIP)
    public0 = subnets(aws_plan, "public")[0]
    assert eip.urn in nat.dependencies
    assert public0.urn in nat.dependencies  # the NAT lives in a public subnet


def test_nodes_run_in_private_subnets_by_default(aws_plan):
    node_group = aws_plan.one(NODE_GROUP)
    private = [s.urn for s in subnets(aws_plan, "private")]
    public = {s.urn for s in subnets(aws_plan, "public")}
    # One zone for the nodes (the tracker's zonal volume): the first private subnet only.
    assert private[0] in node_group.dependencies
    assert not (public | {private[1]}) & set(node_group.dependencies)
    assert len(node_group.inputs["subnetIds"]) == 1


def test_public_network_has_no_nat_and_nodes_in_public_subnets(plans):
    plan = plans(network="public")
    assert plan.by_type(NAT) == []
    assert plan.by_type(EIP) == []
    assert subnets(plan, "private") == []
    public = subnets(plan, "public")
    assert len(public) == 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is True for s in public)
    node_group = plan.one(NODE_GROUP)
    assert public[0].urn in node_group.dependencies and public[1].urn not in node_group.dependencies
    # The node group's subnet id is the first public subnet's (as the route table associations name them):
    # one zone for the nodes.
    public_ids = {a.name: a.inputs["subnetId"] for a in plan.by_type(RT_ASSOC) if a.name.startswith("network-public-")}
    assert node_group.inputs["subnetIds"] == [public_ids["network-public-0"]]
    assert len(public_ids) == 2


# ---------------------------------------------------------------------------
# Cluster


def test_cluster_uses_access_entries_and_audit_logs(aws_plan, make_spec):
    cluster = aws_plan.one(EKS)
    assert cluster.inputs["name"] == make_spec().names.eks_cluster()
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    assert cluster.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    assert {"api", "audit", "authenticator"} <= set(cluster.inputs["enabledClusterLogTypes"])


def test_cluster_endpoint_open_without_allow_cidr(aws_plan):
    vpc_config = aws_plan.one(EKS).inputs["vpcConfig"]
    assert vpc_config["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert len(vpc_config["subnetIds"]) == 4  # control plane ENIs may use every subnet


def test_cluster_endpoint_restricted_to_allow_cidrs(restricted_plan, allow_cidrs):
    assert restricted_plan.one(EKS).inputs["vpcConfig"]["publicAccessCidrs"] == allow_cidrs


def test_launch_template_requires_imdsv2_with_hop_limit_one(aws_plan):
    template = aws_plan.one(LAUNCH_TEMPLATE)
    options = template.inputs["metadataOptions"]
    assert options["httpTokens"] == "required"
    assert options["httpPutResponseHopLimit"] == 1
    volume = template.inputs["blockDeviceMappings"][0]["ebs"]
    assert str(volume["encrypted"]).lower() == "true"


def test_launch_template_tags_instances_and_volumes(restricted_plan, user_tags):
    # Provider default tags do not reach instances an autoscaling group launches: the template must tag them.
    specs = {s["resourceType"]: s["tags"] for s in restricted_plan.one(LAUNCH_TEMPLATE).inputs["tagSpecifications"]}
    assert set(specs) == {"instance", "volume"}
    for tags in specs.values():
        assert tags["recipe-stack"] == "ml-dev"
        assert tags["managed-by"] == "stack-recipes"
        assert user_tags.items() <= tags.items()


def test_node_group_uses_launch_template_and_has_no_ssh(aws_plan):
    node_group = aws_plan.one(NODE_GROUP)
    template = aws_plan.one(LAUNCH_TEMPLATE)
    assert template.urn in node_group.dependencies
    assert node_group.inputs["launchTemplate"]["id"]
    assert node_group.inputs["launchTemplate"]["version"] == "1"  # the mock's latestVersion
    assert "remoteAccess" not in node_group.inputs


def test_node_group_default_size(aws_plan):
    node_group = aws_plan.one(NODE_GROUP)
    # The dev profile: spot capacity over four same-sized types, t3.large first.
    assert node_group.inputs["capacityType"] == "SPOT"
    assert node_group.inputs["instanceTypes"] == ["t3.large", "t3a.large", "m5.large", "m6i.large"]
    assert node_group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert node_group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}
    assert "scalingConfig.desiredSize" in node_group.ignore_changes


def test_node_group_on_demand_and_prod_profile(plans):
    on_demand = plans(spot=False).one(NODE_GROUP)
    assert on_demand.inputs["capacityType"] == "ON_DEMAND" and on_demand.inputs["instanceTypes"] == ["t3.large"]
    prod = plans(profile="prod")
    node_group = prod.one(NODE_GROUP)
    assert node_group.inputs["capacityType"] == "ON_DEMAND" and node_group.inputs["instanceTypes"] == ["m6i.xlarge"]
    assert node_group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 6, "desiredSize": 2}
    assert prod.spec.kms and prod.by_type("aws:kms/key:Key")


def test_node_group_custom_graviton_size(plans):
    node_group = plans(node_type="m7g.large", min_nodes=2, max_nodes=5).one(NODE_GROUP)
    assert node_group.inputs["instanceTypes"] == ["m7g.large"]  # no known alternatives: the one type
    assert node_group.inputs["amiType"] == "AL2023_ARM_64_STANDARD"
    assert node_group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 2}
    assert "scalingConfig.desiredSize" in node_group.ignore_changes


def test_node_group_waits_for_its_role_policies(aws_plan):
    node_group = aws_plan.one(NODE_GROUP)
    attachments = [a for a in aws_plan.by_type(ATTACHMENT) if a.name.startswith("cluster-nodes-")]
    assert {a.inputs["policyArn"] for a in attachments} == set(policies.EKS_NODE_POLICIES)
    assert {a.urn for a in attachments} <= set(node_group.dependencies)


def test_pod_identity_agent_and_ebs_csi_addons(aws_plan, make_spec):
    addons = {a.inputs["addonName"]: a for a in aws_plan.by_type(ADDON)}
    assert set(addons) == {"eks-pod-identity-agent", "aws-ebs-csi-driver"}
    ebs = addons["aws-ebs-csi-driver"]
    assert addons["eks-pod-identity-agent"].urn in ebs.dependencies
    (association,) = ebs.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role_name = make_spec().names.iam_role("ebs-csi")
    assert association["roleArn"].endswith(f":role/{role_name}")
    role = next(r for r in aws_plan.by_type(ROLE) if r.inputs["name"] == role_name)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert {"sts:AssumeRole", "sts:TagSession"} <= set(statement["Action"])
    attached = {a.inputs["policyArn"] for a in aws_plan.by_type(ATTACHMENT) if a.inputs["role"] == role_name}
    assert attached == set(policies.EBS_CSI_POLICIES)


def test_iam_role_names_carry_the_stacks_suffix(aws_plan, plans, make_spec):
    spec = make_spec()
    names = [r.inputs["name"] for r in aws_plan.by_type(ROLE)]
    assert len(names) == len(set(names)) == 6  # control plane, nodes, ebs-csi, autoscaler, mlflow pods, pipelines pods
    assert all(n.startswith("ml-dev-") and n.endswith(f"-{spec.names.suffix}") for n in names)
    assert all(len(n) <= 64 for n in names)
    # IAM is global to the account: another instance of ml-dev (another region, or a second
    # deploy after a destroy --delete-data) has another suffix, so other role names.
    other = plans(region="us-west-2", suffix="a1b2c3")
    other_names = {r.inputs["name"] for r in other.by_type(ROLE)}
    assert len(other_names) == 6
    assert not other_names & set(names), "two instances of a stack name must not share IAM role names"


# ---------------------------------------------------------------------------
# Bucket


def bucket_subtree(plan):
    return plan.subtree(plan.one("recipes:aws:Bucket", "bucket"))


def test_bucket_name_is_unique_and_valid(aws_plan, make_spec):
    spec = make_spec()
    name = aws_plan.one(BUCKET).inputs["bucket"]
    assert name == spec.names.s3_bucket()
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)
    assert name.endswith(spec.names.suffix)
    assert aws_plan.raw_outputs["bucket"] == {"name": name, "uri": f"s3://{name}"}


def test_bucket_security_configuration(aws_plan):
    bucket = aws_plan.one(BUCKET)
    name = bucket.inputs["bucket"]
    arn = f"arn:aws:s3:::{name}"
    configs = {r.type: r for r in bucket_subtree(aws_plan) if r.custom and r.type != BUCKET}
    for config in configs.values():
        assert bucket.urn in config.dependencies  # each one configures this bucket

    block = configs["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    ownership = configs["aws:s3/bucketOwnershipControls:BucketOwnershipControls"].inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = configs["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"].inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = configs["aws:s3/bucketVersioning:BucketVersioning"].inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"

    bucket_policy = json.loads(configs["aws:s3/bucketPolicy:BucketPolicy"].inputs["policy"])
    (deny,) = bucket_policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {arn, f"{arn}/*"}

    lifecycle = configs["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"].inputs
    rules = [r for r in lifecycle["rules"] if r["status"] == "Enabled"]
    assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays", 0) > 0 for r in rules)
    assert configs["aws:s3/bucketVersioning:BucketVersioning"].urn in configs[
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ].dependencies


def test_bucket_and_its_configuration_are_retained_by_default(aws_plan):
    resources = [r for r in bucket_subtree(aws_plan) if r.custom]
    assert len(resources) == 7  # bucket + public access, ownership, encryption, versioning, lifecycle, policy
    assert all(r.retain_on_delete for r in resources), [r.name for r in resources if not r.retain_on_delete]
    assert aws_plan.one(BUCKET).inputs["forceDestroy"] is False


def test_delete_data_releases_bucket(plans, make_spec):
    plan = plans(make_spec().with_changes(delete_data=True))
    resources = [r for r in bucket_subtree(plan) if r.custom]
    assert len(resources) == 7
    assert not any(r.retain_on_delete for r in resources)
    assert plan.one(BUCKET).inputs["forceDestroy"] is True


# ---------------------------------------------------------------------------
# StackRecords


def test_registry_repository_for_zenml(aws_plan):
    repo = aws_plan.one(ECR)
    assert repo.inputs["name"] == "zenml"
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.inputs["imageTagMutability"] == "MUTABLE"
    assert repo.inputs["forceDelete"] is False
    assert repo.retain_on_delete is True
    lifecycle = aws_plan.one(ECR_LIFECYCLE)
    assert lifecycle.retain_on_delete is True
    assert lifecycle.inputs["repository"] == "zenml"
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert any(r["selection"]["tagStatus"] == "untagged" and r["action"]["type"] == "expire" for r in rules)


def test_registry_uri_is_the_host_only(aws_plan):
    uri = aws_plan.raw_outputs["registry"]["uri"]
    assert "/" not in uri
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com", uri)


def test_immutable_tags_option(plans):
    assert plans(immutable_tags=True).one(ECR).inputs["imageTagMutability"] == "IMMUTABLE"


def test_delete_data_releases_registry(plans, make_spec):
    plan = plans(make_spec().with_changes(delete_data=True))
    repo = plan.one(ECR)
    assert repo.inputs["forceDelete"] is True
    assert not repo.retain_on_delete
    assert not plan.one(ECR_LIFECYCLE).retain_on_delete


# ---------------------------------------------------------------------------
# Identity (I1, I2)


def policy_documents(plan):
    """Every IAM policy document the stack writes, with where it came from."""
    docs = []
    for r in plan.by_type(ROLE_POLICY):
        docs.append((r.name, json.loads(r.inputs["policy"])))
    for r in plan.by_type(ROLE):
        docs.append((r.name, json.loads(r.inputs["assumeRolePolicy"])))
    for r in plan.by_type("aws:s3/bucketPolicy:BucketPolicy"):
        docs.append((r.name, json.loads(r.inputs["policy"])))
    return docs


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("variant", [{}, {"network": "public", "deployer": "kserve"}])
def test_no_wildcard_allow_anywhere(plans, variant):
    plan = plans(**variant)
    docs = policy_documents(plan)
    assert len(docs) == 10  # 3 inline, 6 trust, 1 bucket policy
    for where, doc in docs:
        for statement in doc["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement.get("Action", []))
            for action in actions:
                assert "*" not in action, f"{where}: wildcard action {action!r}"
            for resource in as_list(statement.get("Resource", [])):
                # "*" only for read calls AWS cannot scope to a resource (CKV_AWS_355 allows these).
                if resource == "*":
                    assert all(a.split(":", 1)[1].startswith(("Describe", "Get")) for a in actions), f"{where}: {actions} on '*'"
            assert statement.get("Principal") != "*", f"{where}: principal '*'"
            assert "NotAction" not in statement and "NotResource" not in statement, where


def test_only_expected_managed_policies_are_attached(aws_plan):
    attached = {a.inputs["policyArn"] for a in aws_plan.by_type(ATTACHMENT)}
    assert attached == set(policies.EKS_CLUSTER_POLICIES + policies.EKS_NODE_POLICIES + policies.EBS_CSI_POLICIES)
    assert not any("Administrator" in arn or "PowerUser" in arn or "FullAccess" in arn for arn in attached)


@pytest.mark.parametrize(
    "purpose,namespace,service_account",
    [
        ("mlflow", namespaces.MLFLOW_NAMESPACE, namespaces.MLFLOW_SERVICE_ACCOUNT),
        ("pipelines", namespaces.PIPELINES_NAMESPACE, namespaces.PIPELINES_SERVICE_ACCOUNT),
    ],
)
def test_pod_roles_reach_only_this_bucket(aws_plan, make_spec, purpose, namespace, service_account):
    spec = make_spec()
    arn = f"arn:aws:s3:::{spec.names.s3_bucket()}"
    identity = aws_plan.one("recipes:aws:BucketAccess", f"{purpose}-identity")
    children = {r.type: r for r in aws_plan.children(identity.urn)}
    assert set(children) == {ROLE, ROLE_POLICY, POD_IDENTITY}

    role = children[ROLE]
    assert role.inputs["name"] == spec.names.iam_role(f"{purpose}-pod")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "pods.eks.amazonaws.com"}]

    inline = children[ROLE_POLICY]
    assert role.urn in inline.dependencies
    resources = set()
    for statement in json.loads(inline.inputs["policy"])["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all(a.startswith("s3:") for a in as_list(statement["Action"]))
        resources |= set(as_list(statement["Resource"]))
    assert resources == {arn, f"{arn}/*"}

    association = children[POD_IDENTITY]
    assert association.inputs["namespace"] == namespace
    assert association.inputs["serviceAccount"] == service_account
    assert association.inputs["clusterName"] == spec.names.eks_cluster()
    assert association.inputs["roleArn"].endswith(f":role/{role.inputs['name']}")


def test_pod_identity_associations_are_exactly_mlflow_and_pipelines(aws_plan):
    pairs = {(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in aws_plan.by_type(POD_IDENTITY)}
    assert pairs == {("mlflow", "mlflow"), ("zenml", "zenml-service-account"), ("kube-system", "cluster-autoscaler")}


def test_no_long_lived_keys(plans):
    for variant in ({}, {"without": ["tracker", "deployer", "cluster"]}):
        types = plans(**variant).types()
        assert "aws:iam/accessKey:AccessKey" not in types
        assert "aws:iam/user:User" not in types
        assert "aws:iam/userLoginProfile:UserLoginProfile" not in types


# ---------------------------------------------------------------------------
# Tags and labels


def aws_provider_tags(plan) -> dict:
    provider = plan.one(AWS_PROVIDER, "aws")
    tags = provider.inputs["defaultTags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    return tags["tags"]


def test_aws_provider_region_and_default_tags(restricted_plan, user_tags):
    provider = restricted_plan.one(AWS_PROVIDER, "aws")
    assert provider.inputs["region"] == "eu-west-1"
    tags = aws_provider_tags(restricted_plan)
    assert tags["recipe-stack"] == "ml-dev"
    assert tags["managed-by"] == "stack-recipes"
    assert user_tags.items() <= tags.items()


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public"}])
def test_every_aws_resource_uses_the_stack_provider(plans, helpers, variant):
    plan = plans(**variant)
    assert len(plan.by_type(AWS_PROVIDER)) == 1
    provider = plan.one(AWS_PROVIDER, "aws")
    aws_resources = plan.custom("aws:")
    assert aws_resources
    for r in aws_resources:
        assert r.provider is not None, r.name
        assert helpers.provider_urn(r.provider) == provider.urn, r.name


def test_kubernetes_objects_carry_the_stack_label(plans):
    for variant in ({}, {"deployer": "kserve"}):
        plan = plans(**variant)
        objects = [r for r in plan.custom("kubernetes:") if "metadata" in r.inputs]
        assert len(objects) > 15
        for r in objects:
            labels = r.inputs["metadata"].get("labels") or {}
            assert labels.get("recipe-stack") == "ml-dev", f"{r.type} {r.name}"
        # Deployments' pods carry it too.
        for r in plan.by_type(K8S_DEPLOYMENT):
            assert r.inputs["spec"]["template"]["metadata"]["labels"]["recipe-stack"] == "ml-dev"


def test_kubernetes_objects_use_the_cluster_provider(aws_plan, helpers):
    k8s_provider = aws_plan.one("pulumi:providers:kubernetes")
    for r in aws_plan.custom("kubernetes:"):
        assert helpers.provider_urn(r.provider) == k8s_provider.urn, r.name
    assert "kubeconfig" in k8s_provider.secret_inputs


# ---------------------------------------------------------------------------
# Switches


def removed_and_added(default, plan):
    return default.keys() - plan.keys(), plan.keys() - default.keys()


def subtree_keys(plan, type_, name):
    return {(r.type, r.name) for r in plan.subtree(plan.one(type_, name))}


# Without the deployer's ingress, the tracker trades its route through it for its own load balancer.
TRACKER_FRONT_DOOR = {
    ("kubernetes:core/v1:Service", "tracker-svc"),
    ("kubernetes:networking.istio.io/v1beta1:Gateway", "tracker-gateway"),
    ("kubernetes:networking.istio.io/v1beta1:VirtualService", "tracker-route"),
}
TRACKER_OWN_LB = {("kubernetes:core/v1:Service", "tracker-lb")}


def test_without_deployer_removes_exactly_the_deployer(aws_plan, plans):
    plan = plans(without=["deployer"])
    removed, added = removed_and_added(aws_plan, plan)
    assert added == TRACKER_OWN_LB
    expected = subtree_keys(aws_plan, "recipes:kubernetes:ModelDeployer", "deployer")
    assert ("recipes:kubernetes:IstioIngress", "deployer-ingress") in expected
    assert removed == expected | TRACKER_FRONT_DOOR
    assert "deployer" not in plan.raw_outputs
    assert {k for k in aws_plan.raw_outputs if k != "deployer"} == set(plan.raw_outputs)


def test_without_tracker_removes_mlflow_its_database_and_identity(aws_plan, plans):
    plan = plans(without=["tracker"])
    removed, added = removed_and_added(aws_plan, plan)
    assert added == set()
    tracker = subtree_keys(aws_plan, "recipes:kubernetes:MlflowServer", "tracker")
    assert ("recipes:kubernetes:Postgres", "tracker-db") in tracker
    identity = subtree_keys(aws_plan, "recipes:aws:BucketAccess", "mlflow-identity")
    assert removed == tracker | identity
    assert "tracker" not in plan.raw_outputs
    plan.one(BUCKET)
    plan.one(EKS)
    plan.one("recipes:aws:BucketAccess", "pipelines-identity")
    assert {(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in plan.by_type(POD_IDENTITY)} == {
        ("zenml", "zenml-service-account"), ("kube-system", "cluster-autoscaler")
    }


def test_without_registry_removes_only_ecr(aws_plan, plans):
    plan = plans(without=["registry"])
    removed, added = removed_and_added(aws_plan, plan)
    assert added == set()
    assert removed == subtree_keys(aws_plan, "recipes:aws:Registry", "registry")
    assert {t for t, _ in removed} == {"recipes:aws:Registry", ECR, ECR_LIFECYCLE}
    assert "registry" not in plan.raw_outputs


def test_storage_only_stack(plans):
    plan = plans(without=["cluster", "tracker", "deployer"])
    allowed = subtree_keys(plan, "recipes:aws:Bucket", "bucket") | subtree_keys(plan, "recipes:aws:Registry", "registry")
    assert plan.keys() - allowed == {(AWS_PROVIDER, "aws")}
    assert not plan.of_prefix("kubernetes:")
    assert not plan.of_prefix("pulumi:providers:kubernetes")
    assert not plan.of_prefix("aws:eks") and not plan.of_prefix("aws:ec2")
    assert set(outputs.components(plan.raw_outputs)) == {"bucket", "registry"}


def test_without_bucket_keeps_the_cluster_but_no_pod_identities(aws_plan, plans):
    plan = plans(without=["bucket", "tracker"])
    removed, added = removed_and_added(aws_plan, plan)
    assert added == set()
    expected = (
        subtree_keys(aws_plan, "recipes:aws:Bucket", "bucket")
        | subtree_keys(aws_plan, "recipes:aws:BucketAccess", "mlflow-identity")
        | subtree_keys(aws_plan, "recipes:aws:BucketAccess", "pipelines-identity")
        | subtree_keys(aws_plan, "recipes:kubernetes:MlflowServer", "tracker")
    )
    assert removed == expected
    # Only the cluster's own autoscaler keeps a pod identity: nothing reaches a bucket.
    assert [(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in plan.by_type(POD_IDENTITY)] == [("kube-system", "cluster-autoscaler")]
    plan.one(EKS)
    plan.one(NODE_GROUP)
    plan.one("recipes:kubernetes:PipelinesNamespace", "pipelines")
    assert set(outputs.components(plan.raw_outputs)) == {"cluster", "registry", "deployer"}


VARIANTS = [
    ({}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"deployer": "kserve", "network": "public"}, {"cluster", "bucket", "registry", "tracker", "deployer"}),
    ({"without": ["deployer"]}, {"cluster", "bucket", "registry", "tracker"}),
    ({"without": ["tracker"]}, {"cluster", "bucket", "registry", "deployer"}),
    ({"without": ["registry"]}, {"cluster", "bucket", "tracker", "deployer"}),
    ({"without": ["cluster", "tracker", "deployer"]}, {"bucket", "registry"}),
    ({"without": ["bucket", "tracker"]}, {"cluster", "registry", "deployer"}),
    ({"components": ["bucket"]}, {"bucket"}),
]


@pytest.mark.parametrize("variant,present", VARIANTS, ids=lambda v: json.dumps(v) if isinstance(v, dict) else None)
def test_canonical_outputs_complete_for_every_variant(plans, variant, present):
    plan = plans(**variant)
    clean = outputs.validate(plan.raw_outputs)
    assert set(outputs.components(clean)) == present
    assert (clean["provider"], clean["region"], clean["stack_name"]) == ("aws", "eu-west-1", "ml-dev")
    expected_secrets = {p for p in ("cluster.kubeconfig", "tracker.password") if p.split(".")[0] in present}
    assert set(plan.secret_outputs) == expected_secrets
    for path in expected_secrets:
        component_, field = path.split(".")
        assert plan.outputs[component_][field] == outputs.MASK


# ---------------------------------------------------------------------------
# Dependencies that decide the order of create and destroy


def test_workloads_wait_for_the_node_group(aws_plan):
    node_group = aws_plan.one(NODE_GROUP).urn
    mlflow = aws_plan.one(K8S_DEPLOYMENT, "tracker-server")
    assert node_group in mlflow.dependencies
    postgres = aws_plan.one(K8S_DEPLOYMENT, "tracker-db")
    assert node_group in postgres.dependencies
    for release in aws_plan.by_type(RELEASE):
        assert node_group in release.dependencies, release.name
    storage_class = aws_plan.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert aws_plan.one(ADDON, "cluster-ebs-csi").urn in storage_class.dependencies
    assert storage_class.urn in aws_plan.one("kubernetes:core/v1:PersistentVolumeClaim").dependencies


def test_kserve_releases_wait_for_the_node_group(plans):
    plan = plans(deployer="kserve")
    node_group = plan.one(NODE_GROUP).urn
    releases = plan.by_type(RELEASE)
    assert {r.name for r in releases} >= {"cert-manager", "kserve-crd", "kserve"}
    for release in releases:
        assert node_group in release.dependencies, release.name


def test_data_resources_do_not_depend_on_the_cluster(aws_plan):
    eks_urns = {r.urn for r in aws_plan.resources if r.type.startswith("aws:eks") or r.type.startswith("recipes:aws:Cluster")}
    eks_urns |= {r.urn for r in aws_plan.resources if r.type.startswith("aws:ec2")}
    data = [r for r in aws_plan.subtree(aws_plan.one("recipes:aws:Bucket", "bucket")) if r.custom]
    data += [r for r in aws_plan.subtree(aws_plan.one("recipes:aws:Registry", "registry")) if r.custom]
    assert len(data) == 9
    for r in data:
        assert not aws_plan.deps_closure(r) & eks_urns, r.name


def test_load_balancers_are_destroyed_before_the_network_routes(aws_plan):
    # Destroy runs in reverse dependency order: a LoadBalancer Service must (transitively) depend on
    # the internet gateway, NAT gateway and route tables, or those can be deleted while the load
    # balancer still maps public addresses in the VPC (the gateway detach then fails).
    network = {r.urn for r in aws_plan.by_type(IGW) + aws_plan.by_type(NAT) + aws_plan.by_type(RT_ASSOC)}
    assert len(network) == 6
    services = [s for s in aws_plan.by_type(K8S_SERVICE) if s.inputs["spec"].get("type") == "LoadBalancer"]
    assert {s.name for s in services} == {"deployer-ingress-lb"}  # the tracker shares it
    for service in services:
        missing = network - aws_plan.deps_closure(service)
        assert not missing, f"{service.name} does not wait for {sorted(m.rsplit('::', 1)[-1] for m in missing)}"


@pytest.mark.parametrize("network,node_subnets", [("private", "network-private-"), ("public", "network-public-")])
def test_nodes_start_after_their_route_out(plans, network, node_subnets):
    plan = plans(network=network)
    closure = plan.deps_closure(plan.one(NODE_GROUP))
    node_routes = [a for a in plan.by_type(RT_ASSOC) if a.name.startswith(node_subnets)]
    assert len(node_routes) == 2
    assert {a.urn for a in node_routes} <= closure
    assert {r.urn for r in plan.by_type(IGW) + plan.by_type(NAT)} <= closure


# ---------------------------------------------------------------------------
# Cluster Autoscaler: the node group's bounds are acted on


def test_cluster_autoscaler_targets_this_cluster_at_its_version(aws_plan):
    release = aws_plan.one(RELEASE, "cluster-autoscaler")
    values = release.inputs["values"]
    assert release.inputs["namespace"] == "kube-system"
    assert values["autoDiscovery"]["clusterName"] == "ml-dev" and values["awsRegion"] == "eu-west-1"
    assert values["image"]["tag"] == "v1.33.0"  # the (mocked) cluster version, not the chart's default
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert aws_plan.one(NODE_GROUP).urn in aws_plan.deps_closure(release)


def test_cluster_autoscaler_may_resize_only_this_node_group(aws_plan):
    (policy_resource,) = [r for r in aws_plan.by_type(ROLE_POLICY) if r.name == "cluster-autoscaler-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy_resource.inputs["policy"])["Statement"]}
    resize = statements["ResizeThisNodeGroup"]
    assert set(resize["Action"]) == {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    assert resize["Resource"] == [
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/eks-cluster-nodes-mock"
    ]
    assert statements["DescribeNodeGroup"]["Resource"].startswith("arn:aws:eks:eu-west-1:")


# ---------------------------------------------------------------------------
# --kms: one customer-managed key for the bucket, the registry and the cluster's Secrets (B3, C3, D1)

KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
ENCRYPTION = "recipes:aws:Encryption"
SSE_CONFIG = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
MOCK_ACCOUNT = "123456789012"  # provisioner.analysis.mockcloud's account
CLUSTER_KEY_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"}
OBJECT_KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}


@pytest.fixture(scope="module")
def kms_plan(plans):
    return plans(kms=True)


def stack_key(plan):
    """The stack's key and its ARN (as the alias, which names it, received it)."""
    key = plan.one(KMS_KEY)
    alias = plan.one(KMS_ALIAS)
    assert key.urn in alias.dependencies
    arn = alias.inputs["targetKeyId"]
    assert arn.startswith(f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:"), arn
    return key, arn


def kms_statements(document):
    return [s for s in document["Statement"] if any(a.startswith("kms:") for a in as_list(s["Action"]))]


def test_kms_key_rotates_and_waits_30_days_before_deletion(kms_plan, helpers):
    key, _ = stack_key(kms_plan)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    assert key.inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"  # EKS, S3 and ECR take symmetric keys only
    assert "bypassPolicyLockoutSafetyCheck" not in key.inputs
    # One key per stack, in its own component, on the stack's provider.
    assert len(kms_plan.by_type(KMS_KEY)) == 1 and len(kms_plan.by_type(KMS_ALIAS)) == 1
    component = kms_plan.one(ENCRYPTION, "encryption")
    assert {r.urn for r in kms_plan.children(component.urn)} == {key.urn, kms_plan.one(KMS_ALIAS).urn}
    assert helpers.provider_urn(key.provider) == kms_plan.one(AWS_PROVIDER, "aws").urn


def test_kms_alias_is_named_after_the_stack(kms_plan, make_spec):
    spec = make_spec(kms=True)
    name = kms_plan.one(KMS_ALIAS).inputs["name"]
    assert name == f"alias/{spec.name}-{spec.names.suffix}" == "alias/ml-dev-" + spec.names.suffix
    assert re.fullmatch(r"alias/[a-zA-Z0-9/_-]{1,250}", name) and not name.startswith("alias/aws/")
    # The suffix is the stack's own (random at its first deploy): another instance, another alias.
    assert make_spec(kms=True, suffix="a1b2c3").names.suffix == "a1b2c3" != spec.names.suffix


def test_kms_key_and_alias_are_retained_by_default(kms_plan):
    # The kept bucket's objects and the kept registry's images are unreadable without the key.
    assert kms_plan.one(KMS_KEY).retain_on_delete is True
    assert kms_plan.one(KMS_ALIAS).retain_on_delete is True
    assert kms_plan.one(BUCKET).retain_on_delete is True and kms_plan.one(ECR).retain_on_delete is True


def test_delete_data_releases_the_kms_key(plans, make_spec):
    plan = plans(make_spec(kms=True).with_changes(delete_data=True))
    assert not plan.one(KMS_KEY).retain_on_delete
    assert not plan.one(KMS_ALIAS).retain_on_delete
    assert plan.one(KMS_KEY).inputs["deletionWindowInDays"] == 30  # still recoverable for 30 days
    assert not plan.one(BUCKET).retain_on_delete and not plan.one(ECR).retain_on_delete


def test_kms_key_policy_gives_the_account_alone_control(kms_plan):
    key, _ = stack_key(kms_plan)
    policy = json.loads(key.inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if "AWS" in s["Principal"]]
    # The one other statement lets CloudWatch Logs use the key for the control plane's log
    # group only (tests/recipes/test_aws_first_deploy.py).
    assert [s["Principal"] for s in policy["Statement"] if s is not statement] == [{"Service": "logs.eu-west-1.amazonaws.com"}]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT}:root"}
    # In a key policy "*" is this key; the account then grants its use through IAM (scoped below).
    assert statement["Action"] == "kms:*" and statement["Resource"] == "*"
    assert "Condition" not in statement and "NotPrincipal" not in statement


def test_kms_bucket_encrypts_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    config = kms_plan.one(SSE_CONFIG)
    (rule,) = config.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": arn}
    assert rule["bucketKeyEnabled"] is True
    assert key.urn in config.dependencies
    assert config.retain_on_delete is True


def test_kms_registry_encrypts_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    repo = kms_plan.one(ECR)
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": arn}]
    assert key.urn in repo.dependencies
    # Everything else about the repository is unchanged.
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.inputs["forceDelete"] is False and repo.retain_on_delete is True


def test_kms_cluster_envelope_encrypts_secrets_with_the_stack_key(kms_plan):
    key, arn = stack_key(kms_plan)
    cluster = kms_plan.one(EKS)
    assert cluster.inputs["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": arn}}
    assert key.urn in cluster.dependencies


def test_kms_cluster_role_may_use_only_this_key(kms_plan, make_spec):
    _, arn = stack_key(kms_plan)
    (policy,) = [r for r in kms_plan.by_type(ROLE_POLICY) if r.name == "cluster-control-plane-kms"]
    control_plane = kms_plan.one(ROLE, "cluster-control-plane")
    assert control_plane.inputs["name"] == make_spec(kms=True).names.iam_role("cluster")
    assert control_plane.urn in policy.dependencies
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == CLUSTER_KEY_ACTIONS
    assert statement["Resource"] == arn
    # The control plane has the permission before EKS first uses the key.
    assert policy.urn in kms_plan.one(EKS).dependencies


@pytest.mark.parametrize("purpose", ["mlflow", "pipelines"])
def test_kms_pod_roles_use_only_this_key_and_only_through_s3(kms_plan, make_spec, purpose):
    _, arn = stack_key(kms_plan)
    bucket_arn = f"arn:aws:s3:::{make_spec(kms=True).names.s3_bucket()}"
    identity = kms_plan.one("recipes:aws:BucketAccess", f"{purpose}-identity")
    (inline,) = [r for r in kms_plan.children(identity.urn) if r.type == ROLE_POLICY]
    document = json.loads(inline.inputs["policy"])
    (statement,) = kms_statements(document)
    assert statement["Effect"] == "Allow"
    assert set(as_list(statement["Action"])) == OBJECT_KEY_ACTIONS
    assert as_list(statement["Resource"]) == [arn]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    # The bucket statements are as without --kms: this bucket and its objects only.
    others = [s for s in document["Statement"] if s is not statement]
    assert all(a.startswith("s3:") for s in others for a in as_list(s["Action"]))
    assert {r for s in others for r in as_list(s["Resource"])} == {bucket_arn, f"{bucket_arn}/*"}


@pytest.mark.parametrize("variant", [{"kms": True}, {"kms": True, "network": "public", "deployer": "kserve"}])
def test_kms_no_wildcard_principal_and_no_key_use_on_everything(plans, variant):
    plan = plans(**variant)
    key, arn = stack_key(plan)
    docs = policy_documents(plan)
    assert len(docs) == 11  # 4 inline (one for the control plane's key use), 6 trust, 1 bucket policy
    for where, doc in docs:
        for statement in doc["Statement"]:
            if statement["Effect"] != "Allow":
                continue  # the bucket's deny of plain HTTP names everyone, as it must
            assert statement.get("Principal") not in ("*", {"AWS": "*"}), f"{where}: principal '*'"
            actions = as_list(statement.get("Action", []))
            assert not any("*" in a for a in actions), f"{where}: wildcard action in {actions}"
            if any(a.startswith("kms:") for a in actions):
                assert all(a.startswith("kms:") for a in actions), where
                assert as_list(statement["Resource"]) == [arn], f"{where}: key use beyond the stack's key"
    # The key policy: the account's root is its only principal (and so the only one with kms:*),
    # but for CloudWatch Logs, allowed the key for the control plane's log group only.
    for statement in json.loads(key.inputs["policy"])["Statement"]:
        if statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}:
            assert list(statement["Condition"]) == ["ArnEquals"] and not any("*" in a for a in statement["Action"])
            continue
        assert set(statement["Principal"]) == {"AWS"}, statement["Principal"]
        assert as_list(statement["Principal"]["AWS"]) == [f"arn:aws:iam::{MOCK_ACCOUNT}:root"]
    # Nothing else in the stack writes a resource policy on the key or a grant.
    assert not plan.of_prefix("aws:kms/grant") and not plan.of_prefix("aws:kms/keyPolicy")


def test_kms_adds_exactly_the_key_and_the_control_planes_use_of_it(aws_plan, kms_plan):
    removed, added = removed_and_added(aws_plan, kms_plan)
    assert removed == set()
    assert added == {
        (ENCRYPTION, "encryption"),
        (KMS_KEY, "encryption"),
        (KMS_ALIAS, "encryption-alias"),
        (ROLE_POLICY, "cluster-control-plane-kms"),
    }
    # The outputs (and so the ZenML stack) do not change.
    assert kms_plan.raw_outputs == aws_plan.raw_outputs
    outputs.validate(kms_plan.raw_outputs)


def test_kms_bucket_registry_and_cluster_depend_on_the_key_not_on_each_other(kms_plan):
    key = kms_plan.one(KMS_KEY)
    assert not kms_plan.deps_closure(key) - {kms_plan.one(AWS_PROVIDER, "aws").urn}
    groups = {
        "bucket": {r.urn for r in kms_plan.subtree(kms_plan.one("recipes:aws:Bucket", "bucket")) if r.custom},
        "registry": {r.urn for r in kms_plan.subtree(kms_plan.one("recipes:aws:Registry", "registry")) if r.custom},
        "cluster": {kms_plan.one(EKS).urn},
    }
    cluster_side = {r.urn for r in kms_plan.resources if r.type.startswith(("aws:eks", "aws:ec2", "recipes:aws:Cluster"))}
    for group, urns in groups.items():
        closure = set().union(*(kms_plan.deps_closure(kms_plan.get(u)) for u in urns))
        assert key.urn in closure, group
        for other, other_urns in groups.items():
            if other != group:
                assert not closure & other_urns, f"{group} waits for {other}"
        if group != "cluster":
            assert not closure & cluster_side, f"{group} waits for the cluster or network"


@pytest.mark.parametrize(
    "variant,users",
    [
        ({"without": ["cluster", "tracker", "deployer"]}, {SSE_CONFIG, ECR}),
        ({"components": ["cluster", "deployer"]}, {EKS, "aws:cloudwatch/logGroup:LogGroup"}),
        ({"components": ["bucket"]}, {SSE_CONFIG}),
    ],
)
def test_kms_key_serves_whatever_components_the_stack_has(plans, variant, users):
    plan = plans(kms=True, **variant)
    key, arn = stack_key(plan)
    assert key.retain_on_delete is True
    using = {r.type for r in plan.resources if r.custom and key.urn in r.dependencies and r.type != KMS_ALIAS}
    assert using - {ROLE_POLICY} == users
    assert arn in plan.inputs_json()


@pytest.mark.parametrize("variant", [{}, {"without": ["cluster", "tracker", "deployer"]}, {"network": "public", "deployer": "kserve"}])
def test_without_kms_no_key_and_aes256_everywhere(plans, variant):
    plan = plans(**variant)
    assert not plan.of_prefix("aws:kms") and not plan.of_prefix(ENCRYPTION)
    assert "kms" not in plan.inputs_json().lower()  # no aws:kms, no kmsKey, no kms: actions anywhere
    (rule,) = plan.one(SSE_CONFIG).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert plan.one(ECR).inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    for cluster in plan.by_type(EKS):
        assert "encryptionConfig" not in cluster.inputs


# ---------------------------------------------------------------------------
# --private-endpoint: the Kubernetes API only inside the VPC (C1)


def test_public_endpoint_by_default(aws_plan):
    vpc_config = aws_plan.one(EKS).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["endpointPrivateAccess"] is True  # nodes reach the API inside the VPC either way


@pytest.mark.parametrize("variant", [{}, {"network": "public"}, {"kms": True}])
def test_private_endpoint_closes_the_public_endpoint(plans, variant):
    plan = plans(private_endpoint=True, **variant)
    vpc_config = plan.one(EKS).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is False
    assert vpc_config["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc_config
    assert len(vpc_config["subnetIds"]) == len(plan.by_type(SUBNET))


def test_private_endpoint_changes_only_the_endpoint(aws_plan, plans):
    plan = plans(private_endpoint=True)
    assert plan.keys() == aws_plan.keys()
    default, private = aws_plan.one(EKS).inputs, plan.one(EKS).inputs
    assert {k for k in default.keys() | private.keys() if default.get(k) != private.get(k)} == {"vpcConfig"}
    assert plan.raw_outputs == aws_plan.raw_outputs
