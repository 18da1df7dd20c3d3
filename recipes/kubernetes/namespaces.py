"""Namespaces and service accounts of a stack: conventions other tools rely on.

Kept free of Pulumi imports so exporters can use them without loading an SDK.
"""

PIPELINES_NAMESPACE = "zenml"
PIPELINES_SERVICE_ACCOUNT = "zenml-service-account"

MLFLOW_NAMESPACE = "mlflow"
MLFLOW_SERVICE_ACCOUNT = "mlflow"
MLFLOW_USERNAME = "admin"

# The `kubernetes` provider's in-cluster object store (recipes/existing/objectstore.py), the default bucket.
OBJECTSTORE_NAMESPACE = "objectstore"
# The keys of a bucket's Secret (the store's, or the user's --bucket-secret), as the pods' S3 SDKs read them.
BUCKET_SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

ISTIO_NAMESPACE = "istio-system"
CERT_MANAGER_NAMESPACE = "cert-manager"

DEPLOYER_NAMESPACES = {
    # flavor: (operator namespace, namespace models are deployed to)
    "seldon": ("seldon-system", "seldon"),
    "kserve": ("kserve", "kserve-models"),
}
