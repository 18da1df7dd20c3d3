"""Customer-managed encryption (`--kms`): one Cloud KMS key per stack (B3, C3).

The key encrypts the bucket's objects (GCS default KMS key), the Artifact
Registry repository and the cluster's Kubernetes Secrets in etcd (GKE
application-layer secrets encryption). Each of these services uses the key as
its own Google service agent, so each agent is granted
`roles/cloudkms.cryptoKeyEncrypterDecrypter` on this one key, never on the
project, and only for the components the stack has. GCS, Artifact Registry
and GKE check the grant when the bucket, repository or cluster is created:
they wait for it (`grants`).

THE KEY LIVES AS LONG AS THE DATA. Destroying a CryptoKey destroys its key
versions, and everything encrypted with them becomes unreadable for good. So
the key and the GCS and Artifact Registry grants are retained exactly when the
bucket and the registry are (`retain`, i.e. not `--delete-data`); the GKE
grant goes with the cluster. A destroyed key's versions first wait in
DESTROY_SCHEDULED for 30 days (the API's default), a last chance to restore.

Key rings cannot be deleted on GCP (nor can keys: only their versions). The
key ring is therefore always retained, even with `--delete-data`: destroy
just forgets it; it costs nothing. Its name, which can then never be used
again in the project and region, carries a random part kept in the stack's
state, so a stack deployed again after `destroy --delete-data` gets a new key
ring instead of failing on the old one's name. A plain destroy keeps the key
ring, the key and the random part in the state (they are what the retained
bucket and registry depend on): a redeploy uses the same key again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from ..propagation import GCP_IAM_GRANT, Propagation, PropagationArgs
from . import roles
from ..cloud import kept

KEY_PURPOSE = "ENCRYPT_DECRYPT"
ROTATION_DAYS = 90
ROTATION_PERIOD = f"{ROTATION_DAYS * 86400}s"  # a new primary key version every 90 days
RING_RANDOM_LENGTH = 4

# The Google service agent of each component that stores data with the key, by the
# domain of its address `service-<project number>@<domain>`. GCP refuses a grant to an
# agent that does not exist yet (400 "Service account ... does not exist"), and each
# agent comes into being its own way, so each grant names its agent by what creates it:
# - registry: Artifact Registry creates its agent only with the project's first
#   repository, which itself waits for this grant. A `ServiceIdentity` (Service Usage's
#   generateServiceIdentity) creates it first, and the grant's member is its `member`
#   output (SERVICE_IDENTITIES).
# - bucket: Cloud Storage creates its agent on first use; the project service account
#   lookup (`gcp.storage.get_project_service_account`) is such a use, and answers the
#   address the grant takes.
# - cluster: enabling the Kubernetes Engine API creates GKE's agent (the
#   container-engine-robot); the grant waits for that API (`agent_apis`) and names the
#   agent by the project number.
AGENT_DOMAINS: dict[str, str] = {
    "bucket": "gs-project-accounts.iam.gserviceaccount.com",
    "registry": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "cluster": "container-engine-robot.iam.gserviceaccount.com",
}
# The components whose agent the stack creates explicitly, with the service it is the agent of.
SERVICE_IDENTITIES: dict[str, str] = {
    "registry": "artifactregistry.googleapis.com",
}


def agent_email(component: str, project_number: str) -> str:
    """The address of the Google service agent that uses the key for `component`."""
    return f"service-{project_number}@{AGENT_DOMAINS[component]}"


@dataclass
class EncryptionArgs:
    key_ring_prefix: str  # the key ring's name is `<prefix>-<random>`
    key_name: str
    project: str
    location: str  # the stack's region: GCS, Artifact Registry and GKE need the key where their data is
    # The components whose service agent gets the key: a subset of bucket, registry, cluster.
    components: tuple[str, ...]
    # D1: keep the key (and the storage grants) as long as the bucket and registry are kept.
    retain: bool = True
    # The Cloud KMS and Resource Manager APIs: the key ring, the key and the project lookup wait for them.
    apis: list[pulumi.Resource] = field(default_factory=list)
    # Per component, the API that creates its service agent: its grant waits for it.
    agent_apis: dict[str, list[pulumi.Resource]] = field(default_factory=dict)


class Encryption(pulumi.ComponentResource):
    key_ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey
    key_id: pulumi.Output[str]  # projects/<p>/locations/<l>/keyRings/<ring>/cryptoKeys/<key>
    grants: dict[str, gcp.kms.CryptoKeyIAMMember]  # by component
    identities: dict[str, gcp.projects.ServiceIdentity]  # by component: the agents created explicitly

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("recipes:gcp:Encryption", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.apis)

        ring_random = random.RandomString(
            f"{name}-ring-suffix",
            length=RING_RANDOM_LENGTH,
            special=False,
            upper=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Always retained: GCP cannot delete a key ring (see the module docstring).
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=pulumi.Output.concat(args.key_ring_prefix, "-", ring_random.result),
            location=args.location,
            # Protected only as long as the data is kept: --delete-data forgets it (GCP keeps it).
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True, protect=args.retain)),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=args.key_name,
            key_ring=self.key_ring.id,
            purpose=KEY_PURPOSE,
            rotation_period=ROTATION_PERIOD,
            # Kept while the data it encrypts is kept: a destroyed key makes the data unreadable.
            opts=pulumi.ResourceOptions.merge(child, kept(args.retain)),
        )
        self.key_id = self.key.id

        wanted = [c for c in ("bucket", "registry", "cluster") if c in args.components]
        members: dict[str, pulumi.Output[str]] = {}
        # Agents that exist only once created (see AGENT_DOMAINS): created here, before any
        # grant names them; the grant takes the identity's `member`, so it depends on it.
        self.identities = {}
        for component in [c for c in wanted if c in SERVICE_IDENTITIES]:
            self.identities[component] = gcp.projects.ServiceIdentity(
                f"{name}-{component}-identity",
                project=args.project,
                service=SERVICE_IDENTITIES[component],
                # Creating an identity is idempotent and deleting one is a no-op: nothing to retain.
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.agent_apis.get(component, [])),
            )
            members[component] = self.identities[component].member
        named = [c for c in wanted if c not in SERVICE_IDENTITIES and c != "bucket"]
        if named:
            # Agents that exist once their API is on (GKE's), named by the project number.
            project = gcp.organizations.get_project_output(
                project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=args.apis)
            )
            for component in named:
                members[component] = project.number.apply(
                    lambda number, c=component: f"serviceAccount:{agent_email(c, number)}"
                )
        if "bucket" in wanted:
            gcs = gcp.storage.get_project_service_account_output(
                project=args.project,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=args.agent_apis.get("bucket", [])),
            )
            members["bucket"] = gcs.email_address.apply(lambda email: f"serviceAccount:{email}")

        self.grants = {}
        for component in wanted:
            # The data's grants live as long as the key and the data; GKE's goes with the cluster.
            retain = args.retain if component in ("bucket", "registry") else False
            self.grants[component] = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{component}-agent",
                crypto_key_id=self.key.id,
                role=roles.KMS_ENCRYPTER_DECRYPTER,
                member=members[component],
                opts=pulumi.ResourceOptions.merge(
                    child,
                    kept(retain, depends_on=args.agent_apis.get(component, [])),
                ),
            )
        # The grants are IAM policy changes: a bucket, repository or cluster created with the key
        # the moment they exist can still be refused ("Permission denied on Cloud KMS key").
        # One wait per component, so the data never waits for the cluster's grant.
        self.propagations = {
            component: Propagation(
                f"{name}-{component}-agent",
                PropagationArgs(
                    duration=GCP_IAM_GRANT, grants=[grant],
                    reason=f"the {component}'s service agent's Cloud KMS grant takes effect",
                    triggers={"member": members[component]},
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for component, grant in self.grants.items()
        }
        self.register_outputs({"key_id": self.key_id})

    def access(self, component: str) -> list[pulumi.Resource]:
        """What a resource of `component` encrypted with the key must wait for: its agent's
        grant, in effect."""
        if component not in self.grants:
            return []
        return [self.grants[component], self.propagations[component].sleep]
