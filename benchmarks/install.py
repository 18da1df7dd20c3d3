"""Install weight, measured: time and disk of `pip install` for each extra, in a fresh venv.

Why: a one-cloud user should not download three cloud SDKs, and the README says how
much each install costs; this prints the figures it quotes.

    python benchmarks/install.py [--extras ,aws,gcp,azure,all] [--cache] [--json]

For each extra (the empty one is the bare package: no cloud SDK): a new virtualenv
in a temp dir, then `pip install -e '<checkout>[extra]'` timed from start to end,
then the size of the venv on disk and of the largest installed distributions.
Without `--cache` pip runs with `--no-cache-dir`, as a first install does (downloads
come from whatever index pip is configured with: on a fast mirror the time is mostly
unpacking and compiling). Each install is a separate venv, so figures do not depend
on order.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIG = ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_kubernetes", "pulumi", "grpc", "google", "rich")


def tree_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.lstat(full).st_size
    return total


def measure(extra: str, cache: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="recipe-install-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = env_dir / "bin" / "python"
        target = f"{ROOT}[{extra}]" if extra else str(ROOT)
        args = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target]
        if not cache:
            args.insert(4, "--no-cache-dir")
        baseline = tree_bytes(env_dir)  # the empty venv: pip and setuptools
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"pip install {target} failed:\n{done.stderr[-2000:]}")
        site = next((env_dir / "lib").glob("python3*/site-packages"))
        largest = {name: round(tree_bytes(site / name) / 2**20, 1) for name in BIG if (site / name).is_dir()}
        ready = subprocess.run([str(env_dir / "bin" / "recipe"), "doctor", "-o", "json"], capture_output=True, text=True)
        sdks = [c["name"].split()[0] for c in json.loads(ready.stdout)["checks"]
                if c["name"].endswith(" SDK") and c["status"] == "ok"]
        return {"extra": extra or "(none)", "seconds": round(seconds, 1),
                "venv_mib": round((tree_bytes(env_dir) - baseline) / 2**20), "cloud_sdks": sdks, "largest_mib": largest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default=",aws,gcp,azure,all", help="comma-separated extras; empty = bare package")
    parser.add_argument("--cache", action="store_true", help="let pip use its wheel cache (a repeat install)")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    rows = [measure(extra.strip(), options.cache) for extra in options.extras.split(",")]
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"pip install -e '.[extra]' in a fresh venv ({'warm' if options.cache else 'no'} pip cache), "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'extra':<8} {'time':>7} {'added':>9}  cloud SDKs          largest (MiB)")
    for row in rows:
        largest = ", ".join(f"{k} {v}" for k, v in sorted(row["largest_mib"].items(), key=lambda kv: -kv[1])[:4])
        print(f"{row['extra']:<8} {row['seconds']:>6}s {row['venv_mib']:>6} MiB  {','.join(row['cloud_sdks']) or '-':<19} {largest}")


if __name__ == "__main__":
    main()
