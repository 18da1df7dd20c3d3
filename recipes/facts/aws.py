"""AWS facts: constants only (see recipes/facts/__init__.py). Sections are headed by what reads them."""

from __future__ import annotations

import re

PROGRAM_PACKAGE = "recipes.aws"  # the Pulumi program's package (recipes/program.py)

# --- stack spec: profiles, node types, networks, tags, admins (read by recipes/spec.py, recipes/spec_values.py)
# Profile defaults; dev: one 2 vCPU / 8 GiB node on spot, prod: 2-6 on-demand 4 vCPU / 16 GiB nodes, keys.
PROFILE_DEFAULTS = {
    "dev": {"node_type": "t3.large", "min_nodes": 1, "max_nodes": 3, "spot": True},
    "prod": {"node_type": "m6i.xlarge", "min_nodes": 2, "max_nodes": 6, "spot": False, "kms": True, "audit_logs": True},
}
SPOT_NODES = True  # the cluster's only node pool may run on spot capacity
NODE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
NODE_TYPE_EXAMPLE = "t3.large"
NETWORK_MODES = ("private", "public")
PROJECT_RE = None  # no project to name: the account comes with the credentials
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
TAG_KEY_FORBIDDEN = ""
TAG_RESERVED_PREFIX = "aws:"
TAG_KEY_RE = TAG_VALUE_RE = re.compile(r"^[\w\s+\-=.:/@]*$")
TAG_PATTERN_PROBLEM = "tag {key!r}: use letters, digits, spaces and + - = . _ : / @ only"
# --admin: IAM role or user ARNs (with a path); a role session's ARN is refused with the role's.
_IAM_NAME = r"[\w+=,.@-]+"
ADMIN_RE = re.compile(rf"^arn:aws:iam::(\d{{12}}):(role|user)/((?:{_IAM_NAME}/)*{_IAM_NAME})$")
ADMIN_SESSION_RE = re.compile(rf"^arn:aws:sts::(\d{{12}}):assumed-role/({_IAM_NAME})/[^/]+$")
ADMIN_SSO_PATH_RE = re.compile(r"^aws-reserved/sso\.amazonaws\.com/(?:[a-z0-9-]+/)?")
ADMIN_KINDS = None

# --- deploy refusals (read by provisioner/operations/refusals.py)
# A private API endpoint only the stack's own network reaches: (the cluster service, the network).
PRIVATE_API_ONLY_FROM_NETWORK: tuple[str, str] | None = ("EKS", "VPC")
# A registry name fixed for a whole account and region: ZenML pushes every image to
# `<account>.dkr.ecr.<region>.amazonaws.com/zenml` and accepts no path in an ECR registry's
# URI, so every AWS stack's repository is called `zenml` (recipes/naming.py).
REGION_WIDE_REGISTRY: str | None = "ECR repository `zenml`"

# --- resource types (read by baseline, costs, critical_path, mockcloud, adoption, tests)
# Pulumi type tokens of what the AWS recipe declares, named once so no module restates the
# string. Cloud-specific names; the role names after them are the same in every cloud module.
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
EKS_POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
EC2_VPC = "aws:ec2/vpc:Vpc"
EC2_SUBNET = "aws:ec2/subnet:Subnet"
EC2_NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EC2_EIP = "aws:ec2/eip:Eip"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
EC2_FLOW_LOG = "aws:ec2/flowLog:FlowLog"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
IAM_USER_LOGIN_PROFILE = "aws:iam/userLoginProfile:UserLoginProfile"
CLOUDWATCH_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# Role names (the same in every cloud module), for code that reads them through facts.of(provider).
CLUSTER_TYPE = EKS_CLUSTER
NODE_POOL_TYPE = EKS_NODE_GROUP
NAT_GATEWAY_TYPE = EC2_NAT_GATEWAY
# What holds the user's data, and (with --kms) the key without which it cannot be read.
DATA_TYPES = (S3_BUCKET, ECR_REPOSITORY, KMS_KEY)
# Long-lived credentials no recipe may create (baseline rule I2).
LONG_LIVED_KEY_TYPES = (IAM_ACCESS_KEY, IAM_USER_LOGIN_PROFILE)

# --- creation times (read by critical_path)
# Typical seconds to create each type; anything not listed is one API call (critical_path's default).
# Sources: the providers' documented create timeouts (an upper bound) and AWS's create guides.
CREATE_SECONDS = {
    # EKS control plane: ~9-14 min ("Cluster provisioning takes several minutes",
    # https://docs.aws.amazon.com/eks/latest/userguide/create-cluster.html; Terraform
    # aws_eks_cluster create timeout 30m). Take 11 min.
    EKS_CLUSTER: 660,
    # Managed node group: ~3-5 min until nodes are Ready
    # (https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html; timeout 60m).
    EKS_NODE_GROUP: 240,
    # EKS add-ons wait for ACTIVE: ~1-2 min (https://docs.aws.amazon.com/eks/latest/userguide/creating-an-add-on.html).
    EKS_ADDON: 90,
    # NAT gateway: ~1-2 min from pending to available
    # (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html; Terraform timeout 10m).
    EC2_NAT_GATEWAY: 90,
    # IAM roles: one API call plus ~10 s of propagation the providers wait out
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
    IAM_ROLE: 10,
    EKS_POD_IDENTITY_ASSOCIATION: 10,
    KMS_KEY: 10,
    S3_BUCKET: 5,
    ECR_REPOSITORY: 5,
}
# A control plane in a region rather than a zone, when that takes longer (GKE only).
REGIONAL_CLUSTER_CREATE_SECONDS = None

# --- regions (read by recipes/regions.py, spec, costs)
DEFAULT_REGION = "us-east-1"
# Public commercial regions as of 2026-11 (GovCloud and China partitions left out: their endpoints differ).
REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-south-2", "eu-north-1",
    "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
    "sa-east-1",
})
# The region whose list prices costs' table holds.
PRICE_REFERENCE_REGION = "us-east-1"

# --- ZenML stack components (read by stacks/exporters)
ZENML_ARTIFACT_STORE_FLAVOR = "s3"
ZENML_CONTAINER_REGISTRY_FLAVOR = "aws"
# Labels and the storage-account variable ZenML's pipeline pods need to reach the bucket without keys.
PIPELINE_POD_LABELS = None
STORAGE_ACCOUNT_ENV = None
BUCKET_STATIC_KEYS = False  # pipeline pods reach the bucket through workload identity

# --- The cloud's Pulumi SDK: the one distribution that only this cloud needs, installed with the
# `stack-recipes[aws]` extra (pyproject.toml); recipes.facts.missing_sdk reads it.
SDK_DISTRIBUTION = "pulumi-aws"
SDK_MODULE = "pulumi_aws"

# --- Pulumi plugins and the errors a user can fix (read by provisioner/engine/pulumi/plugins.py, messages.py)
# The resource plugins the program uses. The plugin for `x` comes from the Python SDK distribution
# `pulumi_x` (`-` becomes `_`), at that SDK's version; community plugins published elsewhere are
# listed with (their SDK distribution, their plugin server).
PULUMI_PLUGINS = ("aws", "kubernetes", "random", "tls")
COMMUNITY_PLUGINS: dict[str, tuple[str, str]] = {}
# Errors that mean the credentials are missing or expired, and what the user runs then.
EXPIRED_CREDENTIAL_ERRORS = ("ExpiredToken", "InvalidClientTokenId", "no valid credential sources", "NoCredentialProviders",
                             "SignatureDoesNotMatch", "UnrecognizedClientException", "token has expired",
                             "failed to refresh cached credentials")
EXPIRED_CREDENTIAL_FIX = ("Your AWS credentials are missing or expired: run `aws sso login` (or `aws configure`), check with "
                          "`aws sts get-caller-identity`, then re-run the same command.")
# The error a missing one-time prerequisite of the account gives (a regex), what in it names the
# missing piece (a regex, one group), the command per piece ("{}") and the hint around the
# commands ("{commands}"). AWS has none.
PREREQUISITE_ERROR_RE: str | None = None
PREREQUISITE_MISSING_RE: str | None = None
PREREQUISITE_FIX_COMMAND: str | None = None
PREREQUISITE_HINT: str | None = None

# --- import ids of pending creates (read by provisioner/engine/adoption.py)
# Resource type -> the provider's documented import id, a template of the pending create's
# inputs (and of the stack's project, region, subscription). Types whose ids the cloud
# generates (a VPC, a NAT gateway) are not here: `recipe repair` cannot find those.
EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
IMPORT_ID_FORMATS = {
    EKS_CLUSTER: "{name}",
    EKS_NODE_GROUP: "{clusterName}:{nodeGroupName}",
    EKS_ADDON: "{clusterName}:{addonName}",
    EKS_ACCESS_ENTRY: "{clusterName}:{principalArn}",
    IAM_ROLE: "{name}",
    IAM_ROLE_POLICY: "{role}:{name}",
    S3_BUCKET: "{bucket}",
    ECR_REPOSITORY: "{name}",
    CLOUDWATCH_LOG_GROUP: "{name}",
    KMS_ALIAS: "{name}",
}

# --- this machine's tools and credentials (read by provisioner/cli/doctor.py)
# (name, command, why it is needed, how to get it)
DOCTOR_TOOLS = (("aws CLI", "aws", "needed by kubeconfigs of EKS clusters (aws eks get-token)",
                 "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"),)
DOCTOR_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
DOCTOR_CREDENTIAL_FILES = (".aws/credentials", ".aws/config")  # under the home directory
DOCTOR_CREDENTIALS_MISSING = "no AWS credentials in the environment or ~/.aws"
DOCTOR_CREDENTIAL_FIX = "aws configure (or aws sso login)"
DOCTOR_IDENTITY_COMMAND = ("aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text")  # who we are

# --- pod egress the stack's NetworkPolicies allow besides DNS and HTTPS (recipes/kubernetes/segmentation.py)
# EKS Pod Identity: pods get credentials from the agent on their node at this link-local address.
IDENTITY_ENDPOINTS: tuple[tuple[str, int], ...] = (("169.254.170.23/32", 80),)
