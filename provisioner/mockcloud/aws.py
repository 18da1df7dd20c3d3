"""Mock answers for pulumi-aws resources and data sources."""

from __future__ import annotations

from typing import Any

from . import FAKE_AWS_ACCOUNT as ACCOUNT
from . import Context, digest


def computed(type_: str, name: str, inputs: dict[str, Any], context: Context) -> dict[str, Any]:
    region = context.region
    service = type_.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{name}"}
    if type_ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        out.update(
            endpoint=f"https://{digest(cluster, length=16).upper()}.gr7.{region}.eks.amazonaws.com",
            certificateAuthority={"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1PQ0sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="},
            identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/MOCK"}]}],
            arn=f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{cluster}",
            version=inputs.get("version") or "1.33",  # EKS picks its default version when none is given
        )
    elif type_ == "aws:eks/nodeGroup:NodeGroup":
        group = inputs.get("nodeGroupName") or name
        out.update(
            arn=f"arn:aws:eks:{region}:{ACCOUNT}:nodegroup/{inputs.get('clusterName', 'cluster')}/{group}/mock",
            resources=[{"autoscalingGroups": [{"name": f"eks-{group}-mock"}], "remoteAccessSecurityGroupId": ""}],
        )
    elif type_ == "aws:ecr/repository:Repository":
        repo = inputs.get("name", name)
        out.update(
            repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}",
            registryId=ACCOUNT,
            arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}",
        )
    elif type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket", name)
        out.update(arn=f"arn:aws:s3:::{bucket}", bucket=bucket, bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com")
    elif type_ == "aws:iam/role:Role":
        out.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{inputs.get('name', name)}")
    elif type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update(latestVersion=1, defaultVersion=1)
    elif type_ == "aws:ec2/eip:Eip":
        # A plausible public address, the same for the same stack (the NAT's, admitted by --allow-cidr).
        h = digest(region, context.spec.name, name, length=6)
        address = f"52.{int(h[:2], 16) % 200 + 1}.{int(h[2:4], 16)}.{int(h[4:], 16) % 250 + 1}"
        out.update(publicIp=address, allocationId=f"eipalloc-{digest(name, length=17)}",
                   publicDns=f"ec2-{address.replace('.', '-')}.{region}.compute.amazonaws.com")
    return out


def call(token: str, args: dict[str, Any], context: Context) -> dict[str, Any] | None:
    region = context.region
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": [f"{region}a", f"{region}b", f"{region}c"],
                "zoneIds": [f"{region[:3]}-az1", f"{region[:3]}-az2", f"{region[:3]}-az3"], "id": region}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/plan", "userId": "PLAN", "id": ACCOUNT}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    return None
