"""The in-cluster object store (recipes/existing/objectstore.py) planned alone, under Pulumi's mocks.

A small program builds a Kubernetes provider from a stand-in kubeconfig, the ClusterHandle the `kubernetes`
provider will hand over, and the component; the assertions read the resources' real inputs. The bucket
Job's script runs for real against a stand-in `curl`; the objects are validated by kubernetes-validate.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from functools import lru_cache

import pytest

from provisioner.analysis import plan as planning
from recipes.existing import objectstore
from recipes.facts import any_cloud as k8s_facts
from recipes.outputs import MASK

from tests.conftest import spec_for

BUCKET = "ml-local-artifacts"
NAMESPACE = "objectstore"
STANDIN_KUBECONFIG = textwrap.dedent("""\
    apiVersion: v1
    kind: Config
    clusters: [{name: k3d-ml, cluster: {server: "https://127.0.0.1:6443"}}]
    contexts: [{name: k3d-ml, context: {cluster: k3d-ml, user: admin@k3d-ml}}]
    current-context: k3d-ml
    users: [{name: admin@k3d-ml, user: {token: stand-in}}]
""")
STATEFUL = k8s_facts.PERSISTENT_VOLUME_CLAIM
COMPONENT = "recipes:existing:InClusterObjectStore"


def program(**overrides):
    def build(spec):
        import pulumi
        import pulumi_kubernetes as k8s

        from recipes.cloud import ClusterHandle

        provider = k8s.Provider("cluster-k8s", kubeconfig=STANDIN_KUBECONFIG, context="k3d-ml")
        cluster = ClusterHandle(
            name=pulumi.Output.from_input("k3d-ml"), endpoint=pulumi.Output.from_input("https://127.0.0.1:6443"),
            kubeconfig=pulumi.Output.secret(STANDIN_KUBECONFIG), context="k3d-ml", provider=provider, ready=[],
            storage_class="local-path",
        )
        args = {"cluster": cluster, "stack_name": spec.name, "bucket_name": BUCKET, "namespace": NAMESPACE,
                "size_gib": 20, **overrides}
        store = objectstore.InClusterObjectStore("objectstore", objectstore.InClusterObjectStoreArgs(**args))
        handle = store.handle()
        assert handle.resource is store
        return {"endpoint": store.endpoint, "bucket": handle.name, "uri": handle.uri,
                "access_key_id": store.access_key_id, "secret_access_key": store.secret_access_key,
                "credentials_secret": store.credentials_secret_name}
    return build


@lru_cache(maxsize=None)
def planned(retain: bool = True, reveal: bool = False):
    spec = spec_for("aws")
    if reveal:  # the mock cloud's stand-in secrets in clear, as the scanners' renderer reads Secret keys
        return planning._run_plan(spec, program(retain=retain), reveal_secrets=True)
    return planning.run_plan(spec, program(retain=retain))


def server(plan) -> dict:
    (found,) = plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]["template"]["spec"]["containers"]
    return found


def job(plan):
    return plan.one(k8s_facts.JOB, "objectstore-bucket")


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# ---------------------------------------------------------------------------
# Data and credentials


def test_the_volume_survives_destroy_unless_delete_data():
    claim = planned().one(STATEFUL, "objectstore")
    assert claim.protect and claim.retain_on_delete
    assert claim.inputs["spec"]["storageClassName"] == "local-path"
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "20Gi"
    # A fixed name: a volume kept by one deploy is the one the next deploy finds.
    assert claim.inputs["metadata"]["name"] == "objectstore-data"
    deleting = planned(retain=False).one(STATEFUL, "objectstore")
    assert not deleting.protect and not deleting.retain_on_delete
    # Nothing else holds data: the rest goes with `recipe destroy`.
    assert {r.name for r in planned().resources if r.protect or r.retain_on_delete} == {"objectstore"}


def test_the_server_stores_everything_on_the_volume():
    plan = planned()
    pod = plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in server(plan)["volumeMounts"]}
    assert volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"] == "objectstore-data"
    assert "-dir=/data" in server(plan)["command"]
    spec = plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}


def test_credentials_are_pulumi_secrets_held_in_secrets():
    plan, revealed = planned(), planned(reveal=True)
    for output in ("access_key_id", "secret_access_key"):
        assert output in plan.secret_outputs and plan.outputs[output] == MASK
    access, secret = plan.raw_outputs["access_key_id"], plan.raw_outputs["secret_access_key"]
    assert len(access) == 20 and len(secret) == 40 and access != secret
    # In the plan (and the state) the Secrets' data is masked; no input anywhere carries the keys in clear.
    for name in ("objectstore-credentials", "objectstore-config"):
        secret_object = plan.one(k8s_facts.SECRET, name)
        assert secret_object.inputs["stringData"] == MASK and "stringData" in secret_object.secret_inputs
    inputs = json.dumps([r.inputs for r in plan.resources])
    assert access not in inputs and secret not in inputs
    # What the Secrets hold, in clear: the pair for other workloads, and the server's identities file.
    credentials = revealed.one(k8s_facts.SECRET, "objectstore-credentials").inputs
    assert credentials["stringData"] == {"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}
    assert plan.raw_outputs["credentials_secret"] == credentials["metadata"]["name"]
    config = json.loads(revealed.one(k8s_facts.SECRET, "objectstore-config").inputs["stringData"]["s3.json"])
    (identity,) = config["identities"]  # no anonymous identity: every request is signed
    assert identity["credentials"] == [{"accessKey": access, "secretKey": secret}]
    # Every right is on the stack's bucket alone: no global Admin, no other bucket.
    assert {f"{action}:{BUCKET}" for action in ("Read", "Write", "List")} <= set(identity["actions"])
    assert all(action.endswith(f":{BUCKET}") for action in identity["actions"]), identity["actions"]
    # Generated once: random resources, whose value the state keeps.
    assert len(plan.by_type(k8s_facts.RANDOM_PASSWORD)) == 2


def test_no_configmap_and_no_secret_in_the_environment():
    plan = planned()
    assert not plan.by_type(k8s_facts.CONFIG_MAP)
    for container in (server(plan), *job(plan).inputs["spec"]["template"]["spec"]["containers"]):
        for variable in container.get("env", []):
            assert "secretKeyRef" not in variable.get("valueFrom", {}), variable
    # The server reads its identities file from the config Secret, mounted read-only.
    pod = plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]["template"]["spec"]
    config_path = next(a.split("=", 1)[1] for a in server(plan)["command"] if a.startswith("-s3.config="))
    (mount,) = [m for m in server(plan)["volumeMounts"] if config_path.startswith(m["mountPath"] + "/")]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "objectstore-config"


# ---------------------------------------------------------------------------
# Pods, service, bucket


def pod_specs(plan) -> dict[str, dict]:
    return {"server": plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]["template"]["spec"],
            "bucket job": job(plan).inputs["spec"]["template"]["spec"]}


# Pod Security Standards, restricted: the volume types it allows
# (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted).
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}


@pytest.mark.parametrize("pod", ["server", "bucket job"])
def test_pods_pass_pod_security_restricted(pod):
    spec = pod_specs(planned())[pod]
    context = spec["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))
    assert spec["automountServiceAccountToken"] is False
    for volume in spec["volumes"]:
        assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, volume
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security.get("privileged") is not True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])
        assert "@sha256:" in container["image"], container["image"]


def test_the_service_port_is_the_endpoints_and_the_servers():
    plan = planned()
    service = plan.one(k8s_facts.SERVICE, "objectstore-svc").inputs
    (port,) = service["spec"]["ports"]
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    name = service["metadata"]["name"]
    assert plan.raw_outputs["endpoint"] == f"http://{name}.{NAMESPACE}.svc.cluster.local:{int(port['port'])}"
    container = server(plan)
    (container_port,) = container["ports"]
    assert port["targetPort"] == container_port["name"]
    assert f"-s3.port={int(container_port['containerPort'])}" in container["command"]
    selected = service["spec"]["selector"].items()
    assert selected <= plan.one(k8s_facts.DEPLOYMENT, "objectstore").inputs["spec"]["template"]["metadata"]["labels"].items()
    # The Service sends S3 requests to the server alone, never to the bucket Job's pod.
    assert not selected <= job(plan).inputs["spec"]["template"]["metadata"]["labels"].items()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": container_port["name"]}, probe


def test_the_job_creates_exactly_the_stacks_bucket_once_the_server_answers():
    plan = planned()
    bucket_job = job(plan)
    (container,) = bucket_job.inputs["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    assert env["BUCKET"] == BUCKET
    assert plan.raw_outputs["endpoint"].endswith(env["S3_ENDPOINT"].rsplit(":", 1)[1])
    assert env["S3_ENDPOINT"].startswith(f"http://{plan.one(k8s_facts.SERVICE, 'objectstore-svc').inputs['metadata']['name']}:")
    assert plan.one(k8s_facts.SERVICE, "objectstore-svc").urn in bucket_job.dependencies
    # The handle's bucket waits for the Job: whatever uses the bucket finds it created.
    assert plan.raw_outputs["bucket"] == BUCKET and plan.raw_outputs["uri"] == f"s3://{BUCKET}"
    (credentials,) = [v for v in bucket_job.inputs["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    assert credentials["secret"]["secretName"] == plan.raw_outputs["credentials_secret"]


def test_every_resource_is_the_components_child():
    plan = planned()
    (component,) = plan.by_type(COMPONENT)
    children = [r for r in plan.resources if r is not component and r.type != k8s_facts.KUBERNETES_PROVIDER]
    assert children and all(r.parent == component.urn for r in children), [(r.name, r.parent) for r in children]
    provider = plan.one(k8s_facts.KUBERNETES_PROVIDER, "cluster-k8s")
    assert all(r.provider and r.provider.startswith(provider.urn) for r in children if r.type.startswith("kubernetes:"))


@pytest.mark.parametrize("name", ["ML_Artifacts", "ab", "my..bucket", "-bucket", "192.168.0.1", "a" * 64])
def test_a_name_s3_would_refuse_is_refused_at_plan(name):
    with pytest.raises(Exception, match="not a valid S3 bucket name"):
        planning.run_plan(spec_for("aws"), program(bucket_name=name))


# ---------------------------------------------------------------------------
# The bucket Job's script, run against a stand-in curl


STANDIN_CURL = """\
import json, os, sys
args = sys.argv[1:]
state = json.load(open(os.environ["STANDIN_STATE"]))
method = "HEAD" if "-I" in args else args[args.index("-X") + 1] if "-X" in args else "GET"
state["calls"].append({"method": method, "args": args, "stdin": sys.stdin.read()})
code, body = state["answers"][method].pop(0)
json.dump(state, open(os.environ["STANDIN_STATE"], "w"))
if "-o" in args and args[args.index("-o") + 1] != "/dev/null":
    open(args[args.index("-o") + 1], "w").write(body)
sys.stdout.write(code)
sys.exit(7 if code == "000" else 0)
"""


def run_bucket_job(tmp_path, answers: dict[str, list]) -> tuple[subprocess.CompletedProcess, list[dict]]:
    (bin_dir := tmp_path / "bin").mkdir()
    curl = bin_dir / "curl"
    curl.write_text(f"#!{sys.executable}\n{STANDIN_CURL}")
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # no waiting between attempts
    for tool in (curl, bin_dir / "sleep"):
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    (credentials := tmp_path / "credentials").mkdir()
    (credentials / "AWS_ACCESS_KEY_ID").write_text("AKSTANDIN")
    (credentials / "AWS_SECRET_ACCESS_KEY").write_text("secret-standin")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"calls": [], "answers": answers}))
    (container,) = job(planned()).inputs["spec"]["template"]["spec"]["containers"]
    env = {**env_of(container), "CREDENTIALS": str(credentials), "STANDIN_STATE": str(state),
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    script = container["command"][-1].replace("/tmp/answer", str(tmp_path / "answer"))
    done = subprocess.run([*container["command"][:-1], script], env=env, capture_output=True, text=True, timeout=60)
    return done, json.loads(state.read_text())["calls"]


def test_the_job_puts_the_bucket_when_missing_with_the_key_pair_off_the_command_line(tmp_path):
    done, calls = run_bucket_job(tmp_path, {"HEAD": [["000", ""], ["503", ""], ["404", ""]], "PUT": [["200", ""]]})
    assert done.returncode == 0, done.stderr
    assert [c["method"] for c in calls] == ["HEAD", "HEAD", "HEAD", "PUT"]
    put = calls[-1]
    assert put["args"][-1] == f"http://objectstore:{objectstore.PORT}/{BUCKET}"
    assert "--aws-sigv4" in put["args"] and put["stdin"] == 'user = "AKSTANDIN:secret-standin"\n'
    assert not any("secret-standin" in arg for c in calls for arg in c["args"])


@pytest.mark.parametrize("answers, puts", [
    ({"HEAD": [["200", ""]], "PUT": []}, 0),  # a redeploy: the kept bucket is there
    ({"HEAD": [["404", ""]], "PUT": [["409", "<Code>BucketAlreadyOwnedByYou</Code>"]]}, 1),  # created meanwhile
])
def test_the_job_is_idempotent(tmp_path, answers, puts):
    done, calls = run_bucket_job(tmp_path, answers)
    assert done.returncode == 0, done.stderr
    assert [c["method"] for c in calls].count("PUT") == puts


def test_the_job_fails_with_the_servers_answer(tmp_path):
    done, _ = run_bucket_job(tmp_path, {"HEAD": [["404", ""]], "PUT": [["403", "<Code>AccessDenied</Code>"]]})
    assert done.returncode != 0 and "AccessDenied" in done.stderr and "HTTP 403" in done.stderr


# ---------------------------------------------------------------------------
# The objects, as the API server of the oldest and newest supported Kubernetes judges them


@pytest.mark.scanners
def test_objects_are_valid_for_kubernetes_1_29_and_1_33(tmp_path):
    from tests.scanners import render_kubernetes
    from tests.scanners.scanners import run_kubernetes_validate, scanner_venv

    manifests = render_kubernetes.render(planned(), revealed=planned(reveal=True))
    kinds = sorted(body["kind"] for body in manifests.files.values())
    assert kinds == ["Deployment", "Job", "PersistentVolumeClaim", "Secret", "Secret", "Service"]
    files = render_kubernetes.write(manifests, tmp_path)
    results = run_kubernetes_validate(scanner_venv(), files, ["1.29", "1.33"])
    errors = [f"{v.file} {v.object} {v.version}: {v.message}" for v in results if v.status != "passed"]
    assert not errors, "\n".join(errors)
    assert {(v.file, v.version) for v in results} == {(f.name, version) for f in files for version in ("1.29", "1.33")}
