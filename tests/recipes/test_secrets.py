"""Secrets of every cloud's stack: the kubeconfig and the tracker's password are secret outputs,
never recorded in any resource's inputs; the kubeconfig signs in through the cloud's own CLI.

What is a cloud's own in its kubeconfig (its endpoint, its CA) is in tests/recipes/<cloud>/test_cluster.py.
"""

from __future__ import annotations

import json

import pytest
import yaml

from recipes import outputs

from tests.recipes.plans import PROVIDERS, program_spec

# The exec plugin each cloud's kubeconfig signs in with: no token, key or password in it.
KUBECONFIG_EXEC = {
    "aws": ("aws", ["eks", "get-token", "--cluster-name", "ml-dev", "--region", "eu-west-1", "--output", "json"]),
    # Application default credentials, like the deploy's GCP provider (tests/recipes/gcp/test_admins.py).
    "gcp": ("gke-gcloud-auth-plugin", ["--use_application_default_credentials"]),
    "azure": ("kubelogin", ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]),
}
CLUSTER_NAME = {"aws": "ml-dev", "gcp": "ml-dev", "azure": "aks-ml-dev"}

pytestmark = pytest.mark.parametrize("provider", PROVIDERS)


def test_kubeconfig_is_secret_and_signs_in_through_the_clouds_cli(plans, provider):
    plan = plans(program_spec(provider))
    assert "cluster.kubeconfig" in plan.secret_outputs
    assert plan.outputs["cluster"]["kubeconfig"] == outputs.MASK
    raw = plan.raw_outputs["cluster"]["kubeconfig"]
    assert raw not in plan.inputs_json()
    config = yaml.safe_load(raw)
    context = plan.raw_outputs["cluster"]["context"]
    assert context == "recipe-ml-dev"
    assert config["current-context"] == context
    assert [c["name"] for c in config["contexts"]] == [context]
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == plan.raw_outputs["cluster"]["endpoint"]
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, password, client certificate or key
    exec_ = user["user"]["exec"]
    assert (exec_["command"], exec_["args"]) == KUBECONFIG_EXEC[provider]
    for forbidden in ("client-key-data", "client-certificate-data", "password", "token:"):
        assert forbidden not in raw, forbidden
    assert plan.raw_outputs["cluster"]["name"] == CLUSTER_NAME[provider]


def test_tracker_password_is_secret_and_never_recorded(plans, provider):
    plan = plans(program_spec(provider))
    assert "tracker.password" in plan.secret_outputs
    assert plan.outputs["tracker"]["password"] == outputs.MASK
    assert plan.raw_outputs["tracker"]["username"] == "admin"
    password = plan.raw_outputs["tracker"]["password"]
    assert len(password) >= 24
    assert password not in json.dumps(plan.outputs)
    assert password not in plan.inputs_json()
    # Neither is any database connection string (it carries the database password).
    assert "postgresql://" not in plan.inputs_json()
