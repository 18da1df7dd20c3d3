"""Azure facts: constants only (see recipes/facts/__init__.py). Sections are headed by what reads them."""

from __future__ import annotations

import re

PROGRAM_PACKAGE = "recipes.azure"  # the Pulumi program's package (recipes/program.py)

# --- stack spec: profiles, node types, networks, tags, admins (read by recipes/spec.py, recipes/spec_values.py)
# Profile defaults; an AKS system node pool cannot run on spot VMs, so neither profile asks for it.
PROFILE_DEFAULTS = {
    "dev": {"node_type": "Standard_D2s_v5", "min_nodes": 1, "max_nodes": 3, "spot": False},
    "prod": {"node_type": "Standard_D4s_v5", "min_nodes": 2, "max_nodes": 6, "spot": False, "kms": True, "audit_logs": True, "network_rules": True},
}
SPOT_NODES = False
NODE_TYPE_RE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
NODE_TYPE_EXAMPLE = "Standard_D2s_v5"
# AKS nodes never get public IPs (outbound goes through the cluster's own load balancer).
NETWORK_MODES = ("private",)
PROJECT_RE = None  # the subscription comes with the credentials
TAG_KEY_MAX, TAG_VALUE_MAX = 512, 256
TAG_KEY_FORBIDDEN = "<>%&\\?/"
TAG_RESERVED_PREFIX = None
TAG_KEY_RE = TAG_VALUE_RE = None
TAG_PATTERN_PROBLEM = None
# --admin: Entra object ids, optionally KIND:<id>; the kinds as role assignments spell them.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ADMIN_RE = re.compile(rf"^(?:(user|group|serviceprincipal):)?({_UUID})$", re.IGNORECASE)
ADMIN_SESSION_RE = None
ADMIN_SSO_PATH_RE = None
ADMIN_KINDS = {"user": "user", "group": "group", "serviceprincipal": "servicePrincipal"}

# --- deploy refusals (read by provisioner/operations/refusals.py)
PRIVATE_API_ONLY_FROM_NETWORK: tuple[str, str] | None = ("AKS", "VNet")
REGION_WIDE_REGISTRY: str | None = None

# --- resource types (read by baseline, costs, critical_path, mockcloud, adoption, tests)
# Pulumi type tokens of what the Azure recipe declares, named once so no module restates the
# string. Cloud-specific names; the role names after them are the same in every cloud module.
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NAT_GATEWAY = "azure-native:network:NatGateway"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
STORAGE_ACCOUNT_KEY = "azure-native:storage:StorageAccountKey"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE_PROPERTIES = "azure-native:storage:BlobServiceProperties"
STORAGE_MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
CONTAINER_REGISTRY_TOKEN = "azure-native:containerregistry:Token"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_IDENTITY_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
PUBLIC_IP_ADDRESS = "azure-native:network:PublicIPAddress"
FLOW_LOG = "azure-native:network:FlowLog"
LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
# Role names (the same in every cloud module), for code that reads them through facts.of(provider).
CLUSTER_TYPE = AKS_CLUSTER
NODE_POOL_TYPE = AKS_AGENT_POOL
NAT_GATEWAY_TYPE = NAT_GATEWAY
# What holds the user's data, and (with --kms) the vault and key without which it cannot be read.
# --audit-logs: the logs kept for audit (the log storage account is a STORAGE_ACCOUNT).
DATA_TYPES = (STORAGE_ACCOUNT, CONTAINER_REGISTRY, BLOB_CONTAINER, KEY_VAULT, KEY_VAULT_KEY, LOG_ANALYTICS_WORKSPACE)
# Long-lived credentials no recipe may create (baseline rule I2).
LONG_LIVED_KEY_TYPES = (CONTAINER_REGISTRY_TOKEN, STORAGE_ACCOUNT_KEY)

# --- creation times (read by critical_path)
# Typical seconds to create each type; anything not listed is one API call (critical_path's default).
# Sources: the providers' documented create timeouts (an upper bound) and Microsoft's create guides.
CREATE_SECONDS = {
    # AKS with its system node pool: ~5-18 min (https://learn.microsoft.com/azure/aks/learn/quick-kubernetes-deploy-cli
    # "takes a few minutes"; azure-native/Terraform create timeout 90m). Take 8 min.
    AKS_CLUSTER: 480,
    AKS_AGENT_POOL: 240,
    NAT_GATEWAY: 60,
    # Storage account and registry: ARM long-running operations, ~20-40 s.
    STORAGE_ACCOUNT: 30,
    CONTAINER_REGISTRY: 30,
    KEY_VAULT: 30,
    # Role assignments and identities: one ARM call, replication waited out by the provider.
    ROLE_ASSIGNMENT: 10,
    USER_ASSIGNED_IDENTITY: 10,
    FEDERATED_IDENTITY_CREDENTIAL: 10,
    VIRTUAL_NETWORK: 10,
    SUBNET: 10,
    PUBLIC_IP_ADDRESS: 10,
    # --audit-logs: a workspace and a flow log are ARM long-running operations like a storage account.
    LOG_ANALYTICS_WORKSPACE: 30,
    FLOW_LOG: 30,
    DIAGNOSTIC_SETTING: 10,
}
# A control plane in a region rather than a zone, when that takes longer (GKE only).
REGIONAL_CLUSTER_CREATE_SECONDS = None

# --- regions (read by recipes/regions.py, spec, costs)
DEFAULT_REGION = "eastus"
# Public commercial regions as of 2026-11 (sovereign clouds left out: their endpoints differ).
REGIONS = frozenset({
    "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
    "westus", "westus2", "westus3", "canadacentral", "canadaeast", "mexicocentral",
    "brazilsouth", "brazilsoutheast", "chilecentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth",
    "germanywestcentral", "germanynorth", "switzerlandnorth", "switzerlandwest",
    "norwayeast", "norwaywest", "swedencentral", "polandcentral", "italynorth", "spaincentral",
    "israelcentral", "qatarcentral", "uaenorth", "uaecentral", "southafricanorth", "southafricawest",
    "centralindia", "southindia", "westindia", "eastasia", "southeastasia", "japaneast", "japanwest",
    "koreacentral", "koreasouth", "australiaeast", "australiasoutheast", "australiacentral",
    "newzealandnorth", "indonesiacentral", "malaysiawest",
})
# The region whose list prices costs' table holds.
PRICE_REFERENCE_REGION = "eastus"

# --- ZenML stack components (read by stacks/exporters)
ZENML_ARTIFACT_STORE_FLAVOR = "azure"
ZENML_CONTAINER_REGISTRY_FLAVOR = "azure"
# On AKS a pod gets its workload identity only with this label, and ZenML's Azure artifact
# store finds the storage account through this variable.
PIPELINE_POD_LABELS = {"azure.workload.identity/use": "true"}
STORAGE_ACCOUNT_ENV = "AZURE_STORAGE_ACCOUNT_NAME"
BUCKET_STATIC_KEYS = False  # pipeline pods reach the bucket through workload identity

# --- The cloud's Pulumi SDK: the one distribution that only this cloud needs, installed with the
# `stack-recipes[azure]` extra (pyproject.toml); recipes.facts.missing_sdk reads it.
SDK_DISTRIBUTION = "pulumi-azure-native"
SDK_MODULE = "pulumi_azure_native"

# --- Pulumi plugins and the errors a user can fix (read by provisioner/engine/pulumi/plugins.py, messages.py)
# The resource plugins the program uses. The plugin for `x` comes from the Python SDK distribution
# `pulumi_x` (`-` becomes `_`), at that SDK's version; community plugins published elsewhere are
# listed with (their SDK distribution, their plugin server): time, for recipes/propagation.py.
PULUMI_PLUGINS = ("azure-native", "kubernetes", "random", "time", "tls")
COMMUNITY_PLUGINS: dict[str, tuple[str, str]] = {
    "time": ("pulumiverse_time", "github://api.github.com/pulumiverse/pulumi-time"),
}
# Errors that mean the credentials are missing or expired, and what the user runs then.
EXPIRED_CREDENTIAL_ERRORS = ("AADSTS", "az login", "DefaultAzureCredential", "AzureCLICredential",
                             "InvalidAuthenticationToken", "ExpiredAuthenticationToken")
EXPIRED_CREDENTIAL_FIX = ("Your Azure credentials are missing or expired: run `az login` (and `az account set "
                          "--subscription ...`), then re-run the same command.")
# The error a missing one-time prerequisite of the subscription gives (a regex), what in it names
# the missing piece (a regex, one group), the command per piece ("{}") and the hint around the
# commands ("{commands}"): a resource provider the subscription has not registered.
PREREQUISITE_ERROR_RE: str | None = r"MissingSubscriptionRegistration"
PREREQUISITE_MISSING_RE: str | None = r"namespace '([A-Za-z][A-Za-z0-9.]*)'"
PREREQUISITE_FIX_COMMAND: str | None = "az provider register --namespace {} --wait"
PREREQUISITE_HINT: str | None = (
    "The subscription has not registered a resource provider the stack needs (once per subscription): "
    "run {commands}, then re-run the same command (`recipe doctor` lists them all).")

# --- import ids of pending creates (read by provisioner/engine/adoption.py)
# Resource type -> the provider's documented import id, a template of the pending create's
# inputs (and of the stack's project, region, subscription). Types whose ids the cloud
# generates are not here: `recipe repair` cannot find those.
_ARM_GROUP = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}"
IMPORT_ID_FORMATS = {
    RESOURCE_GROUP: _ARM_GROUP,
    AKS_CLUSTER: _ARM_GROUP + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}",
    STORAGE_ACCOUNT: _ARM_GROUP + "/providers/Microsoft.Storage/storageAccounts/{accountName}",
    CONTAINER_REGISTRY: _ARM_GROUP + "/providers/Microsoft.ContainerRegistry/registries/{registryName}",
    KEY_VAULT: _ARM_GROUP + "/providers/Microsoft.KeyVault/vaults/{vaultName}",
    USER_ASSIGNED_IDENTITY: _ARM_GROUP + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    VIRTUAL_NETWORK: _ARM_GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    SUBNET: _ARM_GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    ROLE_ASSIGNMENT: "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    PUBLIC_IP_ADDRESS: _ARM_GROUP + "/providers/Microsoft.Network/publicIPAddresses/{publicIpAddressName}",
    LOG_ANALYTICS_WORKSPACE: _ARM_GROUP + "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}",
    FLOW_LOG: _ARM_GROUP + "/providers/Microsoft.Network/networkWatchers/{networkWatcherName}/flowLogs/{flowLogName}",
    DIAGNOSTIC_SETTING: "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
}

# --- this machine's tools and credentials (read by provisioner/cli/doctor.py)
# (name, command, why it is needed, how to get it)
DOCTOR_TOOLS = (("az CLI", "az", "needed for azure stacks (credentials, subscription)",
                 "https://learn.microsoft.com/cli/azure/install-azure-cli"),
                ("kubelogin", "kubelogin", "needed by kubeconfigs of AKS clusters (Entra ID sign-in)", "az aks install-cli"))
DOCTOR_CREDENTIAL_ENV = ("AZURE_CLIENT_ID", "ARM_CLIENT_ID")
DOCTOR_CREDENTIAL_FILES = (".azure/msal_token_cache.json", ".azure/azureProfile.json")  # under the home directory
DOCTOR_CREDENTIALS_MISSING = "none found"
DOCTOR_CREDENTIAL_FIX = "az login"
DOCTOR_IDENTITY_COMMAND = None  # found credentials are reported, not verified

# --- pod egress the stack's NetworkPolicies allow besides DNS and HTTPS (recipes/kubernetes/segmentation.py)
# AKS workload identity exchanges the projected token with Entra ID over HTTPS: nothing link-local.
IDENTITY_ENDPOINTS: tuple[tuple[str, int], ...] = ()
