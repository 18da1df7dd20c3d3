"""The model servers' bucket keys on the `kubernetes` provider, under Pulumi's mocks: the models namespace holds a
Secret in the form the deployer's storage initializer reads (Seldon: rclone's S3 remote; KServe: an annotated S3
Secret behind a ServiceAccount), with the same keys as the tracker's; the clouds' stacks get no such Secret."""

from __future__ import annotations

import pytest

from provisioner.analysis.plan import run_plan_revealed
from recipes import outputs
from recipes.facts import any_cloud as k8s_facts

from tests.recipes.existing.specs import spec
from tests.recipes.plans import PROVIDERS, SERVICE_ACCOUNT, fresh_plan, program_spec

STORE_ENDPOINT = "http://objectstore.objectstore.svc.cluster.local:8333"


def users_keys(plan) -> dict[str, str]:
    """The keys the program read from the user's --bucket-secret (the mock cloud's placeholder data), as it copied
    them for the tracker: the model servers must get the same."""
    (copy,) = [s for s in plan.by_type(k8s_facts.SECRET)
               if s.inputs["metadata"]["name"] == "bucket-keys" and s.inputs["metadata"]["namespace"] == "mlflow"]
    return copy.inputs["stringData"]


def models_secret(plan, namespace: str):
    (secret,) = [s for s in plan.by_type(k8s_facts.SECRET)
                 if s.inputs["metadata"]["namespace"] == namespace and s.inputs["metadata"]["name"] == "model-storage"]
    return secret


def test_seldon_reads_the_in_cluster_store_through_rclone_with_the_trackers_keys():
    revealed = run_plan_revealed(spec())
    data = models_secret(revealed, "seldon").inputs["stringData"]
    store_keys = [s for s in revealed.by_type(k8s_facts.SECRET)
                  if s.inputs["metadata"]["name"] == "objectstore-keys"][0].inputs["stringData"]
    assert data == {
        "RCLONE_CONFIG_S3_TYPE": "s3",
        "RCLONE_CONFIG_S3_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_S3_ENV_AUTH": "false",
        "RCLONE_CONFIG_S3_ACCESS_KEY_ID": store_keys["AWS_ACCESS_KEY_ID"],
        "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": store_keys["AWS_SECRET_ACCESS_KEY"],
        "RCLONE_CONFIG_S3_ENDPOINT": STORE_ENDPOINT,
        "RCLONE_CONFIG_S3_REGION": "us-east-1",
        "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true",
    }
    plan = fresh_plan(spec())
    assert "stringData" in models_secret(plan, "seldon").secret_inputs
    deployer = plan.raw_outputs["deployer"]
    assert deployer["storage_secret"] == "model-storage" and "storage_service_account" not in deployer
    assert outputs.validate(plan.raw_outputs)["deployer"]["storage_secret"] == "model-storage"
    # Seldon's storage initializer takes the Secret as its environment: no ServiceAccount of ours.
    assert not [a for a in plan.by_type(SERVICE_ACCOUNT) if a.inputs["metadata"]["namespace"] == "seldon"]


def test_kserve_reads_the_in_cluster_store_through_an_annotated_secret_and_its_service_account():
    revealed = run_plan_revealed(spec(deployer="kserve"))
    secret = models_secret(revealed, "kserve-models")
    assert secret.inputs["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "objectstore.objectstore.svc.cluster.local:8333",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-region": "us-east-1",
        "serving.kserve.io/s3-usevirtualbucket": "false",
    }
    assert set(secret.inputs["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert secret.inputs["stringData"] == {k: revealed.raw_outputs["bucket"][o] for k, o in (
        ("AWS_ACCESS_KEY_ID", "access_key_id"), ("AWS_SECRET_ACCESS_KEY", "secret_access_key"))}
    plan = fresh_plan(spec(deployer="kserve"))
    (account,) = [a for a in plan.by_type(SERVICE_ACCOUNT) if a.inputs["metadata"]["namespace"] == "kserve-models"]
    assert account.inputs["secrets"] == [{"name": "model-storage"}]
    assert account.inputs["automountServiceAccountToken"] is False
    assert {k: plan.raw_outputs["deployer"][k] for k in ("storage_secret", "storage_service_account")} == {
        "storage_secret": "model-storage", "storage_service_account": "model-storage"}


def test_a_users_bucket_endpoint_is_reached_with_the_keys_read_from_their_secret():
    values = {"bucket": "s3://ml-artifacts", "bucket_endpoint": "https://minio.corp.example:9000",
              "bucket_secret": "ml/ml-keys"}
    revealed = run_plan_revealed(spec(**values))
    keys = users_keys(revealed)
    assert set(keys) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} and all(keys.values())
    data = models_secret(revealed, "seldon").inputs["stringData"]
    assert data == {
        "RCLONE_CONFIG_S3_TYPE": "s3",
        "RCLONE_CONFIG_S3_PROVIDER": "Other",
        "RCLONE_CONFIG_S3_ENV_AUTH": "false",
        "RCLONE_CONFIG_S3_ACCESS_KEY_ID": keys["AWS_ACCESS_KEY_ID"],
        "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"],
        "RCLONE_CONFIG_S3_ENDPOINT": "https://minio.corp.example:9000",
        "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true",  # no region: the user's store's default
    }
    kserve = models_secret(run_plan_revealed(spec(**values, deployer="kserve")), "kserve-models")
    assert kserve.inputs["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.corp.example:9000",
        "serving.kserve.io/s3-usehttps": "1",
        "serving.kserve.io/s3-usevirtualbucket": "false",
    }
    assert kserve.inputs["stringData"] == users_keys(run_plan_revealed(spec(**values, deployer="kserve")))


def test_an_aws_s3_bucket_is_reached_by_rclones_aws_provider_virtual_hosted():
    revealed = run_plan_revealed(spec(bucket="s3://ml-artifacts", bucket_secret="ml-keys"))
    data = models_secret(revealed, "seldon").inputs["stringData"]
    assert data["RCLONE_CONFIG_S3_ACCESS_KEY_ID"] == users_keys(revealed)["AWS_ACCESS_KEY_ID"]
    assert data["RCLONE_CONFIG_S3_PROVIDER"] == "AWS" and data["RCLONE_CONFIG_S3_FORCE_PATH_STYLE"] == "false"
    assert "RCLONE_CONFIG_S3_ENDPOINT" not in data
    kserve = models_secret(run_plan_revealed(spec(bucket="s3://ml-artifacts", bucket_secret="ml-keys",
                                                  deployer="kserve")), "kserve-models")
    assert kserve.inputs["metadata"]["annotations"] == {"serving.kserve.io/s3-usevirtualbucket": "true"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("deployer", ["seldon", "kserve"])
def test_the_clouds_models_namespace_holds_no_bucket_keys(plans, provider, deployer):
    plan = plans(program_spec(provider, deployer=deployer))
    models_namespace = "seldon" if deployer == "seldon" else "kserve-models"
    assert not [s for s in plan.by_type(k8s_facts.SECRET) if s.inputs["metadata"]["namespace"] == models_namespace]
    assert not [a for a in plan.by_type(SERVICE_ACCOUNT) if a.inputs["metadata"]["namespace"] == models_namespace]
    assert set(plan.raw_outputs["deployer"]) <= {"flavor", "namespace", "base_url", "ca_certificate"}
