"""The `kubernetes` provider: a cluster that already exists (the user's own: k3d, kind, on-premises, a
shared cloud cluster), reached through the user's kubeconfig context. We create nothing outside it: the
stack's bucket is an in-cluster S3-compatible object store (objectstore.py) unless the user brings one."""
