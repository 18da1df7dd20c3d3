"""Type tokens the same on any cloud: Kubernetes, Helm, random, time and tls resources.

Not a cloud: `recipes.facts.of()` never returns this module. Constants only, like the cloud modules.
"""

from __future__ import annotations

# --- resource types (read by baseline, costs, critical_path, mockcloud, adoption, tests)
SERVICE = "kubernetes:core/v1:Service"
PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_STRING = "random:index/randomString:RandomString"
RANDOM_ID = "random:index/randomId:RandomId"
TIME_SLEEP = "time:index/sleep:Sleep"
TIME_STATIC = "time:index/static:Static"
TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ISTIO_GATEWAY = "kubernetes:networking.istio.io/v1beta1:Gateway"
JOB = "kubernetes:batch/v1:Job"
# Configured locally, never created in the cloud: every provider resource and every random value.
PROVIDER_PREFIX = "pulumi:providers:"
RANDOM_PREFIX = "random:"

# --- creation times (read by critical_path)
CREATE_SECONDS = {
    # Helm releases wait for their workloads: ~1-3 min (pulumi-kubernetes Release waits unless skipAwait;
    # https://www.pulumi.com/registry/packages/kubernetes/api-docs/helm/v3/release/). Take 2 min.
    HELM_RELEASE: 120,
    # Deployments wait for readiness: ~1-2 min incl. image pull
    # (https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/, default timeout 10m).
    DEPLOYMENT: 90,
}
# A Service of type LoadBalancer waits for the cloud's load balancer address: ~1-3 min
# (https://www.pulumi.com/registry/packages/kubernetes/api-docs/core/v1/service/, default timeout 10m).
LOAD_BALANCER_SERVICE_CREATE_SECONDS = 120
