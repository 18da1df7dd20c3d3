"""Mock answers for pulumi-aws resources and data sources.

Where AWS refuses what a program asks, so does this mock, with AWS's message: a
subnet in a zone the region does not have, a node group in a zone that does not
offer one of its instance types, a control plane with subnets in fewer than two
zones, a log group on a KMS key whose policy does not let CloudWatch Logs use
it. Those answers depend on resources registered earlier in the plan (the zone
of each subnet, each key's policy), recorded in `context.state["aws"]`. So are
the logging and network-policy controls' refusals: a flow log without a destination (or to
a bucket that does not exist), access logs to a missing bucket, a VPC CNI configuration its
add-on's schema refuses.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from recipes.facts.aws import (
    CLOUDWATCH_LOG_GROUP,
    EC2_DEFAULT_SECURITY_GROUP,
    EC2_EIP,
    EC2_FLOW_LOG,
    EC2_LAUNCH_TEMPLATE,
    EC2_SUBNET,
    EC2_VPC,
    ECR_REPOSITORY,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    IAM_ROLE,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_LOGGING,
)

from . import FAKE_AWS_ACCOUNT as ACCOUNT
from . import Context, digest, fake_id


class AwsError(Exception):
    """What AWS answers a request it refuses."""


# ---------------------------------------------------------------------------
# Zones and what they offer


@dataclass(frozen=True)
class Zone:
    name: str
    zone_id: str
    zone_type: str  # "availability-zone", "local-zone" or "wavelength-zone"
    group: str  # the zone group: the region for its standard zones

    def offers(self, instance_type: str) -> bool:
        if self.zone_type == "local-zone":
            return instance_type in LOCAL_ZONE_TYPES
        if self.zone_type == "wavelength-zone":
            return instance_type in WAVELENGTH_ZONE_TYPES
        if self.zone_id.endswith(CONSTRAINED_ZONE_ID) and _matches(instance_type, list(CONSTRAINED_ZONE_LACKS)):
            return False
        only_in = SCARCE_TYPES.get(instance_type)
        return only_in is None or self.name.endswith(only_in)


# One standard zone of every region lacks whole families, as use1-az3 (us-east-1) has no
# t3 or m5. Every mock region has one, named `<region>a` (an account's letters map to zone
# ids in its own order), so every plan must choose its zones by what they offer.
CONSTRAINED_ZONE_ID = "-az3"
CONSTRAINED_ZONE_LACKS = ("t3.*", "m5.*")
# Types offered in one zone only (the letter): no two zones have them.
SCARCE_TYPES = {"p5.48xlarge": "c", "trn2.48xlarge": "c"}
# Local and Wavelength Zones offer a handful of types (none of the node group's defaults).
LOCAL_ZONE_TYPES = frozenset({"t3.medium", "t3.xlarge", "c5.2xlarge", "c5d.2xlarge", "m5.2xlarge", "r5.2xlarge", "g4dn.2xlarge"})
WAVELENGTH_ZONE_TYPES = frozenset({"t3.medium", "t3.xlarge", "r5.2xlarge", "g4dn.2xlarge"})
# What a wildcard instance-type filter (or none) is matched against.
CATALOGUE = (
    "t3.medium", "t3.large", "t3.xlarge", "t3a.large", "t3a.xlarge", "t4g.large", "m5.large", "m5.xlarge", "m5.2xlarge",
    "m6a.large", "m6a.xlarge", "m6i.large", "m6i.xlarge", "m7g.large", "m7i.large", "m7i.xlarge", "c5.2xlarge",
    "c5d.2xlarge", "r5.2xlarge", "g4dn.2xlarge", "p5.48xlarge", "trn2.48xlarge",
)
# Standard zone letters -> zone id numbers (us-east-1 has six zones; the mock's other regions three).
STANDARD_ZONES = {"us-east-1": {"a": 3, "b": 1, "c": 2, "d": 4, "e": 6, "f": 5}}
DEFAULT_STANDARD_ZONES = {"a": 3, "b": 1, "c": 2}
# Opted-in Local / Wavelength Zones: (name suffix, zone id suffix, zone type, group suffix).
OTHER_ZONES = {
    "us-east-1": [("-bos-1a", "-bos1-az1", "local-zone", "-bos-1"), ("-wl1-bos-wlz-1", "-wl1-bos-wlz1", "wavelength-zone", "-wl1")],
    "us-west-2": [("-lax-1a", "-lax1-az1", "local-zone", "-lax-1")],
}
DEFAULT_OTHER_ZONES = [("-lcl-1a", "-lcl1-az1", "local-zone", "-lcl-1")]
_DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
               "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def region_code(region: str) -> str:
    """us-east-1 -> use1, as zone ids spell the region."""
    parts = region.split("-")
    return parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]


def zones(region: str) -> list[Zone]:
    """The region's zones as DescribeAvailabilityZones lists them to the mock account, by name."""
    code = region_code(region)
    out = [Zone(f"{region}{letter}", f"{code}-az{n}", "availability-zone", region)
           for letter, n in STANDARD_ZONES.get(region, DEFAULT_STANDARD_ZONES).items()]
    out += [Zone(region + name, code + zone_id, zone_type, region + group)
            for name, zone_id, zone_type, group in OTHER_ZONES.get(region, DEFAULT_OTHER_ZONES)]
    return sorted(out, key=lambda z: z.name)


def _zone_field(zone: Zone, name: str) -> str:
    standard = zone.zone_type == "availability-zone"
    fields = {"zone-type": zone.zone_type, "zone-name": zone.name, "zone-id": zone.zone_id, "group-name": zone.group,
              "state": "available", "opt-in-status": "opt-in-not-required" if standard else "opted-in"}
    if name not in fields:
        raise NotImplementedError(f"the mock's getAvailabilityZones has no filter {name!r}")
    return fields[name]


def _matches(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    found = [z for z in zones(region) if args.get("state") in (None, "available")]
    for f in args.get("filters") or []:
        found = [z for z in found if _matches(_zone_field(z, f["name"]), list(f["values"]))]
    found = [z for z in found if z.name not in (args.get("excludeNames") or []) and z.zone_id not in (args.get("excludeZoneIds") or [])]
    return {"names": [z.name for z in found], "zoneIds": [z.zone_id for z in found],
            "groupNames": sorted({z.group for z in found}), "id": region, "region": region}


def _instance_type_offerings(args: dict[str, Any], region: str) -> dict[str, Any]:
    location_type = args.get("locationType") or "region"
    if location_type not in ("availability-zone", "availability-zone-id"):
        raise NotImplementedError(f"the mock's getInstanceTypeOfferings has no location type {location_type!r}")
    types: list[str] = list(CATALOGUE)
    locations = zones(region)
    for f in args.get("filters") or []:
        values = list(f["values"])
        if f["name"] == "instance-type":
            exact = [v for v in values if not any(c in v for c in "*?")]
            types = [t for t in dict.fromkeys(exact + list(CATALOGUE)) if _matches(t, values)]
        elif f["name"] == "location":
            locations = [z for z in locations if _matches(z.name if location_type == "availability-zone" else z.zone_id, values)]
        else:
            raise NotImplementedError(f"the mock's getInstanceTypeOfferings has no filter {f['name']!r}")
    pairs = [(t, z.name if location_type == "availability-zone" else z.zone_id) for z in locations for t in types if z.offers(t)]
    return {"instanceTypes": [t for t, _ in pairs], "locations": [loc for _, loc in pairs],
            "locationTypes": [location_type] * len(pairs), "id": region, "region": region}


# ---------------------------------------------------------------------------
# Checks AWS makes


def _state(context: Context) -> dict[str, Any]:
    return context.state.setdefault("aws", {"subnet_zones": {}, "key_policies": {}, "buckets": set(), "vpcs": set()})


def _subnet(name: str, inputs: dict[str, Any], context: Context) -> str:
    """Records the subnet's zone; AWS refuses a zone the region does not have."""
    zone = inputs.get("availabilityZone")
    known = [z.name for z in zones(context.region)]
    if zone is None:  # AWS picks one of the standard zones
        zone = next(z.name for z in zones(context.region) if z.zone_type == "availability-zone")
    elif zone not in known:
        raise AwsError(
            f"creating EC2 Subnet ({name}): InvalidParameterValue: Value ({zone}) for parameter availabilityZone is "
            f"invalid. Subnets can currently only be created in the following availability zones: {', '.join(known)}."
        )
    subnet_id = fake_id(EC2_SUBNET, name)
    _state(context)["subnet_zones"][subnet_id] = zone
    return subnet_id


def _subnet_zones(subnet_ids: list[str], context: Context) -> list[str]:
    recorded = _state(context)["subnet_zones"]
    unknown = [s for s in subnet_ids if s not in recorded]
    if unknown:
        raise AwsError(f"InvalidSubnetID.NotFound: The subnet ID '{unknown[0]}' does not exist")
    return [recorded[s] for s in subnet_ids]


def _check_node_group(name: str, inputs: dict[str, Any], context: Context) -> None:
    """A node group's instances launch in its subnets' zones: each must offer every type."""
    by_name = {z.name: z for z in zones(context.region)}
    types = list(inputs.get("instanceTypes") or ["t3.medium"])  # EKS's default type
    for zone in dict.fromkeys(_subnet_zones(list(inputs.get("subnetIds") or []), context)):
        for instance_type in types:
            if not by_name[zone].offers(instance_type):
                offering = [z.name for z in by_name.values() if z.zone_type == "availability-zone" and z.offers(instance_type)]
                raise AwsError(
                    f"creating EKS Node Group ({inputs.get('clusterName')}:{inputs.get('nodeGroupName') or name}): "
                    f"InvalidRequestException: Your requested instance type ({instance_type}) is not supported in your "
                    f"requested Availability Zone ({zone}). Please retry your request by not specifying an Availability "
                    f"Zone or choosing {', '.join(offering)}."
                )


def _check_cluster(inputs: dict[str, Any], context: Context) -> None:
    subnet_zones = set(_subnet_zones(list((inputs.get("vpcConfig") or {}).get("subnetIds") or []), context))
    if len(subnet_zones) < 2:
        raise AwsError(
            f"creating EKS Cluster ({inputs.get('name')}): InvalidParameterException: "
            "Subnets specified must be in at least two different AZs"
        )


def _list(value: Any) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def _allows_logs(policy: str, region: str, log_group_arn: str) -> bool:
    """Whether a key policy lets CloudWatch Logs of `region` generate data keys for
    `log_group_arn` (the encryption context Logs passes to KMS). The account's own
    `kms:*` statement does not: Logs is a service principal the policy must name."""
    for statement in json.loads(policy).get("Statement", []):
        principal = statement.get("Principal")
        services = _list(principal.get("Service")) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or f"logs.{region}.amazonaws.com" not in services:
            continue
        if not _matches("kms:GenerateDataKey", _list(statement.get("Action"))):
            continue
        condition = statement.get("Condition") or {}
        if not condition:
            return True
        if set(condition) - {"ArnEquals", "ArnLike"}:
            continue  # a condition the mock does not evaluate: not granted
        patterns = [p for op in condition.values() for k, v in op.items()
                    if k == "kms:EncryptionContext:aws:logs:arn" for p in _list(v)]
        if _matches(log_group_arn, patterns):
            return True
    return False


def _check_log_group(name: str, arn: str, inputs: dict[str, Any], context: Context) -> None:
    key = inputs.get("kmsKeyId")
    if not key:
        return
    policy = _state(context)["key_policies"].get(key)
    if policy is None or not _allows_logs(policy, context.region, arn):
        raise AwsError(
            f"creating CloudWatch Logs Log Group ({name}): InvalidParameterException: "
            f"The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"
        )


def _check_flow_log(name: str, inputs: dict[str, Any], context: Context) -> None:
    """CreateFlowLogs: an S3 destination must be named and exist; S3 takes no delivery role."""
    where = f"creating Flow Log ({inputs.get('vpcId') or name}): "
    kind, destination = inputs.get("logDestinationType") or "cloud-watch-logs", inputs.get("logDestination")
    if kind == "s3" and inputs.get("iamRoleArn"):
        raise AwsError(where + "InvalidParameter: DeliverLogsPermissionArn is not applicable for s3 delivery")
    if not destination and not (kind == "cloud-watch-logs" and inputs.get("logGroupName")):
        # The rule of the CreateFlowLogs API reference, in the form EC2's InvalidParameter errors take.
        raise AwsError(where + f"InvalidParameter: LogDestination can't be empty if LogDestinationType is {kind}.")
    bucket = str(destination).removeprefix("arn:aws:s3:::").split("/")[0]
    if kind == "s3" and bucket not in _state(context)["buckets"]:
        raise AwsError(where + f"400: Access Denied for LogDestination: {bucket}. Please check LogDestination permission")


def _check_bucket_logging(inputs: dict[str, Any], context: Context) -> None:
    """PutBucketLogging: both buckets must exist. (A bucket logging to itself is accepted, if unwise.)"""
    buckets = _state(context)["buckets"]
    where = f"creating S3 Bucket ({inputs.get('bucket')}) Logging: "
    if inputs.get("bucket") not in buckets:
        raise AwsError(where + "NoSuchBucket: The specified bucket does not exist")
    if inputs.get("targetBucket") not in buckets:
        raise AwsError(where + "InvalidTargetBucketForLogging: The target bucket for logging does not exist")


# The top-level keys of the vpc-cni add-on's configuration schema (DescribeAddonConfiguration),
# which allows no others; enableNetworkPolicy is in it from v1.14.0 on, and is a string.
VPC_CNI_SCHEMA_KEYS = {"affinity", "enableNetworkPolicy", "enableWindowsIpam", "enableWindowsPrefixDelegation", "env",
                       "eniConfig", "init", "livenessProbeTimeoutSeconds", "nodeAgent", "podAnnotations", "podLabels",
                       "readinessProbeTimeoutSeconds", "resources", "tolerations"}
NETWORK_POLICY_SINCE = (1, 14, 0)


def _check_addon(inputs: dict[str, Any]) -> None:
    """CreateAddon validates configurationValues against the add-on version's JSON schema."""
    if inputs.get("addonName") != "vpc-cni" or not inputs.get("configurationValues"):
        return
    values = json.loads(inputs["configurationValues"])
    keys = set(VPC_CNI_SCHEMA_KEYS)
    version = re.match(r"v(\d+)\.(\d+)\.(\d+)", inputs.get("addonVersion") or "")
    if version and tuple(int(v) for v in version.groups()) < NETWORK_POLICY_SINCE:
        keys.discard("enableNetworkPolicy")
    errors = [f"$.{k}: is not defined in the schema and the schema does not allow additional properties" for k in values if k not in keys]
    if "enableNetworkPolicy" in keys and not isinstance(values.get("enableNetworkPolicy", ""), str):
        found = {bool: "boolean", int: "integer", float: "number"}.get(type(values["enableNetworkPolicy"]), "object")
        errors.append(f"$.enableNetworkPolicy: {found} found, string expected")
    if errors:
        raise AwsError(f"creating EKS Add-On ({inputs.get('clusterName')}:vpc-cni): InvalidParameterException: ConfigurationValue "
                       f"provided in request is not supported: Json schema validation failed with error: [{', '.join(errors)}]")


# ---------------------------------------------------------------------------


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    region = context.region
    service = type_.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{name}"}
    if type_ == EKS_CLUSTER:
        _check_cluster(inputs, context)
        cluster = inputs.get("name", name)
        out.update(
            endpoint=f"https://{digest(cluster, length=16).upper()}.gr7.{region}.eks.amazonaws.com",
            certificateAuthority={"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1PQ0sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="},
            identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/MOCK"}]}],
            arn=f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{cluster}",
            version=inputs.get("version") or "1.33",  # EKS picks its default version when none is given
        )
    elif type_ == EKS_NODE_GROUP:
        _check_node_group(name, inputs, context)
        group = inputs.get("nodeGroupName") or name
        out.update(
            arn=f"arn:aws:eks:{region}:{ACCOUNT}:nodegroup/{inputs.get('clusterName', 'cluster')}/{group}/mock",
            resources=[{"autoscalingGroups": [{"name": f"eks-{group}-mock"}], "remoteAccessSecurityGroupId": ""}],
        )
    elif type_ == EC2_SUBNET:
        out.update(id=_subnet(name, inputs, context))
    elif type_ == KMS_KEY:
        # AWS names a key by a generated UUID: arn:aws:kms:<region>:<account>:key/<key id>.
        key_id = _uuid(type_, name)
        out.update(arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}", keyId=key_id)
        _state(context)["key_policies"][out["arn"]] = inputs.get("policy") or "{}"
    elif type_ == CLOUDWATCH_LOG_GROUP:
        # The provider reports the ARN without the trailing ":*" the API returns.
        out.update(arn=f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs.get('name', name)}")
        _check_log_group(inputs.get("name", name), out["arn"], inputs, context)
    elif type_ == ECR_REPOSITORY:
        repo = inputs.get("name", name)
        out.update(
            repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}",
            registryId=ACCOUNT,
            arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}",
        )
    elif type_ == S3_BUCKET:
        bucket = inputs.get("bucket", name)
        _state(context)["buckets"].add(bucket)
        out.update(arn=f"arn:aws:s3:::{bucket}", bucket=bucket, bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com")
    elif type_ == IAM_ROLE:
        out.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{inputs.get('name', name)}")
    elif type_ == EC2_VPC:
        _state(context)["vpcs"].add(fake_id(type_, name))
    elif type_ == EC2_DEFAULT_SECURITY_GROUP:
        if inputs.get("vpcId") not in _state(context)["vpcs"]:
            raise AwsError(f"InvalidVpcID.NotFound: The vpc ID '{inputs.get('vpcId')}' does not exist")
        out.update(id=f"sg-{digest(name, length=17)}", name="default")
    elif type_ == EC2_FLOW_LOG:
        _check_flow_log(name, inputs, context)
    elif type_ == S3_BUCKET_LOGGING:
        _check_bucket_logging(inputs, context)
    elif type_ == EKS_ADDON:
        _check_addon(inputs)
    elif type_ == EC2_LAUNCH_TEMPLATE:
        out.update(latestVersion=1, defaultVersion=1)
    elif type_ == EC2_EIP:
        # A plausible public address, the same for the same stack (the NAT's, admitted by --allow-cidr).
        h = digest(region, context.spec.name, name, length=6)
        address = f"52.{int(h[:2], 16) % 200 + 1}.{int(h[2:4], 16)}.{int(h[4:], 16) % 250 + 1}"
        out.update(publicIp=address, allocationId=f"eipalloc-{digest(name, length=17)}",
                   publicDns=f"ec2-{address.replace('.', '-')}.{region}.compute.amazonaws.com")
    return out


def call(token: str, args: dict[str, Any], context: Context) -> dict[str, Any] | None:
    region = context.region
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return _availability_zones(args, region)
    if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
        return _instance_type_offerings(args, region)
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/plan", "userId": "PLAN", "id": ACCOUNT}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    return None


def _uuid(*parts: str) -> str:
    """A stable UUID-shaped id, as AWS generates for keys."""
    h = digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
