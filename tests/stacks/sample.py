"""One deployed AWS stack's canonical outputs, as the exporter and schema tests start from."""

# The least a kubeconfig must be for `recipe register`: a Config with the context the outputs name.
KUBECONFIG = ("apiVersion: v1\nkind: Config\nclusters:\n- name: recipe-ml-dev\n  cluster: {server: 'https://x.eks'}\n"
              "users:\n- name: recipe-ml-dev\n  user: {}\ncontexts:\n- name: recipe-ml-dev\n"
              "  context: {cluster: recipe-ml-dev, user: recipe-ml-dev}\ncurrent-context: recipe-ml-dev\n")

OUTPUTS = {
    "provider": "aws",
    "region": "eu-west-1",
    "stack_name": "ml-dev",
    "cluster": {"name": "ml-dev", "endpoint": "https://x.eks", "kubeconfig": KUBECONFIG, "context": "recipe-ml-dev"},
    "bucket": {"name": "ml-dev-artifacts-abc123", "uri": "s3://ml-dev-artifacts-abc123"},
    "registry": {"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
    "tracker": {"flavor": "mlflow", "uri": "http://mlflow.example", "username": "admin", "password": "s3cr3t-pw"},
    "deployer": {"flavor": "seldon", "namespace": "seldon", "base_url": "http://gw.example"},
}
