"""Performance and cost, measured: CLI latency and memory, deploy critical path, monthly cost.

Why: "fast to try, cheap to leave running" is a claim; this script turns it into
numbers with targets, so a regression shows up as a MISS.

    python benchmarks/bench.py [--runs 5] [--json]

(a) wall time (median of N runs, after one warm-up) and peak RSS of the `recipe`
    executable next to this Python, each command a fresh process with an empty,
    isolated RECIPE_HOME; measured with /usr/bin/time when present, else with
    os.wait4 on the child. `recipe plan` is measured computed (RECIPE_PLAN_CACHE=0)
    and from the plan cache (provisioner/analysis/plancache.py).
(b) estimated deploy time of each provider's default stack: the critical path
    of its plan (provisioner.analysis.critical_path) against the serial sum.
(c) estimated monthly cost of each provider's default stack against mlstacks'
    default stack with the same components (benchmarks/mlstacks_prices.py), priced from
    the same table (provisioner.analysis.costs); spot nodes at an estimated discount,
    their on-demand figure shown beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECIPE = Path(sys.executable).parent / "recipe"
TIME = shutil.which("time", path="/usr/bin:/bin")
PROVIDERS = {"aws": {}, "gcp": {"project": "demo-project"}, "azure": {}}
COST_TARGET_PCT = 35.0


@dataclass
class Command:
    label: str
    args: list[str]
    max_seconds: float
    max_rss_mb: float | None = None
    env: dict[str, str] = field(default_factory=dict)


# `recipe plan` twice per provider: computed (the plan cache off, as on a first run or
# after an upgrade) and from the plan cache (every later run of the same stack).
NO_CACHE = {"RECIPE_PLAN_CACHE": "0"}
PLAN_ARGS = {"aws": ["plan", "aws"], "gcp": ["plan", "gcp", "--project", "demo-project"], "azure": ["plan", "azure"]}
COMMANDS = [
    Command("recipe --help", ["--help"], 0.3),
    Command("recipe stacks", ["stacks"], 0.3),
    *(Command(f"recipe {' '.join(args)} (computed)", args, 2.0, 200, NO_CACHE) for args in PLAN_ARGS.values()),
    *(Command(f"recipe {' '.join(args)} (cached)", args, 2.0, 200) for args in PLAN_ARGS.values()),
]


# --------------------------------------------------------------------------
# (a) CLI latency and memory


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one `recipe` process."""
    if TIME:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
            proc = subprocess.run([TIME, "-f", "%e %M", "-o", out.name, str(RECIPE), *args], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall, rss_kb = out.read().split()[-2:]
            return float(wall), int(rss_kb) / 1024, proc.returncode
    start = time.perf_counter()
    child = subprocess.Popen([str(RECIPE), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, child.returncode  # ru_maxrss is in KiB on Linux


def measure_cli(runs: int) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="recipe-bench-") as home:
        env = {**os.environ, "RECIPE_HOME": home, "NO_COLOR": "1"}
        env.pop("GOOGLE_CLOUD_PROJECT", None)
        for command in COMMANDS:
            command_env = {**env, **command.env}
            run_once(command.args, command_env)  # warm-up: bytecode caches, page cache (and the plan cache)
            samples = [run_once(command.args, command_env) for _ in range(runs)]
            walls = [s[0] for s in samples]
            rss = [s[1] for s in samples]
            failed = [s[2] for s in samples if s[2] != 0]
            wall = statistics.median(walls)
            peak = max(rss)
            ok = not failed and wall < command.max_seconds and (command.max_rss_mb is None or peak < command.max_rss_mb)
            target = f"<{command.max_seconds:g} s" + (f", <{command.max_rss_mb:g} MiB" if command.max_rss_mb else "")
            results.append({
                "command": command.label, "runs": runs, "median_s": round(wall, 3),
                "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
                "peak_rss_mib": round(peak, 1), "target": target,
                "result": "FAIL (exit %s)" % failed[0] if failed else ("PASS" if ok else "MISS"),
            })
    return results


# --------------------------------------------------------------------------
# (b) and (c): from the offline plans


def plans() -> dict[str, Any]:
    from provisioner.analysis.plan import run_plan
    from recipes.spec import Layer, load_spec

    return {p: run_plan(load_spec(Layer("flags", {"provider": p, "name": "ml-dev", **extra})))
            for p, extra in PROVIDERS.items()}


def measure_deploy(planned: dict[str, Any]) -> dict[str, Any]:
    from provisioner.analysis.critical_path import analyse

    out = {}
    for provider, plan in planned.items():
        deploy = analyse(plan)
        out[provider] = {
            "critical_min": round(deploy.critical_seconds / 60, 1),
            "serial_min": round(deploy.sum_seconds / 60, 1),
            "critical_path": [{"name": s.name, "type": s.type, "seconds": s.seconds} for s in deploy.critical_path],
        }
    return out


def measure_cost(planned: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.mlstacks_prices import mlstacks_default_estimate
    from provisioner.analysis.costs import PRICES_AS_OF, estimate

    out: dict[str, Any] = {"prices_as_of": PRICES_AS_OF}
    for provider, plan in planned.items():
        ours, theirs = estimate(plan), mlstacks_default_estimate(provider)
        ratio = 100 * ours.monthly_total_usd / theirs.monthly_total_usd
        out[provider] = {
            "ours_usd": ours.monthly_total_usd,
            "mlstacks_usd": theirs.monthly_total_usd,
            "ratio_pct": round(ratio, 1),
            "target": f"<={COST_TARGET_PCT:g}%",
            "result": "PASS" if ratio <= COST_TARGET_PCT else "MISS",
            "items": [i.to_json() for i in ours.items],
            "mlstacks_items": [i.to_json() for i in theirs.items],
            "unpriced": [i.name for i in ours.unpriced],
        }
    return out


# --------------------------------------------------------------------------
# Output


def table(headers: list[str], rows: list[list[Any]], right: set[int]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def short(type_: str) -> str:
    return type_.split(":")[-1]


def report(cli: list[dict[str, Any]], deploy: dict[str, Any], cost: dict[str, Any], runs: int) -> str:
    method = f"{TIME} -f '%e %M'" if TIME else "os.wait4"
    parts = [
        f"(a) CLI latency: median of {runs} runs after 1 warm-up, peak RSS = max over runs ({method}); "
        f"{RECIPE}",
        table(["command", "median s", "min s", "max s", "peak RSS MiB", "target", "result"],
              [[r["command"], f"{r['median_s']:.2f}", f"{r['min_s']:.2f}", f"{r['max_s']:.2f}",
                f"{r['peak_rss_mib']:.0f}", r["target"], r["result"]] for r in cli], {1, 2, 3, 4}),
        "",
        "(b) Deploy time, estimated from each default plan's dependency graph (typical creation times)",
        table(["provider", "critical path min", "serial sum min", "parallel speed-up"],
              [[p, f"{d['critical_min']:.1f}", f"{d['serial_min']:.1f}",
                f"{d['serial_min'] / d['critical_min']:.1f}x" if d["critical_min"] else "-"] for p, d in deploy.items()],
              {1, 2, 3}),
    ]
    for provider, d in deploy.items():
        chain = " -> ".join(f"{s['name']} ({short(s['type'])} {s['seconds']:g}s)" for s in d["critical_path"])
        parts.append(f"  {provider}: {chain}")
    parts += [
        "",
        f"(c) Monthly cost, list prices as of {cost['prices_as_of']} (us-east-1 / us-central1 / eastus; spot nodes "
        "at an estimated discount), default stack vs mlstacks default with the same components",
        table(["provider", "ours USD/mo", "mlstacks USD/mo", "ratio", "target", "result"],
              [[p, f"{c['ours_usd']:.2f}", f"{c['mlstacks_usd']:.2f}", f"{c['ratio_pct']:.1f}%", c["target"], c["result"]]
               for p, c in cost.items() if p != "prices_as_of"], {1, 2, 3}),
    ]
    for provider, c in cost.items():
        if provider == "prices_as_of":
            continue
        for key, label in (("items", "items"), ("mlstacks_items", "mlstacks items")):
            parts.append(f"  {provider} {label}:")
            rows = [["n/a" if i["monthly_usd"] is None else f"{i['monthly_usd']:.2f}", i["name"],
                     i["what"] + ("" if i.get("on_demand_usd") is None else f" [on-demand {i['on_demand_usd']:.2f}]")]
                    for i in c[key]]
            parts.append("\n".join("    " + line for line in table(["USD/mo", "resource", "what"], rows, {0}).splitlines()))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per CLI command (default 5)")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON instead of tables")
    args = parser.parse_args(argv)
    if not RECIPE.exists():
        parser.error(f"no recipe executable next to {sys.executable}; pip install -e . first")
    cli = measure_cli(max(args.runs, 1))
    planned = plans()
    deploy, cost = measure_deploy(planned), measure_cost(planned)
    if args.json:
        print(json.dumps({"cli": cli, "deploy": deploy, "cost": cost}, indent=2))
    else:
        print(report(cli, deploy, cost, max(args.runs, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
