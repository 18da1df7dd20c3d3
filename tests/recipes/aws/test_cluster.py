"""The EKS cluster as planned: control plane, endpoint, nodes, add-ons and the Cluster Autoscaler."""

from __future__ import annotations

import json

import pytest

from recipes.aws import policies
from recipes.facts import aws as facts
from recipes.facts import any_cloud as k8s_facts



def test_cluster_uses_access_entries_and_audit_logs(aws_plan, make_spec):
    cluster = aws_plan.one(facts.EKS_CLUSTER)
    assert cluster.inputs["name"] == make_spec().names.eks_cluster()
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    assert cluster.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    # C2 only without --audit-logs (every type with it: tests/recipes/aws/test_audit_logs.py).
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]


def test_cluster_endpoint_open_without_allow_cidr(aws_plan):
    vpc_config = aws_plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]
    assert vpc_config["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert len(vpc_config["subnetIds"]) == 4  # control plane ENIs may use every subnet


def test_cluster_endpoint_restricted_to_allow_cidrs(restricted_plan, allow_cidrs):
    assert restricted_plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]["publicAccessCidrs"] == allow_cidrs


def test_public_endpoint_by_default(aws_plan):
    vpc_config = aws_plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["endpointPrivateAccess"] is True  # nodes reach the API inside the VPC either way


@pytest.mark.parametrize("variant", [{}, {"network": "public"}, {"kms": True}])
def test_private_endpoint_closes_the_public_endpoint(plans, variant):
    plan = plans(private_endpoint=True, **variant)
    vpc_config = plan.one(facts.EKS_CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is False
    assert vpc_config["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc_config
    assert len(vpc_config["subnetIds"]) == len(plan.by_type(facts.EC2_SUBNET))


# ---------------------------------------------------------------------------
# Nodes


def test_launch_template_requires_imdsv2_with_hop_limit_one(aws_plan):
    template = aws_plan.one(facts.EC2_LAUNCH_TEMPLATE)
    options = template.inputs["metadataOptions"]
    assert options["httpTokens"] == "required"
    assert options["httpPutResponseHopLimit"] == 1
    volume = template.inputs["blockDeviceMappings"][0]["ebs"]
    assert str(volume["encrypted"]).lower() == "true"


def test_launch_template_tags_instances_and_volumes(restricted_plan, user_tags):
    # Provider default tags do not reach instances an autoscaling group launches: the template must tag them.
    specs = {s["resourceType"]: s["tags"] for s in restricted_plan.one(facts.EC2_LAUNCH_TEMPLATE).inputs["tagSpecifications"]}
    assert set(specs) == {"instance", "volume"}
    for tags in specs.values():
        assert tags["recipe-stack"] == "ml-dev"
        assert tags["managed-by"] == "stack-recipes"
        assert user_tags.items() <= tags.items()


def test_node_group_uses_launch_template_and_has_no_ssh(aws_plan):
    node_group = aws_plan.one(facts.EKS_NODE_GROUP)
    template = aws_plan.one(facts.EC2_LAUNCH_TEMPLATE)
    assert template.urn in node_group.dependencies
    assert node_group.inputs["launchTemplate"]["id"]
    assert node_group.inputs["launchTemplate"]["version"] == "1"  # the mock's latestVersion
    assert "remoteAccess" not in node_group.inputs


def test_node_group_default_size(aws_plan):
    node_group = aws_plan.one(facts.EKS_NODE_GROUP)
    # The dev profile: spot capacity over four same-sized types, t3.large first.
    assert node_group.inputs["capacityType"] == "SPOT"
    assert node_group.inputs["instanceTypes"] == ["t3.large", "t3a.large", "m5.large", "m6i.large"]
    assert node_group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert node_group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}
    assert "scalingConfig.desiredSize" in node_group.ignore_changes


def test_node_group_on_demand_and_prod_profile(plans):
    on_demand = plans(spot=False).one(facts.EKS_NODE_GROUP)
    assert on_demand.inputs["capacityType"] == "ON_DEMAND" and on_demand.inputs["instanceTypes"] == ["t3.large"]
    prod = plans(profile="prod")
    node_group = prod.one(facts.EKS_NODE_GROUP)
    assert node_group.inputs["capacityType"] == "ON_DEMAND" and node_group.inputs["instanceTypes"] == ["m6i.xlarge"]
    assert node_group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 6, "desiredSize": 2}
    assert prod.spec.kms and prod.by_type("aws:kms/key:Key")


def test_node_group_custom_graviton_size(plans):
    node_group = plans(node_type="m7g.large", min_nodes=2, max_nodes=5).one(facts.EKS_NODE_GROUP)
    assert node_group.inputs["instanceTypes"] == ["m7g.large"]  # no known alternatives: the one type
    assert node_group.inputs["amiType"] == "AL2023_ARM_64_STANDARD"
    assert node_group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 2}
    assert "scalingConfig.desiredSize" in node_group.ignore_changes


def test_node_group_waits_for_its_role_policies(aws_plan):
    node_group = aws_plan.one(facts.EKS_NODE_GROUP)
    attachments = [a for a in aws_plan.by_type(facts.IAM_ROLE_POLICY_ATTACHMENT) if a.name.startswith("cluster-nodes-")]
    assert {a.inputs["policyArn"] for a in attachments} == set(policies.EKS_NODE_POLICIES)
    assert {a.urn for a in attachments} <= set(node_group.dependencies)


def test_pod_identity_agent_and_ebs_csi_addons(aws_plan, make_spec):
    addons = {a.inputs["addonName"]: a for a in aws_plan.by_type(facts.EKS_ADDON)}
    # vpc-cni: network policy enforcement (tests/recipes/aws/test_network_policy.py).
    assert set(addons) == {"vpc-cni", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    ebs = addons["aws-ebs-csi-driver"]
    assert addons["eks-pod-identity-agent"].urn in ebs.dependencies
    (association,) = ebs.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role_name = make_spec().names.iam_role("ebs-csi")
    assert association["roleArn"].endswith(f":role/{role_name}")
    role = next(r for r in aws_plan.by_type(facts.IAM_ROLE) if r.inputs["name"] == role_name)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert {"sts:AssumeRole", "sts:TagSession"} <= set(statement["Action"])
    attached = {a.inputs["policyArn"] for a in aws_plan.by_type(facts.IAM_ROLE_POLICY_ATTACHMENT) if a.inputs["role"] == role_name}
    assert attached == set(policies.EBS_CSI_POLICIES)


def test_workloads_wait_for_the_node_group(aws_plan):
    node_group = aws_plan.one(facts.EKS_NODE_GROUP).urn
    mlflow = aws_plan.one(k8s_facts.DEPLOYMENT, "tracker-server")
    assert node_group in mlflow.dependencies
    postgres = aws_plan.one(k8s_facts.DEPLOYMENT, "tracker-db")
    assert node_group in postgres.dependencies
    for release in aws_plan.by_type(k8s_facts.HELM_RELEASE):
        assert node_group in release.dependencies, release.name
    storage_class = aws_plan.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert aws_plan.one(facts.EKS_ADDON, "cluster-ebs-csi").urn in storage_class.dependencies
    assert storage_class.urn in aws_plan.one("kubernetes:core/v1:PersistentVolumeClaim").dependencies


def test_kserve_releases_wait_for_the_node_group(plans):
    plan = plans(deployer="kserve")
    node_group = plan.one(facts.EKS_NODE_GROUP).urn
    releases = plan.by_type(k8s_facts.HELM_RELEASE)
    assert {r.name for r in releases} >= {"cert-manager", "kserve-crd", "kserve"}
    for release in releases:
        assert node_group in release.dependencies, release.name


# ---------------------------------------------------------------------------
# Cluster Autoscaler: the node group's bounds are acted on


def test_cluster_autoscaler_targets_this_cluster_at_its_version(aws_plan):
    release = aws_plan.one(k8s_facts.HELM_RELEASE, "cluster-autoscaler")
    values = release.inputs["values"]
    assert release.inputs["namespace"] == "kube-system"
    assert values["autoDiscovery"]["clusterName"] == "ml-dev" and values["awsRegion"] == "eu-west-1"
    assert values["image"]["tag"] == "v1.33.0"  # the (mocked) cluster version, not the chart's default
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert aws_plan.one(facts.EKS_NODE_GROUP).urn in aws_plan.deps_closure(release)


def test_cluster_autoscaler_may_resize_only_this_node_group(aws_plan):
    (policy_resource,) = [r for r in aws_plan.by_type(facts.IAM_ROLE_POLICY) if r.name == "cluster-autoscaler-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy_resource.inputs["policy"])["Statement"]}
    resize = statements["ResizeThisNodeGroup"]
    assert set(resize["Action"]) == {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    assert resize["Resource"] == [
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/eks-cluster-nodes-mock"
    ]
    assert statements["DescribeNodeGroup"]["Resource"].startswith("arn:aws:eks:eu-west-1:")
