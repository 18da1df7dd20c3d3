"""Idle memory of the MLflow tracker pod, measured on its own rendered configuration.

Starts PostgreSQL, an S3 API (moto) and MLflow's pod exactly as the data-plane tests do
(tests/dataplane/harness.py: the plan's command, args, env and mounted files; the MLflow
image's package set), waits for the server to settle, and prints the proportional set
size (PSS) of the server's whole process tree against the container's memory limit.

    python benchmarks/tracker_memory.py                      # the stack's configuration
    python benchmarks/tracker_memory.py --workers 4 --job-execution true   # MLflow's defaults, for comparison

The pod's limit is a cgroup limit on the container's processes; PSS (shared pages split
between the processes that map them) is the closest local figure to what the cgroup
charges. Page cache and the kernel's own memory are not in it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB_PER_GI = 1024


def limit_mib(quantity: str) -> float:
    units = {"Gi": 1024, "Mi": 1, "G": 1000**3 / 1024**2, "M": 1000**2 / 1024**2}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 1024**2


def measure(workers: str | None, job_execution: str | None, settle: float, samples: int) -> dict:
    from moto.server import ThreadedMotoServer

    from provisioner.analysis.plan import run_plan_revealed
    from recipes.spec import Layer, load_spec
    from tests.dataplane import harness, images, pods

    spec = load_spec(Layer("flags", {"provider": "aws", "name": "ml-dev"}))
    plan = run_plan_revealed(spec)
    port = pods.free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    tracker = harness.Tracker(plan, Path(tempfile.mkdtemp(prefix="tracker-memory-")), images.mlflow_image_venv(),
                              f"http://127.0.0.1:{port}")
    try:
        import boto3

        boto3.client("s3", endpoint_url=tracker.s3_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                     region_name="us-east-1").create_bucket(Bucket=plan.raw_outputs["bucket"]["name"])
        tracker.start_database()
        pod = tracker.mlflow_pod()
        server = pod.container("mlflow")
        if workers is not None:
            server["args"][server["args"].index("--workers") + 1] = workers
        if job_execution is not None:
            for item in server["env"]:
                if item["name"] == "MLFLOW_SERVER_ENABLE_JOB_EXECUTION":
                    item["value"] = job_execution
        tracker.start_server(pod)
        time.sleep(settle)
        figures = []
        for _ in range(samples):
            figures.append(pods.tree_pss_mib(tracker.server.pid))
            time.sleep(1)
        processes = len(pods.tree_pids(tracker.server.pid))
        args = server["args"]
        env = {e["name"]: e.get("value") for e in server["env"]}
        limit = server["resources"]["limits"]["memory"]
        pss = statistics.median(figures)
        return {"workers": int(args[args.index("--workers") + 1]),
                "job_execution": env.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "true (MLflow's default)"),
                "processes": processes, "idle_pss_mib": round(pss, 1), "limit": limit,
                "share_of_limit": round(pss / limit_mib(limit), 3)}
    finally:
        tracker.stop()
        moto.stop()
        shutil.rmtree(tracker.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", help="override the rendered --workers")
    parser.add_argument("--job-execution", choices=["true", "false"], help="override MLFLOW_SERVER_ENABLE_JOB_EXECUTION")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait after the server is healthy")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    result = measure(opts.workers, opts.job_execution, opts.settle, opts.samples)
    if opts.json:
        print(json.dumps(result))
        return
    print(f"MLflow pod at idle: {result['workers']} workers, job execution {result['job_execution']}, "
          f"{result['processes']} processes")
    print(f"  PSS {result['idle_pss_mib']:.0f} MiB = {result['share_of_limit']:.0%} of the container's {result['limit']} limit")


if __name__ == "__main__":
    main()
