"""Waits where a cloud is eventually consistent: a grant exists before it is effective.

Azure role assignments and Google IAM grants are accepted at once but reach every
service only later, and the calls that need them fail at once with errors the
providers do not retry (`ForbiddenByRbac`, `KeyVaultAuthenticationFailure`, a 403 from
the AKS API server, "Permission denied on Cloud KMS key"). So what needs a grant
depends on a `Propagation` of it: a `time:Sleep` (pulumiverse-time) whose duration is
the cloud's documented propagation time, created after the grant. It shows in the
progress view like any resource ("creating ... 2m"), and it waits only when it is
created or its grants change (its triggers): a redeploy that keeps the grants waits
for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

# Documented propagation times, one place per cloud (the sources are the clouds' own pages).
# AKS: "Azure role assignments can take up to five minutes to propagate" (AKS, Use Azure RBAC
# for Kubernetes Authorization). Key Vault RBAC, storage and registry CMEK identities: Azure RBAC
# troubleshooting gives the same bound for role assignments.
AZURE_ROLE_ASSIGNMENT = "5m"
# Google IAM: "policy changes typically take effect within 2 minutes" (IAM, Access change
# propagation); KMS grants to service agents are IAM policy changes.
GCP_IAM_GRANT = "2m"


@dataclass
class PropagationArgs:
    duration: str  # a Go duration: "2m", "300s"
    grants: list[pulumi.Resource]  # what must be effective before the dependents run
    reason: str  # what waits, for the plan and the progress view
    # Values that, when they change, mean new grants to wait for (principal and scope ids).
    triggers: dict[str, pulumi.Input[str]] | None = None


class Propagation(pulumi.ComponentResource):
    """Depend on this instead of on the grants themselves."""

    def __init__(self, name: str, args: PropagationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:cloud:Propagation", name, {"reason": args.reason}, opts)
        import pulumiverse_time as time

        self.sleep = time.Sleep(
            f"{name}-wait",
            create_duration=args.duration,
            triggers=args.triggers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.grants),
        )
        self.register_outputs({"reason": args.reason, "duration": args.duration})
