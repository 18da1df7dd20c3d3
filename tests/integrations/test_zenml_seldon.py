"""ZenML's own Seldon model deployer, imported from our export of a `kubernetes` stack, hands the Secret the program put
in the models namespace (the bucket's keys for rclone) to every model it deploys (envSecretRefName)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integrations import test_zenml_import as imported
from tests.integrations.test_zenml_import import deployed, run, zenml

pytestmark = pytest.mark.zenml
zenml_env = imported.zenml_env  # the fixture: a fresh, offline ZenML store

SELDON_SECRET = """
import json, sys
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.stack import StackComponent

model = Client().get_stack(sys.argv[1]).components[StackComponentType.MODEL_DEPLOYER][0]
deployer = StackComponent.from_model(model)
# What every SeldonDeployment gets as envSecretRefName: a configured name is used as it is, no cluster call.
print(json.dumps({"secret": deployer._create_or_update_kubernetes_secret(),
                  "namespace": deployer.config.kubernetes_namespace}))
"""


def test_zenmls_seldon_deployer_hands_the_programs_secret_to_its_models(home, engine, zenml_env, tmp_path):
    deployed("kubernetes", engine)
    path = tmp_path / "stack.yaml"
    assert run("export", "ml-dev", "--format", "zenml", "--show-secrets", "-o", str(path)).exit_code == 0
    assert zenml(zenml_env, "stack", "import", str(path)).returncode == 0
    script = tmp_path / "seldon_secret.py"
    script.write_text(SELDON_SECRET)
    proc = subprocess.run([sys.executable, str(script), "ml-dev"], env=zenml_env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    used = json.loads(proc.stdout.strip().splitlines()[-1])
    plan = next(iter(engine.plans.values()))
    (secret,) = [r.inputs["metadata"] for r in plan.resources if r.type == "kubernetes:core/v1:Secret"
                 and r.inputs["metadata"]["namespace"] == used["namespace"]]
    assert used["secret"] == secret["name"] == "model-storage"  # its content: tests/recipes/existing/test_model_storage.py
