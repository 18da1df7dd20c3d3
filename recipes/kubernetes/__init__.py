"""What runs on any cluster: MLflow, the model deployer, the pipelines namespace.

Written once for all clouds; a cloud only supplies a `recipes.cloud.ClusterHandle`
and, where a workload needs cloud access, a `recipes.cloud.WorkloadIdentity`.
Importing this package loads nothing heavy; each module imports its SDKs.
"""
